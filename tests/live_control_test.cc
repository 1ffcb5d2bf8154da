// Live control (issue 14, the server half): the override modes and the
// state file's v2 keys (routing/overrides.h), the decide endpoint, the
// state endpoint and the gauges (server/control_api.h, live_state.h), over
// the real override store and audit log in a temporary folder.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control_api_fixture.h"
#include "cutover/routing/config.h"
#include "cutover/routing/overrides.h"
#include "cutover/routing/route_split.h"
#include "cutover/server/control_api.h"
#include "cutover/server/live_state.h"
#include "test_util.h"

namespace cutover::server {
namespace {

using ::testing::HasSubstr;
using testing::k_override_path;

constexpr std::string_view k_state = "/api/v1/control/route-split/state";
constexpr std::string_view k_decide = "/api/v1/route-split/decide";

routing::OverrideRequest mode(std::string m, std::optional<std::string> domain = std::nullopt,
                              std::optional<int64_t> pct = std::nullopt) {
  routing::OverrideRequest r;
  r.mode = std::move(m);
  r.domain = std::move(domain);
  r.cohort_percentage = pct;
  return r;
}

TEST(ApplyRequest, PromoteAbortUndoAreOneChangeEachAndUndoWalksBack) {
  routing::RouteSplit engine(routing::reference_config());
  routing::OverrideState state;
  ASSERT_TRUE(routing::apply_request(engine, state, mode("promote", "Chat-Pilot", 25)));
  EXPECT_EQ(state.overrides.group_percentages.at("chat_pilot"), 25);
  auto abort = routing::apply_request(engine, state, mode("ABORT"));
  ASSERT_TRUE(abort);
  EXPECT_EQ(abort->scope, "global");
  EXPECT_EQ(state.overrides.global, routing::RouteTarget::legacy);
  EXPECT_EQ(state.overrides.groups.at("chat_pilot"), routing::RouteTarget::rust_shell) << "its own rollback target";
  EXPECT_EQ(state.overrides.groups.at("billing_l402"), routing::RouteTarget::legacy);
  EXPECT_EQ(state.history.size(), 2u);
  ASSERT_TRUE(routing::apply_request(engine, state, mode("undo")));
  EXPECT_TRUE(state.overrides.groups.empty()) << "the whole abort undone at once";
  EXPECT_EQ(state.overrides.group_percentages.at("chat_pilot"), 25);
  ASSERT_TRUE(routing::apply_request(engine, state, mode("undo")));
  EXPECT_EQ(state.overrides, routing::Overrides{});
  auto nothing = routing::apply_request(engine, state, mode("undo"));
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().status, 409);
  EXPECT_EQ(nothing.error().code, "nothing_to_undo");
}

TEST(ApplyRequest, RefusalsChangeNothing) {
  routing::RouteSplit engine(routing::reference_config());
  routing::OverrideState state;
  routing::OverrideRequest both = mode("abort");
  both.target = "legacy";
  for (const auto& [request, message] : std::vector<std::pair<routing::OverrideRequest, std::string>>{
           {mode("promote"), "Cohort percentage is required."},
           {mode("promote", std::nullopt, 101), "Cohort percentage must be an integer from 0 to 100."},
           {mode("abort", std::nullopt, 5), "Cohort percentage is only for promote."},
           {mode("undo", "chat_pilot"), "Undo takes no domain."},
           {mode("sideways"), "Mode must be one of: promote, abort, undo."},
           {mode("abort", "nowhere"), "Unknown route domain 'nowhere'."},
           {both, "Give either target or mode, not both."}}) {
    auto r = routing::apply_request(engine, state, request);
    ASSERT_FALSE(r) << message;
    EXPECT_EQ(r.error().message, message);
    EXPECT_EQ(state, routing::OverrideState{});
  }
}

TEST(ApplyRequest, ALivePercentageDecidesByCohortWhateverTheMode) {
  routing::RouteSplit engine(routing::reference_config());  // mode rust
  routing::Overrides o;
  EXPECT_EQ(engine.evaluate("/chat", "anonymous", o).reason, "mode_rust");
  o.group_percentages["chat_pilot"] = 80;  // anonymous is bucket 80
  routing::Decision d = engine.evaluate("/chat", "anonymous", o);
  EXPECT_EQ(d.reason, "mode_cohort");
  EXPECT_EQ(d.target, routing::RouteTarget::legacy);
  o.group_percentages["chat_pilot"] = 81;
  EXPECT_EQ(engine.evaluate("/chat", "anonymous", o).target, routing::RouteTarget::rust_shell);
  o.global_percentage = 0;
  EXPECT_EQ(engine.evaluate("/billing", "anonymous", o).target, routing::RouteTarget::legacy) << "global for the rest";
  EXPECT_EQ(engine.evaluate("/api/x", "anonymous", o).target, routing::RouteTarget::rust_shell) << "pins still win";
}

TEST(StateFile, V2KeysRoundTripAndV1StaysV1) {
  routing::RouteSplit engine(routing::reference_config());
  routing::OverrideState plain;
  plain.overrides.global = routing::RouteTarget::legacy;
  EXPECT_THAT(routing::state_to_json(plain), HasSubstr("cutover.route_overrides.v1"));
  routing::OverrideState state;
  ASSERT_TRUE(routing::apply_request(engine, state, mode("promote", "billing_l402", 40)));
  ASSERT_TRUE(routing::apply_request(engine, state, mode("promote", std::nullopt, 7)));
  std::string text = routing::state_to_json(state);
  EXPECT_THAT(text, HasSubstr("cutover.route_overrides.v2"));
  auto back = routing::parse_state(text, "f", engine);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, state);
  auto bad = routing::parse_state(
      R"({"schema":"cutover.route_overrides.v2","revision":1,"updated_at":"","updated_by":"","global":null,)"
      R"("groups":{},"group_percentages":{"gone":5}})",
      "f", engine);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), HasSubstr("route group 'gone'"));
}

