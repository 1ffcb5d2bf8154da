#include "cutover/evidence/bundle.h"

#include <algorithm>
#include <map>
#include <set>

#include "cutover/base/version.h"
#include "cutover/evidence/dsse.h"
#include "cutover/evidence/expand_evidence.h"
#include "cutover/hash/file_hash.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/parser.h"
#include "cutover/manifest/manifest.h"
#include "cutover/manifest/manifest_file.h"
#include "cutover/verify/verify.h"

namespace cutover::evidence {
namespace {

std::string in_dir(const std::string& dir, std::string_view name) { return base::join_path(dir, std::string(name)); }

Result<std::string> read_text(base::FileSystem& fs, const std::string& path, std::string_view what) {
  TRY_ASSIGN_CTX(base::Buffer bytes, fs.read_file(path), "cannot read " + std::string(what) + " " + path);
  return std::string(bytes.view());
}

// What a verify report says about itself.
struct ReportSummary {
  bool ok = false;
  uint64_t finding_count = 0;
  std::string manifest_sha256;
  JsonValue value;
};

Result<ReportSummary> read_verify_report(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) return make_error(ErrorCode::invalid_argument, source + " is not valid JSON: " + doc.error().message());
  std::vector<std::string> problems;
  FieldReader r(doc->root(), "verify report", problems);
  std::string schema = r.string("schema");
  ReportSummary out;
  out.ok = r.boolean("ok");
  out.finding_count = r.u64("finding_count");
  if (const json::Node* m = r.object("manifest")) {
    FieldReader mr(*m, "verify report.manifest", problems);
    out.manifest_sha256 = mr.string("sha256");
  }
  if (r.get("schema") != nullptr && r.get("schema")->is_string() && schema != verify::k_report_schema) {
    r.problem("schema", "is '" + schema + "', expected '" + std::string(verify::k_report_schema) +
                            "' (the JSON report of `cutover verify --json`)");
  }
  if (!problems.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      source + " is not a usable verify report: " + join_problems(problems));
  }
  out.value = JsonValue::from_node(doc->root());
  return out;
}

// The harness summary's overall_status.
Result<std::string> read_harness_summary(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) return make_error(ErrorCode::invalid_argument, source + " is not valid JSON: " + doc.error().message());
  std::vector<std::string> problems;
  FieldReader r(doc->root(), "harness summary", problems);
  std::string schema = r.string("schema");
  std::string status = r.string("overall_status");
  if (r.get("schema") != nullptr && r.get("schema")->is_string() && schema != k_harness_schema) {
    r.problem("schema", "is '" + schema + "', expected '" + std::string(k_harness_schema) + "'");
  }
  if (r.get("overall_status") != nullptr && status != "passed" && status != "failed") {
    r.problem("overall_status", "is '" + status + "', expected passed or failed");
  }
  if (!problems.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      source + " is not a usable harness summary: " + join_problems(problems));
  }
  return status;
}

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
    p.problem = "backup " + *rec.backup_path + " is not usable: " + join_problems(problems);
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

JsonValue backup_json(const BackupProof& p) {
  return JsonValue::object()
      .set("store", p.store)
      .set("store_path", p.store_path)
      .set("existed", p.existed)
      .set_optional("backup_path", p.backup_path)
      .set_optional("before_sha256", p.before_sha256)
      .set("size", p.size ? JsonValue::u64(*p.size) : JsonValue::null())
      .set_optional("sha256", p.sha256)
      .set("retained", p.retained)
      .set("problem", p.problem.empty() ? JsonValue::null() : JsonValue::string(p.problem));
}

BackupProof backup_from(const json::Node& node, const std::string& where, std::vector<std::string>& problems) {
  FieldReader r(node, where, problems);
  BackupProof p;
  p.store = r.string("store");
  p.store_path = r.string("store_path");
  p.existed = r.boolean("existed");
  p.backup_path = r.optional_string("backup_path");
  p.before_sha256 = r.optional_string("before_sha256");
  p.size = r.optional_u64("size");
  p.sha256 = r.optional_string("sha256");
  p.retained = r.boolean("retained");
  p.problem = r.optional_string("problem").value_or("");
  if (p.existed && (!p.backup_path || !p.before_sha256)) {
    r.problem("backup_path", "a store that existed needs backup_path and before_sha256");
  }
  return p;
}

