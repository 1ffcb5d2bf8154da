#include "cutover/verify/verify.h"

#include <future>
#include <iterator>
#include <utility>

#include "cutover/hash/file_hash.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"
#include "cutover/manifest/manifest.h"
#include "cutover/manifest/manifest_file.h"
#include "cutover/store/counts.h"
#include "cutover/verify/count_scanner.h"

namespace cutover::verify {

using hash::hash_file;
using manifest::check_trusted;
using manifest::load_manifest_file;
using manifest::ManifestFile;
namespace {

constexpr std::string_view k_finding_names[] = {
    "manifest_incomplete", "unsafe_path",        "missing_file",     "unreadable",
    "sha_mismatch",        "unknown_store_kind", "not_json",         "missing_count",
    "unexpected_count",    "count_drift",        "backup_missing",   "backup_corrupt",
    "backup_unreadable",   "baseline_violation", "baseline_missing", "previous_missing",
};
constexpr std::string_view k_backup_names[] = {"ok", "not_needed", "missing", "corrupt", "unsafe", "unreadable"};
static_assert(std::size(k_finding_names) == static_cast<size_t>(FindingCode::previous_missing) + 1);
static_assert(std::size(k_backup_names) == static_cast<size_t>(BackupStatus::unreadable) + 1);

Finding finding(FindingCode code, const std::string& store, std::string message) {
  Finding f{code, store, std::move(message), {}, {}, {}, {}, {}, {}, {}, {}};
  return f;
}

// The backup's state, computed on the second thread.
struct BackupCheck {
  BackupStatus status = BackupStatus::not_needed;
  std::optional<std::string> sha256;
  std::string error;
};

BackupCheck check_backup(base::FileSystem& fs, const std::string& path) {
  BackupCheck out;
  auto info = fs.stat(path);
  if (info && !info->exists) {
    out.status = BackupStatus::missing;
    return out;
  }
  auto digest = info ? hash_file(fs, path) : tl::unexpected(info.error());
  if (!digest) {
    out.status = digest.error().code() == ErrorCode::not_found ? BackupStatus::missing : BackupStatus::unreadable;
    out.error = digest.error().message();
    return out;
  }
  out.sha256 = digest->sha256;
  out.status = BackupStatus::ok;  // compared with before_sha256 by the caller
  return out;
}

// Recounts by parsing the whole file: exact for any input.
Result<store::Counts> count_by_parsing(base::FileSystem& fs, const std::string& path, const store::StoreSpec& spec) {
  TRY_ASSIGN(base::Buffer bytes, fs.read_file(path));
  TRY_ASSIGN(json::Document doc, json::parse(std::move(bytes)));
  return store::count_all(doc.root(), spec);
}

// Adds a finding about the report's store; the reference is valid until the next one.
Finding& add_finding(StoreReport& r, FindingCode code, std::string message) {
  r.findings.push_back(finding(code, r.store, std::move(message)));
  return r.findings.back();
}

StoreReport new_store_report(const manifest::StoreRecord& s) {
  StoreReport r;
  r.store = s.store;
  r.path = s.path;
  r.existed = s.existed;
  r.expected_sha256 = s.after_sha256;
  r.backup_path = s.backup_path;
  r.counts = s.counts;
  r.recount_method = "none";
  return r;
}

// Whether the store's path and its backup's path are safe.
struct PathChecks {
  bool store_ok = true;
  bool backup_ok = true;
};

// Paths rollback would refuse: one finding each.
PathChecks check_paths(StoreReport& r, const ManifestFile& mf, const manifest::StoreRecord& s, base::FileSystem& fs) {
  PathChecks out;
  for (const auto& p : store_path_problems(fs, s)) {
    add_finding(r, FindingCode::unsafe_path, "unsafe path: " + p + " (rollback would refuse)").path = s.path;
    out.store_ok = false;
  }
  for (const auto& p : backup_path_problems(fs, mf, s)) {
    add_finding(r, FindingCode::unsafe_path, "unsafe backup: " + p + " (rollback unavailable)").path = *s.backup_path;
    out.backup_ok = false;
  }
  return out;
}

// The store's spec (nullptr for an unknown kind, a finding), and a finding
// for each count the manifest lacks or has beyond the spec's.
const store::StoreSpec* check_count_names(StoreReport& r, const manifest::StoreRecord& s,
                                          const store::SpecRegistry& specs) {
  auto found = specs.find(s.store);
  if (!found) {
    std::string from = s.spec_source.empty() || s.spec_source == "built-in"
                           ? ""
                           : " (the manifest says it came from " + s.spec_source + ")";
    add_finding(r, FindingCode::unknown_store_kind,
                "cannot recount: unknown store kind '" + s.store + "'" + from + "; pass its spec with --spec FILE");
    return nullptr;
  }
  const store::StoreSpec* spec = *found;
  for (const auto& rule : spec->counts) {
    if (!s.counts.count(rule.name)) {
      add_finding(r, FindingCode::missing_count,
                  "missing count '" + rule.name + "': the spec of " + s.store + " defines it")
          .key = rule.name;
    }
  }
  for (const auto& [name, value] : s.counts) {
    bool defined = false;
    for (const auto& rule : spec->counts) defined = defined || rule.name == name;
    if (!defined) {
      add_finding(
          r, FindingCode::unexpected_count,
          "unexpected count '" + name + "': the spec of " + s.store + " (" + spec->source + ") does not define it")
          .key = name;
    }
  }
  return spec;
}

// The recount of the store, from the scan made while hashing when the store
// matched its after_sha256 (the scan is trusted only on the canonical bytes
// the backfill wrote), else by parsing it; a finding for each count that
// drifted from the manifest's.
void recount(StoreReport& r, const manifest::StoreRecord& s, const store::StoreSpec& spec, base::FileSystem& fs,
             CountScanner& scanner, bool match) {
  std::optional<store::Counts> counts = match ? scanner.finish() : std::nullopt;
  if (counts) {
    r.recount_method = "scan";
  } else if (auto parsed = count_by_parsing(fs, s.path, spec)) {
    counts = std::move(*parsed);
    r.recount_method = "parse";
  } else {
    add_finding(r, FindingCode::not_json, "cannot recount " + s.path + ": " + parsed.error().message()).path = s.path;
  }
  if (!counts) return;
  r.recounted = *counts;
  for (const auto& [name, value] : *counts) {
    auto it = s.counts.find(name);
    if (it == s.counts.end() || it->second == value) continue;
    Finding& f = add_finding(
        r, FindingCode::count_drift,
        "count drift: " + name + ": manifest " + std::to_string(it->second) + ", recount " + std::to_string(value));
    f.key = name;
    f.expected = it->second;
    f.actual = value;
  }
}

// The store: hash it, and recount it on the same pass (`spec` null: no recount).
void check_store_file(StoreReport& r, const manifest::StoreRecord& s, const store::StoreSpec* spec,
                      base::FileSystem& fs, base::Progress* progress) {
  auto info = fs.stat(s.path);
  if (info && !info->exists) {
    add_finding(r, FindingCode::missing_file,
                "missing file: " + s.path + " does not exist (expected sha256 " + s.after_sha256 + ")")
        .path = s.path;
    return;
  }
  std::optional<CountScanner> scanner;
  if (spec) scanner.emplace(*spec);
  auto digest = info ? hash_file(fs, s.path, scanner ? &*scanner : nullptr, progress) : tl::unexpected(info.error());
  if (!digest) {
    add_finding(r, FindingCode::unreadable, "unreadable: " + digest.error().message()).path = s.path;
    return;
  }
  r.actual_sha256 = digest->sha256;
  bool match = digest->sha256 == s.after_sha256;
  if (!match) {
    std::string hint = s.before_sha256 && digest->sha256 == *s.before_sha256
                           ? " (it hashes to before_sha256: the store looks rolled back)"
                           : " (the store has been written since the migration)";
    Finding& f =
        add_finding(r, FindingCode::sha_mismatch,
                    "sha mismatch: " + s.path + ": expected " + s.after_sha256 + ", actual " + digest->sha256 + hint);
    f.path = s.path;
    f.expected_sha256 = s.after_sha256;
    f.actual_sha256 = digest->sha256;
  }
  if (spec) recount(r, s, *spec, fs, *scanner, match);
}

// The backup's state from check_backup, with a finding if rollback could not use it.
void record_backup(StoreReport& r, const manifest::StoreRecord& s, const BackupCheck& b) {
  r.backup = b.status;
  r.backup_sha256 = b.sha256;
  const std::string& path = *s.backup_path;
  if (b.status == BackupStatus::missing) {
    add_finding(r, FindingCode::backup_missing, "backup missing: " + path + " (rollback unavailable)").path = path;
  } else if (b.status == BackupStatus::unreadable) {
    add_finding(r, FindingCode::backup_unreadable, "backup unreadable: " + b.error + " (rollback unavailable)").path =
        path;
  } else if (b.sha256 != s.before_sha256) {
    r.backup = BackupStatus::corrupt;
    Finding& f = add_finding(r, FindingCode::backup_corrupt,
                             "backup corrupt: " + path + ": expected before_sha256 " + *s.before_sha256 + ", actual " +
                                 *b.sha256 + " (rollback unavailable)");
    f.path = path;
    f.expected_sha256 = s.before_sha256;
    f.actual_sha256 = b.sha256;
  }
}

// Checks one store; every finding goes into the report.
StoreReport verify_store(const ManifestFile& mf, const manifest::StoreRecord& s, const store::SpecRegistry& specs,
                         base::FileSystem& fs, base::Progress* progress) {
  StoreReport r = new_store_report(s);
  PathChecks paths = check_paths(r, mf, s, fs);

  // The backup, hashed on a second thread while this one reads the store.
  std::future<BackupCheck> backup;
  if (s.existed && s.backup_path) {
    if (paths.backup_ok) {
      backup = std::async(std::launch::async, [&fs, path = *s.backup_path] { return check_backup(fs, path); });
    } else {
      r.backup = BackupStatus::unsafe;
    }
  }
  const store::StoreSpec* spec = check_count_names(r, s, specs);
  if (paths.store_ok) check_store_file(r, s, spec, fs, progress);
  if (backup.valid()) record_backup(r, s, backup.get());
  return r;
}

// The size of the manifest's store files as they are now (what verify
// reads and the progress counts); a file that cannot be stat'ed counts 0.
uint64_t store_bytes(base::FileSystem& fs, const manifest::Manifest& m) {
  uint64_t total = 0;
  for (const auto& s : m.stores) {
    auto info = fs.stat(s.path);
    if (info && info->exists && info->is_regular) total += info->size;
  }
  return total;
}

// The previous manifest's record for `s`: same path, else the only store of its kind.
const manifest::StoreRecord* previous_record(const manifest::Manifest& previous, const manifest::StoreRecord& s) {
  const manifest::StoreRecord* same_kind = nullptr;
  int kind_count = 0;
  for (const auto& p : previous.stores) {
    if (p.store != s.store) continue;
    if (p.path == s.path) return &p;
    same_kind = &p;
    ++kind_count;
  }
  return kind_count == 1 ? same_kind : nullptr;
}

void check_baseline(const EnvironmentBaseline& env, const manifest::Manifest& m, const manifest::Manifest* previous,
                    VerifyReport& report) {
  std::string label = "baseline " + env.name + ": ";
  for (const auto& [kind, keys] : env.stores) {
    bool found = false;
    for (size_t i = 0; i < m.stores.size(); ++i) {
      const manifest::StoreRecord& s = m.stores[i];
      if (s.store != kind) continue;
      found = true;
      StoreReport& r = report.stores[i];
      const manifest::StoreRecord* prev = previous != nullptr ? previous_record(*previous, s) : nullptr;
      for (const auto& [key, bound] : keys) {
        auto it = s.counts.find(key);
        if (it == s.counts.end()) {
          Finding f = finding(FindingCode::baseline_missing, kind,
                              label + "count '" + key + "' (" + describe(bound) + ") is not in the manifest");
          f.key = key;
          r.findings.push_back(std::move(f));
          continue;
        }
        std::optional<uint64_t> prev_value;
        if (bound.needs_previous()) {
          if (prev != nullptr && prev->counts.count(key)) prev_value = prev->counts.at(key);
          if (!prev_value) {
            Finding f = finding(
                FindingCode::previous_missing, kind,
                label + key + ": " + describe(bound) + " needs the previous value, but the previous manifest has " +
                    (prev == nullptr ? "no store " + kind + " at " + s.path : "no count '" + key + "'"));
            f.key = key;
            f.actual = it->second;
            r.findings.push_back(std::move(f));
          }
        }
        for (const BoundViolation& v : check_bound(bound, it->second, prev_value)) {
          Finding f = finding(FindingCode::baseline_violation, kind,
                              label + key + " = " + std::to_string(it->second) + ": " + v.message);
          f.key = key;
          f.actual = it->second;
          f.previous = prev_value;
          f.bound = v.bound;
          r.findings.push_back(std::move(f));
        }
      }
    }
    if (!found) {
      report.findings.push_back(
          finding(FindingCode::baseline_missing, kind, label + "store kind '" + kind + "' is not in the manifest"));
    }
  }
}

json::Node optional_string(json::Document& doc, const std::optional<std::string>& s) {
  return s ? doc.make_string(*s) : json::Node::null();
}

json::Node counts_json(json::Document& doc, const std::map<std::string, uint64_t>& counts) {
  std::vector<json::Member> members;
  for (const auto& [name, value] : counts) members.push_back({doc.make_string(name), json::Node::u64(value)});
  return doc.make_object(std::move(members));
}

json::Node finding_json(json::Document& doc, const Finding& f) {
  std::vector<json::Member> m = {
      {doc.make_string("code"), doc.make_string(finding_code_name(f.code))},
      {doc.make_string("store"), doc.make_string(f.store)},
      {doc.make_string("message"), doc.make_string(f.message)},
  };
  auto add = [&](std::string_view name, json::Node value) { m.push_back({doc.make_string(name), value}); };
  if (!f.path.empty()) add("path", doc.make_string(f.path));
  if (!f.key.empty()) add("key", doc.make_string(f.key));
  if (f.expected_sha256) add("expected_sha256", doc.make_string(*f.expected_sha256));
  if (f.actual_sha256) add("actual_sha256", doc.make_string(*f.actual_sha256));
  if (f.expected) add("expected", json::Node::u64(*f.expected));
  if (f.actual) add("actual", json::Node::u64(*f.actual));
  if (f.previous) add("previous", json::Node::u64(*f.previous));
  if (!f.bound.empty()) add("bound", doc.make_string(f.bound));
  return doc.make_object(std::move(m));
}

json::Node findings_json(json::Document& doc, const std::vector<Finding>& findings) {
  std::vector<json::Node> nodes;
  for (const auto& f : findings) nodes.push_back(finding_json(doc, f));
  return doc.make_array(nodes);
}

}  // namespace

std::string_view finding_code_name(FindingCode code) { return k_finding_names[static_cast<size_t>(code)]; }
std::string_view backup_status_name(BackupStatus status) { return k_backup_names[static_cast<size_t>(status)]; }

bool VerifyReport::ok() const { return finding_count() == 0; }

size_t VerifyReport::finding_count() const {
  size_t n = findings.size();
  for (const auto& s : stores) n += s.findings.size();
  return n;
}

Result<VerifyReport> verify_manifest(const VerifyOptions& options, const store::SpecRegistry& specs,
                                     base::FileSystem& fs, base::Clock& clock) {
  // 1. The manifest, the baseline and the previous manifest: problems here are usage errors.
  TRY_ASSIGN(ManifestFile mf, load_manifest_file(fs, options.manifest_path));
  TRY(check_trusted(fs, mf, "verify refused"));
  std::optional<Baseline> baseline;
  const EnvironmentBaseline* env = nullptr;
  std::optional<ManifestFile> previous;
  if (!options.baseline_path.empty()) {
    TRY_ASSIGN_CTX(base::Buffer bytes, fs.read_file(options.baseline_path), "baseline");
    TRY_ASSIGN(baseline, parse_baseline(bytes.view(), options.baseline_path));
    TRY_ASSIGN(env, select_environment(*baseline, options.environment));
    std::string previous_path = options.previous_manifest;
    if (previous_path.empty() && env->previous_manifest) previous_path = *env->previous_manifest;
    if (env->needs_previous() && previous_path.empty()) {
      return make_error(ErrorCode::invalid_argument,
                        "baseline " + options.baseline_path + " (environment " + env->name +
                            ") allows changes relative to a previous manifest: pass --previous MANIFEST or set "
                            "previous_manifest in the baseline");
    }
    if (!previous_path.empty()) {
      TRY_ASSIGN_CTX(previous, load_manifest_file(fs, previous_path), "previous manifest");
    }
  } else if (!options.previous_manifest.empty() || !options.environment.empty()) {
    return make_error(ErrorCode::invalid_argument, "--previous and --environment need --baseline FILE");
  }

  VerifyReport report;
  report.manifest_path = mf.path;
  report.manifest_sha256 = mf.sha256;
  report.run_id = mf.run_id;
  report.manifest_status = mf.manifest.status;
  report.verified_at = base::rfc3339_utc(clock.now_ns());
  if (env != nullptr) {
    BaselineUse use{base::absolute_path(options.baseline_path), env->name, std::nullopt, std::nullopt};
    if (previous) {
      use.previous_manifest = previous->path;
      use.previous_manifest_sha256 = previous->sha256;
    }
    report.baseline = std::move(use);
  }

  // 2. The manifest itself: only a complete run is something to cut over on.
  if (mf.manifest.status != manifest::k_status_complete) {
    report.findings.push_back(finding(FindingCode::manifest_incomplete, "",
                                      "manifest status is '" + mf.manifest.status +
                                          "', not 'complete': the backfill did not finish (roll back with `cutover "
                                          "rollback " +
                                          mf.path + "`, then run the backfill again)"));
  }

  // 3. Each store: paths, file, checksum, counts, backup.
  store::SpecRegistry registry = specs;
  for (const auto& s : mf.manifest.stores) {
    if (!registry.find(s.store) && !s.spec_source.empty() && s.spec_source != "built-in") {
      (void)registry.load_file(fs, s.spec_source);  // a failure leaves the kind unknown, reported per store
    }
  }
  if (options.progress) options.progress->begin(store_bytes(fs, mf.manifest));
  for (const auto& s : mf.manifest.stores) report.stores.push_back(verify_store(mf, s, registry, fs, options.progress));
  for (size_t i = 0; i < report.stores.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (report.stores[j].path != report.stores[i].path) continue;
      Finding f = finding(FindingCode::unsafe_path, report.stores[i].store,
                          "unsafe path: store path " + report.stores[i].path +
                              " appears twice in the manifest (rollback would refuse)");
      f.path = report.stores[i].path;
      report.stores[i].findings.push_back(std::move(f));
      break;
    }
  }

