// The runs of a work folder (manifest/runs.h) and the prune rule (issue 16).
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "cutover/manifest/runs.h"
#include "test_util.h"

namespace cutover::manifest {
namespace {

RunInfo run(const std::string& id, RunState state, bool backups = true, int64_t mtime_ns = 0) {
  RunInfo r;
  r.run_id = id;
  r.state = state;
  r.backups_present = backups;
  r.backup_mtime_ns = mtime_ns;
  r.manifest_mtime_ns = mtime_ns;
  return r;
}

struct PruneCase {
  const char* name;
  std::vector<RunInfo> runs;
  std::set<std::string> verified;
  PruneRule rule;
  std::vector<std::string> removed;
};

class PruneTest : public ::testing::TestWithParam<PruneCase> {};

TEST_P(PruneTest, RemovesOnlyWhatTheRuleAllows) {
  const PruneCase& c = GetParam();
  std::vector<std::string> removed;
  for (const auto& d : plan_prune(c.runs, c.verified, c.rule)) {
    EXPECT_FALSE(d.why.empty()) << d.run_id;
    if (d.remove) removed.push_back(d.run_id);
  }
  EXPECT_EQ(removed, c.removed);
}

const RunState k_ok = RunState::complete;

INSTANTIATE_TEST_SUITE_P(
    Cases, PruneTest,
    ::testing::Values(
        PruneCase{"OldRunsBeforeANewerVerifiedOne",
                  {run("r1", k_ok), run("r2", RunState::rolled_back), run("r3", k_ok)},
                  {"r3"},
                  {1, std::nullopt},
                  {"r1", "r2"}},
        PruneCase{"NeverTheNewestN", {run("r1", k_ok), run("r2", k_ok), run("r3", k_ok)}, {"r3"}, {2, {}}, {"r1"}},
        PruneCase{"KeepCountsRunsWithoutBackupsToo",
                  {run("r1", k_ok), run("r2", k_ok), run("r3", k_ok, false)},
                  {"r3"},
                  {2, {}},
                  {"r1"}},
        PruneCase{"NothingWithoutANewerVerifiedRun", {run("r1", k_ok), run("r2", k_ok)}, {"r1"}, {0, {}}, {}},
        PruneCase{"AVerifiedRunThatIsNotCompleteDoesNotCount",
                  {run("r1", k_ok), run("r2", RunState::rolled_back)},
                  {"r2"},
                  {0, {}},
                  {}},
        PruneCase{"NeverAnUnfinishedRun",
                  {run("r1", RunState::in_progress), run("r2", RunState::failed), run("r3", RunState::unreadable),
                   run("r4", RunState::backups_only), run("r5", k_ok)},
                  {"r5"},
                  {0, {}},
                  {}},
        PruneCase{"OlderThanLeavesNewerRuns",
                  {run("r1", k_ok, true, 100), run("r2", k_ok, true, 300), run("r3", k_ok, true, 400)},
                  {"r3"},
                  {0, int64_t{200}},
                  {"r1"}},
        PruneCase{"NoRunsNoDecisions", {}, {}, {0, {}}, {}}),
    [](const auto& test_case) { return std::string(test_case.param.name); });

TEST(PruneTest, EveryRunWithBackupsGetsAReason) {
  auto decisions = plan_prune({run("r1", k_ok), run("r2", k_ok, false), run("r3", k_ok)}, {"r3"}, {1, {}});
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_EQ(decisions[0].run_id, "r1");
  EXPECT_EQ(decisions[1].run_id, "r3");
  EXPECT_NE(decisions[1].why.find("newest 1"), std::string::npos) << decisions[1].why;
}

TEST(ListRunsTest, AMissingWorkFolderHasNoRuns) {
  testing::TempDir dir;
  auto runs = list_runs(base::real_file_system(), dir.file("absent"));
  ASSERT_TRUE(runs) << runs.error().message();
  EXPECT_FALSE(runs->exists);
  EXPECT_TRUE(runs->runs.empty());
}

TEST(ListRunsTest, StatesBackupsAndCorruptFilesAreNamed) {
  testing::TempDir dir;
  ASSERT_EQ(::mkdir(dir.file("manifests").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(dir.file("backups").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(dir.file("reports").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(dir.file("backups/r1").c_str(), 0700), 0);
  testing::write_text(dir.file("backups/r1/a.bak.json"), "12345");
  testing::write_text(dir.file("backups/r1/b.bak.json"), "678");
  testing::write_text(dir.file("manifests/r1.json"), "{not json");
  testing::write_text(dir.file("manifests/r2.json.in-progress"), "{}");
  testing::write_text(dir.file("reports/r2-rollback.json"), "[");
  auto runs = list_runs(base::real_file_system(), dir.path());
  ASSERT_TRUE(runs) << runs.error().message();
  ASSERT_EQ(runs->runs.size(), 2u);
  EXPECT_EQ(runs->runs[0].run_id, "r1");
  EXPECT_EQ(runs->runs[0].state, RunState::unreadable);
  EXPECT_NE(runs->runs[0].problem.find("r1.json"), std::string::npos) << runs->runs[0].problem;
  EXPECT_TRUE(runs->runs[0].backups_present);
  EXPECT_EQ(runs->runs[0].backup_bytes, 8u);
  EXPECT_EQ(runs->runs[0].backup_files, 2u);
  EXPECT_EQ(runs->runs[1].run_id, "r2");
  EXPECT_EQ(runs->runs[1].state, RunState::unreadable);  // "{}" is not a manifest
  EXPECT_FALSE(runs->runs[1].backups_present);
  ASSERT_EQ(runs->problems.size(), 1u);
  EXPECT_NE(runs->problems[0].find("r2-rollback.json"), std::string::npos) << runs->problems[0];
}

}  // namespace
}  // namespace cutover::manifest
