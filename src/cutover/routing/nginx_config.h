// The nginx front for the route split (issue 14, docs/EDGE.md): from a route
// config, the text of an nginx `http {}` include that proxies every request
// to the legacy or the new service as cutover's decider says, asked through
// `auth_request`, with the pinned routes answered by nginx itself and a fail
// safe to legacy when the decider is down, slow or answers anything but 204.
// Pure: text in, text out; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cutover/base/error.h"
#include "cutover/routing/config.h"

namespace cutover::routing {

// The decider's path on `cutover serve` (docs/formats/http-api.md).
inline constexpr std::string_view k_decide_path = "/api/v1/route-split/decide";

struct NginxOptions {
  std::string decider;  // HOST:PORT of the decide endpoint (IPv6 as [ADDR]:PORT)
  std::string listen;   // [ADDR:]PORT the front server listens on
  int64_t decider_connect_timeout_ms = 100;
  int64_t decider_read_timeout_ms = 200;  // also the send timeout
  std::string config_source;              // named in the header comment, e.g. the --config file
};

// The include's text. Needs both base URLs in `config`; refuses (with
// invalid_argument naming the field) a decider, listen address, base URL,
// pinned reason or domain that could not be written into an nginx config
// safely, and timeouts outside 1 ms .. 60 s.
Result<std::string> nginx_config(const RouteConfig& config, const NginxOptions& options);

// The regular expression (PCRE, and also valid ECMAScript) the pinned prefix
// `prefix` (normalised) becomes, matched against nginx's raw $request_uri
// (path and query as the client sent them). It matches exactly the raw URIs
// whose path consists only of characters that need no decoding (RFC 3986
// unreserved, sub-delims, ':', '@', '/'; no '%') and whose path, normalised
// as the decider normalises it (normalize_path), the prefix matches
// (group_prefix_matches); the query (after the first '?') is ignored.
// nullopt when the prefix holds a character outside that set: no such raw
// URI can normalise to it, so the pin is left to the decider.
std::optional<std::string> nginx_pin_regex(std::string_view prefix);

// True if `c` may appear in a raw path that nginx answers for a pin without
// asking the decider (the set above, '/' included).
bool nginx_pin_safe_char(char c);

}  // namespace cutover::routing
