// The shared state against a real PostgreSQL (issue 15). Run through
// tests/state_tests.sh, which starts a throwaway cluster (tests/e2e/pg_lib.sh)
// and passes:
//   CUTOVER_STATE_TEST_URL      the database as its superuser (the schema's owner)
//   CUTOVER_STATE_TEST_APP_URL  the same database as cutover_app, the role
//                               `cutover serve` would use (granted cutover_writer)
//   CUTOVER_STATE_TEST_CONTROL  a command that takes "stop" or "start"
// Without them every test fails (never skips): a suite that silently tests
// nothing is worse than none. Each test starts from a database without the
// cutover schema.
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cutover/base/clock.h"
#include "cutover/json/document.h"
#include "cutover/json/writer.h"
#include "cutover/routing/config.h"
#include "cutover/routing/route_split.h"
#include "cutover/state/pg.h"
#include "cutover/state/pg_ledger.h"
#include "cutover/state/schema.h"
#include "cutover/state/shared_state.h"

namespace cutover::state {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::unique_ptr<Connection> must_connect(const std::string& url) {
  auto c = Connection::connect(url);
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message());
  return c ? std::move(*c) : nullptr;
}

std::string one_value(Connection& c, const std::string& sql) {
  auto r = c.exec("test query", sql);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
  if (!r || r->rows() < 1) return "<no row>";
  return r->text(0, 0);
}

std::string event_line(const AppliedOverride& a) {
  return "{\"event\":\"route.split.override.updated\",\"revision\":" + std::to_string(a.state.revision) + "}";
}

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = env("CUTOVER_STATE_TEST_URL");
    app_url_ = env("CUTOVER_STATE_TEST_APP_URL");
    control_ = env("CUTOVER_STATE_TEST_CONTROL");
    if (url_.empty() || app_url_.empty() || control_.empty()) {
      GTEST_FAIL() << "CUTOVER_STATE_TEST_URL, _APP_URL and _CONTROL are not set: run this through "
                      "tests/state_tests.sh (ctest -R state_tests), which starts a throwaway PostgreSQL";
    }
    admin_ = must_connect(url_);
    ASSERT_TRUE(admin_);
    ASSERT_TRUE(admin_->exec_script("dropping the schema", "DROP SCHEMA IF EXISTS cutover CASCADE"));
  }

  // The schema, and the runtime role's membership (what an operator does).
  void init() {
    auto i = init_schema(*admin_);
    ASSERT_TRUE(i) << i.error().message();
    ASSERT_TRUE(admin_->exec_script("granting", "GRANT cutover_writer TO cutover_app"));
  }

  std::unique_ptr<SharedState> open_state(SharedStateOptions options = {}, SharedState::OnChange on_change = nullptr) {
    auto s = SharedState::open(app_url_, engine_, base::system_clock(), options, std::move(on_change));
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message());
    return s ? std::move(*s) : nullptr;
  }

  void control(const std::string& what) { ASSERT_EQ(0, std::system((control_ + " " + what).c_str())) << what; }

  std::string url_, app_url_, control_;
  std::unique_ptr<Connection> admin_;
  routing::RouteSplit engine_{routing::reference_config()};
};

// Waits for `pred` up to `limit`, checking every 5 ms; returns how long it took
// (or nullopt). A measurement with a deadline, not a sleep that hopes.
template <typename Pred>
std::optional<std::chrono::milliseconds> time_until(Pred pred, std::chrono::milliseconds limit) {
  auto start = Steady::now();
  while (Steady::now() - start < limit) {
    if (pred()) return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start);
    std::this_thread::sleep_for(5ms);
  }
  return std::nullopt;
}

// --- schema --------------------------------------------------------------------

TEST_F(StateTest, SchemaInitTwiceIsANoOp) {
  auto first = init_schema(*admin_);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(0, first->before);
  EXPECT_EQ(k_schema_version, first->after);
  std::string stamp = one_value(*admin_, "SELECT xmin::text || ' ' || updated_at FROM cutover.schema_version");
  std::string tables = one_value(*admin_, "SELECT count(*) FROM pg_tables WHERE schemaname = 'cutover'");

  auto second = init_schema(*admin_);
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(k_schema_version, second->before);
  EXPECT_EQ(k_schema_version, second->after);
  EXPECT_EQ(stamp, one_value(*admin_, "SELECT xmin::text || ' ' || updated_at FROM cutover.schema_version"));
  EXPECT_EQ(tables, one_value(*admin_, "SELECT count(*) FROM pg_tables WHERE schemaname = 'cutover'"));
  EXPECT_EQ("5", tables);
  EXPECT_TRUE(check_schema(*admin_));
}

