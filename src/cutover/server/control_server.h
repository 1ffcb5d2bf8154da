// The route-split control server (SPEC §6; docs/formats/http-api.md): the
// control API (status, evaluate, override) behind bearer tokens, the web
// entry that decides every other path and redirects it, /metrics, /healthz
// and /readyz. Overrides persist in the state folder (OverrideStore); every
// override and every served decision is a line in DIR/audit.jsonl.
//
// The pieces: the handlers are pure (control_api.h: a request in, a response
// out); the connections are served by an epoll loop that replaces the HTTP
// library's thread-per-connection loop (event_loop.h); this class wires them
// to the state folder (OverrideStore, AuditLog), or to PostgreSQL
// (SharedStore, with decisions still in DIR/audit.jsonl), and the library. The
// library's header is included in event_loop.h and control_server.cc only.
//
// Lifecycle: create() loads and checks everything (config, tokens, state)
// and refuses to start on any problem; bind() takes the port; run() serves
// until stop(), which may be called from any thread (the CLI calls it from
// its signal thread on SIGTERM); in-flight requests finish, then run()
// returns and the audit log is synced.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/routing/config.h"

namespace cutover::server {

struct ServerOptions {
  std::string config_path;  // required: the route config (it names the tokens file)
  std::string state_dir;    // "" = "state" beside the config file
  // "" = overrides in state_dir; else a postgresql:// URL: overrides and
  // their audit in that database (SharedStore), decisions' audit log still
  // in state_dir.
  std::string state_url;
  std::chrono::milliseconds state_freshness{2000};  // with state_url: fail safe after this long unproven
  std::string host = "127.0.0.1";
  int port = 8787;          // 0 = any free port (bind() says which)
  std::string decide_host;  // "" = no decide listener (--decide-listen)
  int decide_port = 0;
  routing::Environment environment;   // OA_ROUTE_SPLIT_* values to apply over the file
  size_t max_body_bytes = 64 * 1024;  // larger request bodies get 413
  size_t threads = 0;                 // event threads serving connections; 0 = one a core, at least 2
};

class ControlServer {
 public:
  static Result<std::unique_ptr<ControlServer>> create(const ServerOptions& options, base::FileSystem& fs,
                                                       base::Clock& clock);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Environment values the config loader ignored (print them at start).
  const std::vector<std::string>& warnings() const;
  const std::string& state_dir() const;
  // The shared state's URL with its password hidden, or "" (state folder).
  std::string shared_state() const;

  // Binds the listening socket; returns the port (useful with port 0).
  Result<int> bind();
  // Binds the decide listener (ServerOptions::decide_host); returns its port.
  // REQUIRES: a decide_host was given.
  Result<int> bind_decide();
  // Serves until stop(). REQUIRES: bind() succeeded (and bind_decide(), with a decide host).
  Status run();
  // Asks run() to return; thread-safe, idempotent.
  void stop();
  // Reopens DIR/audit.jsonl (after log rotation moved it); thread-safe.
  Status reopen_audit_log();
  // Reads the route config file again (with the start's environment over
  // it). A file that cannot be read or checked, that names other route
  // groups or pinned routes (names or order; a restart applies those), or
  // that the overrides in force do not fit, is refused (the error says why)
  // and the config in force stays. A good one is in force for the next
  // decision, as config revision + 1, audited (route.split.config.reloaded).
  // Thread-safe. Returns the new config revision.
  Result<uint64_t> reload_config();

  // Reads the tokens file again (the one the route config named at start)
  // and authenticates with it from the next request; returns how many
  // tokens it holds. A file that is missing, malformed, empty or readable
  // by others is refused and the tokens in force stay. Audited
  // (route.split.tokens.reloaded: the count and the file's SHA-256, never
  // a token).
  Result<size_t> reload_tokens();

  // True for an address the decide listener may serve without a token:
  // loopback (127.0.0.0/8, ::1, "localhost") or private (10/8, 172.16/12,
  // 192.168/16, fc00::/7).
  static bool decide_address_allowed(const std::string& host);

 private:
  struct Impl;
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cutover::server
