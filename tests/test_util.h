// Helpers shared by the unit tests: a fresh temporary folder per test, small
// file helpers, the fixture stores the backfill, rollback and fail-closed
// tests start from, and a FileSystem that forwards to another one so that a test
// can override just the call it wants to break or watch.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cutover/backfill/backfill.h"
#include "cutover/base/clock.h"
#include "cutover/base/file_system.h"
#include "cutover/gates/gates.h"
#include "cutover/json/document.h"
#include "cutover/store/store_spec.h"

namespace cutover::testing {

// A new folder under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// An object of string members, e.g. a ledger record's evidence.
json::Document object_of(std::initializer_list<std::pair<std::string_view, std::string_view>> members = {});

// A line of a tokens file (docs/formats/tokens.md) for `token`, newline included.
std::string token_line(const char* role, const char* name, const char* token);

// The control API's paths (docs/formats/http-api.md).
inline constexpr std::string_view k_evaluate_path = "/api/v1/control/route-split/evaluate";
inline constexpr std::string_view k_override_path = "/api/v1/control/route-split/override";

std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);

// True if `path` exists (without following a final symlink).
bool path_exists(const std::string& path);
// The names in `folder`, sorted; empty if the folder is missing.
std::vector<std::string> list_names(const std::string& folder);
// inode and modification time (nanoseconds) of a file, via lstat(2).
struct FileStamp {
  uint64_t inode = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};
FileStamp file_stamp(const std::string& path);

// Issue 17: the evidence `gate advance GROUP expand` needs, written by hand
// per docs/formats/routes-report.md and expand-report.md (the expand check
// lives on another branch): in `dir`, a route config (the reference matrix
// with base URLs), a passing routes report for it and a passing expand
// report, both made at `created_at`; sets in.routes_path,
// in.routes_report_path and in.expand_report_path.
void write_expand_evidence(const std::string& dir, const std::string& created_at, gates::GateInputs& in);

// 2023-11-14T22:13:20Z, the time of the fixture tests' run id 20231114T221320Z.
inline constexpr int64_t k_fixture_now_ns = int64_t{1700000000} * 1000000000;

// A clock that says what it is told.
class FixedClock final : public base::Clock {
 public:
  explicit FixedClock(int64_t ns = k_fixture_now_ns) : ns_(ns) {}
  int64_t now_ns() override { return ns_; }
  void set(int64_t ns) { ns_ = ns; }

 private:
  int64_t ns_;
};

// The setup the backfill, rollback and fail-closed tests share: the
// built-in fixture stores written to TMP/stores/KIND.json, the path of a
// work folder TMP/work (not created), the built-in specs and a fixed clock.
// Public, as BackfillTest's table of cases reaches into the fixture.
class FixtureStoresTest : public ::testing::Test {
 public:
  void SetUp() override;

  std::string store_path(const std::string& kind) const { return stores_dir_ + "/" + kind + ".json"; }

  // Backfill options for every fixture store (auth, codex_threads, domain) with work_dir_.
  backfill::BackfillOptions options() const;
  // run_backfill with the fixture's specs and clock: of options(), or of `o`.
  Result<backfill::BackfillResult> run(base::FileSystem& fs = base::real_file_system()) { return run(options(), fs); }
  Result<backfill::BackfillResult> run(const backfill::BackfillOptions& o,
                                       base::FileSystem& fs = base::real_file_system()) {
    return backfill::run_backfill(o, specs_, fs, clock_);
  }

  TempDir tmp_;
  std::string stores_dir_;
  std::string work_dir_;
  std::map<std::string, std::string> fixture_;  // kind -> the bytes written
  std::vector<std::string> kinds_;              // in store::builtin_fixtures() order
  store::SpecRegistry specs_ = store::SpecRegistry::with_builtins();
  FixedClock clock_;
};

// Forwards every call to `target`, including the calls that have a default
// in FileSystem (create_bulk_file, open_file, hold_file), so the real code paths run.
// Subclasses override what they fault or record; one that faults file
// creation should override create_file, create_bulk_file and create_new_file.
// Thread-safe as far as `target` is.
class ForwardingFileSystem : public base::FileSystem {
 public:
  explicit ForwardingFileSystem(base::FileSystem& target) : target_(target) {}

  Result<base::FileInfo> stat(const std::string& path) override { return target_.stat(path); }
  Result<base::Buffer> read_file(const std::string& path) override { return target_.read_file(path); }
  Result<std::unique_ptr<base::WritableFile>> create_file(const std::string& path, uint32_t mode) override {
    return target_.create_file(path, mode);
  }
  Result<std::unique_ptr<base::WritableFile>> create_bulk_file(const std::string& path, uint32_t mode) override {
    return target_.create_bulk_file(path, mode);
  }
  Result<std::unique_ptr<base::WritableFile>> create_new_file(const std::string& path, uint32_t mode) override {
    return target_.create_new_file(path, mode);
  }
  Status rename(const std::string& from, const std::string& to) override { return target_.rename(from, to); }
  Status remove(const std::string& path) override { return target_.remove(path); }
  Status create_directories(const std::string& path) override { return target_.create_directories(path); }
  Status sync_directory(const std::string& path) override { return target_.sync_directory(path); }
  Result<std::vector<std::string>> list_directory(const std::string& path) override {
    return target_.list_directory(path);
  }
  Result<std::unique_ptr<base::Lock>> try_lock(const std::string& path) override { return target_.try_lock(path); }
  Result<std::string> real_path(const std::string& path) override { return target_.real_path(path); }
  Status check_writable(const std::string& folder) override { return target_.check_writable(folder); }
  Status set_mode(const std::string& path, uint32_t mode) override { return target_.set_mode(path, mode); }
  Status set_owner(const std::string& path, uint32_t uid, uint32_t gid) override {
    return target_.set_owner(path, uid, gid);
  }
  Result<std::unique_ptr<base::ReadableFile>> open_file(const std::string& path) override {
    return target_.open_file(path);
  }
  Result<std::unique_ptr<base::HeldFile>> hold_file(const std::string& path) override {
    return target_.hold_file(path);
  }

 protected:
  base::FileSystem& target_;
};

// A WritableFile that forwards to another one.
class ForwardingWritableFile : public base::WritableFile {
 public:
  explicit ForwardingWritableFile(std::unique_ptr<base::WritableFile> target) : target_(std::move(target)) {}
  Status append(std::string_view data) override { return target_->append(data); }
  Status sync() override { return target_->sync(); }
  Status close() override { return target_->close(); }

 protected:
  std::unique_ptr<base::WritableFile> target_;
};

}  // namespace cutover::testing
