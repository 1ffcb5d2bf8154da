// http::Client and http::ControlClient (its envelope and statuses; against
// the real control server: control_client_test.cc) on a cpp-httplib server on
// 127.0.0.1 (an ephemeral port, served on a thread of the test).
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include <gtest/gtest.h>
#include <httplib.h>

#include "cutover/http/client.h"
#include "cutover/http/control_client.h"

namespace cutover::http {
namespace {

// A cpp-httplib server on 127.0.0.1; handlers are added before start().
class TestServer {
 public:
  httplib::Server& server() { return server_; }

  void start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    // The socket listens from bind_to_any_port on: requests queue until the loop accepts them.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }

  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }

  ~TestServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// A gate a handler waits on until the test opens it (never a sleep).
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST(HttpBaseUrl, SplitsOriginAndPrefix) {
  auto a = split_base_url("http://127.0.0.1:8080/app/");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->origin, "http://127.0.0.1:8080");
  EXPECT_EQ(a->prefix, "/app");
  auto b = split_base_url("https://example.test");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->origin, "https://example.test");
  EXPECT_EQ(b->prefix, "");
  EXPECT_FALSE(split_base_url("ftp://h/"));
  EXPECT_FALSE(split_base_url("127.0.0.1:80"));
  EXPECT_FALSE(split_base_url("http:///path"));
}

TEST(HttpClient, GetSendsTheHeadersAndReadsTheAnswer) {
  TestServer s;
  std::string seen_agent, seen_auth, seen_accept, seen_connection;
  s.server().Get("/p/health", [&](const httplib::Request& req, httplib::Response& res) {
    seen_agent = req.get_header_value("User-Agent");
    seen_auth = req.get_header_value("Authorization");
    seen_accept = req.get_header_value("Accept");
    seen_connection = req.get_header_value("Connection");
    res.set_content("fine", "text/plain");
  });
  s.start();
  ClientOptions o;
  o.user_agent = "cutover-test";
  o.bearer_token = "tok";
  o.accept = "application/json";
  Client client(s.origin(), o);
  Answer a = client.get("/p/health");
  ASSERT_TRUE(a) << a.error().reason;
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->body, "fine");
  EXPECT_EQ(seen_agent, "cutover-test");
  EXPECT_EQ(seen_auth, "Bearer tok");
  EXPECT_EQ(seen_accept, "application/json");
  EXPECT_EQ(seen_connection, "close");
}

TEST(HttpClient, PostCarriesTheBodyAndAnErrorStatusIsAnAnswer) {
  TestServer s;
  std::string seen_body, seen_type, seen_auth = "unset";
  s.server().Post("/api", [&](const httplib::Request& req, httplib::Response& res) {
    seen_body = req.body;
    seen_type = req.get_header_value("Content-Type");
    seen_auth = req.get_header_value("Authorization");
    res.status = 422;
    res.set_content("{\"message\":\"no\"}", "application/json");
  });
  s.start();
  Client client(s.origin(), {});
  Answer a = client.post("/api", "{\"path\":\"/x\"}", "application/json");
  ASSERT_TRUE(a) << a.error().reason;
  EXPECT_EQ(a->status, 422);
  EXPECT_EQ(a->body, "{\"message\":\"no\"}");
  EXPECT_EQ(seen_body, "{\"path\":\"/x\"}");
  EXPECT_EQ(seen_type, "application/json");
  EXPECT_EQ(seen_auth, "");  // no token, no Authorization header
}

TEST(HttpClient, RedirectsAreAnswersNotFollowed) {
  TestServer s;
  std::atomic<int> followed{0};
  s.server().Get("/a", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/b"); });
  s.server().Get("/b", [&](const httplib::Request&, httplib::Response& res) {
    ++followed;
    res.set_content("b", "text/plain");
  });
  s.start();
  Client client(s.origin(), {});
  Answer a = client.get("/a");
  ASSERT_TRUE(a) << a.error().reason;
  EXPECT_EQ(a->status, 302);
  EXPECT_EQ(followed.load(), 0);
}

TEST(HttpClient, NothingListeningIsRefused) {
  // Port 1 on loopback: nothing listens there (and binding it needs root).
  Client client("http://127.0.0.1:1", {});
  Answer a = client.get("/");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().kind, FailureKind::refused);
  EXPECT_EQ(a.error().reason, "refused");
  EXPECT_FALSE(a.error().connected);
}

TEST(HttpClient, ASilentServerIsATimeout) {
  TestServer s;
  Gate gate;
  s.server().Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
    gate.wait();
    res.set_content("late", "text/plain");
  });
  s.start();
  ClientOptions o;
  o.timeout_ms = 200;
  Client client(s.origin(), o);
  Answer a = client.get("/slow");
  gate.open();
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().kind, FailureKind::timeout);
  EXPECT_EQ(a.error().reason, "timeout");
  EXPECT_TRUE(a.error().connected) << "the answer timed out, not the connect";
  EXPECT_GE(a.error().duration_ms, 150);
}

