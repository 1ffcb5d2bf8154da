// Backfill (SPEC §3) on real files in a temporary folder, through the real
// file system or wrappers around it that inject faults or record the order of
// operations, with a clock pinned to one second.
#include "cutover/backfill/backfill.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <vector>

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

using testing::file_stamp;
using testing::FileStamp;
using testing::list_names;
using testing::path_exists;
using testing::read_text;
using testing::write_text;

constexpr int64_t k_now_seconds = 1700000000;  // 2023-11-14T22:13:20Z
constexpr const char* k_run = "20231114T221320Z";
constexpr const char* k_next_run = "20231114T221321Z";
const char* const k_kinds[] = {"auth", "codex_threads", "domain"};

// The canonical form of `text` (which must parse).
std::string canonical(const std::string& text) {
  auto doc = json::parse(text);
  if (!doc) {
    ADD_FAILURE() << doc.error().message();
    return "";
  }
  return json::to_canonical_string(doc->root());
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Members are public so that table-driven setup functions can reach them.
class BackfillTest : public testing::FixtureStoresTest {
 public:
  BackfillTest() { clock_.set(k_now_seconds * 1000000000 + 123456789); }

  std::string manifests_dir() const { return work_dir_ + "/manifests"; }
  std::string backups_dir() const { return work_dir_ + "/backups"; }
  std::string manifest_path(const std::string& run) const { return manifests_dir() + "/" + run + ".json"; }

  // Every entry of the stores folder: name -> bytes (a symlink reads as "symlink -> target").
  std::map<std::string, std::string> stores_snapshot() const {
    std::map<std::string, std::string> out;
    for (const std::string& name : list_names(stores_dir_)) {
      std::string path = stores_dir_ + "/" + name;
      struct stat st {};
      ::lstat(path.c_str(), &st);
      if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = ::readlink(path.c_str(), target, sizeof target);
        out[name] = "symlink -> " + std::string(target, n > 0 ? static_cast<size_t>(n) : 0);
      } else {
        out[name] = read_text(path);
      }
    }
    return out;
  }

  // Names in manifests/ that the reference harness's `manifests/*.json` glob would find.
  std::vector<std::string> json_manifests() const {
    std::vector<std::string> out;
    for (const std::string& name : list_names(manifests_dir())) {
      if (ends_with(name, ".json")) out.push_back(name);
    }
    return out;
  }
};

// ---------------------------------------------------------------------------
// A good run.

TEST_F(BackfillTest, MigratesTheReferenceFixturesWithTheSpecCounts) {
  auto result = run();
  ASSERT_TRUE(result) << result.error().message();
  const std::map<std::string, std::map<std::string, uint64_t>> expected_counts = {
      {"auth", {{"users", 1}, {"sessions", 1}, {"personal_access_tokens", 1}}},
      {"codex_threads", {{"threads", 1}, {"messages", 1}}},
      {"domain", {{"autopilots", 0}, {"l402_paywalls", 0}, {"integrations", 1}, {"shouts", 1}, {"whispers", 1}}},
  };

  EXPECT_EQ(result->manifest_path, manifest_path(k_run));
  EXPECT_EQ(result->backup_dir, backups_dir() + "/" + k_run);
  const manifest::Manifest& m = result->manifest;
  EXPECT_EQ(m.schema, manifest::k_schema);
  EXPECT_EQ(m.run_id, k_run);
  EXPECT_EQ(m.status, manifest::k_status_complete);
  EXPECT_EQ(m.generated_at, "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(m.canonical_form, json::k_canonical_version);
  EXPECT_EQ(m.work_dir, work_dir_);
  ASSERT_EQ(m.stores.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const manifest::StoreRecord& s = m.stores[i];
    const std::string kind = k_kinds[i];
    SCOPED_TRACE(kind);
    EXPECT_EQ(s.store, kind);
    EXPECT_EQ(s.path, store_path(kind));
    EXPECT_TRUE(s.existed);
    EXPECT_TRUE(s.changed);
    EXPECT_TRUE(s.destructive_resets.empty());
    EXPECT_EQ(s.spec_source, "built-in");
    EXPECT_EQ(s.counts, expected_counts.at(kind));

    // The backup: the raw bytes read, named <store>-<run>-<first 12 hex of sha256>.bak.json.
    std::string before = hash::sha256_hex(fixture_[kind]);
    ASSERT_TRUE(s.before_sha256.has_value());
    EXPECT_EQ(*s.before_sha256, before);
    ASSERT_TRUE(s.backup_path.has_value());
    EXPECT_EQ(*s.backup_path,
              backups_dir() + "/" + k_run + "/" + kind + "-" + k_run + "-" + before.substr(0, 12) + ".bak.json");
    EXPECT_EQ(read_text(*s.backup_path), fixture_[kind]);
    auto backup_sha = hash::sha256_file_hex(base::real_file_system(), *s.backup_path);
    ASSERT_TRUE(backup_sha);
    EXPECT_EQ(*backup_sha, *s.before_sha256);

    // The store now holds its canonical migrated form, hashing to after_sha256.
    std::string now = read_text(store_path(kind));
    EXPECT_EQ(hash::sha256_hex(now), s.after_sha256);
    EXPECT_EQ(canonical(now), now);
    EXPECT_NE(now, fixture_[kind]);
  }

  // The manifest on disk is the one returned, and parses.
  std::string on_disk = read_text(manifest_path(k_run));
  EXPECT_EQ(on_disk, manifest::to_json(m));
  auto parsed = manifest::parse_manifest(on_disk, manifest_path(k_run));
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->status, manifest::k_status_complete);

  // Nothing else is left behind: no in-progress manifest, no temporary files.
  EXPECT_EQ(list_names(manifests_dir()), (std::vector<std::string>{std::string(k_run) + ".json"}));
  EXPECT_EQ(list_names(backups_dir()), (std::vector<std::string>{k_run}));
  EXPECT_EQ(list_names(backups_dir() + "/" + k_run).size(), 3u);
  EXPECT_EQ(list_names(stores_dir_), (std::vector<std::string>{"auth.json", "codex_threads.json", "domain.json"}));
}