// counts.json: the manifest's counts beside the recounts of the verify report.
JsonValue count_snapshot(const manifest::ManifestFile& file, const JsonValue& report, const std::string& taken_at) {
  const JsonValue* report_stores = report.find("stores");
  JsonValue stores = JsonValue::array();
  for (size_t i = 0; i < file.manifest.stores.size(); ++i) {
    const auto& rec = file.manifest.stores[i];
    JsonValue counts = JsonValue::object();
    for (const auto& [k, v] : rec.counts) counts.set_u64(k, v);
    JsonValue recounted = JsonValue::null();
    if (report_stores != nullptr && report_stores->is_array() && i < report_stores->items().size()) {
      const JsonValue& rs = report_stores->items()[i];
      if (rs.string_at("store") == rec.store && rs.string_at("path") == rec.path) {
        if (const JsonValue* rc = rs.find("recounted"); rc != nullptr && rc->is_object() && !rc->members().empty()) {
          recounted = *rc;
        }
      }
    }
    JsonValue matches = JsonValue::null();
    if (recounted.is_object()) {
      bool same = recounted.members().size() == rec.counts.size();
      for (const auto& [k, v] : rec.counts) {
        const JsonValue* x = recounted.find(k);
        same = same && x != nullptr && x->type() == JsonValue::Type::u64 && x->as_u64() == v;
      }
      matches = JsonValue::boolean(same);
    }
    stores.push(JsonValue::object()
                    .set("store", rec.store)
                    .set("path", rec.path)
                    .set("counts", std::move(counts))
                    .set("recounted", std::move(recounted))
                    .set("matches", std::move(matches)));
  }
  return JsonValue::object()
      .set("schema", k_count_snapshot_schema)
      .set("taken_at", taken_at)
      .set("manifest_sha256", file.sha256)
      .set("run_id", file.run_id)
      .set("stores", std::move(stores));
}

Status prepare_out_dir(base::FileSystem& fs, const std::string& dir) {
  return base::prepare_empty_folder(fs, dir, "--out " + dir,
                                    "a bundle is collected into a new or empty folder (one folder per cutover, never "
                                    "overwritten): choose a new folder",
                                    /*allow_symlink=*/true);
}

bool plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

struct Subject {
  std::string name;
  std::string sha256;
};

// statement.json parsed far enough for verify and the gates.
struct ParsedStatement {
  std::vector<Subject> subjects;
  BundleContents contents;
};

Result<ParsedStatement> parse_statement(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) return make_error(ErrorCode::invalid_argument, source + " is not valid JSON: " + doc.error().message());
  std::vector<std::string> problems;
  ParsedStatement out;
  FieldReader r(doc->root(), "statement", problems);
  std::string type = r.string("_type");
  std::string predicate_type = r.string("predicateType");
  if (r.get("_type") != nullptr && type != k_statement_type) {
    r.problem("_type", "is '" + type + "', expected '" + std::string(k_statement_type) + "'");
  }
  if (r.get("predicateType") != nullptr && predicate_type != k_predicate_type) {
    r.problem("predicateType", "is '" + predicate_type + "', expected '" + std::string(k_predicate_type) + "'");
  }
  if (const json::Node* subjects = r.array("subject")) {
    for (size_t i = 0; i < subjects->size(); ++i) {
      std::string where = "statement.subject[" + std::to_string(i) + "]";
      FieldReader s(subjects->elements()[i], where, problems);
      Subject sub;
      sub.name = s.string("name");
      if (const json::Node* digest = s.object("digest")) {
        FieldReader d(*digest, where + ".digest", problems);
        sub.sha256 = d.string("sha256");
        if (!sub.sha256.empty() && !hash::is_sha256_hex(sub.sha256))
          d.problem("sha256", "is not 64 lower-case hex characters");
      }
      out.subjects.push_back(std::move(sub));
    }
  }
  if (const json::Node* pred = r.object("predicate")) {
    FieldReader p(*pred, "statement.predicate", problems);
    std::string schema = p.string("schema");
    if (p.get("schema") != nullptr && schema != k_evidence_schema) {
      p.problem("schema", "is '" + schema + "', expected '" + std::string(k_evidence_schema) + "'");
    }
    out.contents.collected_at = p.string("collected_at");
    out.contents.release_train = p.string("release_train");
    if (const json::Node* m = p.object("manifest")) {
      FieldReader mr(*m, "statement.predicate.manifest", problems);
      out.contents.manifest_sha256 = mr.string("sha256");
      out.contents.manifest_source_path = mr.string("source_path");
      out.contents.run_id = mr.string("run_id");
    }
    if (const json::Node* ledger = p.get("ledger"); ledger != nullptr && !ledger->is_null()) {
      FieldReader lr(*ledger, "statement.predicate.ledger", problems);
      std::string path = lr.string("path");
      uint64_t records = lr.u64("records");
      std::string head_sha = lr.string("head_sha256");
      if (lr.ok()) {
        if (!hash::is_sha256_hex(head_sha)) {
          lr.problem("head_sha256", "'" + head_sha + "' is not a SHA-256 (64 lower-case hex characters)");
        } else if (records == 0 && head_sha != std::string(64, '0')) {
          lr.problem("head_sha256", "an empty ledger's head is 64 zeros");
        } else {
          out.contents.ledger = LedgerPin{path, records, head_sha};
        }
      }
    }
    if (const json::Node* backups = p.array("backups")) {
      for (size_t i = 0; i < backups->size(); ++i) {
        out.contents.backups.push_back(
            backup_from(backups->elements()[i], "statement.predicate.backups[" + std::to_string(i) + "]", problems));
      }
    }
  }
  if (!problems.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      source + " is not a usable evidence statement: " + join_problems(problems));
  }
  return out;
}

