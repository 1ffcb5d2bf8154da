#include "cutover/server/control_server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <httplib.h>
#include <unistd.h>

#include "cutover/hash/sha256.h"
#include "cutover/json/writer.h"
#include "cutover/route_files/route_files.h"
#include "cutover/routing/route_split.h"
#include "cutover/server/audit_log.h"
#include "cutover/server/control_api.h"
#include "cutover/server/event_loop.h"
#include "cutover/server/metrics.h"
#include "cutover/server/override_store.h"
#include "cutover/server/shared_store.h"
#include "cutover/server/tokens.h"

namespace cutover::server {
namespace {

constexpr auto k_audit_sync_interval = std::chrono::seconds(1);

// Set by the pre-routing handler, read by the logger: both run on the
// connection's thread, around one request.
thread_local int64_t t_request_start_ns = 0;
thread_local HttpRoute t_request_route = HttpRoute::other;
thread_local bool t_request_timed = false;

// The library's request as the API sees it (views into `req`).
ApiRequest api_request(const httplib::Request& req) {
  ApiRequest out{.method = req.method, .target = req.target, .body = req.body, .headers = {}, .raw = {}};
  out.raw = current_request_bytes();
  out.headers.reserve(req.headers.size());
  for (const auto& [name, value] : req.headers) out.headers.emplace_back(name, value);
  return out;
}

// Writes the API's answer into the library's response.
void apply(ApiResponse&& from, httplib::Response& res) {
  res.status = from.status;
  for (auto& [name, value] : from.headers) res.set_header(name, value);
  if (!from.content_type.empty()) res.set_content(std::move(from.body), from.content_type);
}

}  // namespace

struct ControlServer::Impl {
  ServerOptions options;
  base::FileSystem& fs;
  base::Clock& clock;
  std::vector<std::string> warnings;
  std::string state_dir;
  std::unique_ptr<routing::RouteSplit> engine;
  // Engines of reloaded configs, kept for the process's life: decisions in
  // flight (and their string views) may still use an earlier one.
  std::vector<std::unique_ptr<routing::RouteSplit>> reloaded;
  std::mutex reload_mutex;
  TokenSet tokens;
  std::string tokens_file;
  // Token sets of reloads, kept for the process's life (as `reloaded`):
  // a request in flight may hold a Token of an earlier one.
  std::vector<std::unique_ptr<TokenSet>> reloaded_tokens;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<OverrideStore> store;  // the state folder's overrides, or
  std::unique_ptr<SharedStore> shared;   // PostgreSQL's (after audit: it writes to it)
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<ControlApi> api;
  HttpServer http;
  std::unique_ptr<EventLoop> loop;  // after http: destroyed first
  HttpServer decide_http;           // the decide listener (options.decide_host)
  std::unique_ptr<EventLoop> decide_loop;
  std::atomic<bool> stopping{false};
  std::atomic<bool> running{false};  // run() is between its start and its end

  std::mutex sync_mutex;
  std::condition_variable sync_wake;

  Impl(const ServerOptions& o, base::FileSystem& f, base::Clock& c) : options(o), fs(f), clock(c) {}

  // Marks the server as stopping (/readyz says so from now on).
  void set_stopping() {
    {
      std::lock_guard lock(sync_mutex);
      stopping.store(true);
    }
    if (api) api->begin_shutdown();
    sync_wake.notify_all();
  }

  void handle(const httplib::Request& req, httplib::Response& res) { apply(api->handle(api_request(req)), res); }

  // Answers the library's own errors (413, 400, ...) with the envelope.
  httplib::Server::HandlerResponse error_page(const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    apply(api->library_error(res.status, req.path), res);
    return httplib::Server::HandlerResponse::Handled;
  }

  void configure_http() {
    configure(http, loop, false);
    if (!options.decide_host.empty()) configure(decide_http, decide_loop, true);
  }

