// Issue 17, "Rollback targets answer": check_route_targets against real
// listening sockets on 127.0.0.1 (a one-shot test server that answers with a
// fixed status, and a port nobody listens on).
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "cutover/json/parser.h"
#include "cutover/server/target_probe.h"

namespace cutover {
namespace {

// Listens on 127.0.0.1:0; serve(n, status) answers n connections, each with
// `status` and an empty body, then stops.
class StubTarget {
 public:
  explicit StubTarget(int status) : status_(status) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(0, ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a));
    EXPECT_EQ(0, ::listen(fd_, 8));
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~StubTarget() {
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  void serve(int connections) {
    thread_ = std::thread([this, connections] {
      for (int i = 0; i < connections; ++i) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::string request;
        char buf[4096];
        while (request.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = ::recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          request.append(buf, static_cast<size_t>(n));
        }
        requests_ += request.substr(0, request.find("\r\n")) + "\n";
        std::string answer = "HTTP/1.1 " + std::to_string(status_) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string requests() {
    if (thread_.joinable()) thread_.join();
    return requests_;
  }

 private:
  int status_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string requests_;
};

// A port that was just free (bound, then closed): connecting is refused.
std::string closed_port_url() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

routing::RouteConfig two_groups(const std::string& legacy, const std::string& rust) {
  routing::RouteConfig c = routing::reference_config();
  c.legacy_base_url = legacy;
  c.rust_base_url = rust;
  c.route_groups = {{"billing_l402", {"/billing"}, routing::RouteTarget::legacy},
                    {"chat_pilot", {"/chat"}, routing::RouteTarget::rust_shell}};
  c.pinned_routes = {{"/api", routing::RouteTarget::legacy, "pinned", "api"}};
  return c;
}

server::ProbeOptions fast() {
  server::ProbeOptions o;
  o.timeout_ms = 5000;
  return o;
}

TEST(RoutesCheck, LiveTargetsPassAndEachBaseUrlIsAskedOnce) {
  StubTarget legacy(200), rust(302);
  legacy.serve(1);
  rust.serve(1);
  auto report = server::check_route_targets(two_groups(legacy.url(), rust.url()), "", "abc", fast(), base::system_clock());
  EXPECT_TRUE(report.ok);
  EXPECT_TRUE(server::routes_report_failures(report).empty());
  ASSERT_EQ(2u, report.groups.size());
  EXPECT_EQ("rollback", report.groups[1].checks[0].role);
  EXPECT_EQ("rust_shell", report.groups[1].checks[0].target);
  EXPECT_EQ(302, report.groups[1].checks[0].status.value_or(0));
  EXPECT_EQ("GET /healthz HTTP/1.1\n", legacy.requests());
  EXPECT_EQ("GET /healthz HTTP/1.1\n", rust.requests());
  auto doc = json::parse(server::routes_report_json(report));
  ASSERT_TRUE(doc);
  EXPECT_EQ("cutover.routes_report.v1", doc->root().find("format")->as_string());
  EXPECT_TRUE(doc->root().find("config")->find("path")->is_null());
}

TEST(RoutesCheck, AFiveHundredAndAClosedPortFailNamingTheGroups) {
  StubTarget legacy(500);
  legacy.serve(1);
  auto report =
      server::check_route_targets(two_groups(legacy.url(), closed_port_url()), "", "abc", fast(), base::system_clock());
  EXPECT_FALSE(report.ok);
  EXPECT_EQ("status 500", report.groups[0].checks[0].error.value_or(""));
  EXPECT_EQ(500, report.groups[0].checks[0].status.value_or(0));
  EXPECT_EQ("refused", report.groups[0].checks[1].error.value_or(""));
  auto failures = server::routes_report_failures(report);
  ASSERT_EQ(5u, failures.size());
  EXPECT_NE(std::string::npos, failures[0].find("group billing_l402: rollback target legacy"));
  EXPECT_NE(std::string::npos, failures[0].find("status 500"));
  EXPECT_NE(std::string::npos, failures[2].find("group chat_pilot: rollback target rust_shell"));
  EXPECT_NE(std::string::npos, failures[2].find("refused"));
  EXPECT_NE(std::string::npos, failures[4].find("pinned route /api"));
}

TEST(RoutesCheck, AMissingBaseUrlIsNotConfiguredAndNothingIsContacted) {
  routing::RouteConfig c = routing::reference_config();
  auto report = server::check_route_targets(c, "", server::builtin_config_sha256(), fast(), base::system_clock());
  EXPECT_FALSE(report.ok);
  ASSERT_FALSE(report.groups.empty());
  for (const auto& g : report.groups) {
    for (const auto& check : g.checks) {
      EXPECT_EQ("not configured", check.error.value_or(""));
      EXPECT_FALSE(check.url.has_value());
    }
  }
}

TEST(RoutesCheck, BadOptionsAreRefused) {
  server::ProbeOptions o;
  o.health_path = "healthz";
  EXPECT_FALSE(server::check_probe_options(o));
  o.health_path = "/healthz";
  o.timeout_ms = 0;
  EXPECT_FALSE(server::check_probe_options(o));
}

}  // namespace
}  // namespace cutover