// Checks each subject's digest and that the folder holds nothing else.
void check_subjects(base::FileSystem& fs, const std::string& dir, const std::vector<Subject>& subjects,
                    std::vector<std::string>& problems) {
  std::set<std::string> names;
  for (const auto& s : subjects) {
    if (!plain_name(s.name) || s.name == k_statement_file || s.name == k_envelope_file) {
      problems.push_back("statement subject '" + s.name + "' is not a file name of the bundle");
      continue;
    }
    if (!names.insert(s.name).second) {
      problems.push_back("statement lists " + s.name + " twice");
      continue;
    }
    std::string path = in_dir(dir, s.name);
    auto info = fs.stat(path);
    if (!info || !info->exists) {
      problems.push_back(s.name + " is missing from the bundle (the statement lists it)");
      continue;
    }
    if (!info->is_regular || info->is_symlink) {
      problems.push_back(s.name + " is not a regular file");
      continue;
    }
    auto digest = hash::hash_file(fs, path);
    if (!digest) {
      problems.push_back(s.name + " cannot be read: " + digest.error().message());
    } else if (digest->sha256 != s.sha256) {
      problems.push_back(s.name + " hashes to " + digest->sha256 + ", the statement says " + s.sha256 +
                         " (the file was changed after it was collected)");
    }
  }
  for (std::string_view required : {k_manifest_file, k_verify_report_file, k_counts_file}) {
    if (!names.count(std::string(required))) {
      problems.push_back("the statement does not list " + std::string(required) + ", which every bundle needs");
    }
  }
  auto listing = fs.list_directory(dir);
  if (!listing) {
    problems.push_back("cannot list the bundle folder: " + listing.error().message());
    return;
  }
  std::vector<std::string> sorted = *listing;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& name : sorted) {
    if (name == k_statement_file || name == k_envelope_file || names.count(name)) continue;
    problems.push_back(name +
                       " is in the bundle folder but not in the statement (nothing vouches for it; remove it "
                       "or collect a new bundle)");
  }
}

