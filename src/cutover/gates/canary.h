// Canary health (SPEC §7, rule 3): is the canary window of a route group
// healthy enough to contract? The input is a samples file
// (docs/formats/canary-samples.md): readings of the group's traffic, each
// taken at a stage of the rollout (the percentage of traffic on the new
// service) with the request count, the 5xx count, the p95 latency and the
// stable baseline's p95 at the same time.
//
// The reference's numbers are the defaults: each stage 5% -> 25% -> 50% ->
// 100% held for 10 minutes with the 5xx rate under 1% and p95 latency no
// more than 20% above the stable baseline. A stage is "held" when its
// readings span at least the hold time with no gap between two readings
// longer than the allowed gap, and every reading in it is healthy. Missing
// data is never a pass: a stage without readings, a reading with no
// requests or no baseline, a gap, or stages out of order all fail, each with
// its reason.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/evidence/canary_samples.h"
#include "cutover/json/writer.h"

namespace cutover::gates {

struct CanaryThresholds {
  std::vector<uint64_t> stages = {5, 25, 50, 100};  // percentages, in rollout order
  int64_t hold_seconds = 600;
  double max_5xx_rate = 0.01;     // a reading passes when 5xx / requests < this
  double max_p95_ratio = 1.2;     // ... and p95 <= baseline p95 * this
  int64_t max_gap_seconds = 120;  // readings further apart break the hold

  void write_json(json::Writer& w) const;  // as a contract record keeps them
};

// Checks thresholds given by an operator. Errors: invalid_argument naming
// the flag (no stages, stages not increasing or above 100, a non-positive
// hold or gap, a rate outside (0, 1], a ratio below 1).
Status check_thresholds(const CanaryThresholds& thresholds);

struct StageHealth {
  uint64_t stage = 0;
  size_t readings = 0;
  int64_t held_seconds = 0;
  double worst_5xx_rate = 0;
  double worst_p95_ratio = 0;
  std::vector<std::string> problems;
  bool healthy() const { return problems.empty(); }
};

struct CanaryHealth {
  std::string group;
  std::vector<StageHealth> stages;    // one per threshold stage, in order
  std::vector<std::string> problems;  // every reason, stage problems included
  bool healthy() const { return problems.empty(); }
  void write_json(json::Writer& w) const;  // as a contract record keeps it
};

CanaryHealth evaluate_canary(const evidence::CanarySamples& samples, const CanaryThresholds& thresholds);

}  // namespace cutover::gates
