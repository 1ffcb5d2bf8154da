// The runs of a work folder as `cutover status` and `cutover prune` see them
// (docs/formats/manifest.md has the folder's layout):
//
//   manifests/<run>.json               complete
//   manifests/<run>.json.in-progress   in progress (killed, or still running), unless <run>.json exists
//   manifests/<run>.json.failed        failed part-way (its stores were restored)
//   reports/<run>-rollback*.json       with ok: true and that manifest's SHA-256: rolled back
//   backups/<run>/                     the run's backups (and rollback's saved copies)
//
// Reading never writes. What cannot be read is reported by name and never
// taken for "fine": a manifest that is not a usable manifest is a run in
// state `unreadable`; a rollback report that is not JSON is a problem of the
// folder (it might have been the one that says "rolled back").
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"

namespace cutover::manifest {

enum class RunState { complete, in_progress, failed, rolled_back, unreadable, backups_only };

// "complete", "in_progress", "failed", "rolled_back", "unreadable", "backups_only".
std::string_view run_state_name(RunState state);

// Whether a run did not finish: its stores may be half-migrated, and its
// backups are what rollback needs (in_progress, failed, unreadable: fail closed).
bool is_unfinished(RunState state);

struct RunInfo {
  std::string run_id;
  RunState state = RunState::unreadable;
  std::string manifest_path;    // the manifest that decides the state; "" for backups_only
  std::string manifest_sha256;  // of its bytes; "" when it could not be read
  int64_t manifest_mtime_ns = 0;
  size_t store_count = 0;       // from the manifest, 0 when unreadable
  std::string generated_at;     // from the manifest, "" when unreadable
  std::string rollback_report;  // the report that rolled it back, for rolled_back
  std::string backup_dir;       // WORK/backups/<run> (it may be missing)
  bool backups_present = false;
  uint64_t backup_bytes = 0;
  uint64_t backup_files = 0;
  int64_t backup_mtime_ns = 0;  // of the newest file there (or the folder)
  std::string problem;          // why unreadable, "" otherwise
};

struct WorkFolderRuns {
  std::string work_dir;  // absolute
  bool exists = false;
  std::vector<RunInfo> runs;          // oldest first (by run id: ids sort in time order)
  std::vector<std::string> problems;  // files that could not be checked, each named
};

// Lists the runs of `work_dir`. A missing folder (or a missing manifests/,
// backups/ or reports/) is not an error. Errors: io_error or
// permission_denied when a folder that exists cannot be listed.
Result<WorkFolderRuns> list_runs(base::FileSystem& fs, const std::string& work_dir);

// Whether a rollback report in WORK/reports/ says that this manifest (the
// same bytes) was rolled back to the end (ok: true). Reports that are not
// JSON are skipped here (backfill's guard: the run then still counts as not
// rolled back, which refuses); list_runs names them. Returns the report's path, or "".
Result<std::string> rollback_report_for(base::FileSystem& fs, const std::string& work_dir, const std::string& run_id,
                                        const std::string& manifest_path);

// --- prune (pure) -----------------------------------------------------------

struct PruneRule {
  size_t keep = 0;                       // never the newest `keep` runs
  std::optional<int64_t> older_than_ns;  // only runs whose newest file is older than this time
};

struct PruneDecision {
  std::string run_id;
  bool remove = false;
  std::string why;
};

// Which runs' backups to remove: only a run with backups present, not among
// the newest `keep` runs (of any state), not unfinished, older than the
// cut-off when one is given, complete or rolled back (a folder no manifest
// names is kept), and with a newer run that is complete and verified (its
// run id in `verified`). Every run with backups present gets a decision
// whose `why` completes "kept RUN: " or "removed RUN: ", in `runs` order.
// `runs` oldest first.
std::vector<PruneDecision> plan_prune(const std::vector<RunInfo>& runs, const std::set<std::string>& verified,
                                      const PruneRule& rule);

}  // namespace cutover::manifest
