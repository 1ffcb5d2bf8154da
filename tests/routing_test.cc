// The route-split engine (SPEC §6): path and name rules, cohort buckets (the
// SPEC's test vectors), the config file and the reference's environment
// variables, every step of the decision order with its reason string, the
// override API's rules and messages, the state file, and the JSON shapes.
// The reference's own route-split tests are ported as the Reference* cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "cutover/json/parser.h"
#include "cutover/routing/cohort.h"
#include "cutover/routing/config.h"
#include "cutover/routing/overrides.h"
#include "cutover/routing/paths.h"
#include "cutover/routing/report.h"
#include "cutover/routing/route_split.h"

namespace cutover::routing {
namespace {

using ::testing::HasSubstr;

// --- paths and names ---------------------------------------------------------

TEST(RoutingPaths, NormalizePathTable) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "/"},
      {"   ", "/"},
      {"/", "/"},
      {"chat", "/chat"},
      {"/chat/", "/chat"},
      {"//chat//thread-1//", "/chat/thread-1"},
      {"  /chat  ", "/chat"},
      {"\t/settings/profile\n", "/settings/profile"},
      {"\xc2\xa0/chat\xe3\x80\x80", "/chat"},  // U+00A0 and U+3000 are white space to Rust's trim
      {"///a", "/a"},
      {"/a b", "/a b"},
      {"/l402/paywalls/", "/l402/paywalls"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(normalize_path(in), want) << "input '" << in << "'";
}

// The reference's trailing-slash strip turns "//" into ""; ours keeps "/".
TEST(RoutingPaths, DoubleSlashNormalizesToRootNotEmpty) {
  EXPECT_EQ(normalize_path("//"), "/");
  EXPECT_EQ(normalize_path("///"), "/");
  RouteSplit engine(reference_config());
  Decision d = engine.evaluate("//", "k", {});
  EXPECT_EQ(d.path, "/");
  EXPECT_EQ(d.route_domain, "chat_pilot");
}

TEST(RoutingPaths, TrimKeepsInnerAndNonWhiteSpace) {
  EXPECT_EQ(trim("  a b  "), "a b");
  EXPECT_EQ(trim("\xe2\x80\x83x\xe2\x80\xa8"), "x");  // U+2003, U+2028
  EXPECT_EQ(trim("\xe2\x80\x8bx"), "\xe2\x80\x8bx");  // U+200B (zero width space) is not White_Space
  EXPECT_EQ(trim("\xff"), "\xff");                    // invalid UTF-8 stays
  EXPECT_EQ(trim(""), "");
}

// The server once trimmed a header value returned by value and kept the view
// (AddressSanitizer: stack-use-after-scope); trim() of a temporary string no
// longer compiles.
template <typename T>
constexpr bool can_trim = requires(T&& t) {
  trim(std::forward<T>(t));
};

TEST(RoutingPaths, TrimOfATemporaryStringDoesNotCompile) {
  static_assert(!can_trim<std::string>);
  static_assert(can_trim<const std::string&>);
  static_assert(can_trim<std::string_view>);
  static_assert(can_trim<const char*>);
  std::string kept = "  x  ";
  EXPECT_EQ(trim(kept), "x");
}

TEST(RoutingPaths, GroupPrefixMatching) {
  EXPECT_TRUE(group_prefix_matches("/chat", "/chat"));
  EXPECT_TRUE(group_prefix_matches("/chat", "/chat/thread-1"));
  EXPECT_FALSE(group_prefix_matches("/chat", "/chatter"));
  EXPECT_FALSE(group_prefix_matches("/chat", "/cha"));
  EXPECT_TRUE(group_prefix_matches("/", "/"));
  EXPECT_FALSE(group_prefix_matches("/", "/chat"));  // "/" inside a group matches only "/"
}

TEST(RoutingPaths, RustRouteRootMatchesEverything) {
  EXPECT_TRUE(rust_route_matches("/", "/"));
  EXPECT_TRUE(rust_route_matches("/", "/anything/at/all"));
  EXPECT_TRUE(rust_route_matches("/chat", "/chat/x"));
  EXPECT_FALSE(rust_route_matches("/chat", "/chatter"));
}

TEST(RoutingPaths, GroupAndCohortKeyNormalization) {
  EXPECT_EQ(normalize_group_name("  Billing-L402 "), "billing_l402");
  EXPECT_EQ(normalize_group_name("AUTH_ENTRY"), "auth_entry");
  EXPECT_EQ(normalize_cohort_key("   "), "anonymous");
  EXPECT_EQ(normalize_cohort_key(""), "anonymous");
  EXPECT_EQ(normalize_cohort_key(" user:1 "), "user:1");
}

// --- cohort buckets ------------------------------------------------------------

TEST(RoutingCohort, SpecTestVectors) {
  EXPECT_EQ(cohort_bucket("openagents-route-split-v1", "user:1"), 57);
  EXPECT_EQ(cohort_bucket("openagents-route-split-v1", "user:route"), 85);
  EXPECT_EQ(cohort_bucket("openagents-route-split-v1", "anonymous"), 80);
  EXPECT_EQ(cohort_bucket("salt", "user:1"), 35);
  EXPECT_EQ(cohort_bucket("route-split-test-salt", "user:route"), 80);
  EXPECT_EQ(cohort_bucket("route-split-test-salt", "anonymous"), 98);
}

TEST(RoutingCohort, BucketsAreInRangeAndSpread) {
  std::vector<int> seen(100, 0);
  for (int i = 0; i < 20000; ++i) {
    CohortBucket b = cohort_bucket("spread", "user:" + std::to_string(i));
    ASSERT_LT(b, 100);
    ++seen[b];
  }
  // 200 expected per bucket; a broken fold (e.g. reading the digest instead
  // of its base64url text) would still be in range but skewed.
  for (int count : seen) EXPECT_GT(count, 120);
}

TEST(RoutingCohort, BlankKeyIsAnonymous) {
  RouteConfig c = reference_config();
  c.mode = RouteMode::cohort;
  c.cohort_percentage = 81;
  RouteSplit engine(std::move(c));
  Decision d = engine.evaluate("/chat", "   ", {});
  EXPECT_EQ(d.cohort_key, "anonymous");
  EXPECT_EQ(d.cohort_bucket, 80);
  EXPECT_EQ(d.target, RouteTarget::rust_shell);
}

// --- config --------------------------------------------------------------------

TEST(RoutingConfig, ReferenceDefaults) {
  RouteConfig c = reference_config();
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.mode, RouteMode::rust);
  EXPECT_EQ(c.cohort_percentage, 100);
  EXPECT_EQ(c.salt, "openagents-route-split-v1");
  EXPECT_EQ(c.rust_routes, std::vector<std::string>{"/"});
  EXPECT_FALSE(c.force_legacy);
  EXPECT_FALSE(c.legacy_base_url);
  ASSERT_EQ(c.route_groups.size(), 4u);
  EXPECT_EQ(c.route_groups[0],
            (RouteGroup{"auth_entry", {"/login", "/register", "/authenticate", "/onboarding"}, RouteTarget::legacy}));
  EXPECT_EQ(c.route_groups[1],
            (RouteGroup{"account_settings_admin", {"/account", "/settings", "/admin"}, RouteTarget::legacy}));
  EXPECT_EQ(c.route_groups[2], (RouteGroup{"billing_l402", {"/billing", "/l402"}, RouteTarget::legacy}));
  EXPECT_EQ(c.route_groups[3], (RouteGroup{"chat_pilot", {"/chat", "/feed", "/"}, RouteTarget::rust_shell}));
  ASSERT_EQ(c.pinned_routes.size(), 2u);
  EXPECT_EQ(c.pinned_routes[0].prefix, "/api/runtime/codex/workers");
  EXPECT_EQ(c.pinned_routes[1].prefix, "/api");
}