TEST(HttpClient, ABodyOverTheCapIsRefused) {
  TestServer s;
  s.server().Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(5000, 'x'), "text/plain");
  });
  s.start();
  ClientOptions o;
  o.max_body_bytes = 4096;
  Client small(s.origin(), o);
  Answer a = small.get("/big");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().kind, FailureKind::too_large);
  o.max_body_bytes = 5000;
  Client exact(s.origin(), o);
  Answer b = exact.get("/big");
  ASSERT_TRUE(b) << b.error().reason;
  EXPECT_EQ(b->body.size(), 5000u);
}

TEST(HttpClient, AnUnusableOriginFailsWithoutARequest) {
  Client client("ftp://127.0.0.1:1", {});
  Answer a = client.get("/");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().kind, FailureKind::unusable_url);
}

// The control API's envelope, served the way `cutover serve` answers.
class ControlClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    s_.server().Get("/pre/api/v1/control/route-split/status", [&](const httplib::Request& req, httplib::Response& res) {
      auth_ = req.get_header_value("Authorization");
      agent_ = req.get_header_value("User-Agent");
      operator_ = req.get_header_value("x-cutover-operator");
      res.set_content("{\"ok\":true,\"data\":{\"revision\":7,\"groups\":[]}}", "application/json");
    });
    s_.server().Post("/pre/api/v1/control/route-split/override",
                     [&](const httplib::Request& req, httplib::Response& res) {
                       body_ = req.body;
                       res.status = status_;
                       res.set_content(answer_, "application/json");
                     });
    s_.server().Get("/pre/slow", [&](const httplib::Request&, httplib::Response& res) {
      slow_.wait();
      res.set_content("{}", "application/json");
    });
    s_.start();
  }

  void TearDown() override { slow_.open(); }

  Result<ControlClient> client(int64_t timeout_ms = 10000) {
    ControlEndpoint e;
    e.base_url = s_.origin() + "/pre/";
    e.token = "tok";
    e.user_agent = "cutover-drill";
    e.timeout_ms = timeout_ms;
    e.headers.emplace_back("x-cutover-operator", "carol");
    return ControlClient::connect(e);
  }

  static std::string api(const std::string& endpoint) { return std::string(k_route_split_api) + endpoint; }

  Gate slow_;
  TestServer s_;
  std::string auth_, agent_, operator_, body_;
  int status_ = 200;
  std::string answer_ = "{\"ok\":true,\"data\":{\"revision\":8}}";
};

TEST_F(ControlClientTest, GivesTheDataObject) {
  auto c = client();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->base(), s_.origin() + "/pre");
  auto doc = c->call("GET", api("/status"));
  ASSERT_TRUE(doc) << doc.error().message();
  ASSERT_TRUE(doc->root().is_object());
  const json::Node* revision = doc->root().find("revision");
  ASSERT_NE(revision, nullptr);
  EXPECT_EQ(revision->as_u64(), 7u);
  EXPECT_EQ(auth_, "Bearer tok");
  EXPECT_EQ(agent_, "cutover-drill");
  EXPECT_EQ(operator_, "carol") << "the extra headers go with every request";
  auto posted = c->call("POST", api("/override"), "{\"target\":\"legacy\",\"domain\":\"g\"}");
  ASSERT_TRUE(posted) << posted.error().message();
  EXPECT_EQ(body_, "{\"target\":\"legacy\",\"domain\":\"g\"}");
}

TEST_F(ControlClientTest, StatusesMapToErrorCodes) {
  auto c = client();
  ASSERT_TRUE(c);
  const std::pair<int, ErrorCode> cases[] = {
      {400, ErrorCode::invalid_argument}, {401, ErrorCode::permission_denied}, {403, ErrorCode::permission_denied},
      {404, ErrorCode::invalid_argument}, {409, ErrorCode::conflict},          {422, ErrorCode::invalid_argument},
      {503, ErrorCode::conflict},         {500, ErrorCode::io_error},          {307, ErrorCode::io_error}};
  for (const auto& [status, code] : cases) {
    status_ = status;
    answer_ = "{\"ok\":false,\"message\":\"said no\"}";
    auto r = c->call("POST", api("/override"), "{}");
    ASSERT_FALSE(r) << status;
    EXPECT_EQ(r.error().code(), code) << status;
    EXPECT_NE(r.error().message().find("POST " + s_.origin() + "/pre" + api("/override") + ": HTTP " +
                                       std::to_string(status) + ": said no"),
              std::string::npos)
        << r.error().message();
  }
}

TEST_F(ControlClientTest, AnAnswerWithoutDataIsAnIoError) {
  auto c = client();
  ASSERT_TRUE(c);
  for (const char* answer : {"not json", "{\"ok\":true}", "{\"data\":[1]}"}) {
    answer_ = answer;
    auto r = c->call("POST", api("/override"), "{}");
    ASSERT_FALSE(r) << answer;
    EXPECT_EQ(r.error().code(), ErrorCode::io_error) << answer;
  }
}

TEST_F(ControlClientTest, NoAnswerWithinTheTimeoutIsAnIoErrorSayingSo) {
  auto c = client(300);
  ASSERT_TRUE(c);
  auto r = c->call("GET", "/slow");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::io_error);
  EXPECT_EQ(r.error().message(), "GET " + s_.origin() +
                                     "/pre/slow: no answer (the connection was closed, or "
                                     "nothing came within 300 ms)");
}

}  // namespace
}  // namespace cutover::http
