#include "cutover/gates/canary.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>

#include "cutover/base/clock.h"
#include "cutover/json/field_reader.h"
#include "cutover/json/parser.h"

namespace cutover::gates {
namespace {

constexpr int64_t k_ns = 1000000000;
constexpr size_t k_max_listed = 5;  // reading problems listed per stage before "and N more"

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", fraction * 100);
  return buf;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

double finite(double v) { return std::isfinite(v) ? v : 1e308; }

std::string stage_name(uint64_t stage) { return "stage " + std::to_string(stage) + "%"; }

}  // namespace

void CanaryThresholds::write_json(json::Writer& w) const {
  w.begin_object().key("stages").begin_array();
  for (uint64_t s : stages) w.number(s);
  w.end_array().member("hold_seconds", hold_seconds).member_f64("max_5xx_rate", max_5xx_rate);
  w.member_f64("max_p95_ratio", max_p95_ratio).member("max_gap_seconds", max_gap_seconds).end_object();
}

Status check_thresholds(const CanaryThresholds& t) {
  std::vector<std::string> problems;
  if (t.stages.empty()) problems.push_back("--canary-stages: at least one stage is needed (default 5,25,50,100)");
  for (size_t i = 0; i < t.stages.size(); ++i) {
    if (t.stages[i] == 0 || t.stages[i] > 100) {
      problems.push_back("--canary-stages: " + std::to_string(t.stages[i]) + " is not a percentage from 1 to 100");
    }
    if (i > 0 && t.stages[i] <= t.stages[i - 1]) {
      problems.push_back("--canary-stages: stages must increase (" + std::to_string(t.stages[i - 1]) + " then " +
                         std::to_string(t.stages[i]) + ")");
    }
  }
  if (t.hold_seconds <= 0) problems.push_back("--canary-hold: must be a positive number of seconds");
  if (t.max_gap_seconds <= 0) problems.push_back("--canary-max-gap: must be a positive number of seconds");
  if (!(t.max_5xx_rate > 0 && t.max_5xx_rate <= 1)) problems.push_back("--max-5xx-rate: must be above 0 and at most 1");
  if (!(t.max_p95_ratio >= 1) || !std::isfinite(t.max_p95_ratio)) {
    problems.push_back("--max-p95-ratio: must be at least 1 (1.2 = at most 20% above the baseline)");
  }
  if (!problems.empty()) return make_error(ErrorCode::invalid_argument, json::join_problems(problems));
  return {};
}

CanaryHealth evaluate_canary(const evidence::CanarySamples& samples, const CanaryThresholds& t) {
  CanaryHealth health;
  health.group = samples.group;
  for (size_t i = 0; i < samples.samples.size(); ++i) {
    uint64_t stage = samples.samples[i].stage;
    if (std::find(t.stages.begin(), t.stages.end(), stage) == t.stages.end()) {
      std::string list;
      for (uint64_t s : t.stages) list += (list.empty() ? "" : ", ") + std::to_string(s);
      health.problems.push_back("samples[" + std::to_string(i) + "]: stage " + std::to_string(stage) +
                                "% is not one of the rollout stages " + list);
    }
  }
  int64_t previous_end = INT64_MIN;
  uint64_t previous_stage = 0;
  for (uint64_t stage : t.stages) {
    StageHealth sh;
    sh.stage = stage;
    std::vector<const evidence::CanarySample*> readings;
    for (const auto& s : samples.samples) {
      if (s.stage == stage) readings.push_back(&s);
    }
    std::stable_sort(
        readings.begin(), readings.end(),
        [](const evidence::CanarySample* a, const evidence::CanarySample* b) { return a->time_ns < b->time_ns; });
    sh.readings = readings.size();
    std::string name = stage_name(stage);
    if (readings.empty()) {
      sh.problems.push_back(name + ": no readings (missing data is never a pass)");
    } else {
      std::vector<std::string> bad;
      for (size_t i = 0; i < readings.size(); ++i) {
        const evidence::CanarySample& s = *readings[i];
        std::string at = name + " at " + s.time;
        if (s.requests == 0) {
          bad.push_back(at + ": no requests (no data is not a pass)");
        } else {
          double rate = static_cast<double>(s.errors_5xx) / static_cast<double>(s.requests);
          sh.worst_5xx_rate = std::max(sh.worst_5xx_rate, rate);
          if (!(rate < t.max_5xx_rate)) {
            bad.push_back(at + ": 5xx rate " + percent(rate) + " (" + std::to_string(s.errors_5xx) + " of " +
                          std::to_string(s.requests) + ") is not under " + percent(t.max_5xx_rate));
          }
        }
        if (!(s.baseline_p95_ms > 0)) {
          bad.push_back(at + ": no stable baseline p95 to compare with (baseline_p95_ms must be above 0)");
        } else {
          double ratio = s.p95_ms / s.baseline_p95_ms;
          sh.worst_p95_ratio = std::max(sh.worst_p95_ratio, ratio);
          // A tiny tolerance, so that 120 against 100 at a 1.2 ratio passes.
          if (ratio > t.max_p95_ratio * (1 + 1e-12)) {
            bad.push_back(at + ": p95 " + number(s.p95_ms) + " ms is " + percent(ratio - 1) + " above the baseline " +
                          number(s.baseline_p95_ms) + " ms (at most " + percent(t.max_p95_ratio - 1) + ")");
          }
        }
        if (i > 0) {
          int64_t gap = (s.time_ns - readings[i - 1]->time_ns) / k_ns;
          if (gap > t.max_gap_seconds) {
            bad.push_back(name + ": no readings for " + std::to_string(gap) + " s between " + readings[i - 1]->time +
                          " and " + s.time + " (at most " + std::to_string(t.max_gap_seconds) +
                          " s; missing data is never a pass)");
          }
        }
      }
      size_t listed = std::min(bad.size(), k_max_listed);
      sh.problems.insert(sh.problems.end(), bad.begin(), bad.begin() + static_cast<ptrdiff_t>(listed));
      if (bad.size() > listed) {
        sh.problems.push_back(name + ": and " + std::to_string(bad.size() - listed) + " more failing readings");
      }
      sh.held_seconds = (readings.back()->time_ns - readings.front()->time_ns) / k_ns;
      if (sh.held_seconds < t.hold_seconds) {
        sh.problems.push_back(name + ": held " + std::to_string(sh.held_seconds) + " s (" + readings.front()->time +
                              " to " + readings.back()->time + "), needs " + std::to_string(t.hold_seconds) + " s");
      }
      if (previous_end != INT64_MIN && readings.front()->time_ns < previous_end) {
        sh.problems.push_back(name + ": starts at " + readings.front()->time + ", before " +
                              stage_name(previous_stage) + " ended (stages must follow each other)");
      }
      previous_end = readings.back()->time_ns;
    }
    previous_stage = stage;
    health.problems.insert(health.problems.end(), sh.problems.begin(), sh.problems.end());
    health.stages.push_back(std::move(sh));
  }
  return health;
}

void CanaryHealth::write_json(json::Writer& w) const {
  w.begin_object().member("group", group).member("healthy", healthy()).key("stages").begin_array();
  for (const auto& s : stages) {
    w.begin_object().member("stage", s.stage).member("readings", static_cast<uint64_t>(s.readings));
    w.member("held_seconds", s.held_seconds).member_f64("worst_5xx_rate", finite(s.worst_5xx_rate));
    w.member_f64("worst_p95_ratio", finite(s.worst_p95_ratio)).member("healthy", s.healthy()).key("problems");
    w.begin_array();
    for (const auto& x : s.problems) w.string(x);
    w.end_array().end_object();
  }
  w.end_array().key("problems").begin_array();
  for (const auto& x : problems) w.string(x);
  w.end_array().end_object();
}

}  // namespace cutover::gates
