// Expand check: the new release reads both store shapes (runbook rule 1,
// "expand first: deploy readers that accept both the pre-migration and the
// migrated store shapes"), as evidence instead of a note.
//
// For each store, in a private scratch folder (mkdtemp, 0700, removed after),
// it writes the store as it is now (the pre-migration shape; `{}` for a
// missing store) and the store as backfill would write it (the migrated
// shape, from backfill::migrated_form: the same code and specs, computed in
// memory, nothing written beside the real store, no lock or marker taken),
// and runs the reader on each copy: the command split into words without a
// shell (split_command), `{}` replaced by the copy's path (or the path
// appended), with a timeout, stdin closed and its output captured. The real
// stores are only read; their SHA-256 before and after the runs is recorded
// and compared. The report is docs/formats/expand-report.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/backfill/backfill.h"
#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/store/store_spec.h"

namespace cutover::expand {

inline constexpr std::string_view k_report_format = "cutover.expand_report.v1";

struct CheckOptions {
  std::string reader;                         // CMD, as typed
  std::vector<backfill::StoreTarget> stores;  // kind and path of each store
  int64_t timeout_ms = 60000;                 // each run of the reader
  bool allow_destructive_reset = false;       // the migrated shape as backfill --allow-destructive-reset writes it
  std::string scratch_parent;                 // where the scratch folder goes (default: $TMPDIR or /tmp)
};

struct ReaderRun {
  std::string shape;  // "pre" or "migrated"
  bool ok = false;    // exit status 0
  std::optional<int> exit_status;
  std::optional<std::string> signal;  // "SIGKILL", ...
  bool timed_out = false;
  int64_t duration_ms = 0;
  std::string stdout_sha256;  // of the whole stream
  std::string stderr_sha256;
  uint64_t stdout_bytes = 0;
  uint64_t stderr_bytes = 0;
  std::string stderr_tail;      // its last lines (at most k_stderr_tail_lines, 4 KiB)
  std::string input_sha256;     // the copy given to the reader, after the run
  bool input_modified = false;  // the reader wrote to its copy
};

struct StoreCheck {
  std::string name;  // the store kind, as given with --store NAME=PATH
  std::string path;  // absolute
  bool existed = false;
  std::optional<std::string> sha256_before;  // null: missing
  std::optional<std::string> sha256_after;
  bool unchanged = false;  // sha256_after == sha256_before (and still missing when it was)
  std::string pre_sha256;
  std::string migrated_sha256;
  bool migration_changes = false;  // the migrated shape differs from the pre one
  std::vector<std::string> destructive_resets;
  std::vector<ReaderRun> runs;
};

struct Report {
  bool ok = false;  // every run of every store exited 0 and no store changed
  std::string created_at;
  std::vector<std::string> command;  // the reader's words, `{}` not yet replaced
  std::string executable;            // argv[0], resolved to an absolute path
  std::string executable_sha256;
  int64_t timeout_ms = 0;
  std::vector<StoreCheck> stores;
};

inline constexpr size_t k_stderr_tail_lines = 20;

// Splits CMD into words like a POSIX shell would, without any expansion:
// blanks separate words; '...' is literal; "..." is literal except that a
// backslash escapes ", \, $ and `; a backslash outside quotes escapes the
// next character. No variables, globs, ~, pipes or redirections: a shell is
// run only when CMD names one (`sh -c '...'`). Errors: invalid_argument for
// an unterminated quote, a trailing backslash or an empty command.
Result<std::vector<std::string>> split_command(std::string_view cmd);

// The reader's argv for one input file: every `{}` in a word replaced by
// `path`; when no word holds `{}`, `path` appended as the last word.
std::vector<std::string> reader_argv(const std::vector<std::string>& words, const std::string& path);

// argv[0] as a path: taken as it is (made absolute) when it holds a '/',
// otherwise looked up on PATH. Errors: not_found naming the program.
Result<std::string> find_executable(const std::string& program, base::FileSystem& fs);

// Runs the check. Errors (nothing to report): invalid_argument for a bad
// command, no store, an unknown kind, a store backfill would refuse or a bad
// timeout; not_found for a reader that is not there; io_error when the
// scratch folder cannot be made or a store cannot be read. A reader that
// fails is not an error: the report says so (ok false).
Result<Report> run_check(const CheckOptions& options, const store::SpecRegistry& specs, base::FileSystem& fs,
                         base::Clock& clock);

// The report's canonical JSON (docs/formats/expand-report.md).
std::string to_json(const Report& report);

// One paragraph per failure: the store, the shape, the exit status or
// signal (or the timeout), and the last lines of the reader's stderr; or a
// store that changed during the check. Empty when the report passed.
std::vector<std::string> failure_messages(const Report& report);

}  // namespace cutover::expand