TEST_F(BackfillTest, DomainStoreGetsItsCounters) {
  ASSERT_TRUE(run());
  auto doc = json::parse(read_text(store_path("domain")));
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->root().find("next_user_integration_id")->as_u64(), 2u);
  EXPECT_EQ(doc->root().find("next_whisper_id")->as_u64(), 7u);
  EXPECT_TRUE(doc->root().find("autopilots")->is_object());
  EXPECT_TRUE(doc->root().find("shouts")->is_array());
}

TEST_F(BackfillTest, SecondRunIsIdempotentAndDoesNotRewriteStores) {
  auto first = run();
  ASSERT_TRUE(first) << first.error().message();
  std::map<std::string, FileStamp> stamps;
  std::map<std::string, std::string> bytes;
  for (const char* kind : k_kinds) {
    stamps[kind] = file_stamp(store_path(kind));
    bytes[kind] = read_text(store_path(kind));
  }

  auto second = run();
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->manifest.run_id, k_next_run);
  ASSERT_EQ(second->manifest.stores.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const std::string kind = k_kinds[i];
    SCOPED_TRACE(kind);
    const manifest::StoreRecord& s = second->manifest.stores[i];
    EXPECT_FALSE(s.changed);
    EXPECT_EQ(s.after_sha256, first->manifest.stores[i].after_sha256);
    EXPECT_EQ(s.before_sha256, first->manifest.stores[i].after_sha256);
    EXPECT_EQ(s.counts, first->manifest.stores[i].counts);
    // Not rewritten: same inode, same modification time, same bytes.
    EXPECT_EQ(file_stamp(store_path(kind)), stamps[kind]);
    EXPECT_EQ(read_text(store_path(kind)), bytes[kind]);
    // The backup is still taken.
    ASSERT_TRUE(s.backup_path.has_value());
    EXPECT_EQ(read_text(*s.backup_path), bytes[kind]);
  }
  EXPECT_TRUE(path_exists(manifest_path(k_next_run)));
}

TEST_F(BackfillTest, RunsInTheSameSecondGetDistinctIdsAndTheNewestSortsLast) {
  std::vector<std::string> runs;
  for (int i = 0; i < 3; ++i) {
    auto result = run();
    ASSERT_TRUE(result) << result.error().message();
    runs.push_back(result->manifest.run_id);
  }
  // A clock that went back an hour still makes a newer name.
  clock_.set((k_now_seconds - 3600) * 1000000000);
  auto late = run();
  ASSERT_TRUE(late) << late.error().message();
  runs.push_back(late->manifest.run_id);

  EXPECT_EQ(runs,
            (std::vector<std::string>{"20231114T221320Z", "20231114T221321Z", "20231114T221322Z", "20231114T221323Z"}));
  // `ls -1 manifests/*.json | sort | tail -n 1` finds the newest.
  std::vector<std::string> names = json_manifests();
  std::sort(names.begin(), names.end());
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ(manifests_dir() + "/" + names.back(), late->manifest_path);
  EXPECT_EQ(list_names(backups_dir()).size(), 4u);
}

