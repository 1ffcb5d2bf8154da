#include "cutover/base/file_system.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cutover::base {
namespace {

Error os_error(std::string_view what, const std::string& path, int err) {
  ErrorCode code = ErrorCode::io_error;
  if (err == ENOENT || err == ENOTDIR) code = ErrorCode::not_found;
  if (err == EACCES || err == EPERM || err == EROFS) code = ErrorCode::permission_denied;
  if (err == EEXIST) code = ErrorCode::conflict;
  return Error(code, std::string(what) + " " + path + ": " + std::strerror(err));
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// What a non-regular file is, in words.
std::string_view file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

// A FIFO, socket or device where cutover expects one of its files or a
// store: refused at once (a FIFO would block the open or the read forever,
// with a lock held).
Error not_regular_error(const std::string& path, mode_t mode) {
  if (S_ISDIR(mode)) return Error(ErrorCode::invalid_argument, path + " is a folder, not a file");
  return Error(ErrorCode::invalid_argument, path + " is " + std::string(file_kind(mode)) +
                                                ", not a regular file; cutover reads and writes only regular files "
                                                "there: find out who put it there, move it away and run again");
}

// O_NOFOLLOW refused `path` (ELOOP): a symlink where cutover keeps its own file.
Error symlink_error(const std::string& path) {
  return Error(ErrorCode::permission_denied,
               path +
                   " is a symbolic link; cutover does not follow links to its own files (lock, ledger, state, "
                   "audit log): remove the link, put the real file there, and run again");
}

// Opens `path` read-only without blocking (a FIFO without a writer would
// block open(2)) and checks that it is a regular file before any read.
// `extra` adds flags, e.g. O_NOFOLLOW.
Result<int> open_regular_for_read(const std::string& path, int extra) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | extra);
  if (fd < 0) {
    if (errno == ELOOP && (extra & O_NOFOLLOW) != 0) return tl::unexpected(symlink_error(path));
    return tl::unexpected(os_error("cannot open", path, errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return tl::unexpected(os_error("cannot stat", path, err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return tl::unexpected(not_regular_error(path, st.st_mode));
  }
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override { (void)close(); }

  Status append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return tl::unexpected(os_error("cannot write", path_, errno));
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
  }

  Status sync() override {
    if (::fsync(fd_) != 0) return tl::unexpected(os_error("cannot fsync", path_, errno));
    return {};
  }

  Status close() override {
    if (fd_ < 0) return {};
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return tl::unexpected(os_error("cannot close", path_, errno));
    return {};
  }

 private:
  std::string path_;
  int fd_;
};

class PosixReadableFile final : public ReadableFile {
 public:
  PosixReadableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixReadableFile() override { ::close(fd_); }

  Result<size_t> read(char* out, size_t size) override {
    prefetch(size);
    size_t done = 0;
    while (done < size) {  // fill the buffer: callers hash in large pieces
      ssize_t n = ::read(fd_, out + done, size - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return tl::unexpected(os_error("cannot read", path_, errno));
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    pos_ += done;
    return done;
  }

 private:
  // Keeps the disk busy while the caller works on what it read: the kernel's
  // own read-ahead is a few hundred KiB, so a caller that hashes between
  // reads would leave the disk idle most of the time. Asks for the next
  // k_prefetch_bytes ahead, a step at a time (a no-op for cached pages).
  static constexpr uint64_t k_prefetch_bytes = uint64_t{32} << 20;
  static constexpr uint64_t k_prefetch_step = uint64_t{8} << 20;
  void prefetch(size_t size) {
    while (prefetched_ < pos_ + size + k_prefetch_bytes) {
      (void)::posix_fadvise(fd_, static_cast<off_t>(prefetched_), static_cast<off_t>(k_prefetch_step),
                            POSIX_FADV_WILLNEED);
      prefetched_ += k_prefetch_step;
    }
  }

  std::string path_;
  int fd_;
  uint64_t pos_ = 0;
  uint64_t prefetched_ = 0;
};

// The default open_file(): the whole file read at once, handed out in pieces.
class BufferReadableFile final : public ReadableFile {
 public:
  explicit BufferReadableFile(Buffer buffer) : buffer_(std::move(buffer)) {}

  Result<size_t> read(char* out, size_t size) override {
    size_t n = std::min(size, buffer_.size() - pos_);
    if (n > 0) std::memcpy(out, buffer_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  Buffer buffer_;
  size_t pos_ = 0;
};

// Writes with O_DIRECT from aligned 4 MiB buffers. A full buffer goes to a
// writer thread, so the caller fills the next one while the disk takes the
// last (the write is then as fast as the slower of the two, not their sum).
// The tail is written padded to the block size and the file cut back to its
// true size before the fsync. If the file system refuses O_DIRECT part-way,
// the rest is written through the page cache. A write error is returned by
// the next append(), sync() or close().
class DirectWritableFile final : public WritableFile {
 public:
  DirectWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {
    for (auto& b : buffers_) b = static_cast<char*>(std::aligned_alloc(k_align, k_buffer_bytes));
    for (int i = k_buffers - 1; i >= 1; --i) free_.push_back(buffers_[i]);
    current_ = buffers_[0];
  }
  ~DirectWritableFile() override {
    (void)close();
    for (char* b : buffers_) std::free(b);
  }

  Status append(std::string_view data) override {
    while (!data.empty()) {
      size_t n = std::min(data.size(), k_buffer_bytes - used_);
      std::memcpy(current_ + used_, data.data(), n);
      used_ += n;
      data.remove_prefix(n);
      if (used_ == k_buffer_bytes) TRY(hand_off_full());
    }
    return {};
  }

  Status sync() override {
    TRY(drain());
    if (used_ > 0) {
      size_t padded = (used_ + k_align - 1) & ~(k_align - 1);
      std::memset(current_ + used_, 0, padded - used_);
      TRY(write_all(current_, padded, queued_));
      queued_ += used_;
      used_ = 0;
      if (::ftruncate(fd_, static_cast<off_t>(queued_)) != 0) {
        return tl::unexpected(os_error("cannot set the size of", path_, errno));
      }
    }
    if (::fsync(fd_) != 0) return tl::unexpected(os_error("cannot fsync", path_, errno));
    return {};
  }

  Status close() override {
    if (fd_ < 0) return {};
    Status st = used_ > 0 ? sync() : drain();
    stop_writer();
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0 && st) return tl::unexpected(os_error("cannot close", path_, errno));
    return st;
  }

 private:
  static constexpr size_t k_align = 4096;
  static constexpr size_t k_buffer_bytes = size_t{4} << 20;
  static constexpr int k_buffers = 3;

  struct Job {
    char* data;
    uint64_t offset;
  };

  // Queues the full current buffer for the writer and takes a free one.
  Status hand_off_full() {
    std::unique_lock lock(mutex_);
    if (!writer_.joinable()) writer_ = std::thread([this] { run_writer(); });
    jobs_.push_back({current_, queued_});
    queued_ += k_buffer_bytes;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !free_.empty(); });
    current_ = free_.back();
    free_.pop_back();
    used_ = 0;
    return status_;
  }

  // Waits until the writer has written every queued buffer.
  Status drain() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return jobs_.empty() && !busy_; });
    return status_;
  }

  void stop_writer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      changed_.notify_all();
    }
    if (writer_.joinable()) writer_.join();
  }

  void run_writer() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
      if (jobs_.empty()) return;
      Job job = jobs_.front();
      jobs_.pop_front();
      busy_ = true;
      bool ok = static_cast<bool>(status_);
      lock.unlock();
      Status st = ok ? write_all(job.data, k_buffer_bytes, job.offset) : Status{};
      lock.lock();
      busy_ = false;
      if (!st && status_) status_ = st;
      free_.push_back(job.data);
      changed_.notify_all();
    }
  }

  // Writes whole blocks at `offset`.
  Status write_all(const char* data, size_t size, uint64_t offset) {
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EINVAL && direct_.exchange(false)) {  // O_DIRECT refused: carry on through the page cache
          ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_DIRECT);
          continue;
        }
        return tl::unexpected(os_error("cannot write", path_, errno));
      }
      done += static_cast<size_t>(n);
    }
    return {};
  }

  std::string path_;
  int fd_;
  char* buffers_[k_buffers] = {};
  char* current_ = nullptr;
  size_t used_ = 0;
  uint64_t queued_ = 0;  // file offset of the current buffer's first byte
  std::atomic<bool> direct_{true};

  std::mutex mutex_;  // guards the members below
  std::condition_variable changed_;
  std::vector<char*> free_;
  std::deque<Job> jobs_;
  bool busy_ = false;
  bool stopping_ = false;
  Status status_;
  std::thread writer_;
};

