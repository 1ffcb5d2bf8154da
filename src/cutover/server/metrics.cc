#include "cutover/server/metrics.h"

#include <cstdio>

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
    case HttpRoute::other:
    case HttpRoute::count_:
      break;
  }
  return "other";
}

Metrics::Metrics(const routing::RouteSplit& engine)
    : engine_(engine), reasons_(engine.reason_count()), domains_(engine.domain_count()) {
  size_t n = 2 * 2 * domains_ * reasons_;
  decisions_ = std::make_unique<std::atomic<uint64_t>[]>(n);
  for (size_t i = 0; i < n; ++i) decisions_[i].store(0, std::memory_order_relaxed);
}

void Metrics::count_decision(DecisionSource source, const routing::Decision& d) {
  size_t i = ((static_cast<size_t>(source) * 2 + static_cast<size_t>(d.target)) * domains_ + d.domain_id) * reasons_ +
             d.reason_id;
  decisions_[i].fetch_add(1, std::memory_order_relaxed);
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
      "# HELP cutover_route_decisions_total Route-split decisions by source (web entry or evaluate API), target, route "
      "group and reason.\n";
  out += "# TYPE cutover_route_decisions_total counter\n";
  for (size_t source = 0; source < 2; ++source) {
    for (size_t target = 0; target < 2; ++target) {
      for (size_t domain = 0; domain < domains_; ++domain) {
        for (size_t reason = 0; reason < reasons_; ++reason) {
          uint64_t v = decisions_[((source * 2 + target) * domains_ + domain) * reasons_ + reason].load(
              std::memory_order_relaxed);
          if (v == 0) continue;
          out += "cutover_route_decisions_total{source=\"";
          out += source == 0 ? "web" : "evaluate";
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
  if (extra_) out += extra_();
  return out;
}

}  // namespace cutover::server
