// A canary samples file (docs/formats/canary-samples.md) as the bundle
// carries it and the gates judge it (gates/canary): readings of a route
// group's traffic at each rollout stage.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"

namespace cutover::evidence {

inline constexpr std::string_view k_canary_samples_schema = "cutover.canary_samples.v1";

struct CanarySample {
  uint64_t stage = 0;   // percentage of traffic on the new service
  std::string time;     // RFC 3339 as written
  int64_t time_ns = 0;  // parsed, UTC
  uint64_t requests = 0;
  uint64_t errors_5xx = 0;
  double p95_ms = 0;
  double baseline_p95_ms = 0;
};

struct CanarySamples {
  std::string group;
  std::vector<CanarySample> samples;  // as in the file
};

// Reads a samples file, listing every problem. Errors: invalid_argument
// naming `source`.
Result<CanarySamples> parse_canary_samples(std::string_view text, const std::string& source);

}  // namespace cutover::evidence
