// A client of `cutover serve`'s control API (docs/formats/http-api.md) at a
// base URL ("http://HOST:PORT", optionally with a path prefix; https is not
// spoken: run on the server's host or through a tunnel) with a bearer token.
// Each call is one request on a new connection (http::Client) with a 10 s
// timeout, and gives the `data` object of the answer's envelope.
#pragma once

#include <string>
#include <string_view>

#include "cutover/base/error.h"
#include "cutover/http/client.h"
#include "cutover/json/document.h"

namespace cutover::http {

inline constexpr std::string_view k_route_split_api = "/api/v1/control/route-split";

class ControlClient {
 public:
  // Errors: invalid_argument for a URL it cannot use (naming `--server`) or a
  // token that is empty or holds a space or control character.
  static Result<ControlClient> connect(const std::string& base_url, const std::string& token,
                                       const std::string& user_agent = "cutover");

  // The base URL without a trailing '/', e.g. "http://127.0.0.1:8787".
  const std::string& base() const { return base_; }

  // `method` ("GET" or "POST") on k_route_split_api + `endpoint` (e.g.
  // "/status"); `body` is the JSON body of a POST. The answer's `data`
  // object as the root of a document. Errors: io_error (cannot connect, no
  // answer, a malformed answer), permission_denied (401: the token is not
  // accepted; 403: the token is not an operator token), invalid_argument
  // (422, with the server's message), conflict (503 state_busy), io_error for
  // other statuses.
  Result<json::Document> call(const std::string& method, const std::string& endpoint, const std::string& body = "");

 private:
  ControlClient(BaseUrl url, std::string base, Client client)
      : url_(std::move(url)), base_(std::move(base)), client_(std::move(client)) {}

  BaseUrl url_;
  std::string base_;
  Client client_;
};

}  // namespace cutover::http
