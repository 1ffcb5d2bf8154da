#include "cutover/http/control_client.h"

#include <utility>

#include "cutover/json/parser.h"

namespace cutover::http {
namespace {

constexpr int64_t k_timeout_ms = 10000;

struct ParsedUrl {
  std::string host;  // without brackets
  std::string port;
  std::string prefix;  // "" or "/something" without a trailing '/'
};

Result<ParsedUrl> parse_url(const std::string& url) {
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
  ParsedUrl out;
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

Status check_token(const std::string& token) {
  if (token.empty())
    return make_error(ErrorCode::invalid_argument, "--token is empty; the drill needs an operator token");
  for (char c : token) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return make_error(ErrorCode::invalid_argument, "--token holds a space or control character");
    }
  }
  return {};
}

tl::unexpected<Error> status_error(int status, const std::string& what) {
  switch (status) {
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

std::string transport_message(const Failure& f, const std::string& where, const std::string& base) {
  switch (f.kind) {
    case FailureKind::refused:
      return where + ": cannot connect to " + base + ": " + f.reason + " (is `cutover serve` running there?)";
    case FailureKind::timeout:
      return where + ": no answer within 10 s";
    case FailureKind::too_large:
      return where + ": the answer is too large";
    default:
      return where + ": " + f.reason;
  }
}

}  // namespace

Result<ControlClient> ControlClient::connect(const std::string& base_url, const std::string& token,
                                             const std::string& user_agent) {
  TRY_ASSIGN(ParsedUrl parsed, parse_url(base_url));
  TRY(check_token(token));
  std::string host = parsed.host.find(':') != std::string::npos ? "[" + parsed.host + "]" : parsed.host;
  BaseUrl url{"http://" + host + ":" + parsed.port, parsed.prefix};
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  ClientOptions options;
  options.timeout_ms = k_timeout_ms;
  options.user_agent = user_agent;
  options.accept = "application/json";
  options.bearer_token = token;
  Client client(url.origin, std::move(options));
  return ControlClient(std::move(url), std::move(base), std::move(client));
}

Result<json::Document> ControlClient::call(const std::string& method, const std::string& endpoint,
                                           const std::string& body) {
  std::string target = url_.prefix + std::string(k_route_split_api) + endpoint;
  std::string where = method + " " + base_ + std::string(k_route_split_api) + endpoint;
  Answer answer = method == "GET" ? client_.get(target) : client_.post(target, body, "application/json");
  if (!answer) return make_error(ErrorCode::io_error, transport_message(answer.error(), where, base_));
  auto doc = json::parse(answer->body);
  std::string message;
  if (doc && doc->root().is_object()) {
    if (const json::Node* m = doc->root().find("message"); m != nullptr && m->is_string()) {
      message = std::string(m->as_string());
    }
  }
  if (answer->status != 200) {
    return status_error(answer->status, where + ": HTTP " + std::to_string(answer->status) +
                                            (message.empty() ? "" : " (" + message + ")"));
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