TEST(RoutingConfig, EmptyObjectIsTheReference) {
  auto c = parse_route_config("{}", "routes.json");
  ASSERT_TRUE(c) << c.error().message();
  RouteConfig want = reference_config();
  want.source = "routes.json";
  EXPECT_EQ(*c, want);
}

TEST(RoutingConfig, EveryKey) {
  auto c = parse_route_config(R"({
    "enabled": false, "mode": "Cohort", "cohort_percentage": 25, "salt": "s1",
    "rust_routes": ["chat/", "/login", "/chat"], "force_legacy": true,
    "legacy_base_url": " https://legacy.example.com// ", "rust_base_url": "http://127.0.0.1:9000",
    "route_groups": [{"domain": " Chat-Pilot ", "route_prefixes": ["/chat", "feed"], "rollback_target": "rust"},
                     {"domain": "billing", "route_prefixes": ["/billing"], "rollback_target": "legacy"}],
    "pinned_routes": [{"prefix": "/internal", "target": "legacy", "reason": "internal_legacy"}],
    "tokens_file": "tokens.txt"})",
                              "routes.json");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_FALSE(c->enabled);
  EXPECT_EQ(c->mode, RouteMode::cohort);
  EXPECT_EQ(c->cohort_percentage, 25);
  EXPECT_EQ(c->salt, "s1");
  EXPECT_EQ(c->rust_routes, (std::vector<std::string>{"/chat", "/login"}));
  EXPECT_TRUE(c->force_legacy);
  EXPECT_EQ(c->legacy_base_url, "https://legacy.example.com");
  EXPECT_EQ(c->rust_base_url, "http://127.0.0.1:9000");
  ASSERT_EQ(c->route_groups.size(), 2u);
  EXPECT_EQ(c->route_groups[0], (RouteGroup{"chat_pilot", {"/chat", "/feed"}, RouteTarget::rust_shell}));
  ASSERT_EQ(c->pinned_routes.size(), 1u);
  EXPECT_EQ(c->pinned_routes[0], (PinnedRoute{"/internal", RouteTarget::legacy, "internal_legacy", "internal_legacy"}));
  EXPECT_EQ(c->tokens_file, "tokens.txt");
}

void expect_refused(const std::string& text, const std::vector<std::string>& fragments) {
  auto c = parse_route_config(text, "conf/routes.json");
  ASSERT_FALSE(c) << "accepted: " << text;
  EXPECT_EQ(c.error().code(), ErrorCode::invalid_argument);
  EXPECT_THAT(c.error().message(), HasSubstr("conf/routes.json"));
  for (const auto& f : fragments) EXPECT_THAT(c.error().message(), HasSubstr(f)) << text;
}

TEST(RoutingConfig, MalformedFileNamesFileAndPosition) {
  expect_refused("{\"mode\": \"rust\",}", {"line 1, column"});
  expect_refused("[]", {"must be a JSON object"});
  expect_refused("", {"route config conf/routes.json"});
}

TEST(RoutingConfig, UnknownTargetIsRefused) {
  expect_refused(R"({"route_groups": [{"domain": "a", "route_prefixes": ["/a"], "rollback_target": "legcy"}]})",
                 {"route_groups[0].rollback_target", "unknown target 'legcy'"});
  expect_refused(R"({"pinned_routes": [{"prefix": "/x", "target": "nginx", "reason": "r"}]})",
                 {"pinned_routes[0].target", "unknown target 'nginx'"});
}

TEST(RoutingConfig, DuplicateGroupIsRefusedAfterNormalization) {
  expect_refused(R"({"route_groups": [
      {"domain": "billing_l402", "route_prefixes": ["/billing"], "rollback_target": "legacy"},
      {"domain": " Billing-L402", "route_prefixes": ["/l402"], "rollback_target": "legacy"}]})",
                 {"route_groups[1].domain", "duplicate route group 'billing_l402'"});
}

TEST(RoutingConfig, PrefixClaimedByTwoGroupsIsRefused) {
  expect_refused(R"({"route_groups": [
      {"domain": "a", "route_prefixes": ["/x"], "rollback_target": "legacy"},
      {"domain": "b", "route_prefixes": ["/y", "/x/"], "rollback_target": "legacy"}]})",
                 {"route_groups[1].route_prefixes[1]", "already in group 'a'"});
}

// Finding 11: a prefix below an earlier group's prefix was accepted, though
// every path it matches is decided in the earlier group.
TEST(RoutingConfig, PrefixUnderAnEarlierGroupsPrefixIsRefused) {
  expect_refused(
      R"({"route_groups": [
      {"domain": "a", "route_prefixes": ["/chat"], "rollback_target": "legacy"},
      {"domain": "b", "route_prefixes": ["/feed", "/chat/x"], "rollback_target": "rust"}]})",
      {"route_groups[1].route_prefixes[1]: '/chat/x' of group 'b' lies under '/chat' of the earlier group 'a' "
       "(route_groups[0])",
       "list 'b' before 'a'"});
  // Several levels down, and in a group listed further on.
  expect_refused(R"({"route_groups": [
      {"domain": "a", "route_prefixes": ["/x", "/chat"], "rollback_target": "legacy"},
      {"domain": "b", "route_prefixes": ["/y"], "rollback_target": "legacy"},
      {"domain": "c", "route_prefixes": [" chat//1/2/ "], "rollback_target": "legacy"}]})",
                 {"route_groups[2].route_prefixes[0]: '/chat/1/2' of group 'c' lies under '/chat' of the earlier "
                  "group 'a'"});
  // When several earlier prefixes match, the group that decides the paths
  // (the first in order) is named.
  expect_refused(R"({"route_groups": [
      {"domain": "first", "route_prefixes": ["/a/b"], "rollback_target": "legacy"},
      {"domain": "second", "route_prefixes": ["/a"], "rollback_target": "legacy"},
      {"domain": "third", "route_prefixes": ["/a/b/c"], "rollback_target": "legacy"}]})",
                 {"'/a/b/c' of group 'third' lies under '/a/b' of the earlier group 'first' (route_groups[0])"});
  // The same matching rule as the decisions: not "/chatter" under "/chat",
  // nothing under "/" (which matches only "/"), a parent after its child,
  // and a group's own prefixes below each other are all accepted, and each
  // prefix is then decided in the group that lists it.
  auto c = parse_route_config(R"({"route_groups": [
      {"domain": "a", "route_prefixes": ["/chat/x", "/", "/docs", "/docs/intro"], "rollback_target": "legacy"},
      {"domain": "b", "route_prefixes": ["/chatter", "/chat", "/x", "/do"], "rollback_target": "rust"}]})",
                              "r.json");
  ASSERT_TRUE(c) << c.error().message();
  RouteSplit engine(std::move(*c));
  for (const RouteGroup& g : engine.config().route_groups) {
    for (const std::string& p : g.route_prefixes) EXPECT_EQ(engine.evaluate(p, "k", {}).route_domain, g.domain) << p;
  }
}

