#include "cutover/evidence/canary_samples.h"

#include <utility>

#include "cutover/base/clock.h"
#include "cutover/json/field_reader.h"
#include "cutover/json/parser.h"

namespace cutover::evidence {

Result<CanarySamples> parse_canary_samples(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) return make_error(ErrorCode::invalid_argument, source + " is not valid JSON: " + doc.error().message());
  std::vector<std::string> problems;
  CanarySamples out;
  json::FieldReader r(doc->root(), "samples file", problems);
  std::string schema = r.string("schema");
  if (r.get("schema") != nullptr && r.get("schema")->is_string() && schema != k_canary_samples_schema) {
    r.problem("schema", "is '" + schema + "', expected '" + std::string(k_canary_samples_schema) + "'");
  }
  out.group = r.string("group");
  if (const json::Node* list = r.array("samples")) {
    for (size_t i = 0; i < list->size(); ++i) {
      json::FieldReader s(list->elements()[i], "samples[" + std::to_string(i) + "]", problems);
      CanarySample sample;
      sample.stage = s.u64("stage");
      sample.time = s.string("time");
      sample.requests = s.u64("requests");
      sample.errors_5xx = s.u64("errors_5xx");
      sample.p95_ms = s.number("p95_ms");
      sample.baseline_p95_ms = s.number("baseline_p95_ms");
      if (!s.ok()) continue;
      if (s.get("time") != nullptr && s.get("time")->is_string()) {
        auto ns = base::parse_rfc3339(sample.time);
        if (ns)
          sample.time_ns = *ns;
        else
          s.problem("time", ns.error().message());
      }
      if (sample.errors_5xx > sample.requests) {
        s.problem("errors_5xx", std::to_string(sample.errors_5xx) + " is more than requests (" +
                                    std::to_string(sample.requests) + ")");
      }
      if (sample.p95_ms < 0) s.problem("p95_ms", "must not be negative");
      if (sample.baseline_p95_ms < 0) s.problem("baseline_p95_ms", "must not be negative");
      out.samples.push_back(std::move(sample));
    }
  }
  if (!problems.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      source + " is not a usable canary samples file: " + json::join_problems(problems));
  }
  return out;
}

}  // namespace cutover::evidence
