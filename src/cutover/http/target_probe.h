// `cutover routes check` (issue 17, "Rollback targets answer"): for every
// route group of a route config, its rollback target's base URL is configured
// and answers the health path (any 2xx or 3xx), and so does its forward
// target (the other one); each pinned route's target the same way. Only the
// configured base URLs are contacted, each at most once per check (groups
// that share a target share its answer). The report is
// docs/formats/routes-report.md (cutover.routes_report.v1).
//
// It asks through http::Client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/routing/config.h"

namespace cutover::http {

inline constexpr std::string_view k_routes_report_format = "cutover.routes_report.v1";

struct ProbeOptions {
  std::string health_path = "/healthz";  // starts with '/'
  int64_t timeout_ms = 2000;             // connect, and then the answer; 1..600000
};

// One target asked once.
struct TargetCheck {
  std::string role;                // "rollback" or "forward" (a group), "pinned" (a pinned route)
  std::string target;              // "legacy" or "rust_shell"
  std::optional<std::string> url;  // base URL + health path; nullopt when the base URL is not configured
  bool ok = false;
  std::optional<int> status;         // the HTTP status, when one came back
  std::optional<std::string> error;  // "refused", "timeout", "status 500", "tls: ...", "not configured", ...
  int64_t duration_ms = 0;
};

struct GroupCheck {
  std::string group;
  bool ok = false;
  std::vector<TargetCheck> checks;  // rollback first, then forward
};

struct PinCheck {
  std::string route;
  std::string target;
  bool ok = false;
  std::vector<TargetCheck> checks;
};

struct RoutesReport {
  bool ok = false;
  std::string created_at;
  std::optional<std::string> config_path;  // absolute; nullopt for the built-in reference
  std::string config_sha256;               // of the file's bytes (or of the built-in matrix, see below)
  std::vector<std::string> environment;    // OA_ROUTE_SPLIT_* that changed the config, "NAME=value"
  std::string health_path;
  int64_t timeout_ms = 0;
  std::vector<GroupCheck> groups;
  std::vector<PinCheck> pins;
};

// What the report's config.sha256 is when no file is given: the SHA-256 of
// the compact JSON of the built-in reference's status (`routes status
// --json` with no overrides, before the environment), so that a report can
// still be matched to "the built-in matrix".
std::string builtin_config_sha256();

// Checks the health path and the timeout. Errors: invalid_argument naming
// the flag.
Status check_probe_options(const ProbeOptions& options);

// Asks every target. `config_path` ("" for the built-in reference) and
// `config_sha256` are what the report records. Never fails: a target that
// cannot be asked is a failing check.
RoutesReport check_route_targets(const routing::RouteConfig& config, const std::string& config_path,
                                 const std::string& config_sha256, const ProbeOptions& options, base::Clock& clock);

// The report as canonical JSON (ends with a newline).
std::string routes_report_json(const RoutesReport& report);

// One line a failing group or pin, naming it and why, e.g.
// "group billing_l402: rollback target legacy (http://127.0.0.1:9/healthz): refused".
std::vector<std::string> routes_report_failures(const RoutesReport& report);

}  // namespace cutover::http
