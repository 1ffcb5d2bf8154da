// File system access behind one interface, so tests can inject faults (a
// failing write, a crash between two steps) without mocking the real thing.
// RealFileSystem is the only implementation the tool ships; every method is
// safe to call from several threads as long as they touch different files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"

namespace cutover::base {

// Bytes read from a file. Owns its memory; not zero-initialised past size().
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t size);
  const char* data() const { return data_.get(); }
  char* data() { return data_.get(); }
  size_t size() const { return size_; }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
};

struct FileInfo {
  bool exists = false;
  bool is_regular = false;
  bool is_directory = false;
  bool is_symlink = false;  // the path itself is a symbolic link
  uint64_t size = 0;
  uint64_t device = 0;
  uint64_t inode = 0;
  uint32_t mode = 0;  // permission bits
};

// A file being written. append() buffers; sync() makes the bytes durable.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status append(std::string_view data) = 0;
  virtual Status sync() = 0;   // flush and fsync
  virtual Status close() = 0;  // idempotent
};

// An exclusive advisory lock, released when destroyed.
class Lock {
 public:
  virtual ~Lock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Does not follow a symlink at the last component for is_symlink; the other
  // fields describe the target. A missing path is {exists = false}, not an error.
  virtual Result<FileInfo> stat(const std::string& path) = 0;
  virtual Result<Buffer> read_file(const std::string& path) = 0;
  // Creates (truncating) `path` for writing, mode 0644.
  virtual Result<std::unique_ptr<WritableFile>> create_file(const std::string& path) = 0;
  // Creates `path` exclusively (fails with conflict if it exists).
  virtual Result<std::unique_ptr<WritableFile>> create_new_file(const std::string& path) = 0;
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  virtual Status remove(const std::string& path) = 0;
  // Creates the folder and any missing parents; fsyncs each new folder's parent.
  virtual Status create_directories(const std::string& path) = 0;
  virtual Status sync_directory(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> list_directory(const std::string& path) = 0;
  // Takes an exclusive lock on `path` (a file, created if missing, or a
  // folder) without waiting; conflict if another process holds it.
  virtual Result<std::unique_ptr<Lock>> try_lock(const std::string& path) = 0;
  // The absolute path with every symlink resolved; not_found if missing.
  virtual Result<std::string> real_path(const std::string& path) = 0;
  // permission_denied unless this process may create files in `folder`.
  virtual Status check_writable(const std::string& folder) = 0;
  virtual Status set_mode(const std::string& path, uint32_t mode) = 0;
};

// The operating system's file system.
FileSystem& real_file_system();

// Writes `data` to `path` atomically: a temporary file beside it, fsync,
// rename over `path`, fsync of the folder. A reader sees old or new bytes.
Status write_file_atomic(FileSystem& fs, const std::string& path, std::string_view data);

// Path helpers (pure string work, no I/O).
std::string parent_directory(const std::string& path);  // "." for a bare name
std::string file_name(const std::string& path);
std::string join_path(const std::string& folder, const std::string& name);
// An absolute, lexically normalised path ("." and ".." folded, no symlinks resolved).
std::string absolute_path(const std::string& path);

}  // namespace cutover::base
