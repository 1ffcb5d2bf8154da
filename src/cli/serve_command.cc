// cutover serve --config F [--listen HOST:PORT] [--state-dir DIR]
//               [--state postgresql://... [--state-freshness-ms MS]]: the
// route-split control server (docs/formats/http-api.md). Overrides live in
// DIR (the default) or, with --state (or CUTOVER_STATE), in PostgreSQL,
// shared by every replica (docs/EDGE.md "Shared state"). Prints
// "listening on HOST:PORT" as its first line on standard output once the
// socket is bound (PORT 0 picks a free port), and shuts down cleanly on
// SIGTERM or SIGINT: in-flight requests finish, the audit log is synced,
// exit status 0. SIGHUP reopens the audit log (after logrotate moved it), reloads the tokens file
// and reloads the route config (a bad one is refused, the old one kept).
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include <pthread.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cutover/base/clock.h"
#include "cutover/json/writer.h"
#include "cutover/route_files/route_files.h"
#include "cutover/server/control_server.h"

namespace cutover::cli {
namespace {

struct ServeArgs {
  std::string config;
  std::string listen = "127.0.0.1:8787";
  std::string state_dir;
  std::string decide_listen;
  std::string state_url;
  int64_t state_freshness_ms = 2000;
  bool json = false;
};

Result<std::pair<std::string, int>> parse_listen(const std::string& listen, const char* flag = "--listen") {
  size_t colon = listen.rfind(':');
  auto bad = [&] {
    return make_error(ErrorCode::invalid_argument,
                      std::string(flag) + " '" + listen +
                          "' must be HOST:PORT with PORT 0-65535, e.g. 127.0.0.1:8787 (0: any free port)");
  };
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) return bad();
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port_text = listen.substr(colon + 1);
  if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) return bad();
  int port = std::stoi(port_text);
  if (port > 65535) return bad();
  return std::pair{host, port};
}

// SIGHUP: reopens the audit log, reloads the route config and the tokens;
// what cannot be reloaded stays in force.
void reload_on_sighup(server::ControlServer& server) {
  Status st = server.reopen_audit_log();
  if (st)
    std::cerr << "cutover serve: SIGHUP, audit log reopened\n";
  else
    std::cerr << "cutover serve: error: " << st.error().message() << "\n";
  auto reloaded = server.reload_config();
  if (reloaded)
    std::cerr << "cutover serve: SIGHUP, route config reloaded (config revision " << *reloaded << ")\n";
  else
    std::cerr << "cutover serve: config reload refused: " << reloaded.error().message()
              << "; the config in force stays\n";
  auto tokens = server.reload_tokens();
  if (tokens)
    std::cerr << "cutover serve: SIGHUP, tokens reloaded (" << *tokens << " tokens)\n";
  else
    std::cerr << "cutover serve: tokens reload refused: " << tokens.error().message() << "; the tokens in force stay\n";
}

