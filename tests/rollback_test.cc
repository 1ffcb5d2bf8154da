// Rollback (SPEC §5) on real files: a real backfill of the reference
// fixtures, then rollbacks through the real file system or a wrapper that
// breaks one call.
#include "cutover/rollback/rollback.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "cutover/backfill/backfill.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"
#include "cutover/manifest/manifest.h"
#include "cutover/store/fixtures.h"
#include "test_util.h"

namespace cutover::rollback {
namespace {

using testing::list_names;
using testing::path_exists;
using testing::read_text;
using testing::write_text;

constexpr const char* k_run = "20231114T221320Z";

class RollbackTest : public testing::FixtureStoresTest {
 protected:
  std::string store(const std::string& kind) const { return store_path(kind); }
  std::string manifest_path() const { return work_dir_ + "/manifests/" + k_run + ".json"; }
  std::string report_path(const std::string& suffix = "") const {
    return work_dir_ + "/reports/" + k_run + "-rollback" + suffix + ".json";
  }

  // Backfills the three fixtures (and `extra` targets); keeps the manifest.
  void backfill(std::vector<backfill::StoreTarget> extra = {}) {
    backfill::BackfillOptions o = options();
    for (auto& t : extra) o.stores.push_back(t);
    auto result = run(o);
    ASSERT_TRUE(result) << result.error().message();
    manifest_ = result->manifest;
    ASSERT_EQ(result->manifest_path, manifest_path());
    for (const auto& [kind, bytes] : fixture_) ASSERT_NE(read_text(store(kind)), bytes);
  }

  const manifest::StoreRecord& record(const std::string& kind) const {
    for (const auto& s : manifest_.stores) {
      if (s.store == kind && s.path == store(kind)) return s;
    }
    throw std::runtime_error("no store " + kind);
  }

  Result<RollbackReport> rollback(bool force = false, const std::string& manifest = "",
                                  base::FileSystem& fs = base::real_file_system()) {
    return run_rollback({manifest.empty() ? manifest_path() : manifest, force}, fs, clock_);
  }

  // Every file under the stores folder: name -> bytes.
  std::map<std::string, std::string> snapshot() const {
    std::map<std::string, std::string> out;
    for (const auto& name : list_names(stores_dir_)) out[name] = read_text(stores_dir_ + "/" + name);
    return out;
  }

  void expect_fixtures_restored() const {
    for (const auto& [kind, bytes] : fixture_) {
      EXPECT_EQ(read_text(store(kind)), bytes) << kind;
      EXPECT_EQ(hash::sha256_hex(read_text(store(kind))), hash::sha256_hex(bytes)) << kind;
    }
  }

  // Bytes the new service might have written since the migration.
  static std::string canonical_drift() {
    return "{\n  \"messages_by_thread\": {},\n  \"threads\": {\n    \"thread-2\": {}\n  }\n}";
  }

  static std::vector<std::string> actions(const RollbackReport& r) {
    std::vector<std::string> out;
    for (const auto& s : r.stores) out.push_back(s.store + ":" + std::string(store_action_name(s.action)));
    return out;
  }

