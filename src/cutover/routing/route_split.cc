#include "cutover/routing/route_split.h"

#include <algorithm>
#include <cassert>

#include "cutover/routing/paths.h"

namespace cutover::routing {
namespace {

std::optional<std::string> redirect_url(const std::optional<std::string>& base, std::string_view raw_path,
                                        std::string_view query) {
  if (!base) return std::nullopt;
  std::string url = *base;
  url.append(raw_path);
  if (!trim(query).empty()) {
    url.push_back('?');
    url.append(query);
  }
  return url;
}

// Decision ids are 16-bit: every domain (groups, pinned domains,
// "unclassified") and every reason must have one.
static_assert(k_max_route_groups + k_max_pinned_routes + 1 <= UINT16_MAX + 1u, "domain ids overflow");
static_assert(k_fixed_reason_count + k_max_pinned_routes <= UINT16_MAX + 1u, "reason ids overflow");

}  // namespace

RouteSplit::RouteSplit(RouteConfig config) : config_(std::move(config)) {
  every_path_is_rust_ =
      std::find(config_.rust_routes.begin(), config_.rust_routes.end(), "/") != config_.rust_routes.end();
  reasons_ = {
      k_reason_domain_override,      k_reason_force_legacy, k_reason_runtime_override, k_reason_route_split_disabled,
      k_reason_legacy_route_default, k_reason_mode_legacy,  k_reason_mode_rust,        k_reason_mode_cohort};
  assert(reasons_.size() == k_fixed_reason_count);
  auto domain_id = [this](std::string_view name) {
    auto it = std::find(domains_.begin(), domains_.end(), name);
    if (it != domains_.end()) return static_cast<uint16_t>(it - domains_.begin());
    domains_.push_back(name);
    return static_cast<uint16_t>(domains_.size() - 1);
  };
  for (const RouteGroup& g : config_.route_groups) domain_id(g.domain);
  for (const PinnedRoute& p : config_.pinned_routes) {
    reasons_.push_back(p.reason);
    pinned_domain_ids_.push_back(domain_id(p.route_domain));
  }
  unclassified_id_ = domain_id(k_unclassified);
  assert(domains_.size() <= UINT16_MAX + 1u && reasons_.size() <= UINT16_MAX + 1u);
}

int RouteSplit::group_index(std::string_view normalized_path) const {
  for (size_t i = 0; i < config_.route_groups.size(); ++i) {
    for (const std::string& prefix : config_.route_groups[i].route_prefixes) {
      if (group_prefix_matches(prefix, normalized_path)) return static_cast<int>(i);
    }
  }
  return -1;
}

const RouteGroup* RouteSplit::find_group(std::string_view name) const {
  std::string n = normalize_group_name(name);
  for (const RouteGroup& g : config_.route_groups) {
    if (g.domain == n) return &g;
  }
  return nullptr;
}

std::optional<uint8_t> RouteSplit::live_percentage(const Overrides& overrides, const RouteGroup* group) {
  if (group != nullptr && !overrides.group_percentages.empty()) {
    auto it = overrides.group_percentages.find(group->domain);
    if (it != overrides.group_percentages.end()) return it->second;
  }
  return overrides.global_percentage;
}

Decision RouteSplit::make(std::string path, RouteTarget target, size_t reason_id, size_t domain_id,
                          RouteTarget rollback, std::string cohort_key) const {
  Decision d;
  d.path = std::move(path);
  d.target = target;
  d.reason = reasons_[reason_id];
  d.reason_id = static_cast<uint16_t>(reason_id);
  d.route_domain = domains_[domain_id];
  d.domain_id = static_cast<uint16_t>(domain_id);
  d.rollback_target = rollback;
  d.cohort_key = std::move(cohort_key);
  return d;
}

Decision RouteSplit::evaluate(std::string_view raw_path, std::string_view raw_cohort_key,
                              const Overrides& overrides) const {
  std::string path = normalize_path(raw_path);
  std::string key = normalize_cohort_key(raw_cohort_key);

  // 1. Pinned routes: never rolled back, never overridden.
  for (size_t i = 0; i < config_.pinned_routes.size(); ++i) {
    const PinnedRoute& p = config_.pinned_routes[i];
    if (group_prefix_matches(p.prefix, path)) {
      return make(std::move(path), p.target, k_fixed_reason_count + i, pinned_domain_ids_[i], p.target, std::move(key));
    }
  }

  int group = group_index(path);
  size_t domain = group >= 0 ? static_cast<size_t>(group) : unclassified_id_;
  RouteTarget rollback =
      group >= 0 ? config_.route_groups[static_cast<size_t>(group)].rollback_target : RouteTarget::legacy;
  auto decide = [&](RouteTarget target, size_t reason_id) {
    return make(std::move(path), target, reason_id, domain, rollback, std::move(key));
  };

  // 2. The group's override.
  if (group >= 0 && !overrides.groups.empty()) {
    auto it = overrides.groups.find(config_.route_groups[static_cast<size_t>(group)].domain);
    if (it != overrides.groups.end()) return decide(it->second, k_id_domain_override);
  }
  // 3. The kill switch.
  if (config_.force_legacy) return decide(RouteTarget::legacy, k_id_force_legacy);
  // 4. The global override.
  if (overrides.global) return decide(*overrides.global, k_id_runtime_override);
  // 5. Split disabled.
  if (!config_.enabled) return decide(RouteTarget::legacy, k_id_route_split_disabled);
  // 6. Not a new-service route.
  bool rust_route =
      every_path_is_rust_ || std::any_of(config_.rust_routes.begin(), config_.rust_routes.end(),
                                         [&](const std::string& prefix) { return rust_route_matches(prefix, path); });
  if (!rust_route) return decide(RouteTarget::legacy, k_id_legacy_route_default);
  // 7. A live percentage, else the mode.
  std::optional<uint8_t> live =
      live_percentage(overrides, group >= 0 ? &config_.route_groups[static_cast<size_t>(group)] : nullptr);
  if (live) {
    CohortBucket bucket = cohort_bucket(config_.salt, key);
    Decision d = decide(bucket < *live ? RouteTarget::rust_shell : RouteTarget::legacy, k_id_mode_cohort);
    d.cohort_bucket = bucket;
    return d;
  }
  switch (config_.mode) {
    case RouteMode::legacy:
      return decide(RouteTarget::legacy, k_id_mode_legacy);
    case RouteMode::rust:
      return decide(RouteTarget::rust_shell, k_id_mode_rust);
    case RouteMode::cohort:
      break;
  }
  CohortBucket bucket = cohort_bucket(config_.salt, key);
  Decision d =
      decide(bucket < config_.cohort_percentage ? RouteTarget::rust_shell : RouteTarget::legacy, k_id_mode_cohort);
  d.cohort_bucket = bucket;
  return d;
}

std::optional<std::string> RouteSplit::legacy_redirect_url(std::string_view raw_path, std::string_view query) const {
  return redirect_url(config_.legacy_base_url, raw_path, query);
}

std::optional<std::string> RouteSplit::rust_redirect_url(std::string_view raw_path, std::string_view query) const {
  return redirect_url(config_.rust_base_url, raw_path, query);
}

}  // namespace cutover::routing
