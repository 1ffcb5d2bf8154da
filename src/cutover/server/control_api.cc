#include "cutover/server/control_api.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cutover/json/writer.h"
#include "cutover/routing/control_request.h"
#include "cutover/routing/overrides.h"
#include "cutover/routing/paths.h"
#include "cutover/routing/report.h"
#include "cutover/server/live_state.h"

namespace cutover::server {
namespace {

using JsonWriter = json::Writer;

constexpr std::string_view k_status_path = "/api/v1/control/route-split/status";
constexpr std::string_view k_evaluate_path = "/api/v1/control/route-split/evaluate";
constexpr std::string_view k_override_path = "/api/v1/control/route-split/override";
constexpr std::string_view k_state_path = "/api/v1/control/route-split/state";
constexpr std::string_view k_decide_path = "/api/v1/route-split/decide";
constexpr std::string_view k_json = "application/json";

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

void set_header(ApiResponse& res, std::string name, std::string value) {
  res.headers.emplace_back(std::move(name), std::move(value));
}

void send_json(ApiResponse& res, int status, std::string body) {
  res.status = status;
  res.body = std::move(body);
  res.content_type = k_json;
}

// {"data":DATA}, DATA already JSON.
std::string data_envelope(std::string_view data_json) {
  std::string out;
  out.reserve(data_json.size() + 9);
  JsonWriter w(std::move(out));
  w.begin_object().key("data").raw(data_json).end_object();
  return w.take();
}

// The fixed bodies, written once.
const std::string& health_body() {
  static const std::string body =
      JsonWriter().begin_object().member("status", "ok").member("service", "cutover").end_object().take();
  return body;
}
const std::string& ready_body() {
  static const std::string body = JsonWriter().begin_object().member("status", "ready").end_object().take();
  return body;
}

using FieldErrors = std::vector<std::pair<std::string, std::string>>;  // field, message; in order

void send_error(ApiResponse& res, int status, std::string_view code, std::string_view message,
                const FieldErrors& errors = {}) {
  JsonWriter w;
  w.begin_object();
  w.member("message", message);
  w.key("error").begin_object().member("code", code).member("message", message).end_object();
  if (!errors.empty()) {
    w.key("errors").begin_object();
    std::map<std::string, std::vector<std::string>> by_field;
    for (const auto& [field, msg] : errors) by_field[field].push_back(msg);
    for (const auto& [field, msgs] : by_field) {
      w.key(field).begin_array();
      for (const auto& m : msgs) w.string(m);
      w.end_array();
    }
    w.end_object();
  }
  w.end_object();
  send_json(res, status, w.take());
}

void send_field_errors(ApiResponse& res, const FieldErrors& errors) {
  std::string message = errors.front().second;
  if (errors.size() > 1) {
    message += " (and " + std::to_string(errors.size() - 1) + " more error" + (errors.size() > 2 ? "s" : "") + ")";
  }
  send_error(res, 422, "invalid_request", message, errors);
}

// A refused request body (routing/control_request.h): 400 when it is not
// JSON, 422 otherwise.
void send_request_error(ApiResponse& res, const routing::RequestError& error) {
  if (error.kind != routing::RequestError::Kind::invalid_fields) {
    return send_error(res, error.kind == routing::RequestError::Kind::not_json ? 400 : 422, "invalid_request",
                      error.message);
  }
  FieldErrors errors;
  for (const routing::FieldError& e : error.fields) errors.push_back({e.field, e.message});
  send_field_errors(res, errors);
}

// An override refused because the shared state is unavailable: nothing
// was written, anywhere.
void state_unavailable(ApiResponse& res, const std::string& why) {
  send_error(res, 503, "state_unavailable",
             "The shared state is unavailable (" + why + "); the override was not applied: retry when it is back.");
}

void method_not_allowed(ApiResponse& res, const char* allow) {
  set_header(res, "Allow", allow);
  send_error(res, 405, "method_not_allowed", std::string("Method not allowed; this path takes ") + allow + ".");
}

// The first of these headers with a non-blank value, trimmed; "" if none.
std::string cohort_key_from_headers(const ApiRequest& req) {
  for (const char* name : {"x-oa-route-key", "x-device-id", "x-forwarded-for", "user-agent"}) {
    if (!req.has_header(name)) continue;
    std::string_view v = routing::trim(req.header(name));
    if (!v.empty()) return std::string(v);
  }
  return "";
}

bool usable_request_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == ':';
  });
}

}  // namespace