  manifest::Manifest manifest_;
};

TEST_F(RollbackTest, RestoresTheReferenceFixturesToTheirPreMigrationBytes) {
  backfill();
  auto r = rollback();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok()) << r->failure->message();
  expect_fixtures_restored();
  EXPECT_EQ(actions(*r), (std::vector<std::string>{"auth:restored", "codex_threads:restored", "domain:restored"}));
  for (const auto& s : r->stores) {
    EXPECT_TRUE(s.verified);
    EXPECT_EQ(s.final_sha256, s.before_sha256);
    EXPECT_EQ(s.found_sha256, s.after_sha256);
  }
  // Nothing left beside the stores, and the report is on disk.
  EXPECT_EQ(list_names(stores_dir_), (std::vector<std::string>{"auth.json", "codex_threads.json", "domain.json"}));
  EXPECT_EQ(r->report_path, report_path());
  std::string text = read_text(report_path());
  EXPECT_EQ(text, to_json(*r));
  auto doc = json::parse(text);
  ASSERT_TRUE(doc);
  EXPECT_EQ(json::to_canonical_string(doc->root()), text);
  EXPECT_EQ(doc->root().find("schema")->as_string(), "cutover.rollback_report.v1");
  EXPECT_TRUE(doc->root().find("ok")->as_bool());
  EXPECT_EQ(doc->root().find("manifest")->find("sha256")->as_string(), hash::sha256_hex(read_text(manifest_path())));
  auto lines = human_lines(*r);
  EXPECT_EQ(
      lines[0].rfind("restored: [auth] " + store("auth") + " (verified: sha256 " + *record("auth").before_sha256, 0),
      0u)
      << lines[0];
  EXPECT_EQ(lines.back().rfind("rollback: ok: 3 stores", 0), 0u);
}

TEST_F(RollbackTest, RollingBackTwiceIsSafeAndSaysSo) {
  backfill();
  ASSERT_TRUE(rollback());
  auto before = snapshot();
  auto r = rollback();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(actions(*r), (std::vector<std::string>{"auth:already_at_before", "codex_threads:already_at_before",
                                                   "domain:already_at_before"}));
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(r->report_path, report_path("-2"));  // the first report stays
  EXPECT_TRUE(path_exists(report_path()));
  EXPECT_NE(human_lines(*r)[0].find("already rolled back"), std::string::npos);
}

TEST_F(RollbackTest, DriftIsRefusedAndNothingChanges) {
  backfill();
  std::string drifted = canonical_drift();
  write_text(store("codex_threads"), drifted);
  auto before = snapshot();
  auto r = rollback();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::conflict);
  EXPECT_NE(r.error().message().find("[codex_threads] " + store("codex_threads") + " has drifted"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("--force"), std::string::npos);
  EXPECT_EQ(r.error().message().find("[auth]"), std::string::npos) << "only the drifted store is named";
  EXPECT_EQ(snapshot(), before);  // no store touched, no temporary file left
  EXPECT_FALSE(path_exists(work_dir_ + "/reports"));
}

TEST_F(RollbackTest, ForceSavesTheDriftedBytesThenRestores) {
  backfill();
  std::string drifted = canonical_drift();
  write_text(store("codex_threads"), drifted);
  auto r = rollback(/*force=*/true);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok());
  expect_fixtures_restored();
  EXPECT_EQ(actions(*r),
            (std::vector<std::string>{"auth:restored", "codex_threads:restored_drifted", "domain:restored"}));
  const StoreOutcome& o = r->stores[1];
  ASSERT_TRUE(o.saved_path);
  std::string sha = hash::sha256_hex(drifted);
  EXPECT_EQ(*o.saved_path,
            work_dir_ + "/backups/" + k_run + "/codex_threads-drift-" + k_run + "-" + sha.substr(0, 12) + ".json");
  EXPECT_EQ(read_text(*o.saved_path), drifted);
  EXPECT_EQ(o.found_sha256, sha);
  EXPECT_TRUE(r->force);
}

TEST_F(RollbackTest, AStoreTheMigrationCreatedIsMovedAsideNotDeleted) {
  std::string created = stores_dir_ + "/new_auth.json";
  backfill({{"auth", created}});
  std::string bytes = read_text(created);
  ASSERT_FALSE(bytes.empty());
  auto r = rollback();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok());
  expect_fixtures_restored();
  EXPECT_FALSE(path_exists(created));
  const StoreOutcome& o = r->stores[3];
  EXPECT_EQ(o.action, StoreAction::moved_aside);
  ASSERT_TRUE(o.saved_path);
  EXPECT_EQ(*o.saved_path,
            work_dir_ + "/backups/" + k_run + "/auth-created-" + hash::sha256_hex(bytes).substr(0, 12) + ".json");
  EXPECT_EQ(read_text(*o.saved_path), bytes);
  EXPECT_TRUE(o.verified);
  EXPECT_FALSE(o.final_sha256);

  // Twice: the created store is absent, which is its before-state.
  auto again = rollback();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->stores[3].action, StoreAction::already_at_before);
}

TEST_F(RollbackTest, AMissingOrCorruptBackupRefusesAndNothingChanges) {
  backfill();
  auto before = snapshot();
  std::string backup = *record("domain").backup_path;
  std::string saved = read_text(backup);

  write_text(backup, saved + " ");
  auto r = rollback();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::corruption);
  EXPECT_NE(r.error().message().find("[domain] " + store("domain") + ": backup " + backup + " hashes to"),
            std::string::npos)
      << r.error().message();
  EXPECT_EQ(snapshot(), before);

  ASSERT_EQ(::unlink(backup.c_str()), 0);
  r = rollback();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::corruption);
  EXPECT_NE(r.error().message().find("is missing"), std::string::npos) << r.error().message();
  EXPECT_EQ(snapshot(), before);
}

