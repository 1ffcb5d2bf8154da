// Issue 16: progress on long work. The library side (backfill, verify and
// rollback announce their total in store bytes and report it in chunks,
// never per record) on a real store of a few MiB.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "cutover/backfill/backfill.h"
#include "cutover/base/progress.h"
#include "cutover/rollback/rollback.h"
#include "cutover/verify/verify.h"
#include "test_util.h"

namespace cutover {
namespace {

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

}  // namespace
}  // namespace cutover