// Pinned routes are tried in order as well: a pin that an earlier pin's
// prefix matches never takes effect. A pin over a group's prefix is by design
// (pins come before the groups).
TEST(RoutingConfig, PinnedRouteUnderOrEqualToAnEarlierPinIsRefused) {
  expect_refused(
      R"({"pinned_routes": [
      {"prefix": "/api", "target": "rust_shell", "reason": "api_rust_authority"},
      {"prefix": "/api/runtime/codex/workers", "target": "rust_shell", "reason": "codex"}]})",
      {"pinned_routes[1].prefix: '/api/runtime/codex/workers' lies under '/api' of the earlier pinned_routes[0] "
       "(reason 'api_rust_authority')",
       "list it before pinned_routes[0]"});
  expect_refused(R"({"pinned_routes": [
      {"prefix": "/api", "target": "rust_shell", "reason": "one"},
      {"prefix": "/api/", "target": "legacy", "reason": "two"}]})",
                 {"pinned_routes[1].prefix: '/api' is already pinned by pinned_routes[0] (reason 'one')"});
  auto c = parse_route_config(R"({"pinned_routes": [
      {"prefix": "/chat/export", "target": "legacy", "reason": "export"},
      {"prefix": "/chat", "target": "rust_shell", "reason": "chat"},
      {"prefix": "/chatter", "target": "legacy", "reason": "chatter"}]})",
                              "r.json");
  ASSERT_TRUE(c) << c.error().message();
}

// Builds a config file with `groups` route groups of three prefixes each and
// `pins` pinned routes, each with its own domain.
std::string many_groups_and_pins(size_t groups, size_t pins) {
  std::string text = R"({"route_groups": [)";
  for (size_t i = 0; i < groups; ++i) {
    std::string n = std::to_string(i);
    text += (i ? "," : "") + std::string(R"({"domain": "g)") + n + R"(", "route_prefixes": ["/g)" + n + R"(", "/g)" +
            n + R"(x/a", "/h/)" + n + R"("], "rollback_target": "legacy"})";
  }
  text += R"(], "pinned_routes": [)";
  for (size_t i = 0; i < pins; ++i) {
    std::string n = std::to_string(i);
    text += (i ? "," : "") + std::string(R"({"prefix": "/api/)") + n + R"(", "target": "rust", "reason": "p)" + n +
            R"(", "route_domain": "d)" + n + R"("})";
  }
  return text + "]}";
}

// Finding 12: any number of groups and pins was accepted, and past 65,535
// their 16-bit decision ids wrapped (a decision counted under another
// group's label).
TEST(RoutingConfig, MoreRouteGroupsOrPinnedRoutesThanTheLimitAreRefused) {
  static_assert(k_max_route_groups == 1000 && k_max_pinned_routes == 1000);
  expect_refused(many_groups_and_pins(1001, 1), {"route_groups: holds 1001 groups; at most 1000 are allowed"});
  expect_refused(many_groups_and_pins(1, 1001), {"pinned_routes: holds 1001 pinned routes; at most 1000 are allowed"});
  auto c = parse_route_config(many_groups_and_pins(1000, 1000), "r.json");
  ASSERT_TRUE(c) << c.error().message();
  RouteSplit engine(std::move(*c));
  EXPECT_EQ(engine.domain_count(), 1000u + 1000u + 1u);
  EXPECT_EQ(engine.reason_count(), k_fixed_reason_count + 1000u);
  for (const char* path : {"/g999x/a/1", "/h/998", "/api/999/x", "/api/0", "/nowhere"}) {
    Decision d = engine.evaluate(path, "k", {});
    EXPECT_EQ(engine.domain_label(d.domain_id), d.route_domain) << path;
    EXPECT_EQ(engine.reason_label(d.reason_id), d.reason) << path;
  }
  EXPECT_EQ(engine.evaluate("/h/998", "k", {}).route_domain, "g998");
  EXPECT_EQ(engine.evaluate("/api/999/x", "k", {}).route_domain, "d999");
}

TEST(RoutingConfig, PercentageOutsideRangeIsRefused) {
  expect_refused(R"({"cohort_percentage": 101})", {"cohort_percentage", "0 to 100"});
  expect_refused(R"({"cohort_percentage": -1})", {"cohort_percentage", "0 to 100"});
  expect_refused(R"({"cohort_percentage": 50.5})", {"cohort_percentage", "whole number"});
  expect_refused(R"({"cohort_percentage": "50"})", {"cohort_percentage", "not string"});
}

TEST(RoutingConfig, OtherFieldProblems) {
  expect_refused(R"({"modee": "rust"})", {"unknown field 'modee'", "did you mean 'mode'"});
  expect_refused(R"({"zzz": 1})", {"unknown field 'zzz'", "known:"});
  expect_refused(R"({"mode": "canary"})", {"mode: unknown mode 'canary'"});
  expect_refused(R"({"enabled": "yes"})", {"enabled: must be true or false"});
  expect_refused(R"({"salt": "  "})", {"salt: must not be blank"});
  expect_refused(R"({"rust_routes": ["/a", ""]})", {"rust_routes[1]: must not be blank"});
  expect_refused(R"({"rust_routes": "/a"})", {"rust_routes: must be an array"});
  expect_refused(R"({"legacy_base_url": "legacy.example.com"})", {"legacy_base_url", "http:// or https://"});
  expect_refused(R"({"rust_base_url": "https://x.example/a?b"})", {"rust_base_url", "'?'"});
  expect_refused(R"({"route_groups": [{"domain": "a"}]})",
                 {"route_groups[0].route_prefixes: is missing", "route_groups[0].rollback_target: is missing"});
  expect_refused(
      R"({"route_groups": [{"domain": "a b", "route_prefixes": ["/a"], "rollback_target": "legacy", "x": 1}]})",
      {"route_groups[0].domain", "a-z, 0-9 and _", "route_groups[0].x: unknown field"});
  expect_refused(
      R"({"route_groups": [{"domain": "unclassified", "route_prefixes": ["/a"], "rollback_target": "legacy"}]})",
      {"reserved"});
  expect_refused(R"({"route_groups": [{"domain": "a", "route_prefixes": [], "rollback_target": "legacy"}]})",
                 {"at least one prefix"});
  expect_refused(R"({"tokens_file": ""})", {"tokens_file: must not be blank"});
}

TEST(RoutingConfig, EveryProblemIsListedAtOnce) {
  auto c = parse_route_config(R"({"mode": "x", "cohort_percentage": 400, "salt": ""})", "r.json");
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message(), HasSubstr("mode:"));
  EXPECT_THAT(c.error().message(), HasSubstr("cohort_percentage:"));
  EXPECT_THAT(c.error().message(), HasSubstr("salt:"));
}