TEST_F(StateTest, NewerSchemaIsRefused) {
  init();
  ASSERT_TRUE(admin_->exec_script("test", "UPDATE cutover.schema_version SET version = version + 1"));
  auto again = init_schema(*admin_);
  ASSERT_FALSE(again);
  EXPECT_EQ(ErrorCode::conflict, again.error().code());
  EXPECT_NE(std::string::npos, again.error().message().find("newer than this cutover knows"))
      << again.error().message();
  EXPECT_EQ(std::to_string(k_schema_version + 1), one_value(*admin_, "SELECT version FROM cutover.schema_version"));
  auto state = SharedState::open(app_url_, engine_, base::system_clock());
  ASSERT_FALSE(state);
  EXPECT_EQ(ErrorCode::conflict, state.error().code()) << state.error().message();
}

TEST_F(StateTest, MissingSchemaIsRefusedWithWhatToDo) {
  auto state = SharedState::open(url_, engine_, base::system_clock());
  ASSERT_FALSE(state);
  EXPECT_EQ(ErrorCode::not_found, state.error().code());
  EXPECT_NE(std::string::npos, state.error().message().find("cutover state init")) << state.error().message();
}

TEST_F(StateTest, BadUrlIsInvalidArgumentAndPasswordIsHidden) {
  auto c = Connection::connect("mysql://root:hunter2@db/x");
  ASSERT_FALSE(c);
  EXPECT_EQ(ErrorCode::invalid_argument, c.error().code());
  EXPECT_EQ(std::string::npos, c.error().message().find("hunter2")) << c.error().message();
  EXPECT_EQ("postgresql://u:***@h/db?password=***&x=1", redact_url("postgresql://u:pw@h/db?password=pw&x=1"));
}

// --- overrides -----------------------------------------------------------------

TEST_F(StateTest, OverrideRoundTrip) {
  init();
  auto a = open_state();
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->available()) << a->availability().problem;
  EXPECT_EQ(0u, a->snapshot().revision);

  auto applied = a->apply("rust", "Billing-L402", "ops-alice", event_line);
  ASSERT_TRUE(applied) << applied.error().message();
  ASSERT_TRUE(*applied) << (*applied).error().message;
  EXPECT_EQ("domain:billing_l402", (*applied)->change.scope);
  EXPECT_EQ(1u, (*applied)->state.revision);
  routing::OverrideState s = a->snapshot();
  EXPECT_EQ(1u, s.revision);
  EXPECT_EQ("ops-alice", s.updated_by);
  EXPECT_EQ(routing::RouteTarget::rust_shell, s.overrides.groups.at("billing_l402"));

  // An unknown group changes nothing.
  auto bad = a->apply("rust", "no_such_group", "ops-alice", event_line);
  ASSERT_TRUE(bad);
  ASSERT_FALSE(*bad);
  EXPECT_EQ("domain", (*bad).error().field);

  auto global = a->apply("rollback", std::nullopt, "ops-bob", event_line);
  ASSERT_TRUE(global && *global);
  auto cleared = a->apply("clear", "billing_l402", "ops-bob", event_line);
  ASSERT_TRUE(cleared && *cleared);
  EXPECT_EQ(3u, (*cleared)->state.revision);

  // A second replica reads the same state from the database.
  auto b = open_state();
  ASSERT_TRUE(b);
  EXPECT_EQ(a->snapshot(), b->snapshot());
  EXPECT_EQ(routing::RouteTarget::legacy, b->snapshot().overrides.global);
  EXPECT_TRUE(b->snapshot().overrides.groups.empty());
  EXPECT_EQ("3", one_value(*admin_, "SELECT count(*) FROM cutover.audit_log"));
  EXPECT_EQ(
      "domain:billing_l402 clear rust_shell -",
      one_value(*admin_,
                "SELECT scope || ' ' || target || ' ' || coalesce(previous, '-') || ' ' || coalesce(current, '-') "
                "FROM cutover.audit_log WHERE revision = 3"));
  EXPECT_EQ(event_line(**cleared), one_value(*admin_, "SELECT event FROM cutover.audit_log WHERE revision = 3"));
}

