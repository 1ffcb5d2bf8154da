// cutover routes promote|abort|undo|get: the operator verbs of the live route
// split (issue 14, docs/EDGE.md, docs/RUNBOOK.md). Each calls the control API
// of a running `cutover serve` (docs/formats/http-api.md, "Live traffic and
// live control") through http/control_client.h:
//
//   promote GROUP --to PERCENT   POST .../override {"mode": "promote", ...}
//   abort [GROUP]                POST .../override {"mode": "abort", ...}
//   undo                         POST .../override {"mode": "undo"}
//   get [--watch] [--json]       GET  .../state
//
// The server comes from --server or CUTOVER_SERVER, the token from
// --token-file or CUTOVER_TOKEN (the token itself), each variable from the
// environment or ./cutover.conf (cli/settings.h); flags win. Every change
// carries the operator's name (--operator, default $USER) in the
// x-cutover-operator header, which the audit log records beside the token's
// identity.
#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "cli/durations.h"
#include "cli/output.h"
#include "cli/settings.h"
#include "cli/sources.h"
#include "cutover/base/clock.h"
#include "cutover/base/file_system.h"
#include "cutover/http/control_client.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/writer.h"

namespace cutover::cli {
namespace {

struct LiveArgs {
  std::string server;
  std::string token_file;
  std::string operator_name;
  std::string timeout = "10s";
  bool json = false;
  // promote / abort
  std::string group;
  std::string percent;
  // get
  bool watch = false;
  int count = 0;  // refreshes with --watch; 0: until interrupted
  std::string interval = "1s";
};

// The operator's name: --operator, else $USER, else the account's name.
Result<std::string> operator_name(const LiveArgs& args) {
  std::string name = trim(args.operator_name);
  std::string from = "--operator";
  if (name.empty()) {
    name = trim(env("USER"));
    from = "$USER";
  }
  if (name.empty()) {
    if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_name != nullptr) name = pw->pw_name;
    from = "the account name";
  }
  if (name.empty()) {
    return make_error(ErrorCode::invalid_argument, "no operator name: give --operator NAME (it is audited)");
  }
  if (name.size() > 128) return make_error(ErrorCode::invalid_argument, from + " is longer than 128 characters");
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
      return make_error(ErrorCode::invalid_argument, from + " '" + name + "' must be printable ASCII");
    }
  }
  return name;
}

// The client for the server and token the flags or the environment name.
Result<http::ControlClient> connect(const LiveArgs& args, bool change) {
  TRY_ASSIGN(int64_t timeout_ms, parse_duration(args.timeout, "--timeout"));
  TRY_ASSIGN(http::ControlEndpoint endpoint, operator_endpoint(args.server, args.token_file, timeout_ms));
  endpoint.user_agent = "cutover-routes";
  if (change) {
    TRY_ASSIGN(std::string name, operator_name(args));
    endpoint.headers.emplace_back("x-cutover-operator", name);
  }
  return http::ControlClient::connect(endpoint);
}

// --- reading the state ------------------------------------------------------------

std::string text_of(const json::Node* n, const std::string& none = "-") {
  if (n == nullptr || n->is_null()) return none;
  switch (n->kind()) {
    case json::Kind::string:
      return std::string(n->as_string());
    case json::Kind::boolean:
      return n->as_bool() ? "true" : "false";
    case json::Kind::u64:
      return std::to_string(n->as_u64());
    case json::Kind::i64:
      return std::to_string(n->as_i64());
    default:
      return json::to_compact_string(*n);
  }
}

std::string field(const json::Node& obj, std::string_view key, const std::string& none = "-") {
  return text_of(obj.is_object() ? obj.find(key) : nullptr, none);
}

std::string counts(const json::Node& obj, std::string_view target) {
  const json::Node* d = obj.is_object() ? obj.find("decisions_last_minute") : nullptr;
  return field(d == nullptr ? obj : *d, target, "0");
}

