#include "cutover/http/operator_client.h"

#include <httplib.h>

#include "cutover/json/parser.h"

namespace cutover::http {

struct OperatorClient::Impl {
  std::string origin;  // scheme://host:port
  std::string prefix;  // "" or "/something", no trailing '/'
  OperatorEndpoint endpoint;
};

namespace {

Error bad_url(const std::string& url, const std::string& why) {
  return Error(ErrorCode::invalid_argument,
               "server URL '" + url + "' " + why + " (expected http://HOST:PORT, as `cutover serve` prints it)");
}

// The server's own message from the error envelope, when there is one.
std::string server_message(const Result<json::Document>& doc) {
  if (!doc || !doc->root().is_object()) return "";
  const json::Node* m = doc->root().find("message");
  return m != nullptr && m->is_string() ? std::string(m->as_string()) : "";
}

}  // namespace

OperatorClient::OperatorClient(std::unique_ptr<Impl> impl, std::string server)
    : impl_(std::move(impl)), server_(std::move(server)) {}

OperatorClient::~OperatorClient() = default;

Result<std::unique_ptr<OperatorClient>> OperatorClient::create(const OperatorEndpoint& endpoint) {
  const std::string& url = endpoint.base_url;
  if (url.empty()) return tl::unexpected(bad_url(url, "is empty"));
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return tl::unexpected(bad_url(url, "has no scheme"));
  std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return tl::unexpected(bad_url(url, "is not http:// or https://"));
  size_t slash = url.find('/', scheme_end + 3);
  auto impl = std::make_unique<Impl>();
  impl->origin = url.substr(0, slash);
  std::string authority = impl->origin.substr(scheme_end + 3);
  if (authority.empty()) return tl::unexpected(bad_url(url, "has no host"));
  if (authority.find('@') != std::string::npos) {
    return tl::unexpected(bad_url(url, "holds credentials; give the token with --token-file or CUTOVER_TOKEN"));
  }
  if (slash != std::string::npos) impl->prefix = url.substr(slash);
  while (!impl->prefix.empty() && impl->prefix.back() == '/') impl->prefix.pop_back();
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '?' || c == '#') {
      return tl::unexpected(bad_url(url, "has a space, control character, '?' or '#'"));
    }
  }
  if (endpoint.token.empty()) {
    return make_error(ErrorCode::invalid_argument, "the token is empty (--token-file F, or CUTOVER_TOKEN)");
  }
  for (char c : endpoint.token) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return make_error(ErrorCode::invalid_argument, "the token holds a space or control character");
    }
  }
  if (endpoint.timeout_ms < 1 || endpoint.timeout_ms > 600000) {
    return make_error(ErrorCode::invalid_argument, "the timeout must be 1 ms to 600 s");
  }
  {
    httplib::Client probe(impl->origin);
    if (!probe.is_valid()) {
      return tl::unexpected(
          bad_url(url, scheme == "https" ? "uses https, which this build cannot speak" : "cannot be used"));
    }
  }
  impl->endpoint = endpoint;
  std::string server = impl->origin + impl->prefix;
  return std::unique_ptr<OperatorClient>(new OperatorClient(std::move(impl), std::move(server)));
}

Result<json::Document> OperatorClient::get(std::string_view path) { return call("GET", path, ""); }

Result<json::Document> OperatorClient::post(std::string_view path, std::string_view json_body) {
  return call("POST", path, json_body);
}

Result<json::Document> OperatorClient::call(std::string_view method, std::string_view path, std::string_view body) {
  const OperatorEndpoint& e = impl_->endpoint;
  std::string where = std::string(method) + " " + server_ + std::string(path);
  httplib::Client client(impl_->origin);
  time_t sec = static_cast<time_t>(e.timeout_ms / 1000);
  time_t usec = static_cast<time_t>((e.timeout_ms % 1000) * 1000);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  client.set_follow_location(false);
  client.set_keep_alive(false);
  httplib::Headers headers = {
      {"User-Agent", e.user_agent}, {"Accept", "application/json"}, {"Authorization", "Bearer " + e.token}};
  for (const auto& [name, value] : e.headers) headers.emplace(name, value);
  std::string target = impl_->prefix + std::string(path);
  httplib::Result res = method == "GET" ? client.Get(target, headers)
                                        : client.Post(target, headers, std::string(body), "application/json");
  if (!res) {
    httplib::Error err = res.error();
    std::string why;
    switch (err) {
      case httplib::Error::Connection:
        why = "cannot connect (is `cutover serve` running there?)";
        break;
      case httplib::Error::ConnectionTimeout:
        why = "no connection within " + std::to_string(e.timeout_ms) + " ms";
        break;
      case httplib::Error::Read:
        why = "no answer (the connection was closed, or nothing came within " + std::to_string(e.timeout_ms) + " ms)";
        break;
      default:
        why = httplib::to_string(err);
        break;
    }
    return make_error(ErrorCode::io_error, where + ": " + why);
  }
  auto doc = json::parse(std::string_view(res->body));
  if (res->status < 200 || res->status > 299) {
    std::string message = server_message(doc);
    std::string what = where + ": HTTP " + std::to_string(res->status) + (message.empty() ? "" : ": " + message);
    switch (res->status) {
      case 400:
      case 404:
      case 422:
        return make_error(ErrorCode::invalid_argument, what);
      case 401:
        return make_error(ErrorCode::permission_denied, what + " (the server does not accept the token)");
      case 403:
        return make_error(ErrorCode::permission_denied, what + " (this needs an operator token)");
      case 409:
        return make_error(ErrorCode::conflict, what);
      case 503:
        return make_error(ErrorCode::conflict, what + " (try again)");
      default:
        return make_error(ErrorCode::io_error, what);
    }
  }
  if (!doc) return make_error(ErrorCode::io_error, where + ": the answer is not JSON: " + doc.error().message());
  return std::move(*doc);
}

Result<const json::Node*> OperatorClient::data_of(const json::Document& answer, std::string_view where) {
  const json::Node* data = answer.root().is_object() ? answer.root().find("data") : nullptr;
  if (data == nullptr || !data->is_object()) {
    return make_error(ErrorCode::io_error, std::string(where) + ": the answer has no {\"data\": {...}} object");
  }
  return data;
}

}  // namespace cutover::http