// The evidence itself: a passing verification of this manifest, backups
// retained, a passing drill and harness when present.
void check_contents(base::FileSystem& fs, const std::string& dir, const std::vector<Subject>& subjects,
                    BundleContents& contents, std::vector<std::string>& problems) {
  auto listed = [&](std::string_view name) {
    return std::any_of(subjects.begin(), subjects.end(), [&](const Subject& s) { return s.name == name; });
  };
  std::string manifest_sha;
  if (listed(k_manifest_file)) {
    auto text = read_text(fs, in_dir(dir, k_manifest_file), "manifest");
    if (!text) {
      problems.push_back(text.error().message());
    } else {
      manifest_sha = hash::sha256_hex(*text);
      auto m = manifest::parse_manifest(*text, std::string(k_manifest_file));
      if (!m) {
        problems.push_back(m.error().message());
      } else if (m->status != manifest::k_status_complete) {
        problems.push_back("manifest.json has status '" + m->status + "': only a complete migration can be cut over");
      }
      if (manifest_sha != contents.manifest_sha256) {
        problems.push_back("manifest.json hashes to " + manifest_sha + ", the statement's predicate names manifest " +
                           contents.manifest_sha256);
      }
    }
  }
  if (listed(k_verify_report_file)) {
    auto text = read_text(fs, in_dir(dir, k_verify_report_file), "verify report");
    auto report = text ? read_verify_report(*text, std::string(k_verify_report_file)) : tl::unexpected(text.error());
    if (!report) {
      problems.push_back(report.error().message());
    } else {
      if (!report->ok || report->finding_count != 0) {
        problems.push_back("the verification failed: verify-report.json has " + std::to_string(report->finding_count) +
                           " finding(s) (see its findings); fix them, verify again and collect a new bundle");
      }
      if (!manifest_sha.empty() && report->manifest_sha256 != manifest_sha) {
        problems.push_back("verify-report.json is about manifest " + report->manifest_sha256 +
                           ", not this bundle's manifest.json (" + manifest_sha + ")");
      }
    }
  }
  for (const auto& b : contents.backups) {
    if (!b.retained) {
      problems.push_back("backup of [" + b.store + "] was not retained when collected: " +
                         (b.problem.empty() ? std::string("no proof recorded") : b.problem));
    }
  }
  if (contents.backups.empty()) problems.push_back("the statement proves no backup (its manifest has no stores?)");
  if (listed(k_drill_report_file)) {
    auto text = read_text(fs, in_dir(dir, k_drill_report_file), "drill report");
    auto drill = text ? parse_drill_report(*text, std::string(k_drill_report_file)) : tl::unexpected(text.error());
    if (!drill) {
      problems.push_back(drill.error().message());
    } else {
      if (!drill->ok) {
        problems.push_back("the rollback drill failed: " + (drill->failed_steps.empty()
                                                                ? std::string("its report says ok: false")
                                                                : join_problems(drill->failed_steps)));
      }
      contents.drill = *drill;
    }
  }
  // Issue 17: a bundle that carries an expand or routes report that did not pass is refused.
  if (listed(k_expand_report_file)) {
    auto r = read_expand_report(fs, in_dir(dir, k_expand_report_file));
    if (!r) problems.push_back(r.error().message());
    for (const auto& p : r ? r->problems : std::vector<std::string>{}) problems.push_back("expand report: " + p);
  }
  if (listed(k_routes_report_file)) {
    auto r = read_routes_report(fs, in_dir(dir, k_routes_report_file));
    if (!r) problems.push_back(r.error().message());
    for (const auto& p : r ? r->problems : std::vector<std::string>{}) problems.push_back("routes report: " + p);
  }
  if (listed(k_harness_summary_file)) {
    auto text = read_text(fs, in_dir(dir, k_harness_summary_file), "harness summary");
    auto status =
        text ? read_harness_summary(*text, std::string(k_harness_summary_file)) : tl::unexpected(text.error());
    if (!status) {
      problems.push_back(status.error().message());
    } else {
      if (*status != "passed") problems.push_back("the harness summary's overall_status is " + *status);
      contents.harness_status = *status;
    }
  }
  if (listed(k_canary_samples_file)) {
    auto text = read_text(fs, in_dir(dir, k_canary_samples_file), "canary samples");
    auto samples =
        text ? parse_canary_samples(*text, std::string(k_canary_samples_file)) : tl::unexpected(text.error());
    if (!samples)
      problems.push_back(samples.error().message());
    else
      contents.canary = *samples;
  }
}

}  // namespace