TEST_F(StateTest, NotifyReachesASecondConnectionAndReplica) {
  init();
  auto listener = must_connect(app_url_);
  ASSERT_TRUE(listener->exec_script("listen", "LISTEN cutover_overrides"));
  auto a = open_state();
  auto b = open_state();
  ASSERT_TRUE(a && b);

  auto start = Steady::now();
  auto applied = a->apply("legacy", "chat_pilot", "ops", event_line);
  ASSERT_TRUE(applied && *applied);

  std::optional<Notification> note;
  while (!note && Steady::now() - start < 5s) {
    pollfd p{listener->socket(), POLLIN, 0};
    ASSERT_GE(::poll(&p, 1, 5000), 0);
    ASSERT_TRUE(listener->consume_input());
    note = listener->next_notification();
  }
  ASSERT_TRUE(note);
  EXPECT_EQ("cutover_overrides", note->channel);
  EXPECT_EQ("1", note->payload);

  // The other replica has it in force within 1 s (issue 15's target).
  auto took = time_until([&] { return b->snapshot().revision == 1; }, 1000ms);
  ASSERT_TRUE(took) << "replica b did not see revision 1 within 1 s";
  EXPECT_EQ(routing::RouteTarget::legacy, b->snapshot().overrides.groups.at("chat_pilot"));
}

TEST_F(StateTest, ConcurrentOverridesFromTwoReplicas) {
  init();
  auto a = open_state();
  auto b = open_state();
  ASSERT_TRUE(a && b);
  constexpr int k_each = 60;
  const char* targets[] = {"rust", "legacy", "clear", "rollback"};
  const char* groups[] = {"auth_entry", "billing_l402", "chat_pilot", ""};
  struct Ack {
    uint64_t revision;
    routing::OverrideState state;
  };
  std::vector<Ack> acks[2];
  std::string failures[2];
  auto run = [&](int who, SharedState& s) {
    for (int i = 0; i < k_each; ++i) {
      std::string group = groups[(i + who) % 4];
      std::optional<std::string_view> domain;
      if (!group.empty()) domain = group;
      auto r = s.apply(targets[(i * 3 + who) % 4], domain, who == 0 ? "a" : "b", event_line);
      if (!r || !*r) {
        failures[who] += (r ? (*r).error().message : r.error().message()) + "\n";
        continue;
      }
      acks[who].push_back({(*r)->state.revision, (*r)->state});
    }
  };
  std::thread ta(run, 0, std::ref(*a));
  std::thread tb(run, 1, std::ref(*b));
  ta.join();
  tb.join();
  EXPECT_EQ("", failures[0]);
  EXPECT_EQ("", failures[1]);

  std::set<uint64_t> revisions;
  for (auto& list : acks) {
    for (size_t i = 1; i < list.size(); ++i) EXPECT_LT(list[i - 1].revision, list[i].revision);
    for (auto& ack : list) EXPECT_TRUE(revisions.insert(ack.revision).second) << "revision twice: " << ack.revision;
  }
  size_t acknowledged = acks[0].size() + acks[1].size();
  EXPECT_EQ(2u * k_each, acknowledged);
  EXPECT_EQ(std::to_string(acknowledged), one_value(*admin_, "SELECT count(*) FROM cutover.audit_log"));
  EXPECT_EQ(std::to_string(*revisions.rbegin()), one_value(*admin_, "SELECT max(revision) FROM cutover.audit_log"));
  EXPECT_EQ(acknowledged, *revisions.rbegin());  // no gaps: every revision is an acknowledged override

  // The final state is the last committed override's, on both replicas.
  const routing::OverrideState* last = nullptr;
  for (auto& list : acks)
    for (auto& ack : list)
      if (last == nullptr || ack.revision > last->revision) last = &ack.state;
  ASSERT_NE(nullptr, last);
  auto fresh = open_state();
  EXPECT_EQ(*last, fresh->snapshot());
  EXPECT_TRUE(time_until([&] { return a->snapshot() == *last && b->snapshot() == *last; }, 2000ms));
}

TEST_F(StateTest, AppendOnlyTablesRefuseChangesFromTheAppRole) {
  init();
  auto a = open_state();
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->apply("rust", std::nullopt, "ops", event_line));
  auto app = must_connect(app_url_);
  for (const char* sql :
       {"UPDATE cutover.audit_log SET actor = 'x'", "DELETE FROM cutover.audit_log", "TRUNCATE cutover.audit_log",
        "UPDATE cutover.ledger SET line = ''", "DELETE FROM cutover.ledger"}) {
    auto r = app->exec("test", sql);
    ASSERT_FALSE(r) << sql;
    EXPECT_EQ(ErrorCode::permission_denied, r.error().code()) << sql << ": " << r.error().message();
  }
  // The trigger refuses the owner too.
  auto owner = admin_->exec("test", "DELETE FROM cutover.audit_log");
  ASSERT_FALSE(owner);
  EXPECT_NE(std::string::npos, owner.error().message().find("append-only")) << owner.error().message();
  EXPECT_EQ("1", one_value(*admin_, "SELECT count(*) FROM cutover.audit_log"));
}

