// A manifest as verify and rollback read it from disk: the parsed model plus
// where it lives, the work folder it was written for, its run id, and the
// checks that keep a restore inside the folders the manifest names (SPEC §5:
// "a path outside the allowed roots is an error").
//
// The work folder is the manifest's work_dir field, or, for manifests of the
// reference tool that lack it, the folder two levels above the manifest file
// (WORK/manifests/<run>.json). The run id is the run_id field, or the file
// name without ".json", ".json.in-progress" or ".json.failed".
#pragma once

#include <string>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/manifest/manifest.h"

namespace cutover::manifest {

struct ManifestFile {
  Manifest manifest;
  std::string path;      // absolute path of the manifest file
  std::string sha256;    // of the manifest file's bytes
  std::string work_dir;  // absolute, normalised
  std::string run_id;
};

// Reads and parses a manifest. Errors: not_found or io_error when the file
// cannot be read; invalid_argument (every problem listed) when it is not a
// usable manifest: malformed JSON, wrong schema, missing fields, no stores,
// a work_dir or run id that is not a plain absolute path or name.
Result<ManifestFile> load_manifest_file(base::FileSystem& fs, const std::string& path);

// Whether the manifest may be trusted to say what to restore and from where
// (nothing is trusted by default): the folder that really holds the file,
// symlinks resolved, is the manifests/ folder of the manifest's own
// work_dir (resolved too); and the work folder, its manifests/ and
// backups/ folders and the manifest file are writable by nobody but their
// owner, who is this process's user or root (as ssh's StrictModes: a
// group- or world-writable folder, or one owned by another non-root user,
// lets someone else plant a manifest or a backup). One line per problem,
// naming the path and why; empty when trusted. verify and rollback refuse
// an untrusted manifest.
std::vector<std::string> trust_problems(base::FileSystem& fs, const ManifestFile& file);

// trust_problems as an error (conflict: refused for safety), or ok.
// `refusal` starts the message, e.g. "rollback refused, nothing was changed".
Status check_trusted(base::FileSystem& fs, const ManifestFile& file, const std::string& refusal);

// True for an absolute path with no "", "." or ".." component and no
// trailing slash: the form backfill records.
bool is_plain_absolute_path(const std::string& path);

// What makes a store's recorded path unsafe to write through: not a plain
// absolute path, a symbolic link, or not a regular file. Empty when it is
// safe (a missing file is safe: rollback may have nothing to do).
std::vector<std::string> store_path_problems(base::FileSystem& fs, const StoreRecord& store);

// What makes a store's backup unusable as a source: not a plain absolute
// path, outside WORK/backups/ (lexically or once symlinks are resolved), or a
// symbolic link. Empty when it is fine or the store has no backup. Whether
// the backup exists and hashes right is checked separately.
std::vector<std::string> backup_path_problems(base::FileSystem& fs, const ManifestFile& file, const StoreRecord& store);

// WORK/backups/<run>: where rollback keeps drifted and moved-aside stores.
std::string run_backup_dir(const ManifestFile& file);

}  // namespace cutover::manifest
