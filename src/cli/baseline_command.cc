// cutover baseline --from MANIFEST [--environment NAME] [--out FILE]: a
// baseline (docs/formats/baseline.md) that a verified run meets exactly, so
// the next run in that environment is checked against today's numbers
// (`verify --baseline FILE`). The manifest must be complete and verify
// cleanly now (checksums, recounts, backups): a baseline is never made from
// numbers that were not proven. Prints the baseline, or writes it to FILE
// atomically and prints one line.
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"
#include "cutover/json/writer.h"
#include "cutover/manifest/manifest_file.h"
#include "cutover/verify/baseline.h"
#include "cutover/verify/verify.h"

namespace cutover::cli {
namespace {

struct BaselineArgs {
  std::string manifest;
  std::string environment = "default";
  std::string out;
  std::vector<std::string> spec_files;
  bool json = false;
};

// The manifest, once it is complete and verifies; otherwise why not.
Result<manifest::ManifestFile> verified_manifest(const BaselineArgs& args, base::FileSystem& fs) {
  TRY_ASSIGN(manifest::ManifestFile file, manifest::load_manifest_file(fs, args.manifest));
  if (file.manifest.status != manifest::k_status_complete) {
    return make_error(ErrorCode::invalid_argument,
                      "manifest " + args.manifest + " has status '" + file.manifest.status +
                          "': the run did not finish, so its counts prove nothing; roll it back with `cutover "
                          "rollback " +
                          args.manifest + "` and make the baseline from a complete, verified run");
  }
  auto specs = store::SpecRegistry::with_builtins();
  for (const auto& spec : args.spec_files) TRY(specs.load_file(fs, spec));
  TRY_ASSIGN(verify::VerifyReport report,
             verify::verify_manifest({args.manifest, "", "", ""}, specs, fs, base::system_clock()));
  if (!report.ok()) {
    for (const auto& line : verify::human_lines(report)) std::cerr << line << "\n";
    return make_error(ErrorCode::conflict, "manifest " + args.manifest + " does not verify (" +
                                               std::to_string(report.finding_count()) +
                                               " finding(s) above): a baseline is made only from a verified run");
  }
  return file;
}

int baseline_main(const BaselineArgs& args) {
  if (!verify::is_valid_environment_name(args.environment)) {
    return report_error("baseline", Error(ErrorCode::invalid_argument, "--environment must be 1-128 characters"));
  }
  base::FileSystem& fs = base::real_file_system();
  auto file = verified_manifest(args, fs);
  if (!file) return report_error("baseline", file.error());
  std::string text = verify::baseline_from_manifest(file->manifest, args.environment,
                                                    "the exact counts of run " + file->run_id + " (manifest " +
                                                        file->path + ", sha256 " + file->sha256 +
                                                        "), made by `cutover baseline --from` after it verified");
  text += "\n";
  if (args.out.empty()) {
    std::cout << text;  // one JSON document, with or without --json
    return k_exit_ok;
  }
  if (auto st = base::write_file_atomic(fs, args.out, text); !st) {
    return report_error("baseline", st.error().with_context("cannot write --out " + args.out));
  }
  size_t counts = 0;
  for (const auto& s : file->manifest.stores) counts += s.counts.size();
  if (args.json) {
    json::Writer w;
    w.begin_object().member("out", args.out).member("environment", args.environment).member("run_id", file->run_id);
    w.member("counts", static_cast<uint64_t>(counts)).end_object();
    std::cout << w.take() << "\n";
    return k_exit_ok;
  }
  std::cout << "baseline: " << args.out << ": environment " << args.environment << ", " << counts << " count(s) of "
            << file->manifest.stores.size() << " store(s) from run " << file->run_id
            << "; check a later run with `cutover verify MANIFEST --baseline " << args.out << "`\n";
  return k_exit_ok;
}

}  // namespace

void add_baseline_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("baseline", "Make a baseline of exact counts from a verified run's manifest");
  auto args = std::make_shared<BaselineArgs>();
  cmd->add_option("--from", args->manifest, "the complete manifest of a run that verifies (WORK/manifests/<run>.json)")
      ->required();
  cmd->add_option("--environment", args->environment, "the environment's name in the baseline")->capture_default_str();
  cmd->add_option("--out", args->out, "write the baseline here (atomically) instead of printing it");
  cmd->add_option("--spec", args->spec_files, "a store spec file for a kind that is not built in; repeatable");
  cmd->add_flag("--json", args->json,
                "with --out, print {out, environment, run_id, counts} as one JSON document (without, the baseline "
                "itself is the document)");
  cmd->callback([args, &exit_code] { exit_code = baseline_main(*args); });
}

}  // namespace cutover::cli