class PosixLock final : public Lock {
 public:
  explicit PosixLock(int fd) : fd_(fd) {}
  ~PosixLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

// FileInfo from a stat(2) result (is_symlink is the caller's).
void fill_info(const struct stat& st, FileInfo& info) {
  info.exists = true;
  info.is_regular = S_ISREG(st.st_mode);
  info.is_directory = S_ISDIR(st.st_mode);
  info.size = static_cast<uint64_t>(st.st_size);
  info.device = static_cast<uint64_t>(st.st_dev);
  info.inode = static_cast<uint64_t>(st.st_ino);
  info.mode = static_cast<uint32_t>(st.st_mode & 07777);
  info.uid = static_cast<uint32_t>(st.st_uid);
  info.gid = static_cast<uint32_t>(st.st_gid);
  info.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  info.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
}

// hold_file() on the real file system: the descriptor, fstat on demand.
class PosixHeldFile final : public HeldFile {
 public:
  PosixHeldFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixHeldFile() override { ::close(fd_); }
  Result<FileInfo> stat() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return tl::unexpected(os_error("cannot stat", path_, errno));
    FileInfo info;
    fill_info(st, info);
    return info;
  }
  Result<Buffer> read_all() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return tl::unexpected(os_error("cannot stat", path_, errno));
    Buffer buffer(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < buffer.size()) {
      ssize_t n = ::pread(fd_, buffer.data() + done, buffer.size() - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return tl::unexpected(os_error("cannot read", path_, errno));
      if (n == 0) return make_error(ErrorCode::io_error, "cannot read " + path_ + ": it shrank while being read");
      done += static_cast<size_t>(n);
    }
    return buffer;
  }