TEST(NextRunId, StaysAfterEveryExistingRun) {
  EXPECT_EQ(next_run_id(k_now_seconds, {}), k_run);
  EXPECT_EQ(next_run_id(k_now_seconds, {"20200101T000000Z.json", "20200101T000000Z"}), k_run);
  EXPECT_EQ(next_run_id(k_now_seconds, {std::string(k_run) + ".json"}), k_next_run);
  EXPECT_EQ(next_run_id(k_now_seconds, {k_run}), k_next_run);  // a backups/ folder alone counts
  EXPECT_EQ(next_run_id(k_now_seconds, {"20231114T221325Z.json.in-progress", "garbage", "2023111XT221399Z.json",
                                        "20231114T221320Z.json.failed"}),
            "20231114T221326Z");
  EXPECT_EQ(next_run_id(k_now_seconds, {"20231114T235959Z.json"}), "20231115T000000Z");
}

TEST_F(BackfillTest, MissingStoreIsCreated) {
  ASSERT_EQ(::unlink(store_path("domain").c_str()), 0);
  auto result = run();
  ASSERT_TRUE(result) << result.error().message();
  const manifest::StoreRecord& s = result->manifest.stores[2];
  ASSERT_EQ(s.store, "domain");
  EXPECT_FALSE(s.existed);
  EXPECT_TRUE(s.changed);
  EXPECT_FALSE(s.backup_path.has_value());
  EXPECT_FALSE(s.before_sha256.has_value());
  EXPECT_EQ(s.counts,
            (std::map<std::string, uint64_t>{
                {"autopilots", 0}, {"l402_paywalls", 0}, {"integrations", 0}, {"shouts", 0}, {"whispers", 0}}));

  // The new store is the canonical migration of {}.
  json::Document empty;
  empty.set_root(json::Node::object_ref(nullptr, 0));
  auto spec = specs_.find("domain");
  ASSERT_TRUE(spec);
  ASSERT_TRUE(store::migrate(empty, **spec, store::MigrationOptions{}));
  std::string now = read_text(store_path("domain"));
  EXPECT_EQ(now, json::to_canonical_string(empty.root()));
  EXPECT_EQ(hash::sha256_hex(now), s.after_sha256);

  std::string manifest_text = read_text(result->manifest_path);
  auto parsed = manifest::parse_manifest(manifest_text, result->manifest_path);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_FALSE(parsed->stores[2].backup_path.has_value());
  EXPECT_NE(manifest_text.find("\"backup_path\": null"), std::string::npos);
  EXPECT_EQ(list_names(result->backup_dir).size(), 2u);  // only the stores that existed
}