TEST_F(StateTest, DatabaseStoppedLosesFreshnessWithinTheWindowAndComesBack) {
  init();
  SharedStateOptions options;
  options.heartbeat_interval = 250ms;
  options.freshness_window = 1000ms;
  std::mutex changes_mutex;
  std::vector<bool> changes;
  auto a = open_state(options, [&](const Availability& now) {
    std::lock_guard lock(changes_mutex);
    changes.push_back(now.available);
  });
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->apply("rust", "auth_entry", "ops", event_line));
  ASSERT_TRUE(a->available());

  // Bounded from the moment the database is down (pg_ctl stop -w returned):
  // the last proof is older than that, so freshness lapses within the window
  // (the slack is for a loaded machine; issue 15 allows 3 s for 2 s).
  control("stop");
  auto lost = time_until([&] { return !a->available(); }, 5000ms);
  bool restarted = false;
  auto restart = [&] {
    if (!restarted) control("start");
    restarted = true;
  };
  if (!lost) restart();
  ASSERT_TRUE(lost) << "still available 5 s after the database stopped";
  EXPECT_LE(lost->count(), options.freshness_window.count() + 1000)
      << "freshness lost only " << lost->count() << " ms after the database stopped";
  EXPECT_FALSE(a->availability().problem.empty());
  // The last state is kept (for the caller to ignore) and nothing is applied.
  EXPECT_EQ(1u, a->snapshot().revision);
  auto refused = a->apply("legacy", std::nullopt, "ops", event_line);
  ASSERT_FALSE(refused);
  EXPECT_NE(std::string::npos, refused.error().message().find("shared state unavailable")) << refused.error().message();

  restart();
  auto back = time_until([&] { return a->available(); }, 10000ms);
  ASSERT_TRUE(back) << "not available 10 s after the database started again: " << a->availability().problem;
  auto applied = a->apply("legacy", std::nullopt, "ops", event_line);
  ASSERT_TRUE(applied && *applied) << (applied ? "" : applied.error().message());
  EXPECT_EQ(2u, (*applied)->state.revision);
  // on_change told of each turn: up after open, down, up again.
  EXPECT_TRUE(time_until(
      [&] {
        std::lock_guard lock(changes_mutex);
        return changes.size() >= 3;
      },
      2000ms));
  std::lock_guard lock(changes_mutex);
  EXPECT_EQ((std::vector<bool>{true, false, true}), changes);
}

TEST_F(StateTest, ReplicaStartedWhileTheDatabaseIsDownIsUnavailableUntilItIsUp) {
  init();
  SharedStateOptions options;
  options.heartbeat_interval = 250ms;
  control("stop");
  auto s = SharedState::open(app_url_, engine_, base::system_clock(), options);
  bool ok = s.has_value();
  bool available = ok && (*s)->available();
  control("start");
  ASSERT_TRUE(ok) << s.error().message();
  EXPECT_FALSE(available);
  EXPECT_TRUE(time_until([&] { return (*s)->available(); }, 10000ms)) << (*s)->availability().problem;
}

// --- ledger ----------------------------------------------------------------------

TEST_F(StateTest, LedgerAppendsFromTwoConnectionsNeverFork) {
  init();
  constexpr int k_each = 15;
  std::string failures[2];
  auto run = [&](int who) {
    for (int i = 0; i < k_each; ++i) {
      auto conn = Connection::connect(app_url_);
      if (!conn) {
        failures[who] += conn.error().message() + "\n";
        continue;
      }
      auto w = PgLedgerWriter::open(std::move(*conn));
      if (!w) {
        failures[who] += w.error().message() + "\n";
        continue;
      }
      json::Writer evidence = json::Writer::document();
      evidence.begin_object().member("i", static_cast<uint64_t>(i)).end_object();
      auto r = (*w)->append(who == 0 ? "auth_entry" : "chat_pilot", "expand", evidence.take_document(), "",
                            base::system_clock());
      if (!r) failures[who] += r.error().message() + "\n";
    }
  };
  std::thread ta(run, 0), tb(run, 1);
  ta.join();
  tb.join();
  EXPECT_EQ("", failures[0]);
  EXPECT_EQ("", failures[1]);
  auto ledger = read_pg_ledger(*admin_);
  ASSERT_TRUE(ledger) << ledger.error().message();
  ASSERT_EQ(2u * k_each, ledger->records.size());
  for (size_t i = 0; i < ledger->records.size(); ++i) {
    EXPECT_EQ(i + 1, ledger->records[i].seq);
    EXPECT_EQ(i == 0 ? std::string(gates::k_ledger_genesis) : ledger->records[i - 1].line_sha256,
              ledger->records[i].prev_sha256);
  }
}

