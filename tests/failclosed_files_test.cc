// Issue 12, items 3-5, on real files: a manifest is not trusted by default
// (its own work folder, folders only its owner can write), copies of a store
// keep the store's secrecy from their first byte, and cutover never follows
// a symlink or waits on a special file where it keeps its own files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cutover/backfill/backfill.h"
#include "cutover/evidence/keys.h"
#include "cutover/gates/ledger.h"
#include "cutover/manifest/manifest_file.h"
#include "cutover/rollback/rollback.h"
#include "cutover/route_files/route_files.h"
#include "cutover/routing/config.h"
#include "cutover/routing/route_split.h"
#include "cutover/server/audit_log.h"
#include "cutover/server/override_store.h"
#include "cutover/store/fixtures.h"
#include "cutover/verify/verify.h"
#include "test_util.h"

namespace cutover {
namespace {

using testing::path_exists;
using testing::read_text;
using testing::write_text;

uint32_t mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0xffffffff;
  return st.st_mode & 07777;
}

// Sets the umask for one test and puts the old one back: 022, the common
// default, under which a file opened with 0644 and chmod-ed later is
// readable by everyone until the chmod.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

// Records every file cutover creates and its permission bits the instant it
// exists, before a byte is written: what another user could open then.
class CreationWatcher final : public testing::ForwardingFileSystem {
 public:
  using ForwardingFileSystem::ForwardingFileSystem;
  struct Created {
    std::string path;
    uint32_t mode_at_creation;
  };

  Result<std::unique_ptr<base::WritableFile>> create_file(const std::string& path, uint32_t mode) override {
    return record(path, target_.create_file(path, mode));
  }
  Result<std::unique_ptr<base::WritableFile>> create_bulk_file(const std::string& path, uint32_t mode) override {
    return record(path, target_.create_bulk_file(path, mode));
  }
  Result<std::unique_ptr<base::WritableFile>> create_new_file(const std::string& path, uint32_t mode) override {
    return record(path, target_.create_new_file(path, mode));
  }

  std::vector<Created> created() {
    std::lock_guard lock(mutex_);
    return created_;
  }

 private:
  Result<std::unique_ptr<base::WritableFile>> record(const std::string& path,
                                                     Result<std::unique_ptr<base::WritableFile>> file) {
    if (file) {
      std::lock_guard lock(mutex_);
      created_.push_back({path, mode_of(path)});
    }
    return file;
  }

  std::mutex mutex_;
  std::vector<Created> created_;
};

class FailClosedFilesTest : public testing::FixtureStoresTest {
 protected:
  std::string store(const std::string& kind) const { return store_path(kind); }

  Result<backfill::BackfillResult> backfill(base::FileSystem& fs = base::real_file_system()) { return run(fs); }

  Result<rollback::RollbackReport> rollback(const std::string& manifest, bool force = false,
                                            base::FileSystem& fs = base::real_file_system()) {
    rollback::RollbackOptions options;
    options.manifest_path = manifest;
    options.force = force;
    return rollback::run_rollback(options, fs, clock_);
  }

  Result<verify::VerifyReport> verify(const std::string& manifest) {
    verify::VerifyOptions options;
    options.manifest_path = manifest;
    return verify::verify_manifest(options, specs_, base::real_file_system(), clock_);
  }
};

// --- item 3: a manifest is not trusted by default -------------------------------

TEST_F(FailClosedFilesTest, ManifestCopiedIntoAnotherWorkFolderIsRefused) {
  auto result = backfill();
  ASSERT_TRUE(result) << result.error().message();
  // Another work folder, trusted in itself, holding a copy of the manifest.
  std::string other = tmp_.file("other");
  std::filesystem::create_directories(other + "/manifests");
  std::string copy = other + "/manifests/" + base::file_name(result->manifest_path);
  std::filesystem::copy_file(result->manifest_path, copy);
  std::map<std::string, std::string> migrated;
  for (const auto& kind : kinds_) migrated[kind] = read_text(store(kind));

  auto v = verify(copy);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::conflict);
  EXPECT_NE(v.error().message().find("is not the folder that holds this manifest's folder " + other + "/manifests"),
            std::string::npos)
      << v.error().message();
  auto r = rollback(copy);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::conflict);
  EXPECT_NE(r.error().message().find("work_dir " + work_dir_), std::string::npos) << r.error().message();
  for (const auto& kind : kinds_) EXPECT_EQ(read_text(store(kind)), migrated[kind]) << kind;

  // A manifest outside any manifests/ folder is refused the same way.
  std::string loose = tmp_.file("loose.json");
  std::filesystem::copy_file(result->manifest_path, loose);
  EXPECT_FALSE(verify(loose));
  EXPECT_FALSE(rollback(loose));

  // The manifest where backfill wrote it, reached through a symlinked folder, is fine.
  std::string link = tmp_.file("work-link");
  ASSERT_EQ(::symlink(work_dir_.c_str(), link.c_str()), 0);
  auto through_link = rollback(link + "/manifests/" + base::file_name(result->manifest_path));
  ASSERT_TRUE(through_link) << through_link.error().message();
  EXPECT_TRUE(through_link->ok());
}

