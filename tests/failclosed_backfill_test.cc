// Issue 12, items 1, 2, 6 and 7: backfill fails closed in a live window.
// Real files in a temporary folder; a FileSystem wrapper plays the service
// that keeps writing a store, at the exact moment between backfill's read and
// its rename (in place, or by renaming a new file over the store).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cutover/backfill/backfill.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"
#include "cutover/manifest/manifest.h"
#include "cutover/rollback/rollback.h"
#include "cutover/store/fixtures.h"
#include "cutover/store/migration.h"
#include "test_util.h"

namespace cutover::backfill {
namespace {

using testing::FixedClock;
using testing::list_names;
using testing::path_exists;
using testing::read_text;
using testing::write_text;

constexpr const char* k_run = "20231114T221320Z";
constexpr const char* k_writers_bytes = "{\"written\": \"by the service while backfill ran\"}";

// Rewrites `path` in place: the same file (inode), new contents.
void write_in_place(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

// Replaces `path` by renaming a new file over it, as a service saving atomically does.
void write_by_rename(const std::string& path, const std::string& bytes) {
  std::string temp = path + ".service-tmp";
  write_text(temp, bytes);
  ASSERT_EQ(::rename(temp.c_str(), path.c_str()), 0) << path;
}

// Calls `hook` once, at the first rename whose target ends with `target_suffix`:
// before forwarding it (`before`), or just after.
class HookedFileSystem final : public testing::ForwardingFileSystem {
 public:
  HookedFileSystem(std::string target_suffix, bool before, std::function<void()> hook)
      : ForwardingFileSystem(base::real_file_system()),
        suffix_(std::move(target_suffix)),
        before_(before),
        hook_(std::move(hook)) {}

  Status rename(const std::string& from, const std::string& to) override {
    bool fire = !fired_ && to.ends_with(suffix_);
    if (fire) fired_ = true;
    if (fire && before_) hook_();
    Status st = target_.rename(from, to);
    if (fire && !before_) hook_();
    return st;
  }
  bool fired() const { return fired_; }

 private:
  std::string suffix_;
  bool before_;
  std::function<void()> hook_;
  bool fired_ = false;
};

// Calls `hook` right after the first read_file of a path ending with `suffix`.
class ReadHookFileSystem final : public testing::ForwardingFileSystem {
 public:
  ReadHookFileSystem(std::string suffix, std::function<void()> hook)
      : ForwardingFileSystem(base::real_file_system()), suffix_(std::move(suffix)), hook_(std::move(hook)) {}
  Result<base::Buffer> read_file(const std::string& path) override {
    auto out = target_.read_file(path);
    if (!fired_ && path.ends_with(suffix_)) {
      fired_ = true;
      hook_();
    }
    return out;
  }

 private:
  std::string suffix_;
  std::function<void()> hook_;
  bool fired_ = false;
};

class FailClosedBackfill : public testing::FixtureStoresTest {
 protected:
  std::string manifest_path() const { return work_dir_ + "/manifests/" + k_run + ".json"; }

  std::map<std::string, std::string> stores() const {
    std::map<std::string, std::string> out;
    for (const auto& name : list_names(stores_dir_)) out[name] = read_text(stores_dir_ + "/" + name);
    return out;
  }

  // The store written by "the service" mid-run; the others must be back at their fixtures.
  void expect_write_kept_and_rest_undone(const std::string& written_kind) {
    auto now = stores();
    ASSERT_EQ(now.size(), 3u) << "a temporary file or a stray was left beside the stores";
    for (const std::string& kind : kinds_) {
      std::string expected = kind == written_kind ? k_writers_bytes : fixture_[kind];
      EXPECT_EQ(now[kind + ".json"], expected) << kind;
    }
    EXPECT_FALSE(path_exists(manifest_path())) << "a complete manifest was written";
  }
};

void expect_names_store_and_says_stop(const Error& e, const std::string& path) {
  EXPECT_EQ(e.code(), ErrorCode::conflict) << e.message();  // exit 1
  EXPECT_NE(e.message().find("store codex_threads (" + path + ")"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("stop the services that write the stores, or point them at other files"),
            std::string::npos)
      << e.message();
}

// ---------------------------------------------------------------------------
// Item 1: a write made while backfill runs is never lost.

// The service rewrites codex_threads in place after backfill read it, before
// any store is replaced (the in-progress manifest's rename is that moment).
TEST_F(FailClosedBackfill, StoreWrittenInPlaceBeforeTheReplaceIsRefusedAndTheRunUndone) {
  std::string codex = store_path("codex_threads");
  HookedFileSystem fs(".json.in-progress", false, [&] { write_in_place(codex, k_writers_bytes); });
  auto result = run(fs);
  ASSERT_TRUE(fs.fired());
  ASSERT_FALSE(result) << "backfill overwrote a store written while it ran";
  expect_names_store_and_says_stop(result.error(), codex);
  EXPECT_NE(result.error().message().find("it was written"), std::string::npos) << result.error().message();
  EXPECT_NE(result.error().message().find("restored the stores already changed: auth"), std::string::npos)
      << result.error().message();
  expect_write_kept_and_rest_undone("codex_threads");
  EXPECT_TRUE(path_exists(manifest_path() + ".failed"));
  EXPECT_FALSE(path_exists(manifest_path() + ".in-progress"));
}

TEST_F(FailClosedBackfill, StoreReplacedByRenameBeforeTheReplaceIsRefusedAndTheRunUndone) {
  std::string codex = store_path("codex_threads");
  HookedFileSystem fs(".json.in-progress", false, [&] { write_by_rename(codex, k_writers_bytes); });
  auto result = run(fs);
  ASSERT_TRUE(fs.fired());
  ASSERT_FALSE(result) << "backfill overwrote a store replaced while it ran";
  expect_names_store_and_says_stop(result.error(), codex);
  EXPECT_NE(result.error().message().find("another file was renamed over it"), std::string::npos)
      << result.error().message();
  expect_write_kept_and_rest_undone("codex_threads");
}

// The write lands at the last instant: after the check, just before the
// rename (in place). Only the held file sees it; the undo puts it back.
TEST_F(FailClosedBackfill, StoreWrittenInPlaceAtTheRenameIsSeenAfterItAndPutBack) {
  std::string codex = store_path("codex_threads");
  HookedFileSystem fs("/codex_threads.json", true, [&] { write_in_place(codex, k_writers_bytes); });
  auto result = run(fs);
  ASSERT_TRUE(fs.fired());
  ASSERT_FALSE(result) << "backfill replaced a store that took a write at the rename";
  expect_names_store_and_says_stop(result.error(), codex);
  EXPECT_NE(result.error().message().find("while backfill replaced it"), std::string::npos) << result.error().message();
  EXPECT_NE(result.error().message().find("with the write made while it was replaced"), std::string::npos)
      << result.error().message();
  expect_write_kept_and_rest_undone("codex_threads");
  // The run's .failed manifest records the attempt; rollback leaves the newer write alone.
  EXPECT_TRUE(path_exists(manifest_path() + ".failed"));
}

// A store the run does not rewrite (already migrated) is checked too: a write
// into it means a writer is running, and the manifest would be stale.
TEST_F(FailClosedBackfill, UnchangedStoreWrittenDuringTheRunRefusesIt) {
  ASSERT_TRUE(run());
  std::map<std::string, std::string> migrated = stores();
  std::string codex = store_path("codex_threads");
  HookedFileSystem fs(".json.in-progress", false, [&] { write_in_place(codex, k_writers_bytes); });
  auto result = run(fs);
  ASSERT_TRUE(fs.fired());
  ASSERT_FALSE(result) << "backfill recorded a store written while it ran as unchanged";
  expect_names_store_and_says_stop(result.error(), codex);
  EXPECT_NE(result.error().message().find("changed while backfill ran"), std::string::npos) << result.error().message();
  migrated["codex_threads.json"] = k_writers_bytes;
  EXPECT_EQ(stores(), migrated);
  EXPECT_FALSE(path_exists(work_dir_ + "/manifests/20231114T221321Z.json"));
}

// A write into a store while backfill reads it refuses the run before anything is written.
TEST_F(FailClosedBackfill, StoreWrittenWhileBeingReadIsRefusedWithNothingWritten) {
  std::string codex = store_path("codex_threads");
  ReadHookFileSystem fs("/codex_threads.json", [&] { write_in_place(codex, k_writers_bytes); });
  auto result = run(fs);
  ASSERT_FALSE(result);
  expect_names_store_and_says_stop(result.error(), codex);
  EXPECT_NE(result.error().message().find("while it was read"), std::string::npos) << result.error().message();
  EXPECT_NE(result.error().message().find("nothing was changed"), std::string::npos) << result.error().message();
  expect_write_kept_and_rest_undone("codex_threads");
  EXPECT_TRUE(list_names(work_dir_ + "/manifests").empty());
}

// ---------------------------------------------------------------------------
// Item 2: an unfinished run blocks a new backfill until it is rolled back.

// A backfill process that dies (as if killed) just before it replaces its second store.
void run_killed_after_first_replace(const BackfillOptions& options, const store::SpecRegistry& specs) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    HookedFileSystem fs("/codex_threads.json", true, [] { ::_exit(42); });
    FixedClock clock;
    (void)run_backfill(options, specs, fs, clock);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 42) << "the backfill was not killed mid-run";
}

TEST_F(FailClosedBackfill, KilledRunBlocksANewBackfillUntilRolledBack) {
  run_killed_after_first_replace(options(), specs_);
  std::string in_progress = manifest_path() + ".in-progress";
  ASSERT_TRUE(path_exists(in_progress));
  auto half_migrated = stores();
  ASSERT_NE(half_migrated["auth.json"], fixture_["auth"]) << "the killed run should have replaced auth";
  auto manifests_before = list_names(work_dir_ + "/manifests");
  auto backups_before = list_names(work_dir_ + "/backups");

  auto refused = run();
  ASSERT_FALSE(refused) << "a new backfill ran over a half-migrated store";
  EXPECT_EQ(refused.error().code(), ErrorCode::conflict) << refused.error().message();
  EXPECT_NE(refused.error().message().find("cutover rollback " + in_progress), std::string::npos)
      << refused.error().message();
  EXPECT_NE(refused.error().message().find("nothing was changed"), std::string::npos) << refused.error().message();
  EXPECT_EQ(stores(), half_migrated);
  EXPECT_EQ(list_names(work_dir_ + "/manifests"), manifests_before);
  EXPECT_EQ(list_names(work_dir_ + "/backups"), backups_before);

  // The command it names works, and then backfill runs from the real before-state.
  rollback::RollbackOptions ro;
  ro.manifest_path = in_progress;
  auto rolled = rollback::run_rollback(ro, base::real_file_system(), clock_);
  ASSERT_TRUE(rolled) << rolled.error().message();
  ASSERT_TRUE(rolled->ok()) << rolled->failure->message();
  auto again = run();
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(*again->manifest.stores[0].before_sha256, hash::sha256_hex(fixture_["auth"]));
}

TEST_F(FailClosedBackfill, FailedRunBlocksANewBackfillUntilRolledBack) {
  std::string codex = store_path("codex_threads");
  HookedFileSystem fs(".json.in-progress", false, [&] { write_by_rename(codex, k_writers_bytes); });
  ASSERT_FALSE(run(fs));
  std::string failed = manifest_path() + ".failed";
  ASSERT_TRUE(path_exists(failed));

  auto refused = run();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::conflict) << refused.error().message();
  EXPECT_NE(refused.error().message().find("cutover rollback " + failed), std::string::npos)
      << refused.error().message();