TEST_F(StateTest, LedgerLinesAreTheFileLedgersBytes) {
  init();
  auto w = PgLedgerWriter::open(must_connect(app_url_));
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_FALSE((*w)->ledger().exists);
  auto r1 = (*w)->append("billing_l402", "expand", json::Document::empty_object(), "first", base::system_clock());
  auto r2 = (*w)->append("billing_l402", "migrate", json::Document::empty_object(), "", base::system_clock());
  ASSERT_TRUE(r1 && r2);
  w->reset();
  std::string lines = one_value(*admin_, "SELECT string_agg(line || E'\\n', '' ORDER BY seq) FROM cutover.ledger");
  auto parsed = gates::parse_ledger(lines, "copy");
  ASSERT_TRUE(parsed) << parsed.error().message();
  ASSERT_EQ(2u, parsed->records.size());
  EXPECT_EQ(r2->line_sha256, parsed->head_sha256);
  EXPECT_EQ(gates::record_line(*r1), lines.substr(0, lines.find('\n')));
}

TEST_F(StateTest, TamperedLedgerRowIsDetected) {
  init();
  {
    auto w = PgLedgerWriter::open(must_connect(app_url_));
    ASSERT_TRUE(w) << w.error().message();
    for (const char* phase : {"expand", "migrate", "contract"}) {
      ASSERT_TRUE((*w)->append("auth_entry", phase, json::Document::empty_object(), "", base::system_clock()));
    }
  }
  ASSERT_TRUE(read_pg_ledger(*admin_));
  gates::LedgerHead head = gates::head_of(*read_pg_ledger(*admin_));
  // Only an owner that turns the trigger off can edit a row; the chain still tells.
  ASSERT_TRUE(admin_->exec_script("tampering", R"sql(
ALTER TABLE cutover.ledger DISABLE TRIGGER append_only;
UPDATE cutover.ledger SET line = replace(line, '"migrate"', '"contract"') WHERE seq = 2;
ALTER TABLE cutover.ledger ENABLE TRIGGER append_only;
)sql"));
  auto read = read_pg_ledger(*admin_);
  ASSERT_FALSE(read);
  EXPECT_EQ(ErrorCode::corruption, read.error().code());
  EXPECT_NE(std::string::npos, read.error().message().find("is broken at line 3")) << read.error().message();
  auto w = PgLedgerWriter::open(must_connect(app_url_));
  ASSERT_FALSE(w);
  EXPECT_EQ(ErrorCode::corruption, w.error().code());

  // The last row rewritten with a consistent hash column: its hash no longer
  // matches the pinned head.
  ASSERT_TRUE(admin_->exec_script("tampering", R"sql(
ALTER TABLE cutover.ledger DISABLE TRIGGER append_only;
DELETE FROM cutover.ledger WHERE seq > 1;
ALTER TABLE cutover.ledger ENABLE TRIGGER append_only;
)sql"));
  auto cut = read_pg_ledger(*admin_);
  ASSERT_TRUE(cut) << cut.error().message();
  auto held = gates::check_ledger_head(*cut, head);
  ASSERT_FALSE(held);
  EXPECT_NE(std::string::npos, held.error().message().find("truncated")) << held.error().message();

  // A row whose hash column disagrees with its line.
  ASSERT_TRUE(admin_->exec_script("tampering", R"sql(
ALTER TABLE cutover.ledger DISABLE TRIGGER append_only;
UPDATE cutover.ledger SET line_sha256 = repeat('0', 64) WHERE seq = 1;
ALTER TABLE cutover.ledger ENABLE TRIGGER append_only;
)sql"));
  auto column = read_pg_ledger(*admin_);
  ASSERT_FALSE(column);
  EXPECT_NE(std::string::npos, column.error().message().find("is broken at line 1")) << column.error().message();
}

}  // namespace
}  // namespace cutover::state
