// The control server's parts that are not HTTP: the tokens file and the
// constant-time check, the override store (persistence, a second replica,
// corrupt state, a write that fails), the audit log and the metrics text.
// tests/e2e/server.sh drives the whole server over HTTP.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "cutover/base/clock.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/parser.h"
#include "cutover/route_files/route_files.h"
#include "cutover/routing/route_split.h"
#include "cutover/server/audit_log.h"
#include "cutover/server/metrics.h"
#include "cutover/server/override_store.h"
#include "cutover/server/tokens.h"
#include "test_util.h"

namespace cutover::server {
namespace {

using ::testing::HasSubstr;
using testing::token_line;
using testing::TempDir;

TEST(ServerTokens, ParsesRolesCommentsAndBlankLines) {
  std::string text = "# tokens\n\n" + token_line("operator", "alice", "op-secret") +
                     "  viewer\tbob  sha256:" + hash::sha256_hex("view-secret") + "   # ci scraper\r\n";
  auto set = TokenSet::parse(text, "tokens.txt");
  ASSERT_TRUE(set) << set.error().message();
  EXPECT_EQ(set->size(), 2u);
  const Token* alice = set->authenticate("op-secret");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->name, "alice");
  EXPECT_EQ(alice->role, Role::operator_);
  const Token* bob = set->authenticate("view-secret");
  ASSERT_NE(bob, nullptr);
  EXPECT_EQ(bob->role, Role::viewer);
  EXPECT_EQ(set->authenticate("op-secre"), nullptr);
  EXPECT_EQ(set->authenticate("op-secret "), nullptr);
  EXPECT_EQ(set->authenticate(""), nullptr);
  EXPECT_EQ(set->authenticate(hash::sha256_hex("op-secret")), nullptr) << "the hash itself is not a token";
}

TEST(ServerTokens, RefusesBadFilesNamingTheLine) {
  const std::pair<std::string, std::string> cases[] = {
      {token_line("admin", "carol", "x"), "line 1: unknown role 'admin'"},
      {"\n" + std::string("operator alice sha256:ABC\n"), "line 2: the hash must be sha256:"},
      {"operator alice " + hash::sha256_hex("x") + "\n", "the hash must be sha256:"},
      {"operator alice\n", "line 1: expected ROLE NAME sha256:HEX, found 2 fields"},
      {token_line("operator", "al ice", "x"), "found 4 fields"},
      {token_line("operator", "a/b", "x"), "name 'a/b'"},
      {token_line("operator", "alice", "x") + token_line("viewer", "alice", "y"),
       "line 2: name 'alice' is already used"},
      {token_line("operator", "alice", "x") + token_line("viewer", "bob", "x"), "line 2: the same token hash"},
      {"# nothing here\n", "no token"},
      {"", "no token"},
  };
  for (const auto& [text, fragment] : cases) {
    auto set = TokenSet::parse(text, "conf/tokens.txt");
    ASSERT_FALSE(set) << text;
    EXPECT_EQ(set.error().code(), ErrorCode::invalid_argument);
    EXPECT_THAT(set.error().message(), HasSubstr("tokens file conf/tokens.txt is not usable"));
    EXPECT_THAT(set.error().message(), HasSubstr(fragment)) << text;
  }
}

TEST(ServerTokens, LastOfManyTokensIsFound) {
  std::string text;
  for (int i = 0; i < 50; ++i)
    text += token_line("viewer", ("v" + std::to_string(i)).c_str(), ("t" + std::to_string(i)).c_str());
  auto set = TokenSet::parse(text, "t");
  ASSERT_TRUE(set);
  ASSERT_NE(set->authenticate("t49"), nullptr);
  EXPECT_EQ(set->authenticate("t49")->name, "v49");
  EXPECT_EQ(set->authenticate("t0")->name, "v0");
}

class FixedClock : public base::Clock {
 public:
  int64_t now_ns() override { return 1'795'000'000'000'000'000; }
};

Status record_nothing(const OverrideStore::Applied&) { return ok_status(); }

TEST(ServerOverrideStore, AppliesPersistsAndReopens) {
  TempDir dir;
  FixedClock clock;
  routing::RouteSplit engine(routing::reference_config());
  std::string state_dir = dir.file("state");
  {
    auto store = OverrideStore::open(base::real_file_system(), clock, state_dir, engine);
    ASSERT_TRUE(store) << store.error().message();
    EXPECT_FALSE(testing::path_exists(route_files::state_file_path(state_dir))) << "nothing is written before a change";
    std::vector<uint64_t> recorded;
    auto applied = (*store)->apply("rollback", "Billing-L402", "alice", [&](const OverrideStore::Applied& a) {
      recorded.push_back(a.state.revision);
      EXPECT_TRUE(testing::path_exists(route_files::state_file_path(state_dir)))
          << "recorded after the state is on disk";
      return ok_status();
    });
    ASSERT_TRUE(applied) << applied.error().message();
    ASSERT_TRUE(*applied);
    EXPECT_EQ((*applied)->change.scope, "domain:billing_l402");
    EXPECT_EQ(recorded, std::vector<uint64_t>{1});
    auto bad = (*store)->apply("sideways", std::nullopt, "alice", record_nothing);
    ASSERT_TRUE(bad);
    ASSERT_FALSE(*bad);
    EXPECT_EQ(bad->error().field, "target");
  }
  auto reopened = OverrideStore::open(base::real_file_system(), clock, state_dir, engine);
  ASSERT_TRUE(reopened);
  routing::OverrideState s = (*reopened)->read([](const routing::OverrideState& st) { return st; });
  EXPECT_EQ(s.revision, 1u);
  EXPECT_EQ(s.updated_by, "alice");
  EXPECT_EQ(s.updated_at, base::rfc3339_utc(clock.now_ns()));
  EXPECT_EQ(s.overrides.groups.at("billing_l402"), routing::RouteTarget::legacy);
  EXPECT_FALSE(s.overrides.global);
}

TEST(ServerOverrideStore, ASecondReplicaSeesTheChangeAndBuildsOnIt) {
  TempDir dir;
  FixedClock clock;
  routing::RouteSplit engine(routing::reference_config());
  auto a = OverrideStore::open(base::real_file_system(), clock, dir.path(), engine, std::chrono::nanoseconds(0));
  auto b = OverrideStore::open(base::real_file_system(), clock, dir.path(), engine, std::chrono::nanoseconds(0));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE((*a)->apply("legacy", std::nullopt, "alice", record_nothing));
  // With a refresh interval of 0, b looks at the file on every read.
  EXPECT_EQ((*b)->read([](const routing::OverrideState& s) { return s.overrides.global; }),
            routing::RouteTarget::legacy);
  // b's write starts from the file, not from its own view.
  auto applied = (*b)->apply("rust", "chat_pilot", "bob", record_nothing);
  ASSERT_TRUE(applied && *applied);
  EXPECT_EQ((*applied)->state.revision, 2u);
  EXPECT_EQ((*applied)->state.overrides.global, routing::RouteTarget::legacy);
  EXPECT_EQ((*applied)->state.overrides.groups.at("chat_pilot"), routing::RouteTarget::rust_shell);
}

TEST(ServerOverrideStore, CorruptStateIsRefusedAndKept) {
  TempDir dir;
  FixedClock clock;
  routing::RouteSplit engine(routing::reference_config());
  testing::write_text(dir.file("overrides.json"), "{\"schema\":");
  auto store = OverrideStore::open(base::real_file_system(), clock, dir.path(), engine);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), ErrorCode::corruption);
  EXPECT_THAT(store.error().message(), HasSubstr(dir.file("overrides.json") + " is corrupt"));
  EXPECT_EQ(testing::read_text(dir.file("overrides.json")), "{\"schema\":");
}

