// The server's counters, rendered in the Prometheus text format (0.0.4) at
// GET /metrics:
//   cutover_route_decisions_total{source, target, route_domain, reason}
//   cutover_route_overrides_total{scope, target}
//   cutover_http_request_duration_seconds{route} (histogram)
//   cutover_http_responses_total{route, code}
// plus the state gauges (render_gauges) and a ring of per-second decision
// counts per group and target (recent()) for the state endpoint.
// Decision counters are a fixed table of atomics indexed by the engine's
// reason and domain ids, so counting a decision takes no lock.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "cutover/routing/route_split.h"

namespace cutover::server {

enum class DecisionSource : uint8_t { web, evaluate, decide };
inline constexpr size_t k_decision_sources = 3;
// The routes the latency histogram and response counters are labelled with.
enum class HttpRoute : uint8_t {
  status,
  evaluate,
  override_,
  web,
  healthz,
  readyz,
  metrics,
  other,
  decide,
  state,
  count_
};

class Metrics {
 public:
  // REQUIRES: `engine` outlives the metrics.
  explicit Metrics(const routing::RouteSplit& engine);

  void count_decision(DecisionSource source, const routing::Decision& decision);
  void count_override(const std::string& scope, std::string_view target);
  void observe_request(HttpRoute route, int status, int64_t duration_ns);

  std::string render() const;

  // Decisions per target over the last 60 whole seconds (plus the current
  // one), by domain id ([domain][target]) and in total.
  struct Recent {
    std::vector<std::array<uint64_t, 2>> by_domain;
    std::array<uint64_t, 2> total{};
  };
  Recent recent() const;

  // The state gauges (docs/formats/http-api.md, "Metrics"), every series
  // present: override per scope and target, cohort percentage per group and
  // global, config and override revisions, build info, start time.
  static std::string render_gauges(const routing::RouteSplit& engine, const routing::Overrides& overrides,
                                   uint64_t config_revision, uint64_t override_revision, double start_time_seconds);

  static inline constexpr std::array<double, 14> k_buckets_seconds = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};
  static inline constexpr std::array<int, 12> k_codes = {200, 307, 400, 401, 403, 404, 405, 413, 422, 500, 503, 0};

 private:
  struct Histogram {
    std::array<std::atomic<uint64_t>, k_buckets_seconds.size() + 1> buckets{};  // the last is +Inf
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum_ns{0};
    std::array<std::atomic<uint64_t>, k_codes.size()> codes{};  // the last counts any other code
  };

  static constexpr size_t k_ring_seconds = 61;
  struct RingSlot {
    std::atomic<int64_t> second{-1};
    std::unique_ptr<std::atomic<uint32_t>[]> counts;  // [domain][target]
  };
  void count_recent(const routing::Decision& d);

  const routing::RouteSplit& engine_;
  size_t reasons_, domains_;
  std::array<RingSlot, k_ring_seconds> ring_;
  std::mutex ring_mutex_;                               // taken only to reset a slot for a new second
  std::unique_ptr<std::atomic<uint64_t>[]> decisions_;  // [source][target][domain][reason]
  std::array<Histogram, static_cast<size_t>(HttpRoute::count_)> http_;
  mutable std::mutex overrides_mutex_;
  std::map<std::pair<std::string, std::string>, uint64_t> overrides_;
};

std::string_view http_route_name(HttpRoute route);

}  // namespace cutover::server
