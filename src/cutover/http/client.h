// The one HTTP client of cutover, on cpp-httplib's client (whose header stays
// in client.cc): one request per connection ("Connection: close"), redirects
// not followed, a timeout for the connect and then for each read and write,
// and the answer's body capped. `target_probe` (routes check) and
// `control_client` (the control API: the drill and the operator verbs) use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace cutover::http {

// "http://host:port/prefix/" -> origin "http://host:port", prefix "/prefix"
// (no trailing '/'). nullopt unless the scheme is http or https and there
// is a host part.
struct BaseUrl {
  std::string origin;
  std::string prefix;
};
std::optional<BaseUrl> split_base_url(const std::string& url);

struct ClientOptions {
  int64_t timeout_ms = 10000;  // the connect, then each read and write
  std::string user_agent = "cutover";
  std::string accept = "*/*";
  std::string bearer_token;  // sent as "Authorization: Bearer ..." unless empty
  // Sent with every request after the ones above, e.g. {"x-cutover-operator", "alice"}.
  std::vector<std::pair<std::string, std::string>> headers;
  size_t max_body_bytes = size_t{8} << 20;
};

struct Response {
  int status = 0;
  std::string body;
  int64_t duration_ms = 0;
};

// Why no HTTP answer came back.
enum class FailureKind {
  unusable_url,  // the origin cannot be used (or is https and TLS is not built in)
  refused,       // no connection (refused, unreachable, cannot resolve)
  timeout,       // no connection or no answer within the timeout
  closed,        // the connection closed before a whole answer
  tls,           // the TLS handshake or the certificate failed
  too_large,     // the body was larger than max_body_bytes
  other,
};

struct Failure {
  FailureKind kind = FailureKind::other;
  // Short and stable, as the routes report records it: "refused", "timeout",
  // "tls: ...", "no answer: the connection was closed", "no answer: ...".
  std::string reason;
  int64_t duration_ms = 0;
  // Whether a connection was made: a timeout with it is the answer's, without
  // it the connect's.
  bool connected = false;
};

using Answer = tl::expected<Response, Failure>;

class Client {
 public:
  // `origin` is "http://host:port" or "https://host:port" (IPv6 in brackets),
  // without a path.
  Client(const std::string& origin, ClientOptions options);
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  // `target` is the path and query, starting with '/'.
  Answer get(const std::string& target);
  Answer post(const std::string& target, const std::string& body, const std::string& content_type);

 private:
  Answer send(const std::string& method, const std::string& target, const std::string& body,
              const std::string& content_type);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cutover::http
