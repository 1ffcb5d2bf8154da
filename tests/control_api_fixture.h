// The fixture control_api_test.cc and live_control_test.cc share: one
// server::ControlApi over the real override store and audit log in a fresh
// temporary folder, tokens "view-secret" (viewer bob) and "op-secret"
// (operator alice), and a clock fixed at 2026-11-18T11:06:40Z; requests go in and
// responses come out without sockets.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cutover/base/file_system.h"
#include "cutover/hash/sha256.h"
#include "cutover/routing/config.h"
#include "cutover/routing/route_split.h"
#include "cutover/server/audit_log.h"
#include "cutover/server/control_api.h"
#include "cutover/server/metrics.h"
#include "cutover/server/override_store.h"
#include "cutover/server/tokens.h"
#include "test_util.h"

namespace cutover::server {

// The value of header `name` in `res`, or "<absent>".
inline std::string header_of(const ApiResponse& res, std::string_view name) {
  for (const auto& [n, v] : res.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

class ControlApiFixture : public ::testing::Test {
 protected:
  // The API for `config`, with a body limit and the prefix of its request ids.
  void start(routing::RouteConfig config, size_t max_body_bytes, std::string request_id_prefix) {
    engine_ = std::make_unique<routing::RouteSplit>(std::move(config));
    auto tokens = TokenSet::parse("operator alice sha256:" + hash::sha256_hex("op-secret") +
                                      "\nviewer bob sha256:" + hash::sha256_hex("view-secret") + "\n",
                                  "tokens");
    ASSERT_TRUE(tokens) << tokens.error().message();
    tokens_ = std::move(*tokens);
    auto store = OverrideStore::open(base::real_file_system(), clock_, dir_.file("state"), *engine_,
                                     std::chrono::nanoseconds(0));
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
    auto audit = AuditLog::open(dir_.file("audit.jsonl"));
    ASSERT_TRUE(audit) << audit.error().message();
    audit_ = std::move(*audit);
    metrics_ = std::make_unique<Metrics>(*engine_);
    api_ = std::make_unique<ControlApi>(*engine_, tokens_, *store_, *audit_, *metrics_, clock_, max_body_bytes,
                                        std::move(request_id_prefix));
  }

  ApiResponse call(std::string_view method, std::string_view target, std::string_view body = {},
                   std::vector<std::pair<std::string_view, std::string_view>> headers = {}) {
    ApiRequest req{.method = method, .target = target, .body = body, .headers = std::move(headers), .raw = {}};
    return api_->handle(req);
  }
  // A request with "Authorization: Bearer `bearer`".
  ApiResponse as(std::string_view bearer, std::string_view method, std::string_view target,
                 std::string_view body = {}) {
    authorization_ = "Bearer " + std::string(bearer);
    return call(method, target, body, {{"Authorization", authorization_}});
  }
  std::string audit_text() { return testing::read_text(dir_.file("audit.jsonl")); }

  testing::TempDir dir_;
  testing::FixedClock clock_{1'795'000'000'000'000'000};
  std::unique_ptr<routing::RouteSplit> engine_;
  TokenSet tokens_;
  std::unique_ptr<OverrideStore> store_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<ControlApi> api_;
  std::string authorization_;  // kept alive for the header view of the last request
};

}  // namespace cutover::server
