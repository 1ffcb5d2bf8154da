#include "cutover/backfill/unfinished_runs.h"

#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "cutover/manifest/manifest.h"
#include "cutover/manifest/runs.h"

namespace cutover::backfill {
namespace {

// A path as one shell word: as it is when that is safe, else single-quoted.
std::string shell_word(const std::string& path) {
  bool plain = !path.empty();
  for (char c : path) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("/._-+:,=@%").find(c) != std::string_view::npos;
    plain = plain && ok;
  }
  if (plain) return path;
  std::string out = "'";
  for (char c : path) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Whether a rollback report in WORK/reports/ says that this manifest (the
// same bytes) was rolled back to the end (ok: true).
Result<bool> rolled_back(base::FileSystem& fs, const std::string& work_dir, const std::string& run_id,
                         const std::string& manifest_path) {
  TRY_ASSIGN(std::string report, manifest::rollback_report_for(fs, work_dir, run_id, manifest_path));
  return !report.empty();
}

}  // namespace

// A run that did not finish over this store, from another work folder: the
// marker beside the store (manifest::unfinished_run_marker_path) names its
// in-progress manifest. A marker whose run completed, was undone or rolled
// back, or that names this work folder (check_no_unfinished_run has judged
// that one) is stale and removed, under the store-folder lock.
Status check_run_marker(base::FileSystem& fs, const std::string& store_path, const std::string& work_dir,
                        const std::string& label) {
  std::string marker = manifest::unfinished_run_marker_path(store_path);
  TRY_ASSIGN(base::FileInfo info, fs.stat(marker));
  if (!info.exists) return {};
  std::string named;
  if (info.is_regular) {
    TRY_ASSIGN(base::Buffer bytes, fs.read_file(marker));
    named = std::string(bytes.view().substr(0, bytes.view().find('\n')));
  }
  constexpr std::string_view k_suffix = ".json.in-progress";
  bool stale = !named.ends_with(k_suffix) || named.front() != '/';
  std::string run_work_dir;
  if (!stale) {
    std::string manifests_dir = base::parent_directory(named);
    run_work_dir = base::parent_directory(manifests_dir);
    std::string name = base::file_name(named);
    std::string run_id = name.substr(0, name.size() - k_suffix.size());
    TRY_ASSIGN(base::FileInfo in_progress, fs.stat(named));
    TRY_ASSIGN(base::FileInfo complete, fs.stat(base::join_path(manifests_dir, run_id + ".json")));
    stale = run_work_dir == work_dir || !in_progress.exists || complete.exists;
    if (!stale) {
      TRY_ASSIGN(stale, rolled_back(fs, run_work_dir, run_id, named));
    }
  }
  if (stale) {
    if (info.is_regular) (void)fs.remove(marker);
    return {};
  }
  return make_error(ErrorCode::conflict,
                    label + ": a backfill run from work folder " + run_work_dir +
                        " did not finish over this store, "
                        "which may be half-migrated; a new run would record that as its before-state. Roll it back "
                        "first: cutover rollback " +
                        shell_word(named));
}

// A run killed after its in-progress manifest appeared, or one that failed
// part-way, leaves manifests/<run>.json.in-progress or .json.failed. Until it
// is rolled back, its stores may be half-migrated, and a new run would record
// that as their before-state: refuse, naming the rollback to run.
Status check_no_unfinished_run(base::FileSystem& fs, const std::string& work_dir) {
  std::string manifests_dir = base::join_path(work_dir, "manifests");
  TRY_ASSIGN(base::FileInfo info, fs.stat(manifests_dir));
  if (!info.exists) return {};
  TRY_ASSIGN(auto names, fs.list_directory(manifests_dir));
  std::set<std::string> all(names.begin(), names.end());
  std::string refusals;
  for (const auto& name : all) {
    std::string_view suffix;
    for (std::string_view s : {std::string_view(".json.in-progress"), std::string_view(".json.failed")}) {
      if (name.ends_with(s)) suffix = s;
    }
    if (suffix.empty()) continue;
    std::string run_id = name.substr(0, name.size() - suffix.size());
    bool in_progress = suffix == ".json.in-progress";
    // Killed after its final manifest was written: the run completed.
    if (in_progress && all.contains(run_id + ".json")) continue;
    std::string path = base::join_path(manifests_dir, name);
    TRY_ASSIGN_CTX(bool done, rolled_back(fs, work_dir, run_id, path), "checking whether " + path + " was rolled back");
    if (done) continue;
    refusals +=
        std::string(refusals.empty() ? "" : "\n") + "  " + path + " (" +
        (in_progress ? "a run that did not finish: its stores may be half-migrated" : "a run that failed part-way") +
        "): cutover rollback " + shell_word(path);
  }
  if (refusals.empty()) return {};
  return make_error(
      ErrorCode::conflict,
      "work folder " + work_dir +
          " holds a backfill run that was not rolled back; a new run would "
          "record its stores' current state as their before-state. Roll it back first, then run backfill again:\n" +
          refusals + "\nnothing was changed");
}

}  // namespace cutover::backfill
