#include "cutover/server/event_loop.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <string_view>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cutover/routing/paths.h"
#include "cutover/server/http_framing.h"

namespace cutover::server {
namespace {

constexpr size_t k_listen_backlog = 1024;

}  // namespace

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
  RequestFrame frame() const { return frame_request(pending(), k_limits); }
  std::string_view pending() const { return std::string_view(buf_.data() + pos_, buf_.size() - pos_); }

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

struct EventLoop::Connection {
  explicit Connection(socket_t s) : sock(s), stream(s) {}
  std::mutex mutex;  // held while a thread serves it
  socket_t sock;
  ConnectionStream stream;
  size_t served = 0;
  int64_t last_active_ns = 0;
  bool closed = false;
  bool draining = false;  // answered its last request; reads are discarded until the client closes
};

Result<int> HttpServer::listen_on(const std::string& host, int port) {
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

namespace {
thread_local std::string_view t_request_bytes;
}  // namespace

std::string_view current_request_bytes() { return t_request_bytes; }

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
    if (frame.kind == RequestFrame::Kind::complete)
      t_request_bytes = c.stream.pending().substr(frame.begin, frame.end - frame.begin);
    c.stream.begin_request(frame);
    bool too_large = frame.kind == RequestFrame::Kind::too_large;
    bool last = ++c.served >= http_.keep_alive_max() || stopping_.load() || too_large;
    bool connection_closed = false;
    bool ok = http_.answer(c.stream, last, connection_closed);
    t_request_bytes = {};
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

}  // namespace cutover::server
