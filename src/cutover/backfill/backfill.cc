#include "cutover/backfill/backfill.h"

#include <cstdint>
#include <cstring>
#include <ctime>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "cutover/backfill/pipelined_write.h"
#include "cutover/backfill/unfinished_runs.h"
#include "cutover/base/store_folder.h"
#include "cutover/base/version.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"
#include "cutover/store/counts.h"
#include "cutover/store/migration.h"

namespace cutover::backfill {
namespace {

constexpr std::string_view k_tool = base::k_tool_version;

// One store as planned: its parsed and migrated document and what we know.
struct StoreJob {
  const store::StoreSpec* spec = nullptr;
  std::string path;  // absolute
  base::FileInfo info;
  base::Buffer raw;    // the bytes read: what the backup holds
  json::Document doc;  // parsed from raw; its strings point into it
  manifest::StoreRecord record;
  std::string temp_path;  // where the new bytes wait before the rename
  bool replaced = false;  // the rename happened
  // The store file as read, held open: a write into it after the read is
  // seen even once the new file has been renamed over its path.
  std::unique_ptr<base::HeldFile> held;
  base::FileInfo new_info;  // the temporary file just before its rename
  // A write into the store between the last check and the rename: its bytes,
  // which the undo puts back instead of the bytes that were read.
  std::optional<base::Buffer> late_write;
  bool create_folder = false;  // the store's folder does not exist yet
};

// Compares the canonical stream against the current bytes; stops at the first difference.
class CompareSink final : public json::ChunkSink {
 public:
  explicit CompareSink(std::string_view expected) : expected_(expected) {}
  bool write(std::string_view chunk) override {
    if (chunk.size() > expected_.size() - pos_ ||
        std::memcmp(chunk.data(), expected_.data() + pos_, chunk.size()) != 0) {
      return false;
    }
    pos_ += chunk.size();
    return true;
  }
  bool matched_all() const { return pos_ == expected_.size(); }