TEST_F(BackfillTest, KeepsTheStoresPermissions) {
  ASSERT_EQ(::chmod(store_path("auth").c_str(), 0600), 0);
  ASSERT_TRUE(run());
  struct stat st {};
  ASSERT_EQ(::stat(store_path("auth").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(BackfillTest, DestructiveResetIsOptInAndRecorded) {
  std::string broken = R"({"sessions": ["not", "an", "object"], "users_by_id": {"u": {}}})";
  write_text(store_path("auth"), broken);
  BackfillOptions o = options();
  o.allow_destructive_reset = true;
  auto result = run(o);
  ASSERT_TRUE(result) << result.error().message();
  const manifest::StoreRecord& s = result->manifest.stores[0];
  EXPECT_EQ(s.destructive_resets,
            (std::vector<std::string>{"key 'sessions' holds an array, expected an object; replaced by {}"}));
  EXPECT_EQ(read_text(*s.backup_path), broken);
  auto doc = json::parse(read_text(store_path("auth")));
  ASSERT_TRUE(doc);
  EXPECT_TRUE(doc->root().find("sessions")->is_object());
  EXPECT_EQ(s.counts.at("users"), 1u);
  EXPECT_NE(read_text(result->manifest_path).find("\"destructive_resets\""), std::string::npos);
}

TEST_F(BackfillTest, DestructiveResetAlsoReplacesInvalidJsonAfterTheBackup) {
  write_text(store_path("codex_threads"), "{\"threads\": {,}}");
  BackfillOptions o = options();
  o.allow_destructive_reset = true;
  auto result = run(o);
  ASSERT_TRUE(result) << result.error().message();
  const manifest::StoreRecord& s = result->manifest.stores[1];
  ASSERT_EQ(s.store, "codex_threads");
  ASSERT_EQ(s.destructive_resets.size(), 1u);
  EXPECT_EQ(s.destructive_resets[0].rfind("not valid JSON (", 0), 0u) << s.destructive_resets[0];
  EXPECT_NE(s.destructive_resets[0].find("replaced by {}"), std::string::npos) << s.destructive_resets[0];
  EXPECT_EQ(read_text(*s.backup_path), "{\"threads\": {,}}");
  EXPECT_EQ(read_text(store_path("codex_threads")), "{\n  \"messages_by_thread\": {},\n  \"threads\": {}\n}");
  EXPECT_EQ(s.counts, (std::map<std::string, uint64_t>{{"messages", 0}, {"threads", 0}}));
}

// ---------------------------------------------------------------------------
// Refusals: nothing is changed and no manifest is written.

struct RefusalCase {
  const char* name;
  // Breaks something before the run; may edit the options.
  std::function<void(BackfillTest&, BackfillOptions&)> setup;
  ErrorCode code;
  std::vector<std::string> message_parts;
};
// Names the case in test names and failure messages.
void PrintTo(const RefusalCase& c, std::ostream* os) { *os << c.name; }

class RefusalTest : public BackfillTest, public ::testing::WithParamInterface<RefusalCase> {};

TEST_P(RefusalTest, LeavesEveryStoreUntouchedAndWritesNoManifest) {
  BackfillOptions o = options();
  GetParam().setup(*this, o);
  if (HasFatalFailure()) return;
  std::map<std::string, std::string> before = stores_snapshot();
  std::map<std::string, FileStamp> stamps;
  for (const auto& [name, bytes] : before) stamps[name] = file_stamp(stores_dir_ + "/" + name);

  auto result = run(o);
  ASSERT_FALSE(result) << "the run should have been refused";
  EXPECT_EQ(result.error().code(), GetParam().code) << result.error().message();
  for (const std::string& part : GetParam().message_parts) {
    EXPECT_NE(result.error().message().find(part), std::string::npos)
        << "missing '" << part << "' in: " << result.error().message();
  }
  EXPECT_EQ(stores_snapshot(), before);
  for (const auto& [name, stamp] : stamps) EXPECT_EQ(file_stamp(stores_dir_ + "/" + name), stamp) << name;
  EXPECT_TRUE(list_names(manifests_dir()).empty());
  EXPECT_TRUE(list_names(backups_dir()).empty());
}

INSTANTIATE_TEST_SUITE_P(
    Table, RefusalTest,
    ::testing::Values(
        RefusalCase{"invalid_json_in_one_of_three",
                    [](BackfillTest& fixture, BackfillOptions&) {
                      write_text(fixture.store_path("codex_threads"), "{\"threads\": {,}}");
                    },
                    ErrorCode::invalid_argument,
                    {"store codex_threads (", "not valid JSON: invalid JSON at line 1, column 14",
                     "key must be a string", "nothing was changed"}},
        RefusalCase{"empty_file",
                    [](BackfillTest& fixture, BackfillOptions&) { write_text(fixture.store_path("auth"), ""); },
                    ErrorCode::invalid_argument,
                    {"store auth (", "not valid JSON", "nothing was changed"}},
        RefusalCase{"wrong_typed_key",
                    [](BackfillTest& fixture, BackfillOptions&) {
                      write_text(fixture.store_path("auth"), R"({"sessions": [], "users_by_email": "x"})");
                    },
                    ErrorCode::invalid_argument,
                    {"store auth (", "key 'sessions' holds an array, expected an object",
                     "key 'users_by_email' holds a string, expected an object", "--allow-destructive-reset",
                     "nothing was changed"}},
        RefusalCase{"non_object_root",
                    [](BackfillTest& fixture, BackfillOptions&) { write_text(fixture.store_path("domain"), "[1, 2]"); },
                    ErrorCode::invalid_argument,
                    {"store domain (", "the document root is an array, not an object"}},
        RefusalCase{
            "two_bad_stores_both_named",
            [](BackfillTest& fixture, BackfillOptions&) {
              write_text(fixture.store_path("auth"), "{");
              write_text(fixture.store_path("domain"), R"({"shouts": {}})");
            },
            ErrorCode::invalid_argument,
            {"store auth (", "not valid JSON", "store domain (", "key 'shouts' holds an object, expected an array"}},
        RefusalCase{"symlinked_store_path",
                    [](BackfillTest& fixture, BackfillOptions&) {
                      std::string real = fixture.store_path("real_domain");
                      ASSERT_EQ(::rename(fixture.store_path("domain").c_str(), real.c_str()), 0);
                      ASSERT_EQ(::symlink(real.c_str(), fixture.store_path("domain").c_str()), 0);
                    },
                    ErrorCode::invalid_argument,
                    {"store domain (", "symbolic link", "Pass the real path"}},
        // A missing folder is created (failclosed_backfill_test.cc); one under a file cannot be.
        RefusalCase{"folder_under_a_file",
                    [](BackfillTest& fixture, BackfillOptions& o) {
                      o.stores[2].path = fixture.store_path("auth") + "/no-such-folder/domain.json";
                    },
                    ErrorCode::invalid_argument,
                    {"store domain (", "cannot create folder", "auth.json is not a folder", "nothing was changed"}},
        RefusalCase{"store_is_a_folder",
                    [](BackfillTest& fixture, BackfillOptions&) {
                      ASSERT_EQ(::unlink(fixture.store_path("domain").c_str()), 0);
                      ASSERT_EQ(::mkdir(fixture.store_path("domain").c_str(), 0755), 0);
                    },
                    ErrorCode::invalid_argument,
                    {"store domain (", "not a regular file"}},
        RefusalCase{"unknown_store_kind",
                    [](BackfillTest&, BackfillOptions& o) { o.stores[1].kind = "codex_thread"; },
                    ErrorCode::not_found,
                    {"unknown store kind 'codex_thread'", "did you mean 'codex_threads'?"}},
        RefusalCase{
            "same_path_twice",
            [](BackfillTest& fixture, BackfillOptions& o) { o.stores[1].path = fixture.stores_dir_ + "/./auth.json"; },
            ErrorCode::invalid_argument,
            {"auth.json is given twice"}},
        RefusalCase{"no_stores",
                    [](BackfillTest&, BackfillOptions& o) { o.stores.clear(); },
                    ErrorCode::invalid_argument,
                    {"no store to migrate"}}));

// ---------------------------------------------------------------------------
// Locks.

TEST_F(BackfillTest, RefusesWhileTheWorkFolderIsLocked) {
  ASSERT_EQ(::mkdir(work_dir_.c_str(), 0755), 0);
  auto before = stores_snapshot();
  {
    auto lock = base::real_file_system().try_lock(work_dir_ + "/.cutover.lock");
    ASSERT_TRUE(lock) << lock.error().message();
    auto result = run();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), ErrorCode::conflict) << result.error().message();
    EXPECT_NE(result.error().message().find(".cutover.lock"), std::string::npos) << result.error().message();
    EXPECT_EQ(stores_snapshot(), before);
    EXPECT_TRUE(json_manifests().empty());
  }
  // Released: the run goes ahead.
  auto result = run();
  EXPECT_TRUE(result) << result.error().message();
}

TEST_F(BackfillTest, RefusesWhileAStoreFolderIsLocked) {
  auto before = stores_snapshot();
  auto lock = base::real_file_system().try_lock(stores_dir_);
  ASSERT_TRUE(lock) << lock.error().message();
  auto result = run();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::conflict) << result.error().message();
  EXPECT_EQ(stores_snapshot(), before);
  EXPECT_TRUE(json_manifests().empty());
}

