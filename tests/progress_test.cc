// Issue 16: progress on long work. The library side (backfill, verify and
// rollback announce their total in store bytes and report it in chunks,
// never per record) on a real store of a few MiB, and the pure parts of
// the CLI's progress bar (the line for given bytes and time, and the redraw
// limiter with injected times).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "cli/progress_bar.h"
#include "cutover/backfill/backfill.h"
#include "cutover/base/progress.h"
#include "cutover/rollback/rollback.h"
#include "cutover/verify/verify.h"
#include "test_util.h"

namespace cutover {
namespace {

using namespace std::chrono_literals;

// Counts what the work reports; advance() from any thread.
class CountingProgress final : public base::Progress {
 public:
  void begin(uint64_t total) override {
    begins.push_back(total);
    done_at_begin = done.load();
  }
  void advance(uint64_t bytes) override {
    done += bytes;
    ++calls;
  }

  std::vector<uint64_t> begins;
  uint64_t done_at_begin = 0;
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> calls{0};
};

// A compact domain store of `records` shouts: its canonical (pretty) form
// is larger, as a production store's is.
std::string big_domain_store(int records) {
  std::string out = R"({"user_integrations":{},"shouts":[)";
  for (int i = 1; i <= records; ++i) {
    if (i > 1) out += ",";
    out += R"({"id":)" + std::to_string(i) + R"(,"user_id":"user-1","body":"a shout of some length, to fill it"})";
  }
  return out + "]}";
}

class ProgressLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = tmp_.file("domain.json");
    testing::write_text(store_, big_domain_store(60000));  // about 4.5 MiB: several 1 MiB chunks
    size_ = testing::read_text(store_).size();
  }

  Result<backfill::BackfillResult> backfill(base::Progress* progress) {
    backfill::BackfillOptions options;
    options.stores = {{"domain", store_}};
    options.work_dir = tmp_.file("work");
    options.progress = progress;
    return backfill::run_backfill(options, specs_, base::real_file_system(), clock_);
  }

  testing::TempDir tmp_;
  std::string store_;
  uint64_t size_ = 0;
  store::SpecRegistry specs_ = store::SpecRegistry::with_builtins();
  testing::FixedClock clock_;
};

TEST_F(ProgressLibraryTest, BackfillReportsTheStoreSizeInChunks) {
  CountingProgress progress;
  auto result = backfill(&progress);
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(progress.begins, std::vector<uint64_t>{size_});
  EXPECT_EQ(progress.done_at_begin, 0u);
  // Read, plan, then the new file (larger than the store): all of it.
  EXPECT_EQ(progress.done.load(), size_);
  EXPECT_GE(progress.calls.load(), 4u);   // more than one step a phase
  EXPECT_LE(progress.calls.load(), 64u);  // per chunk, never per record (60000 of them)
}

TEST_F(ProgressLibraryTest, AnUnchangedStoreCountsItsBackup) {
  ASSERT_TRUE(backfill(nullptr));  // migrated: a second run changes nothing
  CountingProgress progress;
  auto again = backfill(&progress);
  ASSERT_TRUE(again) << again.error().message();
  ASSERT_FALSE(again->manifest.stores.at(0).changed);
  uint64_t size = testing::read_text(store_).size();
  ASSERT_EQ(progress.begins, std::vector<uint64_t>{size});
  EXPECT_EQ(progress.done.load(), size);
}

TEST_F(ProgressLibraryTest, VerifyAndRollbackReportTheFilesTheyRead) {
  auto result = backfill(nullptr);
  ASSERT_TRUE(result) << result.error().message();
  uint64_t migrated = testing::read_text(store_).size();
  ASSERT_GT(migrated, size_);

  CountingProgress verified;
  verify::VerifyOptions options;
  options.manifest_path = result->manifest_path;
  options.progress = &verified;
  auto report = verify::verify_manifest(options, specs_, base::real_file_system(), clock_);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(verified.begins, std::vector<uint64_t>{migrated});
  EXPECT_EQ(verified.done.load(), migrated);
  EXPECT_LE(verified.calls.load(), migrated / (1 << 20) + 2);  // 1 MiB pieces

  CountingProgress rolled_back;
  auto rollback =
      rollback::run_rollback({result->manifest_path, false, &rolled_back}, base::real_file_system(), clock_);
  ASSERT_TRUE(rollback) << rollback.error().message();
  EXPECT_TRUE(rollback->ok());
  EXPECT_EQ(rolled_back.begins, std::vector<uint64_t>{size_});  // the backup: the store as it was
  EXPECT_EQ(rolled_back.done.load(), size_);
  EXPECT_EQ(testing::read_text(store_).size(), size_);
}

TEST(ProgressShare, PassesBytesOnUntilTheShareIsSpent) {
  CountingProgress progress;
  base::ProgressShare share(&progress, 10);
  share.spend(4);
  share.spend(0);
  share.spend(5);
  share.spend(7);  // only 1 left
  share.spend(3);  // nothing left
  EXPECT_EQ(progress.done.load(), 10u);
  EXPECT_EQ(progress.calls.load(), 3u);
  base::ProgressShare rest(&progress, 6);
  rest.spend(2);
  rest.spend_rest();
  EXPECT_EQ(progress.done.load(), 16u);
  base::ProgressShare none;  // no progress: takes nothing, never crashes
  none.spend(5);
  none.spend_rest();
}