 private:
  std::string_view expected_;
  size_t pos_ = 0;
};

// A store of this size and more is written on several threads.
constexpr size_t k_parallel_write_bytes = size_t{4} << 20;

// The canonical bytes of the plan's document into `sink`; false if the sink stopped it.
bool write_document(const json::Document& doc, size_t raw_size, json::ChunkSink& sink) {
  if (raw_size >= k_parallel_write_bytes) return json::write_canonical_parallel(doc.root(), sink);
  return json::write_canonical(doc.root(), sink);
}
bool write_store(const StoreJob& plan, json::ChunkSink& sink) {
  return write_document(plan.doc, plan.raw.size(), sink);
}

std::string store_label(const std::string& kind, const std::string& path) {
  return "store " + kind + " (" + path + ")";
}

// Permission bits for a copy of the store (a backup, a temporary file):
// the store's own, from the first byte, so that a copy is never readable by
// more users than the store (the umask may make it less).
uint32_t copy_mode(const base::FileInfo& store) { return store.exists ? store.mode & 0777 : 0644; }

constexpr std::string_view k_stop_writers =
    "a service is still writing it: stop the services that write the stores, or point them at other files, for the "
    "whole migrate step, then run backfill again";

// The same file, unchanged: device, inode, size, modification time and,
// with `with_ctime`, change time (a rename over the path or an unlink
// changes a file's ctime, so the checks after a rename leave it out).
bool same_file(const base::FileInfo& a, const base::FileInfo& b, bool with_ctime) {
  return a.exists == b.exists && a.device == b.device && a.inode == b.inode && a.size == b.size &&
         a.mtime_ns == b.mtime_ns && (!with_ctime || a.ctime_ns == b.ctime_ns);
}

// What happened to a file, in words, from its stat before and after.
std::string what_changed(const base::FileInfo& before, const base::FileInfo& now) {
  if (before.exists && !now.exists) return "it was removed";
  if (!before.exists && now.exists) return "it was created";
  if (before.device != now.device || before.inode != now.inode) return "another file was renamed over it";
  return "it was written (size " + std::to_string(before.size) + " -> " + std::to_string(now.size) +
         ", or its modification or change time moved)";
}

Error changed_error(const std::string& label, const std::string& when, const base::FileInfo& before,
                    const base::FileInfo& now) {
  return Error(ErrorCode::conflict, label + ": the store changed " + when + ": " + what_changed(before, now) + "; " +
                                        std::string(k_stop_writers));
}

// Writes a backup. The run folder is new and ours (under the work-folder
// lock), so a file already there is a bug or an intruder: refuse it. Written
// as a bulk file: on the real file system that skips the page cache copy.
// Appended in pieces, each spending half its size from `share` (all of it by the end).
Status write_new_file(base::FileSystem& fs, const std::string& path, std::string_view bytes, uint32_t mode,
                      base::ProgressShare share) {
  TRY_ASSIGN(base::FileInfo info, fs.stat(path));
  if (info.exists) return make_error(ErrorCode::conflict, path + " already exists; refusing to overwrite a backup");
  TRY_ASSIGN(auto file, fs.create_bulk_file(path, mode));
  constexpr size_t k_piece = size_t{32} << 20;
  for (size_t at = 0; at < bytes.size(); at += k_piece) {
    std::string_view piece = bytes.substr(at, k_piece);
    TRY(file->append(piece));
    share.spend(piece.size() / 2);
  }
  share.spend_rest();  // an odd byte
  TRY(file->sync());
  return file->close();
}

// Step 2's parse and migration of one store's bytes (`raw`; none for a
// missing store, which starts from {}) into `doc`, whose strings then point
// into `raw`. What a destructive reset replaced is appended to `resets`.
// Errors name the store (`label`) and say what to do.
Status parse_and_migrate(json::Document& doc, std::optional<std::string_view> raw, const store::StoreSpec& spec,
                         bool allow_destructive_reset, const std::string& label, std::vector<std::string>& resets) {
  if (raw) {
    auto parsed = json::parse_borrowed(*raw);
    if (parsed) {
      doc = std::move(*parsed);
    } else if (allow_destructive_reset) {
      // The reference tool's behaviour: start over from {}. The backup keeps the bytes.
      resets.push_back("not valid JSON (" + parsed.error().message() + "); replaced by {}");
      doc.set_root(json::Node::object_ref(nullptr, 0));
    } else {
      return make_error(
          ErrorCode::invalid_argument,
          label + ": not valid JSON: " + parsed.error().message() +
              "; the reference tool would have replaced the store with {}. Fix or restore the file, or "
              "rerun with --allow-destructive-reset to do what the reference did (the backup keeps the old bytes)");
    }
  } else {
    doc.set_root(json::Node::object_ref(nullptr, 0));
  }
  store::MigrationOptions migration_options{allow_destructive_reset};
  auto migrated = store::migrate(doc, spec, migration_options);
  if (!migrated) {
    return make_error(ErrorCode::invalid_argument,
                      label + ": " + migrated.error().message() +
                          "; fix the store, or rerun with --allow-destructive-reset to reproduce the reference tool "
                          "(the backup keeps the old bytes)");
  }
  resets.insert(resets.end(), migrated->resets.begin(), migrated->resets.end());
  return {};
}

// Step 2: the store's folder exists and may be written (then a marker of an
// unfinished run beside the store is judged), or can be created with its
// missing parents (plan.create_folder). Errors name the store (`label`).
Status check_folder(StoreJob& plan, base::FileSystem& fs, const std::string& work_dir, const std::string& label) {
  std::string folder = base::parent_directory(plan.path);
  TRY_ASSIGN_CTX(base::FileInfo folder_info, fs.stat(folder), label);
  if (!folder_info.exists) {
    // Created with its folder, as the reference tool did (step 3): the
    // nearest folder that exists must be one we may create folders in.
    std::string existing = folder;
    base::FileInfo existing_info;
    do {
      existing = base::parent_directory(existing);
      TRY_ASSIGN_CTX(existing_info, fs.stat(existing), label);
    } while (!existing_info.exists && existing != "/");
    if (!existing_info.is_directory) {
      return make_error(ErrorCode::invalid_argument,
                        label + ": cannot create folder " + folder + ": " + existing + " is not a folder");
    }
    TRY_CTX(fs.check_writable(existing), label + ": cannot create folder " + folder);
    plan.create_folder = true;
    return {};
  }
  if (!folder_info.is_directory) {
    return make_error(ErrorCode::invalid_argument, label + ": " + folder + " is not a folder");
  }
  TRY_CTX(fs.check_writable(folder), label);
  return check_run_marker(fs, plan.path, work_dir, label);
}

// A crash before a run's in-progress manifest leaves its temporary file
// beside the store. No manifest names it and the store never depended on
// it (stores change only by renaming a complete temp file), so under the
// store-folder lock it is safe to remove.
void remove_crashed_temps(const StoreJob& plan, base::FileSystem& fs) {
  if (plan.create_folder) return;
  std::string folder = base::parent_directory(plan.path);
  auto names = fs.list_directory(folder);
  if (!names) return;
  for (const auto& name : *names) {
    if (base::is_store_temp_name(name, base::file_name(plan.path))) {
      (void)fs.remove(base::join_path(folder, name));
    }
  }
}

// Step 2: reads the store (held open, and checked to be the very file
// stat'ed at planning, unchanged, from before the read to after it), hashes
// it into before_sha256 and parses and migrates it. A missing store starts
// from {}. Errors name the store (`label`).
Status read_and_migrate(StoreJob& plan, base::FileSystem& fs, const BackfillOptions& options,
                        const std::string& label) {
  if (!plan.info.exists) {
    return parse_and_migrate(plan.doc, std::nullopt, *plan.spec, options.allow_destructive_reset, label,
                             plan.record.destructive_resets);
  }
  TRY_ASSIGN_CTX(plan.held, fs.hold_file(plan.path), label);
  TRY_ASSIGN_CTX(base::FileInfo held_info, plan.held->stat(), label);
  if (!same_file(plan.info, held_info, true))
    return tl::unexpected(changed_error(label, "while it was read", plan.info, held_info));
  TRY_ASSIGN_CTX(plan.raw, fs.read_file(plan.path), label);
  TRY_ASSIGN_CTX(base::FileInfo after_read, fs.stat(plan.path), label);
  if (!same_file(plan.info, after_read, true) || plan.raw.size() != plan.info.size) {
    return tl::unexpected(changed_error(label, "while it was read", plan.info, after_read));
  }
  if (options.progress) options.progress->advance(plan.info.size / 4);
  // Hash the raw bytes on a second thread while this one parses them.
  auto before = std::async(std::launch::async, [view = plan.raw.view()] { return hash::sha256_hex(view); });
  Status st = parse_and_migrate(plan.doc, plan.raw.view(), *plan.spec, options.allow_destructive_reset, label,
                                plan.record.destructive_resets);
  plan.record.before_sha256 = before.get();
  return st;
}

// Step 2 for one store. Errors name the store.
Result<StoreJob> plan_store(const StoreTarget& target, const store::SpecRegistry& specs, base::FileSystem& fs,
                             const BackfillOptions& options, const std::string& work_dir) {
  StoreJob plan;
  plan.path = base::absolute_path(target.path);
  std::string label = store_label(target.kind, plan.path);
  TRY_ASSIGN_CTX(plan.spec, specs.find(target.kind), label);
  TRY_ASSIGN_CTX(plan.info, fs.stat(plan.path), label);
  if (plan.info.is_symlink) {
    return make_error(ErrorCode::invalid_argument, label +
                                                       ": the path is a symbolic link; a migration would replace "
                                                       "the link with a file. Pass the real path of the store");
  }
  if (plan.info.exists && !plan.info.is_regular) {
    return make_error(ErrorCode::invalid_argument, label + ": not a regular file");
  }
  TRY(check_folder(plan, fs, work_dir, label));
  remove_crashed_temps(plan, fs);

  plan.record.store = target.kind;
  plan.record.path = plan.path;
  plan.record.existed = plan.info.exists;
  plan.record.spec_source = plan.spec->source;
  TRY(read_and_migrate(plan, fs, options, label));
  plan.record.counts = store::count_all(plan.doc.root(), *plan.spec);

  if (plan.info.exists) {
    CompareSink compare(plan.raw.view());
    bool same = write_store(plan, compare) && compare.matched_all();
    plan.record.changed = !same;
    if (same) plan.record.after_sha256 = *plan.record.before_sha256;
  } else {
    plan.record.changed = true;
  }
  if (options.progress) options.progress->advance(plan.info.size / 4);
  return plan;
}

// The store's share of the progress for step 3 (what plan_store did not count).
base::ProgressShare write_share(const StoreJob& plan, base::Progress* progress) {
  return base::ProgressShare(progress, plan.info.size - 2 * (plan.info.size / 4));
}

// Step 3b: the new bytes of one changed store, written beside it.
Status write_temp(StoreJob& plan, const std::string& run_id, base::FileSystem& fs, base::Progress* progress) {
  plan.temp_path = base::store_temp_path(plan.path, run_id, ".tmp");
  TRY_ASSIGN(auto file, fs.create_bulk_file(plan.temp_path, copy_mode(plan.info)));
  TRY_ASSIGN(std::string after_sha256, write_pipelined(*file, write_share(plan, progress),
                                                       [&](json::ChunkSink& sink) { write_store(plan, sink); }));
  TRY(file->sync());
  TRY(file->close());
  if (plan.info.exists) {  // the new file keeps the store's owner, and exactly its permissions
    TRY(fs.set_owner(plan.temp_path, plan.info.uid, plan.info.gid));
    TRY(fs.set_mode(plan.temp_path, plan.info.mode));
  }
  plan.record.after_sha256 = std::move(after_sha256);
  return {};
}

// Step 5, just before the rename: the store path still names the file that
// was read, unchanged (absent, for a store this run creates). Also takes the
// temporary file's identity, to know it again after the rename. For an
// unchanged store (not replaced), the same check after the last rename.
Status check_before_replace(StoreJob& plan, base::FileSystem& fs) {
  std::string label = store_label(plan.record.store, plan.path);
  if (plan.record.changed) {
    TRY_ASSIGN_CTX(plan.new_info, fs.stat(plan.temp_path), label);
  }
  TRY_ASSIGN_CTX(base::FileInfo now, fs.stat(plan.path), label);
  if (!same_file(plan.info, now, true)) {
    return tl::unexpected(changed_error(
        label, plan.record.changed ? "after backfill read it, before it was replaced" : "while backfill ran", plan.info,
        now));
  }
  return {};
}

// Step 5, just after the rename: the file that was read took no write
// between the check above and the rename (the held file shows it), and the
// path names the new file. A late write's bytes are kept for the undo.
Status check_after_replace(StoreJob& plan, base::FileSystem& fs) {
  std::string label = store_label(plan.record.store, plan.path);
  if (plan.held) {
    TRY_ASSIGN_CTX(base::FileInfo held, plan.held->stat(), label);
    if (!same_file(plan.info, held, false)) {
      Error e = changed_error(label, "while backfill replaced it", plan.info, held);
      auto bytes = plan.held->read_all();
      if (bytes) {
        plan.late_write = std::move(*bytes);
      } else {
        e = Error(e.code(), e.message() + " (its new bytes could not be read back: " + bytes.error().message() +
                                "; the backup holds the bytes that were read)");
      }
      return tl::unexpected(e);
    }
  }
  TRY_ASSIGN_CTX(base::FileInfo now, fs.stat(plan.path), label);
  if (!same_file(plan.new_info, now, false)) {
    return tl::unexpected(changed_error(label, "just after backfill replaced it", plan.new_info, now));
  }
  return {};
}

void remove_temps(std::vector<StoreJob>& plans, base::FileSystem& fs) {
  for (auto& plan : plans) {
    if (!plan.temp_path.empty() && !plan.replaced) (void)fs.remove(plan.temp_path);
  }
}

// After a failure in step 5: puts back every store already replaced.
// Returns a sentence for the error message.
std::string restore_replaced(std::vector<StoreJob>& plans, base::FileSystem& fs) {
  std::string restored;
  std::string failed;
  for (auto& plan : plans) {
    if (!plan.replaced) continue;
    // Only the file this run put there is undone: one written or replaced
    // since is someone's newer data, left as it is.
    Status st = ok_status();
    auto now = fs.stat(plan.path);
    if (!now) {
      st = tl::unexpected(now.error());
    } else if (!same_file(plan.new_info, *now, false)) {
      st = make_error(ErrorCode::conflict,
                      "left as it is: " + what_changed(plan.new_info, *now) + " after this run replaced it");
    }
    const base::Buffer& bytes = plan.late_write ? *plan.late_write : plan.raw;
    if (st)
      st = plan.info.exists ? base::write_file_atomic(fs, plan.path, bytes.view(), &plan.info) : fs.remove(plan.path);
    if (st && !plan.info.exists) st = fs.sync_directory(base::parent_directory(plan.path));
    std::string& list = st ? restored : failed;
    list += (list.empty() ? "" : ", ") + plan.record.store;
    if (st && plan.late_write) restored += " (with the write made while it was replaced)";
    if (!st) failed += " (" + st.error().message() + ")";
  }
  std::string out;
  if (!restored.empty()) out += "; restored the stores already changed: " + restored;
  if (!failed.empty()) out += "; COULD NOT RESTORE " + failed + ": run `cutover rollback` on the in-progress manifest";
  if (restored.empty() && failed.empty()) out += "; no store had been changed";
  return out;
}

Result<int64_t> run_id_seconds(std::string_view name) {
  // "20261127T024409Z..."
  if (name.size() < 16 || name[8] != 'T' || name[15] != 'Z')
    return make_error(ErrorCode::invalid_argument, "not a run id");
  for (size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}) {
    if (name[i] < '0' || name[i] > '9') return make_error(ErrorCode::invalid_argument, "not a run id");
  }
  auto num = [&](size_t at, size_t len) { return std::stoi(std::string(name.substr(at, len))); };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

std::string next_run_id(int64_t now_unix_seconds, const std::vector<std::string>& existing) {
  int64_t t = now_unix_seconds;
  for (const auto& name : existing) {
    auto seconds = run_id_seconds(name);
    if (seconds && *seconds >= t) t = *seconds + 1;
  }
  return base::compact_utc(t);
}

namespace {
class StringSink final : public json::ChunkSink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  bool write(std::string_view chunk) override {
    out_.append(chunk);
    return true;
  }

