// A deliberately small HTTP/1.1 client: one request per connection
// ("Connection: close"), a body with Content-Length, and an answer read to
// the end of the stream (Content-Length or chunked). The control API speaks
// nothing else, and this keeps the HTTP library inside the server module.
#include "cutover/drill/route_control.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "cutover/json/parser.h"

namespace cutover::evidence {
namespace {

constexpr int k_timeout_ms = 10000;
constexpr size_t k_max_answer_bytes = 8 << 20;
constexpr std::string_view k_api = "/api/v1/control/route-split";

struct Url {
  std::string host;  // without brackets
  std::string port;
  std::string prefix;  // "" or "/something" without a trailing '/'
};

Result<Url> parse_url(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::invalid_argument,
                      "--server '" + url + "' " + why + " (expected http://HOST:PORT, as `cutover serve` prints it)");
  };
  constexpr std::string_view scheme = "http://";
  if (url.rfind("https://", 0) == 0) return bad("uses https, which the drill does not speak");
  if (url.rfind(scheme, 0) != 0) return bad("does not start with http://");
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  Url out;
  if (slash != std::string::npos) {
    out.prefix = rest.substr(slash);
    while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  }
  if (authority.empty()) return bad("has no host");
  if (authority.find('@') != std::string::npos) return bad("holds credentials; pass the token with --token");
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return bad("has an unclosed '['");
    out.host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') return bad("has something after ']' that is not a port");
    out.port = after.empty() ? "80" : after.substr(1);
  } else {
    size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    out.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  }
  if (out.host.empty()) return bad("has no host");
  if (out.port.empty() || out.port.size() > 5 || out.port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(out.port) > 65535) {
    return bad("has a bad port");
  }
  for (char c : out.prefix) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '?' || c == '#') return bad("has a path with a space, '?' or '#'");
  }
  return out;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct Answer {
  int status = 0;
  std::string body;
};

Status wait_for(int fd, short events, const std::string& where) {
  pollfd p{fd, events, 0};
  for (;;) {
    int rc = ::poll(&p, 1, k_timeout_ms);
    if (rc > 0) return {};
    if (rc == 0) return make_error(ErrorCode::io_error, where + ": no answer within 10 s");
    if (errno != EINTR) return make_error(ErrorCode::io_error, where + ": poll: " + std::strerror(errno));
  }
}

Result<std::string> decode_chunked(std::string_view body, const std::string& where) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t eol = body.find("\r\n", pos);
    if (eol == std::string_view::npos) return make_error(ErrorCode::io_error, where + ": truncated chunked answer");
    std::string size_text(body.substr(pos, eol - pos));
    size_t semi = size_text.find(';');
    if (semi != std::string::npos) size_text.resize(semi);
    size_t size = 0;
    try {
      size = std::stoul(size_text, nullptr, 16);
    } catch (...) {
      return make_error(ErrorCode::io_error, where + ": bad chunk size in the answer");
    }
    pos = eol + 2;
    if (size == 0) return out;
    if (pos + size + 2 > body.size()) return make_error(ErrorCode::io_error, where + ": truncated chunked answer");
    out.append(body.substr(pos, size));
    pos += size + 2;
  }
}

class HttpRouteControl final : public RouteControl {
 public:
  HttpRouteControl(Url url, std::string base, std::string token)
      : url_(std::move(url)), base_(std::move(base)), token_(std::move(token)) {}

  std::string describe() const override { return base_; }

  Result<JsonValue> status() override { return call("GET", "/status", ""); }

  Result<JsonValue> evaluate(std::string_view path) override {
    return call("POST", "/evaluate", JsonValue::object().set("path", path).compact());
  }

  Result<JsonValue> set_group_override(std::string_view group, std::string_view target) override {
    return call("POST", "/override", JsonValue::object().set("target", target).set("domain", group).compact());
  }

 private:
  Result<JsonValue> call(const std::string& method, const std::string& endpoint, const std::string& body) {
    std::string target = url_.prefix + std::string(k_api) + endpoint;
    std::string where = method + " " + base_ + std::string(k_api) + endpoint;
    TRY_ASSIGN(Answer answer, exchange(method, target, body, where));
    auto doc = json::parse(answer.body);
    std::string message;
    if (doc && doc->root().is_object()) {
      if (const json::Node* m = doc->root().find("message"); m != nullptr && m->is_string()) message = m->as_string();
    }
    if (answer.status != 200) {
      std::string what =
          where + ": HTTP " + std::to_string(answer.status) + (message.empty() ? "" : " (" + message + ")");
      switch (answer.status) {
        case 401:
          return make_error(ErrorCode::permission_denied, what + ": the server does not accept the token");
        case 403:
          return make_error(ErrorCode::permission_denied, what + ": the drill needs an operator token");
        case 422:
          return make_error(ErrorCode::invalid_argument, what);
        case 503:
          return make_error(ErrorCode::conflict, what + ": try again");
        default:
          return make_error(ErrorCode::io_error, what);
      }
    }
    if (!doc) return make_error(ErrorCode::io_error, where + ": the answer is not JSON: " + doc.error().message());
    const json::Node* data = doc->root().is_object() ? doc->root().find("data") : nullptr;
    if (data == nullptr || !data->is_object()) {
      return make_error(ErrorCode::io_error, where + ": the answer has no {\"data\": {...}} object");
    }
    return JsonValue::from_node(*data);
  }

