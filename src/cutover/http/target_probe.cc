#include "cutover/http/target_probe.h"

#include <map>
#include <utility>

#include "cutover/hash/sha256.h"
#include "cutover/http/client.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"
#include "cutover/json/writer.h"
#include "cutover/routing/report.h"
#include "cutover/routing/route_split.h"

namespace cutover::http {
namespace {

constexpr int64_t k_max_timeout_ms = 600000;

// One GET of the health path on a new connection; redirects are not
// followed (a 3xx is an answer).
TargetCheck probe(const std::string& base, const ProbeOptions& options) {
  TargetCheck c;
  c.url = base + options.health_path;
  auto url = split_base_url(base);
  if (!url) {
    c.error = "bad base URL (expected http:// or https://)";
    return c;
  }
  ClientOptions client_options;
  client_options.timeout_ms = options.timeout_ms;
  client_options.user_agent = "cutover-routes-check";
  Client client(url->origin, std::move(client_options));
  Answer answer = client.get(url->prefix + options.health_path);
  if (!answer) {
    c.duration_ms = answer.error().duration_ms;
    c.error = answer.error().reason;
    return c;
  }
  c.duration_ms = answer->duration_ms;
  c.status = answer->status;
  if (answer->status >= 200 && answer->status < 400) {
    c.ok = true;
  } else {
    c.error = "status " + std::to_string(answer->status);
  }
  return c;
}

std::optional<std::string> base_url_of(const routing::RouteConfig& config, routing::RouteTarget target) {
  return target == routing::RouteTarget::legacy ? config.legacy_base_url : config.rust_base_url;
}

routing::RouteTarget other(routing::RouteTarget t) {
  return t == routing::RouteTarget::legacy ? routing::RouteTarget::rust_shell : routing::RouteTarget::legacy;
}

void write_check(json::Writer& w, const TargetCheck& c) {
  w.begin_object().member("role", c.role).member("target", c.target);
  w.key("url");
  c.url ? w.string(*c.url) : w.null();
  w.member("ok", c.ok);
  w.key("status");
  c.status ? w.number(static_cast<int64_t>(*c.status)) : w.null();
  w.key("error");
  c.error ? w.string(*c.error) : w.null();
  w.key("duration_ms").number(c.duration_ms);
  w.end_object();
}

void write_checks(json::Writer& w, const std::vector<TargetCheck>& checks) {
  w.key("checks").begin_array();
  for (const auto& c : checks) write_check(w, c);
  w.end_array();
}

std::string describe(const TargetCheck& c) {
  return c.role + " target " + c.target + (c.url ? " (" + *c.url + ")" : std::string(" (no base URL)")) + ": " +
         c.error.value_or("failed");
}

}  // namespace

std::string builtin_config_sha256() {
  routing::RouteSplit engine(routing::reference_config());
  return hash::sha256_hex(routing::status_json(engine, routing::Overrides{}));
}

Status check_probe_options(const ProbeOptions& options) {
  if (options.health_path.empty() || options.health_path.front() != '/') {
    return make_error(ErrorCode::invalid_argument,
                      "--health-path '" + options.health_path + "' must start with '/', e.g. /healthz");
  }
  for (char ch : options.health_path) {
    if (static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f || ch == '#') {
      return make_error(ErrorCode::invalid_argument, "--health-path holds a space, control character or '#'");
    }
  }
  if (options.timeout_ms < 1 || options.timeout_ms > k_max_timeout_ms) {
    return make_error(ErrorCode::invalid_argument, "--timeout must be from 1ms to 600s");
  }
  return {};
}

RoutesReport check_route_targets(const routing::RouteConfig& config, const std::string& config_path,
                                 const std::string& config_sha256, const ProbeOptions& options, base::Clock& clock) {
  RoutesReport report;
  if (!config_path.empty()) report.config_path = base::absolute_path(config_path);
  report.config_sha256 = config_sha256;
  report.environment = config.environment;
  report.health_path = options.health_path;
  report.timeout_ms = options.timeout_ms;
  std::map<routing::RouteTarget, TargetCheck> asked;  // each base URL once
  auto check = [&](routing::RouteTarget target, const std::string& role) {
    auto it = asked.find(target);
    if (it == asked.end()) {
      TargetCheck c;
      if (auto base = base_url_of(config, target)) {
        c = probe(*base, options);
      } else {
        c.error = "not configured";
      }
      it = asked.emplace(target, std::move(c)).first;
    }
    TargetCheck c = it->second;
    c.role = role;
    c.target = std::string(routing::target_name(target));
    return c;
  };
  report.ok = true;
  for (const auto& g : config.route_groups) {
    GroupCheck gc;
    gc.group = g.domain;
    gc.checks.push_back(check(g.rollback_target, "rollback"));
    gc.checks.push_back(check(other(g.rollback_target), "forward"));
    gc.ok = gc.checks[0].ok && gc.checks[1].ok;
    report.ok = report.ok && gc.ok;
    report.groups.push_back(std::move(gc));
  }
  for (const auto& p : config.pinned_routes) {
    PinCheck pc;
    pc.route = p.prefix;
    pc.target = std::string(routing::target_name(p.target));
    pc.checks.push_back(check(p.target, "pinned"));
    pc.ok = pc.checks[0].ok;
    report.ok = report.ok && pc.ok;
    report.pins.push_back(std::move(pc));
  }
  report.created_at = base::rfc3339_utc(clock.now_ns());
  return report;
}

std::string routes_report_json(const RoutesReport& r) {
  json::Writer w;
  w.begin_object().member("format", k_routes_report_format).member("ok", r.ok).member("created_at", r.created_at);
  w.key("config").begin_object().key("path");
  r.config_path ? w.string(*r.config_path) : w.null();
  w.member("sha256", r.config_sha256).key("environment").begin_array();
  for (const auto& e : r.environment) w.string(e);
  w.end_array().end_object();
  w.member("health_path", r.health_path).key("timeout_ms").number(r.timeout_ms);
  w.key("groups").begin_array();
  for (const auto& g : r.groups) {
    w.begin_object().member("group", g.group).member("ok", g.ok);
    write_checks(w, g.checks);
    w.end_object();
  }
  w.end_array().key("pins").begin_array();
  for (const auto& p : r.pins) {
    w.begin_object().member("route", p.route).member("target", p.target).member("ok", p.ok);
    write_checks(w, p.checks);
    w.end_object();
  }
  w.end_array().end_object();
  auto doc = json::parse(w.str());
  return (doc ? json::to_canonical_string(doc->root()) : w.str()) + "\n";
}

std::vector<std::string> routes_report_failures(const RoutesReport& r) {
  std::vector<std::string> out;
  for (const auto& g : r.groups) {
    for (const auto& c : g.checks) {
      if (!c.ok) out.push_back("group " + g.group + ": " + describe(c));
    }
  }
  for (const auto& p : r.pins) {
    for (const auto& c : p.checks) {
      if (!c.ok) out.push_back("pinned route " + p.route + ": " + describe(c));
    }
  }
  return out;
}

}  // namespace cutover::http
