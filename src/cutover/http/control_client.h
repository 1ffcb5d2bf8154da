// The one client of `cutover serve`'s control API (docs/formats/http-api.md),
// for the drill (drill/route_control) and the operator verbs
// `cutover routes promote|abort|undo|get` (cli/routes_live_command.cc): a
// base URL ("http://HOST:PORT", optionally with a path prefix; https too), a
// bearer token and any extra headers (the operator's name). Each call is one
// request on a new connection through http::Client, and gives the `data`
// object of the answer's envelope.
//
// Errors (and so the exit codes, cli/output.h): invalid_argument for a URL or
// token it cannot use and for a 400/404/422 (the server refused a field; its
// message names it); permission_denied for 401/403; conflict for 409 and 503
// (state busy: try again); io_error when the server cannot be reached, does
// not answer in time, answers another status, or answers something that is
// not the API's JSON. Every message of a call names the method, the server and
// the path, with the server's own message where it sent one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/http/client.h"
#include "cutover/json/document.h"

namespace cutover::http {

inline constexpr std::string_view k_route_split_api = "/api/v1/control/route-split";

struct ControlEndpoint {
  std::string base_url;        // "http://HOST:PORT", optionally with a path prefix
  std::string token;           // the bearer token itself
  int64_t timeout_ms = 10000;  // to connect, and then for each read and write
  std::string user_agent = "cutover";
  // Sent with every request, e.g. {"x-cutover-operator", "alice"}.
  std::vector<std::pair<std::string, std::string>> headers;
};

class ControlClient {
 public:
  // Checks the URL (http or https, a host, a port from 1 to 65535, no
  // credentials, no space, control character, '?' or '#'), the token (not
  // empty, no space or control character) and the timeout (1 ms to 600 s).
  // Does not connect. Errors: invalid_argument, naming what is wrong.
  static Result<ControlClient> connect(const ControlEndpoint& endpoint);

  // The base URL without a trailing '/', e.g. "http://127.0.0.1:8787".
  const std::string& base() const { return base_; }

  // `method` ("GET" or "POST") on the base URL + `path` (e.g.
  // k_route_split_api + "/status"); `body` is the JSON body of a POST. The
  // answer's `data` object as the root of a document; errors as above.
  Result<json::Document> call(std::string_view method, std::string_view path, std::string_view body = "");

 private:
  ControlClient(std::string prefix, std::string base, int64_t timeout_ms, Client client)
      : prefix_(std::move(prefix)), base_(std::move(base)), timeout_ms_(timeout_ms), client_(std::move(client)) {}

  std::string prefix_;  // "" or "/something", no trailing '/'
  std::string base_;
  int64_t timeout_ms_;
  Client client_;
};

}  // namespace cutover::http
