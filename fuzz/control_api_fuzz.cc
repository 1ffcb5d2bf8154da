// libFuzzer target: the control API's request bodies (issue 7), as the
// server handles them (server/control_api.cc): parse_evaluate_request or
// parse_override_request (routing/control_request.h), then the decision
// (RouteSplit::evaluate) or the override (apply_override) and what the
// server writes after it (the state file, the status, the audit line).
//
// The first byte picks the endpoint (bit 0: evaluate or override), the route
// config (bits 1-2: the reference, a cohort config with base URLs, or one
// with no groups and no pins) and whether overrides are already in force
// (bit 3); the rest is the request body.
//
// Properties: nothing crashes (ASan/UBSan); every refusal is the documented
// one (docs/formats/http-api.md: 400 for a body that is not JSON, 422 with
// the reference's field messages otherwise) and agrees with the JSON parser;
// an accepted request's fields are what the server needs (a non-blank path;
// a string target); a refused override changes nothing, and an accepted one
// changes exactly its scope, as its target says; the state file the server
// would write reads back the same; every answer and audit line is valid JSON
// that carries the request's strings unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cutover/json/parser.h"
#include "cutover/json/writer.h"
#include "cutover/routing/config.h"
#include "cutover/routing/control_request.h"
#include "cutover/routing/overrides.h"
#include "cutover/routing/paths.h"
#include "cutover/routing/report.h"
#include "cutover/routing/route_split.h"

namespace {

using namespace cutover;
using namespace cutover::routing;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "control_api_fuzz: %s\n", what.c_str());
  std::abort();
}

void require(bool ok, const std::string& what) {
  if (!ok) fail(what);
}

constexpr std::string_view k_configs[] = {
    "{}",
    R"({"mode": "cohort", "cohort_percentage": 37, "salt": "fuzz-salt", "rust_routes": ["/chat", "/billing/new"],
        "legacy_base_url": "https://legacy.example.com/", "rust_base_url": "http://rust.example.com:8080",
        "route_groups": [
          {"domain": "Billing-L402", "route_prefixes": ["/billing", "/l402"], "rollback_target": "legacy"},
          {"domain": "chat_pilot", "route_prefixes": ["/chat", "/"], "rollback_target": "rust"},
          {"domain": "x", "route_prefixes": ["/\u00e9t\u00e9"], "rollback_target": "rust_shell"}],
        "pinned_routes": [{"prefix": "/api", "target": "rust_shell", "reason": "api_rust_authority"}]})",
    R"({"mode": "legacy", "route_groups": [], "pinned_routes": [], "enabled": false})",
};

const RouteSplit& engine_for(size_t i) {
  static const auto engines = [] {
    std::vector<std::unique_ptr<RouteSplit>> out;
    for (std::string_view text : k_configs) {
      auto c = parse_route_config(text, "fuzz-routes.json");
      if (!c) fail("a built-in config is refused: " + c.error().message());
      out.push_back(std::make_unique<RouteSplit>(std::move(*c)));
    }
    return out;
  }();
  return *engines[i];
}

// Parses JSON the server wrote; it must be valid.
json::Document parse_written(const std::string& text, const std::string& what) {
  auto doc = json::parse(text);
  if (!doc) fail(what + " is not valid JSON (" + doc.error().message() + "): " + text);
  return std::move(*doc);
}

// The error envelope the server sends (send_error), and its message read back.
void check_error_envelope(std::string_view message, const std::string& field) {
  json::Writer w;
  w.begin_object().member("message", message);
  w.key("error").begin_object().member("code", "invalid_request").member("message", message).end_object();
  w.key("errors").begin_object().key(field).begin_array().string(message).end_array().end_object();
  w.end_object();
  json::Document doc = parse_written(w.str(), "an error answer");
  require(doc.root().find("message")->as_string() == message, "an error message does not survive the answer");
}

// A refused body: the documented answer, agreeing with the JSON parser.
void check_refusal(std::string_view body, const RequestError& e,
                   const std::set<std::pair<std::string, std::string>>& allowed) {
  auto doc = json::parse(body);
  switch (e.kind) {
    case RequestError::Kind::not_json:
      require(!doc, "a body the parser accepts is refused as not JSON");
      require(e.message == "The request body is not valid JSON: " + doc.error().message() + ".",
              "unexpected message for a body that is not JSON: " + e.message);
      require(e.fields.empty(), "field errors on a body that is not JSON");
      break;
    case RequestError::Kind::not_object:
      require(doc && !doc->root().is_object(), "a JSON object is refused as not one");
      require(e.message == "The request body must be a JSON object.", "unexpected message: " + e.message);
      require(e.fields.empty(), "field errors on a body that is not an object");
      break;
    case RequestError::Kind::invalid_fields: {
      require(doc && doc->root().is_object(), "field errors on a body that is not a JSON object");
      require(!e.fields.empty(), "invalid_fields without a field");
      std::set<std::string> fields;
      for (const FieldError& f : e.fields) {
        require(allowed.count({f.field, f.message}) == 1, "unexpected field error " + f.field + ": " + f.message);
        require(fields.insert(f.field).second, "two errors for field " + f.field);
        check_error_envelope(f.message, f.field);
      }
      break;
    }
  }
}