  void configure(HttpServer& server, std::unique_ptr<EventLoop>& server_loop, bool decide_listener) {
    size_t threads = options.threads ? options.threads : std::max(2u, std::thread::hardware_concurrency());
    server_loop = std::make_unique<EventLoop>(server, threads);
    server.set_event_loop(server_loop.get());
    // The library's pool only hands accepted connections to the loop.
    server.new_task_queue = [] { return new httplib::ThreadPool(2); };
    server.set_payload_max_length(options.max_body_bytes);
    server.set_keep_alive_max_count(1000);
    server.set_keep_alive_timeout(2);
    server.set_read_timeout(5);
    server.set_write_timeout(5);
    server.set_tcp_nodelay(true);
    auto handler = [this, decide_listener](const httplib::Request& req, httplib::Response& res) {
      if (decide_listener)
        apply(api->handle_decide_listener(api_request(req)), res);
      else
        handle(req, res);
    };
    server.Get(".*", handler);
    server.Post(".*", handler);
    server.Put(".*", handler);
    server.Patch(".*", handler);
    server.Delete(".*", handler);
    server.Options(".*", handler);
    server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
      t_request_start_ns = monotonic_ns();
      t_request_route = classify(req.method, split_target(req.target).path);
      t_request_timed = true;
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server.set_logger([this](const httplib::Request&, const httplib::Response& res) {
      HttpRoute route = t_request_timed ? t_request_route : HttpRoute::other;
      int64_t elapsed = t_request_timed ? monotonic_ns() - t_request_start_ns : 0;
      t_request_timed = false;
      metrics->observe_request(route, res.status, elapsed);
    });
    server.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request& req, httplib::Response& res) { return error_page(req, res); }));
    server.set_refusal_handler([this](httplib::Response& res, const std::string& problem) {
      apply(ControlApi::refusal(problem), res);
      metrics->observe_request(HttpRoute::other, res.status, 0);
    });
    server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      apply(ControlApi::internal_error(), res);
    });
  }
};

namespace {

struct LoadedTokens {
  TokenSet set;
  std::string sha256;  // of the file's bytes
};

// The tokens file, checked: anyone who may rewrite it may add a token of
// their own, and anyone who may read it may try guesses offline:
// owner-only, as ssh keeps its keys.
Result<LoadedTokens> load_tokens(base::FileSystem& fs, const std::string& tokens_file) {
  TRY_ASSIGN_CTX(auto tokens_info, fs.stat(tokens_file), "tokens file " + tokens_file);
  if (tokens_info.exists && (tokens_info.mode & 0066) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(tokens_info.mode & 07777));
    return make_error(ErrorCode::invalid_argument,
                      "tokens file " + tokens_file + " is readable or writable by group or others (mode " + mode +
                          "); make it private to the server's user: chmod 600 " + tokens_file);
  }
  TRY_ASSIGN_CTX(auto tokens_text, fs.read_file(tokens_file), "tokens file " + tokens_file);
  LoadedTokens loaded;
  TRY_ASSIGN(loaded.set, TokenSet::parse(tokens_text.view(), tokens_file));
  loaded.sha256 = hash::sha256_hex(tokens_text.view());
  return loaded;
}

}  // namespace

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlServer::~ControlServer() = default;

const std::vector<std::string>& ControlServer::warnings() const { return impl_->warnings; }
const std::string& ControlServer::state_dir() const { return impl_->state_dir; }
std::string ControlServer::shared_state() const { return impl_->shared ? impl_->shared->name() : std::string(); }

