// In-process route-split decisions per second (docs/PERFORMANCE.md).
// Target: at least 2 million decisions a second on one core in cohort mode,
// where every decision hashes its cohort key (SHA-256).
//
//   build/bench/routing_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "cutover/routing/cohort.h"
#include "cutover/routing/config.h"
#include "cutover/routing/report.h"
#include "cutover/routing/route_split.h"

namespace {

using namespace cutover::routing;

// Realistic inputs: web paths across the reference groups, user keys.
const std::vector<std::string>& paths() {
  static const std::vector<std::string> p = {
      "/chat/thread-12345", "/login", "/settings/profile", "/billing/invoices/2026-11", "/l402/paywalls/web",
      "/onboarding/step",   "/feed",  "/admin/tools",      "/docs/getting-started",     "/",
      "/account/session",   "/chat/",
  };
  return p;
}

std::vector<std::string> keys(size_t n) {
  std::vector<std::string> k;
  for (size_t i = 0; i < n; ++i) k.push_back("user:" + std::to_string(100000 + i * 7919));
  return k;
}

RouteConfig cohort_config() {
  RouteConfig c = reference_config();
  c.mode = RouteMode::cohort;
  c.cohort_percentage = 25;
  c.rust_routes = {"/chat", "/login", "/settings", "/billing", "/l402", "/onboarding", "/feed", "/admin", "/account"};
  c.legacy_base_url = "https://legacy.example.com";
  return c;
}

// Decisions over the paths and cohort keys, in turn; counts the share that hashed.
void run_decisions(benchmark::State& state, const RouteSplit& engine, const Overrides& overrides) {
  auto k = keys(4096);
  const auto& p = paths();
  size_t i = 0, hashed = 0;
  for (auto _ : state) {
    Decision d = engine.evaluate(p[i % p.size()], k[i % k.size()], overrides);
    hashed += d.cohort_bucket.has_value();
    benchmark::DoNotOptimize(d);
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["hashed_share"] = static_cast<double>(hashed) / static_cast<double>(i ? i : 1);
}

void BM_decision_cohort(benchmark::State& state) {
  RouteSplit engine(cohort_config());
  Overrides overrides;
  overrides.groups["billing_l402"] = RouteTarget::legacy;  // one override in place, as during a rollback drill
  run_decisions(state, engine, overrides);
}
BENCHMARK(BM_decision_cohort);

// Every decision hashes: all paths are cohort-routed.
void BM_decision_cohort_every_hash(benchmark::State& state) {
  RouteConfig c = cohort_config();
  c.rust_routes = {"/"};
  RouteSplit engine(std::move(c));
  run_decisions(state, engine, Overrides{});
}
BENCHMARK(BM_decision_cohort_every_hash);

void BM_decision_rust_mode(benchmark::State& state) {
  RouteSplit engine(reference_config());
  run_decisions(state, engine, Overrides{});
}
BENCHMARK(BM_decision_rust_mode);

void BM_cohort_bucket(benchmark::State& state) {
  auto k = keys(4096);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cohort_bucket("openagents-route-split-v1", k[i % k.size()]));
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_cohort_bucket);

// A decision and its JSON, as the evaluate endpoint builds them.
void BM_decision_and_json(benchmark::State& state) {
  RouteSplit engine(cohort_config());
  Overrides none;
  auto k = keys(4096);
  const auto& p = paths();
  size_t i = 0;
  for (auto _ : state) {
    std::string json = decision_json(engine.evaluate(p[i % p.size()], k[i % k.size()], none));
    benchmark::DoNotOptimize(json);
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_decision_and_json);

}  // namespace

BENCHMARK_MAIN();
