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
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_ns = 0;  // last change of the contents
  int64_t ctime_ns = 0;  // last change of the contents or the inode (links, mode, owner)
};

// An open file kept to ask later what became of it (fstat), even once
// another file has been renamed over its path: backfill holds each store it
// read, so a write into it after the read is seen (see backfill.cc).
class HeldFile {
 public:
  virtual ~HeldFile() = default;
  virtual Result<FileInfo> stat() = 0;
  // Its whole contents now (what a write into it after the hold left there).
  virtual Result<Buffer> read_all() = 0;
};

// A file being written. sync() makes the bytes durable. What append() took
// is readable through the file's path at once, except in a bulk file
// (create_bulk_file), which may hold a few MiB until sync().
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status append(std::string_view data) = 0;
  virtual Status sync() = 0;   // flush and fsync
  virtual Status close() = 0;  // idempotent
};

// A file being read front to back, in pieces (for files too large to hold
// in memory at once, e.g. when hashing a store of several gigabytes).
class ReadableFile {
 public:
  virtual ~ReadableFile() = default;
  // Reads up to `size` bytes into `out`; returns how many, 0 at the end.
  virtual Result<size_t> read(char* out, size_t size) = 0;
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
  // Reads a whole regular file. A FIFO, socket or device is refused at once
  // (invalid_argument; it is never waited on), as is a folder.
  virtual Result<Buffer> read_file(const std::string& path) = 0;
  // Like read_file, for cutover's own files (ledger, state file): a symbolic
  // link at `path` is refused (permission_denied) rather than followed. The
  // default checks stat() first, so wrappers need not override it.
  virtual Result<Buffer> read_file_no_follow(const std::string& path);
  // Creates `path` for writing as a new, empty file whose permission bits are
  // `mode` from the first byte (open(2)'s mode: the umask may take bits away,
  // never add them). A regular file already at `path` is replaced by the new
  // one (never truncated and reused: it may carry looser permissions, or be
  // held open by a reader). Never writes through a symlink at `path`
  // (permission_denied); create_bulk_file neither.
  virtual Result<std::unique_ptr<WritableFile>> create_file(const std::string& path, uint32_t mode = 0644) = 0;
  // Like create_file, for a large file written once from start to end (a
  // store, a backup): the real file system writes it with O_DIRECT where the
  // file system allows, which skips the page cache copy.
  virtual Result<std::unique_ptr<WritableFile>> create_bulk_file(const std::string& path, uint32_t mode = 0644) {
    return create_file(path, mode);
  }
  // Creates `path` exclusively, with `mode` as create_file (fails with
  // conflict if anything, a symlink included, is at `path`).
  virtual Result<std::unique_ptr<WritableFile>> create_new_file(const std::string& path, uint32_t mode = 0644) = 0;
  // Appends to `path` (created if missing, mode 0644), for logs; not synced.
  // Never through a symlink at `path`.
  virtual Status append_file(const std::string& path, std::string_view data);
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  virtual Status remove(const std::string& path) = 0;
  // Removes an empty folder (rmdir(2); `cutover prune` empties it first).
  // The default is the operating system's, so wrappers need not override it.
  virtual Status remove_empty_directory(const std::string& path);
  // Creates the folder and any missing parents; fsyncs each new folder's parent.
  virtual Status create_directories(const std::string& path) = 0;
  virtual Status sync_directory(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> list_directory(const std::string& path) = 0;
  // Takes an exclusive lock on `path` (a file, created if missing, or a
  // folder) without waiting; conflict if another process holds it. A lock
  // file is never opened through a symbolic link (permission_denied) and
  // must be a regular file (invalid_argument for a FIFO, socket or device).
  virtual Result<std::unique_ptr<Lock>> try_lock(const std::string& path) = 0;
  // The absolute path with every symlink resolved; not_found if missing.
  virtual Result<std::string> real_path(const std::string& path) = 0;
  // permission_denied unless this process may create files in `folder`.
  virtual Status check_writable(const std::string& folder) = 0;
  virtual Status set_mode(const std::string& path, uint32_t mode) = 0;
  // Gives `path` this owner and group (needs root unless they are already ours).
  virtual Status set_owner(const std::string& path, uint32_t uid, uint32_t gid) = 0;
  // Opens `path` for reading front to back; not_found if it is missing;
  // invalid_argument, at once, for anything but a regular file. The
  // default reads the whole file with read_file() and hands it out in pieces,
  // so a wrapper that injects faults into read_file() sees them here too;
  // RealFileSystem streams from the file without holding it in memory.
  virtual Result<std::unique_ptr<ReadableFile>> open_file(const std::string& path);
  // Opens `path` (a regular file; never a symlink, never blocking on a FIFO)
  // and keeps it open; not_found if it is missing. The default stats the
  // path each time, which is what a wrapper without an open file can do;
  // RealFileSystem keeps the descriptor and fstats it.
  virtual Result<std::unique_ptr<HeldFile>> hold_file(const std::string& path);
};

// The operating system's file system.
FileSystem& real_file_system();

// Writes `data` to `path` atomically: a temporary file beside it, fsync,
// rename over `path`, fsync of the folder. A reader sees old or new bytes.
// With `like`, the temporary file is created with like->mode (never more
// open than that, whatever the umask) and gets like->uid/gid and exactly
// like->mode before the rename (a restored store keeps its permissions and
// owner, and its bytes are never readable by more users than the store's).
Status write_file_atomic(FileSystem& fs, const std::string& path, std::string_view data,
                         const FileInfo* like = nullptr);

// Makes sure `dir` is a new or empty folder for a command to fill (it never
// writes over anything): creates it when missing, accepts it when it is an
// empty folder. Otherwise invalid_argument "<label> exists and is not a
// folder" or "<label> is not empty; <advice>". `allow_symlink`: whether a
// symlink to an empty folder will do.
Status prepare_empty_folder(FileSystem& fs, const std::string& dir, const std::string& label, const std::string& advice,
                            bool allow_symlink);

// Path helpers (pure string work, no I/O).
std::string parent_directory(const std::string& path);  // "." for a bare name
std::string file_name(const std::string& path);
std::string join_path(const std::string& folder, const std::string& name);
// An absolute, lexically normalised path ("." and ".." folded, no symlinks resolved).
std::string absolute_path(const std::string& path);

}  // namespace cutover::base