constexpr uint64_t k_mib = uint64_t{1} << 20;

TEST(ProgressLine, ShowsPercentBytesRateAndEta) {
  struct Case {
    uint64_t done, total;
    std::chrono::nanoseconds elapsed;
    size_t width;
    std::string want;
  };
  const Case cases[] = {
      // The issue's example: 211/500 MiB in about 1.17 s.
      {211 * k_mib, 500 * k_mib, 1170ms, 80,
       "backfill [#######...........]   42%  211.0/500.0 MiB  180.3 MiB/s  ETA 0:02"},
      // Before 0.5 s of data: no rate, no ETA yet.
      {10 * k_mib, 500 * k_mib, 400ms, 80, "backfill [..................]    2%  10.0/500.0 MiB  -- MiB/s  ETA --"},
      // Nothing done yet, however long: no rate.
      {0, 500 * k_mib, 3s, 80, "backfill [..................]    0%  0.0/500.0 MiB  -- MiB/s  ETA --"},
      // Done (even past the total, by rounding): 100%, the mean rate, ETA 0:00.
      {501 * k_mib, 500 * k_mib, 200ms, 80,
       "backfill [##################]  100%  500.0/500.0 MiB  2500.0 MiB/s  ETA 0:00"},
      // 99.9% is not 100%.
      {999 * k_mib, 1000 * k_mib, 10s, 80,
       "backfill [#################.]   99%  999.0/1000.0 MiB  99.9 MiB/s  ETA 0:00"},
      // GiB from 1 GiB; an ETA past an hour.
      {k_mib, 20 * 1024 * k_mib, 10s, 100,
       "backfill [..............................]    0%  0.00/20.00 GiB  0.1 MiB/s  ETA 56:53:10"},
      // A narrow terminal: no bar; narrower still: cut at the last column but one.
      {211 * k_mib, 500 * k_mib, 1170ms, 60, "backfill   42%  211.0/500.0 MiB  180.3 MiB/s  ETA 0:02"},
      {211 * k_mib, 500 * k_mib, 1170ms, 30, "backfill   42%  211.0/500.0 M"},
  };
  for (const Case& c : cases) {
    std::string line = cli::progress_line("backfill", c.done, c.total, c.elapsed, c.width);
    EXPECT_EQ(line, c.want) << c.done << "/" << c.total << " width " << c.width;
    EXPECT_LT(line.size(), c.width);
  }
}

TEST(ProgressLine, TheBarKeepsItsLengthAsTheTailChanges) {
  std::string early = cli::progress_line("verify", 0, 100 * k_mib, 0ms, 80);
  std::string later = cli::progress_line("verify", 50 * k_mib, 100 * k_mib, 2s, 80);
  EXPECT_EQ(early.find(']'), later.find(']'));
}

TEST(RedrawLimiter, AllowsTheFirstDrawThenAtMostOneAnInterval) {
  cli::RedrawLimiter limiter(100ms);
  std::chrono::steady_clock::time_point t0{};
  EXPECT_TRUE(limiter.due(t0 + 5s));
  EXPECT_FALSE(limiter.due(t0 + 5s));
  EXPECT_FALSE(limiter.due(t0 + 5s + 99ms));
  EXPECT_TRUE(limiter.due(t0 + 5s + 100ms));
  EXPECT_FALSE(limiter.due(t0 + 5s + 150ms));  // counted from the last draw, not the last question
  EXPECT_TRUE(limiter.due(t0 + 5s + 230ms));
  // Over a second of asking every millisecond, at most 10 draws.
  cli::RedrawLimiter busy(100ms);
  int draws = 0;
  for (int ms = 0; ms < 1000; ++ms) draws += busy.due(t0 + std::chrono::milliseconds(ms)) ? 1 : 0;
  EXPECT_EQ(draws, 10);
}

TEST(ProgressBar, DrawsNothingWhenNotAllowedOrBelow64MiB) {
  cli::ProgressBar off("verify", false);
  off.begin(k_mib << 10);
  EXPECT_FALSE(off.shown());
  cli::ProgressBar small("verify", true);
  small.begin(cli::k_progress_min_bytes - 1);
  EXPECT_FALSE(small.shown());
  small.advance(5);
  small.finish(true);
  EXPECT_FALSE(small.shown());
}

TEST(ProgressBar, ShowsZeroPercentFirstThoughTheWorkIsDoneAtOnce) {
  // The work may finish before the drawing thread first runs: begin() draws
  // the 0% line itself, and finish(true) the 100% one.
  ::testing::internal::CaptureStderr();
  {
    cli::ProgressBar bar("backfill", true);
    bar.begin(cli::k_progress_min_bytes);
    bar.advance(cli::k_progress_min_bytes);
    bar.finish(true);
  }
  std::string out = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.front(), '\r');
  std::string first = out.substr(1, out.find("\033[K") - 1);
  EXPECT_NE(first.find("   0%  0.0/64.0 MiB"), std::string::npos) << first;
  EXPECT_NE(out.find("100%  64.0/64.0 MiB"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 4), "\033[K\n");
}

}  // namespace
}  // namespace cutover
