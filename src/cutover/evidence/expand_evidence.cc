#include "cutover/evidence/expand_evidence.h"

#include "cutover/base/clock.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/parser.h"

namespace cutover::evidence {
namespace {

// True when `key` of `v` is the boolean true.
bool is_true(const json::Node& v, std::string_view key) {
  const json::Node* x = v.find(key);
  return x != nullptr && x->is_bool() && x->as_bool();
}

const json::Node* array_at(const json::Node& v, std::string_view key) {
  const json::Node* a = v.find(key);
  return a != nullptr && a->is_array() ? a : nullptr;
}

// Reads `path`, parses it and checks what all reports share. Fills `file`
// and adds problems; returns the document (its root null when not JSON).
Result<json::Document> read_report(base::FileSystem& fs, const std::string& path, std::string_view format,
                                   ReportFile& file, std::vector<std::string>& problems) {
  TRY_ASSIGN_CTX(base::Buffer bytes, fs.read_file(path), "cannot read report " + path);
  file.path = base::absolute_path(path);
  file.text = std::string(bytes.view());
  file.sha256 = hash::sha256_hex(file.text);
  auto doc = json::parse(file.text);
  if (!doc || !doc->root().is_object()) {
    problems.push_back(path + " is not a JSON object" +
                       (doc ? std::string() : ": " + path + " is not valid JSON: " + doc.error().message()));
    return json::Document();
  }
  const json::Node& root = doc->root();
  if (json::string_at(root, "format") != format) {
    problems.push_back(path + " has format '" + std::string(json::string_at(root, "format")) + "', not " +
                       std::string(format));
    return std::move(*doc);
  }
  file.created_at = json::string_at(root, "created_at");
  if (!base::parse_rfc3339(file.created_at)) {
    problems.push_back(path + " has no usable created_at (an RFC 3339 UTC time): '" + file.created_at + "'");
  }
  file.ok = is_true(root, "ok");
  if (!file.ok) problems.push_back(path + " did not pass (ok is not true)");
  return std::move(*doc);
}

}  // namespace

Result<ExpandReport> read_expand_report(base::FileSystem& fs, const std::string& path) {
  ExpandReport out;
  TRY_ASSIGN(json::Document doc, read_report(fs, path, k_expand_report_format, out.file, out.problems));
  if (!doc.root().is_object() || json::string_at(doc.root(), "format") != k_expand_report_format) return out;
  const json::Node* stores = array_at(doc.root(), "stores");
  if (stores == nullptr || stores->size() == 0) {
    out.problems.push_back(path + " lists no store (stores is missing or empty)");
    return out;
  }
  for (size_t i = 0; i < stores->size(); ++i) {
    const json::Node& s = stores->elements()[i];
    ExpandStore store;
    store.name = json::string_at(s, "name");
    store.path = json::string_at(s, "path");
    store.existed = is_true(s, "existed");
    std::string before(json::string_at(s, "sha256_before"));
    store.sha256_after = json::string_at(s, "sha256_after");
    std::string label = path + " store " + (store.name.empty() ? std::string("(no name)") : store.name);
    if (store.name.empty() || store.path.empty()) out.problems.push_back(label + " has no name or path");
    if (before != store.sha256_after) {
      out.problems.push_back(label + ": the real store changed during the check (sha256_before " + before +
                             ", sha256_after " + store.sha256_after + ")");
    }
    const json::Node* runs = array_at(s, "runs");
    bool pre = false, migrated = false;
    if (runs != nullptr) {
      for (size_t j = 0; j < runs->size(); ++j) {
        const json::Node& r = runs->elements()[j];
        std::string shape(json::string_at(r, "shape"));
        bool passed = is_true(r, "ok");
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
  TRY_ASSIGN(json::Document doc, read_report(fs, path, k_routes_report_format, out.file, out.problems));
  if (!doc.root().is_object() || json::string_at(doc.root(), "format") != k_routes_report_format) return out;
  const json::Node* config = doc.root().find("config");
  out.config_sha256 = config != nullptr ? json::string_at(*config, "sha256") : "";
  if (!hash::is_sha256_hex(out.config_sha256)) {
    out.problems.push_back(path + " has no config.sha256 (the SHA-256 of the route config it checked)");
  }
  const json::Node* groups = array_at(doc.root(), "groups");
  if (groups == nullptr) {
    out.problems.push_back(path + " has no groups array");
    return out;
  }
  for (size_t i = 0; i < groups->size(); ++i) {
    const json::Node& g = groups->elements()[i];
    out.groups[std::string(json::string_at(g, "group"))] = is_true(g, "ok");
  }
  return out;
}

void write_report_file_members(json::Writer& w, const ReportFile& file) {
  w.member("path", file.path).member("sha256", file.sha256).member("created_at", file.created_at);
}

}  // namespace cutover::evidence