  // A rollback report of another manifest does not count.
  ASSERT_EQ(::mkdir((work_dir_ + "/reports").c_str(), 0755), 0);
  write_text(work_dir_ + "/reports/" + k_run + "-rollback.json",
             R"({"ok": true, "manifest": {"path": ")" + failed + R"(", "sha256": "00"}})");
  ASSERT_FALSE(run());

  rollback::RollbackOptions ro;
  ro.manifest_path = failed;
  ro.force = true;  // codex_threads holds the service's write: saved, then restored
  auto rolled = rollback::run_rollback(ro, base::real_file_system(), clock_);
  ASSERT_TRUE(rolled) << rolled.error().message();
  ASSERT_TRUE(rolled->ok()) << rolled->failure->message();
  auto again = run();
  ASSERT_TRUE(again) << again.error().message();
}

// The same stores, from another work folder: the marker the killed run left
// beside each store it was replacing names its in-progress manifest.
TEST_F(FailClosedBackfill, KilledRunInAnotherWorkFolderBlocksABackfillOfTheSameStores) {
  run_killed_after_first_replace(options(), specs_);
  std::string in_progress = manifest_path() + ".in-progress";
  auto half_migrated = stores();
  BackfillOptions other = options();
  other.work_dir = tmp_.file("other-work");

  auto refused = run(other);
  ASSERT_FALSE(refused) << "a backfill from another work folder ran over a half-migrated store";
  EXPECT_EQ(refused.error().code(), ErrorCode::conflict) << refused.error().message();
  EXPECT_NE(refused.error().message().find("store auth (" + store_path("auth") + "): a backfill run from work folder " +
                                           work_dir_ + " did not finish"),
            std::string::npos)
      << refused.error().message();
  EXPECT_NE(refused.error().message().find("cutover rollback " + in_progress), std::string::npos)
      << refused.error().message();
  EXPECT_EQ(stores(), half_migrated);
  EXPECT_TRUE(list_names(other.work_dir + "/manifests").empty());

  rollback::RollbackOptions ro;
  ro.manifest_path = in_progress;
  auto rolled = rollback::run_rollback(ro, base::real_file_system(), clock_);
  ASSERT_TRUE(rolled && rolled->ok());
  // The rollback took the markers away with the run.
  EXPECT_EQ(list_names(stores_dir_), (std::vector<std::string>{"auth.json", "codex_threads.json", "domain.json"}));
  auto again = run(other);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(list_names(stores_dir_), (std::vector<std::string>{"auth.json", "codex_threads.json", "domain.json"}));
}

// A marker whose run finished (a crash after the final manifest, say) is stale: removed, not a refusal.
TEST_F(FailClosedBackfill, AMarkerOfAFinishedRunIsRemoved) {
  auto first = run();
  ASSERT_TRUE(first) << first.error().message();
  std::string marker = stores_dir_ + "/.auth.json.cutover-run";
  write_text(marker, first->manifest_path + ".in-progress\n");
  BackfillOptions other = options();
  other.work_dir = tmp_.file("other-work");
  auto again = run(other);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_FALSE(path_exists(marker));
}

// A path with a space is printed so that the command can be pasted.
TEST_F(FailClosedBackfill, TheRollbackCommandQuotesAPathWithASpace) {
  BackfillOptions o = options();
  o.work_dir = tmp_.file("work dir");
  run_killed_after_first_replace(o, specs_);
  auto refused = run(o);
  ASSERT_FALSE(refused);
  EXPECT_NE(
      refused.error().message().find("cutover rollback '" + o.work_dir + "/manifests/" + k_run + ".json.in-progress'"),
      std::string::npos)
      << refused.error().message();
}

// ---------------------------------------------------------------------------
// Item 6: --allow-destructive-reset resets a counter at the largest u64.

constexpr const char* k_domain_at_max = R"({"user_integrations": {"a": {"id": 18446744073709551615}, "b": {"id": 7}}})";

TEST_F(FailClosedBackfill, CounterAtTheLargestU64IsRefusedWithoutTheFlag) {
  write_text(store_path("domain"), k_domain_at_max);
  auto result = run();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::invalid_argument);
  EXPECT_NE(result.error().message().find("is the largest u64; no next id exists"), std::string::npos)
      << result.error().message();
  EXPECT_NE(result.error().message().find("--allow-destructive-reset"), std::string::npos) << result.error().message();
  EXPECT_EQ(read_text(store_path("domain")), k_domain_at_max);
}

