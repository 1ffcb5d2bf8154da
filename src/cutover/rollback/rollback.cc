#include "cutover/rollback/rollback.h"

#include <cstdint>
#include <future>
#include <iterator>
#include <memory>
#include <set>
#include <utility>

#include "cutover/base/store_folder.h"
#include "cutover/hash/file_hash.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/manifest/manifest.h"
#include "cutover/manifest/manifest_file.h"

namespace cutover::rollback {
namespace {

constexpr std::string_view k_action_names[] = {
    "restored", "restored_drifted", "moved_aside", "moved_aside_drifted", "already_at_before", "failed", "not_reached",
};

static_assert(std::size(k_action_names) == static_cast<size_t>(StoreAction::not_reached) + 1);

enum class Need { nothing, restore, move_aside };

// One store, from preflight to proof.
struct StorePlan {
  const manifest::StoreRecord* record = nullptr;
  StoreOutcome outcome;
  base::FileInfo info;  // the store at preflight
  std::string hash_error;
  Need need = Need::nothing;
  bool drifted = false;
  // The backup copied beside the store (and synced) in preflight.
  std::string temp_path;
  std::unique_ptr<base::WritableFile> temp;
  std::optional<std::string> staged_sha256;  // the backup, as read while copying it
  // The staged copy after its sync. It read back as the bytes that hashed to
  // staged_sha256, so that is its hash for as long as it is this file,
  // unchanged: the restored store's proof, if the store path names it after
  // the rename.
  base::FileInfo staged_info;
  std::string stage_error;
  bool backup_missing = false;
  // The replaced store, held open across the rename so that the file
  // system frees its blocks when this closes, on a thread of its own while
  // the stores are proven, rather than inside rename().
  std::unique_ptr<base::ReadableFile> replaced;
};

std::string label(const manifest::StoreRecord& s) { return "[" + s.store + "] " + s.path; }

// Copies `from` into `to`, the new file at `to_path`, front to back, and
// returns the hash of what it read. Each piece is read back from `to_path`
// as soon as it is written and compared with what was written, so the copy,
// as the file system serves it, holds exactly the bytes that were hashed:
// the restored file's proof, taken as the copy is made rather than by a
// second pass over it. A copy that reads back otherwise is an io_error.
// `progress`, if given, advances by each piece copied.
Result<hash::FileDigest> copy_hashed(base::FileSystem& fs, const std::string& from, base::WritableFile& to,
                                     const std::string& to_path, base::Progress* progress = nullptr) {
  TRY_ASSIGN(auto in, fs.open_file(from));
  auto back = fs.open_file(to_path);
  if (!back) return make_error(ErrorCode::io_error, "cannot read back the copy: " + back.error().message());
  constexpr size_t chunk = hash::k_read_chunk_bytes;
  auto buffer = std::make_unique_for_overwrite<char[]>(2 * chunk);
  char* echo = buffer.get() + chunk;
  hash::Sha256 hasher;
  hash::FileDigest digest;
  for (;;) {
    TRY_ASSIGN(size_t n, in->read(buffer.get(), chunk));
    if (n == 0) break;
    std::string_view piece(buffer.get(), n);
    hasher.update(piece);
    TRY(to.append(piece));
    TRY_ASSIGN(size_t echoed, (*back)->read(echo, n));
    if (std::string_view(echo, echoed) != piece) {
      return make_error(ErrorCode::io_error,
                        "the copy " + to_path + " does not read back as the bytes written at offset " +
                            std::to_string(digest.size) + ": the file system did not keep them; check the disk");
    }
    digest.size += n;
    if (progress) progress->advance(n);
  }
  TRY_ASSIGN(size_t extra, (*back)->read(echo, 1));
  if (extra != 0)
    return make_error(ErrorCode::io_error, "the copy " + to_path + " holds more bytes than were written to it");
  digest.sha256 = hash::to_hex(hasher.finish());
  return digest;
}

// The first of DIR/STEM.json, DIR/STEM-2.json, ... that does not exist.
Result<std::string> unused_path(base::FileSystem& fs, const std::string& dir, const std::string& stem) {
  for (int i = 1; i < 1000; ++i) {
    std::string path = base::join_path(dir, stem + (i == 1 ? "" : "-" + std::to_string(i)) + ".json");
    TRY_ASSIGN(base::FileInfo info, fs.stat(path));
    if (!info.exists) return path;
  }
  return make_error(ErrorCode::conflict, "too many files named " + stem + "*.json in " + dir);
}

// Copies `from` to a new file `to`, fsynced, and checks it hashes to
// `expected`. The copy has `from`'s permission bits from its first byte.
Status save_copy(base::FileSystem& fs, const std::string& from, const std::string& to, const std::string& expected) {
  TRY_ASSIGN(base::FileInfo from_info, fs.stat(from));
  TRY_ASSIGN(auto file, fs.create_new_file(to, from_info.mode & 0777));
  auto digest = copy_hashed(fs, from, *file, to);
  Status st = digest ? file->sync() : Status(tl::unexpected(digest.error()));
  if (st) st = file->close();
  if (st && digest->sha256 != expected) {
    st = make_error(ErrorCode::conflict, from + " changed while it was being saved (sha256 " + digest->sha256 +
                                             ", expected " + expected + "); stop whatever writes to it and retry");
  }
  if (!st) {
    (void)fs.remove(to);
    return st;
  }
  return fs.sync_directory(base::parent_directory(to));
}

// The store has not been replaced since preflight (the lock keeps cutover
// out; this catches a service that is still writing).
Status check_unchanged(base::FileSystem& fs, const StorePlan& plan) {
  TRY_ASSIGN(base::FileInfo now, fs.stat(plan.record->path));
  if (now.exists != plan.info.exists || now.is_symlink != plan.info.is_symlink || now.inode != plan.info.inode ||
      now.size != plan.info.size) {
    return make_error(ErrorCode::conflict, plan.record->path +
                                               " changed while rollback was running; stop the service that writes it "
                                               "and run rollback again");
  }
  return {};
}

// Step 4 for one store.
Status act(base::FileSystem& fs, StorePlan& plan, const std::string& backup_dir) {
  const manifest::StoreRecord& s = *plan.record;
  std::string folder = base::parent_directory(s.path);
  if (plan.need == Need::restore) {
    TRY(plan.temp->close());  // synced in preflight
    if (plan.info.exists) {   // the restored file keeps the store's owner and permissions, as backfill does
      TRY(fs.set_owner(plan.temp_path, plan.info.uid, plan.info.gid));
      TRY(fs.set_mode(plan.temp_path, plan.info.mode));
    }
    TRY(check_unchanged(fs, plan));
    if (auto old = fs.open_file(s.path)) plan.replaced = std::move(*old);
    TRY(fs.rename(plan.temp_path, s.path));
    plan.temp_path.clear();
    plan.outcome.action = plan.drifted ? StoreAction::restored_drifted : StoreAction::restored;
    return fs.sync_directory(folder);
  }
  if (plan.need == Need::move_aside) {
    TRY(fs.create_directories(backup_dir));
    TRY_ASSIGN(std::string aside,
               unused_path(fs, backup_dir, s.store + "-created-" + plan.outcome.found_sha256->substr(0, 12)));
    TRY(check_unchanged(fs, plan));
    if (!fs.rename(s.path, aside)) {
      // Another file system: copy, prove the copy, then remove the store.
      TRY(save_copy(fs, s.path, aside, *plan.outcome.found_sha256));
      TRY(fs.remove(s.path));
    }
    plan.outcome.saved_path = aside;
    plan.outcome.action = plan.drifted ? StoreAction::moved_aside_drifted : StoreAction::moved_aside;
    TRY(fs.sync_directory(backup_dir));
    return fs.sync_directory(folder);
  }
  return {};
}

// `now` is the file `staged` described, with the same contents: the same
// inode, size and modification time.
bool same_file(const base::FileInfo& now, const base::FileInfo& staged) {
  return now.exists && staged.exists && now.is_regular && !now.is_symlink && now.device == staged.device &&
         now.inode == staged.inode && now.size == staged.size && now.mtime_ns == staged.mtime_ns;
}

// Step 5 for one store: what is on disk now, and whether it is the before-state.
// A restored store was proven as it was staged (copy_hashed); the store path
// must now name that file, unchanged, or the store is hashed again.
void prove(base::FileSystem& fs, StorePlan& plan) {
  StoreOutcome& o = plan.outcome;
  const manifest::StoreRecord& s = *plan.record;
  if (o.action == StoreAction::already_at_before) {
    o.final_sha256 = o.found_sha256;  // hashed under the lock a moment ago
    o.verified = true;
    return;
  }
  auto info = fs.stat(s.path);
  if (info && info->exists) {
    bool restored = o.action == StoreAction::restored || o.action == StoreAction::restored_drifted;
    if (restored && plan.staged_sha256 && same_file(*info, plan.staged_info)) {
      o.final_sha256 = plan.staged_sha256;  // the restored file read back as the bytes that hash to this
    } else if (auto digest = hash::hash_file(fs, s.path)) {
      o.final_sha256 = digest->sha256;
    } else if (o.error.empty()) {
      o.error = digest.error().message();
    }
  } else {
    o.final_sha256.reset();
  }
  if (s.existed) {
    o.verified = o.final_sha256 && o.final_sha256 == s.before_sha256;
  } else {
    o.verified = info && !info->exists;
    if (o.verified && o.saved_path) {  // the moved-aside copy holds what was moved
      auto aside = hash::hash_file(fs, *o.saved_path);
      o.verified = aside && aside->sha256 == o.found_sha256;
    }
  }
  if (!o.verified && o.error.empty() && (o.action != StoreAction::failed && o.action != StoreAction::not_reached)) {
    o.error = s.existed ? "after the restore the store hashes to " + o.final_sha256.value_or("(missing)") +
                              ", not before_sha256 " + *s.before_sha256
                        : "after moving it aside the store is still there or its copy does not match";
  }
}

std::string problem_list(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += "\n  " + p;
  return out;
}

json::Node optional_string(json::Document& doc, const std::optional<std::string>& s) {
  return s ? doc.make_string(*s) : json::Node::null();
}

// Step 1: the manifest, its paths, the work folder and its trust. Every
// refusal here leaves everything as it was.
Result<manifest::ManifestFile> load_checked_manifest(base::FileSystem& fs, const RollbackOptions& options) {
  TRY_ASSIGN_CTX(manifest::ManifestFile mf, manifest::load_manifest_file(fs, options.manifest_path),
                 "rollback refused, nothing was changed");
  std::vector<std::string> problems;
  std::set<std::string> paths;
  for (const auto& s : mf.manifest.stores) {
    if (!paths.insert(s.path).second)
      problems.push_back(label(s) + ": the same store path appears twice in the manifest");
    for (const auto& p : manifest::store_path_problems(fs, s)) problems.push_back(label(s) + ": " + p);
    for (const auto& p : manifest::backup_path_problems(fs, mf, s)) problems.push_back(label(s) + ": " + p);
  }
  if (!problems.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "rollback refused, nothing was changed: the manifest " + mf.path +
                          " names paths outside the folders it was written for:" + problem_list(problems));
  }
  TRY_ASSIGN(base::FileInfo work_info, fs.stat(mf.work_dir));
  if (!work_info.exists || !work_info.is_directory) {
    return make_error(ErrorCode::not_found,
                      "rollback refused: work folder " + mf.work_dir + " of manifest " + mf.path + " does not exist");
  }
  TRY(manifest::check_trusted(fs, mf, "rollback refused, nothing was changed"));
  return mf;
}

// Step 2: the same locks as backfill: the work folder, then each store's folder.
Status lock_stores(base::FileSystem& fs, const manifest::ManifestFile& mf, base::StoreFolderLocks& locks) {
  TRY_CTX(locks.lock_work_dir(fs, mf.work_dir), "rollback refused, nothing was changed");
  for (const auto& s : mf.manifest.stores) {
    TRY(locks.lock_folder(fs, base::parent_directory(s.path), "rollback refused, nothing was changed: " + label(s)));
  }
  return {};
}

// One plan a store, its outcome filled from the manifest.
std::vector<StorePlan> make_plans(const manifest::ManifestFile& mf) {
  std::vector<StorePlan> plans(mf.manifest.stores.size());
  for (size_t i = 0; i < plans.size(); ++i) {
    const manifest::StoreRecord& s = mf.manifest.stores[i];
    StorePlan& p = plans[i];
    p.record = &s;
    p.outcome.store = s.store;
    p.outcome.path = s.path;
    p.outcome.existed = s.existed;
    p.outcome.changed = s.changed;
    p.outcome.before_sha256 = s.before_sha256;
    p.outcome.after_sha256 = s.after_sha256;
    p.outcome.backup_path = s.backup_path;
  }
  return plans;
}

// Step 3, one thread: copies each store's backup beside the store (synced),
// hashing it as it goes. Failures are recorded in the plan, not returned.
void stage_backups(base::FileSystem& fs, const manifest::ManifestFile& mf, std::vector<StorePlan>& plans,
                   base::Progress* progress) {
  for (auto& p : plans) {
    const manifest::StoreRecord& s = *p.record;
    if (!s.existed || !s.backup_path) continue;
    auto info = fs.stat(*s.backup_path);
    if (info && !info->exists) {
      p.backup_missing = true;
      continue;
    }
    p.temp_path = base::store_temp_path(s.path, mf.run_id, ".rollback.tmp");
    // The staged copy holds the backup's bytes: from its first byte it is
    // no more open than the backup, nor than the store it will replace.
    uint32_t mode = info ? info->mode & 0777 : 0600;
    if (auto store = fs.stat(s.path); store && store->exists) mode &= store->mode;
    // Through the page cache (not create_bulk_file's O_DIRECT): copy_hashed
    // reads each piece back as soon as it is written, from memory.
    auto file = fs.create_file(p.temp_path, mode);
    if (!file) {
      p.stage_error = file.error().message();
      p.temp_path.clear();
      continue;
    }
    p.temp = std::move(*file);
    auto digest = copy_hashed(fs, *s.backup_path, *p.temp, p.temp_path, progress);
    // Sync now, while the other thread is still hashing the stores: the
    // copy is usually needed, and its write-back then overlaps that work.
    Status synced = digest ? p.temp->sync() : Status(tl::unexpected(digest.error()));
    auto staged_info = synced ? fs.stat(p.temp_path) : Result<base::FileInfo>(tl::unexpected(synced.error()));
    if (digest && staged_info) {
      p.staged_sha256 = digest->sha256;
      p.staged_info = *staged_info;
    } else if (digest) {
      p.stage_error = staged_info.error().message();
    } else {
      p.stage_error = digest.error().message();
      p.backup_missing = digest.error().code() == ErrorCode::not_found;
    }
  }
}

// Step 3, the other thread: what each store is now (found_sha256).
void hash_stores(base::FileSystem& fs, std::vector<StorePlan>& plans) {
  for (auto& p : plans) {
    auto info = fs.stat(p.record->path);
    if (!info) {
      p.hash_error = info.error().message();
      continue;
    }
    p.info = *info;
    if (!info->exists) continue;
    auto digest = hash::hash_file(fs, p.record->path);
    if (digest)
      p.outcome.found_sha256 = digest->sha256;
    else
      p.hash_error = digest.error().message();
  }
}

// The size of the backups preflight will copy (what the progress counts);
// a backup that cannot be stat'ed counts 0.
uint64_t backup_bytes(base::FileSystem& fs, const manifest::ManifestFile& mf) {
  uint64_t total = 0;
  for (const auto& s : mf.manifest.stores) {
    if (!s.existed || !s.backup_path) continue;
    auto info = fs.stat(*s.backup_path);
    if (info && info->exists && info->is_regular) total += info->size;
  }
  return total;
}

// Step 3: hash the stores on one thread, copy the backups beside them on another.
void preflight(base::FileSystem& fs, const manifest::ManifestFile& mf, std::vector<StorePlan>& plans,
               base::Progress* progress) {
  if (progress) progress->begin(backup_bytes(fs, mf));
  auto staged = std::async(std::launch::async, [&] { stage_backups(fs, mf, plans, progress); });
  hash_stores(fs, plans);
  staged.wait();
}

// A temporary copy that will not be used goes.
void drop_temp(base::FileSystem& fs, StorePlan& p) {
  if (p.temp) (void)p.temp->close();
  p.temp.reset();
  if (!p.temp_path.empty()) (void)fs.remove(p.temp_path);
  p.temp_path.clear();
}

// Decides what each store needs; collects every reason to refuse and, if
// there is one, drops every staged copy and returns the refusal. Otherwise
// drops the staged copies no restore will use.
Status decide(base::FileSystem& fs, const RollbackOptions& options, std::vector<StorePlan>& plans) {
  std::vector<std::string> drift, bad_backups, io;
  for (auto& p : plans) {
    const manifest::StoreRecord& s = *p.record;
    const std::optional<std::string>& found = p.outcome.found_sha256;
    if (!p.hash_error.empty()) {
      io.push_back(label(s) + ": cannot hash the store: " + p.hash_error);
      continue;
    }
    bool at_before = s.existed ? found && found == s.before_sha256 : !found;
    if (at_before) {
      p.outcome.action = StoreAction::already_at_before;
      continue;
    }
    p.need = s.existed ? Need::restore : Need::move_aside;
    if (!(found && *found == s.after_sha256)) {
      p.drifted = true;
      if (!options.force) {
        drift.push_back(label(s) + " has drifted: it " + (found ? "hashes to " + *found : std::string("is missing")) +
                        ", neither after_sha256 " + s.after_sha256 +
                        (s.before_sha256 ? " nor before_sha256 " + *s.before_sha256 : "") +
                        ", so it has been written since the migration and rolling back would lose those writes");
      }
    }
    if (p.need == Need::restore) {
      if (p.backup_missing) {
        bad_backups.push_back(label(s) + ": backup " + *s.backup_path + " is missing");
      } else if (!p.stage_error.empty()) {
        io.push_back(label(s) + ": cannot copy backup " + *s.backup_path + ": " + p.stage_error);
      } else if (p.staged_sha256 != s.before_sha256) {
        bad_backups.push_back(label(s) + ": backup " + *s.backup_path + " hashes to " + *p.staged_sha256 +
                              ", not before_sha256 " + *s.before_sha256 + "; it cannot restore the store");
      }
    }
  }
  if (!drift.empty() || !bad_backups.empty() || !io.empty()) {
    for (auto& p : plans) drop_temp(fs, p);
    std::string message = "rollback refused, nothing was changed:";
    message += problem_list(io) + problem_list(bad_backups) + problem_list(drift);
    if (!drift.empty()) {
      message +=
          "\nstop the service that writes the drifted stores, or rerun with --force to save their current "
          "bytes beside the backups and roll back anyway";
    }
    ErrorCode code = !io.empty()            ? ErrorCode::io_error
                     : !bad_backups.empty() ? ErrorCode::corruption
                                            : ErrorCode::conflict;
    return make_error(code, message);
  }
  for (auto& p : plans) {
    if (p.need != Need::restore) drop_temp(fs, p);
  }
  return {};
}

RollbackReport start_report(const manifest::ManifestFile& mf, const RollbackOptions& options, int64_t now_ns) {
  RollbackReport report;
  report.manifest_path = mf.path;
  report.manifest_sha256 = mf.sha256;
  report.run_id = mf.run_id;
  report.manifest_status = mf.manifest.status;
  report.work_dir = mf.work_dir;
  report.rolled_back_at = base::rfc3339_utc(now_ns);
  report.force = options.force;
  return report;
}

// Marks the store failed, and the run failed with it.
void fail(RollbackReport& report, StorePlan& p, const Error& e) {
  p.outcome.action = StoreAction::failed;
  p.outcome.error = e.message();
  report.failure = Error(e.code(), label(*p.record) + ": " + e.message());
}

// Step 4a: with force, keep the drifted bytes before anything is replaced.
void save_drifted(base::FileSystem& fs, std::vector<StorePlan>& plans, RollbackReport& report,
                  const std::string& backup_dir, int64_t now_ns) {
  for (auto& p : plans) {
    if (!p.drifted || p.need != Need::restore || !p.outcome.found_sha256) continue;
    std::string stem = p.record->store + "-drift-" + base::compact_utc(now_ns / 1000000000) + "-" +
                       p.outcome.found_sha256->substr(0, 12);
    Status st = fs.create_directories(backup_dir);
    auto path = st ? unused_path(fs, backup_dir, stem) : Result<std::string>(tl::unexpected(st.error()));
    if (path) st = save_copy(fs, p.record->path, *path, *p.outcome.found_sha256);
    if (!path || !st) {
      fail(report, p, path ? st.error() : path.error());
      break;
    }
    p.outcome.saved_path = *path;
  }
}

// Step 4b: leftover temporary files of this run (a crashed backfill's, or an earlier rollback's).
void remove_leftover_temps(base::FileSystem& fs, const manifest::ManifestFile& mf, std::vector<StorePlan>& plans,
                           RollbackReport& report) {
  for (auto& p : plans) {
    for (std::string_view suffix : {".tmp", ".rollback.tmp"}) {
      std::string temp = base::store_temp_path(p.record->path, mf.run_id, suffix);
      if (temp == p.temp_path) continue;
      auto info = fs.stat(temp);
      if (info && info->exists && info->is_regular && fs.remove(temp)) report.removed_temp_files.push_back(temp);
    }
  }
}

// Step 4c: replace the stores, up to the first failure; the rest are not reached.
void replace_stores(base::FileSystem& fs, std::vector<StorePlan>& plans, RollbackReport& report,
                    const std::string& backup_dir) {
  for (auto& p : plans) {
    if (report.failure) {
      if (p.outcome.action != StoreAction::already_at_before && p.outcome.action != StoreAction::failed) {
        p.outcome.action = StoreAction::not_reached;
      }
      drop_temp(fs, p);
      continue;
    }
    if (Status st = act(fs, p, backup_dir); !st) {
      fail(report, p, st.error());
      drop_temp(fs, p);
    }
  }
}

// Step 5: prove the end state, two stores at a time, while the replaced
// stores are let go; the outcomes go into the report.
void prove_all(base::FileSystem& fs, std::vector<StorePlan>& plans, RollbackReport& report) {
  auto released = std::async(std::launch::async, [&] {
    for (auto& p : plans) p.replaced.reset();
  });
  auto other_half = std::async(std::launch::async, [&] {
    for (size_t i = 1; i < plans.size(); i += 2) prove(fs, plans[i]);
  });
  for (size_t i = 0; i < plans.size(); i += 2) prove(fs, plans[i]);
  other_half.wait();
  released.wait();
  for (auto& p : plans) {
    report.stores.push_back(p.outcome);
    if (!report.failure && !p.outcome.verified) {
      report.failure = Error(ErrorCode::corruption, label(*p.record) + ": " + p.outcome.error);
    }
  }
}

// A backfill of this run that did not finish left a marker beside each
// store it was replacing (manifest::unfinished_run_marker_path); the run
// is rolled back now, so the markers that name it go.
void remove_unfinished_markers(base::FileSystem& fs, const manifest::ManifestFile& mf,
                               const std::vector<StorePlan>& plans) {
  std::string in_progress = base::join_path(base::join_path(mf.work_dir, "manifests"), mf.run_id + ".json.in-progress");
  for (const auto& p : plans) {
    std::string marker = manifest::unfinished_run_marker_path(p.record->path);
    auto info = fs.stat(marker);
    if (!info || !info->exists || !info->is_regular) continue;
    auto bytes = fs.read_file(marker);
    if (bytes && bytes->view().substr(0, bytes->view().find('\n')) == in_progress) (void)fs.remove(marker);
  }
}

// Step 6: the report, beside the other records of the work folder. A
// failure to write it is the run's failure unless it already has one.
void write_report(base::FileSystem& fs, const manifest::ManifestFile& mf, RollbackReport& report) {
  std::string reports_dir = base::join_path(mf.work_dir, "reports");
  Status st = fs.create_directories(reports_dir);
  auto path =
      st ? unused_path(fs, reports_dir, mf.run_id + "-rollback") : Result<std::string>(tl::unexpected(st.error()));
  if (path) {
    report.report_path = *path;
    st = base::write_file_atomic(fs, *path, to_json(report));
  }
  if (!path || !st) {
    report.report_path.clear();
    Error e = path ? st.error() : path.error();
    if (!report.failure) report.failure = e.with_context("cannot write the rollback report");
  }
}

}  // namespace

