// The control API's request bodies (docs/formats/http-api.md, "evaluate" and
// "override"): the JSON the server reads and the field checks it makes
// before it acts, apart from the HTTP server so that they can be tested and
// fuzzed alone (fuzz/control_api_fuzz.cc). The messages are the reference's
// (the API's 400 and 422 answers). Pure: no I/O; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "cutover/routing/overrides.h"

namespace cutover::routing {

// Why a request body was refused. The server answers not_json with 400 and
// the others with 422, each as "invalid_request".
struct RequestError {
  enum class Kind : uint8_t { not_json, not_object, invalid_fields };
  Kind kind = Kind::invalid_fields;
  std::string message;             // not_json, not_object: the answer's message
  std::vector<FieldError> fields;  // invalid_fields: every field's problem, in order (at least one)
};

// POST .../route-split/evaluate {"path": ..., "cohort_key": ...}; unknown
// fields are ignored.
struct EvaluateRequest {
  std::string path;                       // as sent; not blank once trimmed
  std::optional<std::string> cohort_key;  // as sent; nullopt when absent, null or blank (the server then
                                          // takes the key from the request headers)
};

// Errors: the body is not JSON, not an object; "path" missing, null, blank or
// not a string; "cohort_key" neither a string nor null.
tl::expected<EvaluateRequest, RequestError> parse_evaluate_request(std::string_view body);

// POST .../route-split/override {"target", "domain"} or {"mode",
// "cohort_percentage", "domain"} (OverrideRequest, overrides.h); unknown
// fields are ignored.
// Errors: the body is not JSON, not an object; neither "target" nor "mode"
// given ("Target is required."); "target", "mode" or "domain" neither a
// string nor null; "cohort_percentage" not an integer from 0 to 100.
tl::expected<OverrideRequest, RequestError> parse_override_request(std::string_view body);

}  // namespace cutover::routing
