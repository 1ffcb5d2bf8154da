// Where errors become messages and exit codes, and shared output helpers.
//
// Exit codes (docs/cli.md):
//   0  success
//   1  a check failed, or a step was refused for safety (drift, lock held,
//      corrupt data)
//   2  usage error or invalid input (bad flag, malformed JSON or manifest,
//      unknown store kind)
//   3  the operating system refused a read or write
#pragma once

#include <string>
#include <string_view>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"

namespace cutover::cli {

inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failed = 1;
inline constexpr int k_exit_usage = 2;
inline constexpr int k_exit_io = 3;

int exit_code_for(const Error& error);
// Prints "cutover <command>: error: <message>" to stderr; returns the exit code.
int report_error(std::string_view command, const Error& error);

// Reads FILE, or standard input for "" or "-".
Result<base::Buffer> read_input(const std::string& path);

}  // namespace cutover::cli
