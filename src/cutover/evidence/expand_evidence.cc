#include "cutover/evidence/expand_evidence.h"

#include "cutover/base/clock.h"
#include "cutover/hash/sha256.h"

namespace cutover::evidence {
namespace {

// Reads `path`, parses it and checks what all reports share. Fills `file`
// and adds problems; returns the document (null when not JSON).
Result<JsonValue> read_report(base::FileSystem& fs, const std::string& path, std::string_view format, ReportFile& file,
                              std::vector<std::string>& problems) {
  TRY_ASSIGN_CTX(base::Buffer bytes, fs.read_file(path), "cannot read report " + path);
  file.path = base::absolute_path(path);
  file.text = std::string(bytes.view());
  file.sha256 = hash::sha256_hex(file.text);
  auto doc = JsonValue::parse(file.text, path);
  if (!doc || !doc->is_object()) {
    problems.push_back(path + " is not a JSON object" + (doc ? std::string() : ": " + doc.error().message()));
    return JsonValue::null();
  }
  if (doc->string_at("format") != format) {
    problems.push_back(path + " has format '" + doc->string_at("format") + "', not " + std::string(format));
    return *doc;
  }
  file.created_at = doc->string_at("created_at");
  if (!base::parse_rfc3339(file.created_at)) {
    problems.push_back(path + " has no usable created_at (an RFC 3339 UTC time): '" + file.created_at + "'");
  }
  const JsonValue* ok = doc->find("ok");
  file.ok = ok != nullptr && ok->is_bool() && ok->as_bool();
  if (!file.ok) problems.push_back(path + " did not pass (ok is not true)");
  return *doc;
}

const JsonValue* array_at(const JsonValue& v, std::string_view key) {
  const JsonValue* a = v.is_object() ? v.find(key) : nullptr;
  return a != nullptr && a->is_array() ? a : nullptr;
}

}  // namespace

Result<ExpandReport> read_expand_report(base::FileSystem& fs, const std::string& path) {
  ExpandReport out;
  TRY_ASSIGN(JsonValue doc, read_report(fs, path, k_expand_report_format, out.file, out.problems));
  if (!doc.is_object() || doc.string_at("format") != k_expand_report_format) return out;
  const JsonValue* stores = array_at(doc, "stores");
  if (stores == nullptr || stores->items().empty()) {
    out.problems.push_back(path + " lists no store (stores is missing or empty)");
    return out;
  }
  for (const JsonValue& s : stores->items()) {
    ExpandStore store;
    store.name = s.string_at("name");
    store.path = s.string_at("path");
    const JsonValue* existed = s.is_object() ? s.find("existed") : nullptr;
    store.existed = existed != nullptr && existed->is_bool() && existed->as_bool();
    std::string before = s.string_at("sha256_before");
    store.sha256_after = s.string_at("sha256_after");
    std::string label = path + " store " + (store.name.empty() ? std::string("(no name)") : store.name);
    if (store.name.empty() || store.path.empty()) out.problems.push_back(label + " has no name or path");
    if (before != store.sha256_after) {
      out.problems.push_back(label + ": the real store changed during the check (sha256_before " + before +
                             ", sha256_after " + store.sha256_after + ")");
    }
    const JsonValue* runs = array_at(s, "runs");
    bool pre = false, migrated = false;
    if (runs != nullptr) {
      for (const JsonValue& r : runs->items()) {
        std::string shape = r.string_at("shape");
        const JsonValue* ok = r.is_object() ? r.find("ok") : nullptr;
        bool passed = ok != nullptr && ok->is_bool() && ok->as_bool();
        if (!passed) out.problems.push_back(label + ": the reader failed on the " + shape + " shape");
        if (shape == "pre") pre = pre || passed;
        if (shape == "migrated") migrated = migrated || passed;
      }
    }
    if (!pre || !migrated) {
      out.problems.push_back(label + " has no passing run on the " + std::string(!pre ? "pre" : "migrated") + " shape");
    }
    out.stores.push_back(std::move(store));
  }
  return out;
}

Result<RoutesReportSummary> read_routes_report(base::FileSystem& fs, const std::string& path) {
  RoutesReportSummary out;
  TRY_ASSIGN(JsonValue doc, read_report(fs, path, k_routes_report_format, out.file, out.problems));
  if (!doc.is_object() || doc.string_at("format") != k_routes_report_format) return out;
  const JsonValue* config = doc.find("config");
  out.config_sha256 = config != nullptr && config->is_object() ? config->string_at("sha256") : "";
  if (!hash::is_sha256_hex(out.config_sha256)) {
    out.problems.push_back(path + " has no config.sha256 (the SHA-256 of the route config it checked)");
  }
  const JsonValue* groups = array_at(doc, "groups");
  if (groups == nullptr) {
    out.problems.push_back(path + " has no groups array");
    return out;
  }
  for (const JsonValue& g : groups->items()) {
    const JsonValue* ok = g.is_object() ? g.find("ok") : nullptr;
    out.groups[g.string_at("group")] = ok != nullptr && ok->is_bool() && ok->as_bool();
  }
  return out;
}

JsonValue report_file_json(const ReportFile& file) {
  return JsonValue::object().set("path", file.path).set("sha256", file.sha256).set("created_at", file.created_at);
}

}  // namespace cutover::evidence
