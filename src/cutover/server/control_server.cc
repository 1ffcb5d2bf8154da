#include "cutover/server/control_server.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cutover/json/writer.h"
#include "cutover/routing/control_request.h"
#include "cutover/routing/overrides.h"
#include "cutover/routing/paths.h"
#include "cutover/routing/report.h"
#include "cutover/routing/route_split.h"
#include "cutover/server/audit_log.h"
#include "cutover/server/http_framing.h"
#include "cutover/server/loader.h"
#include "cutover/server/metrics.h"
#include "cutover/server/override_store.h"
#include "cutover/server/tokens.h"

namespace cutover::server {
namespace {

using JsonWriter = json::Writer;

constexpr std::string_view k_status_path = "/api/v1/control/route-split/status";
constexpr std::string_view k_evaluate_path = "/api/v1/control/route-split/evaluate";
constexpr std::string_view k_override_path = "/api/v1/control/route-split/override";
constexpr size_t k_listen_backlog = 1024;
constexpr auto k_audit_sync_interval = std::chrono::seconds(1);

int64_t monotonic_ns();

// --- the connection layer ------------------------------------------------------
//
// cpp-httplib parses requests and writes responses; its own connection
// handling (a pool thread per connection, a poll(2) before every read and
// every write, both socket addresses fetched again for every request: 11
// system calls and a thread switch a request, measured) is replaced here:
//
//   - the library's accept loop hands each connection to
//     HttpServer::process_and_close_socket, which registers it with an epoll
//     set and returns;
//   - a few event threads (one a core) wait on that set; a readable
//     connection's bytes are received without blocking into its buffer until
//     a whole request is there, as frame_request() (http_framing.h) frames
//     it, strictly: a request it refuses (both Content-Length and
//     Transfer-Encoding, a bare LF, a bad chunk size, ...) is answered 400
//     here and its connection closed, unread. Only then does the library's
//     process_request() parse and answer it, reading from the buffer up to
//     the request's end and no further, so a slow client never holds a
//     thread, and the library and the server never disagree about where a
//     request ends (what the library leaves unread, such as a GET's body, is
//     dropped). The library never waits for more bytes either: a request
//     it frames differently, or one over the limits (a header block or a
//     body larger than the buffer may hold), reads the end of the stream
//     there; it is answered (400, 413, 414) and its connection closed;
//   - the answer goes out in one send(); the connection is re-armed
//     (EPOLLONESHOT: one thread at a time per connection).
// Idle keep-alive connections are closed after the keep-alive timeout, and
// all of them when the server stops.

// One connection's bytes, as the library's parser and writer see them.
class ConnectionStream final : public httplib::Stream {
 public:
  explicit ConnectionStream(socket_t sock) : sock_(sock) {}

  bool is_readable() const override { return pos_ < limit_; }
  bool is_writable() const override { return true; }  // send() blocks, bounded by SO_SNDTIMEO