TEST(RoutingConfig, NullBaseUrlClearsIt) {
  auto c = parse_route_config(R"({"legacy_base_url": null, "rust_base_url": ""})", "r.json");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_FALSE(c->legacy_base_url);
  EXPECT_FALSE(c->rust_base_url);
}

// --- environment ---------------------------------------------------------------

RouteConfig with_env(const Environment& env, std::vector<std::string>* warnings = nullptr) {
  RouteConfig c = reference_config();
  auto w = apply_environment(c, env);
  EXPECT_TRUE(w) << w.error().message();
  if (w && warnings) *warnings = *w;
  return c;
}

TEST(RoutingEnvironment, BooleansFollowTheReference) {
  EXPECT_FALSE(with_env({{"OA_ROUTE_SPLIT_ENABLED", "no"}}).enabled);
  EXPECT_FALSE(with_env({{"OA_ROUTE_SPLIT_ENABLED", ""}}).enabled);  // set but not 1/true/yes
  EXPECT_TRUE(with_env({{"OA_ROUTE_SPLIT_ENABLED", " YES "}}).enabled);
  EXPECT_TRUE(with_env({{"OA_ROUTE_SPLIT_ENABLED", "1"}}).enabled);
  EXPECT_TRUE(with_env({}).enabled);
  EXPECT_TRUE(with_env({{"OA_ROUTE_SPLIT_FORCE_LEGACY", "True"}}).force_legacy);
  EXPECT_FALSE(with_env({{"OA_ROUTE_SPLIT_FORCE_LEGACY", "on"}}).force_legacy);
}

TEST(RoutingEnvironment, Mode) {
  EXPECT_EQ(with_env({{"OA_ROUTE_SPLIT_MODE", " Cohort "}}).mode, RouteMode::cohort);
  EXPECT_EQ(with_env({{"OA_ROUTE_SPLIT_MODE", "legacy"}}).mode, RouteMode::legacy);
  std::vector<std::string> warnings;
  EXPECT_EQ(with_env({{"OA_ROUTE_SPLIT_MODE", "canary"}}, &warnings).mode, RouteMode::legacy);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("OA_ROUTE_SPLIT_MODE"));
  EXPECT_EQ(with_env({{"OA_ROUTE_SPLIT_MODE", "  "}}).mode, RouteMode::rust);  // blank: not set
}

TEST(RoutingEnvironment, RustRoutes) {
  EXPECT_EQ(with_env({{"OA_ROUTE_SPLIT_RUST_ROUTES", "/chat, ,login/,/chat"}}).rust_routes,
            (std::vector<std::string>{"/chat", "/login"}));
  EXPECT_TRUE(with_env({{"OA_ROUTE_SPLIT_RUST_ROUTES", ""}}).rust_routes.empty());
}

TEST(RoutingEnvironment, CohortPercentageAsRustParsesU8) {
  EXPECT_EQ(with_env({{"OA_ROUTE_SPLIT_COHORT_PERCENTAGE", "50"}}).cohort_percentage, 50);
  EXPECT_EQ(with_env({{"OA_ROUTE_SPLIT_COHORT_PERCENTAGE", "+7"}}).cohort_percentage, 7);
  EXPECT_EQ(with_env({{"OA_ROUTE_SPLIT_COHORT_PERCENTAGE", "255"}}).cohort_percentage, 100);
  EXPECT_EQ(with_env({{"OA_ROUTE_SPLIT_COHORT_PERCENTAGE", "007"}}).cohort_percentage, 7);
  for (const char* bad : {"256", " 5", "-1", "5%", "", "+"}) {
    std::vector<std::string> warnings;
    RouteConfig c = reference_config();
    c.cohort_percentage = 30;  // as if from the file
    auto w = apply_environment(c, {{"OA_ROUTE_SPLIT_COHORT_PERCENTAGE", bad}});
    ASSERT_TRUE(w);
    EXPECT_EQ(c.cohort_percentage, 30) << bad;
    ASSERT_EQ(w->size(), 1u) << bad;
    EXPECT_THAT((*w)[0], HasSubstr("stays 30"));
  }
}

TEST(RoutingEnvironment, SaltAndLegacyBaseUrl) {
  EXPECT_EQ(with_env({{"OA_ROUTE_SPLIT_SALT", " pepper "}}).salt, " pepper ");
  EXPECT_EQ(with_env({{"OA_ROUTE_SPLIT_SALT", "   "}}).salt, "openagents-route-split-v1");
  EXPECT_EQ(with_env({{"OA_ROUTE_SPLIT_LEGACY_BASE_URL", " https://legacy.example.com// "}}).legacy_base_url,
            "https://legacy.example.com");
  RouteConfig c = reference_config();
  c.legacy_base_url = "https://from-file.example";
  ASSERT_TRUE(apply_environment(c, {{"OA_ROUTE_SPLIT_LEGACY_BASE_URL", ""}}));
  EXPECT_FALSE(c.legacy_base_url);  // set but empty: no legacy target, as in the reference
  auto bad = apply_environment(c, {{"OA_ROUTE_SPLIT_LEGACY_BASE_URL", "ftp://x"}});
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), HasSubstr("OA_ROUTE_SPLIT_LEGACY_BASE_URL"));
}

TEST(RoutingEnvironment, OverridesTheFileAndIsRecorded) {
  auto c = parse_route_config(R"({"mode": "legacy", "cohort_percentage": 10})", "r.json");
  ASSERT_TRUE(c);
  ASSERT_TRUE(apply_environment(*c, {{"OA_ROUTE_SPLIT_MODE", "cohort"}, {"UNRELATED", "x"}}));
  EXPECT_EQ(c->mode, RouteMode::cohort);
  EXPECT_EQ(c->cohort_percentage, 10);
  EXPECT_EQ(c->environment, std::vector<std::string>{"OA_ROUTE_SPLIT_MODE=cohort"});
}

