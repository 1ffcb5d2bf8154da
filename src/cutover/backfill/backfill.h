// Backfill: migrate stores to the current schema with a manifest and raw
// backups (SPEC §3, the runbook's "Migrate" step).
//
// The protocol, in order (docs/formats/manifest.md has the full story):
//   1. lock the work folder and the folders of the stores;
//   2. plan: read, parse, migrate and count every store in memory; any
//      problem in any store refuses the whole run, and nothing is written;
//   3. write and fsync the backups (raw bytes) while the new contents of the
//      changed stores are written and fsynced to temporary files beside them;
//   4. write the in-progress manifest (manifests/<run>.json.in-progress),
//      which names every backup and every before/after checksum;
//   5. rename each temporary file over its store and fsync the folder;
//   6. write the final manifest (manifests/<run>.json) and drop the
//      in-progress one.
// Before step 1's plan, a run that did not finish in the same work folder
// (an in-progress or failed manifest that no rollback report covers)
// refuses the run. In step 5 each store is replaced only while its path
// still names the file that was read, unchanged (device, inode, size, mtime,
// ctime), and is checked again after the rename; a store that changed
// undoes the run like a failed rename. A store whose folder is missing is
// created with its folder (as the reference did), just before step 3.
// A failure in step 5 restores the stores already replaced and says so. A
// crash leaves every store either as it was or fully migrated, and the
// in-progress manifest tells rollback which.
//
// Idempotent: an unchanged store (its canonical migrated form is byte-for-byte
// its current content) is not rewritten and is recorded with changed: false.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/base/progress.h"
#include "cutover/manifest/manifest.h"
#include "cutover/store/counts.h"
#include "cutover/store/store_spec.h"

namespace cutover::backfill {

struct StoreTarget {
  std::string kind;  // a store kind known to the registry
  std::string path;
};

struct BackfillOptions {
  std::vector<StoreTarget> stores;
  std::string work_dir;
  // Reproduce the reference tool: replace a non-object root or wrong-typed
  // key with an empty value (after the backup) instead of refusing.
  bool allow_destructive_reset = false;
  // Told the total size of the stores once they are locked, then how far
  // the run has got in those bytes: a store counts a quarter when read, a
  // quarter when parsed and migrated, and half as its new file is written
  // (as its backup is, for an unchanged store). Not owned; may be null.
  base::Progress* progress = nullptr;
};

struct BackfillResult {
  manifest::Manifest manifest;
  std::string manifest_path;
  std::string backup_dir;
  std::vector<std::string> created_folders;  // store folders this run created, parents first
};

// Runs the protocol above. Errors: invalid_argument (bad store, spec or
// option; nothing written), conflict (another run holds a lock; an
// unfinished run in the work folder was not rolled back; a store changed
// while the run read or replaced it, and what the run replaced was undone), io_error or
// permission_denied (with the restore outcome in the message when stores had
// already been replaced).
Result<BackfillResult> run_backfill(const BackfillOptions& options, const store::SpecRegistry& specs,
                                    base::FileSystem& fs, base::Clock& clock);

// The migrated shape of one store, computed in memory by the very code of
// step 2 (parse, the spec's operations, canonical form) without touching the
// disk: `expand check` gives it to the new release's reader. `current` is the
// store's bytes, or nullopt for a missing store (migrated from {}). Errors:
// invalid_argument, as backfill would refuse the store (named by `label`).
struct MigratedForm {
  std::string bytes;     // what backfill would write
  bool changed = false;  // differs from `current` (always true for a missing store)
  std::vector<std::string> destructive_resets;
  store::Counts counts;
};
Result<MigratedForm> migrated_form(std::optional<std::string_view> current, const store::StoreSpec& spec,
                                   bool allow_destructive_reset, const std::string& label);

// The run id for a new run: the UTC second of `now`, or one second past the
// newest run already in the work folder, so names never collide and the newest
// manifest sorts last. `existing` are names found in manifests/ and backups/.
std::string next_run_id(int64_t now_unix_seconds, const std::vector<std::string>& existing);

}  // namespace cutover::backfill
