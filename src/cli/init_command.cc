// cutover init DIR: a commented starter set-up, each file one that its reader
// accepts as written:
//   routes.json    the route config: the built-in rollback matrix and pins,
//                  cohort mode at 0 % (nobody moves until `routes promote`),
//                  tokens_file "tokens.txt"          (cutover serve --config)
//   tokens.txt     one operator token's hash, 0600   (cutover serve)
//   baseline.json  every built-in count, min 0       (cutover verify --baseline)
//   cutover.env    the CUTOVER_* defaults, commented (a shell, systemd, or
//                  copied to cutover.conf)
//   README         what each file is and what to do next (JSON holds no comments)
// Nothing is written when any of them exists already (each is named). Each
// file is written atomically; the operator token is printed once, alone on
// the last line of standard output.
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/tokens.h"
#include "cutover/json/writer.h"
#include "cutover/routing/report.h"
#include "cutover/verify/baseline.h"

namespace cutover::cli {
namespace {

struct InitArgs {
  std::string dir;
  std::string operator_name;
  std::string environment = "production";
  bool json = false;
};

struct StarterFile {
  std::string name;
  std::string text;
  bool is_private = false;  // 0600
};

// The holder's name of the first token: --operator, else $USER when it is a
// valid name, else "operator".
Result<std::string> holder_name(const InitArgs& args) {
  if (!args.operator_name.empty()) {
    if (!valid_token_name(args.operator_name)) {
      return make_error(ErrorCode::invalid_argument,
                        "--operator '" + args.operator_name + "' must be 1-64 of A-Z a-z 0-9 _ - . @");
    }
    return args.operator_name;
  }
  const char* user = std::getenv("USER");
  if (user != nullptr && valid_token_name(user)) return std::string(user);
  return std::string("operator");
}

std::string routes_text() {
  routing::RouteConfig config = routing::reference_config();
  config.mode = routing::RouteMode::cohort;
  config.cohort_percentage = 0;
  config.tokens_file = "tokens.txt";
  return routing::config_json(config) + "\n";
}

std::string tokens_text(const std::string& line) {
  return "# The control server's bearer tokens (docs/formats/tokens.md): hashes only, never tokens.\n"
         "# ROLE NAME sha256:HEX. Add one with `cutover token new NAME --role viewer|operator --tokens-file "
         "tokens.txt`,\n"
         "# list them with `cutover token list`, remove one with `cutover token revoke NAME`; then restart serve.\n"
         "# Keep this file private to the server's user (0600): serve refuses it otherwise.\n" +
         line + "\n";
}

std::string env_text(const std::string& dir) {
  return "# Defaults for cutover's commands (docs/formats/cutover-conf.md), written by `cutover init`.\n"
         "# A flag on the command line wins over these variables, and they win over a cutover.conf in the\n"
         "# folder a command runs in, which has this same KEY=VALUE form (`cp cutover.env cutover.conf` works).\n"
         "# Load in bash with `set -a; . ./cutover.env; set +a`, or give it to systemd as EnvironmentFile=.\n"
         "# `cutover config` prints each value in force and where it came from.\n"
         "\n"
         "# --work-dir of backfill, status and prune: the folder for manifests/ and backups/.\n"
         "CUTOVER_WORK_DIR=" +
         base::join_path(dir, "work") +
         "\n"
         "\n"
         "# --ledger of gate, verify, rollback, backfill, drill, evidence collect, status, prune: the phase\n"
         "# ledger file (or postgresql://...). With it set, verify and rollback refuse a manifest the ledger\n"
         "# did not record; set it once the first `gate advance GROUP expand --new-ledger` has made it.\n"
         "#CUTOVER_LEDGER=" +
         base::join_path(dir, "ledger.jsonl") +
         "\n"
         "\n"
         "# --trust of evidence verify, gate advance and status: the trusted public keys, separated by commas.\n"
         "#CUTOVER_TRUST=/etc/cutover/keys/alice.pub,/etc/cutover/keys/bob.pub\n"
         "\n"
         "# --threshold of evidence verify and gate advance: how many trusted keys must have signed.\n"
         "#CUTOVER_THRESHOLD=1\n"
         "\n"
         "# --server of routes promote|abort|undo|get, drill and status: the control server `cutover serve` runs.\n"
         "CUTOVER_SERVER=http://127.0.0.1:8787\n"
         "\n"
         "# The bearer token itself for those commands (--token-file F instead keeps it in a file).\n"
         "# Never write it here if others can read this file; export it in your shell instead.\n"
         "#CUTOVER_TOKEN=\n";
}

std::string readme_text(const std::string& dir, const std::string& holder, const std::string& environment) {
  return "cutover starter, written by `cutover init " + dir +
         "`. The formats are in docs/formats/ (installed under\n"
         "PREFIX/share/cutover/formats/); `cutover help COMMAND` shows every option.\n"
         "\n"
         "routes.json    The route config (route-config.md). JSON holds no comments, so here is what it says:\n"
         "               the built-in rollback matrix (route_groups: auth_entry, account_settings_admin and\n"
         "               billing_l402 roll back to legacy, chat_pilot to rust_shell) and pinned routes (/api and\n"
         "               /api/runtime/codex/workers always go to rust_shell); mode \"cohort\" at cohort_percentage 0,\n"
         "               so no cohort reaches the new service until `cutover routes promote GROUP --to N`;\n"
         "               legacy_base_url and rust_base_url null (set them so the web entry redirects);\n"
         "               tokens_file \"tokens.txt\", relative to this folder. Check it with\n"
         "               `cutover routes status --config routes.json`.\n"
         "tokens.txt     The control API's tokens (tokens.md), hashes only, mode 0600. It holds one operator\n"
         "               token for '" +
         holder +
         "', printed once by init. Add more with `cutover token new NAME --role viewer|operator\n"
         "               --tokens-file tokens.txt`.\n"
         "baseline.json  A starter baseline (baseline.md), environment '" +
         environment +
         "': every count of the built-in store\n"
         "               kinds at min 0, which always holds. Remove the kinds you do not run; after your first\n"
         "               verified backfill replace it with `cutover baseline --from MANIFEST --environment " +
         environment +
         "\n"
         "               --out baseline.json`, then `cutover verify MANIFEST --baseline baseline.json`.\n"
         "cutover.env    The CUTOVER_* defaults (cutover-conf.md), commented: load it with\n"
         "               `set -a; . ./cutover.env; set +a`, or copy it to cutover.conf in your working folder.\n"
         "\n"
         "Start the control server in the foreground (it prints \"listening on 127.0.0.1:8787\"; Ctrl-C or\n"
         "SIGTERM stops it cleanly; overrides persist in state/ beside routes.json):\n"
         "    cutover serve --config routes.json\n"
         "Then, with the token in CUTOVER_TOKEN (or --token-file F):\n"
         "    cutover routes get --server http://127.0.0.1:8787\n"
         "To run it as a service, see share/cutover/examples/cutover-serve.service and docs/RUNBOOK.md.\n";
}

// "DIR/a, DIR/b" for every starter file already at its path.
Result<std::string> existing_files(base::FileSystem& fs, const std::string& dir,
                                   const std::vector<StarterFile>& files) {
  std::string existing;
  for (const StarterFile& f : files) {
    std::string path = base::join_path(dir, f.name);
    TRY_ASSIGN(base::FileInfo info, fs.stat(path));
    if (info.exists || info.is_symlink) existing += (existing.empty() ? "" : ", ") + path;
  }
  return existing;
}

int init_main(const InitArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  if (!verify::is_valid_environment_name(args.environment)) {
    return report_error("init", Error(ErrorCode::invalid_argument, "--environment must be 1-128 characters"));
  }
  auto holder = holder_name(args);
  if (!holder) return report_error("init", holder.error());
  auto token = new_token();
  if (!token) return report_error("init", token.error());
  std::string dir = base::absolute_path(args.dir);
  std::vector<StarterFile> files = {
      {"README", readme_text(args.dir, *holder, args.environment), false},
      {"routes.json", routes_text(), false},
      {"baseline.json", verify::starter_baseline(store::SpecRegistry::with_builtins(), args.environment) + "\n", false},
      {"cutover.env", env_text(dir), false},
      {"tokens.txt", tokens_text(token_line("operator", *holder, *token)), true},
  };
  auto existing = existing_files(fs, dir, files);
  if (!existing) return report_error("init", existing.error());
  if (!existing->empty()) {
    return report_error("init",
                        Error(ErrorCode::conflict, *existing + " already exist(s); init writes over nothing: move "
                                                               "them away or give another DIR (nothing was written)"));
  }
  if (auto st = fs.create_directories(dir); !st) return report_error("init", st.error());
  std::string written;
  for (const StarterFile& f : files) {
    std::string path = base::join_path(dir, f.name);
    base::FileInfo like;
    like.mode = f.is_private ? 0600 : 0644;
    like.uid = ::getuid();
    like.gid = ::getgid();
    if (auto st = base::write_file_atomic(fs, path, f.text, &like); !st) {
      return report_error("init", st.error().with_context(written.empty() ? "nothing was written"
                                                                          : "written before the failure: " + written));
    }
    written += (written.empty() ? "" : ", ") + f.name;
    if (!args.json) std::cout << "wrote " << path << "\n";
  }
  if (args.json) {
    json::Writer w;
    w.begin_object().member("dir", dir).key("files").begin_array();
    for (const StarterFile& f : files) w.string(base::join_path(dir, f.name));
    w.end_array().member("operator", *holder).member("token", *token).end_object();
    std::cout << w.take() << "\n";
    return k_exit_ok;
  }
  std::cout << "init: read " << base::join_path(dir, "README") << " next; start the server with `cutover serve "
            << "--config " << base::join_path(dir, "routes.json") << "`\n"
            << "init: operator token for '" << *holder << "' (tokens.txt holds only its hash), shown this once:\n"
            << *token << "\n";
  return k_exit_ok;
}

}  // namespace

void add_init_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "init", "Write a commented starter into DIR: route config, tokens file with an operator token, baseline, env");
  auto args = std::make_shared<InitArgs>();
  cmd->add_option("DIR", args->dir, "the folder to write into (created if missing; no file in it is overwritten)")
      ->required();
  cmd->add_option("--operator", args->operator_name, "the first operator token's holder (default: $USER)");
  cmd->add_option("--environment", args->environment, "the starter baseline's environment name")->capture_default_str();
  cmd->add_flag("--json", args->json, "print {dir, files, operator, token} as one JSON document");
  cmd->callback([args, &exit_code] { exit_code = init_main(*args); });
}

}  // namespace cutover::cli
