// cutover rollback MANIFEST: restore the before-state of every store from a
// backfill's manifest (SPEC §5), complete or in-progress. Refuses, changing
// nothing, when a store has drifted (unless --force), a backup is missing or
// corrupt, a path is outside the manifest's folders, or a backfill holds the
// lock. Prints one line per store and a verdict, or the JSON report with
// --json (docs/formats/rollback-report.md); the report is also written to
// WORK/reports/<run>-rollback.json.
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/progress_bar.h"
#include "cli/settings.h"
#include "cutover/gates/gates.h"
#include "cutover/rollback/rollback.h"
#include "cutover/store/store_spec.h"

namespace cutover::cli {
namespace {

struct RollbackArgs {
  std::string manifest;
  std::vector<std::string> spec_files;
  bool force = false;
  std::string ledger;  // the phase ledger: the manifest must be the one it recorded; the rollback is recorded
  bool json = false;
  bool quiet = false;  // no progress bar
};

int rollback_main(const RollbackArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  // Rollback restores bytes and needs no spec; the files are still checked so
  // that scripts can pass verify and rollback the same flags.
  auto specs = store::SpecRegistry::with_builtins();
  for (const auto& file : args.spec_files) {
    if (auto st = specs.load_file(fs, file); !st) return report_error("rollback", st.error());
  }
  // With --ledger: the manifest must be the one a migrate step recorded, and
  // the ledger stays locked until the rollback is recorded in it (the groups
  // of that migration go back to expand: their evidence is stale).
  std::unique_ptr<gates::LedgerWriter> ledger;
  if (!args.ledger.empty()) {
    if (auto existing = gates::read_existing_ledger(fs, args.ledger); !existing) {
      return report_error("rollback", existing.error().with_context("--ledger"));
    }
    auto writer = gates::LedgerWriter::open(fs, args.ledger);
    if (!writer) return report_error("rollback", writer.error().with_context("--ledger"));
    if (auto st = gates::check_manifest_recorded(fs, (*writer)->ledger(), args.manifest); !st) {
      return report_error("rollback", st.error().with_context("refusing to roll back"));
    }
    ledger = std::move(*writer);
  }
  ProgressBar bar("rollback", progress_bar_allowed(args.quiet, args.json));
  auto report = rollback::run_rollback({args.manifest, args.force, &bar}, fs, base::system_clock());
  bar.finish(report.has_value());
  if (!report) return report_error("rollback", report.error());
  if (ledger && report->ok()) {
    auto recorded =
        gates::record_store_rollback(*ledger, args.manifest, report->manifest_sha256, "", base::system_clock());
    if (!recorded) {
      report_error("rollback", recorded.error().with_context("the stores were rolled back, but ledger " + args.ledger +
                                                             " could not record it; the groups of this migration "
                                                             "must not advance on their old evidence"));
      return k_exit_io;
    }
    for (const auto& r : *recorded) {
      std::cerr << "cutover rollback: ledger " << args.ledger << " record " << r.seq << ": " << r.group
                << " back to expand (store rollback)\n";
    }
  }
  if (args.json) {
    std::cout << rollback::to_json(*report) << "\n";
  } else {
    for (const auto& line : rollback::human_lines(*report)) std::cout << line << "\n";
  }
  if (!report->ok()) return report_error("rollback", *report->failure);
  return k_exit_ok;
}

}  // namespace

void add_rollback_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("rollback", "Restore every store of a manifest to its pre-migration bytes");
  auto args = std::make_shared<RollbackArgs>();
  cmd->add_option("MANIFEST", args->manifest,
                  "the manifest of a backfill: WORK/manifests/<run>.json, or <run>.json.in-progress after a crash")
      ->required();
  cmd->add_flag("--force", args->force,
                "roll back stores written since the migration too, after saving their current bytes in "
                "WORK/backups/<run>/");
  cmd->add_option("--spec", args->spec_files, "a store spec file (accepted for symmetry with verify); repeatable");
  cmd->add_option("--ledger", args->ledger,
                  "the phase ledger: refuse unless a migrate step recorded this manifest's SHA-256; record the "
                  "rollback (the migration's groups go back to expand) (default: CUTOVER_LEDGER)");
  cmd->add_flag("--json", args->json, "print the JSON report (docs/formats/rollback-report.md) instead of lines");
  cmd->add_flag("--quiet", args->quiet, k_quiet_flag_help);
  cmd->callback([args, &exit_code] {
    Status st = fill_from_settings(args->ledger, "CUTOVER_LEDGER");
    exit_code = st ? rollback_main(*args) : report_error("rollback", st.error());
  });
}

}  // namespace cutover::cli
