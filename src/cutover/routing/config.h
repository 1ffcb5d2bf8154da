// The route-split configuration (SPEC §6): the rollback matrix (route groups
// in order, each with its prefixes and rollback target), pinned routes, the
// split mode and cohort percentage, the new-service routes, the kill switch
// and the targets' base URLs. The format is docs/formats/route-config.md.
//
// Layers, each over the one before:
//   1. the reference defaults, built in (reference_config());
//   2. a config file (parse_route_config()): every key optional;
//   3. the reference's environment variables (apply_environment()), parsed
//      with the reference's rules, from a map the caller passes (the CLI
//      passes the real environment; tests pass their own).
// Pure: no I/O. Every function here is thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"

namespace cutover::routing {

enum class RouteTarget : uint8_t { legacy, rust_shell };
enum class RouteMode : uint8_t { legacy, rust, cohort };

// "legacy", "rust_shell".
std::string_view target_name(RouteTarget target);
// "legacy", "rust", "cohort".
std::string_view mode_name(RouteMode mode);

struct RouteGroup {
  std::string domain;                       // normalised group name, e.g. "billing_l402"
  std::vector<std::string> route_prefixes;  // normalised paths
  RouteTarget rollback_target = RouteTarget::legacy;
  bool operator==(const RouteGroup&) const = default;
};

// A path that always goes to one target, before any override or switch
// (decision step 1).
struct PinnedRoute {
  std::string prefix;  // normalised path; matches itself and the paths below it
  RouteTarget target = RouteTarget::rust_shell;
  std::string reason;        // the decision's reason
  std::string route_domain;  // the decision's route_domain
  bool operator==(const PinnedRoute&) const = default;
};

struct RouteConfig {
  bool enabled = true;
  RouteMode mode = RouteMode::rust;
  uint8_t cohort_percentage = 100;  // 0..100
  std::string salt = "openagents-route-split-v1";
  std::vector<std::string> rust_routes = {"/"};  // normalised, no duplicates; "/" = every path
  bool force_legacy = false;
  std::optional<std::string> legacy_base_url;  // no trailing "/"
  std::optional<std::string> rust_base_url;    // no trailing "/"
  std::vector<RouteGroup> route_groups;        // tried in order
  std::vector<PinnedRoute> pinned_routes;      // tried in order, before everything else
  std::optional<std::string> tokens_file;      // as written; relative to the config file's folder
  // The request header / cookie the cohort key is read from (HTTP token
  // names; unset: none). Read and checked; not used yet (issue 14).
  std::optional<std::string> cohort_key_header;
  std::optional<std::string> cohort_key_cookie;
  std::string source = "built-in";       // the config file, for messages
  std::vector<std::string> environment;  // the variables that overrode the file, "NAME=value"
  bool operator==(const RouteConfig&) const = default;
};

// The reference matrix and defaults (SPEC §6): groups auth_entry,
// account_settings_admin, billing_l402 (rollback legacy) and chat_pilot
// (rollback rust_shell); pinned /api/runtime/codex/workers and /api; mode
// rust, every path a new-service route, 100 %, salt
// "openagents-route-split-v1", enabled, no kill switch, no base URLs.
RouteConfig reference_config();

// The most route groups and pinned routes a config file may hold. Decision
// ids (Decision::domain_id, reason_id) are 16-bit and the load-time checks
// and the decisions grow with these counts; a rollback matrix holds tens.
inline constexpr size_t k_max_route_groups = 1000;
inline constexpr size_t k_max_pinned_routes = 1000;

// Parses a config file's text over the reference defaults. `source` names the
// file in errors. Every problem is collected; the error (invalid_argument)
// lists them all, each with its field ("route_groups[1].rollback_target:
// unknown target 'legcy' (expected legacy or rust_shell)"). Besides each
// field's own rules, it refuses what could never take effect: a prefix that
// an earlier group's prefix matches (group_prefix_matches: the same prefix,
// or one below it), since groups are tried in order, and likewise a pinned
// route that an earlier pinned route matches; and more than
// k_max_route_groups groups or k_max_pinned_routes pinned routes.
Result<RouteConfig> parse_route_config(std::string_view text, const std::string& source);

// The reference's variables and how each is read when it is set:
//   OA_ROUTE_SPLIT_ENABLED            "1", "true", "yes" (trimmed, any case) -> on; anything else -> off
//   OA_ROUTE_SPLIT_MODE               trimmed, lower-cased; "rust", "cohort", anything else -> legacy;
//                                     blank -> not set
//   OA_ROUTE_SPLIT_RUST_ROUTES        comma-separated, each trimmed, blanks dropped, normalised, deduplicated
//                                     (set but empty -> no new-service routes)
//   OA_ROUTE_SPLIT_COHORT_PERCENTAGE  an integer 0-255 as Rust's u8 parses it (optional "+", digits only),
//                                     then capped at 100; anything else -> not set (with a warning)
//   OA_ROUTE_SPLIT_SALT               used as is unless blank (blank -> not set)
//   OA_ROUTE_SPLIT_FORCE_LEGACY       like ENABLED
//   OA_ROUTE_SPLIT_LEGACY_BASE_URL    trimmed, trailing "/" removed; empty -> no legacy target
// A value that is not valid UTF-8 is not set (with a warning): the reference
// reads the variables with std::env::var, which refuses such a value.
// "Not set" keeps the file's value (the reference falls back to its default,
// which is where the file sits here).
using Environment = std::map<std::string, std::string, std::less<>>;

inline constexpr std::string_view k_env_enabled = "OA_ROUTE_SPLIT_ENABLED";
inline constexpr std::string_view k_env_mode = "OA_ROUTE_SPLIT_MODE";
inline constexpr std::string_view k_env_rust_routes = "OA_ROUTE_SPLIT_RUST_ROUTES";
inline constexpr std::string_view k_env_cohort_percentage = "OA_ROUTE_SPLIT_COHORT_PERCENTAGE";
inline constexpr std::string_view k_env_salt = "OA_ROUTE_SPLIT_SALT";
inline constexpr std::string_view k_env_force_legacy = "OA_ROUTE_SPLIT_FORCE_LEGACY";
inline constexpr std::string_view k_env_legacy_base_url = "OA_ROUTE_SPLIT_LEGACY_BASE_URL";

// Applies the variables above that `env` holds; records each in
// config.environment. Returns warnings for values that were ignored. A value
// that would make the config unsafe (a legacy base URL that is not http(s))
// is an error (invalid_argument) naming the variable.
Result<std::vector<std::string>> apply_environment(RouteConfig& config, const Environment& env);

// Parses a target name as config files write it: "legacy", "rust_shell" or
// "rust" (trimmed, any case).
std::optional<RouteTarget> parse_target_name(std::string_view name);

}  // namespace cutover::routing
