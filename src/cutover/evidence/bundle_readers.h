// What bundle.cc (sign, verify) and collect.cc (collect) share: the files of
// a bundle read as text, and the two inputs judged by their own schema (the
// verify report and the harness summary). Internal to the evidence module.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/json/document.h"

namespace cutover::evidence {

// DIR/NAME.
std::string in_dir(const std::string& dir, std::string_view name);

// The file's bytes; errors name `what` and the path.
Result<std::string> read_text(base::FileSystem& fs, const std::string& path, std::string_view what);

// What a verify report says about itself, and the report.
struct ReportSummary {
  bool ok = false;
  uint64_t finding_count = 0;
  std::string manifest_sha256;
  json::Document value;
};

// Errors: invalid_argument naming `source` and every problem (not JSON,
// another schema, a missing or mistyped field).
Result<ReportSummary> read_verify_report(std::string_view text, const std::string& source);

// The harness summary's overall_status (passed or failed). Errors:
// invalid_argument as above.
Result<std::string> read_harness_summary(std::string_view text, const std::string& source);

}  // namespace cutover::evidence
