#include "cutover/server/live_state.h"

#include "cutover/json/writer.h"
#include "cutover/routing/paths.h"

namespace cutover::server {
namespace {

using routing::RouteTarget;

void write_optional_target(json::Writer& w, std::string_view name, std::optional<RouteTarget> t) {
  w.key(name);
  if (t)
    w.string(routing::target_name(*t));
  else
    w.null();
}

void write_optional_percentage(json::Writer& w, std::string_view name, std::optional<uint8_t> p) {
  w.key(name);
  if (p)
    w.number(static_cast<uint64_t>(*p));
  else
    w.null();
}

void write_counts(json::Writer& w, const std::array<uint64_t, 2>& counts) {
  w.key("decisions_last_minute").begin_object();
  w.member("legacy", counts[0]).member("rust_shell", counts[1]);
  w.end_object();
}

// What a group's new-service paths get now: a target, or "split".
std::string_view group_target(const routing::RouteConfig& config, const routing::Overrides& o,
                              std::optional<RouteTarget> group_override, std::optional<uint8_t> live) {
  if (group_override) return routing::target_name(*group_override);
  if (config.force_legacy) return "legacy";
  if (o.global) return routing::target_name(*o.global);
  if (!config.enabled) return "legacy";
  if (!live) {
    if (config.mode == routing::RouteMode::legacy) return "legacy";
    if (config.mode == routing::RouteMode::rust) return "rust_shell";
  }
  uint8_t p = live.value_or(config.cohort_percentage);
  if (p == 0) return "legacy";
  if (p >= 100) return "rust_shell";
  return "split";
}

}  // namespace

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t end = header.find(';');
    std::string_view pair = routing::trim(header.substr(0, end));
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || routing::trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = routing::trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return value;
  }
  return {};
}

std::string revision_text(uint64_t config_revision, uint64_t override_revision) {
  return std::to_string(config_revision) + "." + std::to_string(override_revision);
}

std::string live_state_json(const routing::RouteSplit& engine, const routing::OverrideState& state,
                            const Metrics::Recent& recent, uint64_t config_revision) {
  const routing::RouteConfig& config = engine.config();
  const routing::Overrides& o = state.overrides;
  json::Writer w;
  w.begin_object();
  w.member("revision", revision_text(config_revision, state.revision));
  w.member("config_revision", config_revision).member("override_revision", state.revision);
  w.member("updated_at", state.updated_at).member("updated_by", state.updated_by);
  w.member("mode", routing::mode_name(config.mode)).member("enabled", config.enabled);
  w.member("force_legacy", config.force_legacy);
  write_optional_target(w, "override_target", o.global);
  w.member("cohort_percentage", static_cast<uint64_t>(o.global_percentage.value_or(config.cohort_percentage)));
  write_optional_percentage(w, "cohort_percentage_override", o.global_percentage);
  w.member("undo_available", !state.history.empty());
  w.key("groups").begin_array();
  for (size_t i = 0; i < config.route_groups.size(); ++i) {
    const routing::RouteGroup& g = config.route_groups[i];
    auto it = o.groups.find(g.domain);
    std::optional<RouteTarget> group_override;
    if (it != o.groups.end()) group_override = it->second;
    std::optional<uint8_t> live = routing::RouteSplit::live_percentage(o, &g);
    auto own = o.group_percentages.find(g.domain);
    w.begin_object();
    w.member("domain", g.domain);
    w.member("target", group_target(config, o, group_override, live));
    write_optional_target(w, "override_target", group_override);
    w.member("rollback_target", routing::target_name(g.rollback_target));
    w.member("cohort_percentage", static_cast<uint64_t>(live.value_or(config.cohort_percentage)));
    write_optional_percentage(w, "cohort_percentage_override",
                              own == o.group_percentages.end() ? std::nullopt : std::optional(own->second));
    // Domain ids list the groups first, in config order (RouteSplit).
    write_counts(w, i < recent.by_domain.size() ? recent.by_domain[i] : std::array<uint64_t, 2>{});
    w.end_object();
  }
  w.end_array();
  write_counts(w, recent.total);
  w.end_object();
  return w.take();
}

}  // namespace cutover::server