std::string_view store_action_name(StoreAction action) { return k_action_names[static_cast<size_t>(action)]; }

Result<RollbackReport> run_rollback(const RollbackOptions& options, base::FileSystem& fs, base::Clock& clock) {
  TRY_ASSIGN(const manifest::ManifestFile mf, load_checked_manifest(fs, options));  // 1
  base::StoreFolderLocks locks;
  TRY(lock_stores(fs, mf, locks));  // 2
  std::vector<StorePlan> plans = make_plans(mf);
  preflight(fs, mf, plans, options.progress);  // 3
  TRY(decide(fs, options, plans));

  int64_t now_ns = clock.now_ns();
  RollbackReport report = start_report(mf, options, now_ns);
  std::string backup_dir = manifest::run_backup_dir(mf);
  save_drifted(fs, plans, report, backup_dir, now_ns);                // 4a
  if (!report.failure) remove_leftover_temps(fs, mf, plans, report);  // 4b
  replace_stores(fs, plans, report, backup_dir);                      // 4c
  prove_all(fs, plans, report);                                       // 5
  if (!report.failure) remove_unfinished_markers(fs, mf, plans);
  write_report(fs, mf, report);  // 6
  return report;
}

std::string to_json(const RollbackReport& report) {
  json::Document doc;
  std::vector<json::Node> stores;
  for (const StoreOutcome& o : report.stores) {
    stores.push_back(doc.make_object({
        {doc.make_string("store"), doc.make_string(o.store)},
        {doc.make_string("path"), doc.make_string(o.path)},
        {doc.make_string("existed"), json::Node::boolean(o.existed)},
        {doc.make_string("changed"), json::Node::boolean(o.changed)},
        {doc.make_string("action"), doc.make_string(store_action_name(o.action))},
        {doc.make_string("before_sha256"), optional_string(doc, o.before_sha256)},
        {doc.make_string("after_sha256"), doc.make_string(o.after_sha256)},
        {doc.make_string("backup_path"), optional_string(doc, o.backup_path)},
        {doc.make_string("found_sha256"), optional_string(doc, o.found_sha256)},
        {doc.make_string("final_sha256"), optional_string(doc, o.final_sha256)},
        {doc.make_string("verified"), json::Node::boolean(o.verified)},
        {doc.make_string("saved_path"), optional_string(doc, o.saved_path)},
        {doc.make_string("error"), o.error.empty() ? json::Node::null() : doc.make_string(o.error)},
    }));
  }
  std::vector<json::Node> temps;
  for (const auto& t : report.removed_temp_files) temps.push_back(doc.make_string(t));
  json::Node root = doc.make_object({
      {doc.make_string("schema"), doc.make_string(report.schema)},
      {doc.make_string("ok"), json::Node::boolean(report.ok())},
      {doc.make_string("manifest"), doc.make_object({
                                        {doc.make_string("path"), doc.make_string(report.manifest_path)},
                                        {doc.make_string("sha256"), doc.make_string(report.manifest_sha256)},
                                        {doc.make_string("run_id"), doc.make_string(report.run_id)},
                                        {doc.make_string("status"), doc.make_string(report.manifest_status)},
                                    })},
      {doc.make_string("work_dir"), doc.make_string(report.work_dir)},
      {doc.make_string("rolled_back_at"), doc.make_string(report.rolled_back_at)},
      {doc.make_string("force"), json::Node::boolean(report.force)},
      {doc.make_string("stores"), doc.make_array(stores)},
      {doc.make_string("removed_temp_files"), doc.make_array(temps)},
      {doc.make_string("report_path"), doc.make_string(report.report_path)},
      {doc.make_string("error"), report.failure ? doc.make_string(report.failure->message()) : json::Node::null()},
  });
  return json::to_canonical_string(root);
}

