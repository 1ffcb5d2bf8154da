// cutover drill --manifest M --server URL --token T --group G [--out R]: the
// rollback drill (docs/formats/drill-report.md). Restores every backup of M
// into a scratch folder (never a live path) and proves each hashes to
// before_sha256; on the control server, applies G's rollback, checks a path
// of G now goes to G's rollback target, and puts the previous override back.
// Writes the report to R (atomically) and prints one line a step, or the
// report with --json. Exit 0 when every step passed, 1 when one failed, 2
// for a usage error, 3 when the OS refused a file.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/settings.h"
#include "cutover/drill/drill.h"
#include "cutover/gates/gates.h"
#include "cutover/json/writer.h"

namespace cutover::cli {
namespace {

struct DrillArgs {
  drill::DrillOptions options;
  std::string server;
  std::string token;
  std::string token_file;
  std::string out;
  std::string ledger;  // the phase ledger: the drill's route rollback is recorded
  bool json = false;
};

Result<std::string> read_token(const DrillArgs& args) {
  if (!args.token.empty() && !args.token_file.empty()) {
    return make_error(ErrorCode::invalid_argument, "give --token or --token-file, not both");
  }
  if (!args.token.empty()) return args.token;
  if (args.token_file.empty()) {
    TRY_ASSIGN(std::string token, setting_value("CUTOVER_TOKEN", ""));
    if (!token.empty()) return token;
    return make_error(ErrorCode::invalid_argument,
                      "the drill needs an operator token: --token T or --token-file F, or set CUTOVER_TOKEN "
                      "(environment or ./cutover.conf)");
  }
  TRY_ASSIGN_CTX(base::Buffer bytes, base::real_file_system().read_file(args.token_file), "cannot read --token-file");
  std::string token(bytes.view());
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return token;
}

int drill_main(DrillArgs args) {
  base::FileSystem& fs = base::real_file_system();
  auto token = read_token(args);
  if (!token) return report_error("drill", token.error());
  auto control = drill::connect_route_control(args.server, *token);
  if (!control) return report_error("drill", control.error());

  // Without --scratch, a fresh private folder under $TMPDIR, removed after.
  bool made_scratch = false;
  if (args.options.scratch_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/cutover-drill-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
      return report_error("drill", Error(ErrorCode::io_error, "cannot make a scratch folder " + templ + ": " +
                                                                  std::strerror(errno) + "; pass --scratch DIR"));
    }
    args.options.scratch_dir = templ;
    made_scratch = true;
  }
  // With --ledger, the ledger is locked for the drill and its route rollback
  // recorded: traffic went to the rollback target, so a group at canary or
  // later goes back to verify and needs a canary observed after it.
  std::unique_ptr<gates::LedgerWriter> ledger;
  if (!args.ledger.empty()) {
    if (auto existing = gates::read_existing_ledger(fs, args.ledger); !existing) {
      return report_error("drill", existing.error().with_context("--ledger"));
    }
    auto writer = gates::LedgerWriter::open(fs, args.ledger);
    if (!writer) return report_error("drill", writer.error().with_context("--ledger"));
    ledger = std::move(*writer);
  }
  auto report = drill::run_drill(args.options, **control, fs, base::system_clock());
  if (made_scratch && !args.options.keep_restored) ::rmdir(args.options.scratch_dir.c_str());
  if (!report) return report_error("drill", report.error());

  bool rolled_back = std::any_of(report->steps.begin(), report->steps.end(),
                                 [](const drill::DrillStep& s) { return s.name == "route_rollback"; });
  if (ledger && rolled_back) {
    bool restored = std::any_of(report->steps.begin(), report->steps.end(),
                                [](const drill::DrillStep& s) { return s.name == "route_restore" && s.ok; });
    json::Writer details = json::Writer::document();
    details.begin_object().member("source", "drill").member("server", report->server);
    details.member("rollback_target", report->rollback_target).member("started_at", report->started_at);
    details.member("finished_at", report->finished_at).member("release_train", report->release_train);
    details.member("restored", restored).end_object();
    auto recorded =
        gates::record_route_rollback(*ledger, report->group, details.take_document().root(), base::system_clock());
    if (!recorded) {
      report_error("drill", recorded.error().with_context("the drill rolled the group's route back, but ledger " +
                                                          args.ledger + " could not record it"));
      return k_exit_io;
    }
    if (*recorded) {
      std::cerr << "cutover drill: ledger " << args.ledger << " record " << (*recorded)->seq << ": route rollback of "
                << (*recorded)->group << ", now in phase " << (*recorded)->phase << "\n";
    }
  }
  json::Writer w = json::Writer::canonical();
  report->write_json(w);
  std::string text = w.take() + "\n";
  if (!args.out.empty()) {
    if (auto st = base::write_file_atomic(fs, args.out, text); !st) {
      report_error("drill", st.error().with_context("cannot write the drill report"));
      return k_exit_io;
    }
  }
  if (args.json) {
    std::cout << text;
  } else {
    for (const auto& line : drill::human_lines(*report)) std::cout << line << "\n";
    if (!args.out.empty()) std::cout << "report: " << args.out << "\n";
  }
  return report->ok() ? k_exit_ok : k_exit_failed;
}

// --ledger and --server, or CUTOVER_LEDGER and CUTOVER_SERVER (needed).
Status resolve_defaults(DrillArgs& args) {
  TRY(fill_from_settings(args.ledger, "CUTOVER_LEDGER"));
  TRY(fill_from_settings(args.server, "CUTOVER_SERVER"));
  if (args.server.empty())
    return tl::unexpected(missing_setting("CUTOVER_SERVER", "control server", "http://HOST:PORT"));
  return {};
}

}  // namespace

void add_drill_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("drill",
                                 "Rollback drill: restore backups into a scratch folder and roll a route "
                                 "group back (and forth) on the control server");
  auto args = std::make_shared<DrillArgs>();
  cmd->add_option("--manifest", args->options.manifest_path, "the migration manifest")->required();
  cmd->add_option("--server", args->server,
                  "the control server, http://HOST:PORT (as `cutover serve` prints it; default: CUTOVER_SERVER)");
  cmd->add_option("--token", args->token, "an operator token of the control server (default: CUTOVER_TOKEN)");
  cmd->add_option("--token-file", args->token_file, "a file holding the operator token (keeps it out of `ps`)");
  cmd->add_option("--group", args->options.group, "the route group to drill, e.g. billing_l402")->required();
  cmd->add_option("--out", args->out, "write the drill report (JSON) here");
  cmd->add_option("--ledger", args->ledger,
                  "the phase ledger: record the drill's route rollback (a group at canary or later goes back to "
                  "verify; default: CUTOVER_LEDGER)");
  cmd->add_option("--release-train", args->options.release_train, "the release train (default: the manifest's run id)");
  cmd->add_option("--path", args->options.path, "the path to evaluate (default: the group's first route prefix)");
  cmd->add_option("--scratch", args->options.scratch_dir,
                  "restore backups into this new or empty folder (default: a fresh folder under $TMPDIR)");
  cmd->add_flag("--keep-restored", args->options.keep_restored, "keep the restored copies in the scratch folder");
  cmd->add_flag("--json", args->json, "print the report instead of lines");
  cmd->callback([args, &exit_code] {
    Status st = resolve_defaults(*args);
    exit_code = st ? drill_main(*args) : report_error("drill", st.error());
  });
}

}  // namespace cutover::cli
