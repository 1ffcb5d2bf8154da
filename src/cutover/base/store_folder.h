// The store-folder lock protocol and the temporary-file names that backfill
// and rollback share: one home, so the two commands cannot drift apart.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"

namespace cutover::base {

// The lock file in the work folder.
inline constexpr std::string_view k_work_lock_file = ".cutover.lock";

// The locks a command that writes stores holds until it is done: first the
// work folder's ".cutover.lock", then the folder of each store once (two
// paths to one folder, compared by device and inode, take one lock). Every
// lock is released when this is destroyed.
class StoreFolderLocks {
 public:
  // Locks WORK_DIR/.cutover.lock: conflict while another run holds it.
  Status lock_work_dir(FileSystem& fs, const std::string& work_dir);
  // Locks `folder` unless it is already held here. A missing folder is left
  // unlocked (the caller reports it with the store's name). A refused lock
  // gets "lock_context: " in front of its message; a failed stat does not.
  Status lock_folder(FileSystem& fs, const std::string& folder, std::string_view lock_context);

 private:
  std::vector<std::unique_ptr<Lock>> locks_;
  std::set<std::pair<uint64_t, uint64_t>> folders_;
};

// The temporary file of run `run_id` beside `store_path`:
// ".<file name>.cutover-<run_id><suffix>" in the store's folder. backfill
// writes the new contents to suffix ".tmp"; rollback stages a backup's
// copy in ".rollback.tmp".
std::string store_temp_path(const std::string& store_path, const std::string& run_id, std::string_view suffix);

// Whether `name`, a file in a store's folder, is backfill's temporary file
// (suffix ".tmp") of any run for the store named `store_file_name`.
bool is_store_temp_name(std::string_view name, std::string_view store_file_name);

}  // namespace cutover::base
