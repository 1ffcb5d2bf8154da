#include "cutover/server/metrics.h"

#include <cstdio>
#include <ctime>

#include "cutover/base/version.h"

namespace cutover::server {
namespace {

// Label values here are engine names (a-z 0-9 _), target names and scopes
// built from them, and fixed words: nothing to escape but the rules say how.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", s);
  return buf;
}

}  // namespace

std::string_view http_route_name(HttpRoute route) {
  switch (route) {
    case HttpRoute::status:
      return "status";
    case HttpRoute::evaluate:
      return "evaluate";
    case HttpRoute::override_:
      return "override";
    case HttpRoute::web:
      return "web";
    case HttpRoute::healthz:
      return "healthz";
    case HttpRoute::readyz:
      return "readyz";
    case HttpRoute::metrics:
      return "metrics";
    case HttpRoute::decide:
      return "decide";
    case HttpRoute::state:
      return "state";
    case HttpRoute::other:
    case HttpRoute::count_:
      break;
  }
  return "other";
}

Metrics::Metrics(const routing::RouteSplit& engine)
    : engine_(engine), reasons_(engine.reason_count()), domains_(engine.domain_count()) {
  size_t n = k_decision_sources * 2 * domains_ * reasons_;
  decisions_ = std::make_unique<std::atomic<uint64_t>[]>(n);
  for (size_t i = 0; i < n; ++i) decisions_[i].store(0, std::memory_order_relaxed);
  for (RingSlot& slot : ring_) {
    slot.counts = std::make_unique<std::atomic<uint32_t>[]>(domains_ * 2);
    for (size_t i = 0; i < domains_ * 2; ++i) slot.counts[i].store(0, std::memory_order_relaxed);
  }
}

namespace {
int64_t coarse_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return ts.tv_sec;
}
}  // namespace

void Metrics::count_recent(const routing::Decision& d) {
  int64_t now = coarse_seconds();
  RingSlot& slot = ring_[static_cast<size_t>(now) % k_ring_seconds];
  if (slot.second.load(std::memory_order_acquire) != now) {
    std::lock_guard lock(ring_mutex_);
    if (slot.second.load(std::memory_order_relaxed) != now) {
      for (size_t i = 0; i < domains_ * 2; ++i) slot.counts[i].store(0, std::memory_order_relaxed);
      slot.second.store(now, std::memory_order_release);
    }
  }
  slot.counts[d.domain_id * 2 + static_cast<size_t>(d.target)].fetch_add(1, std::memory_order_relaxed);
}

Metrics::Recent Metrics::recent() const {
  Recent out;
  out.by_domain.assign(domains_, {0, 0});
  int64_t now = coarse_seconds();
  for (const RingSlot& slot : ring_) {
    int64_t second = slot.second.load(std::memory_order_acquire);
    if (second < 0 || second + 60 < now) continue;
    for (size_t domain = 0; domain < domains_; ++domain) {
      for (size_t target = 0; target < 2; ++target) {
        uint64_t v = slot.counts[domain * 2 + target].load(std::memory_order_relaxed);
        out.by_domain[domain][target] += v;
        out.total[target] += v;
      }
    }
  }
  return out;
}

void Metrics::count_decision(DecisionSource source, const routing::Decision& d) {
  size_t i = ((static_cast<size_t>(source) * 2 + static_cast<size_t>(d.target)) * domains_ + d.domain_id) * reasons_ +
             d.reason_id;
  decisions_[i].fetch_add(1, std::memory_order_relaxed);
  count_recent(d);
}

void Metrics::count_override(const std::string& scope, std::string_view target) {
  std::lock_guard lock(overrides_mutex_);
  ++overrides_[{scope, std::string(target)}];
}