void print_state(const json::Node& s, const std::string& server) {
  std::cout << "server " << server << "  revision " << field(s, "revision") << "  updated " << field(s, "updated_at")
            << " by " << field(s, "updated_by") << "\n";
  std::cout << "route split " << (field(s, "enabled") == "true" ? "enabled" : "disabled") << ", mode "
            << field(s, "mode") << ", cohort_percentage " << field(s, "cohort_percentage");
  if (std::string o = field(s, "cohort_percentage_override"); o != "-") std::cout << " (promoted to " << o << ")";
  std::cout << ", global override " << field(s, "override_target") << ", kill switch "
            << (field(s, "force_legacy") == "true" ? "ON" : "off") << "\n";
  std::cout << "decisions in the last minute: legacy " << counts(s, "legacy") << ", rust_shell "
            << counts(s, "rust_shell") << "\n";
  std::cout << std::left << std::setw(26) << "GROUP" << std::setw(12) << "TARGET" << std::setw(11) << "OVERRIDE"
            << std::setw(11) << "ROLLBACK" << std::setw(9) << "PERCENT" << std::setw(10) << "LEGACY/M"
            << "RUST_SHELL/M\n";
  const json::Node* groups = s.find("groups");
  if (groups != nullptr && groups->is_array()) {
    for (size_t i = 0; i < groups->size(); ++i) {
      const json::Node& g = groups->elements()[i];
      std::string percent = field(g, "cohort_percentage");
      if (field(g, "cohort_percentage_override") != "-") percent += "*";
      std::cout << std::left << std::setw(26) << field(g, "domain") << std::setw(12) << field(g, "target")
                << std::setw(11) << field(g, "override_target") << std::setw(11) << field(g, "rollback_target")
                << std::setw(9) << percent << std::setw(10) << counts(g, "legacy") << counts(g, "rust_shell") << "\n";
    }
  }
  std::cout << "(PERCENT: the cohort percentage in force, * promoted; decisions per target in the last minute)\n";
}

// Prints the `data` of an answer: canonical JSON, or the table.
int print_answer(const json::Document& data, const std::string& server, bool json_out) {
  if (json_out) {
    std::cout << json::to_canonical_string(data.root()) << "\n";
  } else {
    print_state(data.root(), server);
  }
  return k_exit_ok;
}

// --- the verbs ----------------------------------------------------------------------

int change(const LiveArgs& args, const std::string& command, const std::string& body, const std::string& done) {
  auto client = connect(args, true);
  if (!client) return report_error(command, client.error());
  auto data = client->call("POST", std::string(http::k_route_split_api) + "/override", body);
  if (!data) return report_error(command, data.error());
  if (!args.json)
    std::cerr << "cutover " << command << ": " << done << " (revision " << field(data->root(), "revision") << ")\n";
  return print_answer(*data, client->base(), args.json);
}

Result<int> parse_percent(std::string text) {
  if (!text.empty() && text.back() == '%') text.pop_back();
  text = trim(text);
  if (text.empty() || text.size() > 3 || text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(text) > 100) {
    return make_error(ErrorCode::invalid_argument, "--to '" + text + "' must be a whole percentage from 0 to 100");
  }
  return std::stoi(text);
}

int promote(const LiveArgs& args) {
  auto percent = parse_percent(args.percent);
  if (!percent) return report_error("routes promote", percent.error());
  std::string group = trim(args.group);
  if (group.empty()) return report_error("routes promote", Error(ErrorCode::invalid_argument, "GROUP is blank"));
  json::Writer w;
  w.begin_object().member("mode", "promote").member("domain", group).member("cohort_percentage", *percent);
  w.end_object();
  std::string body = w.take();
  return change(args, "routes promote", body,
                "group " + group + " promoted to " + std::to_string(*percent) + " % of cohorts on rust_shell");
}

int abort_groups(const LiveArgs& args) {
  std::string group = trim(args.group);
  json::Writer w;
  w.begin_object().member("mode", "abort");
  if (!group.empty()) w.member("domain", group);
  w.end_object();
  std::string body = w.take();
  return change(args, "routes abort", body,
                group.empty() ? "every group aborted to its rollback target (one change; `routes undo` reverts it)"
                              : "group " + group + " aborted to its rollback target");
}

int undo(const LiveArgs& args) {
  json::Writer w;
  w.begin_object().member("mode", "undo").end_object();
  return change(args, "routes undo", w.take(), "the last change was undone");
}

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) { g_interrupted = 1; }

