#include "cutover/routing/report.h"

namespace cutover::routing {
namespace {

void optional_string(json::Writer& out, const std::optional<std::string>& value) {
  if (value)
    out.string(*value);
  else
    out.null();
}

void optional_target(json::Writer& out, std::optional<RouteTarget> value) {
  if (value)
    out.string(target_name(*value));
  else
    out.null();
}

}  // namespace

void write_decision(json::Writer& out, const Decision& d) {
  out.begin_object();
  out.member("path", d.path);
  out.member("target", target_name(d.target));
  out.member("reason", d.reason);
  out.member("route_domain", d.route_domain);
  out.member("rollback_target", target_name(d.rollback_target));
  if (d.cohort_bucket) out.member("cohort_bucket", static_cast<uint64_t>(*d.cohort_bucket));
  out.member("cohort_key", d.cohort_key);
  out.end_object();
}

std::string decision_json(const Decision& decision) {
  json::Writer out;
  write_decision(out, decision);
  return out.take();
}

namespace {

// The config's switches and base URLs, in the order the status document has them.
void write_switches(json::Writer& out, const RouteConfig& c) {
  out.member("enabled", c.enabled);
  out.member("mode", mode_name(c.mode));
  out.member("cohort_percentage", static_cast<uint64_t>(c.cohort_percentage));
  out.key("rust_routes").begin_array();
  for (const std::string& r : c.rust_routes) out.string(r);
  out.end_array();
  out.member("force_legacy", c.force_legacy);
  out.key("legacy_base_url");
  optional_string(out, c.legacy_base_url);
  out.key("rust_base_url");
  optional_string(out, c.rust_base_url);
}

}  // namespace

void write_status(json::Writer& out, const RouteSplit& engine, const Overrides& overrides) {
  const RouteConfig& c = engine.config();
  out.begin_object();
  write_switches(out, c);
  out.key("override_target");
  optional_target(out, overrides.global);
  out.key("route_groups").begin_array();
  for (const RouteGroup& g : c.route_groups) {
    out.begin_object();
    out.member("domain", g.domain);
    out.key("route_prefixes").begin_array();
    for (const std::string& p : g.route_prefixes) out.string(p);
    out.end_array();
    out.member("rollback_target", target_name(g.rollback_target));
    out.key("override_target");
    auto it = overrides.groups.find(g.domain);
    optional_target(out, it == overrides.groups.end() ? std::nullopt : std::optional<RouteTarget>(it->second));
    out.end_object();
  }
  out.end_array();
  out.key("rollback_matrix").begin_object();
  for (const RouteGroup& g : c.route_groups) out.member(g.domain, target_name(g.rollback_target));
  out.end_object();
  out.key("domain_overrides").begin_object();
  for (const auto& [name, target] : overrides.groups) out.member(name, target_name(target));
  out.end_object();
  out.key("pinned_routes").begin_array();
  for (const PinnedRoute& p : c.pinned_routes) {
    out.begin_object();
    out.member("prefix", p.prefix);
    out.member("target", target_name(p.target));
    out.member("reason", p.reason);
    out.member("route_domain", p.route_domain);
    out.end_object();
  }
  out.end_array();
  out.end_object();
}

std::string status_json(const RouteSplit& engine, const Overrides& overrides) {
  json::Writer out;
  write_status(out, engine, overrides);
  return out.take();
}

std::string config_json(const RouteConfig& c) {
  json::Writer out = json::Writer::canonical();
  out.begin_object();
  write_switches(out, c);
  out.member("salt", c.salt);
  out.key("route_groups").begin_array();
  for (const RouteGroup& g : c.route_groups) {
    out.begin_object().member("domain", g.domain).key("route_prefixes").begin_array();
    for (const auto& p : g.route_prefixes) out.string(p);
    out.end_array().member("rollback_target", target_name(g.rollback_target)).end_object();
  }
  out.end_array();
  out.key("pinned_routes").begin_array();
  for (const PinnedRoute& p : c.pinned_routes) {
    out.begin_object().member("prefix", p.prefix).member("target", target_name(p.target));
    out.member("reason", p.reason).member("route_domain", p.route_domain).end_object();
  }
  out.end_array();
  if (c.tokens_file) out.member("tokens_file", *c.tokens_file);
  if (c.cohort_key_header) out.member("cohort_key_header", *c.cohort_key_header);
  if (c.cohort_key_cookie) out.member("cohort_key_cookie", *c.cohort_key_cookie);
  out.end_object();
  return out.take();
}

}  // namespace cutover::routing