  // 4. The baseline.
  if (env != nullptr) check_baseline(*env, mf.manifest, previous ? &previous->manifest : nullptr, report);
  return report;
}

std::string to_json(const VerifyReport& report) {
  json::Document doc;
  std::vector<json::Node> stores;
  for (const StoreReport& s : report.stores) {
    json::Node backup = doc.make_object({
        {doc.make_string("path"), optional_string(doc, s.backup_path)},
        {doc.make_string("status"), doc.make_string(backup_status_name(s.backup))},
        {doc.make_string("sha256"), optional_string(doc, s.backup_sha256)},
    });
    stores.push_back(doc.make_object({
        {doc.make_string("store"), doc.make_string(s.store)},
        {doc.make_string("path"), doc.make_string(s.path)},
        {doc.make_string("ok"), json::Node::boolean(s.ok())},
        {doc.make_string("existed"), json::Node::boolean(s.existed)},
        {doc.make_string("expected_sha256"), doc.make_string(s.expected_sha256)},
        {doc.make_string("actual_sha256"), optional_string(doc, s.actual_sha256)},
        {doc.make_string("backup"), backup},
        {doc.make_string("counts"), counts_json(doc, s.counts)},
        {doc.make_string("recounted"), counts_json(doc, s.recounted)},
        {doc.make_string("recount_method"), doc.make_string(s.recount_method)},
        {doc.make_string("findings"), findings_json(doc, s.findings)},
    }));
  }
  json::Node baseline = json::Node::null();
  if (report.baseline) {
    baseline = doc.make_object({
        {doc.make_string("path"), doc.make_string(report.baseline->path)},
        {doc.make_string("environment"), doc.make_string(report.baseline->environment)},
        {doc.make_string("previous_manifest"), optional_string(doc, report.baseline->previous_manifest)},
        {doc.make_string("previous_manifest_sha256"), optional_string(doc, report.baseline->previous_manifest_sha256)},
    });
  }
  json::Node root = doc.make_object({
      {doc.make_string("schema"), doc.make_string(report.schema)},
      {doc.make_string("ok"), json::Node::boolean(report.ok())},
      {doc.make_string("finding_count"), json::Node::u64(report.finding_count())},
      {doc.make_string("manifest"), doc.make_object({
                                        {doc.make_string("path"), doc.make_string(report.manifest_path)},
                                        {doc.make_string("sha256"), doc.make_string(report.manifest_sha256)},
                                        {doc.make_string("run_id"), doc.make_string(report.run_id)},
                                        {doc.make_string("status"), doc.make_string(report.manifest_status)},
                                    })},
      {doc.make_string("verified_at"), doc.make_string(report.verified_at)},
      {doc.make_string("baseline"), baseline},
      {doc.make_string("stores"), doc.make_array(stores)},
      {doc.make_string("findings"), findings_json(doc, report.findings)},
  });
  return json::to_canonical_string(root);
}

