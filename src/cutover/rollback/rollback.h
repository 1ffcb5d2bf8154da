// Rollback: restore the before-state of every store from the manifest of a
// backfill (SPEC §5, the runbook's store-level rollback). Works from a
// complete manifest, from the in-progress manifest a crashed backfill left
// (manifests/<run>.json.in-progress), and from a failed one (.json.failed).
//
// The protocol, in order (docs/formats/rollback-report.md has the story):
//   1. read the manifest; refuse a malformed one, one with no stores, and any
//      path outside the folders it was written for: store paths must be plain
//      absolute paths (no "..") and not symbolic links; backups must lie in
//      WORK/backups/;
//   2. take the same locks as backfill: WORK/.cutover.lock, then each store's
//      folder, so rollback and backfill never run at once;
//   3. preflight, changing no store: hash every store (one thread) while the
//      backups of the stores that existed are copied to temporary files
//      beside them and fsynced (another thread), hashing as they go. Each
//      store is then
//        - at before_sha256 (or, created by the migration, absent): already
//          rolled back, left alone;
//        - at after_sha256: to be restored (or, created, moved aside);
//        - anything else: drifted, i.e. written since the migration. Refused
//          unless `force`;
//      and each needed backup must exist and hash to before_sha256. Any
//      problem refuses the whole rollback (every problem listed) and the
//      temporary files go;
//   4. act: with force, first save each drifted store's current bytes as
//      WORK/backups/<run>/<store>-drift-<time>-<sha12>.json (fsynced); remove
//      leftover temporary files of this run; then per store rename the
//      synced temporary file over the store and fsync the folder; a store
//      the migration created is moved (renamed, or copied and removed across
//      file systems) to WORK/backups/<run>/<store>-created-<sha12>.json, never
//      deleted;
//   5. prove it: hash every restored store again and compare with
//      before_sha256; a moved-aside store must be absent and its copy must
//      hash to what was moved;
//   6. write the report to WORK/reports/<run>-rollback.json (or -2, -3 ... when
//      an earlier rollback of the run left one).
// Rolling back twice is safe: the second run finds every store already at
// before_sha256 and says so.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/base/progress.h"

namespace cutover::rollback {

inline constexpr std::string_view k_report_schema = "cutover.rollback_report.v1";

struct RollbackOptions {
  std::string manifest_path;
  // Roll back drifted stores too, after saving their current bytes.
  bool force = false;
  // Told the total size of the backups to restore, then each piece of them
  // as preflight copies it beside its store (the bulk of the work: the
  // hashing of the stores runs beside it). Not owned; may be null.
  base::Progress* progress = nullptr;
};

enum class StoreAction {
  restored,             // was at after_sha256; restored from its backup
  restored_drifted,     // had been written since; bytes saved, then restored (force)
  moved_aside,          // created by the migration; moved into the backup folder
  moved_aside_drifted,  // created, and written since; moved aside (force)
  already_at_before,    // already at before_sha256, or created and absent
  failed,               // the act phase failed on this store (see error)
  not_reached,          // the act phase stopped before this store
};

std::string_view store_action_name(StoreAction action);

struct StoreOutcome {
  std::string store;
  std::string path;
  bool existed = false;
  bool changed = false;
  StoreAction action = StoreAction::not_reached;
  std::optional<std::string> before_sha256;  // the manifest's
  std::string after_sha256;                  // the manifest's
  std::optional<std::string> backup_path;
  std::optional<std::string> found_sha256;  // the store when the rollback began; nullopt: absent
  std::optional<std::string> final_sha256;  // the store at the end (see prove() in rollback.cc); nullopt: absent
  bool verified = false;                    // the end state is proven: final == before, or absent for a created store
  std::optional<std::string> saved_path;    // the drifted bytes, or the moved-aside store
  std::string error;
};

struct RollbackReport {
  std::string schema = std::string(k_report_schema);
  std::string manifest_path;
  std::string manifest_sha256;
  std::string run_id;
  std::string manifest_status;
  std::string work_dir;
  std::string rolled_back_at;  // RFC 3339 UTC
  bool force = false;
  std::vector<StoreOutcome> stores;
  std::vector<std::string> removed_temp_files;
  std::string report_path;       // where this report was written ("" if it could not be)
  std::optional<Error> failure;  // the act phase failed; stores say how far it got

  bool ok() const { return !failure.has_value(); }
};

// Runs the protocol above. Errors, with nothing changed: invalid_argument (a
// malformed manifest, no stores, a path outside the allowed roots),
// not_found (the manifest or work folder is missing), conflict (a lock is
// held, or stores have drifted and force is off; every such store named),
// corruption (a needed backup is missing or does not hash to before_sha256),
// io_error or permission_denied. Once stores are being changed, a failure
// is reported in the returned report (failure set, and the report written
// when possible); running rollback again finishes the job.
Result<RollbackReport> run_rollback(const RollbackOptions& options, base::FileSystem& fs, base::Clock& clock);

// Canonical JSON of the report (schema cutover.rollback_report.v1).
std::string to_json(const RollbackReport& report);

// One line per store, one per removed temporary file, and the verdict last.
std::vector<std::string> human_lines(const RollbackReport& report);

}  // namespace cutover::rollback