std::vector<std::string> human_lines(const RollbackReport& report) {
  std::vector<std::string> lines;
  for (const auto& t : report.removed_temp_files) lines.push_back("removed leftover temporary file: " + t);
  size_t done = 0;
  for (const StoreOutcome& o : report.stores) {
    std::string tag = "[" + o.store + "] " + o.path;
    std::string proof = o.verified
                            ? (o.existed ? " (verified: sha256 " + o.final_sha256.value_or("") + " = before_sha256)"
                                         : " (verified: the store is absent, as before the migration)")
                            : " (NOT verified)";
    switch (o.action) {
      case StoreAction::restored:
        lines.push_back("restored: " + tag + proof);
        break;
      case StoreAction::restored_drifted:
        lines.push_back("restored: " + tag + " after drift; its bytes are saved in " + o.saved_path.value_or("?") +
                        proof);
        break;
      case StoreAction::moved_aside:
      case StoreAction::moved_aside_drifted:
        lines.push_back("moved aside: " + tag + " -> " + o.saved_path.value_or("?") + " (the migration created it" +
                        (o.action == StoreAction::moved_aside_drifted ? "; it had been written since" : "") + ")" +
                        proof);
        break;
      case StoreAction::already_at_before:
        lines.push_back("already rolled back: " + tag +
                        (o.existed ? " hashes to before_sha256 " + o.before_sha256.value_or("")
                                   : " is absent (the migration created it)"));
        break;
      case StoreAction::failed:
        lines.push_back("error: " + tag + ": " + o.error);
        break;
      case StoreAction::not_reached:
        lines.push_back("not reached: " + tag + proof);
        break;
    }
    done += o.verified ? 1 : 0;
  }
  std::string n = std::to_string(report.stores.size());
  if (report.ok()) {
    lines.push_back("rollback: ok: " + n + " store" + (report.stores.size() == 1 ? "" : "s") +
                    " at their pre-migration state; report " + report.report_path);
  } else {
    lines.push_back("rollback: FAILED: " + report.failure->message() + "; " + std::to_string(done) + " of " + n +
                    " stores verified at their pre-migration state" +
                    (report.report_path.empty() ? "" : "; report " + report.report_path) +
                    ". Fix the cause and run rollback again: it finishes the job");
  }
  return lines;
}

}  // namespace cutover::rollback