std::string_view ApiRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (same_name(n, name)) return v;
  }
  return {};
}

std::string_view ApiRequest::raw_header(std::string_view name) const {
  if (raw.empty()) return header(name);
  // Framing (http_framing.h) checked the block: CRLF lines, no folding,
  // "name:" with no white space before the colon.
  size_t pos = raw.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < raw.size()) {
    size_t start = pos + 2;
    size_t end = raw.find("\r\n", start);
    if (end == std::string_view::npos || end == start) break;  // the blank line ends the block
    std::string_view line = raw.substr(start, end - start);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && same_name(line.substr(0, colon), name)) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      return v;
    }
    pos = end;
  }
  return {};
}

bool ApiRequest::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return same_name(h.first, name); });
}

RawTarget split_target(std::string_view t) {
  size_t q = t.find('?');
  if (q == std::string_view::npos) return {t, {}};
  return {t.substr(0, q), t.substr(q + 1)};
}

std::string encode_for_location(std::string_view s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) {
      out.push_back('%');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

HttpRoute classify(std::string_view method, std::string_view path) {
  if (path == k_status_path) return HttpRoute::status;
  if (path == k_evaluate_path) return HttpRoute::evaluate;
  if (path == k_override_path) return HttpRoute::override_;
  if (path == "/healthz") return HttpRoute::healthz;
  if (path == "/readyz") return HttpRoute::readyz;
  if (path == "/metrics") return HttpRoute::metrics;
  if (path == k_decide_path) return HttpRoute::decide;
  if (path == k_state_path) return HttpRoute::state;
  if (method == "GET" || method == "HEAD") return HttpRoute::web;
  return HttpRoute::other;
}

ApiResponse error_response(int status, std::string_view code, std::string_view message) {
  ApiResponse res;
  send_error(res, status, code, message);
  return res;
}

ControlApi::ControlApi(const routing::RouteSplit& engine, const TokenSet& tokens, OverrideBackend& store,
                       AuditSink& audit, Metrics& metrics, base::Clock& clock, size_t max_body_bytes,
                       std::string request_id_prefix)
    : engine_(&engine),
      tokens_(&tokens),
      store_(store),
      audit_(audit),
      metrics_(metrics),
      clock_(clock),
      max_body_bytes_(max_body_bytes),
      request_id_prefix_(std::move(request_id_prefix)) {}

ApiResponse ControlApi::refusal(std::string_view problem) {
  return error_response(400, "invalid_request",
                        "The request is not valid HTTP/1.1: " + std::string(problem) + "; the connection is closed.");
}

ApiResponse ControlApi::internal_error() { return error_response(500, "internal_error", "Internal server error."); }

ApiResponse ControlApi::library_error(int status, std::string_view path) const {
  ApiResponse res;
  switch (status) {
    case 413:
      payload_too_large(res);
      break;
    case 414:
      send_error(res, 414, "uri_too_long", "The request target is too long.");
      break;
    case 404:
      send_error(res, 404, "not_found", "Route '" + std::string(path) + "' was not found.");
      break;
    case 405:
      method_not_allowed(res, "GET, HEAD");
      break;
    default:
      send_error(res, status, "invalid_request", "The request could not be read.");
      break;
  }
  return res;
}

std::string ControlApi::request_id(const ApiRequest& req, ApiResponse& res) {
  std::string id(req.header("x-request-id"));
  if (!usable_request_id(id)) {
    id = request_id_prefix_ + std::to_string(request_counter_.fetch_add(1, std::memory_order_relaxed));
  }
  set_header(res, "x-request-id", id);
  return id;
}

const Token* ControlApi::authenticate(const ApiRequest& req, ApiResponse& res) const {
  std::string_view h = routing::trim(req.header("Authorization"));
  const Token* token = nullptr;
  if (h.substr(0, 7) == "Bearer ") {
    std::string_view bearer = routing::trim(h.substr(7));
    if (!bearer.empty()) token = tokens_.load(std::memory_order_acquire)->authenticate(bearer);
  }
  if (token == nullptr) {
    set_header(res, "WWW-Authenticate", "Bearer");
    send_error(res, 401, "unauthorized", "Unauthenticated.");
  }
  return token;
}

ApiResponse ControlApi::handle(const ApiRequest& req) {
  ApiResponse res;
  // The HTTP layer holds a Content-Length to the limit itself, but not a
  // chunked body: the event loop buffers one up to its own cap (1 MiB).
  if (req.body.size() > max_body_bytes_) {
    payload_too_large(res);
    return res;
  }
  if (req.target.empty() || req.target.front() != '/') {
    // Only origin-form targets: anything else could turn a redirect into
    // one to another host (base URL + "evil.example/...").
    send_error(res, 400, "invalid_request", "The request target must be a path starting with '/'.");
    return res;
  }
  RawTarget target = split_target(req.target);
  std::string id = request_id(req, res);
  route(req, res, target, id);
  return res;
}

void ControlApi::route(const ApiRequest& req, ApiResponse& res, const RawTarget& target, const std::string& id) {
  bool get = req.method == "GET" || req.method == "HEAD";
  bool post = req.method == "POST";
  switch (classify(req.method, target.path)) {
    case HttpRoute::healthz:
      if (!get) return method_not_allowed(res, "GET, HEAD");
      return send_json(res, 200, health_body());
    case HttpRoute::readyz:
      if (!get) return method_not_allowed(res, "GET, HEAD");
      return readyz(res);
    case HttpRoute::metrics:
      if (!get) return method_not_allowed(res, "GET, HEAD");
      return metrics(req, res);
    case HttpRoute::decide:
      if (!get) return method_not_allowed(res, "GET, HEAD");
      if (authenticate(req, res) == nullptr) return;
      return decide(req, res);
    case HttpRoute::state:
      if (!get) return method_not_allowed(res, "GET, HEAD");
      return live_state(req, res);
    case HttpRoute::status:
      if (!get) return method_not_allowed(res, "GET, HEAD");
      return status(req, res);
    case HttpRoute::evaluate:
      if (!post) return method_not_allowed(res, "POST");
      return evaluate(req, res);
    case HttpRoute::override_:
      if (!post) return method_not_allowed(res, "POST");
      return override_route(req, res, id);
    case HttpRoute::web:
      return web_entry(req, res, target);
    case HttpRoute::other:
    case HttpRoute::count_:
      return method_not_allowed(res, "GET, HEAD");
  }
}

void ControlApi::payload_too_large(ApiResponse& res) const {
  send_error(res, 413, "payload_too_large",
             "The request body is larger than " + std::to_string(max_body_bytes_) + " bytes.");
}

void ControlApi::readyz(ApiResponse& res) const {
  std::string problem = stopping_.load() ? std::string("shutting down") : store_.problem();
  if (problem.empty()) return send_json(res, 200, ready_body());
  JsonWriter w;
  w.begin_object().member("status", "not_ready").member("reason", problem).end_object();
  send_json(res, 503, w.take());
}

void ControlApi::status(const ApiRequest& req, ApiResponse& res) {
  if (authenticate(req, res) == nullptr) return;
  std::string body =
      store_.read([&](const routing::OverrideState& s) { return routing::status_json(engine(), s.overrides); });
  send_json(res, 200, data_envelope(body));
}

void ControlApi::evaluate(const ApiRequest& req, ApiResponse& res) {
  if (authenticate(req, res) == nullptr) return;
  auto request = routing::parse_evaluate_request(req.body);
  if (!request) return send_request_error(res, request.error());
  std::string cohort_key = request->cohort_key ? *request->cohort_key : cohort_key_from_headers(req);
  std::string body = store_.read([&](const routing::OverrideState& s) {
    routing::Decision d = engine().evaluate(request->path, cohort_key, s.overrides);
    metrics_.count_decision(DecisionSource::evaluate, d);
    return routing::decision_json(d);
  });
  send_json(res, 200, data_envelope(body));
}

namespace {

// The optional x-cutover-operator header: trimmed, 1-128 printable ASCII.
std::optional<std::string_view> operator_name(const ApiRequest& req, bool& bad) {
  bad = false;
  if (!req.has_header("x-cutover-operator")) return std::nullopt;
  std::string_view v = routing::trim(req.header("x-cutover-operator"));
  bad = v.empty() || v.size() > 128 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
  return v;
}

void optional_target(JsonWriter& w, std::string_view name, std::optional<routing::RouteTarget> t) {
  w.key(name);
  if (t)
    w.string(routing::target_name(*t));
  else
    w.null();
}

}  // namespace

void ControlApi::override_route(const ApiRequest& req, ApiResponse& res, const std::string& request) {
  const Token* token = authenticate(req, res);
  if (token == nullptr) return;
  if (token->role != Role::operator_) {
    return send_error(res, 403, "forbidden", "An operator token is required to change route overrides.");
  }
  bool bad_operator = false;
  std::optional<std::string_view> op = operator_name(req, bad_operator);
  if (bad_operator) {
    return send_field_errors(res,
                             {{"operator", "The x-cutover-operator header must be 1-128 printable ASCII characters."}});
  }
  auto body = routing::parse_override_request(req.body);
  if (!body) return send_request_error(res, body.error());

  if (std::string why = store_.unavailable(); !why.empty()) return state_unavailable(res, why);
  auto record = [&](const OverrideBackend::Applied& a) -> Status {
    return audit_.append(override_audit_line(a, request, *token, op.value_or("")), /*sync=*/true);
  };
  auto applied = store_.apply_request(*body, token->name, record);
  if (!applied) {
    std::fprintf(stderr, "cutover serve: error: override %s: %s\n", request.c_str(), applied.error().message().c_str());
    if (std::string why = store_.unavailable(); !why.empty()) return state_unavailable(res, why);
    if (applied.error().code() == ErrorCode::conflict) {
      return send_error(res, 503, "state_busy", "Another server is updating the overrides; retry.");
    }
    return send_error(res, 500, "internal_error",
                      "The override could not be completed: " + applied.error().message() +
                          " (check the status: the override may be in force without its audit line).");
  }
  if (!*applied) {
    const routing::FieldError& e = applied->error();
    if (e.status != 422) return send_error(res, e.status, e.code, e.message);
    return send_field_errors(res, {{e.field, e.message}});
  }
  const OverrideBackend::Applied& a = **applied;
  metrics_.count_override(a.change.scope, a.change.mode == "target" ? a.change.target : a.change.mode);
  // A target request answers the status, as it always did; a mode the live state.
  if (a.change.mode == "target")
    return send_json(res, 200, data_envelope(routing::status_json(engine(), a.state.overrides)));
  send_json(res, 200, data_envelope(live_state_json(engine(), a.state, metrics_.recent(), config_revision_.load())));
}

std::string ControlApi::override_audit_line(const OverrideBackend::Applied& a, const std::string& request,
                                            const Token& token, std::string_view operator_name) const {
  const routing::OverrideChange& c = a.change;
  JsonWriter w;
  w.begin_object();
  w.member("time", base::rfc3339_utc(clock_.now_ns()));
  w.member("event", "route.split.override.updated");
  w.member("request_id", request);
  w.member("identity", token.name);
  w.member("role", role_name(token.role));
  w.key("operator");
  if (operator_name.empty())
    w.null();
  else
    w.string(operator_name);
  w.member("mode", c.mode);
  if (c.mode == "target") {
    w.member("target", c.target);
    w.member("scope", c.scope);
    optional_target(w, "previous", c.previous);
    optional_target(w, "current", c.current);
  } else {
    w.key("target").null();
    w.member("scope", c.scope);
    if (c.cohort_percentage) w.member("cohort_percentage", static_cast<uint64_t>(*c.cohort_percentage));
    w.key("previous").raw(routing::overrides_to_json(c.before));
    w.key("current").raw(routing::overrides_to_json(c.after));
  }
  w.member("revision", a.state.revision);
  w.end_object();
  return w.str();
}

void ControlApi::metrics(const ApiRequest& req, ApiResponse& res) {
  if (authenticate(req, res) == nullptr) return;
  res.status = 200;
  res.body = metrics_.render();
  res.body += store_.read([&](const routing::OverrideState& s) {
    return Metrics::render_gauges(engine(), s.overrides, config_revision_.load(), s.revision, start_time_seconds_);
  });
  res.content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void ControlApi::live_state(const ApiRequest& req, ApiResponse& res) {
  if (authenticate(req, res) == nullptr) return;
  Metrics::Recent recent = metrics_.recent();
  std::string body = store_.read(
      [&](const routing::OverrideState& s) { return live_state_json(engine(), s, recent, config_revision_.load()); });
  send_json(res, 200, data_envelope(body));
}

void ControlApi::decide(const ApiRequest& req, ApiResponse& res) {
  const routing::RouteSplit& eng = engine();  // one engine for the whole request
  const routing::RouteConfig& config = eng.config();
  // Raw values: the library percent-decodes header values, the decision is on what was sent.
  std::string_view path = split_target(req.raw_header("X-Original-URI")).path;
  std::string_view key;
  if (config.cohort_key_header) key = routing::trim(req.raw_header(*config.cohort_key_header));
  if (key.empty() && config.cohort_key_cookie) {
    key = routing::trim(cookie_value(req.raw_header("Cookie"), *config.cohort_key_cookie));
  }
  uint64_t revision = 0;
  routing::Decision d = store_.read([&](const routing::OverrideState& s) {
    revision = s.revision;
    return eng.evaluate(path, key, s.overrides);
  });
  metrics_.count_decision(DecisionSource::decide, d);
  res.status = 204;
  res.headers.reserve(res.headers.size() + 4);
  set_header(res, "x-cutover-target", std::string(routing::target_name(d.target)));
  set_header(res, "x-cutover-reason", std::string(d.reason));
  set_header(res, "x-cutover-group", std::string(d.route_domain));
  set_header(res, "x-cutover-revision", revision_text(config_revision_.load(), revision));
}

ApiResponse ControlApi::handle_decide_listener(const ApiRequest& req) {
  ApiResponse res;
  std::string_view path = split_target(req.target).path;
  bool get = req.method == "GET" || req.method == "HEAD";
  if (path == k_decide_path) {
    if (!get)
      method_not_allowed(res, "GET, HEAD");
    else
      decide(req, res);
  } else if (path == "/healthz" || path == "/readyz") {
    if (!get)
      method_not_allowed(res, "GET, HEAD");
    else if (path == "/healthz")
      send_json(res, 200, health_body());
    else
      readyz(res);
  } else {
    send_error(res, 404, "not_found", "Route '" + std::string(path) + "' was not found.");
  }
  return res;
}

void ControlApi::web_entry(const ApiRequest& req, ApiResponse& res, const RawTarget& target) {
  const routing::RouteSplit& eng = engine();  // one engine for the whole request
  std::string cohort_key = cohort_key_from_headers(req);
  routing::Decision d =
      store_.read([&](const routing::OverrideState& s) { return eng.evaluate(target.path, cohort_key, s.overrides); });
  metrics_.count_decision(DecisionSource::web, d);
  set_header(res, "x-cutover-target", std::string(routing::target_name(d.target)));
  set_header(res, "x-cutover-reason", std::string(d.reason));
  std::optional<std::string> location = d.target == routing::RouteTarget::legacy
                                            ? eng.legacy_redirect_url(target.path, target.query)
                                            : eng.rust_redirect_url(target.path, target.query);
  if (location) {
    res.status = 307;
    set_header(res, "Location", encode_for_location(*location));
  } else if (d.target == routing::RouteTarget::legacy) {
    send_error(res, 503, "legacy_route_unavailable", "Legacy route target is not configured.");
  } else {
    JsonWriter w;
    w.begin_object().key("data");
    routing::write_decision(w, d);
    w.end_object();
    send_json(res, 200, w.take());
  }
}

}  // namespace cutover::server