TEST_F(FailClosedFilesTest, GroupOrWorldWritableWorkFoldersAreRefused) {
  auto result = backfill();
  ASSERT_TRUE(result) << result.error().message();
  std::map<std::string, std::string> migrated;
  for (const auto& kind : kinds_) migrated[kind] = read_text(store(kind));
  struct Case {
    std::string path;
    mode_t mode;
    std::string why;
  };
  for (const Case& c : {Case{work_dir_, 0775, "group-writable (mode 0775)"},
                        Case{work_dir_ + "/manifests", 0757, "world-writable (mode 0757)"},
                        Case{work_dir_ + "/backups", 0777, "group- and world-writable (mode 0777)"},
                        Case{result->manifest_path, 0666, "group- and world-writable (mode 0666)"}}) {
    SCOPED_TRACE(c.path);
    mode_t old = mode_of(c.path);
    ASSERT_EQ(::chmod(c.path.c_str(), c.mode), 0);
    auto v = verify(result->manifest_path);
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().code(), ErrorCode::conflict);
    EXPECT_NE(v.error().message().find(c.path + " is " + c.why), std::string::npos) << v.error().message();
    auto r = rollback(result->manifest_path);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::conflict);
    EXPECT_NE(r.error().message().find(c.path + " is " + c.why), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("nothing was changed"), std::string::npos);
    for (const auto& kind : kinds_) EXPECT_EQ(read_text(store(kind)), migrated[kind]) << kind;
    ASSERT_EQ(::chmod(c.path.c_str(), old), 0);
  }
  auto ok = rollback(result->manifest_path);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_TRUE(ok->ok());
}

TEST_F(FailClosedFilesTest, WorkFolderOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a folder to another user (CI runs as root)";
  auto result = backfill();
  ASSERT_TRUE(result) << result.error().message();
  std::string migrated = read_text(store(kinds_[0]));
  ASSERT_EQ(::chown(work_dir_.c_str(), 65534, 65534), 0);
  auto r = rollback(result->manifest_path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::conflict);
  EXPECT_NE(r.error().message().find(work_dir_ + " is owned by uid 65534, another user"), std::string::npos)
      << r.error().message();
  auto v = verify(result->manifest_path);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message().find("owned by uid 65534"), std::string::npos) << v.error().message();
  EXPECT_EQ(read_text(store(kinds_[0])), migrated);
  // Root's own folders are trusted.
  ASSERT_EQ(::chown(work_dir_.c_str(), 0, 0), 0);
  EXPECT_TRUE(rollback(result->manifest_path));
}

// --- item 4: copies keep the store's secrecy ------------------------------------

TEST_F(FailClosedFilesTest, CopiesOfASecretStoreAreNeverReadableByOthers) {
  ScopedUmask mask(022);
  for (const auto& kind : kinds_) ASSERT_EQ(::chmod(store(kind).c_str(), 0600), 0);
  CreationWatcher watcher(base::real_file_system());
  auto result = backfill(watcher);
  ASSERT_TRUE(result) << result.error().message();
  // Drift one store, then roll back with force: the drift copy, the staged
  // restores and the report are created too.
  std::string drifted = store(kinds_[0]);
  std::string text = read_text(drifted);
  write_text(drifted, text.substr(0, text.rfind('}')) + ",\"x\":1}");
  auto r = rollback(result->manifest_path, /*force=*/true, watcher);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(r->ok()) << r->failure->message();

  size_t copies = 0;
  for (const auto& c : watcher.created()) {
    bool record = c.path.find("/manifests/") != std::string::npos || c.path.find("/reports/") != std::string::npos;
    if (record) continue;  // hashes and paths, no store bytes
    ++copies;
    EXPECT_EQ(c.mode_at_creation & 077, 0u) << c.path << " was created with mode " << std::oct << c.mode_at_creation;
  }
  EXPECT_GE(copies, 3u * 2 + 1) << "backups, temporary files, staged restores and the drift copy";
  for (const auto& kind : kinds_) EXPECT_EQ(mode_of(store(kind)), 0600u) << kind;
  for (const auto& s : result->manifest.stores) EXPECT_EQ(mode_of(*s.backup_path), 0600u) << *s.backup_path;
  ASSERT_TRUE(r->stores[0].saved_path);
  EXPECT_EQ(mode_of(*r->stores[0].saved_path), 0600u);
}