// ---------------------------------------------------------------------------
// Fault injection.

// Fails chosen operations of the real file system. Counters are atomic: the
// backups are written on a second thread.
class FaultyFileSystem final : public testing::ForwardingFileSystem {
 public:
  FaultyFileSystem() : ForwardingFileSystem(base::real_file_system()) {}

  // Renames whose destination passes `rename_filter` are counted from 1;
  // those whose number is in `fail_renames` fail.
  std::function<bool(const std::string& to)> rename_filter = [](const std::string&) { return true; };
  std::set<int> fail_renames;
  std::atomic<int> renames{0};

  // Files created (either way) whose path contains `write_filter` are counted
  // from 1; appends to file number `fail_writes_of` fail.
  std::string write_filter = "\x01never";
  int fail_writes_of = 0;
  std::atomic<int> files{0};

  Status rename(const std::string& from, const std::string& to) override {
    if (rename_filter(to) && fail_renames.count(++renames) > 0) {
      return make_error(ErrorCode::io_error, "injected fault: cannot rename " + from + " to " + to);
    }
    return target_.rename(from, to);
  }
  Result<std::unique_ptr<base::WritableFile>> create_file(const std::string& path, uint32_t mode) override {
    return wrap(path, target_.create_file(path, mode));
  }
  Result<std::unique_ptr<base::WritableFile>> create_bulk_file(const std::string& path, uint32_t mode) override {
    return wrap(path, target_.create_bulk_file(path, mode));
  }
  Result<std::unique_ptr<base::WritableFile>> create_new_file(const std::string& path, uint32_t mode) override {
    return wrap(path, target_.create_new_file(path, mode));
  }

 private:
  class FailingFile final : public testing::ForwardingWritableFile {
   public:
    using ForwardingWritableFile::ForwardingWritableFile;
    Status append(std::string_view) override { return make_error(ErrorCode::io_error, "injected fault: disk full"); }
  };

  Result<std::unique_ptr<base::WritableFile>> wrap(const std::string& path,
                                                   Result<std::unique_ptr<base::WritableFile>> file) {
    if (!file || path.find(write_filter) == std::string::npos) return file;
    if (++files != fail_writes_of) return file;
    return std::unique_ptr<base::WritableFile>(new FailingFile(std::move(*file)));
  }
};

struct RenameFault {
  const char* name;
  int failing_store;     // 1-based, in the order of the options
  std::string restored;  // what the message must say about restoring
};
// Names the case in test names and failure messages.
void PrintTo(const RenameFault& c, std::ostream* os) { *os << c.name; }

class StoreRenameFault : public BackfillTest, public ::testing::WithParamInterface<RenameFault> {};

