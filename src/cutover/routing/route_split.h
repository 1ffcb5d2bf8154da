// The route-split decision engine (SPEC §6): for a request path and cohort
// key, which target serves it and why.
//
// Decision order, first match wins:
//   1. pinned routes (reason: the pinned route's, e.g. api_rust_authority);
//   2. an override of the path's route group (domain_override);
//   3. the force-legacy kill switch -> legacy (force_legacy);
//   4. the global override (runtime_override);
//   5. route split disabled -> legacy (route_split_disabled);
//   6. path not among the new-service routes -> legacy (legacy_route_default);
//   7. a live cohort percentage (the group's, else the global one:
//      Overrides::group_percentages, global_percentage) -> mode_cohort at
//      that percentage; else the mode: legacy (mode_legacy), rust (mode_rust
//      -> rust_shell) or cohort (mode_cohort: rust_shell iff the key's
//      bucket < percentage; the only reason that reports the bucket).
// Every decision names the path's route group (route_domain; "unclassified"
// outside every group, or the pinned route's domain) and its rollback target
// (the group's; legacy when unclassified; the pinned target when pinned).
//
// Overrides are held by the caller (the server keeps them in its state
// folder) and passed in; the engine itself is immutable after construction,
// so any number of threads may call evaluate() at once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/routing/cohort.h"
#include "cutover/routing/config.h"

namespace cutover::routing {

inline constexpr std::string_view k_unclassified = "unclassified";

// Decision reasons besides the pinned routes' own.
inline constexpr std::string_view k_reason_domain_override = "domain_override";
inline constexpr std::string_view k_reason_force_legacy = "force_legacy";
inline constexpr std::string_view k_reason_runtime_override = "runtime_override";
inline constexpr std::string_view k_reason_route_split_disabled = "route_split_disabled";
inline constexpr std::string_view k_reason_legacy_route_default = "legacy_route_default";
inline constexpr std::string_view k_reason_mode_legacy = "mode_legacy";
inline constexpr std::string_view k_reason_mode_rust = "mode_rust";
inline constexpr std::string_view k_reason_mode_cohort = "mode_cohort";

// Runtime overrides: a global target and per-group targets (by normalised
// group name). Absent = no override.
struct Overrides {
  std::optional<RouteTarget> global;
  std::map<std::string, RouteTarget, std::less<>> groups;
  // Cohort percentages set live (promote): per group, and for every group
  // without its own. Either makes decision step 7 decide by cohort at that
  // percentage, whatever the config's mode.
  std::optional<uint8_t> global_percentage;
  std::map<std::string, uint8_t, std::less<>> group_percentages;
  bool operator==(const Overrides&) const = default;
};

struct Decision {
  std::string path;  // normalised
  RouteTarget target = RouteTarget::legacy;
  // reason and route_domain point into static strings or into the engine's
  // config: a Decision must not outlive the RouteSplit that made it.
  std::string_view reason;
  std::string_view route_domain;
  RouteTarget rollback_target = RouteTarget::legacy;
  std::optional<CohortBucket> cohort_bucket;  // mode_cohort only
  std::string cohort_key;                     // normalised
  // Small ids of reason and route_domain, for metrics tables:
  // RouteSplit::reason_label(reason_id) == reason, domain_label(domain_id) == route_domain.
  uint16_t reason_id = 0;
  uint16_t domain_id = 0;
};

class RouteSplit {
 public:
  // REQUIRES: `config` came from reference_config() or parse_route_config(),
  // perhaps with apply_environment() (so names and paths are normalised).
  explicit RouteSplit(RouteConfig config);
  // Decisions and label tables point into the config: the engine stays put.
  RouteSplit(const RouteSplit&) = delete;
  RouteSplit& operator=(const RouteSplit&) = delete;

  const RouteConfig& config() const { return config_; }

  // Decides `path` (raw; normalised here) for `cohort_key` (raw; normalised
  // here: blank -> "anonymous").
  Decision evaluate(std::string_view path, std::string_view cohort_key, const Overrides& overrides) const;

  // The index in config().route_groups of the group `normalized_path`
  // belongs to, or -1.
  int group_index(std::string_view normalized_path) const;
  // The group named `name` (normalised here), or nullptr.
  const RouteGroup* find_group(std::string_view name) const;
  // The live cohort percentage for `group` (nullptr: a path outside every group), or nullopt.
  static std::optional<uint8_t> live_percentage(const Overrides& overrides, const RouteGroup* group);

  // Metric label tables: every reason and route_domain a decision can carry.
  size_t reason_count() const { return reasons_.size(); }
  std::string_view reason_label(size_t id) const { return reasons_[id]; }
  size_t domain_count() const { return domains_.size(); }
  std::string_view domain_label(size_t id) const { return domains_[id]; }

  // base URL + raw path (+ "?" + query when the query is not blank), or
  // nullopt when that target has no base URL.
  std::optional<std::string> legacy_redirect_url(std::string_view raw_path, std::string_view query) const;
  std::optional<std::string> rust_redirect_url(std::string_view raw_path, std::string_view query) const;

 private:
  Decision make(std::string path, RouteTarget target, size_t reason_id, size_t domain_id, RouteTarget rollback,
                std::string cohort_key) const;

  RouteConfig config_;
  bool every_path_is_rust_ = false;        // rust_routes holds "/"
  std::vector<std::string_view> reasons_;  // fixed reasons, then one per pinned route
  std::vector<std::string_view> domains_;  // groups, then pinned domains, then "unclassified"; no repeats
  std::vector<uint16_t> pinned_domain_ids_;
  uint16_t unclassified_id_ = 0;
};

// The reasons' ids in RouteSplit's table (pinned routes follow).
enum ReasonId : uint16_t {
  k_id_domain_override,
  k_id_force_legacy,
  k_id_runtime_override,
  k_id_route_split_disabled,
  k_id_legacy_route_default,
  k_id_mode_legacy,
  k_id_mode_rust,
  k_id_mode_cohort,
  k_fixed_reason_count,
};

}  // namespace cutover::routing
