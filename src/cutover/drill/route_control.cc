// The drill's RouteControl on the control API client of `http`.
#include "cutover/drill/route_control.h"

#include <memory>
#include <utility>

#include "cutover/http/control_client.h"

namespace cutover::drill {
namespace {

class HttpRouteControl final : public RouteControl {
 public:
  explicit HttpRouteControl(http::ControlClient client) : client_(std::move(client)) {}

  std::string describe() const override { return client_.base(); }

  Result<evidence::JsonValue> status() override { return call("GET", "/status", ""); }

  Result<evidence::JsonValue> evaluate(std::string_view path) override {
    return call("POST", "/evaluate", evidence::JsonValue::object().set("path", path).compact());
  }

  Result<evidence::JsonValue> set_group_override(std::string_view group, std::string_view target) override {
    return call("POST", "/override",
                evidence::JsonValue::object().set("target", target).set("domain", group).compact());
  }

 private:
  Result<evidence::JsonValue> call(const std::string& method, const std::string& endpoint, const std::string& body) {
    TRY_ASSIGN(json::Document data, client_.call(method, endpoint, body));
    return evidence::JsonValue::from_node(data.root());
  }

  http::ControlClient client_;
};

}  // namespace

Result<std::unique_ptr<RouteControl>> connect_route_control(const std::string& base_url, const std::string& token) {
  TRY_ASSIGN(http::ControlClient client, http::ControlClient::connect(base_url, token, "cutover-drill"));
  return std::unique_ptr<RouteControl>(new HttpRouteControl(std::move(client)));
}

}  // namespace cutover::drill