TEST_P(StoreRenameFault, RestoresTheStoresAlreadyReplaced) {
  auto before = stores_snapshot();
  FaultyFileSystem fs;
  std::set<std::string> store_paths;
  for (const char* kind : k_kinds) store_paths.insert(store_path(kind));
  fs.rename_filter = [store_paths](const std::string& to) { return store_paths.count(to) > 0; };
  fs.fail_renames = {GetParam().failing_store};

  auto result = run(fs);
  ASSERT_FALSE(result) << "the injected fault should fail the run";
  const std::string& message = result.error().message();
  EXPECT_EQ(result.error().code(), ErrorCode::io_error) << message;
  std::string failing_kind = k_kinds[GetParam().failing_store - 1];
  EXPECT_NE(message.find("store " + failing_kind + " (" + store_path(failing_kind) + "): cannot replace the store"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("injected fault"), std::string::npos) << message;
  EXPECT_NE(message.find(GetParam().restored), std::string::npos) << message;
  EXPECT_EQ(message.find("COULD NOT"), std::string::npos) << message;

  // Every store byte-identical to before, no temporary file beside them.
  EXPECT_EQ(stores_snapshot(), before);
  // No final manifest, nor an in-progress one (everything was restored).
  EXPECT_TRUE(json_manifests().empty()) << "found a manifest the harness would pick up";
  EXPECT_FALSE(path_exists(manifest_path(k_run)));
  EXPECT_FALSE(path_exists(manifest_path(k_run) + ".in-progress"));
  // The backups stay: they are the record of what was there.
  EXPECT_EQ(list_names(backups_dir() + "/" + k_run).size(), 3u);

  // A later run works normally once the failed one is rolled back (issue 12: an
  // unfinished run blocks a new backfill until then).
  rollback::RollbackOptions ro;
  ro.manifest_path = manifest_path(k_run) + ".failed";
  auto rolled = rollback::run_rollback(ro, base::real_file_system(), clock_);
  ASSERT_TRUE(rolled && rolled->ok());
  auto again = run();
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->manifest.run_id, k_next_run);
}

INSTANTIATE_TEST_SUITE_P(Table, StoreRenameFault,
                         ::testing::Values(RenameFault{"first_store", 1, "no store had been changed"},
                                           RenameFault{"second_store", 2, "restored the stores already changed: auth"},
                                           RenameFault{"third_store", 3,
                                                       "restored the stores already changed: auth, codex_threads"}));

// BUG (backfill.cc, restore_replaced): a store put back after a failed rename
// is rewritten with base::write_file_atomic, which creates the file with mode
// 0644 (and the running user as owner), so an auth store kept at 0600 becomes
// world-readable after a failed run. Enable when fixed.
TEST_F(BackfillTest, RestoredStoreKeepsItsPermissions) {
  ASSERT_EQ(::chmod(store_path("auth").c_str(), 0600), 0);
  FaultyFileSystem fs;
  std::set<std::string> store_paths;
  for (const char* kind : k_kinds) store_paths.insert(store_path(kind));
  fs.rename_filter = [store_paths](const std::string& to) { return store_paths.count(to) > 0; };
  fs.fail_renames = {2};
  auto result = run(fs);
  ASSERT_FALSE(result);
  ASSERT_NE(result.error().message().find("restored the stores already changed: auth"), std::string::npos)
      << result.error().message();
  EXPECT_EQ(read_text(store_path("auth")), fixture_["auth"]);
  struct stat st {};
  ASSERT_EQ(::stat(store_path("auth").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "the restored auth store (sessions, tokens) changed permissions";
}

TEST_F(BackfillTest, WhenTheRestoreFailsTooTheInProgressManifestStaysForRollback) {
  FaultyFileSystem fs;
  std::set<std::string> store_paths;
  for (const char* kind : k_kinds) store_paths.insert(store_path(kind));
  fs.rename_filter = [store_paths](const std::string& to) { return store_paths.count(to) > 0; };
  fs.fail_renames = {2, 3};  // codex_threads' rename, then the restore of auth

  auto result = run(fs);
  ASSERT_FALSE(result);
  const std::string& message = result.error().message();
  EXPECT_NE(message.find("COULD NOT RESTORE auth"), std::string::npos) << message;
  EXPECT_NE(message.find("cutover rollback"), std::string::npos) << message;

  // auth is fully migrated (not a mix), the others are as they were.
  std::string in_progress = manifest_path(k_run) + ".in-progress";
  ASSERT_TRUE(path_exists(in_progress));
  auto m = manifest::parse_manifest(read_text(in_progress), in_progress);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->status, manifest::k_status_in_progress);
  ASSERT_EQ(m->stores.size(), 3u);
  EXPECT_EQ(hash::sha256_hex(read_text(store_path("auth"))), m->stores[0].after_sha256);
  EXPECT_EQ(read_text(store_path("codex_threads")), fixture_["codex_threads"]);
  EXPECT_EQ(read_text(store_path("domain")), fixture_["domain"]);
  // The in-progress manifest names a backup holding auth's old bytes.
  ASSERT_TRUE(m->stores[0].backup_path.has_value());
  EXPECT_EQ(read_text(*m->stores[0].backup_path), fixture_["auth"]);
  EXPECT_TRUE(json_manifests().empty());
  // Beside the stores, only the markers of the unfinished run (issue 12: they stay until it is rolled back).
  EXPECT_EQ(list_names(stores_dir_),
            (std::vector<std::string>{".auth.json.cutover-run", ".codex_threads.json.cutover-run",
                                      ".domain.json.cutover-run", "auth.json", "codex_threads.json", "domain.json"}));
}

TEST_F(BackfillTest, FailedFinalManifestLeavesTheInProgressOne) {
  FaultyFileSystem fs;
  std::string final_path = manifest_path(k_run);
  fs.rename_filter = [final_path](const std::string& to) { return to == final_path; };
  fs.fail_renames = {1};
  auto result = run(fs);
  ASSERT_FALSE(result);
  // The stores are migrated; the in-progress manifest records how to undo it.
  std::string in_progress = final_path + ".in-progress";
  ASSERT_TRUE(path_exists(in_progress));
  auto m = manifest::parse_manifest(read_text(in_progress), in_progress);
  ASSERT_TRUE(m) << m.error().message();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(hash::sha256_hex(read_text(store_path(k_kinds[i]))), m->stores[i].after_sha256) << k_kinds[i];
    EXPECT_EQ(read_text(*m->stores[i].backup_path), fixture_[k_kinds[i]]) << k_kinds[i];
  }
  EXPECT_FALSE(path_exists(final_path));
}

