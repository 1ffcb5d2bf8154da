#include "cutover/base/process.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cutover::base {
namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

int exit_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

Result<int> wait_for(int pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return make_error(ErrorCode::io_error, std::string("cannot wait for a child: ") + std::strerror(errno));
  }
  return exit_status(status);
}

// In the child after fork: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(const std::vector<char*>& argv, int out_fd, int err_fd) {
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  ::dup2(out_fd, STDOUT_FILENO);
  ::dup2(err_fd, STDERR_FILENO);
  ::execv(argv[0], argv.data());
  const char msg[] = "cannot start the program\n";
  (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
  ::_exit(127);
}

}  // namespace

Result<int> run_logged(const std::vector<std::string>& argv, const std::string& log_path) {
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return make_error(ErrorCode::io_error, "cannot open log " + log_path + ": " + std::strerror(errno));
  auto args = c_argv(argv);
  int pid = ::fork();
  if (pid < 0) {
    ::close(log);
    return make_error(ErrorCode::io_error, std::string("cannot fork: ") + std::strerror(errno));
  }
  if (pid == 0) exec_child(args, log, log);
  ::close(log);
  return wait_for(pid);
}

Result<Child> Child::spawn(const std::vector<std::string>& argv, const std::string& stderr_log_path) {
  int log = ::open(stderr_log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return make_error(ErrorCode::io_error, "cannot open log " + stderr_log_path + ": " + std::strerror(errno));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ::close(log);
    return make_error(ErrorCode::io_error, std::string("cannot make a pipe: ") + std::strerror(errno));
  }
  auto args = c_argv(argv);
  int pid = ::fork();
  if (pid < 0) {
    ::close(log);
    ::close(fds[0]);
    ::close(fds[1]);
    return make_error(ErrorCode::io_error, std::string("cannot fork: ") + std::strerror(errno));
  }
  if (pid == 0) exec_child(args, fds[1], log);
  ::close(log);
  ::close(fds[1]);
  return Child(pid, fds[0]);
}

Child::Child(Child&& other) noexcept
    : pid_(other.pid_), stdout_fd_(other.stdout_fd_), pending_(std::move(other.pending_)) {
  other.pid_ = -1;
  other.stdout_fd_ = -1;
}

Child::~Child() {
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    (void)wait_for(pid_);
  }
}

Result<std::string> Child::read_line(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    size_t nl = pending_.find('\n');
    if (nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return make_error(ErrorCode::io_error, "no line from the child within " + std::to_string(timeout_ms) + " ms");
    struct pollfd pfd {stdout_fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left));
    if (ready < 0 && errno != EINTR) return make_error(ErrorCode::io_error, std::string("poll: ") + std::strerror(errno));
    if (ready <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(ErrorCode::io_error, "the child closed its output (did it exit?)");
    pending_.append(buf, static_cast<size_t>(n));
  }
}

Result<int> Child::terminate() {
  if (pid_ <= 0) return make_error(ErrorCode::invalid_argument, "no child to terminate");
  ::kill(pid_, SIGTERM);
  auto status = wait_for(pid_);
  pid_ = -1;
  return status;
}

}  // namespace cutover::base
