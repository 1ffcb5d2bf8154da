// cutover expand check --reader CMD [--store NAME=PATH ...] [--spec F]
// [--out FILE] [--json] [--timeout SECONDS]: runbook rule 1 as evidence. The
// new release's reader must exit 0 on both shapes of every store.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/store_args.h"
#include "cutover/expand/expand.h"

namespace cutover::cli {
namespace {

struct ExpandCheckArgs {
  std::string reader;
  std::vector<std::string> stores;  // NAME=PATH
  std::vector<std::string> spec_files;
  std::string out;
  std::string timeout = "60";
  bool allow_destructive_reset = false;
  bool json = false;
};

// "60", "2.5", "2s" or "500ms": milliseconds, more than 0.
Result<int64_t> parse_timeout(const std::string& text) {
  std::string_view digits = text;
  double scale = 1000;
  if (digits.ends_with("ms")) {
    digits.remove_suffix(2);
    scale = 1;
  } else if (digits.ends_with("s")) {
    digits.remove_suffix(1);
  }
  double value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  double ms = value * scale;
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || !std::isfinite(ms) || ms < 1 ||
      ms > 86400000.0) {
    return make_error(ErrorCode::invalid_argument, "--timeout '" + text +
                                                       "' must be a number of seconds from 0.001 to 86400 (e.g. 60, "
                                                       "2.5, 30s or 500ms)");
  }
  return static_cast<int64_t>(std::llround(ms));
}

void print_human(const expand::Report& report) {
  for (const auto& s : report.stores) {
    for (const auto& r : s.runs) {
      if (!r.ok) continue;
      std::cout << "ok: [" << s.name << "] " << s.path << " " << r.shape << " shape read in " << r.duration_ms << " ms"
                << (r.input_modified ? " (the reader wrote to its copy; the real store is untouched)" : "") << "\n";
    }
  }
  for (const auto& msg : expand::failure_messages(report)) std::cout << "FAILED: " << msg << "\n";
  size_t stores = report.stores.size();
  std::cout << "expand check: " << (report.ok ? "passed" : "FAILED") << " (" << stores << " store"
            << (stores == 1 ? "" : "s") << ", reader " << report.executable << " sha256 " << report.executable_sha256
            << ")\n";
}

int expand_check_main(const ExpandCheckArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  auto specs = store::SpecRegistry::with_builtins();
  for (const auto& file : args.spec_files) {
    if (auto st = specs.load_file(fs, file); !st) return report_error("expand check", st.error());
  }
  expand::CheckOptions options;
  options.reader = args.reader;
  auto stores = store_targets(args.stores);
  if (!stores) return report_error("expand check", stores.error());
  options.stores = std::move(*stores);
  auto timeout = parse_timeout(args.timeout);
  if (!timeout) return report_error("expand check", timeout.error());
  options.timeout_ms = *timeout;
  options.allow_destructive_reset = args.allow_destructive_reset;
  auto report = expand::run_check(options, specs, fs, base::system_clock());
  if (!report) return report_error("expand check", report.error());
  std::string json = expand::to_json(*report) + "\n";
  if (!args.out.empty()) {
    if (auto st = base::write_file_atomic(fs, args.out, json); !st) {
      report_error("expand check", st.error().with_context("cannot write the expand report"));
      return k_exit_io;
    }
  }
  if (args.json) {
    std::cout << json;
    for (const auto& msg : expand::failure_messages(*report))
      std::cerr << "cutover expand check: FAILED: " << msg << "\n";
  } else {
    print_human(*report);
    if (!args.out.empty()) std::cout << "report: " << args.out << "\n";
  }
  return report->ok ? k_exit_ok : k_exit_failed;
}

}  // namespace

void add_expand_command(CLI::App& app, int& exit_code) {
  auto* expand = app.add_subcommand("expand", "The expand phase's evidence (runbook rule 1)");
  expand->require_subcommand(1);
  auto* cmd = expand->add_subcommand(
      "check", "Run the new release's reader on the pre-migration and the migrated shape of every store");
  auto args = std::make_shared<ExpandCheckArgs>();
  cmd->add_option("--reader", args->reader,
                  "CMD: the new release's reader; {} becomes the store copy's path (appended when absent). Split "
                  "into words like a shell, without expansion; no shell is run unless CMD is `sh -c '...'`")
      ->required();
  cmd->add_option("--store", args->stores, k_store_flag_help);
  cmd->add_option("--spec", args->spec_files, "a store spec file adding a store kind; repeatable");
  cmd->add_option("--out", args->out, "write the expand report (JSON) here, passed or failed");
  cmd->add_option("--timeout", args->timeout,
                  "seconds each run of the reader may take before it is killed (default 60)");
  cmd->add_flag("--allow-destructive-reset", args->allow_destructive_reset,
                "make the migrated shape as `backfill --allow-destructive-reset` would");
  cmd->add_flag("--json", args->json, "print the report instead of a summary");
  cmd->callback([args, &exit_code] { exit_code = expand_check_main(*args); });
}

}  // namespace cutover::cli