  Result<Answer> exchange(const std::string& method, const std::string& target, const std::string& body,
                          const std::string& where) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int gai = ::getaddrinfo(url_.host.c_str(), url_.port.c_str(), &hints, &found);
    if (gai != 0)
      return make_error(ErrorCode::io_error, where + ": cannot resolve " + url_.host + ": " + ::gai_strerror(gai));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
    Fd sock;
    std::string last_error = "no address";
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
      if (fd < 0) {
        last_error = std::strerror(errno);
        continue;
      }
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int rc;
        do rc = ::poll(&p, 1, k_timeout_ms);
        while (rc < 0 && errno == EINTR);
        int err = 0;
        socklen_t len = sizeof err;
        if (rc > 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
          sock.fd = fd;
          break;
        }
        last_error = rc == 0 ? "timed out" : std::strerror(err != 0 ? err : errno);
      } else {
        last_error = std::strerror(errno);
      }
      ::close(fd);
    }
    if (sock.fd < 0) {
      return make_error(ErrorCode::io_error, where + ": cannot connect to " + base_ + ": " + last_error +
                                                 " (is `cutover serve` running there?)");
    }

    std::string request = method + " " + target + " HTTP/1.1\r\nHost: " + host_header() + "\r\nAuthorization: Bearer " +
                          token_ +
                          "\r\nAccept: application/json\r\nConnection: close\r\n"
                          "User-Agent: cutover-drill\r\n";
    if (method == "POST")
      request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    request += "\r\n";
    request += body;
    size_t sent = 0;
    while (sent < request.size()) {
      ssize_t n = ::send(sock.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        TRY(wait_for(sock.fd, POLLOUT, where));
      } else if (n < 0 && errno != EINTR) {
        return make_error(ErrorCode::io_error, where + ": send: " + std::strerror(errno));
      }
    }
    std::string raw;
    char buf[16384];
    for (;;) {
      ssize_t n = ::recv(sock.fd, buf, sizeof buf, 0);
      if (n > 0) {
        raw.append(buf, static_cast<size_t>(n));
        if (raw.size() > k_max_answer_bytes)
          return make_error(ErrorCode::io_error, where + ": the answer is too large");
        if (complete(raw)) break;
      } else if (n == 0) {
        break;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        TRY(wait_for(sock.fd, POLLIN, where));
      } else if (errno != EINTR) {
        return make_error(ErrorCode::io_error, where + ": recv: " + std::strerror(errno));
      }
    }
    return parse_answer(raw, where);
  }

  std::string host_header() const {
    std::string host = url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
    return host + ":" + url_.port;
  }

  // True once the whole answer is in (a Content-Length body fully read).
  static bool complete(const std::string& raw) {
    size_t end = raw.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    std::string head = lower(raw.substr(0, end));
    size_t at = head.find("\r\ncontent-length:");
    if (at == std::string::npos) return false;  // read to the end of the stream
    size_t length = std::strtoul(head.c_str() + at + 17, nullptr, 10);
    return raw.size() >= end + 4 + length;
  }

  static std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  static Result<Answer> parse_answer(const std::string& raw, const std::string& where) {
    size_t end = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos || raw.size() < 12) {
      return make_error(ErrorCode::io_error, where + ": the server's answer is not HTTP");
    }
    Answer answer;
    answer.status = std::atoi(raw.c_str() + 9);
    std::string head = lower(raw.substr(0, end));
    std::string body = raw.substr(end + 4);
    if (head.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
      TRY_ASSIGN(body, decode_chunked(body, where));
    } else if (size_t at = head.find("\r\ncontent-length:"); at != std::string::npos) {
      size_t length = std::strtoul(head.c_str() + at + 17, nullptr, 10);
      if (body.size() < length) return make_error(ErrorCode::io_error, where + ": the answer was cut short");
      body.resize(length);
    }
    answer.body = std::move(body);
    return answer;
  }

  Url url_;
  std::string base_;
  std::string token_;
};

}  // namespace

Result<std::unique_ptr<RouteControl>> connect_route_control(const std::string& base_url, const std::string& token) {
  TRY_ASSIGN(Url url, parse_url(base_url));
  if (token.empty())
    return make_error(ErrorCode::invalid_argument, "--token is empty; the drill needs an operator token");
  for (char c : token) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return make_error(ErrorCode::invalid_argument, "--token holds a space or control character");
    }
  }
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return std::unique_ptr<RouteControl>(new HttpRouteControl(std::move(url), std::move(base), token));
}

}  // namespace cutover::evidence
