// cutover backfill: migrate stores with a manifest and backups (SPEC §3).
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/progress_bar.h"
#include "cli/settings.h"
#include "cli/store_args.h"
#include "cutover/backfill/backfill.h"
#include "cutover/backfill/plan.h"
#include "cutover/gates/gates.h"
#include "cutover/gates/ledger.h"
#include "cutover/json/canonical_writer.h"

namespace cutover::cli {
namespace {

struct BackfillArgs {
  std::vector<std::string> stores;  // NAME=PATH
  std::vector<std::string> spec_files;
  std::string work_dir;
  bool allow_destructive_reset = false;
  std::string ledger;               // the phase ledger: rule 5 refuses destructive resets during the overlap
  std::vector<std::string> groups;  // the route groups the stores belong to (default: every group)
  std::string routes;               // the route config: what "every group" means
  bool plan = false;                // --plan: what would change, writing nothing
  bool json = false;
  bool quiet = false;  // no progress bar
};

// Rule 5: nothing destructive while both versions run. A destructive reset is
// refused while the ledger shows a route group before contract.
Status check_rule_5(const BackfillArgs& args) {
  if (args.ledger.empty()) return {};
  // A ledger that is named must be readable, flag or not: a typo never reads as "no open window".
  constexpr std::string_view k_refused = "--allow-destructive-reset refused during the overlap (rule 5)";
  TRY_ASSIGN_CTX(const auto ledger, gates::read_existing_ledger(base::real_file_system(), args.ledger), "--ledger");
  if (!args.allow_destructive_reset) return {};
  if (args.groups.empty()) {
    TRY_ASSIGN_CTX(const auto configured, gates::configured_groups(base::real_file_system(), ledger, args.routes),
                   "--allow-destructive-reset");
    TRY_CTX(gates::destructive_changes_allowed_everywhere(ledger, configured), k_refused);
  }
  for (const auto& group : args.groups) {
    TRY_CTX(gates::destructive_changes_allowed(ledger, group), k_refused);
  }
  return {};
}

Result<backfill::BackfillOptions> options_from(const BackfillArgs& args) {
  backfill::BackfillOptions options;
  TRY_ASSIGN(options.stores, store_targets(args.stores));
  TRY_ASSIGN(options.work_dir, setting_value("CUTOVER_WORK_DIR", args.work_dir));
  options.allow_destructive_reset = args.allow_destructive_reset;
  return options;
}

void print_human(const backfill::BackfillResult& result) {
  size_t changed = 0;
  for (const auto& s : result.manifest.stores) changed += s.changed ? 1 : 0;
  std::cout << "backfill " << result.manifest.run_id << ": " << result.manifest.stores.size() << " store"
            << (result.manifest.stores.size() == 1 ? "" : "s") << ", " << changed << " changed\n";
  for (const auto& folder : result.created_folders) std::cout << "created folder " << folder << "\n";
  for (const auto& s : result.manifest.stores) {
    std::cout << "ok: [" << s.store << "] " << s.path << " " << (s.existed ? "" : "created, ")
              << (s.changed ? "changed" : "unchanged") << ", sha256 " << s.after_sha256 << ",";
    for (const auto& [name, value] : s.counts) std::cout << " " << name << "=" << value;
    std::cout << "\n";
    for (const auto& reset : s.destructive_resets) {
      std::cout << "warning: [" << s.store << "] destructive reset: " << reset << "\n";
    }
  }
  std::cout << "manifest: " << result.manifest_path << "\n";
  std::cout << "backups: " << result.backup_dir << "\n";
}

void print_result_json(const backfill::BackfillResult& result) {
  json::Document doc;
  std::vector<json::Node> folders;
  for (const auto& folder : result.created_folders) folders.push_back(doc.make_string(folder));
  json::Node root = doc.make_object({
      {doc.make_string("created_folders"), doc.make_array(folders)},
      {doc.make_string("manifest_path"), doc.make_string(result.manifest_path)},
      {doc.make_string("backup_dir"), doc.make_string(result.backup_dir)},
      {doc.make_string("manifest"), manifest::to_node(doc, result.manifest)},
  });
  std::cout << json::to_canonical_string(root) << "\n";
}

// --plan: one line a store and its counts before -> after (or one JSON document).
void print_plan(const std::vector<backfill::StorePlan>& plans, bool json_out) {
  if (json_out) {
    print_json([&](json::Writer& w) {
      auto counts = [&](std::string_view name, const store::Counts& c) {
        w.key(name).begin_object();
        for (const auto& [count, value] : c) w.member(count, static_cast<uint64_t>(value));
        w.end_object();
      };
      w.begin_object().member("schema", "cutover.backfill_plan.v1").key("stores").begin_array();
      for (const auto& p : plans) {
        w.begin_object().member("store", p.kind).member("path", p.path).member("exists", p.exists);
        w.member("changed", p.changed).member("bytes_before", static_cast<uint64_t>(p.bytes_before));
        w.member("bytes_after", static_cast<uint64_t>(p.bytes_after));
        counts("counts_before", p.counts_before);
        counts("counts_after", p.counts_after);
        w.key("destructive_resets").begin_array();
        for (const auto& r : p.destructive_resets) w.string(r);
        w.end_array().end_object();
      }
      w.end_array().end_object();
    });
    return;
  }
  size_t changed = 0;
  for (const auto& p : plans) {
    changed += p.changed ? 1 : 0;
    std::cout << "plan: [" << p.kind << "] " << p.path << " "
              << (!p.exists   ? "would be created"
                  : p.changed ? "would change"
                              : "unchanged")
              << " (" << p.bytes_before << " -> " << p.bytes_after << " bytes)";
    for (const auto& [name, after] : p.counts_after) {
      std::cout << " " << name << "=" << p.counts_before.at(name);
      if (p.counts_before.at(name) != after) std::cout << "->" << after;
    }
    std::cout << "\n";
    for (const auto& r : p.destructive_resets)
      std::cout << "warning: [" << p.kind << "] destructive reset: " << r << "\n";
  }
  std::cout << "backfill --plan: " << changed << " of " << plans.size() << " store" << (plans.size() == 1 ? "" : "s")
            << " would change; nothing was written\n";
}

int backfill_main(const BackfillArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  auto specs = store::SpecRegistry::with_builtins();
  for (const auto& file : args.spec_files) {
    if (auto st = specs.load_file(fs, file); !st) return report_error("backfill", st.error());
  }
  auto options = options_from(args);
  if (!options) return report_error("backfill", options.error());
  if (auto st = check_rule_5(args); !st) return report_error("backfill", st.error());
  if (args.plan) {
    auto plans = backfill::plan_backfill(*options, specs, fs);
    if (!plans) return report_error("backfill", plans.error());
    print_plan(*plans, args.json);
    return k_exit_ok;
  }
  ProgressBar bar("backfill", progress_bar_allowed(args.quiet, args.json));
  options->progress = &bar;
  auto result = backfill::run_backfill(*options, specs, fs, base::system_clock());
  bar.finish(result.has_value());
  if (!result) return report_error("backfill", result.error());
  if (args.json) {
    print_result_json(*result);
  } else {
    print_human(*result);
  }
  return k_exit_ok;
}

}  // namespace

void add_backfill_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("backfill", "Migrate stores to the current schema, with a manifest and backups");
  auto args = std::make_shared<BackfillArgs>();
  cmd->add_option("--store", args->stores, k_store_flag_help);
  cmd->add_option("--spec", args->spec_files, "a store spec file adding a store kind; repeatable");
  cmd->add_option("--work-dir", args->work_dir,
                  "folder for manifests/ and backups/ (default: CUTOVER_WORK_DIR, WORK_DIR or cutover.conf)");
  cmd->add_flag("--allow-destructive-reset", args->allow_destructive_reset,
                "reproduce the reference tool: replace a non-object root or a wrong-typed key with an empty value "
                "(after the backup) instead of refusing");
  cmd->add_option("--ledger", args->ledger,
                  "the phase ledger: --allow-destructive-reset is refused while a route group is before contract "
                  "(default: CUTOVER_LEDGER)");
  cmd->add_option("--group", args->groups, "with --ledger: the route groups these stores serve (default: every group)");
  cmd->add_option("--routes", args->routes,
                  "with --ledger and no --group: the route config whose groups must all be at contract (default: "
                  "the one the ledger recorded at expand)");
  cmd->add_flag("--plan", args->plan,
                "dry run: print what would change, per store, with counts before and after; write nothing");
  cmd->add_flag("--json", args->json, "print a machine-readable result");
  cmd->add_flag("--quiet", args->quiet, k_quiet_flag_help);
  cmd->callback([args, &exit_code] {
    Status st = fill_from_settings(args->ledger, "CUTOVER_LEDGER");
    exit_code = st ? backfill_main(*args) : report_error("backfill", st.error());
  });
}

}  // namespace cutover::cli