int get(const LiveArgs& args) {
  auto client = connect(args, false);
  if (!client) return report_error("routes get", client.error());
  std::string path = std::string(http::k_route_split_api) + "/state";
  if (!args.watch) {
    auto data = client->call("GET", path);
    if (!data) return report_error("routes get", data.error());
    return print_answer(*data, client->base(), args.json);
  }
  auto interval = parse_duration(args.interval, "--interval");
  if (!interval) return report_error("routes get", interval.error());
  if (args.count < 0) {
    return report_error("routes get", Error(ErrorCode::invalid_argument, "--count must be 0 (forever) or more"));
  }
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  // Every refresh: the state (one line of JSON with --json; the table after a
  // time line otherwise). A refresh that fails is reported and the watch goes
  // on (a restarting server comes back); the exit status is the last one's.
  int rc = k_exit_ok;
  auto next = std::chrono::steady_clock::now();
  for (int n = 0; (args.count == 0 || n < args.count) && !g_interrupted; ++n) {
    if (n > 0) {
      next += std::chrono::milliseconds(*interval);
      while (!g_interrupted && std::chrono::steady_clock::now() < next) {
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            next - std::chrono::steady_clock::now(), std::chrono::milliseconds(50)));
      }
      if (g_interrupted) break;
    }
    auto data = client->call("GET", path);
    if (!data) {
      rc = report_error("routes get", data.error());
      continue;
    }
    if (args.json) {
      std::cout << json::to_compact_string(data->root()) << "\n";
    } else {
      std::cout << "--- " << base::rfc3339_utc(base::system_clock().now_ns()) << "\n";
      print_state(data->root(), client->base());
    }
    std::cout.flush();
    rc = k_exit_ok;
  }
  return rc;
}

void add_connection_options(CLI::App* cmd, LiveArgs& args) {
  cmd->add_option("--server", args.server, "the control server's URL, e.g. http://127.0.0.1:8787 (env CUTOVER_SERVER)");
  cmd->add_option("--token-file", args.token_file, "a file holding the token (env CUTOVER_TOKEN: the token itself)");
  cmd->add_option("--timeout", args.timeout, "to connect, then for the answer (e.g. 10s, 500ms)")
      ->capture_default_str();
  cmd->add_flag("--json", args.json, "print the server's state as JSON (the state endpoint's data)");
}

void add_operator_option(CLI::App* cmd, LiveArgs& args) {
  cmd->add_option("--operator", args.operator_name, "your name, recorded in the audit log (default: $USER)");
}

}  // namespace

// Registered by add_routes_command (routes_command.cc).
void add_routes_live_commands(CLI::App* routes, int& exit_code) {
  auto args = std::make_shared<LiveArgs>();

  auto* prom = routes->add_subcommand("promote", "Live: send PERCENT % of GROUP's cohorts to the new service");
  prom->add_option("GROUP", args->group, "route group, e.g. chat_pilot")->required();
  prom->add_option("--to", args->percent, "cohort percentage, 0-100")->required();
  add_connection_options(prom, *args);
  add_operator_option(prom, *args);
  prom->callback([args, &exit_code] { exit_code = promote(*args); });

  auto* ab = routes->add_subcommand(
      "abort", "Live: send GROUP (without GROUP: every group, as one change) to its rollback target");
  ab->add_option("GROUP", args->group, "route group; default: every group");
  add_connection_options(ab, *args);
  add_operator_option(ab, *args);
  ab->callback([args, &exit_code] { exit_code = abort_groups(*args); });

  auto* un = routes->add_subcommand("undo", "Live: revert the last change (promote, abort or override)");
  add_connection_options(un, *args);
  add_operator_option(un, *args);
  un->callback([args, &exit_code] { exit_code = undo(*args); });

  auto* gt = routes->add_subcommand(
      "get", "Live: the server's groups, targets, cohort percentages, revision and last minute's decisions");
  add_connection_options(gt, *args);
  gt->add_flag("--watch", args->watch, "refresh every --interval until interrupted (or --count times)");
  gt->add_option("--interval", args->interval, "with --watch: time between refreshes")->capture_default_str();
  gt->add_option("--count", args->count, "with --watch: stop after N refreshes (0: never)")->capture_default_str();
  gt->callback([args, &exit_code] { exit_code = get(*args); });
}

}  // namespace cutover::cli
