// Runtime overrides: how an override request (SPEC §6, POST
// .../route-split/override {target, domain?}) changes the Overrides, and the
// state file that keeps them across restarts (docs/formats/http-api.md).
// Pure: the server does the file I/O and the locking.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "cutover/base/error.h"
#include "cutover/routing/route_split.h"

namespace cutover::routing {

// A request field that is wrong, with the message the API returns (the
// reference's wording, e.g. "Target must be one of: legacy, rust, rollback, clear.").
struct FieldError {
  std::string field;
  std::string message;
};

// What an override request did.
struct OverrideChange {
  std::string target;                   // the request's target, trimmed and lower-cased ("rust", "rollback", ...)
  std::string scope;                    // "global" or "domain:<group>"
  std::optional<RouteTarget> previous;  // the override before (nullopt: none)
  std::optional<RouteTarget> current;   // the override after (nullopt: cleared)
};

// Applies an override request to `overrides`. Targets (trimmed, any case):
//   legacy; rust | rust_shell; clear | default (remove the override);
//   rollback (global: legacy; per group: the group's rollback target).
// `domain` (trimmed; blank = none) names a route group (trimmed, lower-cased,
// '-' -> '_'); without it the override is global. Errors: an unknown target
// (field "target"), an unknown group (field "domain"); `overrides` is then
// unchanged.
tl::expected<OverrideChange, FieldError> apply_override(const RouteSplit& engine, Overrides& overrides,
                                                        std::string_view target,
                                                        std::optional<std::string_view> domain);

// The state file (DIR/overrides.json).
inline constexpr std::string_view k_state_schema = "cutover.route_overrides.v1";

struct OverrideState {
  Overrides overrides;
  uint64_t revision = 0;   // +1 on every change
  std::string updated_at;  // RFC 3339, "" before the first change
  std::string updated_by;  // token name of the last change, "" before the first
  bool operator==(const OverrideState&) const = default;
};

// The state file's bytes (canonical JSON, ends with a newline).
std::string state_to_json(const OverrideState& state);
// Parses a state file; `source` names it in errors. Anything unexpected (bad
// JSON, wrong schema, unknown target, a group `engine` does not have) is a
// corruption error that says what to do: the server refuses to start rather
// than forget a rollback.
Result<OverrideState> parse_state(std::string_view text, const std::string& source, const RouteSplit& engine);

}  // namespace cutover::routing
