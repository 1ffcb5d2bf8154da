// Issue 17, "Rollback targets answer": check_route_targets against real
// listening sockets on 127.0.0.1 (a one-shot test server that answers with a
// fixed status, and a port nobody listens on).
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "cutover/gates/gates.h"
#include "cutover/hash/sha256.h"
#include "cutover/http/target_probe.h"
#include "cutover/json/field_reader.h"
#include "cutover/json/parser.h"
#include "test_util.h"

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
        std::string answer =
            "HTTP/1.1 " + std::to_string(status_) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
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

http::ProbeOptions fast() {
  http::ProbeOptions o;
  o.timeout_ms = 5000;
  return o;
}

TEST(RoutesCheck, LiveTargetsPassAndEachBaseUrlIsAskedOnce) {
  StubTarget legacy(200), rust(302);
  legacy.serve(1);
  rust.serve(1);
  auto report =
      http::check_route_targets(two_groups(legacy.url(), rust.url()), "", "abc", fast(), base::system_clock());
  EXPECT_TRUE(report.ok);
  EXPECT_TRUE(http::routes_report_failures(report).empty());
  ASSERT_EQ(2u, report.groups.size());
  EXPECT_EQ("rollback", report.groups[1].checks[0].role);
  EXPECT_EQ("rust_shell", report.groups[1].checks[0].target);
  EXPECT_EQ(302, report.groups[1].checks[0].status.value_or(0));
  EXPECT_EQ("GET /healthz HTTP/1.1\n", legacy.requests());
  EXPECT_EQ("GET /healthz HTTP/1.1\n", rust.requests());
  auto doc = json::parse(http::routes_report_json(report));
  ASSERT_TRUE(doc);
  EXPECT_EQ("cutover.routes_report.v1", doc->root().find("format")->as_string());
  EXPECT_TRUE(doc->root().find("config")->find("path")->is_null());
}

TEST(RoutesCheck, AFiveHundredAndAClosedPortFailNamingTheGroups) {
  StubTarget legacy(500);
  legacy.serve(1);
  auto report =
      http::check_route_targets(two_groups(legacy.url(), closed_port_url()), "", "abc", fast(), base::system_clock());
  EXPECT_FALSE(report.ok);
  EXPECT_EQ("status 500", report.groups[0].checks[0].error.value_or(""));
  EXPECT_EQ(500, report.groups[0].checks[0].status.value_or(0));
  EXPECT_EQ("refused", report.groups[0].checks[1].error.value_or(""));
  auto failures = http::routes_report_failures(report);
  ASSERT_EQ(5u, failures.size());
  EXPECT_NE(std::string::npos, failures[0].find("group billing_l402: rollback target legacy"));
  EXPECT_NE(std::string::npos, failures[0].find("status 500"));
  EXPECT_NE(std::string::npos, failures[2].find("group chat_pilot: rollback target rust_shell"));
  EXPECT_NE(std::string::npos, failures[2].find("refused"));
  EXPECT_NE(std::string::npos, failures[4].find("pinned route /api"));
}

TEST(RoutesCheck, ATargetThatNeverAnswersTimesOut) {
  StubTarget silent(200);  // listens (the kernel accepts) but never answers
  routing::RouteConfig c = two_groups(silent.url(), silent.url());
  c.pinned_routes.clear();
  http::ProbeOptions o;
  o.timeout_ms = 300;
  auto report = http::check_route_targets(c, "", "abc", o, base::system_clock());
  EXPECT_FALSE(report.ok);
  EXPECT_EQ("timeout", report.groups[0].checks[0].error.value_or("")) << report.groups[0].checks[0].duration_ms;
  EXPECT_FALSE(report.groups[0].checks[0].status.has_value());
}