// A crashed backfill: the in-progress manifest, one store already replaced,
// one not yet (still at its before bytes), and a temporary file left behind.
TEST_F(RollbackTest, FinishesTheJobFromAnInProgressManifest) {
  backfill();
  manifest::Manifest m = manifest_;
  m.status = "in_progress";
  std::string in_progress = manifest_path() + ".in-progress";
  write_text(in_progress, manifest::to_json(m));
  ASSERT_EQ(::unlink(manifest_path().c_str()), 0);
  write_text(store("domain"), fixture_["domain"]);  // not replaced yet when the crash came
  std::string temp = stores_dir_ + "/.domain.json.cutover-" + std::string(k_run) + ".tmp";
  write_text(temp, "half-written");

  auto r = rollback(false, in_progress);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok());
  expect_fixtures_restored();
  EXPECT_EQ(actions(*r),
            (std::vector<std::string>{"auth:restored", "codex_threads:restored", "domain:already_at_before"}));
  EXPECT_EQ(r->manifest_status, "in_progress");
  EXPECT_EQ(r->removed_temp_files, std::vector<std::string>{temp});
  EXPECT_FALSE(path_exists(temp));
  EXPECT_EQ(list_names(stores_dir_), (std::vector<std::string>{"auth.json", "codex_threads.json", "domain.json"}));
}

TEST_F(RollbackTest, RefusesWhileABackfillHoldsTheLock) {
  backfill();
  auto before = snapshot();
  {
    auto lock = base::real_file_system().try_lock(work_dir_ + "/.cutover.lock");
    ASSERT_TRUE(lock);
    auto r = rollback();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::conflict);
    EXPECT_NE(r.error().message().find("locked"), std::string::npos) << r.error().message();
  }
  {
    auto lock = base::real_file_system().try_lock(stores_dir_);
    ASSERT_TRUE(lock);
    auto r = rollback();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::conflict);
  }
  EXPECT_EQ(snapshot(), before);
  // And the other way round: no backfill while a rollback holds the lock is
  // the same lock file, so once released, rollback goes through.
  ASSERT_TRUE(rollback());
  expect_fixtures_restored();
}

TEST_F(RollbackTest, RefusesPathsOutsideTheManifestsFolders) {
  backfill();
  auto before = snapshot();
  std::string elsewhere = tmp_.file("elsewhere.json");
  write_text(elsewhere, fixture_["auth"]);
  ASSERT_EQ(::symlink(elsewhere.c_str(), (stores_dir_ + "/link.json").c_str()), 0);
  before = snapshot();

  struct Case {
    const char* name;
    std::function<void(manifest::Manifest&)> change;
    std::string expected;
  };
  const Case cases[] = {
      {"dot-dot in store path", [&](manifest::Manifest& m) { m.stores[0].path = stores_dir_ + "/../stores/auth.json"; },
       "contains a '..' component"},
      {"relative store path", [&](manifest::Manifest& m) { m.stores[0].path = "stores/auth.json"; },
       "not an absolute path"},
      {"symlinked store", [&](manifest::Manifest& m) { m.stores[0].path = stores_dir_ + "/link.json"; },
       "symbolic link"},
      {"backup outside the work folder", [&](manifest::Manifest& m) { m.stores[1].backup_path = elsewhere; },
       "outside " + work_dir_ + "/backups/"},
      {"dot-dot in backup path",
       [&](manifest::Manifest& m) { m.stores[2].backup_path = work_dir_ + "/backups/../../elsewhere.json"; },
       "contains a '..' component"},
      {"same path twice", [&](manifest::Manifest& m) { m.stores[1].path = m.stores[0].path; }, "appears twice"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    manifest::Manifest m = manifest_;
    c.change(m);
    write_text(manifest_path(), manifest::to_json(m));
    auto r = rollback();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message().find(c.expected), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("nothing was changed"), std::string::npos);
    EXPECT_EQ(snapshot(), before);
    EXPECT_EQ(read_text(elsewhere), fixture_["auth"]);
  }
}

TEST_F(RollbackTest, RefusesMalformedManifests) {
  backfill();
  auto before = snapshot();
  const char* cases[] = {
      "",
      "{",
      "[]",
      R"({"schema": "openagents.rust_store_migration.v1", "generated_at": "x"})",
      R"({"schema": "openagents.rust_store_migration.v1", "generated_at": "x", "stores": []})",
      R"({"schema": "openagents.rust_store_migration.v1", "generated_at": "x", "stores": [{"store": "auth"}]})",
  };
  for (const char* text : cases) {
    SCOPED_TRACE(text);
    write_text(manifest_path(), text);
    auto r = rollback();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::invalid_argument) << r.error().message();
    EXPECT_EQ(snapshot(), before);
  }
  auto missing = rollback(false, tmp_.file("nope.json"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::not_found);
}