TEST_F(BackfillTest, FailedBackupWriteLeavesStoresUntouched) {
  auto before = stores_snapshot();
  FaultyFileSystem fs;
  fs.write_filter = "/backups/";
  fs.fail_writes_of = 2;
  auto result = run(fs);
  ASSERT_FALSE(result);
  const std::string& message = result.error().message();
  EXPECT_EQ(result.error().code(), ErrorCode::io_error) << message;
  EXPECT_NE(message.find("backup of store codex_threads"), std::string::npos) << message;
  EXPECT_NE(message.find("injected fault: disk full"), std::string::npos) << message;
  EXPECT_NE(message.find("no store was changed"), std::string::npos) << message;
  // Same names and bytes: no temporary file is left beside the stores.
  EXPECT_EQ(stores_snapshot(), before);
  EXPECT_TRUE(list_names(manifests_dir()).empty());
}

TEST_F(BackfillTest, FailedTemporaryWriteLeavesStoresUntouched) {
  auto before = stores_snapshot();
  FaultyFileSystem fs;
  fs.write_filter = ".cutover-";
  fs.fail_writes_of = 3;  // the domain store's new bytes
  auto result = run(fs);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message().find("store domain ("), std::string::npos) << result.error().message();
  EXPECT_NE(result.error().message().find("no store was changed"), std::string::npos) << result.error().message();
  EXPECT_EQ(stores_snapshot(), before);
  EXPECT_TRUE(list_names(manifests_dir()).empty());
}

TEST_F(BackfillTest, FailedInProgressManifestLeavesStoresUntouched) {
  auto before = stores_snapshot();
  FaultyFileSystem fs;
  std::string in_progress = manifest_path(k_run) + ".in-progress";
  fs.rename_filter = [in_progress](const std::string& to) { return to == in_progress; };
  fs.fail_renames = {1};
  auto result = run(fs);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message().find("no store was changed"), std::string::npos) << result.error().message();
  EXPECT_EQ(stores_snapshot(), before);
  EXPECT_TRUE(list_names(manifests_dir()).empty());
}

// ---------------------------------------------------------------------------
// The order of operations (the crash-safety protocol in backfill.h).

class RecordingFileSystem final : public testing::ForwardingFileSystem {
 public:
  RecordingFileSystem() : ForwardingFileSystem(base::real_file_system()) {}

  std::vector<std::string> events() {
    std::lock_guard<std::mutex> guard(mutex_);
    return events_;
  }
  void record(std::string event) {
    std::lock_guard<std::mutex> guard(mutex_);
    events_.push_back(std::move(event));
  }