void Metrics::observe_request(HttpRoute route, int status, int64_t duration_ns) {
  Histogram& h = http_[static_cast<size_t>(route)];
  double s = static_cast<double>(duration_ns) / 1e9;
  size_t b = 0;
  while (b < k_buckets_seconds.size() && s > k_buckets_seconds[b]) ++b;
  h.buckets[b].fetch_add(1, std::memory_order_relaxed);
  h.count.fetch_add(1, std::memory_order_relaxed);
  h.sum_ns.fetch_add(static_cast<uint64_t>(duration_ns < 0 ? 0 : duration_ns), std::memory_order_relaxed);
  size_t c = 0;
  while (c + 1 < k_codes.size() && k_codes[c] != status) ++c;
  h.codes[c].fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::render() const {
  std::string out;
  out +=
      "# HELP cutover_route_decisions_total Route-split decisions by source (web entry, evaluate API or decide "
      "endpoint), target, route "
      "group and reason.\n";
  out += "# TYPE cutover_route_decisions_total counter\n";
  static constexpr const char* k_source_names[k_decision_sources] = {"web", "evaluate", "decide"};
  for (size_t source = 0; source < k_decision_sources; ++source) {
    for (size_t target = 0; target < 2; ++target) {
      for (size_t domain = 0; domain < domains_; ++domain) {
        for (size_t reason = 0; reason < reasons_; ++reason) {
          uint64_t v = decisions_[((source * 2 + target) * domains_ + domain) * reasons_ + reason].load(
              std::memory_order_relaxed);
          if (v == 0) continue;
          out += "cutover_route_decisions_total{source=\"";
          out += k_source_names[source];
          out += "\",target=\"" + std::string(routing::target_name(static_cast<routing::RouteTarget>(target)));
          out += "\",route_domain=\"" + label(engine_.domain_label(domain));
          out += "\",reason=\"" + label(engine_.reason_label(reason)) + "\"} " + std::to_string(v) + "\n";
        }
      }
    }
  }
  out += "# HELP cutover_route_overrides_total Route-split overrides applied, by scope and requested target.\n";
  out += "# TYPE cutover_route_overrides_total counter\n";
  {
    std::lock_guard lock(overrides_mutex_);
    for (const auto& [key, v] : overrides_) {
      out += "cutover_route_overrides_total{scope=\"" + label(key.first) + "\",target=\"" + label(key.second) + "\"} " +
             std::to_string(v) + "\n";
    }
  }
  out += "# HELP cutover_http_request_duration_seconds Time from the request's headers to its response, by route.\n";
  out += "# TYPE cutover_http_request_duration_seconds histogram\n";
  for (size_t r = 0; r < http_.size(); ++r) {
    const Histogram& h = http_[r];
    uint64_t count = h.count.load(std::memory_order_relaxed);
    if (count == 0) continue;
    std::string route = std::string(http_route_name(static_cast<HttpRoute>(r)));
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= k_buckets_seconds.size(); ++b) {
      cumulative += h.buckets[b].load(std::memory_order_relaxed);
      std::string le = b < k_buckets_seconds.size() ? seconds(k_buckets_seconds[b]) : "+Inf";
      out += "cutover_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"" + le + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "cutover_http_request_duration_seconds_sum{route=\"" + route + "\"} " +
           seconds(static_cast<double>(h.sum_ns.load(std::memory_order_relaxed)) / 1e9) + "\n";
    out += "cutover_http_request_duration_seconds_count{route=\"" + route + "\"} " + std::to_string(count) + "\n";
  }
  out += "# HELP cutover_http_responses_total Responses by route and status code.\n";
  out += "# TYPE cutover_http_responses_total counter\n";
  for (size_t r = 0; r < http_.size(); ++r) {
    std::string route = std::string(http_route_name(static_cast<HttpRoute>(r)));
    for (size_t c = 0; c < k_codes.size(); ++c) {
      uint64_t v = http_[r].codes[c].load(std::memory_order_relaxed);
      if (v == 0) continue;
      std::string code = k_codes[c] == 0 ? "other" : std::to_string(k_codes[c]);
      out += "cutover_http_responses_total{route=\"" + route + "\",code=\"" + code + "\"} " + std::to_string(v) + "\n";
    }
  }
  return out;
}

std::string Metrics::render_gauges(const routing::RouteSplit& engine, const routing::Overrides& o,
                                   uint64_t config_revision, uint64_t override_revision, double start_time_seconds) {
  using routing::RouteTarget;
  std::string out;
  auto override_series = [&](const std::string& scope, std::optional<RouteTarget> current) {
    for (RouteTarget t : {RouteTarget::legacy, RouteTarget::rust_shell}) {
      out += "cutover_route_override{scope=\"" + label(scope) + "\",target=\"" + std::string(routing::target_name(t)) +
             "\"} " + (current == t ? "1" : "0") + "\n";
    }
  };
  out += "# HELP cutover_route_override Overrides in force: 1 for the scope's override target, else 0.\n";
  out += "# TYPE cutover_route_override gauge\n";
  override_series("global", o.global);
  for (const routing::RouteGroup& g : engine.config().route_groups) {
    auto it = o.groups.find(g.domain);
    override_series("domain:" + g.domain, it == o.groups.end() ? std::nullopt : std::optional(it->second));
  }
  out += "# HELP cutover_cohort_percentage The cohort percentage in force, per route group and global.\n";
  out += "# TYPE cutover_cohort_percentage gauge\n";
  uint8_t global = o.global_percentage.value_or(engine.config().cohort_percentage);
  out += "cutover_cohort_percentage{route_domain=\"global\"} " + std::to_string(global) + "\n";
  for (const routing::RouteGroup& g : engine.config().route_groups) {
    uint8_t p = routing::RouteSplit::live_percentage(o, &g).value_or(engine.config().cohort_percentage);
    out += "cutover_cohort_percentage{route_domain=\"" + label(g.domain) + "\"} " + std::to_string(p) + "\n";
  }
  out += "# HELP cutover_config_revision The route config's revision (1 at start, +1 per accepted reload).\n";
  out += "# TYPE cutover_config_revision gauge\ncutover_config_revision " + std::to_string(config_revision) + "\n";
  out += "# HELP cutover_override_revision The override state's revision.\n";
  out +=
      "# TYPE cutover_override_revision gauge\ncutover_override_revision " + std::to_string(override_revision) + "\n";
  out += "# HELP cutover_build_info The running build.\n# TYPE cutover_build_info gauge\n";
  std::string_view version = base::k_tool_version.substr(base::k_tool_version.rfind(' ') + 1);
  out += "cutover_build_info{version=\"" + label(version) + "\"} 1\n";
  out += "# HELP cutover_process_start_time_seconds Start time of the process since the Unix epoch.\n";
  out += "# TYPE cutover_process_start_time_seconds gauge\n";
  char start[32];
  std::snprintf(start, sizeof start, "%.3f", start_time_seconds);
  out += "cutover_process_start_time_seconds " + std::string(start) + "\n";
  return out;
}

}  // namespace cutover::server
