#include "cutover/routing/control_request.h"

#include "cutover/json/parser.h"
#include "cutover/routing/paths.h"

namespace cutover::routing {
namespace {

// The body as a JSON object, or the 400/422 error.
tl::expected<json::Document, RequestError> json_object(std::string_view body) {
  auto doc = json::parse(body);
  if (!doc) {
    return tl::unexpected(RequestError{
        RequestError::Kind::not_json, "The request body is not valid JSON: " + doc.error().message() + ".", {}});
  }
  if (!doc->root().is_object()) {
    return tl::unexpected(RequestError{RequestError::Kind::not_object, "The request body must be a JSON object.", {}});
  }
  return std::move(*doc);
}

// A request field: absent and null read as "not given".
struct BodyField {
  const json::Node* node = nullptr;
  bool given() const { return node != nullptr && !node->is_null(); }
};

tl::unexpected<RequestError> field_errors(std::vector<FieldError> errors) {
  return tl::unexpected(RequestError{RequestError::Kind::invalid_fields, "", std::move(errors)});
}

}  // namespace

tl::expected<EvaluateRequest, RequestError> parse_evaluate_request(std::string_view body) {
  auto doc = json_object(body);
  if (!doc) return tl::unexpected(std::move(doc.error()));
  BodyField path{doc->root().find("path")};
  BodyField key{doc->root().find("cohort_key")};
  std::vector<FieldError> errors;
  if (path.given() && !path.node->is_string())
    errors.push_back({"path", "Path must be a string."});
  else if (!path.given() || trim(path.node->as_string()).empty())
    errors.push_back({"path", "Path is required."});
  if (key.given() && !key.node->is_string()) errors.push_back({"cohort_key", "Cohort key must be a string."});
  if (!errors.empty()) return field_errors(std::move(errors));
  EvaluateRequest request;
  request.path = std::string(path.node->as_string());
  if (key.given() && !trim(key.node->as_string()).empty()) request.cohort_key = std::string(key.node->as_string());
  return request;
}

tl::expected<OverrideRequest, RequestError> parse_override_request(std::string_view body) {
  auto doc = json_object(body);
  if (!doc) return tl::unexpected(std::move(doc.error()));
  BodyField target{doc->root().find("target")};
  BodyField domain{doc->root().find("domain")};
  BodyField mode{doc->root().find("mode")};
  BodyField percentage{doc->root().find("cohort_percentage")};
  std::vector<FieldError> errors;
  if (!target.given() && !mode.given())
    errors.push_back({"target", "Target is required."});
  else if (target.given() && !target.node->is_string())
    errors.push_back({"target", "Target must be a string."});
  if (mode.given() && !mode.node->is_string()) errors.push_back({"mode", "Mode must be a string."});
  if (domain.given() && !domain.node->is_string()) errors.push_back({"domain", "Domain must be a string."});
  if (percentage.given() && (percentage.node->kind() != json::Kind::u64 || percentage.node->as_u64() > 100)) {
    errors.push_back({"cohort_percentage", "Cohort percentage must be an integer from 0 to 100."});
  }
  if (!errors.empty()) return field_errors(std::move(errors));
  OverrideRequest request;
  if (target.given()) request.target = std::string(target.node->as_string());
  if (mode.given()) request.mode = std::string(mode.node->as_string());
  if (domain.given()) request.domain = std::string(domain.node->as_string());
  if (percentage.given()) request.cohort_percentage = static_cast<int64_t>(percentage.node->as_u64());
  return request;
}

}  // namespace cutover::routing
