#include "cutover/base/store_folder.h"

namespace cutover::base {

namespace {

std::string temp_prefix(std::string_view store_file_name) { return "." + std::string(store_file_name) + ".cutover-"; }

}  // namespace

Status StoreFolderLocks::lock_work_dir(FileSystem& fs, const std::string& work_dir) {
  TRY_ASSIGN(auto lock, fs.try_lock(join_path(work_dir, std::string(k_work_lock_file))));
  locks_.push_back(std::move(lock));
  return ok_status();
}

Status StoreFolderLocks::lock_folder(FileSystem& fs, const std::string& folder, std::string_view lock_context) {
  TRY_ASSIGN(FileInfo info, fs.stat(folder));
  if (!info.exists || !folders_.insert({info.device, info.inode}).second) return ok_status();
  TRY_ASSIGN_CTX(auto lock, fs.try_lock(folder), lock_context);
  locks_.push_back(std::move(lock));
  return ok_status();
}

std::string store_temp_path(const std::string& store_path, const std::string& run_id, std::string_view suffix) {
  return join_path(parent_directory(store_path), temp_prefix(file_name(store_path)) + run_id + std::string(suffix));
}

bool is_store_temp_name(std::string_view name, std::string_view store_file_name) {
  std::string prefix = temp_prefix(store_file_name);
  return name.size() > 4 && name.substr(0, prefix.size()) == prefix && name.substr(name.size() - 4) == ".tmp";
}

}  // namespace cutover::base