 private:
  std::string path_;
  int fd_;
};

// The default hold_file(): no descriptor, so the path is stat()ed each time.
class PathHeldFile final : public HeldFile {
 public:
  PathHeldFile(FileSystem& fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  Result<FileInfo> stat() override { return fs_.stat(path_); }
  Result<Buffer> read_all() override { return fs_.read_file(path_); }

 private:
  FileSystem& fs_;
  std::string path_;
};

class RealFileSystem final : public FileSystem {
 public:
  Result<FileInfo> stat(const std::string& path) override {
    FileInfo info;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return info;
      return tl::unexpected(os_error("cannot stat", path, errno));
    }
    info.is_symlink = S_ISLNK(st.st_mode);
    if (info.is_symlink && ::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) {  // dangling link: the link exists, its target does not
        info.exists = true;
        return info;
      }
      return tl::unexpected(os_error("cannot stat", path, errno));
    }
    fill_info(st, info);
    return info;
  }

  Result<Buffer> read_file(const std::string& path) override { return read_regular(path, 0); }

  Result<Buffer> read_file_no_follow(const std::string& path) override { return read_regular(path, O_NOFOLLOW); }

  Result<Buffer> read_regular(const std::string& path, int extra) {
    TRY_ASSIGN(int fd, open_regular_for_read(path, extra));
    FdCloser closer(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return tl::unexpected(os_error("cannot stat", path, errno));
    Buffer buffer(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < buffer.size()) {
      ssize_t n = ::read(fd, buffer.data() + done, buffer.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return tl::unexpected(os_error("cannot read", path, errno));
      }
      if (n == 0) return make_error(ErrorCode::io_error, "cannot read " + path + ": file shrank while reading");
      done += static_cast<size_t>(n);
    }
    return buffer;
  }

  Result<std::unique_ptr<WritableFile>> create_file(const std::string& path, uint32_t mode) override {
    TRY_ASSIGN(int fd, open_fresh(path, O_WRONLY | O_CLOEXEC, mode));
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
  }

  Status append_file(const std::string& path, std::string_view data) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0 && errno == ELOOP) return tl::unexpected(symlink_error(path));
    if (fd < 0) return tl::unexpected(os_error("cannot open", path, errno));
    PosixWritableFile file(path, fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return tl::unexpected(os_error("cannot stat", path, errno));
    if (!S_ISREG(st.st_mode)) return tl::unexpected(not_regular_error(path, st.st_mode));
    TRY(file.append(data));
    return file.close();
  }

  Result<std::unique_ptr<WritableFile>> create_bulk_file(const std::string& path, uint32_t mode) override {
    bool einval = false;
    auto fd = open_fresh(path, O_WRONLY | O_CLOEXEC | O_DIRECT, mode, &einval);
    if (!fd && einval) return create_file(path, mode);  // no O_DIRECT on this file system
    if (!fd) return tl::unexpected(fd.error());
    return std::unique_ptr<WritableFile>(new DirectWritableFile(path, *fd));
  }

  Result<std::unique_ptr<WritableFile>> create_new_file(const std::string& path, uint32_t mode) override {
    // O_EXCL: nothing at `path`, not even a symlink, is opened.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
    if (fd < 0) return tl::unexpected(create_error(path, errno));
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
  }

  Status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return tl::unexpected(os_error("cannot rename", from + " to " + to, errno));
    }
    return {};
  }

  Status remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return tl::unexpected(os_error("cannot remove", path, errno));
    return {};
  }

  Status create_directories(const std::string& path) override {
    std::string abs = absolute_path(path);
    struct stat st {};
    if (::stat(abs.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return {};
      return make_error(ErrorCode::invalid_argument, abs + " exists and is not a folder");
    }
    std::string parent = parent_directory(abs);
    if (parent != abs) TRY(create_directories(parent));
    if (::mkdir(abs.c_str(), 0755) != 0 && errno != EEXIST) {
      return tl::unexpected(os_error("cannot create folder", abs, errno));
    }
    return sync_directory(parent);
  }

  Status sync_directory(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return tl::unexpected(os_error("cannot open folder", path, errno));
    FdCloser closer(fd);
    if (::fsync(fd) != 0) return tl::unexpected(os_error("cannot fsync folder", path, errno));
    return {};
  }

  Result<std::vector<std::string>> list_directory(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return tl::unexpected(os_error("cannot list", path, errno));
    std::vector<std::string> names;
    while (struct dirent* entry = ::readdir(dir)) {
      std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(dir);
    return names;
  }

  Result<std::unique_ptr<Lock>> try_lock(const std::string& path) override {
    // A folder (a store's folder, reached through links or not) is locked as
    // it is; a lock file is opened without following a link and without
    // blocking, and must be a regular file.
    struct stat st {};
    bool is_dir = ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    int fd = is_dir ? ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                    : ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0 && errno == ELOOP && !is_dir) return tl::unexpected(symlink_error(path));
    if (fd < 0) return tl::unexpected(os_error("cannot open lock", path, errno));
    if (!is_dir && (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
      mode_t kind = st.st_mode;
      ::close(fd);
      return tl::unexpected(not_regular_error(path, kind).with_context("lock file"));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return make_error(ErrorCode::conflict, path + " is locked by another cutover run; wait for it to finish");
      }
      return tl::unexpected(os_error("cannot lock", path, err));
    }
    return std::unique_ptr<Lock>(new PosixLock(fd));
  }

  Result<std::string> real_path(const std::string& path) override {
    char resolved[PATH_MAX];
    if (::realpath(path.c_str(), resolved) == nullptr) {
      return tl::unexpected(os_error("cannot resolve", path, errno));
    }
    return std::string(resolved);
  }

  Result<std::unique_ptr<ReadableFile>> open_file(const std::string& path) override {
    TRY_ASSIGN(int fd, open_regular_for_read(path, 0));
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return std::unique_ptr<ReadableFile>(new PosixReadableFile(path, fd));
  }

  Result<std::unique_ptr<HeldFile>> hold_file(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return tl::unexpected(os_error("cannot open", path, errno));
    return std::unique_ptr<HeldFile>(new PosixHeldFile(path, fd));
  }

  Status check_writable(const std::string& folder) override {
    if (::access(folder.c_str(), W_OK | X_OK) != 0) {
      return tl::unexpected(os_error("cannot write in folder", folder, errno));
    }
    return {};
  }

  Status set_mode(const std::string& path, uint32_t mode) override {
    if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
      return tl::unexpected(os_error("cannot set permissions of", path, errno));
    }
    return {};
  }

  Status set_owner(const std::string& path, uint32_t uid, uint32_t gid) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && st.st_uid == uid && st.st_gid == gid) return {};
    if (::chown(path.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0) {
      return tl::unexpected(os_error(
          "cannot give the store's owner " + std::to_string(uid) + ":" + std::to_string(gid) + " to", path, errno));
    }
    return {};
  }

 private:
  // A new file at `path` with `mode` from the start: O_EXCL, so that the
  // mode applies (open(2) keeps an existing file's mode) and nobody can hold
  // the file open from before. A regular file already there (a leftover
  // temporary file) is removed first; a symlink or special file is refused.
  // `einval`, if given, is set when open(2) said EINVAL (O_DIRECT refused).
  Result<int> open_fresh(const std::string& path, int flags, uint32_t mode, bool* einval = nullptr) {
    for (int attempt = 0;; ++attempt) {
      int fd = ::open(path.c_str(), flags | O_CREAT | O_EXCL | O_NOFOLLOW, static_cast<mode_t>(mode));
      if (fd >= 0) return fd;
      if (errno == EINVAL && einval != nullptr) *einval = true;
      if (errno != EEXIST || attempt > 0) return tl::unexpected(create_error(path, errno));
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;
        return tl::unexpected(os_error("cannot stat", path, errno));
      }
      if (S_ISLNK(st.st_mode)) return tl::unexpected(create_error(path, ELOOP));
      if (!S_ISREG(st.st_mode))
        return tl::unexpected(not_regular_error(path, st.st_mode).with_context("cannot create"));
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return tl::unexpected(os_error("cannot replace", path, errno));
    }
  }

  // O_NOFOLLOW: a symlink planted where we create a file (a temporary file
  // beside a store, say) would make us truncate and write its target.
  static Error create_error(const std::string& path, int err) {
    if (err == ELOOP) {
      return Error(ErrorCode::permission_denied, "cannot create " + path +
                                                     ": it is a symbolic link, and cutover does not write through one; "
                                                     "remove it and run again");
    }
    return os_error("cannot create", path, err);
  }
};

}  // namespace

