#include "cutover/http/control_client.h"

#include <utility>

#include "cutover/json/parser.h"

namespace cutover::http {
namespace {

struct ParsedUrl {
  std::string origin;  // scheme://host:port, IPv6 in brackets
  std::string prefix;  // "" or "/something" without a trailing '/'
};

// The authority's port: digits, 1 to 65535.
bool good_port(const std::string& port) {
  return !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos &&
         std::stoi(port) >= 1 && std::stoi(port) <= 65535;
}

Result<ParsedUrl> parse_url(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::invalid_argument,
                      "server URL '" + url + "' " + why + " (expected http://HOST:PORT, as `cutover serve` prints it)");
  };
  if (url.empty()) return bad("is empty");
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return bad("has no scheme");
  std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return bad("is not http:// or https://");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '?' || c == '#') {
      return bad("has a space, control character, '?' or '#'");
    }
  }
  std::string rest = url.substr(scheme_end + 3);
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  ParsedUrl out;
  if (slash != std::string::npos) out.prefix = rest.substr(slash);
  while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  if (authority.empty()) return bad("has no host");
  if (authority.find('@') != std::string::npos) return bad("holds credentials; give the token on its own");
  std::string host;
  std::string port = scheme == "https" ? "443" : "80";
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return bad("has an unclosed '['");
    host = authority.substr(0, close + 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') return bad("has something after ']' that is not a port");
    if (!after.empty()) port = after.substr(1);
  } else {
    size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]") return bad("has no host");
  if (!good_port(port)) return bad("has a bad port");
  out.origin = scheme + "://" + host + ":" + port;
  return out;
}

Status check_token(const std::string& token) {
  if (token.empty()) return make_error(ErrorCode::invalid_argument, "the token is empty");
  for (char c : token) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return make_error(ErrorCode::invalid_argument, "the token holds a space or control character");
    }
  }
  return {};
}

// Why no answer came back, after "METHOD URL: ".
std::string transport_message(const Failure& f, int64_t timeout_ms) {
  switch (f.kind) {
    case FailureKind::refused:
      return "cannot connect (is `cutover serve` running there?)";
    case FailureKind::timeout:
      if (!f.connected) return "no connection within " + std::to_string(timeout_ms) + " ms";
      [[fallthrough]];
    case FailureKind::closed:
      return "no answer (the connection was closed, or nothing came within " + std::to_string(timeout_ms) + " ms)";
    default:
      return f.reason;
  }
}

// The server's own message from the error envelope, when there is one.
std::string server_message(const Result<json::Document>& doc) {
  if (!doc || !doc->root().is_object()) return "";
  const json::Node* m = doc->root().find("message");
  return m != nullptr && m->is_string() ? std::string(m->as_string()) : "";
}

// A status other than 2xx as an error of the project's kinds; `what` names the
// request, the status and the server's message.
tl::unexpected<Error> status_error(int status, const std::string& what) {
  switch (status) {
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

}  // namespace

Result<ControlClient> ControlClient::connect(const ControlEndpoint& endpoint) {
  TRY_ASSIGN(ParsedUrl url, parse_url(endpoint.base_url));
  TRY(check_token(endpoint.token));
  if (endpoint.timeout_ms < 1 || endpoint.timeout_ms > 600000) {
    return make_error(ErrorCode::invalid_argument, "the timeout must be 1 ms to 600 s");
  }
  std::string base = endpoint.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  ClientOptions options;
  options.timeout_ms = endpoint.timeout_ms;
  options.user_agent = endpoint.user_agent;
  options.accept = "application/json";
  options.bearer_token = endpoint.token;
  options.headers = endpoint.headers;
  Client client(url.origin, std::move(options));
  return ControlClient(std::move(url.prefix), std::move(base), endpoint.timeout_ms, std::move(client));
}

Result<json::Document> ControlClient::call(std::string_view method, std::string_view path, std::string_view body) {
  std::string target = prefix_ + std::string(path);
  std::string where = std::string(method) + " " + base_ + std::string(path);
  Answer answer = method == "GET" ? client_.get(target) : client_.post(target, std::string(body), "application/json");
  if (!answer) return make_error(ErrorCode::io_error, where + ": " + transport_message(answer.error(), timeout_ms_));
  auto doc = json::parse(answer->body);
  if (answer->status < 200 || answer->status > 299) {
    std::string message = server_message(doc);
    return status_error(answer->status,
                        where + ": HTTP " + std::to_string(answer->status) + (message.empty() ? "" : ": " + message));
  }
  if (!doc) return make_error(ErrorCode::io_error, where + ": the answer is not JSON: " + doc.error().message());
  const json::Node* data = doc->root().is_object() ? doc->root().find("data") : nullptr;
  if (data == nullptr || !data->is_object()) {
    return make_error(ErrorCode::io_error, where + ": the answer has no {\"data\": {...}} object");
  }
  json::Node root = *data;
  doc->set_root(root);
  return std::move(*doc);
}

}  // namespace cutover::http