TEST(ServerOverrideStore, StateThatTurnsCorruptWhileRunningKeepsTheLastGoodOne) {
  TempDir dir;
  FixedClock clock;
  routing::RouteSplit engine(routing::reference_config());
  auto store = OverrideStore::open(base::real_file_system(), clock, dir.path(), engine, std::chrono::nanoseconds(0));
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->apply("legacy", std::nullopt, "alice", record_nothing));
  testing::write_text(dir.file("overrides.json.tmp"), "garbage");
  ASSERT_EQ(::rename(dir.file("overrides.json.tmp").c_str(), dir.file("overrides.json").c_str()), 0);
  EXPECT_EQ((*store)->read([](const routing::OverrideState& s) { return s.overrides.global; }),
            routing::RouteTarget::legacy);
  EXPECT_THAT((*store)->problem(), HasSubstr("is corrupt"));
  // A change is refused too: it would start from an unreadable file.
  auto applied = (*store)->apply("rust", std::nullopt, "alice", record_nothing);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code(), ErrorCode::corruption);
}

// A file system whose atomic writes fail: the override must not take effect.
class FailingRenameFileSystem : public testing::ForwardingFileSystem {
 public:
  using ForwardingFileSystem::ForwardingFileSystem;
  Status rename(const std::string&, const std::string&) override {
    return make_error(ErrorCode::io_error, "injected rename failure");
  }
};

