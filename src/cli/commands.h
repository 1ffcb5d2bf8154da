// One function a command: registers its flags on `app` and returns the
// callback's exit code through `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

namespace cutover::cli {

void add_canonicalize_command(CLI::App& app, int& exit_code);
void add_backfill_command(CLI::App& app, int& exit_code);
void add_fixtures_command(CLI::App& app, int& exit_code);
void add_harness_command(CLI::App& app, int& exit_code);
void add_verify_command(CLI::App& app, int& exit_code);
void add_counts_command(CLI::App& app, int& exit_code);
void add_rollback_command(CLI::App& app, int& exit_code);
void add_routes_command(CLI::App& app, int& exit_code);
void add_serve_command(CLI::App& app, int& exit_code);
void add_keygen_command(CLI::App& app, int& exit_code);
void add_evidence_command(CLI::App& app, int& exit_code);
void add_gate_command(CLI::App& app, int& exit_code);
void add_drill_command(CLI::App& app, int& exit_code);
void add_expand_command(CLI::App& app, int& exit_code);
void add_state_command(CLI::App& app, int& exit_code);
void add_token_command(CLI::App& app, int& exit_code);
void add_status_command(CLI::App& app, int& exit_code);
void add_prune_command(CLI::App& app, int& exit_code);
void add_baseline_command(CLI::App& app, int& exit_code);
void add_init_command(CLI::App& app, int& exit_code);
void add_config_command(CLI::App& app, int& exit_code);

}  // namespace cutover::cli