// Fails the rename of one store's temporary file over the store.
class FailingRename final : public testing::ForwardingFileSystem {
 public:
  FailingRename(base::FileSystem& target, std::string store) : ForwardingFileSystem(target), store_(std::move(store)) {}
  Status rename(const std::string& from, const std::string& to) override {
    if (to == store_) return make_error(ErrorCode::io_error, "cannot rename " + from + ": injected fault");
    return target_.rename(from, to);
  }

 private:
  std::string store_;
};

TEST_F(RollbackTest, AFailureWhileActingIsReportedAndARerunFinishes) {
  backfill();
  FailingRename fs(base::real_file_system(), store("codex_threads"));
  auto r = rollback(false, "", fs);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->failure->code(), ErrorCode::io_error);
  EXPECT_EQ(actions(*r), (std::vector<std::string>{"auth:restored", "codex_threads:failed", "domain:not_reached"}));
  EXPECT_TRUE(r->stores[0].verified);
  EXPECT_FALSE(r->stores[1].verified);
  EXPECT_NE(r->stores[1].error.find("injected fault"), std::string::npos);
  EXPECT_EQ(read_text(store("auth")), fixture_["auth"]);
  EXPECT_NE(read_text(store("domain")), fixture_["domain"]);
  EXPECT_EQ(list_names(stores_dir_), (std::vector<std::string>{"auth.json", "codex_threads.json", "domain.json"}));
  EXPECT_EQ(r->report_path, report_path());  // the partial report is written too
  EXPECT_NE(read_text(report_path()).find("\"ok\": false"), std::string::npos);

  auto again = rollback();
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_TRUE(again->ok());
  EXPECT_EQ(actions(*again),
            (std::vector<std::string>{"auth:already_at_before", "codex_threads:restored", "domain:restored"}));
  expect_fixtures_restored();
}

TEST_F(RollbackTest, ASymlinkPlantedAtTheTemporaryPathIsNotWrittenThrough) {
  backfill();
  std::string victim = tmp_.file("victim.txt");
  write_text(victim, "precious");
  std::string temp = stores_dir_ + "/.domain.json.cutover-" + std::string(k_run) + ".rollback.tmp";
  ASSERT_EQ(::symlink(victim.c_str(), temp.c_str()), 0);
  auto before = snapshot();
  auto r = rollback();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("rollback refused, nothing was changed"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("symbolic link"), std::string::npos) << r.error().message();
  EXPECT_EQ(read_text(victim), "precious");
  EXPECT_EQ(snapshot(), before);
}

// Swaps the domain store for a symlink to its own bytes (moved beside it)
// once rollback has finished its preflight, as it acts on that store.
class SwapInSymlink final : public testing::ForwardingFileSystem {
 public:
  SwapInSymlink(base::FileSystem& target, std::string store) : ForwardingFileSystem(target), store_(std::move(store)) {}
  Status set_mode(const std::string& path, uint32_t mode) override {
    if (!swapped_ && path.find(".domain.json.cutover-") != std::string::npos) {
      swapped_ = true;
      std::string real = store_ + ".real";
      if (::rename(store_.c_str(), real.c_str()) != 0 || ::symlink(real.c_str(), store_.c_str()) != 0) {
        return make_error(ErrorCode::io_error, "test setup failed");
      }
    }
    return target_.set_mode(path, mode);
  }

 private:
  std::string store_;
  bool swapped_ = false;
};

TEST_F(RollbackTest, ASymlinkSwappedInAfterPreflightIsRefused) {
  backfill();
  std::string migrated = read_text(store("domain"));
  SwapInSymlink fs(base::real_file_system(), store("domain"));
  auto r = rollback(false, "", fs);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->failure->code(), ErrorCode::conflict);
  EXPECT_EQ(actions(*r), (std::vector<std::string>{"auth:restored", "codex_threads:restored", "domain:failed"}));
  EXPECT_NE(r->stores[2].error.find("changed while rollback was running"), std::string::npos) << r->stores[2].error;
  struct stat st {};
  ASSERT_EQ(::lstat(store("domain").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));  // left as it was found
  EXPECT_EQ(read_text(store("domain") + ".real"), migrated);
  EXPECT_FALSE(std::filesystem::exists(stores_dir_ + "/.domain.json.cutover-" + std::string(k_run) + ".rollback.tmp"));
}