int serve(const ServeArgs& args) {
  auto listen = parse_listen(args.listen);
  if (!listen) return report_error("serve", listen.error());

  // Block the shutdown signals in every thread (the server's threads inherit
  // this mask); one thread below waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);  // our own wake-up when the server ends by itself
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  server::ServerOptions options;
  options.config_path = args.config;
  options.state_dir = args.state_dir;
  options.state_url = args.state_url;
  if (args.state_freshness_ms < 500 || args.state_freshness_ms > 600000) {
    return report_error("serve", Error(ErrorCode::invalid_argument,
                                       "--state-freshness-ms must be 500-600000 (the heartbeat runs every 300 ms)"));
  }
  options.state_freshness = std::chrono::milliseconds(args.state_freshness_ms);
  options.host = listen->first;
  options.port = listen->second;
  options.environment = route_files::route_environment(environ);
  if (!args.decide_listen.empty()) {
    auto decide = parse_listen(args.decide_listen, "--decide-listen");
    if (!decide) return report_error("serve", decide.error());
    options.decide_host = decide->first;
    options.decide_port = decide->second;
  }
  auto srv = server::ControlServer::create(options, base::real_file_system(), base::system_clock());
  if (!srv) return report_error("serve", srv.error());
  for (const std::string& w : (*srv)->warnings()) std::cerr << "cutover serve: warning: " << w << "\n";
  auto port = (*srv)->bind();
  if (!port) return report_error("serve", port.error());

  std::optional<int> decide_port;
  if (!options.decide_host.empty()) {
    auto bound = (*srv)->bind_decide();
    if (!bound) return report_error("serve", bound.error());
    decide_port = *bound;
  }
  auto bracket = [](const std::string& h) { return h.find(':') != std::string::npos ? "[" + h + "]" : h; };
  std::string address = bracket(options.host) + ":" + std::to_string(*port);
  std::string decide_address =
      decide_port ? bracket(options.decide_host) + ":" + std::to_string(*decide_port) : std::string();
  if (args.json) {
    json::Writer w;
    w.begin_object().member("listening", address).key("decide_listening");
    if (decide_port)
      w.string(decide_address);
    else
      w.null();
    std::cout << w.end_object().take() << std::endl;
  } else {
    std::cout << "listening on " << address << "\n";
    if (decide_port) std::cout << "decide listening on " << decide_address << "\n";
    std::cout.flush();
  }
  if (std::string shared = (*srv)->shared_state(); !shared.empty()) {
    std::cerr << "cutover serve: shared state " << shared << " (overrides and their audit); state folder "
              << (*srv)->state_dir() << " (audit.jsonl of decisions)\n";
  } else {
    std::cerr << "cutover serve: state folder " << (*srv)->state_dir() << " (overrides.json, audit.jsonl)\n";
  }

  server::ControlServer* server = srv->get();
  std::thread waiter([server, signals] {
    for (;;) {
      int sig = 0;
      sigwait(&signals, &sig);
      if (sig == SIGHUP) {
        reload_on_sighup(*server);
        continue;
      }
      if (sig != SIGUSR1)
        std::cerr << "cutover serve: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ", shutting down\n";
      server->stop();
      return;
    }
  });
  Status st = server->run();
  // If the server ended by itself, wake the waiter (a pending SIGUSR1 after
  // it already left is harmless: it stays blocked).
  ::kill(::getpid(), SIGUSR1);
  waiter.join();
  if (!st) return report_error("serve", st.error());
  std::cerr << "cutover serve: stopped\n";
  return k_exit_ok;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("serve", "Run the route-split control server (control API, web entry, /metrics)");
  auto args = std::make_shared<ServeArgs>();
  cmd->add_option("--config", args->config,
                  "route config file; it names the tokens file (docs/formats/route-config.md)")
      ->required();
  cmd->add_option("--listen", args->listen, "HOST:PORT to listen on; PORT 0 picks a free port")->capture_default_str();
  cmd->add_option("--decide-listen", args->decide_listen,
                  "ADDR:PORT for the token-free decide endpoint (nginx auth_request); loopback or private ADDR only");
  cmd->add_option("--state-dir", args->state_dir,
                  "folder for overrides.json and audit.jsonl (with --state: audit.jsonl of decisions only); "
                  "default: state/ beside the config");
  cmd->add_option("--state", args->state_url,
                  "postgresql://... : overrides and their audit in PostgreSQL, shared by every replica "
                  "(`cutover state init` first; docs/EDGE.md)")
      ->envname("CUTOVER_STATE");
  cmd->add_option("--state-freshness-ms", args->state_freshness_ms,
                  "with --state: serve every group's rollback target and answer /readyz 503 when the database "
                  "has not been reached for this long")
      ->capture_default_str();
  cmd->add_flag("--json", args->json,
                "print the bound addresses as one JSON line, {listening, decide_listening}, and errors as JSON");
  cmd->callback([args, &exit_code] { exit_code = serve(*args); });
}

}  // namespace cutover::cli