 private:
  std::string& out_;
};
}  // namespace

Result<MigratedForm> migrated_form(std::optional<std::string_view> current, const store::StoreSpec& spec,
                                   bool allow_destructive_reset, const std::string& label) {
  MigratedForm form;
  json::Document doc;
  TRY(parse_and_migrate(doc, current, spec, allow_destructive_reset, label, form.destructive_resets));
  form.counts = store::count_all(doc.root(), spec);
  StringSink sink(form.bytes);
  write_document(doc, current ? current->size() : 0, sink);
  form.changed = !current || *current != form.bytes;
  return form;
}

namespace {

// What names one run, and where its records go.
struct RunPaths {
  std::string work_dir;  // absolute
  std::string manifests_dir;
  std::string backup_dir;
  std::string run_id;
  std::string manifest_path;
  std::string in_progress_path;
  int64_t now_ns = 0;
};

Status check_options(const BackfillOptions& options) {
  if (options.stores.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "no store to migrate: pass --store NAME=PATH, or set AUTH_STORE_PATH, "
                      "CODEX_THREAD_STORE_PATH or DOMAIN_STORE_PATH");
  }
  if (options.work_dir.empty())
    return make_error(ErrorCode::invalid_argument,
                      "no work folder: pass --work-dir, or set CUTOVER_WORK_DIR (environment or ./cutover.conf)");
  return {};
}

// Step 1: locks: the work folder (created if missing), then each store's folder once.
Status lock_stores(base::FileSystem& fs, const BackfillOptions& options, const std::string& work_dir,
                   base::StoreFolderLocks& locks) {
  TRY(fs.create_directories(work_dir));
  TRY(locks.lock_work_dir(fs, work_dir));
  std::set<std::string> seen_paths;
  for (const auto& target : options.stores) {
    std::string path = base::absolute_path(target.path);
    if (!seen_paths.insert(path).second) {
      return make_error(ErrorCode::invalid_argument, "store path " + path + " is given twice");
    }
    // A missing folder is reported by the plan with the store's name.
    TRY(locks.lock_folder(fs, base::parent_directory(path), store_label(target.kind, path)));
  }
  return {};
}

// The size of the stores as they are now: the progress's total.
uint64_t store_bytes(base::FileSystem& fs, const BackfillOptions& options) {
  uint64_t total = 0;
  for (const auto& target : options.stores) {
    auto info = fs.stat(base::absolute_path(target.path));
    if (info && info->exists && info->is_regular) total += info->size;
  }
  return total;
}

// Step 2: plan every store; collect every refusal before stopping.
Result<std::vector<StoreJob>> plan_stores(const BackfillOptions& options, const store::SpecRegistry& specs,
                                           base::FileSystem& fs, const std::string& work_dir) {
  std::vector<StoreJob> plans;
  std::string refusals;
  ErrorCode refusal_code = ErrorCode::invalid_argument;
  for (const auto& target : options.stores) {
    auto plan = plan_store(target, specs, fs, options, work_dir);
    if (!plan) {
      refusals += (refusals.empty() ? "" : "\n") + plan.error().message();
      refusal_code = plan.error().code();
      continue;
    }
    plans.push_back(std::move(*plan));
  }
  if (!refusals.empty()) return make_error(refusal_code, refusals + "\nnothing was changed");
  return plans;
}

// A store whose folder is missing: create the folder (and its missing
// parents) and lock it like the others. Returns the folders created.
Result<std::vector<std::string>> create_missing_folders(base::FileSystem& fs, const std::vector<StoreJob>& plans,
                                                        base::StoreFolderLocks& locks) {
  std::vector<std::string> created_folders;
  for (const auto& plan : plans) {
    if (!plan.create_folder) continue;
    std::string folder = base::parent_directory(plan.path);
    std::vector<std::string> missing;
    for (std::string f = folder;; f = base::parent_directory(f)) {
      TRY_ASSIGN(base::FileInfo info, fs.stat(f));
      if (info.exists || f == "/") break;
      missing.insert(missing.begin(), f);
    }
    TRY_CTX(fs.create_directories(folder),
            "no store was changed: " + store_label(plan.record.store, plan.path) + ": cannot create its folder");
    created_folders.insert(created_folders.end(), missing.begin(), missing.end());
    TRY(locks.lock_folder(fs, folder, store_label(plan.record.store, plan.path)));
  }
  return created_folders;
}

// The run id, which names the manifest and the backup folder (created here).
Result<RunPaths> start_run(base::FileSystem& fs, const std::string& work_dir, base::Clock& clock) {
  RunPaths run;
  run.work_dir = work_dir;
  run.manifests_dir = base::join_path(work_dir, "manifests");
  std::string backups_root = base::join_path(work_dir, "backups");
  TRY(fs.create_directories(run.manifests_dir));
  TRY(fs.create_directories(backups_root));
  std::vector<std::string> existing;
  for (const auto& dir : {run.manifests_dir, backups_root}) {
    TRY_ASSIGN(auto names, fs.list_directory(dir));
    existing.insert(existing.end(), names.begin(), names.end());
  }
  run.now_ns = clock.now_ns();
  run.run_id = next_run_id(run.now_ns / 1000000000, existing);
  run.backup_dir = base::join_path(backups_root, run.run_id);
  run.manifest_path = base::join_path(run.manifests_dir, run.run_id + ".json");
  run.in_progress_path = run.manifest_path + ".in-progress";
  TRY(fs.create_directories(run.backup_dir));
  return run;
}

// Step 3: backups on one thread, temporary files of the changed stores on
// this one. On failure nothing is left beside the stores.
Status write_backups_and_temps(base::FileSystem& fs, std::vector<StoreJob>& plans, const RunPaths& run,
                               base::Progress* progress) {
  for (auto& plan : plans) {
    if (!plan.info.exists) continue;
    plan.record.backup_path =
        base::join_path(run.backup_dir, plan.record.store + "-" + run.run_id + "-" +
                                            plan.record.before_sha256->substr(0, 12) + ".bak.json");
  }
  auto backups_done = std::async(std::launch::async, [&]() -> Status {
    for (auto& plan : plans) {
      if (!plan.record.backup_path) continue;
      // The backup is the progress of a store that is not rewritten.
      base::ProgressShare share = plan.record.changed ? base::ProgressShare() : write_share(plan, progress);
      TRY_CTX(write_new_file(fs, *plan.record.backup_path, plan.raw.view(), copy_mode(plan.info), share),
              "backup of " + store_label(plan.record.store, plan.path));
    }
    return fs.sync_directory(run.backup_dir);
  });
  Status temps = ok_status();
  for (auto& plan : plans) {
    if (!plan.record.changed) continue;
    temps = write_temp(plan, run.run_id, fs, progress);
    if (!temps) {
      temps = tl::unexpected(std::move(temps).error().with_context(store_label(plan.record.store, plan.path)));
      break;
    }
  }
  Status backups = backups_done.get();
  if (!backups || !temps) {
    remove_temps(plans, fs);
    const Error& e = !backups ? backups.error() : temps.error();
    return tl::unexpected(Error(e.code(), e.message() + "; no store was changed"));
  }
  return {};
}

manifest::Manifest in_progress_manifest(const std::vector<StoreJob>& plans, const RunPaths& run) {
  manifest::Manifest m;
  m.generated_at = base::rfc3339_utc(run.now_ns);
  m.run_id = run.run_id;
  m.status = std::string(manifest::k_status_in_progress);
  m.canonical_form = std::string(json::k_canonical_version);
  m.tool = std::string(k_tool);
  m.work_dir = run.work_dir;
  for (const auto& plan : plans) m.stores.push_back(plan.record);
  return m;
}

// The markers beside the stores to be replaced (manifest::unfinished_run_marker_path).
void remove_markers(base::FileSystem& fs, const std::vector<StoreJob>& plans) {
  for (const auto& plan : plans) {
    if (plan.record.changed) (void)fs.remove(manifest::unfinished_run_marker_path(plan.path));
  }
}

// Step 4: the in-progress manifest: enough on disk to roll back from any
// instant; the markers beside the stores to be replaced first, as they name it.
Status write_in_progress(base::FileSystem& fs, std::vector<StoreJob>& plans, const RunPaths& run,
                         const manifest::Manifest& m) {
  for (auto& plan : plans) {
    if (!plan.record.changed) continue;
    std::string marker = manifest::unfinished_run_marker_path(plan.path);
    if (auto st =
            base::write_file_atomic(fs, marker, run.in_progress_path + "\n", plan.info.exists ? &plan.info : nullptr);
        !st) {
      remove_temps(plans, fs);
      remove_markers(fs, plans);
      return tl::unexpected(st.error().with_context("marker " + marker).with_context("no store was changed"));
    }
  }
  if (auto st = base::write_file_atomic(fs, run.in_progress_path, manifest::to_json(m)); !st) {
    remove_temps(plans, fs);
    remove_markers(fs, plans);
    (void)fs.remove(run.in_progress_path);  // renamed into place before a failed folder fsync: it records nothing
    return tl::unexpected(st.error().with_context("in-progress manifest").with_context("no store was changed"));
  }
  return {};
}

// Undoes step 5 so far (restore_replaced); when every store is back, the
// attempt is kept as .json.failed, out of the way of the manifests glob,
// instead of the in-progress manifest. The sentence for the error message.
std::string undo(base::FileSystem& fs, std::vector<StoreJob>& plans, const RunPaths& run, manifest::Manifest& m) {
  std::string outcome = restore_replaced(plans, fs);
  remove_temps(plans, fs);
  m.status = std::string(manifest::k_status_failed_restored);
  if (outcome.find("COULD NOT") == std::string::npos) {
    (void)base::write_file_atomic(fs, run.manifest_path + ".failed", manifest::to_json(m));
    (void)fs.remove(run.in_progress_path);
    remove_markers(fs, plans);
  }
  return outcome;
}

// Step 5: replace the stores, each only while its path still names the file
// that was read, unchanged; and check again after the rename that no write
// went into the replaced file meanwhile. On failure the run is undone.
Status replace_stores(base::FileSystem& fs, std::vector<StoreJob>& plans, const RunPaths& run, manifest::Manifest& m) {
  for (auto& plan : plans) {
    if (!plan.record.changed) continue;
    Status st = check_before_replace(plan, fs);
    bool identity = !st;
    if (st) st = fs.rename(plan.temp_path, plan.path);
    if (st) {
      plan.replaced = true;
      st = check_after_replace(plan, fs);
      identity = !st;
      if (st) st = fs.sync_directory(base::parent_directory(plan.path));
    }
    if (!st) {
      std::string outcome = undo(fs, plans, run, m);
      if (identity) return tl::unexpected(Error(st.error().code(), st.error().message() + outcome));
      return tl::unexpected(Error(
          st.error().code(),
          store_label(plan.record.store, plan.path) + ": cannot replace the store: " + st.error().message() + outcome));
    }
  }
  // An unchanged store is not replaced, but a write into it means a writer
  // is still running (and the manifest would record a stale after_sha256):
  // the run is undone all the same.
  for (auto& plan : plans) {
    if (plan.record.changed) continue;
    if (Status st = check_before_replace(plan, fs); !st) {
      std::string outcome = undo(fs, plans, run, m);
      return tl::unexpected(Error(st.error().code(), st.error().message() + outcome));
    }
  }
  return {};
}

// Step 6: the final manifest, then the in-progress one goes. Every store is
// migrated by now, so an error here says so and names the manifest that
// records the run (the stores are not put back: the in-progress manifest
// and the backups are in place for rollback).
Status finish_run(base::FileSystem& fs, const std::vector<StoreJob>& plans, const RunPaths& run,
                  manifest::Manifest& m) {
  m.status = std::string(manifest::k_status_complete);
  if (Status st = base::write_file_atomic(fs, run.manifest_path, manifest::to_json(m)); !st) {
    return tl::unexpected(
        Error(st.error().code(), "every store is migrated, but the final manifest " + run.manifest_path +
                                     " could not be written: " + st.error().message() + "; the in-progress manifest " +
                                     run.in_progress_path + " records the run: `cutover rollback " +
                                     run.in_progress_path + "` restores the stores"));
  }
  Status st = fs.remove(run.in_progress_path);
  if (st) st = fs.sync_directory(run.manifests_dir);
  remove_markers(fs, plans);  // a marker left by a crash here names a completed run: stale
  if (!st) {
    return tl::unexpected(
        Error(st.error().code(), "every store is migrated and the final manifest " + run.manifest_path +
                                     " records the run, but the in-progress manifest " + run.in_progress_path +
                                     " could not be removed: " + st.error().message() + "; remove it by hand"));
  }
  return {};
}

}  // namespace