// Finding 7: a value that is not UTF-8 was used as it was; the reference's
// std::env::var refuses it, so the variable is unset there.
TEST(RoutingEnvironment, ValueThatIsNotUtf8IsUnsetWithAWarning) {
  const std::pair<std::string, std::string> cases[] = {
      {"OA_ROUTE_SPLIT_ENABLED", "yes\xff"},
      {"OA_ROUTE_SPLIT_MODE", "cohort\xc0\xaf"},                  // an overlong "/"
      {"OA_ROUTE_SPLIT_RUST_ROUTES", "/chat,/\xed\xa0\x80"},      // a surrogate
      {"OA_ROUTE_SPLIT_COHORT_PERCENTAGE", "5\xf4\x90\x80\x80"},  // over U+10FFFF
      {"OA_ROUTE_SPLIT_SALT", "pepper\xe2\x82"},                  // a cut sequence
      {"OA_ROUTE_SPLIT_FORCE_LEGACY", "\x80"},                    // a lone continuation byte
      {"OA_ROUTE_SPLIT_LEGACY_BASE_URL", "https://legacy.example/\xfe"},
  };
  for (const auto& [name, value] : cases) {
    RouteConfig file = reference_config();  // as if from a file
    file.mode = RouteMode::cohort;
    file.cohort_percentage = 30;
    file.rust_routes = {"/login"};
    file.force_legacy = true;
    file.legacy_base_url = "https://from-file.example";
    RouteConfig c = file;
    auto w = apply_environment(c, {{name, value}});
    ASSERT_TRUE(w) << name << ": " << w.error().message();
    EXPECT_EQ(c, file) << name;  // nothing changed, nothing recorded
    ASSERT_EQ(w->size(), 1u) << name;
    EXPECT_THAT((*w)[0], HasSubstr(name + " is not valid UTF-8 (at byte "));
    EXPECT_THAT((*w)[0], HasSubstr("treated as unset"));
  }
  std::vector<std::string> warnings;
  with_env({{"OA_ROUTE_SPLIT_RUST_ROUTES", "/chat,/x\xff"}}, &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("(at byte 8)"));
  // Valid UTF-8 of every length is used.
  warnings.clear();
  RouteConfig valid =
      with_env({{"OA_ROUTE_SPLIT_RUST_ROUTES", "/\xc3\xa9t\xc3\xa9,/\xe2\x82\xac,/\xf0\x9f\x98\x80"}}, &warnings);
  EXPECT_EQ(valid.rust_routes, (std::vector<std::string>{"/\xc3\xa9t\xc3\xa9", "/\xe2\x82\xac", "/\xf0\x9f\x98\x80"}));
  EXPECT_TRUE(warnings.empty());
}

// --- the decision order ----------------------------------------------------------

// The reference's own test config: cohort mode at 100 %, salt "salt".
RouteConfig reference_test_config() {
  RouteConfig c = reference_config();
  c.mode = RouteMode::cohort;
  c.rust_routes = {"/chat",    "/login",    "/register", "/authenticate", "/onboarding",
                   "/account", "/settings", "/l402",     "/billing",      "/admin"};
  c.cohort_percentage = 100;
  c.salt = "salt";
  c.legacy_base_url = "https://legacy.example.com";
  return c;
}

TEST(RoutingReference, CohortModeTargetsRustWhenBucketIsInRange) {
  RouteSplit engine(reference_test_config());
  Decision d = engine.evaluate("/chat/thread-1", "user:1", {});
  EXPECT_EQ(d.target, RouteTarget::rust_shell);
  EXPECT_EQ(d.reason, "mode_cohort");
  EXPECT_EQ(d.cohort_bucket, 35);
}

TEST(RoutingReference, RuntimeOverrideForcesLegacyTarget) {
  RouteSplit engine(reference_test_config());
  Overrides o;
  o.global = RouteTarget::legacy;
  Decision d = engine.evaluate("/chat", "user:1", o);
  EXPECT_EQ(d.target, RouteTarget::legacy);
  EXPECT_EQ(d.reason, "runtime_override");
}

TEST(RoutingReference, ManagementAndAuthPrefixesMatchRustRoutes) {
  RouteSplit engine(reference_test_config());
  for (const char* path : {"/account/session", "/settings/profile", "/l402/paywalls", "/billing/deployments",
                           "/admin/tools", "/login", "/register", "/authenticate", "/onboarding/checklist"}) {
    EXPECT_EQ(engine.evaluate(path, "user:1", {}).target, RouteTarget::rust_shell) << path;
  }
}

TEST(RoutingReference, RustModeWithRootPrefixRoutesAllPathsToRustShell) {
  RouteConfig c = reference_test_config();
  c.mode = RouteMode::rust;
  c.rust_routes = {"/"};
  RouteSplit engine(std::move(c));
  for (const char* path : {"/", "/login", "/settings/profile", "/unknown/path"}) {
    Decision d = engine.evaluate(path, "user:1", {});
    EXPECT_EQ(d.target, RouteTarget::rust_shell) << path;
    EXPECT_EQ(d.reason, "mode_rust") << path;
    EXPECT_FALSE(d.cohort_bucket) << path;
  }
}

TEST(RoutingReference, CodexWorkerControlPathsStayOnRust) {
  RouteConfig c = reference_test_config();
  c.mode = RouteMode::legacy;
  c.rust_routes = {"/"};
  c.force_legacy = true;
  RouteSplit engine(std::move(c));
  Overrides o;
  o.global = RouteTarget::legacy;
  for (const char* path : {"/api/runtime/codex/workers", "/api/runtime/codex/workers/codexw_1",
                           "/api/runtime/codex/workers/codexw_1/events", "/api/runtime/codex/workers/codexw_1/stop"}) {
    Decision d = engine.evaluate(path, "user:1", o);
    EXPECT_EQ(d.target, RouteTarget::rust_shell) << path;
    EXPECT_EQ(d.reason, "codex_worker_control_rust_authority") << path;
    EXPECT_EQ(d.route_domain, "runtime_codex_worker_control") << path;
    EXPECT_EQ(d.rollback_target, RouteTarget::rust_shell) << path;
  }
  // A sibling that only shares the text is not pinned to the worker control route.
  EXPECT_EQ(engine.evaluate("/api/runtime/codex/workersx", "k", o).reason, "api_rust_authority");
}

TEST(RoutingReference, ApiPathsAreRustAuthorityEvenUnderLegacyOverrides) {
  RouteConfig c = reference_test_config();
  c.mode = RouteMode::legacy;
  c.force_legacy = true;
  RouteSplit engine(std::move(c));
  Overrides o;
  o.global = RouteTarget::legacy;
  o.groups["billing_l402"] = RouteTarget::legacy;
  for (const char* path :
       {"/api/auth/email", "/api/settings/profile", "/api/runtime/tools/execute", "/api/v1/control/status", "/api"}) {
    Decision d = engine.evaluate(path, "user:1", o);
    EXPECT_EQ(d.target, RouteTarget::rust_shell) << path;
    EXPECT_EQ(d.reason, "api_rust_authority") << path;
    EXPECT_EQ(d.route_domain, "api_rust_authority") << path;
    EXPECT_EQ(d.rollback_target, RouteTarget::rust_shell) << path;
  }
  EXPECT_NE(engine.evaluate("/apiary", "k", o).reason, "api_rust_authority");
}

