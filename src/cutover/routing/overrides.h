// Runtime overrides: how an override request (SPEC §6, POST
// .../route-split/override {target, domain?}) changes the Overrides, and the
// state file that keeps them across restarts (docs/formats/http-api.md).
// Pure: the server does the file I/O and the locking.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "cutover/base/error.h"
#include "cutover/routing/route_split.h"

namespace cutover::routing {

// A request field that is wrong, with the message the API returns (the
// reference's wording, e.g. "Target must be one of: legacy, rust, rollback, clear.").
struct FieldError {
  std::string field;
  std::string message;
  int status = 422;                      // the HTTP status the API answers with
  std::string code = "invalid_request";  // and the error code
};

// An override request (POST .../route-split/override): either a target
// (apply_override) or a mode (promote, abort, undo; docs/formats/http-api.md).
struct OverrideRequest {
  std::optional<std::string> target;  // as sent
  std::optional<std::string> domain;  // as sent; blank reads as none
  std::optional<std::string> mode;    // as sent
  std::optional<int64_t> cohort_percentage;
};

// What an override request did.
struct OverrideChange {
  std::string target;                        // the request's target, trimmed and lower-cased ("rust", "rollback", ...)
  std::string scope;                         // "global" or "domain:<group>"
  std::optional<RouteTarget> previous;       // the override before (nullopt: none)
  std::optional<RouteTarget> current;        // the override after (nullopt: cleared)
  std::string mode = "target";               // "target", "promote", "abort", "undo"
  std::optional<uint8_t> cohort_percentage;  // promote's
  Overrides before, after;                   // the whole overrides before and after
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

// The state file (DIR/overrides.json). v1 files hold no percentages and no
// history; a file that does is written as v2. Both are read.
inline constexpr std::string_view k_state_schema = "cutover.route_overrides.v1";
inline constexpr std::string_view k_state_schema_v2 = "cutover.route_overrides.v2";
inline constexpr size_t k_max_undo_history = 32;

struct OverrideState {
  Overrides overrides;
  uint64_t revision = 0;           // +1 on every change
  std::string updated_at;          // RFC 3339, "" before the first change
  std::string updated_by;          // token name of the last change, "" before the first
  std::vector<Overrides> history;  // earlier overrides for undo, newest last (at most k_max_undo_history)
  bool operator==(const OverrideState&) const = default;
};

// Applies any override request to `state` (overrides and history; not the
// revision): a target as apply_override does; promote (the group's or the
// global percentage, clearing the group's / the global override); abort (the
// group, or every group and the global override, to its rollback target);
// undo (the overrides before the last change; 409 nothing_to_undo when there
// is none). Every change but undo pushes the overrides before it on the
// history. Errors leave `state` unchanged.
tl::expected<OverrideChange, FieldError> apply_request(const RouteSplit& engine, OverrideState& state,
                                                       const OverrideRequest& request);

// The overrides as compact JSON (one line, sorted keys): {"global","groups","global_percentage","group_percentages"}.
std::string overrides_to_json(const Overrides& overrides);

// The state file's bytes (canonical JSON, ends with a newline).
std::string state_to_json(const OverrideState& state);
// Parses a state file; `source` names it in errors. Anything unexpected (bad
// JSON, wrong schema, unknown target, a group `engine` does not have) is a
// corruption error that says what to do: the server refuses to start rather
// than forget a rollback.
Result<OverrideState> parse_state(std::string_view text, const std::string& source, const RouteSplit& engine);

}  // namespace cutover::routing