TEST_F(FailClosedFilesTest, AtomicWriteLikeASecretFileStartsSecret) {
  ScopedUmask mask(022);
  std::string path = tmp_.file("secret.json");
  write_text(path, "{}");
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  // A leftover temporary file with loose permissions is not reused as it is.
  std::string leftover = path + ".tmp-" + std::to_string(::getpid());
  write_text(leftover, "old");
  ASSERT_EQ(::chmod(leftover.c_str(), 0644), 0);
  CreationWatcher watcher(base::real_file_system());
  auto info = base::real_file_system().stat(path);
  ASSERT_TRUE(info);
  ASSERT_TRUE(base::write_file_atomic(watcher, path, "{\"a\":1}", &*info));
  ASSERT_EQ(watcher.created().size(), 1u);
  EXPECT_EQ(watcher.created()[0].mode_at_creation, 0600u);
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(read_text(path), "{\"a\":1}");
}

TEST_F(FailClosedFilesTest, KeygenOpensThePrivateKey0600) {
  ScopedUmask mask(022);
  CreationWatcher watcher(base::real_file_system());
  auto pair = evidence::write_new_key_pair(watcher, tmp_.file("signer"));
  ASSERT_TRUE(pair) << pair.error().message();
  auto created = watcher.created();
  ASSERT_EQ(created.size(), 2u);
  EXPECT_EQ(created[0].path, pair->private_path);
  EXPECT_EQ(created[0].mode_at_creation, 0600u);
  EXPECT_EQ(mode_of(pair->private_path), 0600u);
  EXPECT_EQ(mode_of(pair->public_path), 0644u);
}

// --- item 5: no symlink or special file where cutover keeps its files -----------

TEST_F(FailClosedFilesTest, LockFileSymlinkIsRefusedAndItsTargetUntouched) {
  std::string victim = tmp_.file("victim");
  std::string lock = tmp_.file("x.lock");
  ASSERT_EQ(::symlink(victim.c_str(), lock.c_str()), 0);
  auto held = base::real_file_system().try_lock(lock);
  ASSERT_FALSE(held);
  EXPECT_EQ(held.error().code(), ErrorCode::permission_denied);
  EXPECT_NE(held.error().message().find(lock + " is a symbolic link"), std::string::npos) << held.error().message();
  EXPECT_FALSE(path_exists(victim));

  // Backfill's work-folder lock.
  std::filesystem::create_directories(work_dir_);
  ASSERT_EQ(::symlink(victim.c_str(), (work_dir_ + "/.cutover.lock").c_str()), 0);
  auto result = backfill();
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message().find("is a symbolic link"), std::string::npos) << result.error().message();
  EXPECT_FALSE(path_exists(victim));
}

