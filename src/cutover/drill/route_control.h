// The route-split control server as the rollback drill drives it
// (docs/formats/http-api.md): read the status, evaluate a path, set or clear
// a route group's override. An interface, so the drill can be tested without
// a server; the real one speaks HTTP/1.1 to `cutover serve`.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "cutover/base/error.h"
#include "cutover/json/document.h"

namespace cutover::drill {

class RouteControl {
 public:
  virtual ~RouteControl() = default;
  // Where the server is (for reports), e.g. "http://127.0.0.1:8787".
  virtual std::string describe() const = 0;
  // The `data` object of GET /api/v1/control/route-split/status.
  virtual Result<json::Document> status() = 0;
  // The `data` object of POST .../evaluate {"path": path}.
  virtual Result<json::Document> evaluate(std::string_view path) = 0;
  // POST .../override {"target": target, "domain": group}; the `data` object
  // of the answer (the status after the change).
  virtual Result<json::Document> set_group_override(std::string_view group, std::string_view target) = 0;
};

// A client for `cutover serve` at `base_url` ("http://HOST:PORT", optionally
// with a path prefix; https is not supported: run the drill on the server's
// host or through a tunnel), on http::ControlClient: each call is one request
// on a new connection, with a 10 s timeout, and fails with that client's
// errors (io_error: cannot connect, no answer, a malformed answer;
// permission_denied: 401/403; invalid_argument: 400/404/422 with the server's
// message; conflict: 409/503).
// Errors here: invalid_argument for a URL or token it cannot use.
Result<std::unique_ptr<RouteControl>> connect_route_control(const std::string& base_url, const std::string& token);

}  // namespace cutover::drill