void evaluate(const RouteSplit& engine, const Overrides& overrides, std::string_view body) {
  auto request = parse_evaluate_request(body);
  if (!request) {
    return check_refusal(body, request.error(),
                         {{"path", "Path must be a string."},
                          {"path", "Path is required."},
                          {"cohort_key", "Cohort key must be a string."}});
  }
  require(!trim(request->path).empty(), "an accepted evaluate request has a blank path");
  require(!request->cohort_key || !trim(*request->cohort_key).empty(), "an accepted cohort key is blank");
  Decision d = engine.evaluate(request->path, request->cohort_key.value_or(""), overrides);
  require(d.path == normalize_path(request->path), "the decision's path is not the normalised path");
  if (request->cohort_key) require(d.cohort_key == trim(*request->cohort_key), "the cohort key is not the trimmed key");
  require(engine.reason_label(d.reason_id) == d.reason, "reason_id does not match the reason");
  require(engine.domain_label(d.domain_id) == d.route_domain, "domain_id does not match the route domain");
  require(!d.cohort_bucket || *d.cohort_bucket < 100, "a cohort bucket over 99");
  // The answer, {data: decision}, carries the path and key unchanged.
  json::Document answer = parse_written("{\"data\":" + decision_json(d) + "}", "an evaluate answer");
  const json::Node* data = answer.root().find("data");
  require(data->find("path")->as_string() == d.path, "the path does not survive the answer");
  require(data->find("cohort_key")->as_string() == d.cohort_key, "the cohort key does not survive the answer");
  for (auto url : {engine.legacy_redirect_url(request->path, ""), engine.rust_redirect_url(request->path, "")}) {
    require(!url || url->size() >= request->path.size(), "a redirect shorter than its path");
  }
}

void override_(const RouteSplit& engine, Overrides overrides, std::string_view body) {
  auto request = parse_override_request(body);
  if (!request) {
    return check_refusal(body, request.error(),
                         {{"target", "Target is required."},
                          {"target", "Target must be a string."},
                          {"domain", "Domain must be a string."},
                          {"mode", "Mode must be a string."},
                          {"cohort_percentage", "Cohort percentage must be an integer from 0 to 100."}});
  }
  if (!request->target) return;  // a mode request: apply_request (overrides_request_test.cc)
  const Overrides before = overrides;
  std::optional<std::string_view> domain;
  if (request->domain) domain = *request->domain;
  auto change = apply_override(engine, overrides, *request->target, domain);
  if (!change) {
    const FieldError& e = change.error();
    bool known =
        (e.field == "target" && e.message == "Target must be one of: legacy, rust, rollback, clear.") ||
        (e.field == "domain" && (e.message == "Unknown route domain." ||
                                 (e.message.rfind("Unknown route domain '", 0) == 0 && e.message.back() == '.')));
    require(known, "unexpected override error " + e.field + ": " + e.message);
    require(overrides == before, "a refused override changed the overrides");
    check_error_envelope(e.message, e.field);
    return;
  }
  // Exactly the scope changed, as the target says.
  const RouteGroup* group = nullptr;
  if (change->scope != "global") {
    require(change->scope.rfind("domain:", 0) == 0, "unexpected scope " + change->scope);
    group = engine.find_group(change->scope.substr(7));
    require(group != nullptr && group->domain == change->scope.substr(7), "the scope names no group: " + change->scope);
  }
  auto at_scope = [&](const Overrides& o) -> std::optional<RouteTarget> {
    if (group == nullptr) return o.global;
    auto it = o.groups.find(group->domain);
    return it == o.groups.end() ? std::nullopt : std::optional<RouteTarget>(it->second);
  };
  require(change->previous == at_scope(before), "previous is not what was in force");
  require(change->current == at_scope(overrides), "current is not what is in force");
  Overrides others = overrides, others_before = before;
  if (group == nullptr)
    others.global = others_before.global = std::nullopt;
  else
    others.groups.erase(group->domain), others_before.groups.erase(group->domain);
  require(others == others_before, "an override changed another scope");
  const std::string& t = change->target;
  std::optional<RouteTarget> expected;
  if (t == "legacy")
    expected = RouteTarget::legacy;
  else if (t == "rust" || t == "rust_shell")
    expected = RouteTarget::rust_shell;
  else if (t == "rollback")
    expected = group ? group->rollback_target : RouteTarget::legacy;
  else
    require(t == "clear" || t == "default", "an unknown target was accepted: " + t);
  require(change->current == expected, "target " + t + " set the wrong override");

  // What the server writes: the state file (read back at the next start), the
  // answer and the audit line.
  OverrideState state{overrides, 7, "2026-11-27T03:46:40.419705Z", "fuzz", {}};
  auto again = parse_state(state_to_json(state), "fuzz/overrides.json", engine);
  if (!again) fail("the state written after an override does not read back: " + again.error().message());
  require(*again == state, "the state written after an override reads back different");
  parse_written(status_json(engine, overrides), "the status answer");
  json::Writer line;
  line.begin_object().member("target", change->target).member("scope", change->scope).end_object();
  json::Document audit = parse_written(line.str(), "the audit line");
  require(audit.root().find("target")->as_string() == change->target, "the target does not survive the audit line");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t pick = data[0];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const RouteSplit& engine = engine_for((pick >> 1) % 3);
  Overrides overrides;
  if (pick & 8) {
    overrides.global = RouteTarget::legacy;
    if (!engine.config().route_groups.empty()) {
      overrides.groups[engine.config().route_groups.back().domain] = RouteTarget::rust_shell;
    }
  }
  if (pick & 1)
    override_(engine, overrides, body);
  else
    evaluate(engine, overrides, body);
  return 0;
}
