#include "cutover/routing/nginx_config.h"

#include <cstddef>
#include <vector>

#include "cutover/routing/paths.h"

namespace cutover::routing {
namespace {

// The characters of a raw path that nginx answers for a pin without asking
// the decider, as a character class ('-' last, so it is literal).
constexpr std::string_view k_safe_class = "[A-Za-z0-9._~!$&'()*+,;=:@/-]";
// The upstream names the include defines.
constexpr std::string_view k_legacy_upstream = "cutover_legacy";
constexpr std::string_view k_rust_upstream = "cutover_rust_shell";
constexpr std::string_view k_decider_upstream = "cutover_decider";

bool is_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool all_of(std::string_view s, bool (*ok)(char)) {
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

bool host_name_char(char c) { return is_alnum(c) || c == '.' || c == '-'; }
bool ipv6_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}
bool digit(char c) { return c >= '0' && c <= '9'; }
// A label, reason or domain written into the include.
bool token_char(char c) { return is_alnum(c) || c == '_' || c == '.' || c == ':' || c == '-'; }
// A base URL's path, written unquoted after the upstream name: no '$' (a
// variable), ';', quotes, braces or '#'.
bool base_path_char(char c) {
  return is_alnum(c) || std::string_view("-._~!&()*+,=:@/%").find(c) != std::string_view::npos;
}

bool valid_port(std::string_view p) {
  if (p.empty() || p.size() > 5 || !all_of(p, digit)) return false;
  int v = std::stoi(std::string(p));
  return v >= 1 && v <= 65535;
}

bool valid_host(std::string_view h) {
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') return all_of(h.substr(1, h.size() - 2), ipv6_char);
  return !h.empty() && h.size() <= 253 && all_of(h, host_name_char);
}

// "HOST:PORT" -> {host, port}; the host may be "[v6]".
std::optional<std::pair<std::string, std::string>> split_host_port(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
  if (!valid_host(host) || !valid_port(port)) return std::nullopt;
  return std::pair{std::string(host), std::string(port)};
}

struct Target {
  std::string scheme;     // "http" or "https"
  std::string host;       // the host alone (TLS server name)
  std::string authority;  // host[:port] as in the URL (the Host header)
  std::string host_port;  // for the upstream's server line
  std::string path;       // "" or "/base"
  std::string url;
};

Result<Target> parse_base_url(const std::optional<std::string>& url, std::string_view field) {
  if (!url) {
    return make_error(ErrorCode::invalid_argument,
                      std::string(field) + ": the route config has none; nginx needs both targets' base URLs");
  }
  Target t;
  t.url = *url;
  std::string_view rest = *url;
  if (rest.starts_with("http://")) {
    t.scheme = "http";
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    t.scheme = "https";
    rest.remove_prefix(8);
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  t.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::invalid_argument, std::string(field) + " '" + *url + "': " + why);
  };
  if (t.scheme.empty()) return bad("not an http:// or https:// URL");
  std::string_view host = authority, port = t.scheme == "https" ? "443" : "80";
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (!valid_host(host)) return bad("the host is not a DNS name, IPv4 or [IPv6] address nginx can be given");
  if (!valid_port(port)) return bad("the port is not 1-65535");
  if (!all_of(t.path, base_path_char)) return bad("the path holds a character nginx would misread (e.g. '$' or ';')");
  while (!t.path.empty() && t.path.back() == '/') t.path.pop_back();
  t.host = std::string(host);
  t.authority = std::string(authority);
  t.host_port = std::string(host) + ":" + std::string(port);
  return t;
}

std::string ms(int64_t v) { return std::to_string(v) + "ms"; }

// The lines every proxied location shares: HTTP/1.1 with keepalive, and the
// headers the targets see.
void proxy_common(std::string& out, std::string_view indent) {
  std::string i(indent);
  out += i + "proxy_http_version 1.1;\n";
  out += i + "proxy_set_header Connection \"\";\n";
  out += i + "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n";
  out += i + "proxy_set_header X-Forwarded-Host $host;\n";
  out += i + "proxy_set_header X-Forwarded-Proto $scheme;\n";
}

}  // namespace

