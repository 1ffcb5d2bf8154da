#include "cutover/manifest/runs.h"

#include <algorithm>
#include <map>
#include <utility>

#include "cutover/hash/sha256.h"
#include "cutover/json/parser.h"
#include "cutover/manifest/manifest.h"

namespace cutover::manifest {
namespace {

constexpr std::string_view k_complete = ".json";
constexpr std::string_view k_in_progress = ".json.in-progress";
constexpr std::string_view k_failed = ".json.failed";

// A rollback report's claim: this manifest (file name, SHA-256) was rolled back to the end.
struct RolledBack {
  std::string manifest_name;
  std::string manifest_sha256;
  std::string report_path;
};

// Reads one rollback report. nullopt when it does not claim a finished
// rollback (ok: false, or fields missing); an error when it is not JSON.
Result<std::optional<RolledBack>> read_rollback_report(base::FileSystem& fs, const std::string& path) {
  TRY_ASSIGN(base::Buffer bytes, fs.read_file(path));
  auto doc = json::parse(bytes.view());
  if (!doc) return make_error(ErrorCode::corruption, path + ": not JSON: " + doc.error().message());
  if (!doc->root().is_object()) return make_error(ErrorCode::corruption, path + ": not a JSON object");
  const json::Node* ok = doc->root().find("ok");
  const json::Node* manifest = doc->root().find("manifest");
  if (ok == nullptr || !ok->is_bool() || !ok->as_bool() || manifest == nullptr || !manifest->is_object()) {
    return std::optional<RolledBack>();
  }
  const json::Node* manifest_path = manifest->find("path");
  const json::Node* sha = manifest->find("sha256");
  if (manifest_path == nullptr || !manifest_path->is_string() || sha == nullptr || !sha->is_string()) {
    return std::optional<RolledBack>();
  }
  return std::optional<RolledBack>(
      RolledBack{base::file_name(std::string(manifest_path->as_string())), std::string(sha->as_string()), path});
}

Result<std::vector<std::string>> list_if_present(base::FileSystem& fs, const std::string& dir) {
  TRY_ASSIGN(base::FileInfo info, fs.stat(dir));
  if (!info.exists) return std::vector<std::string>();
  if (!info.is_directory) return make_error(ErrorCode::corruption, dir + " is not a folder");
  TRY_ASSIGN(auto names, fs.list_directory(dir));
  std::sort(names.begin(), names.end());
  return names;
}

// Sums the sizes of the files under `dir` (folders inside it too).
Status measure_backups(base::FileSystem& fs, const std::string& dir, RunInfo& run, int depth) {
  TRY_ASSIGN(auto names, fs.list_directory(dir));
  for (const auto& name : names) {
    std::string path = base::join_path(dir, name);
    TRY_ASSIGN(base::FileInfo info, fs.stat(path));
    if (info.is_directory && !info.is_symlink && depth < 4) {
      TRY(measure_backups(fs, path, run, depth + 1));
      continue;
    }
    run.backup_bytes += info.is_symlink ? 0 : info.size;
    run.backup_files += 1;
    run.backup_mtime_ns = std::max(run.backup_mtime_ns, info.mtime_ns);
  }
  return {};
}

// The run's manifest: its SHA-256, mtime and what the manifest says.
void read_manifest(base::FileSystem& fs, RunInfo& run) {
  auto info = fs.stat(run.manifest_path);
  if (info) run.manifest_mtime_ns = info->mtime_ns;
  auto bytes = fs.read_file(run.manifest_path);
  if (!bytes) {
    run.state = RunState::unreadable;
    run.problem = bytes.error().message();
    return;
  }
  run.manifest_sha256 = hash::sha256_hex(bytes->view());
  auto parsed = parse_manifest(bytes->view(), run.manifest_path);
  if (!parsed) {
    run.state = RunState::unreadable;
    run.problem = parsed.error().message();
    return;
  }
  run.store_count = parsed->stores.size();
  run.generated_at = parsed->generated_at;
}

// One run a run id, from the names in manifests/: the complete manifest wins
// over an in-progress one (killed after the final manifest was written).
std::map<std::string, RunInfo> runs_from_manifests(const std::string& manifests_dir,
                                                   const std::vector<std::string>& names) {
  std::map<std::string, RunInfo> runs;
  auto consider = [&](const std::string& name, std::string_view suffix, RunState state) {
    if (!name.ends_with(suffix) || name.size() == suffix.size()) return;
    std::string id = name.substr(0, name.size() - suffix.size());
    auto [it, fresh] = runs.try_emplace(id);
    if (!fresh && it->second.state == RunState::complete) return;
    it->second.run_id = id;
    it->second.state = state;
    it->second.manifest_path = base::join_path(manifests_dir, name);
  };
  for (const auto& name : names) consider(name, k_in_progress, RunState::in_progress);
  for (const auto& name : names) consider(name, k_failed, RunState::failed);
  for (const auto& name : names) consider(name, k_complete, RunState::complete);
  return runs;
}

}  // namespace

std::string_view run_state_name(RunState state) {
  switch (state) {
    case RunState::complete:
      return "complete";
    case RunState::in_progress:
      return "in_progress";
    case RunState::failed:
      return "failed";
    case RunState::rolled_back:
      return "rolled_back";
    case RunState::unreadable:
      return "unreadable";
    case RunState::backups_only:
      return "backups_only";
  }
  return "unreadable";
}

bool is_unfinished(RunState state) {
  return state == RunState::in_progress || state == RunState::failed || state == RunState::unreadable;
}

Result<std::string> rollback_report_for(base::FileSystem& fs, const std::string& work_dir, const std::string& run_id,
                                        const std::string& manifest_path) {
  std::string reports_dir = base::join_path(work_dir, "reports");
  TRY_ASSIGN(auto names, list_if_present(fs, reports_dir));
  std::optional<std::string> manifest_sha256;
  for (const auto& name : names) {
    if (!name.starts_with(run_id + "-rollback") || !name.ends_with(".json")) continue;
    auto report = read_rollback_report(fs, base::join_path(reports_dir, name));
    if (!report || !*report) continue;
    if ((*report)->manifest_name != base::file_name(manifest_path)) continue;
    if (!manifest_sha256) {
      TRY_ASSIGN(base::Buffer manifest_bytes, fs.read_file(manifest_path));
      manifest_sha256 = hash::sha256_hex(manifest_bytes.view());
    }
    if ((*report)->manifest_sha256 == *manifest_sha256) return (*report)->report_path;
  }
  return std::string();
}

Result<WorkFolderRuns> list_runs(base::FileSystem& fs, const std::string& work_dir) {
  WorkFolderRuns out;
  out.work_dir = base::absolute_path(work_dir);
  TRY_ASSIGN(base::FileInfo info, fs.stat(out.work_dir));
  out.exists = info.exists;
  if (!info.exists) return out;
  std::string manifests_dir = base::join_path(out.work_dir, "manifests");
  std::string backups_dir = base::join_path(out.work_dir, "backups");
  std::string reports_dir = base::join_path(out.work_dir, "reports");
  TRY_ASSIGN(auto manifest_names, list_if_present(fs, manifests_dir));
  TRY_ASSIGN(auto backup_names, list_if_present(fs, backups_dir));
  TRY_ASSIGN(auto report_names, list_if_present(fs, reports_dir));

  std::vector<RolledBack> rolled_back;
  for (const auto& name : report_names) {
    if (name.find("-rollback") == std::string::npos || !name.ends_with(".json")) continue;
    auto report = read_rollback_report(fs, base::join_path(reports_dir, name));
    if (!report) {
      out.problems.push_back("could not check " + report.error().message());
    } else if (*report) {
      rolled_back.push_back(**report);
    }
  }
  auto runs = runs_from_manifests(manifests_dir, manifest_names);
  for (const auto& name : backup_names) {
    auto [it, fresh] = runs.try_emplace(name);
    if (fresh) {
      it->second.run_id = name;
      it->second.state = RunState::backups_only;
    }
  }
  for (auto& [id, run] : runs) {
    run.backup_dir = base::join_path(backups_dir, id);
    if (run.state != RunState::backups_only) read_manifest(fs, run);
    for (const auto& r : rolled_back) {
      if (run.state != RunState::unreadable && r.manifest_name == base::file_name(run.manifest_path) &&
          r.manifest_sha256 == run.manifest_sha256) {
        run.state = RunState::rolled_back;
        run.rollback_report = r.report_path;
      }
    }
    TRY_ASSIGN(base::FileInfo backup, fs.stat(run.backup_dir));
    run.backups_present = backup.exists && backup.is_directory;
    if (run.backups_present) {
      run.backup_mtime_ns = backup.mtime_ns;
      TRY_CTX(measure_backups(fs, run.backup_dir, run, 0), "measuring " + run.backup_dir);
    }
    out.runs.push_back(std::move(run));
  }
  return out;
}

std::vector<PruneDecision> plan_prune(const std::vector<RunInfo>& runs, const std::set<std::string>& verified,
                                      const PruneRule& rule) {
  std::vector<PruneDecision> out;
  // The newest complete, verified run at or after each position.
  std::vector<std::string> newer_verified(runs.size() + 1);
  for (size_t i = runs.size(); i-- > 0;) {
    bool good = runs[i].state == RunState::complete && verified.contains(runs[i].run_id);
    newer_verified[i] = good ? runs[i].run_id : newer_verified[i + 1];
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunInfo& run = runs[i];
    if (!run.backups_present) continue;
    PruneDecision d{run.run_id, false, ""};
    int64_t newest = std::max(run.backup_mtime_ns, run.manifest_mtime_ns);
    if (runs.size() - i <= rule.keep) {
      d.why = "one of the newest " + std::to_string(rule.keep) + " runs (--keep)";
    } else if (is_unfinished(run.state)) {
      d.why = "the run is " + std::string(run_state_name(run.state)) + ": `cutover rollback` needs its backups";
    } else if (run.state != RunState::complete && run.state != RunState::rolled_back) {
      d.why = "no manifest names these backups: nothing says what they are";
    } else if (rule.older_than_ns && newest >= *rule.older_than_ns) {
      d.why = "not older than --older-than";
    } else if (newer_verified[i + 1].empty()) {
      d.why = "no newer run is complete and verified (a passing verify report for its manifest)";
    } else {
      d.remove = true;
      d.why = "run " + newer_verified[i + 1] + " is newer, complete and verified";
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace cutover::manifest
