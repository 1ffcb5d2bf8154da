// The rollback drill's report as the bundle and the gates read it back
// (docs/formats/drill-report.md); the drill itself (drill/) writes it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"

namespace cutover::evidence {

inline constexpr std::string_view k_drill_report_schema = "cutover.drill_report.v1";

// What a gate needs from a drill report file.
struct DrillSummary {
  bool ok = false;
  std::string group;
  std::string release_train;
  std::string manifest_sha256;
  std::string run_id;
  std::string finished_at;
  std::vector<std::string> failed_steps;  // "name: detail"
};

// Reads a drill report. Errors: invalid_argument naming `source` and every
// problem (not JSON, another schema, missing fields).
Result<DrillSummary> parse_drill_report(std::string_view text, const std::string& source);

}  // namespace cutover::evidence