Buffer::Buffer(size_t size) : data_(std::make_unique_for_overwrite<char[]>(size + 1)), size_(size) {}

Result<Buffer> FileSystem::read_file_no_follow(const std::string& path) {
  TRY_ASSIGN(FileInfo info, stat(path));
  if (info.is_symlink) return tl::unexpected(symlink_error(path));
  return read_file(path);
}

Result<std::unique_ptr<ReadableFile>> FileSystem::open_file(const std::string& path) {
  TRY_ASSIGN(Buffer buffer, read_file(path));
  return std::unique_ptr<ReadableFile>(new BufferReadableFile(std::move(buffer)));
}

Result<std::unique_ptr<HeldFile>> FileSystem::hold_file(const std::string& path) {
  TRY_ASSIGN(FileInfo info, stat(path));
  if (!info.exists) return make_error(ErrorCode::not_found, "cannot open " + path + ": no such file");
  return std::unique_ptr<HeldFile>(new PathHeldFile(*this, path));
}

FileSystem& real_file_system() {
  static RealFileSystem fs;
  return fs;
}

Status FileSystem::remove_empty_directory(const std::string& path) {
  if (::rmdir(path.c_str()) != 0) return tl::unexpected(os_error("cannot remove the folder", path, errno));
  return {};
}

