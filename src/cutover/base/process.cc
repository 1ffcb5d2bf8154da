#include "cutover/base/process.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
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
    if (errno != EINTR)
      return make_error(ErrorCode::io_error, std::string("cannot wait for a child: ") + std::strerror(errno));
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
  if (log < 0)
    return make_error(ErrorCode::io_error, "cannot open log " + stderr_log_path + ": " + std::strerror(errno));
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
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0)
      return make_error(ErrorCode::io_error, "no line from the child within " + std::to_string(timeout_ms) + " ms");
    struct pollfd pfd {
      stdout_fd_, POLLIN, 0
    };
    int ready = ::poll(&pfd, 1, static_cast<int>(left));
    if (ready < 0 && errno != EINTR)
      return make_error(ErrorCode::io_error, std::string("poll: ") + std::strerror(errno));
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

namespace cutover::base {
namespace {

int64_t ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

// Keeps the end of a stream: at most `limit` bytes once trimmed.
void keep_tail(std::string& tail, std::string_view chunk, size_t limit) {
  tail.append(chunk);
  if (tail.size() > 2 * limit + 4096) tail.erase(0, tail.size() - limit);
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// A descriptor that becomes readable when the process exits (Linux 5.3+), or -1.
int open_pidfd(int pid) {
#ifdef SYS_pidfd_open
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    return static_cast<int>(fd);
  }
#endif
  return -1;
}

// Whether the child has exited, without reaping it (its process group id stays ours to kill).
bool has_exited(int pid) {
  siginfo_t info{};
  for (;;) {
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0) return info.si_pid == pid;
    if (errno != EINTR) return true;  // nothing to wait for: treat as gone
  }
}

// The three pipes of run_captured: the child's stdout and stderr, and the
// errno of a failed exec. [0] is the read end, [1] the write end.
struct CapturePipes {
  int out[2];
  int err[2];
  int report[2];
};

Result<CapturePipes> make_pipes() {
  CapturePipes p;
  if (::pipe2(p.out, O_CLOEXEC) != 0)
    return make_error(ErrorCode::io_error, std::string("cannot make a pipe: ") + std::strerror(errno));
  if (::pipe2(p.err, O_CLOEXEC) != 0) {
    ::close(p.out[0]);
    ::close(p.out[1]);
    return make_error(ErrorCode::io_error, std::string("cannot make a pipe: ") + std::strerror(errno));
  }
  if (::pipe2(p.report, O_CLOEXEC) != 0) {
    for (int fd : {p.out[0], p.out[1], p.err[0], p.err[1]}) ::close(fd);
    return make_error(ErrorCode::io_error, std::string("cannot make a pipe: ") + std::strerror(errno));
  }
  return p;
}

// In the child after fork: only async-signal-safe calls until exec. An exec
// failure's errno goes back through `report` (closed on a successful exec).
[[noreturn]] void exec_captured_child(const std::vector<char*>& args, const CapturePipes& p) {
  ::setpgid(0, 0);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // dup2 gives stdin a copy without the flag
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  ::dup2(p.out[1], STDOUT_FILENO);
  ::dup2(p.err[1], STDERR_FILENO);
  ::execv(args[0], args.data());
  int e = errno;
  (void)!::write(p.report[1], &e, sizeof e);
  ::_exit(127);
}

// In the parent after fork: closes the write ends and waits until the child
// has exec'ed (the report pipe closes) or failed to (its errno arrives: the
// child is reaped, the read ends closed, and the error names the program).
Status wait_for_exec(int pid, const CapturePipes& p, const std::string& program) {
  ::setpgid(pid, pid);  // as the child does: whichever runs first, the group exists before we may kill it
  ::close(p.out[1]);
  ::close(p.err[1]);
  ::close(p.report[1]);
  int exec_errno = 0;
  ssize_t got;
  do {
    got = ::read(p.report[0], &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  ::close(p.report[0]);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    ::close(p.out[0]);
    ::close(p.err[0]);
    (void)wait_for(pid);
    return make_error(ErrorCode::io_error, "cannot start " + program + ": " + std::strerror(exec_errno));
  }
  return {};
}

// Reads what is ready on stream `i` (0: stdout, 1: stderr) into the run;
// closes the descriptor at its end.
void read_stream(int& fd, int i, const CaptureOptions& options, CapturedRun& run) {
  char buf[16384];
  ssize_t r = ::read(fd, buf, sizeof buf);
  if (r < 0 && errno == EINTR) return;
  if (r <= 0) {
    close_fd(fd);
    return;
  }
  std::string_view chunk(buf, static_cast<size_t>(r));
  if (options.on_output) options.on_output(i + 1, chunk);
  if (i == 0) {
    run.stdout_bytes += chunk.size();
    keep_tail(run.stdout_tail, chunk, options.tail_bytes);
  } else {
    run.stderr_bytes += chunk.size();
    keep_tail(run.stderr_tail, chunk, options.tail_bytes);
  }
}

// Reads both streams until the program has exited and they have ended, or
// the deadline passes (the group is then killed: timed_out). A poll failure
// kills and reaps the child and is an io_error. Closes `fds`.
Status pump_output(int pid, int (&fds)[2], std::chrono::steady_clock::time_point start, const CaptureOptions& options,
                   CapturedRun& run) {
  int pidfd = open_pidfd(pid);
  auto deadline = start + std::chrono::milliseconds(options.timeout_ms);
  bool exited = false;
  for (;;) {
    if (!exited && has_exited(pid)) {
      exited = true;
      run.duration_ms = ms_since(start);
      ::kill(-pid, SIGKILL);  // what the program left running in its group
      close_fd(pidfd);
    }
    if (exited && fds[0] < 0 && fds[1] < 0) break;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      if (!exited) {
        run.timed_out = true;
        run.duration_ms = ms_since(start);
        ::kill(-pid, SIGKILL);
      }
      break;
    }
    struct pollfd pfds[3];
    int n = 0;
    int index[3];
    for (int i = 0; i < 2; ++i) {
      if (fds[i] >= 0) {
        pfds[n] = {fds[i], POLLIN, 0};
        index[n++] = i;
      }
    }
    if (pidfd >= 0) {
      pfds[n] = {pidfd, POLLIN, 0};
      index[n++] = 2;
    }
    // Without a pidfd, the exit is noticed by looking again every 50 ms.
    int wait_ms = static_cast<int>(std::min<int64_t>(left, (!exited && pidfd < 0) ? 50 : left));
    int ready = ::poll(pfds, static_cast<nfds_t>(n), wait_ms);
    if (ready < 0 && errno != EINTR) {
      ::kill(-pid, SIGKILL);
      for (int& fd : fds) close_fd(fd);
      close_fd(pidfd);
      (void)wait_for(pid);
      return make_error(ErrorCode::io_error, std::string("poll: ") + std::strerror(errno));
    }
    for (int k = 0; k < n && ready > 0; ++k) {
      if (index[k] == 2 || pfds[k].revents == 0) continue;
      read_stream(fds[index[k]], index[k], options, run);
    }
  }
  for (int& fd : fds) close_fd(fd);
  close_fd(pidfd);
  return {};
}

// Reaps the child; its exit status or signal into the run, the tails trimmed.
Status reap(int pid, const CaptureOptions& options, CapturedRun& run) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return make_error(ErrorCode::io_error, std::string("cannot wait for a child: ") + std::strerror(errno));
  }
  if (run.timed_out) {
    run.signal = SIGKILL;
  } else if (WIFEXITED(status)) {
    run.exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    run.signal = WTERMSIG(status);
  }
  for (std::string* tail : {&run.stdout_tail, &run.stderr_tail}) {
    if (tail->size() > options.tail_bytes) tail->erase(0, tail->size() - options.tail_bytes);
  }
  return {};
}

}  // namespace

