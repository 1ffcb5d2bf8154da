// Where errors become messages and exit codes, and shared output helpers.
//
// Exit codes (README.md):
//   0  success
//   1  a check failed, or a step was refused for safety (drift, lock held,
//      corrupt data)
//   2  usage error or invalid input (bad flag, malformed JSON or manifest,
//      unknown store kind)
//   3  the operating system refused a read or write
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <streambuf>
#include <string>
#include <string_view>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/json/writer.h"

namespace cutover::cli {

inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failed = 1;
inline constexpr int k_exit_usage = 2;
inline constexpr int k_exit_io = 3;

int exit_code_for(const Error& error);
// Prints "cutover <command>: error: <message>" to stderr; returns the exit
// code. In JSON mode (set_json_errors) it also prints the error as one JSON
// document on stdout, {"ok":false,"error":{"code":...,"message":...}}
// (docs/formats/cli-json.md), unless the command already wrote its own
// document there (a report that says why it refused): stdout never holds
// two documents.
int report_error(std::string_view command, const Error& error);
// The same for an error that is not an Error: `code` is "usage" for the
// argument parser's errors.
void report_error_json(std::string_view code, std::string_view message);

// JSON mode: on when the command line holds --json (before any "--"), so
// that a usage error of a command run with --json is JSON too.
void set_json_errors(bool on);
bool json_errors();
bool wants_json(int argc, char** argv);

// While it lives, what is written to std::cout and std::cerr reaches them
// with every C0 control character other than newline and tab written as
// \xNN: a value quoted from a manifest, a config or a request can never move
// the cursor, recolour the terminal or hide a line of output. JSON output
// passes unchanged (its writers escape those characters already).
class ControlCharacterGuard {
 public:
  ControlCharacterGuard();
  ~ControlCharacterGuard();
  ControlCharacterGuard(const ControlCharacterGuard&) = delete;
  ControlCharacterGuard& operator=(const ControlCharacterGuard&) = delete;

 private:
  std::unique_ptr<std::streambuf> out_;
  std::unique_ptr<std::streambuf> err_;
  std::streambuf* original_out_;
  std::streambuf* original_err_;
};

// Bytes written to std::cout through the guard so far.
uint64_t stdout_bytes_written();

// Writes a terminal control sequence of cutover's own (progress lines) to
// standard error as it is, past the guard.
void write_terminal_control(std::string_view control);

// Prints the one value `write_value` writes, in canonical form (pretty,
// keys sorted) and a newline, on standard output: every --json report.
void print_json(const std::function<void(json::Writer&)>& write_value);

// Reads FILE, or standard input for "" or "-".
Result<base::Buffer> read_input(const std::string& path);

}  // namespace cutover::cli
