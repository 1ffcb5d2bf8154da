// The rollback drill against a fake control server, and the control
// client's URL and token checks.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include "cutover/drill/drill.h"
#include "cutover/drill/route_control.h"
#include "evidence_fixtures.h"
#include "test_util.h"

namespace cutover::drill {
namespace {

using evidence_fixtures::FakeControl;
using testing::read_text;
using testing::write_text;

using DrillTest = evidence_fixtures::Migrated;

TEST(RouteControlUrl, OnlyPlainHttpWithAToken) {
  for (const char* bad : {"https://127.0.0.1:8787", "127.0.0.1:8787", "http://", "http://:80", "http://h:99999",
                          "http://h:80x", "http://user:pw@h:80", "http://[::1:80", "http://h:80/a b"}) {
    auto r = connect_route_control(bad, "token");
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code(), ErrorCode::invalid_argument) << bad;
    }
  }
  EXPECT_FALSE(connect_route_control("http://127.0.0.1:8787", ""));
  EXPECT_FALSE(connect_route_control("http://127.0.0.1:8787", "a b"));
  auto ok = connect_route_control("http://[::1]:8787/prefix/", "token");
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)->describe(), "http://[::1]:8787/prefix");
  // Nothing listens on port 1: a clear io_error, not a hang.
  auto none = connect_route_control("http://127.0.0.1:1", "token");
  ASSERT_TRUE(none);
  auto st = (*none)->status();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::io_error);
  EXPECT_EQ(st.error().message(),
            "GET http://127.0.0.1:1/api/v1/control/route-split/status: cannot connect (is `cutover serve` running "
            "there?)");
}

TEST_F(DrillTest, PassesAndPutsThePreviousOverrideBack) {
  FakeControl control;
  control.overrides["billing_l402"] = "rust_shell";
  std::map<std::string, std::string> live;
  for (const auto& s : record_.stores) live[s.path] = read_text(s.path);
  auto report = drill(control);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_TRUE(report->ok()) << evidence_fixtures::report_text(*report);
  EXPECT_EQ(report->rollback_target, "legacy");
  EXPECT_EQ(report->evaluated_path, "/billing");
  EXPECT_EQ(json::string_at(report->decision.root(), "target"), "legacy");
  EXPECT_EQ(report->previous_override, std::optional<std::string>("rust_shell"));
  EXPECT_EQ(control.overrides["billing_l402"], "rust_shell");
  EXPECT_EQ(report->release_train, record_.run_id);
  ASSERT_EQ(report->stores.size(), 3u);
  for (const auto& s : report->stores) {
    EXPECT_TRUE(s.ok) << s.detail;
    EXPECT_EQ(s.restored_sha256, s.before_sha256);
  }
  // Live stores untouched; restored copies removed once proven.
  for (const auto& [path, bytes] : live) EXPECT_EQ(read_text(path), bytes);
  EXPECT_TRUE(testing::list_names(report->scratch_dir).empty());
  EXPECT_EQ(control.calls,
            (std::vector<std::string>{"status", "override billing_l402 rollback", "status", "evaluate /billing",
                                      "override billing_l402 rust_shell", "status", "status"}));
  // A report the gates can read.
  auto summary = evidence::parse_drill_report(evidence_fixtures::report_text(*report), "d.json");
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_TRUE(summary->ok);
  EXPECT_EQ(summary->group, "billing_l402");
}

TEST_F(DrillTest, NoPreviousOverrideIsCleared) {
  FakeControl control;
  auto report = drill(control, " Chat-Pilot ");
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->group, "chat_pilot");
  EXPECT_EQ(json::string_at(report->decision.root(), "target"), "rust_shell");
  EXPECT_TRUE(control.overrides.empty());
}

TEST_F(DrillTest, AServerThatDoesNotRollBackFailsTheDrillButIsPutBack) {
  FakeControl control;
  control.ignore_rollback = true;
  auto report = drill(control);
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->ok());
  auto summary = evidence::parse_drill_report(evidence_fixtures::report_text(*report), "d.json");
  ASSERT_TRUE(summary);
  EXPECT_FALSE(summary->ok);
  EXPECT_NE(json::join_problems(summary->failed_steps).find("route_decision"), std::string::npos);

  FakeControl failing;
  failing.overrides["billing_l402"] = "legacy";
  failing.fail_evaluate = true;
  auto r2 = drill(failing);
  ASSERT_TRUE(r2);
  EXPECT_FALSE(r2->ok());
  EXPECT_EQ(failing.overrides["billing_l402"], "legacy");
  EXPECT_EQ(failing.calls.back(), "status");
}

TEST_F(DrillTest, UnknownGroupAndCorruptBackupFail) {
  FakeControl control;
  auto unknown = drill(control, "nowhere");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->ok());
  EXPECT_NE(evidence_fixtures::report_text(*unknown).find("has no route group 'nowhere'"), std::string::npos);

  write_text(*record_.stores[0].backup_path, "{}");
  auto corrupt = drill(control);
  ASSERT_TRUE(corrupt);
  EXPECT_FALSE(corrupt->ok());
  EXPECT_FALSE(corrupt->stores[0].ok);
  EXPECT_NE(corrupt->stores[0].detail.find("not before_sha256"), std::string::npos) << corrupt->stores[0].detail;
}

TEST_F(DrillTest, ScratchMustBeEmpty) {
  FakeControl control;
  std::string scratch = tmp_.file("full");
  ASSERT_EQ(::mkdir(scratch.c_str(), 0755), 0);
  write_text(scratch + "/something", "x");
  DrillOptions o;
  o.manifest_path = manifest_;
  o.group = "billing_l402";
  o.scratch_dir = scratch;
  auto r = run_drill(o, control, base::real_file_system(), clock_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("is not empty"), std::string::npos);
  EXPECT_TRUE(control.calls.empty());
}

}  // namespace
}  // namespace cutover::drill