Result<std::unique_ptr<ControlServer>> ControlServer::create(const ServerOptions& options, base::FileSystem& fs,
                                                             base::Clock& clock) {
  if (options.config_path.empty()) {
    return make_error(ErrorCode::invalid_argument, "--config is required: the route config names the tokens file");
  }
  auto impl = std::make_unique<Impl>(options, fs, clock);
  // The route config, with the environment over it.
  TRY_ASSIGN(route_files::LoadedConfig loaded,
             route_files::load_route_config(fs, options.config_path, options.environment));
  impl->warnings = std::move(loaded.warnings);
  std::string tokens_file = route_files::tokens_path(loaded.config, options.config_path);
  impl->engine = std::make_unique<routing::RouteSplit>(std::move(loaded.config));

  // The tokens: no server answers the control API without them.
  if (tokens_file.empty()) {
    return make_error(ErrorCode::invalid_argument, "route config " + options.config_path +
                                                       " names no tokens_file; the control API needs one "
                                                       "(docs/formats/tokens.md)");
  }
  impl->tokens_file = tokens_file;
  TRY_ASSIGN(LoadedTokens tokens, load_tokens(fs, tokens_file));
  impl->tokens = std::move(tokens.set);

  // The state folder: overrides (a corrupt file stops us here) and the audit log.
  impl->state_dir = options.state_dir.empty() ? base::join_path(base::parent_directory(options.config_path), "state")
                                              : options.state_dir;
  impl->metrics = std::make_unique<Metrics>(*impl->engine);
  if (!options.decide_host.empty() && !decide_address_allowed(options.decide_host)) {
    return make_error(ErrorCode::invalid_argument,
                      "--decide-listen " + options.decide_host +
                          ": the decide endpoint answers without a token, so it listens only on a loopback or "
                          "private address (127.0.0.0/8, ::1, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7)");
  }
  OverrideBackend* backend = nullptr;
  AuditSink* sink = nullptr;
  if (options.state_url.empty()) {
    TRY_ASSIGN(impl->store, OverrideStore::open(fs, clock, impl->state_dir, *impl->engine));
    TRY_ASSIGN(impl->audit, AuditLog::open(route_files::audit_log_path(impl->state_dir)));
    backend = impl->store.get();
    sink = impl->audit.get();
  } else {
    // Overrides in PostgreSQL; the folder keeps only the decisions' log.
    TRY_CTX(fs.create_directories(impl->state_dir), "state folder " + impl->state_dir);
    TRY_ASSIGN(impl->audit, AuditLog::open(route_files::audit_log_path(impl->state_dir)));
    state::SharedStateOptions shared_options;
    shared_options.freshness_window = options.state_freshness;
    TRY_ASSIGN(impl->shared, SharedStore::open(options.state_url, *impl->engine, clock, *impl->audit, shared_options));
    impl->metrics->set_extra([shared = impl->shared.get()] { return shared->render_metrics(); });
    backend = impl->shared.get();
    sink = impl->shared.get();
  }
  impl->api = std::make_unique<ControlApi>(*impl->engine, impl->tokens, *backend, *sink, *impl->metrics, clock,
                                           options.max_body_bytes, "req_" + std::to_string(::getpid()) + "_");
  impl->api->set_start_time(static_cast<double>(clock.now_ns()) / 1e9);
  impl->configure_http();
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

Result<int> ControlServer::bind() { return impl_->http.listen_on(impl_->options.host, impl_->options.port); }

Result<int> ControlServer::bind_decide() {
  return impl_->decide_http.listen_on(impl_->options.decide_host, impl_->options.decide_port);
}

bool ControlServer::decide_address_allowed(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    uint32_t a = ntohl(v4.s_addr);
    return (a >> 24) == 127 || (a >> 24) == 10 || (a >> 20) == (172u << 4 | 1) || (a >> 16) == (192u << 8 | 168);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    static const in6_addr loopback = IN6ADDR_LOOPBACK_INIT;
    return std::equal(v6.s6_addr, v6.s6_addr + 16, loopback.s6_addr) || (v6.s6_addr[0] & 0xFE) == 0xFC;
  }
  return false;
}