Result<CollectResult> collect_bundle(const CollectOptions& options, const store::SpecRegistry& specs,
                                     base::FileSystem& fs, base::Clock& clock) {
  // Read and check every input before writing anything.
  TRY_ASSIGN(manifest::ManifestFile file, manifest::load_manifest_file(fs, options.manifest_path));
  TRY_ASSIGN(std::string manifest_text, read_text(fs, options.manifest_path, "manifest"));
  if (hash::sha256_hex(manifest_text) != file.sha256) {
    return make_error(ErrorCode::conflict,
                      "manifest " + options.manifest_path + " changed while it was being read; try again");
  }
  std::string collected_at = base::rfc3339_utc(clock.now_ns());
  CollectResult result;
  result.release_train = options.release_train.empty() ? file.run_id : options.release_train;

  std::string report_text;
  if (!options.verify_report_path.empty()) {
    TRY_ASSIGN(report_text, read_text(fs, options.verify_report_path, "verify report"));
  } else {
    verify::VerifyOptions vo;
    vo.manifest_path = options.manifest_path;
    TRY_ASSIGN(verify::VerifyReport report, verify::verify_manifest(vo, specs, fs, clock));
    report_text = verify::to_json(report) + "\n";
    result.verification_ran = true;
  }
  std::string report_source =
      options.verify_report_path.empty() ? std::string("the verify report") : options.verify_report_path;
  TRY_ASSIGN(ReportSummary report, read_verify_report(report_text, report_source));

  std::optional<std::string> drill_text, harness_text, canary_text;
  std::optional<DrillSummary> drill;
  std::optional<std::string> harness_status;
  std::optional<CanarySamples> canary;
  if (!options.drill_report_path.empty()) {
    TRY_ASSIGN(drill_text, read_text(fs, options.drill_report_path, "drill report"));
    TRY_ASSIGN(drill, parse_drill_report(*drill_text, options.drill_report_path));
  }
  if (!options.harness_summary_path.empty()) {
    TRY_ASSIGN(harness_text, read_text(fs, options.harness_summary_path, "harness summary"));
    TRY_ASSIGN(harness_status, read_harness_summary(*harness_text, options.harness_summary_path));
  }
  if (!options.canary_samples_path.empty()) {
    TRY_ASSIGN(canary_text, read_text(fs, options.canary_samples_path, "canary samples"));
    TRY_ASSIGN(canary, parse_canary_samples(*canary_text, options.canary_samples_path));
  }

  // Issue 17: the expand phase's two reports, carried as they are; one that
  // did not pass is recorded as a problem, like a failed drill.
  std::optional<ReportFile> expand_file, routes_file;
  if (!options.expand_report_path.empty()) {
    TRY_ASSIGN(ExpandReport r, read_expand_report(fs, options.expand_report_path));
    for (const auto& p : r.problems) result.problems.push_back("expand report: " + p);
    expand_file = std::move(r.file);
  }
  if (!options.routes_report_path.empty()) {
    TRY_ASSIGN(RoutesReportSummary r, read_routes_report(fs, options.routes_report_path));
    for (const auto& p : r.problems) result.problems.push_back("routes report: " + p);
    routes_file = std::move(r.file);
  }

  // What the bundle will record as failing.
  if (!report.ok || report.finding_count != 0) {
    result.problems.push_back("verification failed with " + std::to_string(report.finding_count) + " finding(s)");
  }
  if (report.manifest_sha256 != file.sha256) {
    result.problems.push_back("the verify report is about manifest " + report.manifest_sha256 + ", not " +
                              options.manifest_path + " (" + file.sha256 + ")");
  }
  std::vector<BackupProof> backups;
  for (const auto& rec : file.manifest.stores) {
    backups.push_back(prove_backup(fs, file, rec));
    if (!backups.back().retained) result.problems.push_back("[" + rec.store + "] " + backups.back().problem);
  }
  if (drill && !drill->ok) result.problems.push_back("the drill report says the drill failed");
  if (harness_status && *harness_status != "passed")
    result.problems.push_back("the harness summary says " + *harness_status);

  // Write the files, the statement last.
  TRY(prepare_out_dir(fs, options.out_dir));
  std::map<std::string, std::string> files;
  files[std::string(k_manifest_file)] = manifest_text;
  files[std::string(k_verify_report_file)] = report_text;
  files[std::string(k_counts_file)] = count_snapshot(file, report.value, collected_at).canonical() + "\n";
  if (drill_text) files[std::string(k_drill_report_file)] = *drill_text;
  if (harness_text) files[std::string(k_harness_summary_file)] = *harness_text;
  if (canary_text) files[std::string(k_canary_samples_file)] = *canary_text;
  if (expand_file) files[std::string(k_expand_report_file)] = expand_file->text;
  if (routes_file) files[std::string(k_routes_report_file)] = routes_file->text;

  JsonValue subject = JsonValue::array();
  for (const auto& [name, bytes] : files) {
    TRY(base::write_file_atomic(fs, in_dir(options.out_dir, name), bytes));
    subject.push(JsonValue::object()
                     .set("name", name)
                     .set("digest", JsonValue::object().set("sha256", hash::sha256_hex(bytes))));
    result.files.push_back(name);
  }

  JsonValue backup_list = JsonValue::array();
  bool all_retained = true;
  for (const auto& b : backups) {
    backup_list.push(backup_json(b));
    all_retained = all_retained && b.retained;
  }
  JsonValue predicate =
      JsonValue::object()
          .set("schema", k_evidence_schema)
          .set("collected_at", collected_at)
          .set("tool", base::k_tool_version)
          .set("release_train", result.release_train)
          .set("manifest", JsonValue::object()
                               .set("file", k_manifest_file)
                               .set("source_path", file.path)
                               .set("sha256", file.sha256)
                               .set("run_id", file.run_id)
                               .set("status", file.manifest.status)
                               .set("work_dir", file.work_dir)
                               .set("generated_at", file.manifest.generated_at))
          .set("verification",
               JsonValue::object()
                   .set("file", k_verify_report_file)
                   .set("source", result.verification_ran ? "ran" : "given")
                   .set("source_path",
                        result.verification_ran ? JsonValue::null() : JsonValue::string(options.verify_report_path))
                   .set("ok", report.ok && report.finding_count == 0)
                   .set_u64("finding_count", report.finding_count)
                   .set("manifest_sha256", report.manifest_sha256)
                   .set("manifest_matches", report.manifest_sha256 == file.sha256))
          .set("counts", JsonValue::object().set("file", k_counts_file))
          .set("backups", std::move(backup_list))
          .set("backups_retained", all_retained)
          .set("drill", drill ? JsonValue::object()
                                    .set("file", k_drill_report_file)
                                    .set("source_path", options.drill_report_path)
                                    .set("ok", drill->ok)
                                    .set("group", drill->group)
                                    .set("release_train", drill->release_train)
                                    .set("manifest_sha256", drill->manifest_sha256)
                              : JsonValue::null())
          .set("harness", harness_status ? JsonValue::object()
                                               .set("file", k_harness_summary_file)
                                               .set("source_path", options.harness_summary_path)
                                               .set("overall_status", *harness_status)
                                         : JsonValue::null())
          .set("ledger", options.ledger ? JsonValue::object()
                                              .set("path", options.ledger->path)
                                              .set_u64("records", options.ledger->records)
                                              .set("head_sha256", options.ledger->head_sha256)
                                        : JsonValue::null())
          .set("canary_samples", canary ? JsonValue::object()
                                              .set("file", k_canary_samples_file)
                                              .set("source_path", options.canary_samples_path)
                                              .set("group", canary->group)
                                              .set_u64("readings", canary->samples.size())
                                        : JsonValue::null())
          .set("expand_report",
               expand_file ? report_file_json(*expand_file).set("file", k_expand_report_file).set("ok", expand_file->ok)
                           : JsonValue::null())
          .set("routes_report",
               routes_file ? report_file_json(*routes_file).set("file", k_routes_report_file).set("ok", routes_file->ok)
                           : JsonValue::null());
  std::string statement = JsonValue::object()
                              .set("_type", k_statement_type)
                              .set("subject", std::move(subject))
                              .set("predicateType", k_predicate_type)
                              .set("predicate", std::move(predicate))
                              .canonical() +
                          "\n";
  result.dir = options.out_dir;
  result.statement_path = in_dir(options.out_dir, k_statement_file);
  result.statement_sha256 = hash::sha256_hex(statement);
  TRY(base::write_file_atomic(fs, result.statement_path, statement));
  return result;
}