TEST(LiveState, CookieValue) {
  EXPECT_EQ(cookie_value("a=1; uid=user:1; b=2", "uid"), "user:1");
  EXPECT_EQ(cookie_value("uid=\"q\"", "uid"), "q");
  EXPECT_EQ(cookie_value("xuid=1;uid=2", "uid"), "2");
  EXPECT_EQ(cookie_value("a=1", "uid"), "");
}

// Cohort mode at 60 % keyed by x-user; a 4 KiB body limit.
class LiveApiTest : public ControlApiFixture {
 protected:
  void SetUp() override {
    routing::RouteConfig config = routing::reference_config();
    config.mode = routing::RouteMode::cohort;
    config.cohort_percentage = 60;
    config.cohort_key_header = "x-user";
    start(std::move(config), 4096, "req_");
  }
  ApiResponse decide(std::string_view uri, std::string_view key) {
    ApiRequest req{.method = "GET", .target = k_decide, .body = {}, .headers = {}, .raw = {}};
    req.headers = {{"X-Original-URI", uri}, {"x-user", key}};
    return api_->handle_decide_listener(req);
  }
  ApiResponse op(std::string_view body, std::string_view who = "op-secret") {
    authorization_ = "Bearer " + std::string(who);
    return call("POST", k_override_path, body, {{"Authorization", authorization_}, {"x-cutover-operator", "carol"}});
  }
};

TEST_F(LiveApiTest, DecideAnswers204WithTheHeadersAndNoBody) {
  ApiResponse res = decide("/chat/thread-1?x=/billing", "user:1");  // bucket 57 < 60
  EXPECT_EQ(res.status, 204);
  EXPECT_EQ(res.body, "");
  EXPECT_EQ(header_of(res, "x-cutover-target"), "rust_shell");
  EXPECT_EQ(header_of(res, "x-cutover-reason"), "mode_cohort");
  EXPECT_EQ(header_of(res, "x-cutover-group"), "chat_pilot");
  EXPECT_EQ(header_of(res, "x-cutover-revision"), "1.0");
  EXPECT_EQ(header_of(decide("", " "), "x-cutover-group"),
            std::string(engine_->evaluate("/", "anonymous", {}).route_domain))
      << "no URI: the path /";
  EXPECT_EQ(testing::read_text(dir_.file("audit.jsonl")), "");
  EXPECT_THAT(metrics_->render(), HasSubstr(R"(source="decide",target="rust_shell",route_domain="chat_pilot")"));
  EXPECT_EQ(metrics_->recent().total[1], 1u);
  EXPECT_EQ(api_->handle_decide_listener({.method = "GET", .target = "/metrics", .body = {}, .headers = {}, .raw = {}})
                .status,
            404);
}

