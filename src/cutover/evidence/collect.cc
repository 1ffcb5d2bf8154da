// cutover evidence collect (bundle.h): every input read and judged first,
// then the files written, the statement last.
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cutover/base/version.h"
#include "cutover/evidence/bundle.h"
#include "cutover/evidence/bundle_readers.h"
#include "cutover/evidence/expand_evidence.h"
#include "cutover/hash/file_hash.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/field_reader.h"
#include "cutover/json/writer.h"
#include "cutover/manifest/manifest.h"
#include "cutover/manifest/manifest_file.h"
#include "cutover/verify/verify.h"

namespace cutover::evidence {
namespace {

BackupProof prove_backup(base::FileSystem& fs, const manifest::ManifestFile& file, const manifest::StoreRecord& rec) {
  BackupProof p;
  p.store = rec.store;
  p.store_path = rec.path;
  p.existed = rec.existed;
  p.backup_path = rec.backup_path;
  p.before_sha256 = rec.before_sha256;
  if (!rec.existed) {
    p.retained = true;
    return p;
  }
  if (!rec.backup_path || !rec.before_sha256) {
    p.problem = "the manifest names no backup_path or before_sha256 for a store that existed";
    return p;
  }
  if (auto problems = manifest::backup_path_problems(fs, file, rec); !problems.empty()) {
    p.problem = "backup " + *rec.backup_path + " is not usable: " + json::join_problems(problems);
    return p;
  }
  auto digest = hash::hash_file(fs, *rec.backup_path);
  if (!digest) {
    p.problem = "backup " + *rec.backup_path + " cannot be read: " + digest.error().message();
    return p;
  }
  p.size = digest->size;
  p.sha256 = digest->sha256;
  if (digest->sha256 != *rec.before_sha256) {
    p.problem =
        "backup " + *rec.backup_path + " hashes to " + digest->sha256 + ", not before_sha256 " + *rec.before_sha256;
    return p;
  }
  p.retained = true;
  return p;
}
void write_backup(json::Writer& w, const BackupProof& p) {
  w.begin_object().member("store", p.store).member("store_path", p.store_path).member("existed", p.existed);
  w.member_optional("backup_path", p.backup_path).member_optional("before_sha256", p.before_sha256);
  w.member_optional("size", p.size).member_optional("sha256", p.sha256);
  w.member("retained", p.retained).member_or_null("problem", p.problem).end_object();
}
// The verify report's recount of store `i` of the manifest, when the report
// lists that store there with a non-empty recount; else nullptr.
const json::Node* recount_of(const json::Node& report, size_t i, const manifest::StoreRecord& rec) {
  const json::Node* stores = report.find("stores");
  if (stores == nullptr || !stores->is_array() || i >= stores->size()) return nullptr;
  const json::Node& rs = stores->elements()[i];
  if (json::string_at(rs, "store") != rec.store || json::string_at(rs, "path") != rec.path) return nullptr;
  const json::Node* rc = rs.find("recounted");
  return rc != nullptr && rc->is_object() && rc->size() > 0 ? rc : nullptr;
}

// counts.json: the manifest's counts beside the recounts of the verify report.
std::string count_snapshot(const manifest::ManifestFile& file, const json::Node& report, const std::string& taken_at) {
  json::Writer w = json::Writer::canonical();
  w.begin_object().member("schema", k_count_snapshot_schema).member("taken_at", taken_at);
  w.member("manifest_sha256", file.sha256).member("run_id", file.run_id).key("stores").begin_array();
  for (size_t i = 0; i < file.manifest.stores.size(); ++i) {
    const auto& rec = file.manifest.stores[i];
    w.begin_object().member("store", rec.store).member("path", rec.path).key("counts").begin_object();
    for (const auto& [k, v] : rec.counts) w.member(k, v);
    w.end_object();
    const json::Node* recounted = recount_of(report, i, rec);
    if (recounted == nullptr) {
      w.key("recounted").null().key("matches").null();
    } else {
      bool same = recounted->size() == rec.counts.size();
      for (const auto& [k, v] : rec.counts) {
        const json::Node* x = recounted->find(k);
        same = same && x != nullptr && x->kind() == json::Kind::u64 && x->as_u64() == v;
      }
      w.member("recounted", *recounted).member("matches", same);
    }
    w.end_object();
  }
  return w.end_array().end_object().take();
}

Status prepare_out_dir(base::FileSystem& fs, const std::string& dir) {
  return base::prepare_empty_folder(fs, dir, "--out " + dir,
                                    "a bundle is collected into a new or empty folder (one folder per cutover, never "
                                    "overwritten): choose a new folder",
                                    /*allow_symlink=*/true);
}
// What collect reads and judges before it writes anything.
struct Collected {
  manifest::ManifestFile file;
  std::string manifest_text;  // the manifest's bytes, as hashed
  std::string collected_at;
  std::string report_text;  // verify-report.json's bytes
  ReportSummary report;
  std::optional<std::string> drill_text, harness_text, canary_text;
  std::optional<DrillSummary> drill;
  std::optional<std::string> harness_status;
  std::optional<CanarySamples> canary;
  std::optional<ReportFile> expand_file, routes_file;
  std::vector<BackupProof> backups;
};

// The manifest and its bytes; refused when it changes while being read.
Status read_manifest(base::FileSystem& fs, const CollectOptions& options, Collected& c) {
  TRY_ASSIGN(c.file, manifest::load_manifest_file(fs, options.manifest_path));
  TRY_ASSIGN(c.manifest_text, read_text(fs, options.manifest_path, "manifest"));
  if (hash::sha256_hex(c.manifest_text) != c.file.sha256) {
    return make_error(ErrorCode::conflict,
                      "manifest " + options.manifest_path + " changed while it was being read; try again");
  }
  return {};
}

// The verify report given with --verify-report, or verification run now,
// and what the report says about itself.
Status read_verification(const CollectOptions& options, const store::SpecRegistry& specs, base::FileSystem& fs,
                         base::Clock& clock, Collected& c, CollectResult& result) {
  if (!options.verify_report_path.empty()) {
    TRY_ASSIGN(c.report_text, read_text(fs, options.verify_report_path, "verify report"));
  } else {
    verify::VerifyOptions vo;
    vo.manifest_path = options.manifest_path;
    TRY_ASSIGN(verify::VerifyReport report, verify::verify_manifest(vo, specs, fs, clock));
    c.report_text = verify::to_json(report) + "\n";
    result.verification_ran = true;
  }
  std::string report_source =
      options.verify_report_path.empty() ? std::string("the verify report") : options.verify_report_path;
  TRY_ASSIGN(c.report, read_verify_report(c.report_text, report_source));
  return {};
}

// The drill report, harness summary and canary samples that were given,
// each read as its format says.
Status read_optional_files(base::FileSystem& fs, const CollectOptions& options, Collected& c) {
  if (!options.drill_report_path.empty()) {
    TRY_ASSIGN(c.drill_text, read_text(fs, options.drill_report_path, "drill report"));
    TRY_ASSIGN(c.drill, parse_drill_report(*c.drill_text, options.drill_report_path));
  }
  if (!options.harness_summary_path.empty()) {
    TRY_ASSIGN(c.harness_text, read_text(fs, options.harness_summary_path, "harness summary"));
    TRY_ASSIGN(c.harness_status, read_harness_summary(*c.harness_text, options.harness_summary_path));
  }
  if (!options.canary_samples_path.empty()) {
    TRY_ASSIGN(c.canary_text, read_text(fs, options.canary_samples_path, "canary samples"));
    TRY_ASSIGN(c.canary, parse_canary_samples(*c.canary_text, options.canary_samples_path));
  }
  return {};
}

// Issue 17: the expand phase's two reports, carried as they are; one that
// did not pass is recorded as a problem, like a failed drill.
Status read_expand_reports(base::FileSystem& fs, const CollectOptions& options, Collected& c, CollectResult& result) {
  if (!options.expand_report_path.empty()) {
    TRY_ASSIGN(ExpandReport r, read_expand_report(fs, options.expand_report_path));
    for (const auto& p : r.problems) result.problems.push_back("expand report: " + p);
    c.expand_file = std::move(r.file);
  }
  if (!options.routes_report_path.empty()) {
    TRY_ASSIGN(RoutesReportSummary r, read_routes_report(fs, options.routes_report_path));
    for (const auto& p : r.problems) result.problems.push_back("routes report: " + p);
    c.routes_file = std::move(r.file);
  }
  return {};
}

// What the bundle will record as failing: the verification, a report about
// another manifest, each backup (hashed now), the drill, the harness.
void judge(base::FileSystem& fs, const CollectOptions& options, Collected& c, CollectResult& result) {
  const ReportSummary& report = c.report;
  if (!report.ok || report.finding_count != 0) {
    result.problems.push_back("verification failed with " + std::to_string(report.finding_count) + " finding(s)");
  }
  if (report.manifest_sha256 != c.file.sha256) {
    result.problems.push_back("the verify report is about manifest " + report.manifest_sha256 + ", not " +
                              options.manifest_path + " (" + c.file.sha256 + ")");
  }
  for (const auto& rec : c.file.manifest.stores) {
    c.backups.push_back(prove_backup(fs, c.file, rec));
    if (!c.backups.back().retained) result.problems.push_back("[" + rec.store + "] " + c.backups.back().problem);
  }
  if (c.drill && !c.drill->ok) result.problems.push_back("the drill report says the drill failed");
  if (c.harness_status && *c.harness_status != "passed")
    result.problems.push_back("the harness summary says " + *c.harness_status);
}

// The bundle's files by name (the statement's subjects, in name order).
std::map<std::string, std::string> bundle_files(const Collected& c) {
  std::map<std::string, std::string> files;
  files[std::string(k_manifest_file)] = c.manifest_text;
  files[std::string(k_verify_report_file)] = c.report_text;
  files[std::string(k_counts_file)] = count_snapshot(c.file, c.report.value.root(), c.collected_at) + "\n";
  if (c.drill_text) files[std::string(k_drill_report_file)] = *c.drill_text;
  if (c.harness_text) files[std::string(k_harness_summary_file)] = *c.harness_text;
  if (c.canary_text) files[std::string(k_canary_samples_file)] = *c.canary_text;
  if (c.expand_file) files[std::string(k_expand_report_file)] = c.expand_file->text;
  if (c.routes_file) files[std::string(k_routes_report_file)] = c.routes_file->text;
  return files;
}

// The predicate's manifest, verification, counts and backups.
void write_checked_files(json::Writer& w, const CollectOptions& options, const Collected& c,
                         const CollectResult& result) {
  const manifest::ManifestFile& file = c.file;
  w.key("manifest").begin_object().member("file", k_manifest_file).member("source_path", file.path);
  w.member("sha256", file.sha256).member("run_id", file.run_id).member("status", file.manifest.status);
  w.member("work_dir", file.work_dir).member("generated_at", file.manifest.generated_at).end_object();
  const ReportSummary& report = c.report;
  w.key("verification").begin_object().member("file", k_verify_report_file);
  w.member("source", result.verification_ran ? "ran" : "given");
  w.member_or_null("source_path", result.verification_ran ? std::string() : options.verify_report_path);
  w.member("ok", report.ok && report.finding_count == 0).member("finding_count", report.finding_count);
  w.member("manifest_sha256", report.manifest_sha256).member("manifest_matches", report.manifest_sha256 == file.sha256);
  w.end_object();
  w.key("counts").begin_object().member("file", k_counts_file).end_object();
  bool all_retained = true;
  w.key("backups").begin_array();
  for (const auto& b : c.backups) {
    write_backup(w, b);
    all_retained = all_retained && b.retained;
  }
  w.end_array().member("backups_retained", all_retained);
}

// The predicate's optional parts: drill, harness, ledger, canary samples and
// the expand phase's reports; null for each that was not given.
void write_optional_sources(json::Writer& w, const CollectOptions& options, const Collected& c) {
  w.key("drill");
  if (const auto& d = c.drill) {
    w.begin_object().member("file", k_drill_report_file).member("source_path", options.drill_report_path);
    w.member("ok", d->ok).member("group", d->group).member("release_train", d->release_train);
    w.member("manifest_sha256", d->manifest_sha256).end_object();
  } else {
    w.null();
  }
  w.key("harness");
  if (c.harness_status) {
    w.begin_object().member("file", k_harness_summary_file).member("source_path", options.harness_summary_path);
    w.member("overall_status", *c.harness_status).end_object();
  } else {
    w.null();
  }
  w.key("ledger");
  if (const auto& l = options.ledger) {
    w.begin_object().member("path", l->path).member("records", l->records).member("head_sha256", l->head_sha256);
    w.end_object();
  } else {
    w.null();
  }
  w.key("canary_samples");
  if (const auto& s = c.canary) {
    w.begin_object().member("file", k_canary_samples_file).member("source_path", options.canary_samples_path);
    w.member("group", s->group).member("readings", s->samples.size()).end_object();
  } else {
    w.null();
  }
  auto report = [&](std::string_view key, const std::optional<ReportFile>& f, std::string_view name) {
    w.key(key);
    if (!f) {
      w.null();
      return;
    }
    w.begin_object();
    write_report_file_members(w, *f);
    w.member("file", name).member("ok", f->ok).end_object();
  };
  report("expand_report", c.expand_file, k_expand_report_file);
  report("routes_report", c.routes_file, k_routes_report_file);
}

// statement.json (canonical, with a newline): every file's SHA-256 and the
// predicate saying where each came from.
std::string statement_text(const CollectOptions& options, const Collected& c, const CollectResult& result,
                           const std::map<std::string, std::string>& files) {
  json::Writer w = json::Writer::canonical();
  w.begin_object().member("_type", k_statement_type).member("predicateType", k_predicate_type);
  w.key("subject").begin_array();
  for (const auto& [name, bytes] : files) {
    w.begin_object().member("name", name).key("digest").begin_object();
    w.member("sha256", hash::sha256_hex(bytes)).end_object().end_object();
  }
  w.end_array().key("predicate").begin_object().member("schema", k_evidence_schema);
  w.member("collected_at", c.collected_at).member("tool", base::k_tool_version);
  w.member("release_train", result.release_train);
  write_checked_files(w, options, c, result);
  write_optional_sources(w, options, c);
  w.end_object().end_object();
  return w.take() + "\n";
}

}  // namespace

Result<CollectResult> collect_bundle(const CollectOptions& options, const store::SpecRegistry& specs,
                                     base::FileSystem& fs, base::Clock& clock) {
  CollectResult result;
  Collected c;
  // Read and check every input before writing anything.
  TRY(read_manifest(fs, options, c));
  c.collected_at = base::rfc3339_utc(clock.now_ns());
  result.release_train = options.release_train.empty() ? c.file.run_id : options.release_train;
  TRY(read_verification(options, specs, fs, clock, c, result));
  TRY(read_optional_files(fs, options, c));
  TRY(read_expand_reports(fs, options, c, result));
  judge(fs, options, c, result);
  // Write the files, the statement last.
  TRY(prepare_out_dir(fs, options.out_dir));
  std::map<std::string, std::string> files = bundle_files(c);
  for (const auto& [name, bytes] : files) {
    TRY(base::write_file_atomic(fs, in_dir(options.out_dir, name), bytes));
    result.files.push_back(name);
  }
  std::string statement = statement_text(options, c, result, files);
  result.dir = options.out_dir;
  result.statement_path = in_dir(options.out_dir, k_statement_file);
  result.statement_sha256 = hash::sha256_hex(statement);
  TRY(base::write_file_atomic(fs, result.statement_path, statement));
  return result;
}

}  // namespace cutover::evidence
