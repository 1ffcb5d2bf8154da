// The nginx front generator (routing/nginx_config.h, issue 14): the pins'
// regular expressions against the decider's own rule on raw URIs (the
// agreement docs/EDGE.md argues), the generated include's parts, and the
// values it refuses to write into an nginx config.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>
#include <vector>

#include "cutover/routing/config.h"
#include "cutover/routing/nginx_config.h"
#include "cutover/routing/paths.h"
#include "cutover/routing/route_split.h"

namespace cutover::routing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The path the decider decides on: the raw URI up to the first '?'.
std::string path_of(const std::string& uri) { return uri.substr(0, uri.find('?')); }

bool all_safe(const std::string& path) {
  for (char c : path) {
    if (!nginx_pin_safe_char(c)) return false;
  }
  return !path.empty() && path.front() == '/';
}

// The raw URIs the tests try: hand-picked tricky ones and random ones built
// from path pieces that include encodings, dot segments, repeated slashes,
// regex metacharacters and queries.
std::vector<std::string> sample_uris() {
  std::vector<std::string> uris = {
      "/",
      "//",
      "/?x=/api",
      "/api",
      "/api/",
      "//api",
      "///api//x",
      "/api/../chat",
      "/%61pi/x",
      "/%2Fapi",
      "/api%2Fx",
      "/apix",
      "/ap",
      "/API",
      "/api?x",
      "/api/?",
      "/api//?a=b?c",
      "/./api",
      "/api/.",
      "/api;x",
      "/api;x/y",
      "/chat/../api",
      "/x/api",
      "/api/runtime/codex/workers",
      "/api/runtime/codex/workers2",
      "/api/runtime//codex/workers/",
      "/api/runtime/codex/%77orkers",
      "/a.b(c)/x",
      "/aXb(c)",
      "/a.b(c)",
      "/a.b(c",
      "/api#frag",
      "/api x",
      "/api\t",
      "/a+b",
      "/aab",
      "/a$b",
      "/a$",
      "/a%24b",
  };
  const std::vector<std::string> pieces = {"/",     "//",      "api",  "API", "%61pi",   "..",  ".",      "runtime",
                                           "codex", "workers", "x",    "?",   "?q=/api", "%2F", "a.b(c)", "a+b",
                                           "a$b",   ";",       "chat", "%",   " ",       "~",   "@:",     "-_"};
  std::mt19937 rng(14);
  for (int i = 0; i < 20000; ++i) {
    std::string uri = "/";
    int n = 1 + static_cast<int>(rng() % 7);
    for (int k = 0; k < n; ++k) uri += pieces[rng() % pieces.size()];
    uris.push_back(uri);
  }
  return uris;
}

const std::vector<std::string> k_prefixes = {
    "/", "/api", "/api/runtime/codex/workers", "/a.b(c)", "/a+b", "/a$b", "/x", "/chat/thread", "/%61pi", "/a b"};

TEST(NginxPinRegex, MatchesExactlyTheSafeRawUrisTheDeciderPins) {
  auto uris = sample_uris();
  for (const std::string& prefix : k_prefixes) {
    auto re_text = nginx_pin_regex(prefix);
    bool expect_regex = all_safe(prefix);
    ASSERT_EQ(expect_regex, re_text.has_value()) << prefix;
    if (!re_text) continue;
    std::regex re(*re_text);  // ECMAScript: the constructs used are common to it and PCRE
    for (const std::string& uri : uris) {
      std::string path = path_of(uri);
      bool decider_pins = group_prefix_matches(prefix, normalize_path(path));
      bool nginx_pins = std::regex_search(uri, re);
      // nginx takes a URI only when the decider pins it too...
      if (nginx_pins) {
        EXPECT_TRUE(decider_pins) << "prefix " << prefix << " uri " << uri << " re " << *re_text;
      }
      // ...and every safe URI the decider pins (the rest it asks the decider about).
      if (all_safe(path)) {
        EXPECT_EQ(decider_pins, nginx_pins) << "prefix " << prefix << " uri " << uri;
      } else {
        EXPECT_FALSE(nginx_pins) << "prefix " << prefix << " uri " << uri;
      }
    }
  }
}

