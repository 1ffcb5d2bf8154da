// What the decide endpoint and the state endpoint need besides the engine
// (docs/formats/http-api.md, "Live traffic and live control"): the cohort
// key of a decide request (a named header, else a named cookie), and the
// state endpoint's body. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cutover/routing/overrides.h"
#include "cutover/routing/route_split.h"
#include "cutover/server/metrics.h"

namespace cutover::server {

// The value of cookie `name` in one Cookie header ("a=1; b=2"): the first
// pair with that name, its value as sent with surrounding '"' removed; ""
// when absent.
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

// "CONFIG.OVERRIDE", e.g. "2.17": x-cutover-revision and the state's revision.
std::string revision_text(uint64_t config_revision, uint64_t override_revision);

// The state endpoint's data object ({"revision": ..., "groups": [...], ...}).
std::string live_state_json(const routing::RouteSplit& engine, const routing::OverrideState& state,
                            const Metrics::Recent& recent, uint64_t config_revision);

}  // namespace cutover::server
