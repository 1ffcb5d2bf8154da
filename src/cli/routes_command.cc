// cutover routes evaluate PATH | status: the route-split engine offline
// (SPEC §6), on a route config (docs/formats/route-config.md) or the built-in
// reference, with the OA_ROUTE_SPLIT_* variables of this process applied, and
// with the overrides a server persisted when --state-dir names its folder.
// cutover routes check: every group's rollback and forward targets, and every
// pinned route's target, answer the health path (docs/formats/routes-report.md).
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/durations.h"
#include "cli/output.h"
#include "cutover/hash/sha256.h"
#include "cutover/http/target_probe.h"
#include "cutover/json/writer.h"
#include "cutover/route_files/route_files.h"
#include "cutover/routing/report.h"

namespace cutover::cli {
namespace {

struct RoutesArgs {
  std::string config;
  std::string state_dir;
  std::string path;
  std::string cohort_key;
  std::string batch;
  bool json = false;
};

struct CheckArgs {
  std::string config;
  std::string health_path = "/healthz";
  std::string timeout = "2s";
  std::string out;
  bool json = false;
};

struct Loaded {
  std::unique_ptr<routing::RouteSplit> engine;
  routing::Overrides overrides;
};

Result<Loaded> load(const RoutesArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  TRY_ASSIGN(auto loaded, route_files::load_route_config(fs, args.config, route_files::route_environment(environ)));
  for (const std::string& w : loaded.warnings) std::cerr << "cutover routes: warning: " << w << "\n";
  Loaded out;
  out.engine = std::make_unique<routing::RouteSplit>(std::move(loaded.config));
  if (!args.state_dir.empty()) {
    TRY_ASSIGN(auto state, route_files::load_override_state(fs, args.state_dir, *out.engine));
    out.overrides = std::move(state.overrides);
  }
  return out;
}

std::string optional_target(std::optional<routing::RouteTarget> t) {
  return t ? std::string(routing::target_name(*t)) : "-";
}

// --batch FILE: one decision a line of FILE ("PATH" or "PATH<TAB>COHORT_KEY";
// "-" reads standard input), in order: "PATH -> TARGET (REASON)" a line, or
// with --json one document {"decisions": [...]}.
int evaluate_batch(const RoutesArgs& args, const Loaded& loaded) {
  auto input = read_input(args.batch);
  if (!input) return report_error("routes evaluate", input.error().with_context("--batch " + args.batch));
  std::string_view text = input->view();
  json::Writer out;
  out.begin_object().key("decisions").begin_array();
  std::string lines;
  size_t number = 0;
  while (!text.empty()) {
    ++number;
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    size_t tab = line.find('\t');
    std::string_view path = line.substr(0, tab);
    std::string_view key = tab == std::string_view::npos ? std::string_view() : line.substr(tab + 1);
    if (path.empty()) {
      return report_error("routes evaluate", Error(ErrorCode::invalid_argument,
                                                   "--batch " + args.batch + " line " + std::to_string(number) +
                                                       ": no path (each line is PATH or PATH<TAB>COHORT_KEY)"));
    }
    routing::Decision d = loaded.engine->evaluate(path, key, loaded.overrides);
    if (args.json) {
      routing::write_decision(out, d);
    } else {
      lines += d.path + " -> " + std::string(routing::target_name(d.target)) + " (" + std::string(d.reason) + ")\n";
    }
  }
  if (args.json) {
    std::cout << out.end_array().end_object().take() << "\n";
  } else {
    std::cout << lines;
  }
  return k_exit_ok;
}

int evaluate(const RoutesArgs& args) {
  if (args.path.empty() == args.batch.empty()) {
    return report_error("routes evaluate",
                        Error(ErrorCode::invalid_argument, "give either PATH or --batch FILE (one, not both)"));
  }
  auto loaded = load(args);
  if (!loaded) return report_error("routes evaluate", loaded.error());
  if (!args.batch.empty()) return evaluate_batch(args, *loaded);
  routing::Decision d = loaded->engine->evaluate(args.path, args.cohort_key, loaded->overrides);
  if (args.json) {
    print_json([&](json::Writer& out) { routing::write_decision(out, d); });
    return k_exit_ok;
  }
  std::cout << d.path << " -> " << routing::target_name(d.target) << " (" << d.reason << ")\n";
  std::cout << "  route_domain:    " << d.route_domain << "\n";
  std::cout << "  rollback_target: " << routing::target_name(d.rollback_target) << "\n";
  std::cout << "  cohort_key:      " << d.cohort_key << "\n";
  if (d.cohort_bucket) {
    int percentage = loaded->engine->config().cohort_percentage;
    std::cout << "  cohort_bucket:   " << int(*d.cohort_bucket) << (*d.cohort_bucket < percentage ? " < " : " >= ")
              << percentage << " %\n";
  }
  return k_exit_ok;
}

int status(const RoutesArgs& args) {
  auto loaded = load(args);
  if (!loaded) return report_error("routes status", loaded.error());
  const routing::RouteSplit& engine = *loaded->engine;
  const routing::Overrides& o = loaded->overrides;
  if (args.json) {
    print_json([&](json::Writer& out) { routing::write_status(out, engine, o); });
    return k_exit_ok;
  }
  const routing::RouteConfig& c = engine.config();
  std::cout << "route split: " << (c.enabled ? "enabled" : "disabled") << ", mode " << routing::mode_name(c.mode);
  if (c.mode == routing::RouteMode::cohort)
    std::cout << " (" << int(c.cohort_percentage) << " % of cohorts to rust_shell)";
  std::cout << ", kill switch " << (c.force_legacy ? "ON (force_legacy)" : "off") << "\n";
  std::cout << "config: " << (c.source == "built-in" ? "the built-in reference (no --config)" : c.source) << "\n";
  for (const std::string& e : c.environment) std::cout << "environment: " << e << "\n";
  std::cout << "new-service routes:";
  if (c.rust_routes.empty()) std::cout << " (none)";
  for (const auto& r : c.rust_routes) std::cout << " " << r;
  std::cout << "\n";
  std::cout << "legacy base URL: " << c.legacy_base_url.value_or("(none: legacy web requests get 503)") << "\n";
  std::cout << "rust base URL: " << c.rust_base_url.value_or("(none: the server answers with the decision)") << "\n";
  std::cout << "global override: " << optional_target(o.global) << "\n";
  if (!c.pinned_routes.empty()) {
    std::cout << "pinned routes (before everything else):\n";
    for (const auto& p : c.pinned_routes) {
      std::cout << "  " << std::left << std::setw(30) << p.prefix << " " << std::setw(10)
                << routing::target_name(p.target) << " " << p.reason << "\n";
    }
  }
  std::cout << "route groups (tried in order):\n";
  std::cout << "  " << std::left << std::setw(26) << "GROUP" << std::setw(11) << "ROLLBACK" << std::setw(11)
            << "OVERRIDE"
            << "PREFIXES\n";
  for (const auto& g : c.route_groups) {
    auto it = o.groups.find(g.domain);
    std::ostringstream prefixes;
    for (size_t i = 0; i < g.route_prefixes.size(); ++i) prefixes << (i ? " " : "") << g.route_prefixes[i];
    std::cout << "  " << std::left << std::setw(26) << g.domain << std::setw(11)
              << routing::target_name(g.rollback_target) << std::setw(11)
              << (it == o.groups.end() ? std::string("-") : std::string(routing::target_name(it->second)))
              << prefixes.str() << "\n";
  }
  return k_exit_ok;
}

int check(const CheckArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  http::ProbeOptions options;
  options.health_path = args.health_path;
  auto timeout = parse_duration(args.timeout, "--timeout");
  if (!timeout) return report_error("routes check", timeout.error());
  options.timeout_ms = *timeout;
  if (auto st = http::check_probe_options(options); !st) return report_error("routes check", st.error());
  // The digest is of the bytes the config was parsed from.
  std::string sha = http::builtin_config_sha256();
  routing::RouteConfig config = routing::reference_config();
  if (!args.config.empty()) {
    auto info = fs.stat(args.config);
    if (!info) return report_error("routes check", info.error().with_context("route config " + args.config));
    if (!info->exists) {
      return report_error("routes check", Error(ErrorCode::not_found, "route config " + args.config +
                                                                          " does not exist; give the route config the "
                                                                          "service runs with"));
    }
    auto bytes = fs.read_file(args.config);
    if (!bytes) return report_error("routes check", bytes.error().with_context("route config " + args.config));
    sha = hash::sha256_hex(bytes->view());
    auto parsed = routing::parse_route_config(bytes->view(), args.config);
    if (!parsed) return report_error("routes check", parsed.error());
    config = std::move(*parsed);
  }
  auto warnings = routing::apply_environment(config, route_files::route_environment(environ));
  if (!warnings) return report_error("routes check", warnings.error());
  for (const std::string& w : *warnings) std::cerr << "cutover routes check: warning: " << w << "\n";

  http::RoutesReport report = http::check_route_targets(config, args.config, sha, options, base::system_clock());
  std::string json_text = http::routes_report_json(report);
  if (!args.out.empty()) {
    if (auto st = base::write_file_atomic(fs, args.out, json_text); !st) {
      return report_error("routes check", st.error().with_context("cannot write the report --out " + args.out));
    }
  }
  std::vector<std::string> failures = http::routes_report_failures(report);
  if (args.json) {
    std::cout << json_text;
  } else {
    for (const auto& g : report.groups) {
      for (const auto& c : g.checks) {
        std::cout << (c.ok ? "ok   " : "FAIL ") << "group " << g.group << " " << c.role << " " << c.target << " "
                  << c.url.value_or("(no base URL)") << ": "
                  << (c.ok ? "status " + std::to_string(c.status.value_or(0)) : c.error.value_or("failed")) << "\n";
      }
    }
    for (const auto& p : report.pins) {
      for (const auto& c : p.checks) {
        std::cout << (c.ok ? "ok   " : "FAIL ") << "pinned " << p.route << " " << c.target << " "
                  << c.url.value_or("(no base URL)") << ": "
                  << (c.ok ? "status " + std::to_string(c.status.value_or(0)) : c.error.value_or("failed")) << "\n";
      }
    }
  }
  if (!failures.empty()) {
    for (const auto& f : failures) std::cerr << "cutover routes check: " << f << "\n";
    std::cerr << "cutover routes check: FAILED: " << failures.size() << " target check(s) failed"
              << (args.out.empty() ? "" : "; report " + args.out) << "\n";
    return k_exit_failed;
  }
  if (!args.json) {
    std::cout << "routes check: ok: " << report.groups.size() << " group(s) and " << report.pins.size()
              << " pinned route(s) answer " << report.health_path << (args.out.empty() ? "" : "; report " + args.out)
              << "\n";
  }
  return k_exit_ok;
}

void add_common(CLI::App* cmd, RoutesArgs& args) {
  cmd->add_option("--config", args.config,
                  "route config file (docs/formats/route-config.md); default: the built-in reference");
  cmd->add_option("--state-dir", args.state_dir, "a server's state folder: apply the overrides it persisted");
  cmd->add_flag("--json", args.json, "print JSON (the control API's field names)");
}

}  // namespace

void add_routes_nginx_config_command(CLI::App* routes, int& exit_code);  // routes_nginx_command.cc
void add_routes_live_commands(CLI::App* routes, int& exit_code);         // routes_live_command.cc

void add_routes_command(CLI::App& app, int& exit_code) {
  auto* routes = app.add_subcommand("routes", "Route split offline: evaluate a path or show the rollback matrix");
  routes->require_subcommand(1);
  auto args = std::make_shared<RoutesArgs>();

  auto* eval = routes->add_subcommand("evaluate", "Decide which target serves PATH, and why");
  eval->add_option("PATH", args->path, "request path, e.g. /chat/thread-1");
  eval->add_option("--batch", args->batch,
                   "decide every line of FILE instead (PATH or PATH<TAB>COHORT_KEY; - for standard input)");
  eval->add_option("--cohort-key", args->cohort_key, "cohort key (user, device, ...); default: anonymous");
  add_common(eval, *args);
  eval->callback([args, &exit_code] { exit_code = evaluate(*args); });

  auto* stat = routes->add_subcommand("status", "Show the route split: mode, switches, groups and rollback targets");
  add_common(stat, *args);
  stat->callback([args, &exit_code] { exit_code = status(*args); });

  auto c = std::make_shared<CheckArgs>();
  auto* chk = routes->add_subcommand("check",
                                     "Check that every group's rollback and forward targets (and every pinned "
                                     "route's target) answer their health path; exit 1 naming each that does not");
  chk->add_option("--config", c->config, "route config file; default: the built-in reference (which has no base URLs)");
  chk->add_option("--health-path", c->health_path, "the path asked on each target's base URL")->capture_default_str();
  chk->add_option("--timeout", c->timeout, "per target: to connect, then to answer (e.g. 2s, 500ms)")
      ->capture_default_str();
  chk->add_option("--out", c->out, "write the report (docs/formats/routes-report.md) to FILE, atomically");
  chk->add_flag("--json", c->json, "print the report as JSON");
  chk->callback([c, &exit_code] { exit_code = check(*c); });

  add_routes_nginx_config_command(routes, exit_code);
  add_routes_live_commands(routes, exit_code);
}

}  // namespace cutover::cli