Status ControlServer::run() {
  // stop() may come from another thread at any moment, even before the HTTP
  // library has started: with `running` set first and `stopping` read
  // after, either run() sees the stop, or stop() sees run() and waits for
  // the library to be up before it stops it.
  impl_->running.store(true);
  if (impl_->stopping.load()) {
    impl_->running.store(false);
    return impl_->audit->sync();
  }
  std::thread syncer([this] {
    std::unique_lock lock(impl_->sync_mutex);
    while (!impl_->stopping.load()) {
      impl_->sync_wake.wait_for(lock, k_audit_sync_interval);
      if (auto st = impl_->audit->sync(); !st)
        std::fprintf(stderr, "cutover serve: error: %s\n", st.error().message().c_str());
    }
  });
  bool ok = false;
  std::thread decider;
  Status loop_started = impl_->loop->start();
  if (loop_started && impl_->decide_loop) {
    loop_started = impl_->decide_loop->start();
    if (loop_started) decider = std::thread([this] { impl_->decide_http.listen_after_bind(); });
  }
  if (loop_started)
    ok = impl_->http.listen_after_bind();
  else
    std::fprintf(stderr, "cutover serve: error: %s\n", loop_started.error().message().c_str());
  bool asked_to_stop = impl_->stopping.load();
  if (decider.joinable()) {
    // The library's stop() is a no-op until its loop runs: wait for it (briefly).
    for (int i = 0; i < 5000 && !impl_->decide_http.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    impl_->decide_http.stop();
    decider.join();
  }
  if (impl_->decide_loop) impl_->decide_loop->stop();
  impl_->loop->stop();  // in-flight requests are answered, then every connection is closed
  impl_->running.store(false);
  impl_->set_stopping();
  syncer.join();
  Status synced = impl_->audit->sync();
  if (!ok && !asked_to_stop) return make_error(ErrorCode::io_error, "the HTTP server stopped unexpectedly");
  return synced;
}

Status ControlServer::reopen_audit_log() { return impl_->audit->reopen(); }

namespace {

// Whether two engines label decisions alike (the metrics' tables).
bool same_labels(const routing::RouteSplit& a, const routing::RouteSplit& b) {
  if (a.domain_count() != b.domain_count() || a.reason_count() != b.reason_count()) return false;
  for (size_t i = 0; i < a.domain_count(); ++i) {
    if (a.domain_label(i) != b.domain_label(i)) return false;
  }
  for (size_t i = 0; i < a.reason_count(); ++i) {
    if (a.reason_label(i) != b.reason_label(i)) return false;
  }
  return true;
}

}  // namespace

Result<uint64_t> ControlServer::reload_config() {
  Impl& s = *impl_;
  std::lock_guard lock(s.reload_mutex);
  const std::string& path = s.options.config_path;
  TRY_ASSIGN(route_files::LoadedConfig loaded, route_files::load_route_config(s.fs, path, s.options.environment));
  TRY_ASSIGN_CTX(auto text, s.fs.read_file(path), "route config " + path);
  auto engine = std::make_unique<routing::RouteSplit>(std::move(loaded.config));
  const routing::RouteSplit& current = s.reloaded.empty() ? *s.engine : *s.reloaded.back();
  if (!same_labels(current, *engine)) {
    return make_error(ErrorCode::invalid_argument,
                      "route config " + path +
                          ": its route groups or pinned routes differ (names or order) from the ones in force; "
                          "restart the server to apply such a change");
  }
  auto fits = route_files::load_override_state(s.fs, s.state_dir, *engine);
  if (!fits) return tl::unexpected(fits.error());
  // (With the shared state, its overrides keep the engine of the start:
  // the groups are the same, checked above.)
  if (s.store) s.store->set_engine(*engine);
  s.api->set_engine(*engine);
  uint64_t revision = s.api->config_revision() + 1;
  s.api->set_config_revision(revision);
  s.reloaded.push_back(std::move(engine));
  json::Writer w;
  w.begin_object()
      .member("time", base::rfc3339_utc(s.clock.now_ns()))
      .member("event", "route.split.config.reloaded")
      .member("config_revision", revision)
      .member("source", path)
      .member("sha256", hash::sha256_hex(text.view()))
      .end_object();
  TRY(s.audit->append(w.str(), /*sync=*/true));
  return revision;
}

Result<size_t> ControlServer::reload_tokens() {
  Impl& s = *impl_;
  std::lock_guard lock(s.reload_mutex);
  TRY_ASSIGN(LoadedTokens loaded, load_tokens(s.fs, s.tokens_file));
  auto tokens = std::make_unique<TokenSet>(std::move(loaded.set));
  size_t count = tokens->size();
  s.api->set_tokens(*tokens);
  s.reloaded_tokens.push_back(std::move(tokens));
  json::Writer w;
  w.begin_object()
      .member("time", base::rfc3339_utc(s.clock.now_ns()))
      .member("event", "route.split.tokens.reloaded")
      .member("tokens", static_cast<uint64_t>(count))
      .member("source", s.tokens_file)
      .member("sha256", loaded.sha256)
      .end_object();
  TRY(s.audit->append(w.str(), /*sync=*/true));
  return count;
}

void ControlServer::stop() {
  impl_->set_stopping();
  // If run() has begun, wait (briefly) until the library runs, so that its
  // stop() is not a no-op.
  for (int i = 0; i < 5000 && impl_->running.load() && !impl_->http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->http.stop();
}

}  // namespace cutover::server