bool nginx_pin_safe_char(char c) {
  return is_alnum(c) || std::string_view("._~!$&'()*+,;=:@/-").find(c) != std::string_view::npos;
}

std::optional<std::string> nginx_pin_regex(std::string_view prefix) {
  if (!all_of(prefix, nginx_pin_safe_char)) return std::nullopt;
  std::string safe(k_safe_class);
  // Query: everything after the first '?' (the path holds no '?').
  const std::string query = "(?:\\?.*)?$";
  // "/" matches only the path "/": any run of slashes.
  if (prefix == "/" || prefix.empty()) return "^/+" + query;
  std::string re = "^";
  size_t i = 0;
  while (i < prefix.size()) {
    // prefix[i] == '/' (normalised: a leading '/', no "//", no trailing '/').
    re += "/+";
    ++i;
    while (i < prefix.size() && prefix[i] != '/') {
      char c = prefix[i++];
      if (std::string_view(".$()*+").find(c) != std::string_view::npos) re += '\\';
      re += c;
    }
  }
  // The prefix itself, or a '/' and anything below it.
  re += "(?:/" + safe + "*)?" + query;
  return re;
}

namespace {

struct Pin {
  size_t index;
  std::string regex;
  const PinnedRoute* route;
};

// What the generator works from once the inputs are checked.
struct Front {
  const NginxOptions& options;
  std::pair<std::string, std::string> decider;
  std::string listen;
  Target legacy;
  Target rust;
  std::vector<Pin> pins;
  std::vector<std::string> left_to_decider;  // pins the raw URI cannot match exactly
};

Status check_flags(const NginxOptions& options) {
  if (valid_port(options.listen)) {
    // a bare port
  } else if (auto hp = split_host_port(options.listen); !hp) {
    return make_error(ErrorCode::invalid_argument, "--listen '" + options.listen + "': expected [ADDR:]PORT");
  }
  for (auto [name, value] : {std::pair{"--decider-connect-timeout", options.decider_connect_timeout_ms},
                             std::pair{"--decider-read-timeout", options.decider_read_timeout_ms}}) {
    if (value < 1 || value > 60000) {
      return make_error(ErrorCode::invalid_argument,
                        std::string(name) + " " + std::to_string(value) + ": expected 1 to 60000 milliseconds");
    }
  }
  return {};
}

Status collect_pins(const RouteConfig& config, Front& front) {
  for (size_t i = 0; i < config.pinned_routes.size(); ++i) {
    const PinnedRoute& p = config.pinned_routes[i];
    if (!all_of(p.reason, token_char) || p.reason.empty() || !all_of(p.route_domain, token_char) ||
        p.route_domain.empty()) {
      return make_error(ErrorCode::invalid_argument,
                        "pinned_routes[" + std::to_string(i) + "] (" + p.prefix +
                            "): its reason and route_domain must be letters, digits, '_', '.', ':' or '-' to be "
                            "written into the nginx config");
    }
    if (auto re = nginx_pin_regex(p.prefix)) {
      front.pins.push_back({i, *re, &p});
    } else {
      front.left_to_decider.push_back(p.prefix);
    }
  }
  return {};
}

void write_preamble(const Front& f, std::string& out) {
  out += "# Generated by `cutover routes nginx-config` from " +
         (f.options.config_source.empty() ? std::string("the built-in route config") : f.options.config_source) +
         ".\n"
         "# Do not edit: generate it again when the route config changes (docs/EDGE.md).\n"
         "#\n"
         "# Include it inside nginx's http {} block. Every request is proxied to the legacy or the new\n"
         "# service as cutover's decider says (auth_request to " +
         std::string(k_decide_path) +
         "); the pinned\n"
         "# routes are answered without asking it; when the decider is down, slow or answers anything\n"
         "# but 204 the request goes to legacy with x-cutover-reason: decider_unavailable.\n"
         "# The new service's own errors (its 5xx, or 502 when it is down) reach the client as they are.\n\n";
}

void write_upstreams(const Front& f, std::string& out) {
  out += "# --- the targets (legacy_base_url, rust_base_url) ---------------------------------------\n";
  out += "upstream " + std::string(k_legacy_upstream) + " {\n    # " + f.legacy.url + "\n    server " +
         f.legacy.host_port + ";\n    keepalive 32;\n}\n";
  out += "upstream " + std::string(k_rust_upstream) + " {\n    # " + f.rust.url + "\n    server " + f.rust.host_port +
         ";\n    keepalive 32;\n}\n\n";

  out += "# --- the decider: cutover serve's decide endpoint, over kept-alive connections ----------\n";
  out += "# max_fails=0: a failed decision never marks the decider down; the next request asks again.\n";
  out += "upstream " + std::string(k_decider_upstream) + " {\n    server " + f.decider.first + ":" + f.decider.second +
         " max_fails=0;\n    keepalive 64;\n}\n\n";
}

void write_pin_maps(const Front& f, std::string& out) {
  out +=
      "# --- pinned routes: answered by nginx itself, never asking the decider -----------------\n"
      "# Matched on the raw $request_uri (what the decider would see), never on nginx's decoded and\n"
      "# merged $uri. A pin takes only a URI whose path has no '%' and no character outside\n"
      "#   A-Z a-z 0-9 . _ ~ ! $ & ' ( ) * + , ; = : @ / -\n"
      "# and whose path, with runs of '/' merged and a trailing '/' dropped, is the prefix or lies\n"
      "# below it: exactly the decider's own rule for those URIs. Every other URI (encoded,\n"
      "# dot segments, ...) is asked of the decider, which applies the same pins (docs/EDGE.md).\n"
      "# First match wins, in the route config's order.\n";
  out += "map $request_uri $cutover_pin {\n    default \"\";\n";
  for (const Pin& p : f.pins) {
    out += "    # pinned_routes[" + std::to_string(p.index) + "]: " + p.route->prefix + " -> " +
           std::string(target_name(p.route->target)) + "\n";
    out += "    \"~" + p.regex + "\" pin" + std::to_string(p.index) + ";\n";
  }
  for (const std::string& prefix : f.left_to_decider) {
    out += "    # " + prefix + ": holds a character a raw path would carry encoded; the decider pins it\n";
  }
  out += "}\n";
  auto pin_map = [&](std::string_view var, auto value) {
    out += "map $cutover_pin " + std::string(var) + " {\n    default \"\";\n";
    for (const Pin& p : f.pins) out += "    pin" + std::to_string(p.index) + " \"" + value(*p.route) + "\";\n";
    out += "}\n";
  };
  pin_map("$cutover_pin_target", [](const PinnedRoute& r) { return std::string(target_name(r.target)); });
  pin_map("$cutover_pin_reason", [](const PinnedRoute& r) { return r.reason; });
  pin_map("$cutover_pin_group", [](const PinnedRoute& r) { return r.route_domain; });
  out += "\n";
}

// key -> the upstream URL, the Host header and the TLS name of each target.
void write_target_maps(const Front& f, std::string& out, std::string_view map_key, std::string_view prefix) {
  auto one = [&](std::string_view suffix, std::string_view lv, std::string_view rv) {
    out += "map " + std::string(map_key) + " " + std::string(prefix) + std::string(suffix) + " {\n    default \"" +
           std::string(lv) + "\";\n    rust_shell \"" + std::string(rv) + "\";\n}\n";
  };
  one("upstream", f.legacy.scheme + "://" + std::string(k_legacy_upstream) + f.legacy.path,
      f.rust.scheme + "://" + std::string(k_rust_upstream) + f.rust.path);
  one("host", f.legacy.authority, f.rust.authority);
  one("tls_name", f.legacy.host, f.rust.host);
}

void write_decision_maps(const Front& f, std::string& out) {
  out +=
      "# --- the decision -------------------------------------------------------------------------\n"
      "# Taken only from a 204 answer naming legacy or rust_shell ($upstream_status ends in 204: a\n"
      "# kept-alive connection that had closed may add an earlier status). Anything else, including\n"
      "# the decider's own fail-safe answer below, is legacy with reason decider_unavailable.\n";
  const std::string key = "\"$cutover_decider_status|$cutover_decided_target\"";
  const std::string ok204 = "\"~(?:^|\\s)204\\|";
  out += "map " + key + " $cutover_target {\n    default legacy;\n    " + ok204 + "rust_shell$\" rust_shell;\n}\n";
  out += "map " + key + " $cutover_reason {\n    default decider_unavailable;\n    " + ok204 +
         "(?:legacy|rust_shell)$\" $cutover_decided_reason;\n}\n";
  out += "map " + key + " $cutover_group {\n    default \"\";\n    " + ok204 +
         "(?:legacy|rust_shell)$\" $cutover_decided_group;\n}\n";
  out += "map " + key + " $cutover_revision {\n    default \"\";\n    " + ok204 +
         "(?:legacy|rust_shell)$\" $cutover_decided_revision;\n}\n";
  out += "# The map from target to upstream (with the base URL's path), Host header and TLS name.\n";
  write_target_maps(f, out, "$cutover_target", "$cutover_");
  write_target_maps(f, out, "$cutover_pin_target", "$cutover_pin_");
  out += "\n";
}

std::string target_headers(std::string_view target, std::string_view reason, std::string_view group,
                           std::string_view revision) {
  std::string s;
  s += "        # What the target sees (any client-sent x-cutover-* is replaced), and the client.\n";
  s += "        proxy_set_header X-Cutover-Target " + std::string(target) + ";\n";
  s += "        proxy_set_header X-Cutover-Reason " + std::string(reason) + ";\n";
  s += "        proxy_set_header X-Cutover-Group " + std::string(group) + ";\n";
  s += "        proxy_set_header X-Cutover-Revision " + std::string(revision) + ";\n";
  s += "        add_header x-cutover-target " + std::string(target) + " always;\n";
  s += "        add_header x-cutover-reason " + std::string(reason) + " always;\n";
  return s;
}

std::string tls(std::string_view name_var) {
  return "        proxy_ssl_server_name on;  # https targets only\n        proxy_ssl_name " + std::string(name_var) +
         ";\n";
}

void write_proxy_locations(std::string& out) {
  out +=
      "    # Every other request: ask the decider, then proxy to the target it names. The URI is passed\n"
      "    # as the client sent it ($request_uri), the same bytes the decider decided on.\n"
      "    location / {\n"
      "        auth_request cutover_decide;\n"
      "        auth_request_set $cutover_decider_status $upstream_status;\n"
      "        auth_request_set $cutover_decided_target $upstream_http_x_cutover_target;\n"
      "        auth_request_set $cutover_decided_reason $upstream_http_x_cutover_reason;\n"
      "        auth_request_set $cutover_decided_group $upstream_http_x_cutover_group;\n"
      "        auth_request_set $cutover_decided_revision $upstream_http_x_cutover_revision;\n";
  out += target_headers("$cutover_target", "$cutover_reason", "$cutover_group", "$cutover_revision");
  out += "        # The base URL's host, as a client redirected there would have sent it.\n";
  out += "        proxy_set_header Host $cutover_host;\n";
  proxy_common(out, "        ");
  out += tls("$cutover_tls_name");
  out += "        # No retry on the other target: the new service's failures reach the client.\n";
  out += "        proxy_pass $cutover_upstream$request_uri;\n";
  out += "    }\n\n";

  out += "    location @cutover_pinned {\n";
  out += target_headers("$cutover_pin_target", "$cutover_pin_reason", "$cutover_pin_group", "\"\"");
  out += "        proxy_set_header Host $cutover_pin_host;\n";
  proxy_common(out, "        ");
  out += tls("$cutover_pin_tls_name");
  out += "        proxy_pass $cutover_pin_upstream$request_uri;\n";
  out += "    }\n\n";
}

void write_decide_location(const Front& f, std::string& out) {
  out +=
      "    # The auth_request subrequest. Its URI has no leading '/', so no client request can reach\n"
      "    # it (nginx's URIs all start with '/'): every client path stays routable.\n"
      "    location = cutover_decide {\n"
      "        internal;\n"
      "        proxy_method GET;\n"
      "        proxy_pass_request_body off;\n"
      "        proxy_set_header Content-Length \"\";\n"
      "        # The raw path and query as the client sent them; the decider decides on the path.\n"
      "        # The client's headers (the cohort key's header or cookie among them) go along.\n"
      "        proxy_set_header X-Original-URI $request_uri;\n"
      "        proxy_http_version 1.1;\n"
      "        proxy_set_header Connection \"\";\n";
  out += "        proxy_connect_timeout " + ms(f.options.decider_connect_timeout_ms) + ";\n";
  out += "        proxy_send_timeout " + ms(f.options.decider_read_timeout_ms) + ";\n";
  out += "        proxy_read_timeout " + ms(f.options.decider_read_timeout_ms) + ";\n";
  out +=
      "        # Retry only a kept-alive connection found closed, never a timeout: a slow decider\n"
      "        # costs one read timeout, not two.\n"
      "        proxy_next_upstream error;\n"
      "        # Fail safe: any status from 300 to 599 (but 499, which nginx reserves), a refused\n"
      "        # connection (502) or a timeout (504) becomes an empty 204, which the maps above read as\n"
      "        # decider_unavailable; so is a 2xx other than 204.\n"
      "        proxy_intercept_errors on;\n";
  // nginx takes every code error_page may name: 300-599 but 499, its own "client closed".
  for (int from = 300; from < 600; from += 20) {
    out += "        error_page";
    for (int c = from; c < from + 20; ++c) {
      if (c != 499) out += " " + std::to_string(c);
    }
    out += " = @cutover_decider_unavailable;\n";
  }
  out += "        proxy_pass http://" + std::string(k_decider_upstream) + std::string(k_decide_path) + ";\n";
  out += "    }\n";
  out += "    location @cutover_decider_unavailable {\n        return 204;\n    }\n";
}

void write_server(const Front& f, std::string& out) {
  out += "server {\n";
  out += "    listen " + f.listen + ";\n\n";
  out +=
      "    # A pinned URI goes straight to its target (the named location below): the rewrite phase\n"
      "    # runs before auth_request, so the decider is never asked. 418 never reaches a client:\n"
      "    # the named location's own status replaces it.\n"
      "    error_page 418 = @cutover_pinned;\n"
      "    if ($cutover_pin) {\n        return 418;\n    }\n\n";
  write_proxy_locations(out);
  write_decide_location(f, out);
  out += "}\n";
}

}  // namespace

Result<std::string> nginx_config(const RouteConfig& config, const NginxOptions& options) {
  auto decider = split_host_port(options.decider);
  if (!decider) {
    return make_error(ErrorCode::invalid_argument,
                      "--decider '" + options.decider + "': expected HOST:PORT (a DNS name, IPv4 or [IPv6] address)");
  }
  TRY(check_flags(options));
  TRY_ASSIGN(Target legacy, parse_base_url(config.legacy_base_url, "legacy_base_url"));
  TRY_ASSIGN(Target rust, parse_base_url(config.rust_base_url, "rust_base_url"));
  Front front{options, {decider->first, decider->second}, options.listen, std::move(legacy), std::move(rust), {}, {}};
  TRY(collect_pins(config, front));

  std::string out;
  out.reserve(8192);
  write_preamble(front, out);
  write_upstreams(front, out);
  write_pin_maps(front, out);
  write_decision_maps(front, out);
  write_server(front, out);
  return out;
}

}  // namespace cutover::routing
