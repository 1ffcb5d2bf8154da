// cutover routes nginx-config: the nginx front for the route split (issue 14,
// docs/EDGE.md), generated from the route config by routing/nginx_config.h,
// printed or written atomically with --out.
#include <iostream>
#include <memory>
#include <string>

#include <unistd.h>
#include <CLI/CLI.hpp>

#include "cli/output.h"
#include "cutover/base/file_system.h"
#include "cutover/json/writer.h"
#include "cutover/route_files/route_files.h"
#include "cutover/routing/nginx_config.h"

namespace cutover::cli {
namespace {

struct NginxArgs {
  std::string config;
  std::string out;
  bool json = false;
  routing::NginxOptions options;
};

int nginx_config(const NginxArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  auto loaded = route_files::load_route_config(fs, args.config, route_files::route_environment(environ));
  if (!loaded) return report_error("routes nginx-config", loaded.error());
  for (const std::string& w : loaded->warnings) std::cerr << "cutover routes nginx-config: warning: " << w << "\n";
  routing::NginxOptions options = args.options;
  options.config_source = args.config;
  auto text = routing::nginx_config(loaded->config, options);
  if (!text) return report_error("routes nginx-config", text.error());
  if (args.out.empty()) {
    if (args.json) {
      json::Writer w;
      std::cout << w.begin_object().member("config", *text).member("out", "").end_object().take() << "\n";
    } else {
      std::cout << *text;
    }
    return k_exit_ok;
  }
  if (auto st = base::write_file_atomic(fs, args.out, *text); !st) {
    return report_error("routes nginx-config", st.error().with_context("cannot write --out " + args.out));
  }
  std::cerr << "cutover routes nginx-config: wrote " << args.out << "\n";
  if (args.json) {
    json::Writer w;
    std::cout << w.begin_object().member("out", args.out).end_object().take() << "\n";
  }
  return k_exit_ok;
}

}  // namespace

// Registered by add_routes_command (routes_command.cc).
void add_routes_nginx_config_command(CLI::App* routes, int& exit_code) {
  auto args = std::make_shared<NginxArgs>();
  auto* cmd = routes->add_subcommand(
      "nginx-config", "Write the nginx front (an http {} include) that steers traffic by the decider (docs/EDGE.md)");
  cmd->add_option("--config", args->config, "route config file (docs/formats/route-config.md); needs both base URLs")
      ->required();
  cmd->add_option("--decider", args->options.decider, "HOST:PORT of cutover serve's decide endpoint")->required();
  cmd->add_option("--listen", args->options.listen, "[ADDR:]PORT the nginx front listens on")->required();
  cmd->add_option("--out", args->out, "write the include to FILE, atomically; default: standard output");
  cmd->add_option("--decider-connect-timeout", args->options.decider_connect_timeout_ms,
                  "milliseconds to connect to the decider before failing safe to legacy")
      ->capture_default_str();
  cmd->add_option("--decider-read-timeout", args->options.decider_read_timeout_ms,
                  "milliseconds to wait for the decider's answer before failing safe to legacy")
      ->capture_default_str();
  cmd->add_flag("--json", args->json,
                "print {out} (with --out) or {config, out: \"\"} as one JSON document, and errors as JSON");
  cmd->callback([args, &exit_code] { exit_code = nginx_config(*args); });
}

}  // namespace cutover::cli