Result<SignResult> sign_bundle(base::FileSystem& fs, const std::string& dir, const hash::Ed25519PrivateKey& key) {
  std::string statement_path = in_dir(dir, k_statement_file);
  TRY_ASSIGN(std::string statement, read_text(fs, statement_path, "statement"));
  TRY_ASSIGN(ParsedStatement parsed, parse_statement(statement, statement_path));
  std::vector<std::string> problems;
  check_subjects(fs, dir, parsed.subjects, problems);
  if (!problems.empty()) {
    return make_error(ErrorCode::corruption,
                      "refusing to sign " + dir + ": it does not match its statement: " + join_problems(problems));
  }
  SignResult out;
  std::vector<std::string> content_problems;
  check_contents(fs, dir, parsed.subjects, parsed.contents, content_problems);
  for (const auto& p : content_problems) out.warnings.push_back("the bundle records a failure: " + p);

  out.envelope_path = in_dir(dir, k_envelope_file);
  Envelope envelope{std::string(k_in_toto_payload_type), statement, {}};
  TRY_ASSIGN(base::FileInfo info, fs.stat(out.envelope_path));
  if (info.exists) {
    TRY_ASSIGN(std::string text, read_text(fs, out.envelope_path, "envelope"));
    TRY_ASSIGN(Envelope existing, parse_envelope(text, out.envelope_path));
    if (existing.payload != statement || existing.payload_type != k_in_toto_payload_type) {
      return make_error(ErrorCode::conflict,
                        out.envelope_path + " signs a different statement than " + statement_path +
                            " (the bundle was collected again, or one of them was changed); its signatures cannot "
                            "carry over: collect the bundle into a new folder and sign that");
    }
    envelope.signatures = std::move(existing.signatures);
  }
  DsseSignature sig = sign_payload(envelope, key);
  out.keyid = sig.keyid;
  out.replaced = add_signature(envelope, std::move(sig));
  out.signature_count = envelope.signatures.size();
  TRY(base::write_file_atomic(fs, out.envelope_path, to_json(envelope) + "\n"));
  return out;
}