// Writes the domain store's staged copy with its first byte changed: a file
// system that does not keep the bytes it was given.
class CorruptingStagedCopy final : public testing::ForwardingFileSystem {
 public:
  using ForwardingFileSystem::ForwardingFileSystem;
  Result<std::unique_ptr<base::WritableFile>> create_file(const std::string& path, uint32_t mode) override {
    TRY_ASSIGN(auto file, target_.create_file(path, mode));
    if (path.find(".domain.json.cutover-") == std::string::npos) return file;
    return std::unique_ptr<base::WritableFile>(new Corrupting(std::move(file)));
  }

 private:
  class Corrupting final : public testing::ForwardingWritableFile {
   public:
    using ForwardingWritableFile::ForwardingWritableFile;
    Status append(std::string_view data) override {
      std::string bytes(data);
      if (first_ && !bytes.empty()) bytes[0] ^= 0x20;
      first_ = false;
      return target_->append(bytes);
    }

   private:
    bool first_ = true;
  };
};

TEST_F(RollbackTest, ACopyThatDoesNotReadBackAsWrittenIsRefusedAndNothingChanges) {
  backfill();
  auto before = snapshot();
  CorruptingStagedCopy fs(base::real_file_system());
  auto r = rollback(false, "", fs);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::io_error);
  const std::string& m = r.error().message();
  EXPECT_NE(m.find("rollback refused, nothing was changed"), std::string::npos) << m;
  EXPECT_NE(m.find("[domain] " + store("domain") + ": cannot copy backup"), std::string::npos) << m;
  EXPECT_NE(m.find("does not read back as the bytes written at offset 0"), std::string::npos) << m;
  EXPECT_EQ(snapshot(), before);  // the temporary copies are gone too
}

// Once the domain store has been restored, replaces its bytes with others
// of the same size, either in place with a new modification time or as a
// new file with the old one's modification time.
class TamperAfterRestore final : public testing::ForwardingFileSystem {
 public:
  enum class How { in_place, new_file };
  TamperAfterRestore(base::FileSystem& target, std::string store, How how)
      : ForwardingFileSystem(target), store_(std::move(store)), how_(how) {}
  Status rename(const std::string& from, const std::string& to) override {
    TRY(target_.rename(from, to));
    if (to != store_) return {};
    std::string bytes = testing::read_text(store_);
    bytes[0] ^= 0x20;
    struct stat st {};
    if (::stat(store_.c_str(), &st) != 0) return make_error(ErrorCode::io_error, "test setup failed");
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (how_ == How::in_place) {
      int fd = ::open(store_.c_str(), O_WRONLY);
      bool wrote = fd >= 0 && ::pwrite(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size());
      if (fd >= 0) ::close(fd);
      times[1].tv_sec += 1;
      if (!wrote || ::utimensat(AT_FDCWD, store_.c_str(), times, 0) != 0) {
        return make_error(ErrorCode::io_error, "test setup failed");
      }
    } else {
      std::string other = store_ + ".other";
      testing::write_text(other, bytes);
      if (::utimensat(AT_FDCWD, other.c_str(), times, 0) != 0 || ::rename(other.c_str(), store_.c_str()) != 0) {
        return make_error(ErrorCode::io_error, "test setup failed");
      }
    }
    return {};
  }

 private:
  std::string store_;
  How how_;
};

TEST_F(RollbackTest, AStoreChangedAfterItsRestoreIsHashedAgainAndNotVerified) {
  for (auto how : {TamperAfterRestore::How::in_place, TamperAfterRestore::How::new_file}) {
    SCOPED_TRACE(how == TamperAfterRestore::How::in_place ? "in place" : "new file");
    backfill();
    TamperAfterRestore fs(base::real_file_system(), store("domain"), how);
    auto r = rollback(false, "", fs);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_FALSE(r->ok());
    EXPECT_EQ(r->failure->code(), ErrorCode::corruption);
    EXPECT_EQ(actions(*r), (std::vector<std::string>{"auth:restored", "codex_threads:restored", "domain:restored"}));
    EXPECT_TRUE(r->stores[0].verified);
    const StoreOutcome& domain = r->stores[2];
    EXPECT_FALSE(domain.verified);
    std::string now = read_text(store("domain"));
    EXPECT_NE(now, fixture_["domain"]);
    EXPECT_EQ(domain.final_sha256, hash::sha256_hex(now));  // what is there, not what was staged
    EXPECT_NE(domain.error.find("after the restore the store hashes to " + hash::sha256_hex(now)), std::string::npos)
        << domain.error;
    // Start again from the migrated state for the next case.
    std::filesystem::remove_all(work_dir_);
    for (const auto& [kind, bytes] : fixture_) write_text(store(kind), bytes);
  }
}

}  // namespace
}  // namespace cutover::rollback