TEST_F(FailClosedBackfill, CounterAtTheLargestU64IsResetAsTheReferenceDoesWithTheFlag) {
  write_text(store_path("domain"), k_domain_at_max);
  BackfillOptions o = options();
  o.allow_destructive_reset = true;
  auto result = run(o);
  ASSERT_TRUE(result) << result.error().message();
  auto doc = json::parse(read_text(store_path("domain")));
  ASSERT_TRUE(doc);
  const json::Node* counter = doc->root().find("next_user_integration_id");
  ASSERT_NE(counter, nullptr);
  ASSERT_EQ(counter->kind(), json::Kind::u64);
  EXPECT_EQ(counter->as_u64(), UINT64_MAX);  // the reference's saturating max + 1
  const auto& resets = result->manifest.stores[2].destructive_resets;
  ASSERT_EQ(resets.size(), 1u);
  EXPECT_NE(resets[0].find("next_user_integration_id"), std::string::npos) << resets[0];
  EXPECT_NE(resets[0].find("as the reference tool does"), std::string::npos) << resets[0];

  // Idempotent: the counter is now set, so a second run leaves it.
  auto again = run(o);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_FALSE(again->manifest.stores[2].changed);
  EXPECT_TRUE(again->manifest.stores[2].destructive_resets.empty());
}