TEST(ServerOverrideStore, AFailedWriteChangesNothing) {
  TempDir dir;
  FixedClock clock;
  FailingRenameFileSystem fs(base::real_file_system());
  routing::RouteSplit engine(routing::reference_config());
  auto store = OverrideStore::open(fs, clock, dir.path(), engine);
  ASSERT_TRUE(store);
  bool recorded = false;
  auto applied = (*store)->apply("legacy", std::nullopt, "alice", [&](const OverrideStore::Applied&) {
    recorded = true;
    return ok_status();
  });
  ASSERT_FALSE(applied);
  EXPECT_THAT(applied.error().message(), HasSubstr("injected rename failure"));
  EXPECT_FALSE(recorded) << "no audit line for a change that did not happen";
  EXPECT_FALSE((*store)->read([](const routing::OverrideState& s) { return s.overrides.global; }));
}

TEST(ServerAuditLog, AppendsLinesAndKeepsOldOnes) {
  TempDir dir;
  std::string path = dir.file("audit.jsonl");
  testing::write_text(path, "{\"old\":1}\n");
  {
    auto log = AuditLog::open(path);
    ASSERT_TRUE(log) << log.error().message();
    ASSERT_TRUE((*log)->append("{\"a\":1}", true));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < 100; ++i)
          ASSERT_TRUE((*log)->append("{\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}", false));
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_TRUE((*log)->sync());
  }
  std::string text = testing::read_text(path);
  EXPECT_EQ(text.substr(0, 18), "{\"old\":1}\n{\"a\":1}\n");
  size_t lines = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    ASSERT_NE(nl, std::string::npos) << "every line ends with a newline";
    EXPECT_TRUE(json::parse(std::string_view(text).substr(start, nl - start))) << "line " << lines << " is whole JSON";
    ++lines;
    start = nl + 1;
  }
  EXPECT_EQ(lines, 402u);
}

TEST(ServerMetrics, RendersDecisionsOverridesAndHistograms) {
  routing::RouteSplit engine(routing::reference_config());
  Metrics m(engine);
  routing::Overrides none;
  m.count_decision(DecisionSource::web, engine.evaluate("/billing", "k", none));
  m.count_decision(DecisionSource::web, engine.evaluate("/billing/x", "k", none));
  m.count_decision(DecisionSource::evaluate, engine.evaluate("/api/x", "k", none));
  m.count_override("global", "rollback");
  m.observe_request(HttpRoute::web, 307, 30'000);         // 30 us: the first bucket
  m.observe_request(HttpRoute::web, 503, 2'000'000);      // 2 ms
  m.observe_request(HttpRoute::web, 299, 5'000'000'000);  // 5 s, an unusual code
  std::string text = m.render();
  EXPECT_THAT(text, HasSubstr("cutover_route_decisions_total{source=\"web\",target=\"rust_shell\",route_domain="
                              "\"billing_l402\",reason=\"mode_rust\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("cutover_route_decisions_total{source=\"evaluate\",target=\"rust_shell\",route_domain="
                              "\"api_rust_authority\",reason=\"api_rust_authority\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cutover_route_overrides_total{scope=\"global\",target=\"rollback\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cutover_http_request_duration_seconds_bucket{route=\"web\",le=\"5e-05\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cutover_http_request_duration_seconds_bucket{route=\"web\",le=\"0.0025\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("cutover_http_request_duration_seconds_bucket{route=\"web\",le=\"1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("cutover_http_request_duration_seconds_bucket{route=\"web\",le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("cutover_http_request_duration_seconds_count{route=\"web\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("cutover_http_request_duration_seconds_sum{route=\"web\"} 5.00203\n"));
  EXPECT_THAT(text, HasSubstr("cutover_http_responses_total{route=\"web\",code=\"503\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cutover_http_responses_total{route=\"web\",code=\"other\"} 1\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("route=\"status\"")));
}

}  // namespace
}  // namespace cutover::server