TEST(RoutingReference, DomainOverrideAppliesOnlyToMatchingRouteGroup) {
  RouteSplit engine(reference_test_config());
  Overrides o;
  o.groups["billing_l402"] = RouteTarget::legacy;
  Decision billing = engine.evaluate("/l402/paywalls", "user:1", o);
  EXPECT_EQ(billing.target, RouteTarget::legacy);
  EXPECT_EQ(billing.reason, "domain_override");
  EXPECT_EQ(billing.route_domain, "billing_l402");
  Decision settings = engine.evaluate("/settings/profile", "user:1", o);
  EXPECT_EQ(settings.target, RouteTarget::rust_shell);
  EXPECT_NE(settings.reason, "domain_override");
}

TEST(RoutingReference, StatusExposesRollbackMatrixPerRouteGroup) {
  RouteSplit engine(reference_test_config());
  auto doc = json::parse(status_json(engine, {}));
  ASSERT_TRUE(doc);
  const json::Node* matrix = doc->root().find("rollback_matrix");
  ASSERT_NE(matrix, nullptr);
  EXPECT_EQ(matrix->find("auth_entry")->as_string(), "legacy");
  EXPECT_EQ(matrix->find("account_settings_admin")->as_string(), "legacy");
  EXPECT_EQ(matrix->find("billing_l402")->as_string(), "legacy");
  EXPECT_EQ(matrix->find("chat_pilot")->as_string(), "rust_shell");
}

TEST(RoutingReference, RouteDecisionCarriesDomainAndRollbackTarget) {
  RouteSplit engine(reference_test_config());
  Decision d = engine.evaluate("/settings/profile", "user:1", {});
  EXPECT_EQ(d.route_domain, "account_settings_admin");
  EXPECT_EQ(d.rollback_target, RouteTarget::legacy);
}

// Each step of the decision order wins over every later one and loses to
// every earlier one.
TEST(RoutingDecision, DomainOverrideBeatsKillSwitchAndGlobalOverride) {
  RouteConfig c = reference_test_config();
  c.force_legacy = true;
  RouteSplit engine(std::move(c));
  Overrides o;
  o.global = RouteTarget::legacy;
  o.groups["chat_pilot"] = RouteTarget::rust_shell;
  Decision d = engine.evaluate("/chat", "k", o);
  EXPECT_EQ(d.target, RouteTarget::rust_shell);
  EXPECT_EQ(d.reason, "domain_override");
  EXPECT_EQ(d.rollback_target, RouteTarget::rust_shell);
  EXPECT_FALSE(d.cohort_bucket);
}

TEST(RoutingDecision, KillSwitchBeatsGlobalOverride) {
  RouteConfig c = reference_test_config();
  c.force_legacy = true;
  RouteSplit engine(std::move(c));
  Overrides o;
  o.global = RouteTarget::rust_shell;
  Decision d = engine.evaluate("/chat", "k", o);
  EXPECT_EQ(d.target, RouteTarget::legacy);
  EXPECT_EQ(d.reason, "force_legacy");
}

TEST(RoutingDecision, GlobalOverrideBeatsDisabledSplit) {
  RouteConfig c = reference_test_config();
  c.enabled = false;
  RouteSplit engine(std::move(c));
  Overrides o;
  o.global = RouteTarget::rust_shell;
  Decision d = engine.evaluate("/unrouted", "k", o);
  EXPECT_EQ(d.target, RouteTarget::rust_shell);
  EXPECT_EQ(d.reason, "runtime_override");
  EXPECT_EQ(engine.evaluate("/chat", "k", {}).reason, "route_split_disabled");
  EXPECT_EQ(engine.evaluate("/chat", "k", {}).target, RouteTarget::legacy);
}

TEST(RoutingDecision, DisabledBeatsNewServiceRoutes) {
  RouteConfig c = reference_test_config();
  c.enabled = false;
  c.mode = RouteMode::rust;
  RouteSplit engine(std::move(c));
  Decision d = engine.evaluate("/chat", "k", {});
  EXPECT_EQ(d.target, RouteTarget::legacy);
  EXPECT_EQ(d.reason, "route_split_disabled");
}

TEST(RoutingDecision, PathOutsideNewServiceRoutesIsLegacyDefault) {
  RouteSplit engine(reference_test_config());
  Decision d = engine.evaluate("/feed", "k", {});
  EXPECT_EQ(d.target, RouteTarget::legacy);
  EXPECT_EQ(d.reason, "legacy_route_default");
  EXPECT_EQ(d.route_domain, "chat_pilot");
  EXPECT_EQ(d.rollback_target, RouteTarget::rust_shell);
  EXPECT_FALSE(d.cohort_bucket);
  // /chatter shares text with /chat but is not below it.
  EXPECT_EQ(engine.evaluate("/chatter", "k", {}).reason, "legacy_route_default");
}

TEST(RoutingDecision, ModesAndOnlyCohortReportsTheBucket) {
  for (auto [mode, target, reason] : {std::tuple{RouteMode::legacy, RouteTarget::legacy, "mode_legacy"},
                                      std::tuple{RouteMode::rust, RouteTarget::rust_shell, "mode_rust"},
                                      std::tuple{RouteMode::cohort, RouteTarget::rust_shell, "mode_cohort"}}) {
    RouteConfig c = reference_test_config();
    c.mode = mode;
    RouteSplit engine(std::move(c));
    Decision d = engine.evaluate("/chat/x", "user:1", {});
    EXPECT_EQ(d.target, target) << reason;
    EXPECT_EQ(d.reason, reason);
    EXPECT_EQ(d.cohort_bucket.has_value(), mode == RouteMode::cohort) << reason;
  }
}

TEST(RoutingDecision, CohortBoundaryIsBucketLessThanPercentage) {
  // salt "salt", key "user:1" -> bucket 35.
  for (auto [percentage, target] : {std::pair{0, RouteTarget::legacy}, std::pair{35, RouteTarget::legacy},
                                    std::pair{36, RouteTarget::rust_shell}, std::pair{100, RouteTarget::rust_shell}}) {
    RouteConfig c = reference_test_config();
    c.cohort_percentage = static_cast<uint8_t>(percentage);
    RouteSplit engine(std::move(c));
    Decision d = engine.evaluate("/chat", "user:1", {});
    EXPECT_EQ(d.cohort_bucket, 35);
    EXPECT_EQ(d.target, target) << percentage;
  }
}

TEST(RoutingDecision, UnclassifiedPathRollsBackToLegacy) {
  RouteConfig c = reference_test_config();
  c.rust_routes = {"/"};
  RouteSplit engine(std::move(c));
  Decision d = engine.evaluate("/docs/intro", "k", {});
  EXPECT_EQ(d.route_domain, "unclassified");
  EXPECT_EQ(d.rollback_target, RouteTarget::legacy);
  EXPECT_EQ(d.path, "/docs/intro");
  // A group override never reaches unclassified paths.
  Overrides o;
  o.groups["chat_pilot"] = RouteTarget::legacy;
  EXPECT_EQ(engine.evaluate("/docs/intro", "k", o).reason, "mode_cohort");
}