  Result<std::unique_ptr<base::WritableFile>> create_file(const std::string& path, uint32_t mode) override {
    record("create " + path);
    return wrap(path, target_.create_file(path, mode));
  }
  Result<std::unique_ptr<base::WritableFile>> create_bulk_file(const std::string& path, uint32_t mode) override {
    record("create " + path);
    return wrap(path, target_.create_bulk_file(path, mode));
  }
  Result<std::unique_ptr<base::WritableFile>> create_new_file(const std::string& path, uint32_t mode) override {
    record("create " + path);
    return wrap(path, target_.create_new_file(path, mode));
  }
  Status rename(const std::string& from, const std::string& to) override {
    Status st = target_.rename(from, to);
    if (st) record("rename " + to);
    return st;
  }
  Status sync_directory(const std::string& path) override {
    Status st = target_.sync_directory(path);
    if (st) record("sync_dir " + path);
    return st;
  }
  Status remove(const std::string& path) override {
    Status st = target_.remove(path);
    if (st) record("remove " + path);
    return st;
  }

 private:
  class RecordingFile final : public testing::ForwardingWritableFile {
   public:
    RecordingFile(std::unique_ptr<base::WritableFile> target, RecordingFileSystem& fs, std::string path)
        : ForwardingWritableFile(std::move(target)), fs_(fs), path_(std::move(path)) {}
    Status sync() override {
      Status st = target_->sync();
      if (st) fs_.record("sync " + path_);
      return st;
    }

   private:
    RecordingFileSystem& fs_;
    std::string path_;
  };

  Result<std::unique_ptr<base::WritableFile>> wrap(const std::string& path,
                                                   Result<std::unique_ptr<base::WritableFile>> file) {
    if (!file) return file;
    return std::unique_ptr<base::WritableFile>(new RecordingFile(std::move(*file), *this, path));
  }

  std::mutex mutex_;
  std::vector<std::string> events_;
};

// Index of the first event equal to `event` (or starting with it, if `prefix`); -1 if none.
long index_of(const std::vector<std::string>& events, const std::string& event, bool prefix = false) {
  for (size_t i = 0; i < events.size(); ++i) {
    if (prefix ? events[i].rfind(event, 0) == 0 : events[i] == event) return static_cast<long>(i);
  }
  return -1;
}

TEST_F(BackfillTest, WritesInTheCrashSafeOrder) {
  ASSERT_EQ(::unlink(store_path("domain").c_str()), 0);  // one store created, two replaced
  RecordingFileSystem fs;
  auto result = run(fs);
  ASSERT_TRUE(result) << result.error().message();
  std::vector<std::string> events = fs.events();
  std::string all;
  for (const auto& e : events) all += e + "\n";
  SCOPED_TRACE(all);

  std::string in_progress = result->manifest_path + ".in-progress";
  long in_progress_started = index_of(events, "create " + in_progress, true);
  long in_progress_written = index_of(events, "rename " + in_progress);
  long final_written = index_of(events, "rename " + result->manifest_path);
  ASSERT_GE(in_progress_started, 0);
  ASSERT_GT(in_progress_written, in_progress_started);
  ASSERT_GE(final_written, 0);

  // Every backup is synced (and its folder too) before the in-progress manifest is begun.
  int backups = 0;
  for (const auto& s : result->manifest.stores) {
    if (!s.backup_path) continue;
    ++backups;
    long created = index_of(events, "create " + *s.backup_path);
    long synced = index_of(events, "sync " + *s.backup_path);
    ASSERT_GE(created, 0) << *s.backup_path;
    ASSERT_GT(synced, created) << *s.backup_path;
    EXPECT_LT(synced, in_progress_started) << *s.backup_path;
  }
  EXPECT_EQ(backups, 2);
  long backup_dir_synced = index_of(events, "sync_dir " + result->backup_dir);
  ASSERT_GE(backup_dir_synced, 0);
  EXPECT_LT(backup_dir_synced, in_progress_started);

  // Every store: its new bytes synced before the rename; renames between the two manifests.
  long first_store_rename = -1;
  long last_store_rename = -1;
  for (const char* kind : k_kinds) {
    long renamed = index_of(events, "rename " + store_path(kind));
    ASSERT_GE(renamed, 0) << kind;
    std::string temp = stores_dir_ + "/." + kind + ".json.cutover-" + k_run + ".tmp";
    long synced = index_of(events, "sync " + temp);
    ASSERT_GE(synced, 0) << temp;
    EXPECT_LT(synced, renamed) << kind;
    // The folder is synced after the rename, before the final manifest.
    bool folder_synced = false;
    for (long i = renamed + 1; i < final_written; ++i) folder_synced |= events[i] == "sync_dir " + stores_dir_;
    EXPECT_TRUE(folder_synced) << kind;
    first_store_rename = first_store_rename < 0 ? renamed : std::min(first_store_rename, renamed);
    last_store_rename = std::max(last_store_rename, renamed);
  }
  EXPECT_LT(in_progress_written, first_store_rename);
  EXPECT_GT(final_written, last_store_rename);
  // The in-progress manifest goes only after the final one is in place.
  long in_progress_removed = index_of(events, "remove " + in_progress);
  EXPECT_GT(in_progress_removed, final_written);
}

}  // namespace
}  // namespace cutover::backfill