std::vector<std::string> check_backups_still_retained(base::FileSystem& fs, const std::vector<BackupProof>& backups) {
  std::vector<std::string> problems;
  for (const auto& b : backups) {
    if (!b.existed) continue;
    if (!b.backup_path || !b.sha256 || !b.size) {
      problems.push_back("[" + b.store + "] the bundle proves no backup for a store that existed");
      continue;
    }
    auto digest = hash::hash_file(fs, *b.backup_path);
    if (!digest) {
      problems.push_back("[" + b.store + "] backup " + *b.backup_path +
                         " is no longer retained: " + digest.error().message());
    } else if (digest->sha256 != *b.sha256 || digest->size != *b.size) {
      problems.push_back("[" + b.store + "] backup " + *b.backup_path + " changed since it was collected: now " +
                         std::to_string(digest->size) + " bytes, SHA-256 " + digest->sha256 + "; the bundle proved " +
                         std::to_string(*b.size) + " bytes, " + *b.sha256);
    }
  }
  return problems;
}

BundleCheck verify_bundle(base::FileSystem& fs, const std::string& dir, const VerifyBundleOptions& options) {
  BundleCheck check;
  check.dir = dir;
  check.threshold = options.threshold;
  auto& problems = check.problems;

  std::string statement_path = in_dir(dir, k_statement_file);
  auto statement = read_text(fs, statement_path, "statement");
  if (!statement) {
    problems.push_back(statement.error().message() + " (is " + dir + " an evidence bundle?)");
    return check;
  }
  check.contents.statement_sha256 = hash::sha256_hex(*statement);
  auto parsed = parse_statement(*statement, statement_path);
  if (parsed) {
    std::string sha = check.contents.statement_sha256;
    check.contents = parsed->contents;
    check.contents.statement_sha256 = sha;
    for (const auto& s : parsed->subjects) check.contents.files.push_back(s.name);
    check_subjects(fs, dir, parsed->subjects, problems);
    check_contents(fs, dir, parsed->subjects, check.contents, problems);
    if (options.check_backups) {
      for (auto& p : check_backups_still_retained(fs, check.contents.backups)) problems.push_back(std::move(p));
    }
  } else {
    problems.push_back(parsed.error().message());
  }

  // The envelope: canonical, over exactly statement.json, every signature good.
  std::string envelope_path = in_dir(dir, k_envelope_file);
  auto envelope_text = read_text(fs, envelope_path, "envelope");
  std::optional<Envelope> envelope;
  if (!envelope_text) {
    problems.push_back(envelope_text.error().message() + ": the bundle is not signed (cutover evidence sign " + dir +
                       " --key KEY)");
  } else {
    auto env = parse_envelope(*envelope_text, envelope_path);
    if (!env) {
      problems.push_back(env.error().message());
    } else {
      envelope = std::move(*env);
      if (to_json(*envelope) + "\n" != *envelope_text) {
        problems.push_back(envelope_path +
                           " is not in the canonical form cutover writes (was it edited?); every "
                           "byte of a bundle is checked");
      }
      if (envelope->payload_type != k_in_toto_payload_type) {
        problems.push_back(envelope_path + ": payloadType is '" + envelope->payload_type + "', expected '" +
                           std::string(k_in_toto_payload_type) + "'");
      }
      if (envelope->payload != *statement) {
        problems.push_back(envelope_path +
                           ": the payload is not the bytes of statement.json (one of them was "
                           "changed after signing)");
      }
    }
  }
  if (envelope) {
    std::set<std::string> signers;
    for (size_t i = 0; i < envelope->signatures.size(); ++i) {
      const DsseSignature& sig = envelope->signatures[i];
      SignatureCheck sc;
      sc.index = i;
      sc.keyid = sig.keyid;
      auto key = std::find_if(options.trusted.begin(), options.trusted.end(),
                              [&](const TrustedKey& k) { return k.keyid == sig.keyid; });
      if (key == options.trusted.end() && options.list_unknown_signers) {
        // Listed, not judged: the caller says the signatures were not checked.
      } else if (key == options.trusted.end()) {
        problems.push_back("signature " + std::to_string(i + 1) + " is by key " + sig.keyid +
                           ", which is not among the trusted keys (--trust); an unknown signer is refused");
      } else {
        sc.trusted_key = key->path;
        // The signature is checked against the payload signed and, through
        // the payload check above, against statement.json.
        sc.valid = verify_signature(*envelope, sig, key->key);
        if (!sc.valid) {
          problems.push_back("signature " + std::to_string(i + 1) + " by trusted key " + sig.keyid + " (" + key->path +
                             ") does not verify: the statement or the signature was changed");
        } else {
          signers.insert(sig.keyid);
        }
      }
      check.signatures.push_back(std::move(sc));
    }
    check.trusted_signers.assign(signers.begin(), signers.end());
  }
  if (check.trusted_signers.size() < options.threshold) {
    problems.push_back("threshold not met: " + std::to_string(check.trusted_signers.size()) + " of the required " +
                       std::to_string(options.threshold) + " distinct trusted keys signed validly");
  }
  return check;
}