TEST_F(LiveApiTest, PromoteAndAbortAreAuditedWithTheOperatorAndSteerTheNextDecision) {
  EXPECT_EQ(op(R"({"mode":"abort"})", "view-secret").status, 403);
  ApiResponse promoted = op(R"({"mode":"promote","cohort_percentage":0,"domain":"chat_pilot"})");
  ASSERT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_THAT(promoted.body, HasSubstr(R"("domain":"chat_pilot","target":"legacy")"));
  EXPECT_EQ(header_of(decide("/chat", "user:1"), "x-cutover-target"), "legacy");
  EXPECT_EQ(header_of(decide("/chat", "user:1"), "x-cutover-revision"), "1.1");
  ASSERT_EQ(op(R"({"mode":"abort","domain":"billing_l402"})").status, 200);
  EXPECT_EQ(header_of(decide("/billing", "user:1"), "x-cutover-reason"), "domain_override");
  std::string audit = testing::read_text(dir_.file("audit.jsonl"));
  EXPECT_THAT(audit, HasSubstr(R"("identity":"alice","role":"operator","operator":"carol","mode":"promote")"));
  EXPECT_THAT(audit, HasSubstr(R"("cohort_percentage":0,"previous":{"global":null)"));
  EXPECT_EQ(op(R"({"mode":"undo","domain":"x"})").status, 422);
  ApiRequest state{.method = "GET", .target = k_state, .body = {}, .headers = {}, .raw = {}};
  std::string auth = "Bearer view-secret";
  state.headers = {{"Authorization", auth}};
  ApiResponse s = api_->handle(state);
  EXPECT_EQ(s.status, 200);
  EXPECT_THAT(s.body, HasSubstr(R"("revision":"1.2")"));
  EXPECT_THAT(s.body, HasSubstr(R"("cohort_percentage":0,"cohort_percentage_override":0)"));
  ApiRequest metrics{.method = "GET", .target = "/metrics", .body = {}, .headers = {}, .raw = {}};
  metrics.headers = {{"Authorization", auth}};
  std::string m = api_->handle(metrics).body;
  EXPECT_THAT(m, HasSubstr("cutover_cohort_percentage{route_domain=\"chat_pilot\"} 0\n"));
  EXPECT_THAT(m, HasSubstr("cutover_cohort_percentage{route_domain=\"auth_entry\"} 60\n"));
  EXPECT_THAT(m, HasSubstr("cutover_route_override{scope=\"domain:billing_l402\",target=\"legacy\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("cutover_route_override{scope=\"global\",target=\"legacy\"} 0\n"));
  EXPECT_THAT(m, HasSubstr("cutover_override_revision 2\n"));
  EXPECT_THAT(m, HasSubstr("cutover_config_revision 1\n"));
  EXPECT_THAT(m, HasSubstr("cutover_build_info{version=\""));
}

TEST_F(LiveApiTest, RawHeaderIsReadFromTheRequestBytes) {
  std::string raw = "GET /x HTTP/1.1\r\nHost: a\r\nX-Original-URI:  /%63hat?q \r\n\r\n";
  ApiRequest req{.method = "GET", .target = "/x", .body = {}, .headers = {{"X-Original-URI", "/chat?q"}}, .raw = raw};
  EXPECT_EQ(req.raw_header("x-original-uri"), "/%63hat?q");
  EXPECT_EQ(req.raw_header("missing"), "");
}

}  // namespace
}  // namespace cutover::server
