// The drill's RouteControl on the control API client of `http`.
#include "cutover/drill/route_control.h"

#include <memory>
#include <utility>

#include "cutover/http/control_client.h"
#include "cutover/json/writer.h"

namespace cutover::drill {
namespace {

class HttpRouteControl final : public RouteControl {
 public:
  explicit HttpRouteControl(http::ControlClient client) : client_(std::move(client)) {}

  std::string describe() const override { return client_.base(); }

  Result<json::Document> status() override { return call("GET", "/status", ""); }

  Result<json::Document> evaluate(std::string_view path) override {
    return call("POST", "/evaluate", json::Writer().begin_object().member("path", path).end_object().take());
  }

  Result<json::Document> set_group_override(std::string_view group, std::string_view target) override {
    json::Writer body;
    body.begin_object().member("domain", group).member("target", target).end_object();
    return call("POST", "/override", body.take());
  }

 private:
  Result<json::Document> call(std::string_view method, std::string_view endpoint, const std::string& body) {
    return client_.call(method, std::string(http::k_route_split_api) + std::string(endpoint), body);
  }

  http::ControlClient client_;
};

}  // namespace

Result<std::unique_ptr<RouteControl>> connect_route_control(const std::string& base_url, const std::string& token) {
  // The drill's contract (route_control.h) is plain http; the shared client would speak https, the drill does not.
  if (base_url.rfind("https://", 0) == 0) {
    return make_error(ErrorCode::invalid_argument, "--server '" + base_url +
                                                       "' uses https, which the drill does not speak (expected "
                                                       "http://HOST:PORT, as `cutover serve` prints it)");
  }
  http::ControlEndpoint endpoint;
  endpoint.base_url = base_url;
  endpoint.token = token;
  endpoint.user_agent = "cutover-drill";
  TRY_ASSIGN(http::ControlClient client, http::ControlClient::connect(endpoint));
  return std::unique_ptr<RouteControl>(new HttpRouteControl(std::move(client)));
}

}  // namespace cutover::drill