JsonValue BundleCheck::to_json() const {
  JsonValue sigs = JsonValue::array();
  for (const auto& s : signatures) {
    sigs.push(JsonValue::object()
                  .set_u64("index", s.index)
                  .set("keyid", s.keyid)
                  .set("trusted_key", s.trusted_key.empty() ? JsonValue::null() : JsonValue::string(s.trusted_key))
                  .set("valid", s.valid));
  }
  JsonValue signers = JsonValue::array();
  for (const auto& k : trusted_signers) signers.push(JsonValue::string(k));
  JsonValue probs = JsonValue::array();
  for (const auto& p : problems) probs.push(JsonValue::string(p));
  JsonValue files = JsonValue::array();
  for (const auto& f : contents.files) files.push(JsonValue::string(f));
  return JsonValue::object()
      .set("schema", "cutover.evidence_check.v1")
      .set("bundle", dir)
      .set("ok", ok())
      .set("statement_sha256", contents.statement_sha256)
      .set("manifest_sha256", contents.manifest_sha256)
      .set("release_train", contents.release_train)
      .set("files", std::move(files))
      .set_u64("threshold", threshold)
      .set("trusted_signers", std::move(signers))
      .set("signatures", std::move(sigs))
      .set("problems", std::move(probs));
}

}  // namespace cutover::evidence