TEST(RoutingDecision, GroupsAreTriedInOrderAndRootOnlyMatchesRoot) {
  RouteSplit engine(reference_config());
  EXPECT_EQ(engine.evaluate("/", "k", {}).route_domain, "chat_pilot");
  EXPECT_EQ(engine.evaluate("/onboarding/step/2", "k", {}).route_domain, "auth_entry");
  EXPECT_EQ(engine.evaluate("/l402", "k", {}).route_domain, "billing_l402");
  EXPECT_EQ(engine.evaluate("/other", "k", {}).route_domain, "unclassified");
}

TEST(RoutingDecision, PinnedRoutesFromConfigComeFirstInOrder) {
  auto c = parse_route_config(R"({"pinned_routes": [
      {"prefix": "/chat/legacy-export", "target": "legacy", "reason": "export_stays_legacy", "route_domain": "export"},
      {"prefix": "/chat", "target": "rust_shell", "reason": "chat_rust_only"}]})",
                              "r.json");
  ASSERT_TRUE(c) << c.error().message();
  RouteSplit engine(std::move(*c));
  Overrides o;
  o.groups["chat_pilot"] = RouteTarget::legacy;
  Decision a = engine.evaluate("/chat/legacy-export/1", "k", o);
  EXPECT_EQ(a.target, RouteTarget::legacy);
  EXPECT_EQ(a.reason, "export_stays_legacy");
  EXPECT_EQ(a.route_domain, "export");
  EXPECT_EQ(a.rollback_target, RouteTarget::legacy);
  Decision b = engine.evaluate("/chat/x", "k", o);
  EXPECT_EQ(b.reason, "chat_rust_only");
  EXPECT_EQ(b.route_domain, "chat_rust_only");
  // The file replaced the built-in pins: /api is no longer pinned.
  EXPECT_EQ(engine.evaluate("/api/x", "k", o).reason, "mode_rust");
}

TEST(RoutingDecision, EveryReasonAndDomainHasALabel) {
  RouteSplit engine(reference_config());
  std::vector<std::string_view> reasons;
  for (size_t i = 0; i < engine.reason_count(); ++i) reasons.push_back(engine.reason_label(i));
  EXPECT_EQ(reasons, (std::vector<std::string_view>{"domain_override", "force_legacy", "runtime_override",
                                                    "route_split_disabled", "legacy_route_default", "mode_legacy",
                                                    "mode_rust", "mode_cohort", "codex_worker_control_rust_authority",
                                                    "api_rust_authority"}));
  std::vector<std::string_view> domains;
  for (size_t i = 0; i < engine.domain_count(); ++i) domains.push_back(engine.domain_label(i));
  EXPECT_EQ(domains,
            (std::vector<std::string_view>{"auth_entry", "account_settings_admin", "billing_l402", "chat_pilot",
                                           "runtime_codex_worker_control", "api_rust_authority", "unclassified"}));
  Decision d = engine.evaluate("/api/x", "k", {});
  EXPECT_EQ(engine.reason_label(d.reason_id), d.reason);
  EXPECT_EQ(engine.domain_label(d.domain_id), d.route_domain);
  Decision u = engine.evaluate("/zzz", "k", {});
  EXPECT_EQ(engine.domain_label(u.domain_id), "unclassified");
}

// Raising the percentage only ever adds cohorts: for every key, the set of
// percentages that send it to the new service is an upward-closed interval.
// Exhaustive over 0..100 for 3000 seeded random keys and salts.
TEST(RoutingProperty, RaisingThePercentageOnlyAddsCohorts) {
  std::mt19937_64 rng(20261127);
  std::uniform_int_distribution<int> len(0, 24);
  std::uniform_int_distribution<int> byte(0x20, 0x7e);
  auto random_text = [&] {
    std::string s(static_cast<size_t>(len(rng)), ' ');
    for (char& ch : s) ch = static_cast<char>(byte(rng));
    return s;
  };
  std::vector<std::unique_ptr<RouteSplit>> engines;
  for (const std::string& salt : {std::string("openagents-route-split-v1"), random_text() + "x"}) {
    engines.clear();
    for (int p = 0; p <= 100; ++p) {
      RouteConfig c = reference_config();
      c.mode = RouteMode::cohort;
      c.salt = salt;
      c.cohort_percentage = static_cast<uint8_t>(p);
      engines.push_back(std::make_unique<RouteSplit>(std::move(c)));
    }
    for (int k = 0; k < 1500; ++k) {
      std::string key = random_text();
      bool was_rust = false;
      for (int p = 0; p <= 100; ++p) {
        Decision d = engines[static_cast<size_t>(p)]->evaluate("/chat", key, {});
        bool rust = d.target == RouteTarget::rust_shell;
        ASSERT_FALSE(was_rust && !rust) << "key '" << key << "' left the new service when the percentage rose to " << p;
        ASSERT_EQ(rust, *d.cohort_bucket < p);
        was_rust = rust;
      }
      ASSERT_TRUE(was_rust) << "at 100 % every key is on the new service";
    }
  }
}

// --- overrides -------------------------------------------------------------------

struct OverrideCase {
  const char* target;
  std::optional<const char*> domain;
  std::string scope;
  std::optional<RouteTarget> current;
};

TEST(RoutingOverrides, TargetsAndAliases) {
  RouteSplit engine(reference_config());
  const OverrideCase cases[] = {
      {"legacy", std::nullopt, "global", RouteTarget::legacy},
      {" RUST ", std::nullopt, "global", RouteTarget::rust_shell},
      {"rust_shell", std::nullopt, "global", RouteTarget::rust_shell},
      {"clear", std::nullopt, "global", std::nullopt},
      {"default", std::nullopt, "global", std::nullopt},
      {"rollback", std::nullopt, "global", RouteTarget::legacy},
      {"rollback", "chat_pilot", "domain:chat_pilot", RouteTarget::rust_shell},
      {"rollback", "Billing-L402", "domain:billing_l402", RouteTarget::legacy},
      {"rust", " auth-entry ", "domain:auth_entry", RouteTarget::rust_shell},
      {"legacy", "  ", "global", RouteTarget::legacy},  // blank domain = global
  };
  for (const auto& c : cases) {
    Overrides o;
    auto change =
        apply_override(engine, o, c.target, c.domain ? std::optional<std::string_view>(*c.domain) : std::nullopt);
    ASSERT_TRUE(change) << c.target;
    EXPECT_EQ(change->scope, c.scope) << c.target;
    EXPECT_EQ(change->current, c.current) << c.target;
    EXPECT_EQ(change->target, ascii_lower(trim(c.target)));
    if (c.scope == "global") {
      EXPECT_EQ(o.global, c.current);
      EXPECT_TRUE(o.groups.empty());
    } else {
      std::string group = c.scope.substr(7);
      EXPECT_FALSE(o.global);
      if (c.current) {
        EXPECT_EQ(o.groups.at(group), *c.current);
      }
    }
  }
}

