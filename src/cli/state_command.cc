// cutover state init postgresql://...: creates the shared state's schema in
// PostgreSQL, or upgrades it to this binary's version, in one transaction
// (state/schema.h). Run it as the role that is to own the tables (not the
// role `cutover serve` uses: docs/EDGE.md "Shared state"). Running it again changes
// nothing; a schema newer than this binary knows is refused (exit 1).
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "cutover/json/writer.h"
#include "cutover/state/pg.h"
#include "cutover/state/schema.h"

namespace cutover::cli {
namespace {

struct StateInitArgs {
  std::string url;
  bool json = false;
};

int state_init_main(const StateInitArgs& args) {
  auto conn = state::Connection::connect(args.url);
  if (!conn) return report_error("state init", conn.error());
  auto init = state::init_schema(**conn);
  if (!init) return report_error("state init", init.error());
  std::string name = (*conn)->name();
  if (args.json) {
    json::Writer w;
    w.begin_object().member("database", name).key("before").number(static_cast<int64_t>(init->before));
    w.key("after").number(static_cast<int64_t>(init->after)).key("changed").boolean(init->before != init->after);
    std::cout << w.end_object().take() << "\n";
  } else if (init->before == init->after) {
    std::cout << "schema: version " << init->after << " in " << name << ", unchanged\n";
  } else if (init->before == 0) {
    std::cout << "schema: created version " << init->after << " in " << name << "\n";
  } else {
    std::cout << "schema: upgraded from version " << init->before << " to " << init->after << " in " << name << "\n";
  }
  return k_exit_ok;
}

}  // namespace

void add_state_command(CLI::App& app, int& exit_code) {
  auto* state = app.add_subcommand("state", "Shared state in PostgreSQL (overrides, audit log, gate ledger)");
  state->require_subcommand(1);
  auto* init = state->add_subcommand(
      "init", "Create or upgrade the schema (versioned, idempotent, one transaction); run as the schema's owner");
  auto args = std::make_shared<StateInitArgs>();
  init->add_option("url", args->url, "postgresql://USER@HOST/DB (libpq's URI form)")->required();
  init->add_flag("--json", args->json, "print {database, before, after, changed} as one JSON document");
  init->callback([args, &exit_code] { exit_code = state_init_main(*args); });
}

}  // namespace cutover::cli