std::vector<std::string> human_lines(const VerifyReport& report) {
  std::vector<std::string> lines;
  for (const Finding& f : report.findings) {
    lines.push_back("error: [" + (f.store.empty() ? std::string("manifest") : f.store) + "] " + f.message);
  }
  size_t failing = 0;
  for (const StoreReport& s : report.stores) {
    if (s.ok()) {
      lines.push_back("ok: [" + s.store + "] " + s.path);
      continue;
    }
    ++failing;
    for (const Finding& f : s.findings) lines.push_back("error: [" + s.store + "] " + f.message);
  }
  std::string n = std::to_string(report.stores.size());
  std::string stores = n + " store" + (report.stores.size() == 1 ? "" : "s");
  if (report.ok()) {
    std::string what = "checksums, counts and backups";
    if (report.baseline) what = "checksums, counts, backups and baseline " + report.baseline->environment;
    lines.push_back("verify: ok: " + stores + " verified (" + what + ") against " + report.manifest_path);
  } else {
    size_t k = report.finding_count();
    lines.push_back("verify: FAILED: " + std::to_string(k) + " finding" + (k == 1 ? "" : "s") + " in " +
                    std::to_string(failing) + " of " + stores + (report.findings.empty() ? "" : " and the manifest") +
                    " (" + report.manifest_path + ")");
  }
  return lines;
}

}  // namespace cutover::verify
