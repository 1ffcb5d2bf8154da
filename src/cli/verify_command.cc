// cutover verify MANIFEST: the runbook's verify gate (SPEC §4). Prints
// "ok: [store] path" per healthy store, "error: [store] ..." per finding and
// a one-line verdict, or the JSON report with --json
// (docs/formats/verify-report.md). Exit 0 when everything holds, 1 when an
// invariant fails or the manifest is not trusted (its work folder is not
// the one that holds it, or others can write there), 2 for a usage error or
// an unreadable or malformed manifest, baseline or spec.
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/progress_bar.h"
#include "cli/settings.h"
#include "cutover/gates/gates.h"
#include "cutover/verify/verify.h"

namespace cutover::cli {
namespace {

struct VerifyArgs {
  std::string manifest;
  std::string baseline;
  std::string environment;
  std::string previous;
  std::vector<std::string> spec_files;
  std::string ledger;  // the phase ledger: the manifest must be the one it recorded
  bool json = false;
  bool quiet = false;  // no progress bar
};

int verify_main(const VerifyArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  auto specs = store::SpecRegistry::with_builtins();
  for (const auto& file : args.spec_files) {
    if (auto st = specs.load_file(fs, file); !st) return report_error("verify", st.error());
  }
  if (!args.ledger.empty()) {
    auto ledger = gates::read_existing_ledger(fs, args.ledger);
    if (!ledger) return report_error("verify", ledger.error().with_context("--ledger"));
    if (auto st = gates::check_manifest_recorded(fs, *ledger, args.manifest); !st) {
      return report_error("verify", st.error());
    }
  }
  ProgressBar bar("verify", progress_bar_allowed(args.quiet, args.json));
  verify::VerifyOptions options{args.manifest, args.baseline, args.environment, args.previous, &bar};
  auto report = verify::verify_manifest(options, specs, fs, base::system_clock());
  bar.finish(report.has_value());
  // Nothing to verify against: never "checked and failed" (exit_code_for:
  // a usage error, a manifest that is not trusted refused for safety, or the
  // operating system refusing a read).
  if (!report) return report_error("verify", report.error());
  if (args.json) {
    std::cout << verify::to_json(*report) << "\n";
  } else {
    for (const auto& line : verify::human_lines(*report)) std::cout << line << "\n";
  }
  return report->ok() ? k_exit_ok : k_exit_failed;
}

}  // namespace

void add_verify_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("verify", "Check a manifest against the stores and backups on disk (and a baseline)");
  auto args = std::make_shared<VerifyArgs>();
  cmd->add_option("MANIFEST", args->manifest, "the manifest of a backfill (WORK/manifests/<run>.json)")->required();
  cmd->add_option("--baseline", args->baseline, "a baseline file of expected counts (docs/formats/baseline.md)");
  cmd->add_option("--environment", args->environment,
                  "the baseline environment to check (default: the baseline's only environment)");
  cmd->add_option("--previous", args->previous,
                  "the manifest that max_change bounds compare with (default: the baseline's previous_manifest)");
  cmd->add_option("--spec", args->spec_files, "a store spec file for a store kind that is not built in; repeatable");
  cmd->add_option("--ledger", args->ledger,
                  "the phase ledger: refuse (exit 1) unless a migrate step recorded this manifest's SHA-256 "
                  "(default: CUTOVER_LEDGER)");
  cmd->add_flag("--json", args->json, "print the JSON report (docs/formats/verify-report.md) instead of lines");
  cmd->add_flag("--quiet", args->quiet, k_quiet_flag_help);
  cmd->callback([args, &exit_code] {
    Status st = fill_from_settings(args->ledger, "CUTOVER_LEDGER");
    exit_code = st ? verify_main(*args) : report_error("verify", st.error());
  });
}

}  // namespace cutover::cli