std::string signal_name(int signal) {
  static const std::pair<int, const char*> k_names[] = {
      {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"},
      {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"},
      {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"}, {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
      {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},
  };
  for (const auto& [number, name] : k_names) {
    if (number == signal) return name;
  }
  return "SIG" + std::to_string(signal);
}

Result<CapturedRun> run_captured(const std::vector<std::string>& argv, const CaptureOptions& options) {
  if (argv.empty()) return make_error(ErrorCode::invalid_argument, "no program to run");
  TRY_ASSIGN(const CapturePipes pipes, make_pipes());
  auto args = c_argv(argv);
  auto start = std::chrono::steady_clock::now();
  int pid = ::fork();
  if (pid < 0) {
    for (int fd : {pipes.out[0], pipes.out[1], pipes.err[0], pipes.err[1], pipes.report[0], pipes.report[1]})
      ::close(fd);
    return make_error(ErrorCode::io_error, std::string("cannot fork: ") + std::strerror(errno));
  }
  if (pid == 0) exec_captured_child(args, pipes);
  TRY(wait_for_exec(pid, pipes, argv[0]));
  CapturedRun run;
  int fds[2] = {pipes.out[0], pipes.err[0]};
  TRY(pump_output(pid, fds, start, options, run));
  TRY(reap(pid, options, run));
  return run;
}

}  // namespace cutover::base
