// http::ControlClient (the drill's and the operator verbs' client, issues 13
// and 14) against a real control server on loopback: answers, error kinds and
// messages.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <thread>

#include "cutover/base/clock.h"
#include "cutover/hash/sha256.h"
#include "cutover/http/control_client.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/server/control_server.h"
#include "test_util.h"

namespace cutover {
namespace {

using testing::TempDir;
using testing::write_text;

constexpr const char* k_operator = "operator-token-client-0123456789";
constexpr const char* k_viewer = "viewer-token-client-9876543210";

class ControlClientServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(dir_.file("tokens.txt"), "operator alice sha256:" + hash::sha256_hex(k_operator) +
                                            "\nviewer bob sha256:" + hash::sha256_hex(k_viewer) + "\n");
    ASSERT_EQ(0, ::chmod(dir_.file("tokens.txt").c_str(), 0600));
    write_text(dir_.file("routes.json"),
               R"({"tokens_file": "tokens.txt", "legacy_base_url": "http://127.0.0.1:9", "force_legacy": true})");
    server::ServerOptions options;
    options.config_path = dir_.file("routes.json");
    options.state_dir = dir_.file("state");
    options.port = 0;
    options.threads = 1;
    auto created = server::ControlServer::create(options, base::real_file_system(), base::system_clock());
    ASSERT_TRUE(created) << created.error().message();
    server_ = std::move(*created);
    auto port = server_->bind();
    ASSERT_TRUE(port) << port.error().message();
    base_ = "http://127.0.0.1:" + std::to_string(*port);
    thread_ = std::thread([this] { (void)server_->run(); });
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  std::optional<http::ControlClient> client(const std::string& token, const std::string& url = "") {
    http::ControlEndpoint e;
    e.base_url = url.empty() ? base_ : url;
    e.token = token;
    e.timeout_ms = 5000;
    e.headers.emplace_back("x-cutover-operator", "carol");
    auto c = http::ControlClient::connect(e);
    EXPECT_TRUE(c) << c.error().message();
    if (!c) return std::nullopt;
    return std::move(*c);
  }

  TempDir dir_;
  std::unique_ptr<server::ControlServer> server_;
  std::thread thread_;
  std::string base_;
};

TEST_F(ControlClientServerTest, GetsTheDataObject) {
  auto c = client(k_viewer, base_ + "/");
  ASSERT_TRUE(c);
  EXPECT_EQ(base_, c->base()) << "the trailing slash is dropped";
  auto data = c->call("GET", "/api/v1/control/route-split/status");
  ASSERT_TRUE(data) << data.error().message();
  EXPECT_NE(nullptr, data->root().find("route_groups"));
}

TEST_F(ControlClientServerTest, PostsAChangeWithTheOperatorToken) {
  auto c = client(k_operator);
  ASSERT_TRUE(c);
  auto data =
      c->call("POST", "/api/v1/control/route-split/override", R"({"target": "legacy", "domain": "billing_l402"})");
  ASSERT_TRUE(data) << data.error().message();
  EXPECT_EQ(R"({"billing_l402":"legacy"})", json::to_compact_string(*data->root().find("domain_overrides")));
}

TEST_F(ControlClientServerTest, ARefusedFieldIsInvalidArgumentWithTheServersMessage) {
  auto c = client(k_operator);
  ASSERT_TRUE(c);
  auto answer = c->call("POST", "/api/v1/control/route-split/override", R"({"target": "legacy", "domain": "nowhere"})");
  ASSERT_FALSE(answer);
  EXPECT_EQ(ErrorCode::invalid_argument, answer.error().code());
  EXPECT_EQ("POST " + base_ + "/api/v1/control/route-split/override: HTTP 422: Unknown route domain 'nowhere'.",
            answer.error().message());
}

TEST_F(ControlClientServerTest, TokensTheServerRefusesArePermissionDenied) {
  auto unknown = client("not-a-known-token");
  ASSERT_TRUE(unknown);
  auto a = unknown->call("GET", "/api/v1/control/route-split/status");
  ASSERT_FALSE(a);
  EXPECT_EQ(ErrorCode::permission_denied, a.error().code());
  EXPECT_NE(std::string::npos, a.error().message().find("HTTP 401")) << a.error().message();
  auto viewer = client(k_viewer);
  ASSERT_TRUE(viewer);
  auto b = viewer->call("POST", "/api/v1/control/route-split/override", R"({"target": "legacy"})");
  ASSERT_FALSE(b);
  EXPECT_EQ(ErrorCode::permission_denied, b.error().code());
  EXPECT_NE(std::string::npos, b.error().message().find("operator token")) << b.error().message();
}

TEST_F(ControlClientServerTest, AnAnswerThatIsNotTheApiIsAnIoError) {
  auto c = client(k_viewer);
  ASSERT_TRUE(c);
  auto healthz = c->call("GET", "/healthz");  // JSON, but no data object
  ASSERT_FALSE(healthz);
  EXPECT_EQ(ErrorCode::io_error, healthz.error().code());
  EXPECT_EQ("GET " + base_ + "/healthz: the answer has no {\"data\": {...}} object", healthz.error().message());
  auto web = c->call("GET", "/some/web/page");  // the web entry: a 307 to legacy
  ASSERT_FALSE(web);
  EXPECT_EQ(ErrorCode::io_error, web.error().code());
  EXPECT_NE(std::string::npos, web.error().message().find("HTTP 307")) << web.error().message();
}

TEST_F(ControlClientServerTest, NothingListeningIsAnIoErrorNamingTheServer) {
  server_->stop();
  thread_.join();
  server_.reset();
  auto c = client(k_viewer);
  ASSERT_TRUE(c);
  auto a = c->call("GET", "/api/v1/control/route-split/status");
  ASSERT_FALSE(a);
  EXPECT_EQ(ErrorCode::io_error, a.error().code());
  EXPECT_EQ("GET " + base_ + "/api/v1/control/route-split/status: cannot connect (is `cutover serve` running there?)",
            a.error().message());
}

TEST(ControlClient, RefusesUrlsTokensAndTimeoutsItCannotUse) {
  auto make = [](const std::string& url, const std::string& token, int64_t timeout_ms = 10000) {
    http::ControlEndpoint e;
    e.base_url = url;
    e.token = token;
    e.timeout_ms = timeout_ms;
    return http::ControlClient::connect(e);
  };
  for (const char* url :
       {"", "127.0.0.1:8787", "ftp://h:1", "http://", "http://:80", "http://h:99999", "http://h:0", "http://h:80x",
        "http://user:pw@h:1", "http://[::1:80", "http://[::1]x", "http://h:1/x?y", "http://h :1", "http://h:80/a b"}) {
    auto c = make(url, "t");
    ASSERT_FALSE(c) << url;
    EXPECT_EQ(ErrorCode::invalid_argument, c.error().code()) << url;
    EXPECT_NE(std::string::npos, c.error().message().find("server URL '" + std::string(url) + "'"))
        << c.error().message();
  }
  for (const char* token : {"", "a b", "a\tb", "a\x01"}) {
    auto c = make("http://127.0.0.1:1", token);
    ASSERT_FALSE(c) << token;
    EXPECT_EQ(ErrorCode::invalid_argument, c.error().code());
    EXPECT_NE(std::string::npos, c.error().message().find("the token")) << c.error().message();
  }
  for (int64_t ms : {0, 600001}) EXPECT_FALSE(make("http://127.0.0.1:1", "t", ms)) << ms;
  auto prefixed = make("http://127.0.0.1:1/prefix/", "t");
  ASSERT_TRUE(prefixed);
  EXPECT_EQ("http://127.0.0.1:1/prefix", prefixed->base());
  auto v6 = make("http://[::1]:8787", "t");
  ASSERT_TRUE(v6);
  EXPECT_EQ("http://[::1]:8787", v6->base());
  EXPECT_TRUE(make("https://h", "t")) << "https, port 443";
}

}  // namespace
}  // namespace cutover
