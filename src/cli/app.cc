#include "cli/app.h"

#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/discover.h"
#include "cli/output.h"
#include "cutover/base/version.h"

namespace cutover::cli {

int run(int argc, char** argv) {
  ControlCharacterGuard guard;
  set_json_errors(wants_json(argc, argv));
  CLI::App app{"cutover: safe mixed-version deploys (backfill, verify, rollback, route split, evidence)", "cutover"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(base::k_tool_version));
  int exit_code = k_exit_ok;
  add_canonicalize_command(app, exit_code);
  add_backfill_command(app, exit_code);
  add_fixtures_command(app, exit_code);
  add_harness_command(app, exit_code);
  add_verify_command(app, exit_code);
  add_counts_command(app, exit_code);
  add_rollback_command(app, exit_code);
  add_routes_command(app, exit_code);
  add_serve_command(app, exit_code);
  add_keygen_command(app, exit_code);
  add_evidence_command(app, exit_code);
  add_gate_command(app, exit_code);
  add_drill_command(app, exit_code);
  add_expand_command(app, exit_code);
  add_state_command(app, exit_code);
  add_token_command(app, exit_code);
  add_status_command(app, exit_code);
  add_prune_command(app, exit_code);
  add_baseline_command(app, exit_code);
  add_init_command(app, exit_code);
  add_config_command(app, exit_code);
  add_discovery_commands(app, exit_code);  // last: gives every command above --version
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return report_parse_error(app, e, argc, argv);
  }
  return exit_code;
}

}  // namespace cutover::cli