  // Reads the current request from the buffer. Its end is the end of the
  // stream, never a wait: the request was handed over whole, so the library
  // asks for more only when it frames the request differently (see
  // overran()). Waiting here held an event thread for the read timeout (5 s)
  // a request, and two such clients stalled the server.
  ssize_t read(char* ptr, size_t size) override {
    if (pos_ >= limit_) {
      overran_ = true;
      return 0;
    }
    size_t n = std::min(size, limit_ - pos_);
    std::memcpy(ptr, buf_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    out_.append(ptr, size);
    if (out_.size() >= k_flush_bytes && !flush()) return -1;
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    if (!peer_known_) peer_known_ = address_of(::getpeername, peer_ip_, peer_port_);
    ip = peer_ip_;
    port = peer_port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    if (!local_known_) local_known_ = address_of(::getsockname, local_ip_, local_port_);
    ip = local_ip_;
    port = local_port_;
  }
  socket_t socket() const override { return sock_; }

  // Sends what is pending; false if the peer is gone or too slow.
  bool flush() {
    size_t done = 0;
    while (done < out_.size()) {
      ssize_t n = ::send(sock_, out_.data() + done, out_.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    out_.clear();
    return true;
  }

  enum class Fill { more, eof, error, would_block };
  // Appends what the socket holds without waiting.
  Fill receive_available() {
    compact();
    for (;;) {
      size_t old = buf_.size();
      size_t room = std::max<size_t>(k_read_chunk, buf_.capacity() - old);
      buf_.resize(old + room);
      ssize_t n = ::recv(sock_, buf_.data() + old, room, MSG_DONTWAIT);
      buf_.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
      if (n > 0) return Fill::more;
      if (n == 0) return Fill::eof;
      if (errno == EINTR) continue;
      return (errno == EAGAIN || errno == EWOULDBLOCK) ? Fill::would_block : Fill::error;
    }
  }

  // Where the request at the head of the buffer ends, if it is all there
  // (http_framing.h). A request over the limits is handed over as it is
  // (begin_request), and the library answers it with its own error (400 or
  // 414, 413) without reading on.
  RequestFrame frame() const {
    return frame_request(std::string_view(buf_.data() + pos_, buf_.size() - pos_), k_limits);
  }

  // Makes the library see exactly the framed request: reads stop at its end
  // (reading on is an overrun). A request over the limits is handed over
  // with all that was received. REQUIRES: frame.kind is complete or too_large.
  void begin_request(const RequestFrame& frame) {
    if (frame.kind == RequestFrame::Kind::complete) {
      limit_ = pos_ + frame.end;
      pos_ += frame.begin;
    } else {
      limit_ = buf_.size();
    }
  }

  // Bytes of a request received and not yet consumed.
  bool has_pending_input() const { return pos_ < buf_.size(); }

  // Whether the library read past what the connection had received: where
  // the next request begins is unknown, so the connection must be closed
  // after the answer.
  bool overran() const { return overran_; }

  // A client that sent "Expect: 100-continue" waits for an interim answer
  // before it sends the body: send it now, so the body can arrive while no
  // thread waits for it, and rename the header in the buffer so that the
  // library does not send a second one. Returns whether it did.
  bool answer_expect_continue() {
    std::string_view data(buf_.data() + pos_, buf_.size() - pos_);
    size_t end = data.find("\r\n\r\n");
    if (end == std::string_view::npos) return false;
    std::string_view expect = header_in(data.substr(0, end + 4), "expect");
    if (expect.size() != 12 || ascii_lower_copy(expect) != "100-continue") return false;
    size_t line = static_cast<size_t>(expect.data() - buf_.data());
    while (line > pos_ && buf_[line - 1] != '\n') --line;
    buf_[line] = 'X';  // "Xxpect:": a header nobody reads
    out_.append("HTTP/1.1 100 Continue\r\n\r\n");
    return flush();
  }

  // The request was answered: drop it, with any of its body the library
  // did not read (a GET's body is never read as the next request).
  void done_with_request() {
    pos_ = std::max(pos_, limit_);
    compact();
  }

  // Above the server's body limit: the library answers 413.
  static constexpr FramingLimits k_limits{.max_header_bytes = 16 * 1024, .max_body_bytes = 1024 * 1024};

 private:
  static constexpr size_t k_read_chunk = 8 * 1024;
  static constexpr size_t k_flush_bytes = 64 * 1024;

  static std::string ascii_lower_copy(std::string_view v) { return routing::ascii_lower(v); }

  // The value of header `name` (lower case) in a header block, or "".
  static std::string_view header_in(std::string_view headers, std::string_view name) {
    size_t line = headers.find("\r\n");
    while (line != std::string_view::npos && line + 2 < headers.size()) {
      size_t start = line + 2;
      size_t next = headers.find("\r\n", start);
      std::string_view h = headers.substr(start, next - start);
      if (h.size() > name.size() && h[name.size()] == ':') {
        bool same = true;
        for (size_t i = 0; i < name.size() && same; ++i) {
          same = static_cast<char>(std::tolower(static_cast<unsigned char>(h[i]))) == name[i];
        }
        if (same) return routing::trim(h.substr(name.size() + 1));
      }
      line = next;
    }
    return {};
  }

  void compact() {
    if (pos_ == 0) return;
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    limit_ -= std::min(limit_, pos_);
    pos_ = 0;
  }

  using AddressFn = int (*)(int, sockaddr*, socklen_t*);
  bool address_of(AddressFn fn, std::string& ip, int& port) const {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (fn(sock_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
    char text[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
      port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
      port = ntohs(a->sin6_port);
    }
    ip = text;
    return true;
  }

  socket_t sock_;
  std::vector<char> buf_;
  size_t pos_ = 0;
  size_t limit_ = 0;  // the end of the request being answered
  bool overran_ = false;
  std::string out_;
  mutable bool peer_known_ = false, local_known_ = false;
  mutable std::string peer_ip_, local_ip_;
  mutable int peer_port_ = -1, local_port_ = -1;
};

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
  struct Connection {
    explicit Connection(socket_t s) : sock(s), stream(s) {}
    std::mutex mutex;  // held while a thread serves it
    socket_t sock;
    ConnectionStream stream;
    size_t served = 0;
    int64_t last_active_ns = 0;
    bool closed = false;
    bool draining = false;  // answered its last request; reads are discarded until the client closes
  };

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
  Result<int> listen_on(const std::string& host, int port) {
    std::string where = host + ":" + std::to_string(port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), std::to_string(port).c_str(), &hints, &found);
        rc != 0) {
      return make_error(ErrorCode::invalid_argument, "cannot listen on " + where + ": " + ::gai_strerror(rc) +
                                                         "; give --listen an address of this machine");
    }
    int first_errno = 0;
    socket_t sock = INVALID_SOCKET;
    for (addrinfo* a = found; a != nullptr && sock == INVALID_SOCKET; a = a->ai_next) {
      sock = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (sock == INVALID_SOCKET) {
        if (first_errno == 0) first_errno = errno;
        continue;
      }
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      if (::bind(sock, a->ai_addr, a->ai_addrlen) != 0 || ::listen(sock, static_cast<int>(k_listen_backlog)) != 0) {
        if (first_errno == 0) first_errno = errno;
        ::close(sock);
        sock = INVALID_SOCKET;
      }
    }
    ::freeaddrinfo(found);
    if (sock == INVALID_SOCKET) {
      std::string why = first_errno == EADDRINUSE      ? "address in use (another server listens there; stop it, or "
                                                         "choose another port with --listen)"
                        : first_errno == EADDRNOTAVAIL ? "not an address of this machine"
                                                       : std::strerror(first_errno);
      return make_error(first_errno == EACCES ? ErrorCode::permission_denied : ErrorCode::io_error,
                        "cannot listen on " + where + ": " + why);
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(sock, reinterpret_cast<sockaddr*>(&bound), &len);
    int bound_port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                       : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    svr_sock_ = sock;
    return bound_port;
  }
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

Status EventLoop::start() {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_ < 0 || wake_ < 0) return make_error(ErrorCode::io_error, std::string("epoll: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
  for (size_t i = 0; i < threads_; ++i) workers_.emplace_back([this, i] { run(i); });
  return ok_status();
}

void EventLoop::add(socket_t sock) {
  int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval send_timeout = http_.send_timeout();
  ::setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  auto c = std::make_shared<Connection>(sock);
  c->last_active_ns = monotonic_ns();
  uint64_t id;
  {
    std::lock_guard lock(connections_mutex_);
    if (stopping_.load()) {
      ::close(sock);
      return;
    }
    id = next_id_++;
    connections_.emplace(id, c);
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, sock, &ev) != 0) {
    std::lock_guard lock(connections_mutex_);
    std::lock_guard conn(c->mutex);
    close_locked(*c);
    connections_.erase(id);
  }
}

void EventLoop::run(size_t index) {
  // Few events at a time: a thread that takes many would serve them one
  // after another while another thread idles.
  epoll_event events[k_events_per_wait];
  while (!stopping_.load()) {
    int n = ::epoll_wait(epoll_, events, static_cast<int>(k_events_per_wait), 100);
    for (int i = 0; i < n && !stopping_.load(); ++i) {
      uint64_t id = events[i].data.u64;
      if (id == 0) continue;  // the wake-up
      std::shared_ptr<Connection> c;
      {
        std::lock_guard lock(connections_mutex_);
        auto it = connections_.find(id);
        if (it == connections_.end()) continue;  // closed meanwhile
        c = it->second;
      }
      bool alive;
      {
        std::lock_guard conn(c->mutex);
        alive = serve_locked(*c);
        if (alive) {
          // Re-armed under the connection's lock: the sweeper cannot close
          // it in between.
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
          ev.data.u64 = id;
          if (::epoll_ctl(epoll_, EPOLL_CTL_MOD, c->sock, &ev) != 0) {
            close_locked(*c);
            alive = false;
          }
        }
      }
      if (!alive) {
        std::lock_guard lock(connections_mutex_);
        connections_.erase(id);
      }
    }
    if (index == 0) sweep_idle();
  }
}

bool EventLoop::serve_locked(Connection& c) {
  if (c.closed) return false;
  if (c.draining) return drain_locked(c);
  for (;;) {
    RequestFrame frame = c.stream.frame();
    if (frame.kind == RequestFrame::Kind::incomplete) {
      c.stream.answer_expect_continue();
      ConnectionStream::Fill f = c.stream.receive_available();
      if (f == ConnectionStream::Fill::would_block) return true;  // wait for more
      if (f != ConnectionStream::Fill::more) {
        close_locked(c);
        return false;
      }
      continue;
    }
    c.last_active_ns = monotonic_ns();
    if (frame.kind == RequestFrame::Kind::invalid) {
      // Where the next request would begin is unknown: nothing more is read.
      http_.refuse(c.stream, frame.problem);
      if (!c.stream.flush()) {
        close_locked(c);
        return false;
      }
      return end_locked(c);
    }
    c.stream.begin_request(frame);
    bool too_large = frame.kind == RequestFrame::Kind::too_large;
    bool last = ++c.served >= http_.keep_alive_max() || stopping_.load() || too_large;
    bool connection_closed = false;
    bool ok = http_.answer(c.stream, last, connection_closed);
    c.stream.done_with_request();
    c.last_active_ns = monotonic_ns();
    if (!c.stream.flush()) {
      close_locked(c);
      return false;
    }
    if (!ok || connection_closed || last || c.stream.overran()) return end_locked(c);
  }
}

bool EventLoop::end_locked(Connection& c) {
  ::shutdown(c.sock, SHUT_WR);
  c.draining = true;
  return drain_locked(c);
}

bool EventLoop::drain_locked(Connection& c) {
  char scratch[4096];
  for (;;) {
    ssize_t n = ::recv(c.sock, scratch, sizeof scratch, MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;  // wait for the client's end
    close_locked(c);
    return false;
  }
}

void EventLoop::close_locked(Connection& c) {
  if (c.closed) return;
  c.closed = true;
  ::shutdown(c.sock, SHUT_RDWR);
  ::close(c.sock);  // also leaves the epoll set
}

void EventLoop::sweep_idle() {
  int64_t now = monotonic_ns();
  int64_t due = next_sweep_ns_.load();
  if (now < due) return;
  next_sweep_ns_.store(now + 100'000'000);
  // Idle: no request for the keep-alive timeout; a request begun and not
  // finished gets the read timeout on top (a slow client cannot keep a
  // connection forever, one byte at a time).
  int64_t idle_limit = http_.keep_alive_ns();
  int64_t partial_limit = idle_limit + static_cast<int64_t>(http_.read_timeout_ms()) * 1'000'000;
  std::lock_guard lock(connections_mutex_);
  for (auto it = connections_.begin(); it != connections_.end();) {
    Connection& c = *it->second;
    std::unique_lock conn(c.mutex, std::try_to_lock);  // busy connections are not idle
    int64_t limit = conn.owns_lock() && c.stream.has_pending_input() && !c.draining ? partial_limit : idle_limit;
    if (conn.owns_lock() && (c.closed || now - c.last_active_ns > limit)) {
      close_locked(c);
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void EventLoop::stop() {
  if (stopping_.exchange(true)) return;
  if (wake_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_, &one, sizeof one);
  }
  for (auto& t : workers_) t.join();
  workers_.clear();
  std::lock_guard lock(connections_mutex_);
  for (auto& [id, c] : connections_) {
    std::lock_guard conn(c->mutex);
    close_locked(*c);
  }
  connections_.clear();
  if (epoll_ >= 0) ::close(epoll_);
  if (wake_ >= 0) ::close(wake_);
  epoll_ = wake_ = -1;
}

int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Set by the pre-routing handler, read by the logger: both run on the
// connection's thread, around one request.
thread_local int64_t t_request_start_ns = 0;
thread_local HttpRoute t_request_route = HttpRoute::other;
thread_local bool t_request_timed = false;

// The raw request path and query (before any percent-decoding), as the
// reference matches and redirects them.
struct RawTarget {
  std::string_view path;
  std::string_view query;
};

RawTarget split_target(const std::string& target) {
  std::string_view t = target;
  size_t q = t.find('?');
  if (q == std::string_view::npos) return {t, {}};
  return {t.substr(0, q), t.substr(q + 1)};
}

// Bytes a Location header should not carry raw are percent-encoded.
std::string encode_for_location(std::string_view s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) {
      out.push_back('%');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

HttpRoute classify(const std::string& method, std::string_view path) {
  if (path == k_status_path) return HttpRoute::status;
  if (path == k_evaluate_path) return HttpRoute::evaluate;
  if (path == k_override_path) return HttpRoute::override_;
  if (path == "/healthz") return HttpRoute::healthz;
  if (path == "/readyz") return HttpRoute::readyz;
  if (path == "/metrics") return HttpRoute::metrics;
  if (method == "GET" || method == "HEAD") return HttpRoute::web;
  return HttpRoute::other;
}

std::string header_value(const httplib::Request& req, const char* name) {
  return req.has_header(name) ? req.get_header_value(name) : std::string();
}

// The first of these headers with a non-blank value, trimmed; "" if none.
std::string cohort_key_from_headers(const httplib::Request& req) {
  for (const char* name : {"x-oa-route-key", "x-device-id", "x-forwarded-for", "user-agent"}) {
    if (!req.has_header(name)) continue;
    std::string value = req.get_header_value(name);
    std::string_view v = routing::trim(value);
    if (!v.empty()) return std::string(v);
  }
  return "";
}

void send_json(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_content(std::move(body), "application/json");
}

std::string data_envelope(std::string_view data_json) {
  std::string out;
  out.reserve(data_json.size() + 9);
  out += "{\"data\":";
  out += data_json;
  out += "}";
  return out;
}

using FieldErrors = std::vector<std::pair<std::string, std::string>>;  // field, message; in order

void send_error(httplib::Response& res, int status, std::string_view code, std::string_view message,
                const FieldErrors& errors = {}) {
  JsonWriter w;
  w.begin_object();
  w.member("message", message);
  w.key("error").begin_object().member("code", code).member("message", message).end_object();
  if (!errors.empty()) {
    w.key("errors").begin_object();
    std::map<std::string, std::vector<std::string>> by_field;
    for (const auto& [field, msg] : errors) by_field[field].push_back(msg);
    for (const auto& [field, msgs] : by_field) {
      w.key(field).begin_array();
      for (const auto& m : msgs) w.string(m);
      w.end_array();
    }
    w.end_object();
  }
  w.end_object();
  send_json(res, status, w.take());
}

void send_field_errors(httplib::Response& res, const FieldErrors& errors) {
  std::string message = errors.front().second;
  if (errors.size() > 1) {
    message += " (and " + std::to_string(errors.size() - 1) + " more error" + (errors.size() > 2 ? "s" : "") + ")";
  }
  send_error(res, 422, "invalid_request", message, errors);
}

// A refused request body (routing/control_request.h): 400 when it is not
// JSON, 422 otherwise.
void send_request_error(httplib::Response& res, const routing::RequestError& error) {
  if (error.kind != routing::RequestError::Kind::invalid_fields) {
    return send_error(res, error.kind == routing::RequestError::Kind::not_json ? 400 : 422, "invalid_request",
                      error.message);
  }
  FieldErrors errors;
  for (const routing::FieldError& e : error.fields) errors.push_back({e.field, e.message});
  send_field_errors(res, errors);
}

}  // namespace

struct ControlServer::Impl {
  ServerOptions options;
  base::FileSystem& fs;
  base::Clock& clock;
  std::vector<std::string> warnings;
  std::string state_dir;
  std::unique_ptr<routing::RouteSplit> engine;
  TokenSet tokens;
  std::unique_ptr<OverrideStore> store;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<Metrics> metrics;
  HttpServer http;
  std::unique_ptr<EventLoop> loop;  // after http: destroyed first
  std::atomic<bool> stopping{false};
  std::atomic<bool> running{false};  // run() is between its start and its end
  std::atomic<uint64_t> request_counter{0};
  std::string request_id_prefix;

  std::mutex sync_mutex;
  std::condition_variable sync_wake;

  Impl(const ServerOptions& o, base::FileSystem& f, base::Clock& c) : options(o), fs(f), clock(c) {}

  // --- plumbing ---------------------------------------------------------------

  std::string request_id(const httplib::Request& req, httplib::Response& res) {
    std::string id = header_value(req, "x-request-id");
    bool usable = !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
             c == '.' || c == ':';
    });
    if (!usable) id = request_id_prefix + std::to_string(request_counter.fetch_add(1, std::memory_order_relaxed));
    res.set_header("x-request-id", id);
    return id;
  }

  // The caller's token, or nullptr after answering 401.
  const Token* authenticate(const httplib::Request& req, httplib::Response& res) {
    std::string header = header_value(req, "Authorization");
    std::string_view h = routing::trim(header);
    const Token* token = nullptr;
    if (h.substr(0, 7) == "Bearer ") {
      std::string_view bearer = routing::trim(h.substr(7));
      if (!bearer.empty()) token = tokens.authenticate(bearer);
    }
    if (token == nullptr) {
      res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, 401, "unauthorized", "Unauthenticated.");
    }
    return token;
  }

  // --- routes -------------------------------------------------------------------

  void handle(const httplib::Request& req, httplib::Response& res) {
    // The library holds a Content-Length to the limit itself, but not a
    // chunked body: the event loop buffers one up to its own cap (1 MiB).
    if (req.body.size() > options.max_body_bytes) return payload_too_large(res);
    if (req.target.empty() || req.target.front() != '/') {
      // Only origin-form targets: anything else could turn a redirect into
      // one to another host (base URL + "evil.example/...").
      send_error(res, 400, "invalid_request", "The request target must be a path starting with '/'.");
      return;
    }
    RawTarget target = split_target(req.target);
    std::string id = request_id(req, res);
    bool get = req.method == "GET" || req.method == "HEAD";
    bool post = req.method == "POST";
    HttpRoute route = classify(req.method, target.path);
    switch (route) {
      case HttpRoute::healthz:
        if (!get) return method_not_allowed(res, "GET, HEAD");
        return send_json(res, 200, R"({"status":"ok","service":"cutover"})");
      case HttpRoute::readyz:
        if (!get) return method_not_allowed(res, "GET, HEAD");
        return readyz(res);
      case HttpRoute::metrics:
        if (!get) return method_not_allowed(res, "GET, HEAD");
        if (authenticate(req, res) == nullptr) return;
        res.status = 200;
        res.set_content(metrics->render(), "text/plain; version=0.0.4; charset=utf-8");
        return;
      case HttpRoute::status:
        if (!get) return method_not_allowed(res, "GET, HEAD");
        return status(req, res);
      case HttpRoute::evaluate:
        if (!post) return method_not_allowed(res, "POST");
        return evaluate(req, res);
      case HttpRoute::override_:
        if (!post) return method_not_allowed(res, "POST");
        return override_route(req, res, id);
      case HttpRoute::web:
        return web_entry(req, res, target, id);
      case HttpRoute::other:
      case HttpRoute::count_:
        return method_not_allowed(res, "GET, HEAD");
    }
  }

  void payload_too_large(httplib::Response& res) {
    send_error(res, 413, "payload_too_large",
               "The request body is larger than " + std::to_string(options.max_body_bytes) + " bytes.");
  }

  void method_not_allowed(httplib::Response& res, const char* allow) {
    res.set_header("Allow", allow);
    send_error(res, 405, "method_not_allowed", std::string("Method not allowed; this path takes ") + allow + ".");
  }

  void readyz(httplib::Response& res) {
    std::string problem = stopping.load() ? std::string("shutting down") : store->problem();
    if (problem.empty()) return send_json(res, 200, R"({"status":"ready"})");
    JsonWriter w;
    w.begin_object().member("status", "not_ready").member("reason", problem).end_object();
    send_json(res, 503, w.take());
  }

  void status(const httplib::Request& req, httplib::Response& res) {
    if (authenticate(req, res) == nullptr) return;
    std::string body =
        store->read([&](const routing::OverrideState& s) { return routing::status_json(*engine, s.overrides); });
    send_json(res, 200, data_envelope(body));
  }

  void evaluate(const httplib::Request& req, httplib::Response& res) {
    if (authenticate(req, res) == nullptr) return;
    auto request = routing::parse_evaluate_request(req.body);
    if (!request) return send_request_error(res, request.error());
    std::string cohort_key = request->cohort_key ? *request->cohort_key : cohort_key_from_headers(req);
    std::string body = store->read([&](const routing::OverrideState& s) {
      routing::Decision d = engine->evaluate(request->path, cohort_key, s.overrides);
      metrics->count_decision(DecisionSource::evaluate, d);
      return routing::decision_json(d);
    });
    send_json(res, 200, data_envelope(body));
  }

  void override_route(const httplib::Request& req, httplib::Response& res, const std::string& request) {
    const Token* token = authenticate(req, res);
    if (token == nullptr) return;
    if (token->role != Role::operator_) {
      return send_error(res, 403, "forbidden", "An operator token is required to change route overrides.");
    }
    auto body = routing::parse_override_request(req.body);
    if (!body) return send_request_error(res, body.error());
    std::optional<std::string_view> domain_text;
    if (body->domain) domain_text = *body->domain;

    auto record = [&](const OverrideStore::Applied& a) -> Status {
      JsonWriter w;
      w.begin_object();
      w.member("time", base::rfc3339_utc(clock.now_ns()));
      w.member("event", "route.split.override.updated");
      w.member("request_id", request);
      w.member("identity", token->name);
      w.member("role", role_name(token->role));
      w.member("target", a.change.target);
      w.member("scope", a.change.scope);
      w.key("previous");
      if (a.change.previous)
        w.string(routing::target_name(*a.change.previous));
      else
        w.null();
      w.key("current");
      if (a.change.current)
        w.string(routing::target_name(*a.change.current));
      else
        w.null();
      w.member("revision", a.state.revision);
      w.end_object();
      return audit->append(w.str(), /*sync=*/true);
    };
    auto applied = store->apply(body->target, domain_text, token->name, record);
    if (!applied) {
      std::fprintf(stderr, "cutover serve: error: override %s: %s\n", request.c_str(),
                   applied.error().message().c_str());
      if (applied.error().code() == ErrorCode::conflict) {
        return send_error(res, 503, "state_busy", "Another server is updating the overrides; retry.");
      }
      return send_error(res, 500, "internal_error",
                        "The override could not be completed: " + applied.error().message() +
                            " (check the status: the override may be in force without its audit line).");
    }
    if (!*applied) return send_field_errors(res, {{applied->error().field, applied->error().message}});
    metrics->count_override((*applied)->change.scope, (*applied)->change.target);
    send_json(res, 200, data_envelope(routing::status_json(*engine, (*applied)->state.overrides)));
  }

  void web_entry(const httplib::Request& req, httplib::Response& res, const RawTarget& target,
                 const std::string& request) {
    std::string cohort_key = cohort_key_from_headers(req);
    routing::Decision d = store->read(
        [&](const routing::OverrideState& s) { return engine->evaluate(target.path, cohort_key, s.overrides); });
    metrics->count_decision(DecisionSource::web, d);
    res.set_header("x-cutover-target", std::string(routing::target_name(d.target)));
    res.set_header("x-cutover-reason", std::string(d.reason));
    std::optional<std::string> location = d.target == routing::RouteTarget::legacy
                                              ? engine->legacy_redirect_url(target.path, target.query)
                                              : engine->rust_redirect_url(target.path, target.query);
    if (location) {
      res.status = 307;
      res.set_header("Location", encode_for_location(*location));
    } else if (d.target == routing::RouteTarget::legacy) {
      send_error(res, 503, "legacy_route_unavailable", "Legacy route target is not configured.");
    } else {
      JsonWriter w;
      w.begin_object().key("data");
      routing::write_decision(w, d);
      w.end_object();
      send_json(res, 200, w.take());
    }
    JsonWriter line;
    line.begin_object();
    line.member("time", base::rfc3339_utc(clock.now_ns()));
    line.member("event", "route.split.decision");
    line.member("request_id", request);
    line.member("method", req.method);
    line.member("path", d.path);
    line.member("target", routing::target_name(d.target));
    line.member("reason", d.reason);
    line.member("route_domain", d.route_domain);
    line.member("rollback_target", routing::target_name(d.rollback_target));
    line.member("cohort_key", d.cohort_key);
    if (d.cohort_bucket) line.member("cohort_bucket", static_cast<uint64_t>(*d.cohort_bucket));
    line.member("user_agent", header_value(req, "user-agent"));
    line.member("status", res.status);
    if (location) line.member("location", encode_for_location(*location));
    line.end_object();
    if (auto st = audit->append(line.str(), /*sync=*/false); !st) {
      std::fprintf(stderr, "cutover serve: error: %s\n", st.error().message().c_str());
    }
  }

  // Answers the library's own errors (413, 400, ...) with the envelope.
  httplib::Server::HandlerResponse error_page(const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    switch (res.status) {
      case 413:
        payload_too_large(res);
        break;
      case 414:
        send_error(res, 414, "uri_too_long", "The request target is too long.");
        break;
      case 404:
        send_error(res, 404, "not_found", "Route '" + req.path + "' was not found.");
        break;
      case 405:
        method_not_allowed(res, "GET, HEAD");
        break;
      default:
        send_error(res, res.status, "invalid_request", "The request could not be read.");
        break;
    }
    return httplib::Server::HandlerResponse::Handled;
  }

  void configure_http() {
    size_t threads = options.threads ? options.threads : std::max(2u, std::thread::hardware_concurrency());
    loop = std::make_unique<EventLoop>(http, threads);
    http.set_event_loop(loop.get());
    // The library's pool only hands accepted connections to the loop.
    http.new_task_queue = [] { return new httplib::ThreadPool(2); };
    http.set_payload_max_length(options.max_body_bytes);
    http.set_keep_alive_max_count(1000);
    http.set_keep_alive_timeout(2);
    http.set_read_timeout(5);
    http.set_write_timeout(5);
    http.set_tcp_nodelay(true);
    auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
    http.Get(".*", handler);
    http.Post(".*", handler);
    http.Put(".*", handler);
    http.Patch(".*", handler);
    http.Delete(".*", handler);
    http.Options(".*", handler);
    http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
      t_request_start_ns = monotonic_ns();
      t_request_route = classify(req.method, split_target(req.target).path);
      t_request_timed = true;
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http.set_logger([this](const httplib::Request&, const httplib::Response& res) {
      HttpRoute route = t_request_timed ? t_request_route : HttpRoute::other;
      int64_t elapsed = t_request_timed ? monotonic_ns() - t_request_start_ns : 0;
      t_request_timed = false;
      metrics->observe_request(route, res.status, elapsed);
    });
    http.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request& req, httplib::Response& res) { return error_page(req, res); }));
    http.set_refusal_handler([this](httplib::Response& res, const std::string& problem) {
      send_error(res, 400, "invalid_request",
                 "The request is not valid HTTP/1.1: " + problem + "; the connection is closed.");
      metrics->observe_request(HttpRoute::other, res.status, 0);
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      send_error(res, 500, "internal_error", "Internal server error.");
    });
  }
};

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlServer::~ControlServer() = default;

const std::vector<std::string>& ControlServer::warnings() const { return impl_->warnings; }
const std::string& ControlServer::state_dir() const { return impl_->state_dir; }

Result<std::unique_ptr<ControlServer>> ControlServer::create(const ServerOptions& options, base::FileSystem& fs,
                                                             base::Clock& clock) {
  if (options.config_path.empty()) {
    return make_error(ErrorCode::invalid_argument, "--config is required: the route config names the tokens file");
  }
  auto impl = std::make_unique<Impl>(options, fs, clock);
  // The route config, with the environment over it.
  TRY_ASSIGN(LoadedConfig loaded, load_route_config(fs, options.config_path, options.environment));
  impl->warnings = std::move(loaded.warnings);
  std::string tokens_file = tokens_path(loaded.config, options.config_path);
  impl->engine = std::make_unique<routing::RouteSplit>(std::move(loaded.config));

  // The tokens: no server answers the control API without them.
  if (tokens_file.empty()) {
    return make_error(ErrorCode::invalid_argument, "route config " + options.config_path +
                                                       " names no tokens_file; the control API needs one "
                                                       "(docs/formats/tokens.md)");
  }
  // Anyone who may rewrite the file may add a token of their own, and
  // anyone who may read it may try guesses offline: owner-only, as ssh keeps
  // its keys.
  auto tokens_info = fs.stat(tokens_file);
  if (!tokens_info) return tl::unexpected(tokens_info.error().with_context("tokens file " + tokens_file));
  if (tokens_info->exists && (tokens_info->mode & 0066) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(tokens_info->mode & 07777));
    return make_error(ErrorCode::invalid_argument,
                      "tokens file " + tokens_file + " is readable or writable by group or others (mode " + mode +
                          "); make it private to the server's user: chmod 600 " + tokens_file);
  }
  auto tokens_text = fs.read_file(tokens_file);
  if (!tokens_text) return tl::unexpected(tokens_text.error().with_context("tokens file " + tokens_file));
  TRY_ASSIGN(impl->tokens, TokenSet::parse(tokens_text->view(), tokens_file));