TEST_F(FailClosedFilesTest, SpecialFilesAreRefusedWithoutWaiting) {
  // A FIFO with no writer: open(2) for reading would block forever. If this
  // test hangs, the fix is gone (ctest's timeout ends it).
  std::string fifo = tmp_.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto& fs = base::real_file_system();
  auto bytes = fs.read_file(fifo);
  ASSERT_FALSE(bytes);
  EXPECT_EQ(bytes.error().code(), ErrorCode::invalid_argument);
  EXPECT_NE(bytes.error().message().find("is a FIFO (named pipe), not a regular file"), std::string::npos);
  auto stream = fs.open_file(fifo);
  ASSERT_FALSE(stream);
  EXPECT_EQ(stream.error().code(), ErrorCode::invalid_argument);
  auto lock = fs.try_lock(fifo);
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().message().find("not a regular file"), std::string::npos) << lock.error().message();
  auto appended = fs.append_file(fifo, "x\n");
  ASSERT_FALSE(appended);

  // A FIFO where a backup should be: rollback refuses before taking a lock.
  auto result = backfill();
  ASSERT_TRUE(result) << result.error().message();
  const std::string& backup = *result->manifest.stores[0].backup_path;
  ASSERT_EQ(::unlink(backup.c_str()), 0);
  ASSERT_EQ(::mkfifo(backup.c_str(), 0600), 0);
  auto r = rollback(result->manifest_path);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(backup + " is not a regular file"), std::string::npos) << r.error().message();
  // A FIFO as the manifest.
  std::string fifo_manifest = work_dir_ + "/manifests/fifo.json";
  ASSERT_EQ(::mkfifo(fifo_manifest.c_str(), 0600), 0);
  EXPECT_FALSE(rollback(fifo_manifest));
  EXPECT_FALSE(verify(fifo_manifest));
}

TEST_F(FailClosedFilesTest, LedgerAndItsLockAreNotFollowedThroughLinks) {
  auto& fs = base::real_file_system();
  std::string real = tmp_.file("real.jsonl");
  write_text(real, "");
  std::string ledger = tmp_.file("ledger.jsonl");
  ASSERT_EQ(::symlink(real.c_str(), ledger.c_str()), 0);
  auto read = gates::read_ledger(fs, ledger);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message().find("is a symbolic link"), std::string::npos) << read.error().message();
  auto writer = gates::LedgerWriter::open(fs, ledger);
  ASSERT_FALSE(writer);
  EXPECT_NE(writer.error().message().find("is a symbolic link"), std::string::npos) << writer.error().message();

  std::string other = tmp_.file("other.jsonl");
  std::string victim = tmp_.file("victim");
  ASSERT_EQ(::symlink(victim.c_str(), (other + ".lock").c_str()), 0);
  auto locked = gates::LedgerWriter::open(fs, other);
  ASSERT_FALSE(locked);
  EXPECT_NE(locked.error().message().find(other + ".lock is a symbolic link"), std::string::npos)
      << locked.error().message();
  EXPECT_FALSE(path_exists(victim));
}

TEST_F(FailClosedFilesTest, AuditLogSymlinkIsRefused) {
  std::string victim = tmp_.file("victim");
  std::string log = tmp_.file("audit.jsonl");
  ASSERT_EQ(::symlink(victim.c_str(), log.c_str()), 0);
  auto opened = server::AuditLog::open(log);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code(), ErrorCode::permission_denied);
  EXPECT_NE(opened.error().message().find("symbolic link"), std::string::npos) << opened.error().message();
  EXPECT_FALSE(path_exists(victim));
}

TEST_F(FailClosedFilesTest, StateFileAndStateLockAreNotFollowedThroughLinks) {
  routing::RouteSplit engine(routing::reference_config());
  std::string state = tmp_.file("state");
  std::filesystem::create_directories(state);
  std::string elsewhere = tmp_.file("elsewhere.json");
  write_text(elsewhere, "{}");
  ASSERT_EQ(::symlink(elsewhere.c_str(), route_files::state_file_path(state).c_str()), 0);
  auto loaded = route_files::load_override_state(base::real_file_system(), state, engine);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code(), ErrorCode::permission_denied);
  EXPECT_NE(loaded.error().message().find("is a symbolic link"), std::string::npos) << loaded.error().message();

  // The state folder's lock file.
  std::string other = tmp_.file("state2");
  std::filesystem::create_directories(other);
  std::string victim = tmp_.file("victim");
  ASSERT_EQ(::symlink(victim.c_str(), route_files::lock_file_path(other).c_str()), 0);
  auto store = server::OverrideStore::open(base::real_file_system(), clock_, other, engine);
  ASSERT_TRUE(store) << store.error().message();
  auto applied = (*store)->apply("legacy", std::nullopt, "alice",
                                 [](const server::OverrideStore::Applied&) { return ok_status(); });
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().message().find("is a symbolic link"), std::string::npos) << applied.error().message();
  EXPECT_FALSE(path_exists(victim));
  EXPECT_FALSE(path_exists(route_files::state_file_path(other)));
}

}  // namespace
}  // namespace cutover