Status FileSystem::append_file(const std::string& path, std::string_view data) {
  std::string text;
  TRY_ASSIGN(FileInfo info, stat(path));
  if (info.exists) {
    TRY_ASSIGN(Buffer old, read_file(path));
    text = std::string(old.view());
  }
  text += data;
  return write_file_atomic(*this, path, text);
}

Status write_file_atomic(FileSystem& fs, const std::string& path, std::string_view data, const FileInfo* like) {
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    TRY_ASSIGN(auto file, fs.create_file(tmp, like != nullptr ? like->mode & 0777 : 0644));
    Status st = file->append(data);
    if (st) st = file->sync();
    if (st) st = file->close();
    // The owner first: chown(2) may clear set-id bits that set_mode then restores.
    if (st && like != nullptr) st = fs.set_owner(tmp, like->uid, like->gid);
    if (st && like != nullptr) st = fs.set_mode(tmp, like->mode);
    if (!st) {
      (void)fs.remove(tmp);
      return st;
    }
  }
  if (Status st = fs.rename(tmp, path); !st) {
    (void)fs.remove(tmp);
    return st;
  }
  return fs.sync_directory(parent_directory(path));
}

Status prepare_empty_folder(FileSystem& fs, const std::string& dir, const std::string& label, const std::string& advice,
                            bool allow_symlink) {
  TRY_ASSIGN(FileInfo info, fs.stat(dir));
  if (!info.exists) return fs.create_directories(dir);
  if (!info.is_directory || (info.is_symlink && !allow_symlink)) {
    return make_error(ErrorCode::invalid_argument, label + " exists and is not a folder");
  }
  TRY_ASSIGN(auto names, fs.list_directory(dir));
  if (!names.empty()) return make_error(ErrorCode::invalid_argument, label + " is not empty; " + advice);
  return {};
}

std::string parent_directory(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string file_name(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string join_path(const std::string& folder, const std::string& name) {
  if (folder.empty()) return name;
  if (folder.back() == '/') return folder + name;
  return folder + "/" + name;
}

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  if (ec) p = path;
  std::string s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace cutover::base