TEST(FailClosedMigrate, CounterAtTheLargestU64WithResetsAllowed) {
  auto specs = store::SpecRegistry::with_builtins();  // find() points into it
  auto spec = specs.find("domain");
  ASSERT_TRUE(spec);
  auto doc = json::parse(std::string_view(R"({"shouts": [{"id": "18446744073709551615"}]})"));
  ASSERT_TRUE(doc);
  ASSERT_FALSE(store::migrate(*doc, **spec, store::MigrationOptions{false}));
  auto doc2 = json::parse(std::string_view(R"({"shouts": [{"id": "18446744073709551615"}]})"));
  auto migrated = store::migrate(*doc2, **spec, store::MigrationOptions{true});
  ASSERT_TRUE(migrated) << migrated.error().message();
  const json::Node* counter = doc2->root().find("next_shout_id");
  ASSERT_NE(counter, nullptr);
  EXPECT_EQ(counter->as_u64(), UINT64_MAX);
  ASSERT_EQ(migrated->resets.size(), 1u);
}

// ---------------------------------------------------------------------------
// Item 7: a store whose folder does not exist is created with its folder.

TEST_F(FailClosedBackfill, StoreInAMissingFolderIsCreatedWithItsFolders) {
  BackfillOptions o = options();
  std::string parent = tmp_.file("new");
  std::string folder = parent + "/data";
  o.stores[2].path = folder + "/domain.json";
  auto result = run(o);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->created_folders, (std::vector<std::string>{parent, folder}));
  ASSERT_TRUE(path_exists(o.stores[2].path));
  const auto& record = result->manifest.stores[2];
  EXPECT_FALSE(record.existed);
  EXPECT_FALSE(record.backup_path.has_value());
  EXPECT_FALSE(record.before_sha256.has_value());
  EXPECT_EQ(hash::sha256_hex(read_text(o.stores[2].path)), record.after_sha256);
  EXPECT_TRUE(path_exists(manifest_path()));

  // A second run finds the folder and the store: nothing created, nothing changed.
  auto again = run(o);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_TRUE(again->created_folders.empty());
  EXPECT_FALSE(again->manifest.stores[2].changed);
}

TEST_F(FailClosedBackfill, AFolderPathThroughAFileIsRefused) {
  BackfillOptions o = options();
  o.stores[2].path = store_path("auth") + "/sub/domain.json";
  auto before = stores();
  auto result = run(o);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message().find("is not a folder"), std::string::npos) << result.error().message();
  EXPECT_EQ(stores(), before);
}

}  // namespace
}  // namespace cutover::backfill
