#include "cutover/server/audit_log.h"

#include <cerrno>
#include <cstring>
#include <mutex>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cutover::server {
namespace {

Error os_error(const std::string& what, int err) {
  ErrorCode code = (err == EACCES || err == EPERM || err == EROFS) ? ErrorCode::permission_denied : ErrorCode::io_error;
  return Error(code, what + ": " + std::strerror(err));
}

// Opens the audit log for appending: never through a symbolic link (the
// server would append to whatever file the link names), never blocking on
// a FIFO, and only if it is a regular file.
Result<int> open_log(const std::string& path, const std::string& what) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640);
  if (fd < 0 && errno == ELOOP) {
    return make_error(ErrorCode::permission_denied,
                      what + " " + path +
                          ": it is a symbolic link, and cutover does not follow links to its own "
                          "files: remove the link, put the real audit log there, and start again");
  }
  if (fd < 0) return tl::unexpected(os_error(what + " " + path, errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::invalid_argument, what + " " + path +
                                                       ": not a regular file (a FIFO, socket or device?); move it "
                                                       "away and start again");
  }
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path) {
  TRY_ASSIGN(int fd, open_log(path, "cannot open audit log"));
  return std::unique_ptr<AuditLog>(new AuditLog(fd, path));
}

AuditLog::~AuditLog() {
  if (dirty_.load()) ::fdatasync(fd_);
  ::close(fd_);
}

Status AuditLog::append(std::string_view line, bool sync) {
  std::shared_lock lock(fd_mutex_);
  std::string buf;
  buf.reserve(line.size() + 1);
  buf.append(line);
  buf.push_back('\n');
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::write(fd_, buf.data() + done, buf.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(os_error("cannot append to audit log " + path_, errno));
    }
    done += static_cast<size_t>(n);
  }
  if (!sync) {
    dirty_.store(true, std::memory_order_relaxed);
    return ok_status();
  }
  // Not through sync(): another thread may have taken the dirty flag and not
  // finished its fdatasync yet.
  if (::fdatasync(fd_) != 0) return tl::unexpected(os_error("cannot sync audit log " + path_, errno));
  return ok_status();
}

Status AuditLog::sync() {
  std::shared_lock lock(fd_mutex_);
  if (!dirty_.exchange(false)) return ok_status();
  if (::fdatasync(fd_) != 0) {
    dirty_.store(true);
    return tl::unexpected(os_error("cannot sync audit log " + path_, errno));
  }
  return ok_status();
}

Status AuditLog::reopen() {
  TRY_ASSIGN(int fd, open_log(path_, "cannot reopen audit log"));
  std::unique_lock lock(fd_mutex_);
  int old = fd_;
  fd_ = fd;
  dirty_.store(false);
  Status synced =
      ::fdatasync(old) == 0 ? ok_status() : tl::unexpected(os_error("cannot sync audit log " + path_, errno));
  ::close(old);
  return synced;
}

}  // namespace cutover::server
