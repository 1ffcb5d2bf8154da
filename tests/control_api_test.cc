// The control API's handlers without sockets: a request in, a response out
// (server/control_api.h), over the real override store and audit log in a
// temporary folder. tests/e2e/server.sh drives the same API over HTTP.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control_api_fixture.h"
#include "cutover/routing/config.h"
#include "cutover/routing/route_split.h"
#include "cutover/server/control_api.h"
#include "test_util.h"

namespace cutover::server {
namespace {

using ::testing::HasSubstr;
using testing::k_evaluate_path;
using testing::k_override_path;
using ::testing::Not;

constexpr std::string_view k_status = "/api/v1/control/route-split/status";

// The reference config with fixed base URLs; a 64-byte body limit.
class ControlApiTest : public ControlApiFixture {
 protected:
  void SetUp() override {
    routing::RouteConfig config = routing::reference_config();
    config.legacy_base_url = "https://legacy.example";
    config.rust_base_url = "https://rust.example";
    start(std::move(config), 64, "req_7_");
  }
};

TEST_F(ControlApiTest, HealthNeedsNoTokenAndCarriesARequestId) {
  ApiResponse res = call("GET", "/healthz");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, R"({"status":"ok","service":"cutover"})");
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(header_of(res, "x-request-id"), "req_7_0");
  EXPECT_EQ(header_of(call("GET", "/readyz"), "x-request-id"), "req_7_1") << "ids count up";
  EXPECT_EQ(header_of(call("GET", "/healthz", {}, {{"X-Request-Id", "trace-42"}}), "x-request-id"), "trace-42");
  EXPECT_EQ(header_of(call("GET", "/healthz", {}, {{"x-request-id", "bad id!"}}), "x-request-id"), "req_7_2")
      << "a usable id from the caller takes no number";
}

TEST_F(ControlApiTest, ReadyUntilShutdownBegins) {
  ApiResponse ready = call("GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, R"({"status":"ready"})");
  api_->begin_shutdown();
  ApiResponse stopping = call("GET", "/readyz");
  EXPECT_EQ(stopping.status, 503);
  EXPECT_EQ(stopping.body, R"({"status":"not_ready","reason":"shutting down"})");
}

TEST_F(ControlApiTest, ControlRoutesRefuseMissingOrWrongTokens) {
  const std::vector<std::string_view> authorizations = {
      "", "Bearer", "Bearer ", "bearer view-secret", "Basic view-secret", "Bearer view-secre", "Bearer op-secret x"};
  for (std::string_view path : {k_status, std::string_view("/metrics")}) {
    for (std::string_view auth : authorizations) {
      ApiResponse res = auth.empty() ? call("GET", path) : call("GET", path, {}, {{"authorization", auth}});
      EXPECT_EQ(res.status, 401) << path << " with '" << auth << "'";
      EXPECT_EQ(header_of(res, "WWW-Authenticate"), "Bearer");
      EXPECT_EQ(res.body,
                R"({"message":"Unauthenticated.","error":{"code":"unauthorized","message":"Unauthenticated."}})");
    }
  }
  EXPECT_EQ(call("GET", k_status, {}, {{"Authorization", "  Bearer   view-secret  "}}).status, 200)
      << "blanks around the scheme and the token are trimmed";
}

TEST_F(ControlApiTest, ViewerReadsButOnlyAnOperatorOverrides) {
  ApiResponse status = as("view-secret", "GET", k_status);
  EXPECT_EQ(status.status, 200);
  EXPECT_THAT(status.body, HasSubstr(R"("override_target":null)"));

  ApiResponse refused = as("view-secret", "POST", k_override_path, R"({"target":"legacy"})");
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(refused.body, HasSubstr(R"("code":"forbidden")"));
  EXPECT_EQ(audit_text(), "") << "a refused override is not audited";
  EXPECT_THAT(as("view-secret", "GET", k_status).body, HasSubstr(R"("override_target":null)"));

  ApiResponse applied = as("op-secret", "POST", k_override_path, R"({"target":"legacy"})");
  EXPECT_EQ(applied.status, 200) << applied.body;
  EXPECT_THAT(applied.body, HasSubstr(R"("override_target":"legacy")"));
  std::string request_id = header_of(applied, "x-request-id");
  EXPECT_EQ(audit_text(),
            R"({"time":"2026-11-18T11:06:40.000000Z","event":"route.split.override.updated","request_id":")" +
                request_id +
                R"(","identity":"alice","role":"operator","operator":null,"mode":"target","target":"legacy",)"
                R"("scope":"global","previous":null,)"
                R"("current":"legacy","revision":1})"
                "\n");
  EXPECT_EQ(store_->read([](const routing::OverrideState& s) { return s.revision; }), 1u);
}

