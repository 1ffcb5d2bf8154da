// The control API and the web entry as pure handlers: a request in, a
// response out, no sockets and no HTTP library (docs/formats/http-api.md).
// The event loop (event_loop.h) and ControlServer frame the bytes and carry
// an ApiRequest here and an ApiResponse back.
//
//   GET  /api/v1/control/route-split/status    viewer token
//   POST /api/v1/control/route-split/evaluate  viewer token
//   POST /api/v1/control/route-split/override  operator token; audited, synced
//   GET  /metrics                              viewer token
//   GET  /healthz, /readyz                     no token
//   GET  /api/v1/control/route-split/state     viewer token (live state, for routes get)
//   GET  /api/v1/route-split/decide            viewer token here; none on the decide listener
//   GET  any other path                        the web entry: decide, redirect
//
// Thread safety: handle() may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cutover/base/clock.h"
#include "cutover/routing/route_split.h"
#include "cutover/server/metrics.h"
#include "cutover/server/state_backend.h"
#include "cutover/server/tokens.h"

namespace cutover::server {

struct ApiRequest {
  std::string_view method;  // "GET", "POST", ...
  std::string_view target;  // the raw request target: path and query, before any decoding
  std::string_view body;
  // In the order received; names compare case-insensitively.
  std::vector<std::pair<std::string_view, std::string_view>> headers;

  // The request's raw bytes when the server has them (event_loop.h); ""
  // otherwise.
  std::string_view raw;

  // The first value of header `name`, or "" when absent.
  std::string_view header(std::string_view name) const;
  // Likewise, as sent (never percent-decoded): from `raw` when set, else header().
  std::string_view raw_header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

struct ApiResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type and Content-Length
  std::string body;
  std::string content_type;  // "" = no content
};

// The raw request path and query (before any percent-decoding), as the
// reference matches and redirects them.
struct RawTarget {
  std::string_view path;
  std::string_view query;
};
RawTarget split_target(std::string_view target);

// Which route a request takes (the metrics' label).
HttpRoute classify(std::string_view method, std::string_view path);

// Bytes a Location header should not carry raw are percent-encoded.
std::string encode_for_location(std::string_view s);

// The error envelope: {"message":..,"error":{"code":..,"message":..}}.
ApiResponse error_response(int status, std::string_view code, std::string_view message);

class ControlApi {
 public:
  // REQUIRES: every reference outlives the API.
  ControlApi(const routing::RouteSplit& engine, const TokenSet& tokens, OverrideBackend& store, AuditSink& audit,
             Metrics& metrics, base::Clock& clock, size_t max_body_bytes, std::string request_id_prefix);

  // Answers one request.
  ApiResponse handle(const ApiRequest& req);
  // Answers one request on the decide listener: the decide endpoint without
  // a token, /healthz, /readyz; 404 for anything else.
  ApiResponse handle_decide_listener(const ApiRequest& req);

  // The config revision decisions report (1 at start; the server raises it
  // when it reloads the config).
  void set_config_revision(uint64_t revision) { config_revision_.store(revision); }
  // Decides with `engine` from now on (a reloaded config); decisions in
  // flight finish with the one they started with. REQUIRES: `engine`
  // outlives the API, and names the same groups and pinned routes in the
  // same order (the metrics' label tables).
  void set_engine(const routing::RouteSplit& engine) { engine_.store(&engine, std::memory_order_release); }
  uint64_t config_revision() const { return config_revision_.load(); }
  // Authenticates with `tokens` from now on (a reloaded tokens file);
  // requests in flight finish with the set they started with. REQUIRES:
  // `tokens` outlives the API.
  void set_tokens(const TokenSet& tokens) { tokens_.store(&tokens, std::memory_order_release); }
  void set_start_time(double unix_seconds) { start_time_seconds_ = unix_seconds; }

  // The envelope for the HTTP layer's own refusals (400, 413, 414, ...);
  // `path` is the decoded request path.
  ApiResponse library_error(int status, std::string_view path) const;
  // A request refused by its framing (http_framing.h), before it was parsed.
  static ApiResponse refusal(std::string_view problem);
  static ApiResponse internal_error();

  // From now on /readyz answers 503 "shutting down".
  void begin_shutdown() { stopping_.store(true); }

 private:
  std::string request_id(const ApiRequest& req, ApiResponse& res);
  // The caller's token, or nullptr after answering 401.
  const Token* authenticate(const ApiRequest& req, ApiResponse& res) const;
  void route(const ApiRequest& req, ApiResponse& res, const RawTarget& target, const std::string& id);
  void payload_too_large(ApiResponse& res) const;
  void readyz(ApiResponse& res) const;
  void status(const ApiRequest& req, ApiResponse& res);
  void evaluate(const ApiRequest& req, ApiResponse& res);
  void override_route(const ApiRequest& req, ApiResponse& res, const std::string& request);
  std::string override_audit_line(const OverrideBackend::Applied& a, const std::string& request, const Token& token,
                                  std::string_view operator_name) const;
  void web_entry(const ApiRequest& req, ApiResponse& res, const RawTarget& target);
  void decide(const ApiRequest& req, ApiResponse& res);
  void live_state(const ApiRequest& req, ApiResponse& res);
  void metrics(const ApiRequest& req, ApiResponse& res);

  const routing::RouteSplit& engine() const { return *engine_.load(std::memory_order_acquire); }
  std::atomic<const routing::RouteSplit*> engine_;
  std::atomic<const TokenSet*> tokens_;
  OverrideBackend& store_;
  AuditSink& audit_;
  Metrics& metrics_;
  base::Clock& clock_;
  size_t max_body_bytes_;
  std::string request_id_prefix_;
  std::atomic<uint64_t> request_counter_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> config_revision_{1};
  double start_time_seconds_ = 0;
};

}  // namespace cutover::server