TEST(NginxPinRegex, ExamplesFromTheIssue) {
  std::regex api(*nginx_pin_regex("/api"));
  EXPECT_TRUE(std::regex_search("/api", api));
  EXPECT_TRUE(std::regex_search("/api/x?y=1", api));
  EXPECT_TRUE(std::regex_search("//api", api));  // the decider merges slashes too: pinned there as well
  EXPECT_FALSE(std::regex_search("/%61pi/x", api));
  EXPECT_FALSE(std::regex_search("/apix", api));
  EXPECT_FALSE(std::regex_search("/x?/api", api));
  // Dot segments are not resolved by the decider: /api/../chat is under /api for it.
  EXPECT_TRUE(std::regex_search("/api/../chat", api));
  std::regex root(*nginx_pin_regex("/"));
  EXPECT_TRUE(std::regex_search("/", root));
  EXPECT_TRUE(std::regex_search("///?x", root));
  EXPECT_FALSE(std::regex_search("/x", root));
}

RouteConfig parse(const std::string& text) {
  auto c = parse_route_config(text, "routes.json");
  EXPECT_TRUE(c) << c.error().message();
  return c ? *c : RouteConfig{};
}

const char* k_config = R"({
  "legacy_base_url": "http://127.0.0.1:8081",
  "rust_base_url": "https://new.example.test/base/",
  "pinned_routes": [
    {"prefix": "/api/runtime/codex/workers", "target": "rust_shell", "reason": "workers_pin", "route_domain": "workers"},
    {"prefix": "/api", "target": "legacy", "reason": "api_pin", "route_domain": "api"},
    {"prefix": "/%61dmin", "target": "legacy", "reason": "odd_pin", "route_domain": "odd"}]})";

// The generated map's first-match-wins choice over the pins, against the
// engine itself: a URI nginx pins is pinned by the decider to the same pin.
TEST(NginxConfig, PinsInOrderAgreeWithTheEngine) {
  RouteSplit engine(parse(k_config));
  std::vector<std::pair<std::regex, const PinnedRoute*>> pins;
  for (const PinnedRoute& p : engine.config().pinned_routes) {
    if (auto re = nginx_pin_regex(p.prefix)) pins.emplace_back(std::regex(*re), &p);
  }
  ASSERT_EQ(2u, pins.size());  // /%61dmin is left to the decider
  int pinned = 0;
  for (const std::string& uri : sample_uris()) {
    const PinnedRoute* chosen = nullptr;
    for (auto& [re, p] : pins) {
      if (std::regex_search(uri, re)) {
        chosen = p;
        break;
      }
    }
    if (!chosen) continue;
    ++pinned;
    Decision d = engine.evaluate(path_of(uri), "anonymous", Overrides{});
    EXPECT_EQ(chosen->reason, d.reason) << uri;
    EXPECT_EQ(chosen->target, d.target) << uri;
  }
  EXPECT_GT(pinned, 100);
}

NginxOptions options() {
  NginxOptions o;
  o.decider = "127.0.0.1:9090";
  o.listen = "127.0.0.1:8080";
  o.config_source = "routes.json";
  return o;
}