  // The state folder: overrides (a corrupt file stops us here) and the audit log.
  impl->state_dir = options.state_dir.empty() ? base::join_path(base::parent_directory(options.config_path), "state")
                                              : options.state_dir;
  TRY_ASSIGN(impl->store, OverrideStore::open(fs, clock, impl->state_dir, *impl->engine));
  TRY_ASSIGN(impl->audit, AuditLog::open(audit_log_path(impl->state_dir)));
  impl->metrics = std::make_unique<Metrics>(*impl->engine);
  impl->request_id_prefix = "req_" + std::to_string(::getpid()) + "_";
  impl->configure_http();
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

Result<int> ControlServer::bind() { return impl_->http.listen_on(impl_->options.host, impl_->options.port); }

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
  Status loop_started = impl_->loop->start();
  if (loop_started)
    ok = impl_->http.listen_after_bind();
  else
    std::fprintf(stderr, "cutover serve: error: %s\n", loop_started.error().message().c_str());
  bool asked_to_stop = impl_->stopping.load();
  impl_->loop->stop();  // in-flight requests are answered, then every connection is closed
  impl_->running.store(false);
  {
    std::lock_guard lock(impl_->sync_mutex);
    impl_->stopping.store(true);
  }
  impl_->sync_wake.notify_all();
  syncer.join();
  Status synced = impl_->audit->sync();
  if (!ok && !asked_to_stop) return make_error(ErrorCode::io_error, "the HTTP server stopped unexpectedly");
  return synced;
}

Status ControlServer::reopen_audit_log() { return impl_->audit->reopen(); }

void ControlServer::stop() {
  {
    std::lock_guard lock(impl_->sync_mutex);
    impl_->stopping.store(true);
  }
  impl_->sync_wake.notify_all();
  // If run() has begun, wait (briefly) until the library runs, so that its
  // stop() is not a no-op.
  for (int i = 0; i < 5000 && impl_->running.load() && !impl_->http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->http.stop();
}

}  // namespace cutover::server
