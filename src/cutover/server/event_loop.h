// The connection layer of the control server: an epoll loop that serves
// cpp-httplib's parser and writer (see event_loop.cc for why and how), and
// the library's server class with a listening socket of our own.
//
// Internal to the server module: this header and control_server.cc are the
// only places that include the HTTP library's header.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>
#include <sys/time.h>
#include <unistd.h>

#include "cutover/base/error.h"

namespace cutover::server {

// CLOCK_MONOTONIC in nanoseconds.
int64_t monotonic_ns();

// While a handler runs on an event thread: the raw bytes of the request it
// answers (request line, header fields, body), as received, before the
// library decoded anything (it percent-decodes header values); "" elsewhere.
std::string_view current_request_bytes();

class HttpServer;

// The epoll set and its threads.
class EventLoop {
 public:
  EventLoop(HttpServer& http, size_t threads) : http_(http), threads_(threads) {}
  ~EventLoop() { stop(); }

  // REQUIRES: not started.
  Status start();
  // Takes over an accepted connection (closes it when the loop is stopped).
  void add(socket_t sock);
  // Stops the threads and closes every connection; idempotent.
  void stop();

 private:
  struct Connection;  // a connection and its buffers (event_loop.cc)

  void run(size_t index);
  // Answers every whole request the connection holds; false once it is
  // closed. REQUIRES: c.mutex held.
  bool serve_locked(Connection& c);
  void close_locked(Connection& c);  // REQUIRES: c.mutex held
  // Ends a connection after its last answer (RFC 9112 §9.6): the sending
  // side is shut, and what the client still sends is read and dropped until
  // it closes too (or the keep-alive timeout passes). Closing at once with
  // unread bytes would send a reset, which can destroy the answer (a 400
  // that says why) before the client reads it. Returns whether the
  // connection stays open. REQUIRES: c.mutex held.
  bool end_locked(Connection& c);
  bool drain_locked(Connection& c);  // REQUIRES: c.mutex held, c.draining
  void sweep_idle();

  static constexpr size_t k_events_per_wait = 4;

  HttpServer& http_;
  size_t threads_;
  int epoll_ = -1;
  int wake_ = -1;  // eventfd: stop() wakes the threads through it
  std::vector<std::thread> workers_;
  std::atomic<bool> stopping_{false};
  std::mutex connections_mutex_;
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;
  uint64_t next_id_ = 1;  // 0 is the wake-up eventfd
  std::atomic<int64_t> next_sweep_ns_{0};
};

// The HTTP library, with its connections served by an EventLoop and a
// listening socket of our own (see listen_on).
class HttpServer : public httplib::Server {
 public:
  HttpServer() = default;
  // The library closes its socket only in stop(), after a run: a server
  // bound and never run must not keep the port.
  ~HttpServer() override {
    socket_t s = svr_sock_.exchange(INVALID_SOCKET);
    if (s != INVALID_SOCKET) ::close(s);
  }
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens on host:port (port 0: any free port) and hands the
  // socket to the library; returns the port. Unlike the library's own bind,
  // the socket never shares its port: the library sets SO_REUSEPORT, with
  // which a second server on the same port starts and silently takes half
  // of the connections (with the old overrides, the old config). Only
  // SO_REUSEADDR is set, which on Linux lets a restart bind while the last
  // run's connections linger in TIME_WAIT, but never while another socket
  // listens there. The backlog is wide (the library's 5 drops connections
  // that arrive in a burst). Errors (io_error; permission_denied for a
  // privileged port) say why, from errno.
  Result<int> listen_on(const std::string& host, int port);
  void set_event_loop(EventLoop* loop) { loop_ = loop; }

  int read_timeout_ms() const { return static_cast<int>(read_timeout_sec_ * 1000 + read_timeout_usec_ / 1000); }
  int64_t keep_alive_ns() const { return static_cast<int64_t>(keep_alive_timeout_sec_) * 1'000'000'000; }
  size_t keep_alive_max() const { return keep_alive_max_count_; }
  timeval send_timeout() const { return {write_timeout_sec_, static_cast<suseconds_t>(write_timeout_usec_)}; }

  // Parses and answers one request that `stream` holds (the library's own).
  bool answer(httplib::Stream& stream, bool close_connection, bool& connection_closed) {
    return process_request(stream, close_connection, connection_closed, nullptr);
  }

  // Fills the answer (400) to a request refused before the library saw it
  // (its framing: http_framing.h): headers and body.
  using RefusalHandler = std::function<void(httplib::Response&, const std::string& problem)>;
  void set_refusal_handler(RefusalHandler handler) { refusal_handler_ = std::move(handler); }

  // Writes that answer, which closes the connection.
  void refuse(httplib::Stream& stream, const std::string& problem) {
    httplib::Response res;
    res.status = 400;
    if (refusal_handler_) refusal_handler_(res, problem);
    std::string head = "HTTP/1.1 400 Bad Request\r\n";
    for (const auto& [name, value] : res.headers) {
      if (!name.empty() && name != "Content-Length" && name != "Connection") head += name + ": " + value + "\r\n";
    }
    head += "Content-Length: " + std::to_string(res.body.size()) + "\r\nConnection: close\r\n\r\n";
    stream.write(head.data(), head.size());
    stream.write(res.body.data(), res.body.size());
  }

 private:
  // Called by the library's accept loop (on its pool) for each connection.
  bool process_and_close_socket(socket_t sock) override {
    loop_->add(sock);
    return true;
  }

  EventLoop* loop_ = nullptr;
  RefusalHandler refusal_handler_;
};

}  // namespace cutover::server
