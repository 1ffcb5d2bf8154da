// The JSON the control API and `cutover routes --json` print: a decision and
// the route-split status, with the reference's field names (SPEC §6).
// Compact JSON, members in the reference's order.
#pragma once

#include <string>

#include "cutover/json/writer.h"
#include "cutover/routing/route_split.h"

namespace cutover::routing {

// {path, target, reason, route_domain, rollback_target, cohort_bucket
// (mode_cohort only), cohort_key}
void write_decision(json::Writer& out, const Decision& decision);
std::string decision_json(const Decision& decision);

// {enabled, mode, cohort_percentage, rust_routes, force_legacy,
// legacy_base_url, rust_base_url, override_target, route_groups[{domain,
// route_prefixes, rollback_target, override_target}], rollback_matrix,
// domain_overrides, pinned_routes[{prefix, target, reason, route_domain}]}
void write_status(json::Writer& out, const RouteSplit& engine, const Overrides& overrides);
std::string status_json(const RouteSplit& engine, const Overrides& overrides);

// The config file (docs/formats/route-config.md) that parse_route_config
// reads back as `config` (source and environment aside): every key written,
// optional ones (tokens_file, cohort_key_header, cohort_key_cookie) when set.
// Canonical JSON (pretty, keys sorted; arrays keep their order).
std::string config_json(const RouteConfig& config);

}  // namespace cutover::routing