TEST(RoutingOverrides, PreviousValueAndClear) {
  RouteSplit engine(reference_config());
  Overrides o;
  ASSERT_TRUE(apply_override(engine, o, "legacy", "billing_l402"));
  auto change = apply_override(engine, o, "clear", "billing_l402");
  ASSERT_TRUE(change);
  EXPECT_EQ(change->previous, RouteTarget::legacy);
  EXPECT_EQ(change->current, std::nullopt);
  EXPECT_TRUE(o.groups.empty());
}

TEST(RoutingOverrides, ReferenceMessages) {
  RouteSplit engine(reference_config());
  Overrides o;
  o.global = RouteTarget::rust_shell;
  Overrides before = o;
  auto bad_target = apply_override(engine, o, "blue", std::nullopt);
  ASSERT_FALSE(bad_target);
  EXPECT_EQ(bad_target.error().field, "target");
  EXPECT_EQ(bad_target.error().message, "Target must be one of: legacy, rust, rollback, clear.");
  auto bad_domain = apply_override(engine, o, "legacy", " Nope ");
  ASSERT_FALSE(bad_domain);
  EXPECT_EQ(bad_domain.error().field, "domain");
  EXPECT_EQ(bad_domain.error().message, "Unknown route domain 'nope'.");
  auto bad_rollback = apply_override(engine, o, "rollback", "nope");
  ASSERT_FALSE(bad_rollback);
  EXPECT_EQ(bad_rollback.error().message, "Unknown route domain.");
  auto bad_both = apply_override(engine, o, "blue", "nope");
  ASSERT_FALSE(bad_both);
  EXPECT_EQ(bad_both.error().field, "target");  // the target is checked first
  EXPECT_EQ(o, before);
}

TEST(RoutingOverrides, StateRoundTrip) {
  RouteSplit engine(reference_config());
  OverrideState s;
  s.overrides.global = RouteTarget::legacy;
  s.overrides.groups["chat_pilot"] = RouteTarget::rust_shell;
  s.overrides.groups["billing_l402"] = RouteTarget::legacy;
  s.revision = 7;
  s.updated_at = "2026-11-27T02:44:09.123456Z";
  s.updated_by = "alice";
  std::string text = state_to_json(s);
  EXPECT_EQ(text.back(), '\n');
  auto back = parse_state(text, "state/overrides.json", engine);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, s);
}

TEST(RoutingOverrides, CorruptStateIsRefusedWithWhatToDo) {
  RouteSplit engine(reference_config());
  const std::pair<std::string, std::string> cases[] = {
      {"{\"schema\":", "line 1"},
      {"[]", "JSON object"},
      {R"({"schema":"other","revision":1,"updated_at":"","updated_by":"","global":null,"groups":{}})", "schema"},
      {R"({"schema":"cutover.route_overrides.v1","revision":-1,"updated_at":"","updated_by":"","global":null,"groups":{}})",
       "revision"},
      {R"({"schema":"cutover.route_overrides.v1","revision":1,"updated_at":"","updated_by":"","global":"rust","groups":{}})",
       "global"},
      {R"({"schema":"cutover.route_overrides.v1","revision":1,"updated_at":"","updated_by":"","groups":{}})",
       "global is missing"},
      {R"({"schema":"cutover.route_overrides.v1","revision":1,"updated_at":"","updated_by":"","global":null,"groups":{"chat_pilot":1}})",
       "groups.chat_pilot"},
      {R"({"schema":"cutover.route_overrides.v1","revision":1,"updated_at":"","updated_by":"","global":null,"groups":{"gone":"legacy"}})",
       "'gone'"},
  };
  for (const auto& [text, fragment] : cases) {
    auto s = parse_state(text, "state/overrides.json", engine);
    ASSERT_FALSE(s) << text;
    EXPECT_EQ(s.error().code(), ErrorCode::corruption);
    EXPECT_THAT(s.error().message(), HasSubstr("state/overrides.json")) << text;
    EXPECT_THAT(s.error().message(), HasSubstr(fragment)) << text;
  }
}

// --- JSON shapes -----------------------------------------------------------------

TEST(RoutingReport, DecisionJsonMatchesTheReferenceShape) {
  RouteSplit engine(reference_test_config());
  EXPECT_EQ(decision_json(engine.evaluate("/chat/thread-1/", " user:1 ", {})),
            R"({"path":"/chat/thread-1","target":"rust_shell","reason":"mode_cohort","route_domain":"chat_pilot",)"
            R"("rollback_target":"rust_shell","cohort_bucket":35,"cohort_key":"user:1"})");
  EXPECT_EQ(
      decision_json(engine.evaluate("/api/x", "", {})),
      R"({"path":"/api/x","target":"rust_shell","reason":"api_rust_authority","route_domain":"api_rust_authority",)"
      R"("rollback_target":"rust_shell","cohort_key":"anonymous"})");
}

TEST(RoutingReport, StatusJson) {
  RouteSplit engine(reference_config());
  Overrides o;
  o.global = RouteTarget::legacy;
  o.groups["billing_l402"] = RouteTarget::rust_shell;
  auto doc = json::parse(status_json(engine, o));
  ASSERT_TRUE(doc) << doc.error().message();
  const json::Node& r = doc->root();
  EXPECT_TRUE(r.find("enabled")->as_bool());
  EXPECT_EQ(r.find("mode")->as_string(), "rust");
  EXPECT_EQ(r.find("cohort_percentage")->as_u64(), 100u);
  EXPECT_EQ(r.find("override_target")->as_string(), "legacy");
  EXPECT_TRUE(r.find("legacy_base_url")->is_null());
  EXPECT_EQ(r.find("domain_overrides")->find("billing_l402")->as_string(), "rust_shell");
  const json::Node* groups = r.find("route_groups");
  ASSERT_EQ(groups->size(), 4u);
  EXPECT_EQ(groups->elements()[2].find("domain")->as_string(), "billing_l402");
  EXPECT_EQ(groups->elements()[2].find("override_target")->as_string(), "rust_shell");
  EXPECT_TRUE(groups->elements()[0].find("override_target")->is_null());
  EXPECT_EQ(r.find("pinned_routes")->size(), 2u);
}

}  // namespace
}  // namespace cutover::routing

// cutover init writes the route config with config_json: it reads back as
// the config it came from, for the reference and for one with every option.
TEST(RoutingConfigJson, ReadsBackAsTheSameConfig) {
  using namespace cutover::routing;
  RouteConfig reference = reference_config();
  RouteConfig full = reference_config();
  full.enabled = false;
  full.mode = RouteMode::cohort;
  full.cohort_percentage = 7;
  full.rust_routes = {"/chat", "/login"};
  full.force_legacy = true;
  full.legacy_base_url = "https://legacy.example.com";
  full.tokens_file = "tokens.txt";
  full.cohort_key_header = "x-user";
  full.cohort_key_cookie = "uid";
  full.pinned_routes.clear();
  for (const RouteConfig& config : {reference, full}) {
    auto parsed = parse_route_config(config_json(config), "written.json");
    ASSERT_TRUE(parsed) << parsed.error().message();
    parsed->source = config.source;
    EXPECT_EQ(config, *parsed) << config_json(config);
  }
}
