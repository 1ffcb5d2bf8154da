// Child processes, for the harness: run a command with its output in a log
// file, or start a server and read the line where it announces its address;
// for `expand check`: run a program with a timeout and its output captured.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"

namespace cutover::base {

// Runs argv (argv[0] is a path) with stdin from /dev/null and stdout and
// stderr appended to log_path; waits for it. Returns the exit status, or
// 128 + the signal number if a signal ended it.
Result<int> run_logged(const std::vector<std::string>& argv, const std::string& log_path);

// A running child whose stdout is a pipe to us; stderr goes to a log file.
// Destroying it kills the child (SIGKILL) if it still runs.
class Child {
 public:
  static Result<Child> spawn(const std::vector<std::string>& argv, const std::string& stderr_log_path);
  Child(Child&& other) noexcept;
  Child& operator=(Child&&) = delete;
  Child(const Child&) = delete;
  ~Child();

  // The next line of the child's stdout, without the newline. Fails with
  // io_error when `timeout_ms` passes first or the child closes its stdout.
  Result<std::string> read_line(int timeout_ms);
  // SIGTERM, then waits; returns the exit status (128 + signal if killed).
  Result<int> terminate();

 private:
  Child(int pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}
  int pid_;
  int stdout_fd_;
  std::string pending_;
};

struct CaptureOptions {
  int64_t timeout_ms = 60000;
  size_t tail_bytes = size_t{64} << 10;  // how much of each stream is kept (its end)
  // Called with every chunk of output as it arrives (stream 1: stdout, 2:
  // stderr), e.g. to hash the whole stream while only its tail is kept.
  std::function<void(int stream, std::string_view chunk)> on_output;
};

struct CapturedRun {
  std::optional<int> exit_status;  // when the program exited
  std::optional<int> signal;       // when a signal ended it (SIGKILL at the timeout)
  bool timed_out = false;
  int64_t duration_ms = 0;
  std::string stdout_tail;  // the last tail_bytes of each stream
  std::string stderr_tail;
  uint64_t stdout_bytes = 0;
  uint64_t stderr_bytes = 0;
};

// Runs argv (argv[0] a path: no shell, no PATH search) in a process group of
// its own, with stdin from /dev/null and stdout and stderr read through
// pipes. When the timeout passes, the whole group is killed (SIGKILL); when
// the program exits, whatever it left running in its group is killed too,
// and the pipes are read to their end (until the timeout at most). Errors:
// io_error when the program cannot be started (the message says why).
Result<CapturedRun> run_captured(const std::vector<std::string>& argv, const CaptureOptions& options);

// "SIGKILL", "SIGSEGV", ...; "SIG<n>" for a number without a name here.
std::string signal_name(int signal);

}  // namespace cutover::base
