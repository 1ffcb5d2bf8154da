#include "cutover/http/client.h"

#include <chrono>
#include <ctime>
#include <optional>
#include <utility>

#include <httplib.h>

namespace cutover::http {
namespace {

int64_t elapsed_ms(std::chrono::steady_clock::time_point started) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
}

Failure failure_of(httplib::Error err, int64_t duration_ms, int64_t timeout_ms, bool too_large) {
  Failure f;
  f.duration_ms = duration_ms;
  f.connected = err != httplib::Error::Connection && err != httplib::Error::ConnectionTimeout;
  if (too_large) {
    f.kind = FailureKind::too_large;
    f.reason = "no answer: the answer is too large";
    return f;
  }
  switch (err) {
    case httplib::Error::Connection:
      f.kind = FailureKind::refused;
      f.reason = "refused";
      break;
    case httplib::Error::ConnectionTimeout:
      f.kind = FailureKind::timeout;
      f.reason = "timeout";
      break;
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
      f.kind = FailureKind::tls;
      f.reason = "tls: " + httplib::to_string(err);
      break;
    case httplib::Error::Read:
      // httplib reports a read that timed out as a read error.
      if (duration_ms + 50 >= timeout_ms) {
        f.kind = FailureKind::timeout;
        f.reason = "timeout";
      } else {
        f.kind = FailureKind::closed;
        f.reason = "no answer: the connection was closed";
      }
      break;
    default:
      f.kind = FailureKind::other;
      f.reason = "no answer: " + httplib::to_string(err);
      break;
  }
  return f;
}

}  // namespace

std::optional<BaseUrl> split_base_url(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return std::nullopt;
  std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return std::nullopt;
  size_t slash = url.find('/', scheme_end + 3);
  BaseUrl out;
  out.origin = url.substr(0, slash);
  if (slash != std::string::npos) out.prefix = url.substr(slash);
  while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  if (out.origin.size() == scheme_end + 3) return std::nullopt;
  return out;
}

struct Client::Impl {
  std::optional<httplib::Client> client;  // nullopt for an origin it cannot use
  ClientOptions options;
  bool https = false;
};

Client::Client(const std::string& origin, ClientOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->https = origin.rfind("https://", 0) == 0;
  // httplib throws for a scheme it does not know: only http and https get that far.
  if (origin.rfind("http://", 0) != 0 && !impl_->https) return;
  impl_->client.emplace(origin);
  int64_t ms = impl_->options.timeout_ms;
  time_t sec = static_cast<time_t>(ms / 1000);
  time_t usec = static_cast<time_t>((ms % 1000) * 1000);
  impl_->client->set_connection_timeout(sec, usec);
  impl_->client->set_read_timeout(sec, usec);
  impl_->client->set_write_timeout(sec, usec);
  impl_->client->set_follow_location(false);
  impl_->client->set_keep_alive(false);
}

Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

Answer Client::get(const std::string& target) { return send("GET", target, "", ""); }

Answer Client::post(const std::string& target, const std::string& body, const std::string& content_type) {
  return send("POST", target, body, content_type);
}

Answer Client::send(const std::string& method, const std::string& target, const std::string& body,
                    const std::string& content_type) {
  const ClientOptions& o = impl_->options;
  if (!impl_->client || !impl_->client->is_valid()) {
    Failure f;
    f.kind = FailureKind::unusable_url;
    f.reason = impl_->https ? "tls: this build cannot speak https" : "bad base URL";
    return tl::unexpected(std::move(f));
  }
  httplib::Request req;
  req.method = method;
  req.path = target;
  req.headers = {{"User-Agent", o.user_agent}, {"Accept", o.accept}};
  if (!o.bearer_token.empty()) req.headers.emplace("Authorization", "Bearer " + o.bearer_token);
  for (const auto& [name, value] : o.headers) req.headers.emplace(name, value);
  if (method != "GET") {
    req.body = body;
    if (!content_type.empty()) req.headers.emplace("Content-Type", content_type);
  }
  std::string answer_body;
  bool too_large = false;
  req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    if (answer_body.size() + size > o.max_body_bytes) {
      too_large = true;
      return false;
    }
    answer_body.append(data, size);
    return true;
  };
  auto started = std::chrono::steady_clock::now();
  httplib::Result res = impl_->client->send(req);
  int64_t duration = elapsed_ms(started);
  if (!res) return tl::unexpected(failure_of(res.error(), duration, o.timeout_ms, too_large));
  Response out;
  out.status = res->status;
  out.body = std::move(answer_body);
  out.duration_ms = duration;
  return out;
}

}  // namespace cutover::http
