// The control API of `cutover serve` (docs/formats/http-api.md) as the
// operator verbs call it (`cutover routes promote|abort|undo|get`, issue 14):
// one request a call, on cpp-httplib's client, with the operator's bearer
// token. The answer's JSON is handed back parsed; a status other than 2xx
// becomes an error naming the server, the endpoint and the server's own
// message (the API's error envelope).
//
// Errors (and so the exit codes, cli/output.h): invalid_argument for a URL or
// token it cannot use and for a 400/422 (the server refused a field; its
// message names it); permission_denied for 401/403; conflict for 409 and 503
// (state busy: try again); io_error when the server cannot be reached, does
// not answer in time, or answers something that is not the API's JSON.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/json/document.h"

namespace cutover::http {

struct OperatorEndpoint {
  std::string base_url;        // "http://HOST:PORT", optionally with a path prefix; https when the build has TLS
  std::string token;           // the bearer token itself
  int64_t timeout_ms = 10000;  // to connect, and then for the answer
  std::string user_agent = "cutover-routes";
  // Sent with every request, e.g. {"x-cutover-operator", "alice"}.
  std::vector<std::pair<std::string, std::string>> headers;
};

class OperatorClient {
 public:
  // Checks the URL and the token (not empty, no white space or control
  // characters). Does not connect.
  static Result<std::unique_ptr<OperatorClient>> create(const OperatorEndpoint& endpoint);
  ~OperatorClient();
  OperatorClient(const OperatorClient&) = delete;
  OperatorClient& operator=(const OperatorClient&) = delete;

  // The base URL without a trailing '/', for messages.
  const std::string& server() const { return server_; }

  // GET base + path (path starts with '/', e.g. "/api/v1/control/route-split/status").
  Result<json::Document> get(std::string_view path);
  // POST base + path with a JSON body.
  Result<json::Document> post(std::string_view path, std::string_view json_body);

  // The "data" member of an answer, which must be an object; io_error naming
  // `where` otherwise.
  static Result<const json::Node*> data_of(const json::Document& answer, std::string_view where);

 private:
  struct Impl;
  OperatorClient(std::unique_ptr<Impl> impl, std::string server);
  Result<json::Document> call(std::string_view method, std::string_view path, std::string_view body);

  std::unique_ptr<Impl> impl_;
  std::string server_;
};

}  // namespace cutover::http