Result<BackfillResult> run_backfill(const BackfillOptions& options, const store::SpecRegistry& specs,
                                    base::FileSystem& fs, base::Clock& clock) {
  TRY(check_options(options));
  std::string work_dir = base::absolute_path(options.work_dir);
  base::StoreFolderLocks locks;
  TRY(lock_stores(fs, options, work_dir, locks));  // 1
  TRY(check_no_unfinished_run(fs, work_dir));
  if (options.progress) options.progress->begin(store_bytes(fs, options));
  TRY_ASSIGN(std::vector<StoreJob> plans, plan_stores(options, specs, fs, work_dir));  // 2
  TRY_ASSIGN(std::vector<std::string> created_folders, create_missing_folders(fs, plans, locks));
  TRY_ASSIGN(const RunPaths run, start_run(fs, work_dir, clock));
  TRY(write_backups_and_temps(fs, plans, run, options.progress));  // 3
  manifest::Manifest m = in_progress_manifest(plans, run);
  TRY(write_in_progress(fs, plans, run, m));  // 4
  TRY(replace_stores(fs, plans, run, m));     // 5
  TRY(finish_run(fs, plans, run, m));         // 6
  return BackfillResult{std::move(m), run.manifest_path, run.backup_dir, std::move(created_folders)};
}

}  // namespace cutover::backfill