TEST(RoutesCheck, AMissingBaseUrlIsNotConfiguredAndNothingIsContacted) {
  routing::RouteConfig c = routing::reference_config();
  auto report = http::check_route_targets(c, "", http::builtin_config_sha256(), fast(), base::system_clock());
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
  http::ProbeOptions o;
  o.health_path = "healthz";
  EXPECT_FALSE(http::check_probe_options(o));
  o.health_path = "/healthz";
  o.timeout_ms = 0;
  EXPECT_FALSE(http::check_probe_options(o));
}

// --- the expand gate -------------------------------------------------------------

class ExpandGate : public ::testing::Test {
 protected:
  Result<gates::AdvanceResult> expand(const std::string& group, gates::GateInputs in) {
    in.new_ledger = !testing::path_exists(ledger_);
    return gates::advance(base::real_file_system(), ledger_, group, "expand", in, specs_, base::system_clock());
  }
  static std::string now() { return base::rfc3339_utc(base::system_clock().now_ns()); }
  static std::string missing(const gates::AdvanceResult& r) { return json::join_problems(r.decision.missing); }

  testing::TempDir tmp_;
  std::string ledger_ = tmp_.file("ledger.jsonl");
  store::SpecRegistry specs_ = store::SpecRegistry::with_builtins();
};

TEST_F(ExpandGate, ANoteAloneIsRefused) {
  gates::GateInputs in;
  in.note = "readers shipped";
  auto r = expand("billing_l402", in);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->decision.allowed());
  EXPECT_NE(missing(*r).find("a routes report: pass --routes-report FILE"), std::string::npos) << missing(*r);
  EXPECT_NE(missing(*r).find("an expand report: pass --expand-report FILE"), std::string::npos) << missing(*r);
  EXPECT_FALSE(testing::path_exists(ledger_));
}

TEST_F(ExpandGate, FreshPassingReportsAreRecordedWithTheirDigestsAndStaleOnesRefused) {
  gates::GateInputs in;
  testing::write_expand_evidence(tmp_.file("e"), now(), in);
  auto r = expand("billing_l402", in);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(r->decision.allowed()) << missing(*r);
  EXPECT_EQ(json::string_at(*r->record->evidence.root().find("routes_report"), "sha256"),
            hash::sha256_hex(testing::read_text(in.routes_report_path)));
  EXPECT_EQ(json::string_at(*r->record->evidence.root().find("expand_report"), "sha256"),
            hash::sha256_hex(testing::read_text(in.expand_report_path)));
  // The same reports for the next group: made before the ledger's last record.
  auto stale = expand("chat_pilot", in);
  ASSERT_TRUE(stale);
  EXPECT_NE(missing(*stale).find("a fresh routes report"), std::string::npos) << missing(*stale);
  EXPECT_NE(missing(*stale).find("a fresh expand report"), std::string::npos) << missing(*stale);
  testing::write_expand_evidence(tmp_.file("e"), now(), in);
  in.routes_path.clear();  // the recorded config
  auto fresh = expand("chat_pilot", in);
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(fresh->decision.allowed()) << missing(*fresh);
}

TEST_F(ExpandGate, AFailedReportAndAnUncoveredStoreAreRefused) {
  gates::GateInputs in;
  testing::write_expand_evidence(tmp_.file("e"), now(), in);
  std::string text = testing::read_text(in.expand_report_path);
  text.replace(text.find("\"ok\": true"), 10, "\"ok\": false");
  testing::write_text(in.expand_report_path, text);
  testing::write_text(tmp_.file("auth.json"), "{}");
  in.expand_stores.push_back({"auth", tmp_.file("auth.json")});
  auto r = expand("billing_l402", in);
  ASSERT_TRUE(r);
  EXPECT_NE(missing(*r).find("expand-report.json did not pass"), std::string::npos) << missing(*r);
  EXPECT_NE(missing(*r).find("an expand report covering store auth=" + tmp_.file("auth.json")), std::string::npos)
      << missing(*r);
  EXPECT_FALSE(testing::path_exists(ledger_));
}

}  // namespace
}  // namespace cutover
