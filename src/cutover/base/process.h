// Child processes, for the harness: run a command with its output in a log
// file, or start a server and read the line where it announces its address.
#pragma once

#include <string>
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

}  // namespace cutover::base