TEST(NginxConfig, WritesUpstreamsDeciderPinsAndFailSafe) {
  auto text = nginx_config(parse(k_config), options());
  ASSERT_TRUE(text) << text.error().message();
  const std::string& t = *text;
  EXPECT_THAT(t, HasSubstr("upstream cutover_legacy {\n    # http://127.0.0.1:8081\n    server 127.0.0.1:8081;"));
  EXPECT_THAT(t, HasSubstr("server new.example.test:443;"));
  EXPECT_THAT(t, HasSubstr("server 127.0.0.1:9090 max_fails=0;\n    keepalive 64;"));
  EXPECT_THAT(t, HasSubstr("listen 127.0.0.1:8080;"));
  EXPECT_THAT(t, HasSubstr("auth_request cutover_decide;"));
  EXPECT_THAT(t, HasSubstr("auth_request_set $cutover_decided_target $upstream_http_x_cutover_target;"));
  EXPECT_THAT(t, HasSubstr("proxy_pass http://cutover_decider/api/v1/route-split/decide;"));
  EXPECT_THAT(t, HasSubstr("proxy_set_header X-Original-URI $request_uri;"));
  EXPECT_THAT(t, HasSubstr("proxy_connect_timeout 100ms;"));
  EXPECT_THAT(t, HasSubstr("proxy_read_timeout 200ms;"));
  EXPECT_THAT(t, HasSubstr("default decider_unavailable;"));
  EXPECT_THAT(t, HasSubstr("error_page 300 301"));
  EXPECT_THAT(t, HasSubstr(" 599 = @cutover_decider_unavailable;"));
  // The map from target to upstream, with the base URL's path.
  EXPECT_THAT(t, HasSubstr("default \"http://cutover_legacy\";\n    rust_shell \"https://cutover_rust_shell/base\";"));
  // Pins in the config's order, each to its own target and reason.
  size_t workers = t.find("pinned_routes[0]: /api/runtime/codex/workers -> rust_shell");
  size_t api = t.find("pinned_routes[1]: /api -> legacy");
  ASSERT_NE(std::string::npos, workers);
  ASSERT_NE(std::string::npos, api);
  EXPECT_LT(workers, api);
  EXPECT_THAT(t, HasSubstr("pin1 \"api_pin\";"));
  EXPECT_THAT(t, HasSubstr("# /%61dmin: holds a character a raw path would carry encoded; the decider pins it"));
  EXPECT_THAT(t, Not(HasSubstr("pin2")));
}

TEST(NginxConfig, TimeoutsAndBarePortListen) {
  NginxOptions o = options();
  o.listen = "8080";
  o.decider_connect_timeout_ms = 50;
  o.decider_read_timeout_ms = 750;
  auto text = nginx_config(parse(k_config), o);
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_THAT(*text, HasSubstr("listen 8080;"));
  EXPECT_THAT(*text, HasSubstr("proxy_connect_timeout 50ms;"));
  EXPECT_THAT(*text, HasSubstr("proxy_read_timeout 750ms;"));
  EXPECT_THAT(*text, HasSubstr("proxy_send_timeout 750ms;"));
}

TEST(NginxConfig, RefusesWhatCannotBeWrittenSafely) {
  auto refused = [](const RouteConfig& c, const NginxOptions& o, const std::string& why) {
    auto text = nginx_config(c, o);
    ASSERT_FALSE(text) << why;
    EXPECT_THAT(text.error().message(), HasSubstr(why));
  };
  RouteConfig good = parse(k_config);
  RouteConfig no_rust = good;
  no_rust.rust_base_url.reset();
  refused(no_rust, options(), "rust_base_url: the route config has none");
  RouteConfig dollar = good;
  dollar.legacy_base_url = "http://127.0.0.1:8081/a$b";
  refused(dollar, options(), "legacy_base_url 'http://127.0.0.1:8081/a$b'");
  RouteConfig semicolon = good;
  semicolon.rust_base_url = "http://h;x";
  refused(semicolon, options(), "rust_base_url 'http://h;x'");
  RouteConfig reason = good;
  reason.pinned_routes[0].reason = "a b";
  refused(reason, options(), "pinned_routes[0] (/api/runtime/codex/workers)");
  NginxOptions o = options();
  o.decider = "127.0.0.1";
  refused(good, o, "--decider '127.0.0.1'");
  o = options();
  o.decider = "host;evil:80";
  refused(good, o, "--decider");
  o = options();
  o.listen = "127.0.0.1:0";
  refused(good, o, "--listen '127.0.0.1:0'");
  o = options();
  o.decider_read_timeout_ms = 0;
  refused(good, o, "--decider-read-timeout 0");
}

}  // namespace
}  // namespace cutover::routing
