// cutover prune --keep N [--older-than DAYS] [--work-dir DIR] [--dry-run]:
// removes old runs' backups (WORK/backups/<run>/) when it is safe (issue 16).
//
//   1. lock the work folder (.cutover.lock, as backfill and rollback do), so
//      no run starts or rolls back while backups go;
//   2. list the runs (manifest/runs.h) and find which are verified: a
//      passing verify report for the run's manifest (same SHA-256) in
//      WORK/reports or under --evidence, or a verify step in --ledger;
//   3. decide (manifest::plan_prune): never the newest N runs, never an
//      unfinished run's backups, only when a newer complete run is verified;
//   4. remove each chosen folder (its files, then the folder; the work
//      folder's backups/ is fsynced), printing what was removed or kept and
//      why. --dry-run stops after printing.
//
// Manifests and reports are kept: they are the record. Exit 0 when done (or
// nothing to do), 1 when something could not be checked or removed, 2 usage.
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/evidence_scan.h"
#include "cli/output.h"
#include "cli/settings.h"
#include "cli/sources.h"
#include "cutover/base/store_folder.h"
#include "cutover/gates/gates.h"
#include "cutover/json/document.h"
#include "cutover/json/writer.h"
#include "cutover/manifest/runs.h"

namespace cutover::cli {
namespace {

struct PruneArgs {
  int64_t keep = -1;
  int64_t older_than_days = -1;
  std::string work_dir;
  std::string ledger;
  std::vector<std::string> evidence;
  bool dry_run = false;
  bool json = false;
};

// The manifests a --ledger verify step recorded (none without --ledger).
Result<std::set<std::string>> ledger_verified(const std::string& ledger_name) {
  std::set<std::string> out;
  if (ledger_name.empty()) return out;
  TRY_ASSIGN_CTX(gates::Ledger ledger, read_ledger_at(ledger_name), "--ledger");
  for (const auto& record : ledger.records) {
    if (record.phase != "verify") continue;
    std::string sha(json::string_at(record.evidence.root(), "manifest_sha256"));
    if (!sha.empty()) out.insert(sha);
  }
  return out;
}

// Removes a run's backup folder: its files (and folders) first, then it.
Status remove_tree(base::FileSystem& fs, const std::string& path) {
  TRY_ASSIGN(base::FileInfo info, fs.stat(path));
  if (!info.exists) return {};
  if (info.is_directory && !info.is_symlink) {
    TRY_ASSIGN(auto names, fs.list_directory(path));
    for (const auto& name : names) TRY(remove_tree(fs, base::join_path(path, name)));
    return fs.remove_empty_directory(path);
  }
  return fs.remove(path);
}

Result<manifest::PruneRule> rule_from(const PruneArgs& args, base::Clock& clock) {
  if (args.keep < 0) {
    return make_error(ErrorCode::invalid_argument, "--keep N is required: how many of the newest runs to keep");
  }
  manifest::PruneRule rule;
  rule.keep = static_cast<size_t>(args.keep);
  if (args.older_than_days >= 0) {
    rule.older_than_ns = clock.now_ns() - args.older_than_days * int64_t{86400} * 1'000'000'000;
  }
  return rule;
}

int prune_main(PruneArgs args) {
  base::FileSystem& fs = base::real_file_system();
  if (auto st = fill_from_settings(args.work_dir, "CUTOVER_WORK_DIR"); !st) return report_error("prune", st.error());
  if (auto st = fill_from_settings(args.ledger, "CUTOVER_LEDGER"); !st) return report_error("prune", st.error());
  if (args.work_dir.empty()) {
    return report_error("prune", missing_setting("CUTOVER_WORK_DIR", "work folder", "DIR"));
  }
  auto rule = rule_from(args, base::system_clock());
  if (!rule) return report_error("prune", rule.error());
  auto from_ledger = ledger_verified(args.ledger);
  if (!from_ledger) return report_error("prune", from_ledger.error());

  // 1. The lock (a dry run reads only, and takes none; no folder, no run).
  base::StoreFolderLocks locks;
  auto folder = fs.stat(args.work_dir);
  if (!folder) return report_error("prune", folder.error());
  if (!folder->exists) {
    if (args.json) {
      json::Writer w;
      w.begin_object().member("work_dir", args.work_dir).member("dry_run", args.dry_run).key("runs").begin_array();
      w.end_array().member("removed", uint64_t{0}).member("freed_bytes", uint64_t{0}).end_object();
      std::cout << w.take() << "\n";
    } else {
      std::cout << "prune: work folder " << args.work_dir << " does not exist: nothing to prune\n";
    }
    return k_exit_ok;
  }
  if (!args.dry_run) {
    if (auto st = locks.lock_work_dir(fs, base::absolute_path(args.work_dir)); !st) {
      return report_error("prune", st.error().with_context("locking the work folder"));
    }
  }
  // 2. The runs and which are verified. A file that cannot be checked stops the prune.
  auto runs = manifest::list_runs(fs, args.work_dir);
  if (!runs) return report_error("prune", runs.error());
  EvidenceFound found = scan_evidence(fs, args.evidence, args.work_dir);
  std::vector<std::string> problems = runs->problems;
  problems.insert(problems.end(), found.problems.begin(), found.problems.end());
  if (!problems.empty()) {
    std::string text;
    for (const auto& p : problems) text += "\n  " + p;
    return report_error("prune", Error(ErrorCode::corruption, "refused, nothing was removed: " + text));
  }
  std::set<std::string> verified = verified_runs(runs->runs, found.reports, *from_ledger);

  // 3 and 4. Decide, then remove.
  // Text lines go out as they happen; JSON (one document) at the end.
  int rc = k_exit_ok;
  size_t removed = 0;
  uint64_t freed = 0;
  json::Writer w;
  w.begin_object().member("work_dir", args.work_dir).member("dry_run", args.dry_run).key("runs").begin_array();
  auto decided = [&](const std::string& run_id, const char* action, const std::string& why) {
    w.begin_object().member("run_id", run_id).member("action", action).member("why", why).end_object();
  };
  for (const auto& d : manifest::plan_prune(runs->runs, verified, *rule)) {
    const manifest::RunInfo* run = nullptr;
    for (const auto& r : runs->runs) run = r.run_id == d.run_id ? &r : run;
    if (!d.remove) {
      if (args.json)
        decided(d.run_id, "kept", d.why);
      else
        std::cout << "kept " << d.run_id << ": " << d.why << "\n";
      continue;
    }
    if (!args.dry_run) {
      if (auto st = remove_tree(fs, run->backup_dir); !st) {
        rc = report_error("prune", st.error().with_context("removing " + run->backup_dir));
        break;
      }
    }
    removed += 1;
    freed += run->backup_bytes;
    if (args.json)
      decided(d.run_id, args.dry_run ? "would_remove" : "removed", d.why);
    else
      std::cout << (args.dry_run ? "would remove " : "removed ") << run->backup_dir << ": " << d.why << "\n";
  }
  if (!args.dry_run && removed > 0) {
    if (auto st = fs.sync_directory(base::join_path(runs->work_dir, "backups")); !st) {
      rc = report_error("prune", st.error());
    }
  }
  if (args.json) {
    if (rc != k_exit_ok) return rc;  // the error is the document
    w.end_array().member("removed", static_cast<uint64_t>(removed)).member("freed_bytes", freed).end_object();
    std::cout << w.take() << "\n";
    return rc;
  }
  std::cout << "prune: " << (args.dry_run ? "would remove " : "removed ") << removed << " run backup folder"
            << (removed == 1 ? "" : "s") << " (" << freed << " bytes)" << (args.dry_run ? "; nothing was changed" : "")
            << "\n";
  return rc;
}

}  // namespace

void add_prune_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("prune", "Remove old runs' backups once a newer run is verified (never the newest N)");
  auto args = std::make_shared<PruneArgs>();
  cmd->add_option("--keep", args->keep, "N: never touch the newest N runs")->required()->check(CLI::NonNegativeNumber);
  cmd->add_option("--older-than", args->older_than_days, "DAYS: only runs whose backups are older than this")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--work-dir", args->work_dir, "the work folder (default: CUTOVER_WORK_DIR, then WORK_DIR)");
  cmd->add_option("--ledger", args->ledger, "a phase ledger whose verify steps also count as verified runs");
  cmd->add_option("--evidence", args->evidence,
                  "folders holding verify reports (WORK/reports is always searched); repeatable");
  cmd->add_flag("--dry-run", args->dry_run, "print what would be removed; remove nothing");
  cmd->add_flag("--json", args->json,
                "print one JSON document: {work_dir, dry_run, runs: [{run_id, action, why}], removed, freed_bytes}");
  cmd->callback([args, &exit_code] { exit_code = prune_main(*args); });
}

}  // namespace cutover::cli
