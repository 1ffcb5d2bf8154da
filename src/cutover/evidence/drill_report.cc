#include "cutover/evidence/drill_report.h"

#include "cutover/json/field_reader.h"
#include "cutover/json/parser.h"

namespace cutover::evidence {

Result<DrillSummary> parse_drill_report(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) return make_error(ErrorCode::invalid_argument, source + " is not valid JSON: " + doc.error().message());
  std::vector<std::string> problems;
  json::FieldReader r(doc->root(), "drill report", problems);
  DrillSummary out;
  std::string schema = r.string("schema");
  out.ok = r.boolean("ok");
  out.group = r.string("group");
  out.release_train = r.string("release_train");
  out.finished_at = r.string("finished_at");
  if (const json::Node* m = r.object("manifest")) {
    json::FieldReader mr(*m, "drill report.manifest", problems);
    out.manifest_sha256 = mr.string("sha256");
    out.run_id = mr.string("run_id");
  }
  bool any_failed = false;
  if (const json::Node* steps = r.array("steps")) {
    for (size_t i = 0; i < steps->size(); ++i) {
      json::FieldReader s(steps->elements()[i], "drill report.steps[" + std::to_string(i) + "]", problems);
      std::string name = s.string("name");
      bool ok = s.boolean("ok");
      std::string detail = s.string("detail");
      if (!ok) {
        any_failed = true;
        out.failed_steps.push_back(name + ": " + detail);
      }
    }
    if (steps->size() == 0)
      problems.push_back("drill report.steps: is empty (a drill that ran no step proves nothing)");
  }
  if (r.get("schema") != nullptr && r.get("schema")->is_string() && schema != k_drill_report_schema) {
    r.problem("schema", "is '" + schema + "', expected '" + std::string(k_drill_report_schema) + "'");
  }
  if (!problems.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      source + " is not a usable drill report: " + json::join_problems(problems));
  }
  // A report whose verdict disagrees with its steps is not trusted as a pass.
  if (any_failed) out.ok = false;
  return out;
}

}  // namespace cutover::evidence