TEST_F(ControlApiTest, OverridesSteerTheWebEntryAndNoDecisionIsAudited) {
  ApiResponse rust = call("GET", "/some/page?x=1 2", {}, {{"x-oa-route-key", "user:1"}, {"User-Agent", "curl"}});
  EXPECT_EQ(rust.status, 307);
  EXPECT_EQ(header_of(rust, "x-cutover-target"), "rust_shell");
  EXPECT_EQ(header_of(rust, "Location"), "https://rust.example/some/page?x=1%202") << "a raw space is encoded";
  EXPECT_EQ(rust.content_type, "") << "a redirect carries no content";
  EXPECT_EQ(audit_text(), "") << "the audit log keeps overrides and config changes only";

  ASSERT_EQ(as("op-secret", "POST", k_override_path, R"({"target":"legacy"})").status, 200);
  ApiResponse legacy = call("GET", "/some/page");
  EXPECT_EQ(legacy.status, 307);
  EXPECT_EQ(header_of(legacy, "x-cutover-target"), "legacy");
  EXPECT_EQ(header_of(legacy, "x-cutover-reason"), "runtime_override");
  EXPECT_EQ(header_of(legacy, "Location"), "https://legacy.example/some/page");
}

TEST_F(ControlApiTest, RequestErrorsAnswerWithTheEnvelope) {
  ApiResponse wrong_method = call("POST", "/healthz");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(header_of(wrong_method, "Allow"), "GET, HEAD");
  EXPECT_EQ(header_of(call("GET", k_evaluate_path), "Allow"), "POST");
  EXPECT_EQ(call("DELETE", "/anything").status, 405);

  ApiResponse not_json = as("view-secret", "POST", k_evaluate_path, "{");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_THAT(not_json.body, HasSubstr(R"("code":"invalid_request")"));

  ApiResponse no_path = as("view-secret", "POST", k_evaluate_path, "{}");
  EXPECT_EQ(no_path.status, 422);
  EXPECT_EQ(no_path.body,
            R"({"message":"Path is required.","error":{"code":"invalid_request","message":"Path is required."},)"
            R"("errors":{"path":["Path is required."]}})");

  ApiResponse unknown_group = as("op-secret", "POST", k_override_path, R"({"target":"legacy","domain":"nowhere"})");
  EXPECT_EQ(unknown_group.status, 422);
  EXPECT_THAT(unknown_group.body, HasSubstr(R"("errors":{"domain":["Unknown route domain 'nowhere'."]})"));
  EXPECT_EQ(audit_text(), "") << "nothing applied, nothing audited";

  ApiResponse too_large = as("op-secret", "POST", k_override_path, std::string(65, ' '));
  EXPECT_EQ(too_large.status, 413);
  EXPECT_THAT(too_large.body, HasSubstr("larger than 64 bytes"));

  ApiResponse absolute = call("GET", "http://evil.example/x");
  EXPECT_EQ(absolute.status, 400);
  EXPECT_EQ(header_of(absolute, "x-request-id"), "<absent>") << "refused before an id is given";
}

TEST_F(ControlApiTest, TheHttpLayersOwnRefusalsUseTheEnvelope) {
  EXPECT_EQ(
      api_->library_error(404, "/nope").body,
      R"({"message":"Route '/nope' was not found.","error":{"code":"not_found","message":"Route '/nope' was not found."}})");
  EXPECT_THAT(api_->library_error(414, "/").body, HasSubstr(R"("code":"uri_too_long")"));
  EXPECT_THAT(api_->library_error(413, "/").body, HasSubstr("larger than 64 bytes"));
  EXPECT_EQ(header_of(api_->library_error(405, "/"), "Allow"), "GET, HEAD");
  EXPECT_EQ(api_->library_error(400, "/").status, 400);
  ApiResponse refusal = ControlApi::refusal("a bare LF");
  EXPECT_EQ(refusal.status, 400);
  EXPECT_THAT(refusal.body, HasSubstr("The request is not valid HTTP/1.1: a bare LF; the connection is closed."));
  EXPECT_EQ(ControlApi::internal_error().status, 500);
}

TEST_F(ControlApiTest, MetricsCountDecisionsAndOverrides) {
  ASSERT_EQ(as("view-secret", "POST", k_evaluate_path, R"({"path":"/x","cohort_key":"k"})").status, 200);
  ASSERT_EQ(call("GET", "/x").status, 307);
  ASSERT_EQ(as("op-secret", "POST", k_override_path, R"({"target":"rust"})").status, 200);
  ApiResponse metrics = as("view-secret", "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(metrics.body, HasSubstr(R"(cutover_route_decisions_total{source="evaluate",target="rust_shell",)"));
  EXPECT_THAT(metrics.body, HasSubstr(R"(cutover_route_decisions_total{source="web",target="rust_shell",)"));
  EXPECT_THAT(metrics.body, HasSubstr(R"(cutover_route_overrides_total{scope="global",target="rust"} 1)"));
  EXPECT_THAT(metrics.body, Not(HasSubstr(R"(source="web",target="legacy")")));
}

TEST(ControlApiParts, SplitsTargetsAndClassifiesRoutes) {
  EXPECT_EQ(split_target("/a?b=c?d").path, "/a");
  EXPECT_EQ(split_target("/a?b=c?d").query, "b=c?d");
  EXPECT_EQ(split_target("/a").query, "");
  EXPECT_EQ(classify("GET", "/healthz"), HttpRoute::healthz);
  EXPECT_EQ(classify("POST", "/api/v1/control/route-split/evaluate"), HttpRoute::evaluate);
  EXPECT_EQ(classify("HEAD", "/chat"), HttpRoute::web);
  EXPECT_EQ(classify("POST", "/chat"), HttpRoute::other);
  EXPECT_EQ(encode_for_location("/\x01 \x7f\xc3\xa9~"), "/%01%20%7F%C3%A9~");
}

}  // namespace
}  // namespace cutover::server
