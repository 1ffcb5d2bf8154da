#include "cutover/manifest/manifest.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cutover/base/file_system.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/field_reader.h"
#include "cutover/json/parser.h"

namespace cutover::manifest {
namespace {

json::Node optional_string(json::Document& doc, const std::optional<std::string>& s) {
  return s ? doc.make_string(*s) : json::Node::null();
}

json::Node string_list(json::Document& doc, const std::vector<std::string>& items) {
  std::vector<json::Node> nodes;
  for (const auto& item : items) nodes.push_back(doc.make_string(item));
  return doc.make_array(nodes);
}

// Fields (and count names) longer than this are refused without being
// quoted: no path the OS accepts is longer (PATH_MAX), backfill writes
// nothing near it, and verify and rollback quote these values in their
// messages and reports, which a hostile manifest could otherwise fill with
// megabytes.
constexpr size_t k_max_field_bytes = 4096;

bool short_enough(const std::string& field, std::string_view value, std::vector<std::string>& problems) {
  if (value.size() <= k_max_field_bytes) return true;
  problems.push_back(field + " is " + std::to_string(value.size()) + " bytes long (at most " +
                     std::to_string(k_max_field_bytes) + ")");
  return false;
}

// Reads the fields of one manifest object, collecting problems in the
// manifest's form ("stores[0].path is missing"), each string checked for length.
class ManifestFields {
 public:
  ManifestFields(const json::Node& obj, std::string where, std::vector<std::string>& problems)
      : reader_(obj, std::move(where), problems, {.separator = " ", .name_expected_when_missing = false}),
        problems_(problems) {}

  const json::Node* get(std::string_view name, bool required = true) {
    return required ? reader_.require(name, "") : reader_.get(name);
  }
  std::string string(std::string_view name, bool required = true) {
    auto s = required ? std::optional(reader_.string(name)) : reader_.string_if_present(name);
    return s && short_enough(reader_.where(name), *s, problems_) ? *s : "";
  }
  std::optional<std::string> nullable_string(std::string_view name) {
    auto s = reader_.nullable_string(name);
    if (s && !short_enough(reader_.where(name), *s, problems_)) return std::nullopt;
    return s;
  }
  bool boolean(std::string_view name) { return reader_.boolean(name); }

 private:
  json::FieldReader reader_;
  std::vector<std::string>& problems_;
};

void check_sha(const std::optional<std::string>& sha, const std::string& field, std::vector<std::string>& problems) {
  if (sha && !hash::is_sha256_hex(*sha)) problems.push_back(field + " is not 64 lower-case hex characters");
}

}  // namespace

std::string to_json(const Manifest& m) {
  json::Document doc;
  return json::to_canonical_string(to_node(doc, m));
}

json::Node to_node(json::Document& doc, const Manifest& m) {
  std::vector<json::Node> stores;
  for (const StoreRecord& s : m.stores) {
    std::vector<json::Member> counts;
    for (const auto& [name, value] : s.counts) counts.push_back({doc.make_string(name), json::Node::u64(value)});
    std::vector<json::Member> fields = {
        {doc.make_string("store"), doc.make_string(s.store)},
        {doc.make_string("path"), doc.make_string(s.path)},
        {doc.make_string("existed"), json::Node::boolean(s.existed)},
        {doc.make_string("backup_path"), optional_string(doc, s.backup_path)},
        {doc.make_string("before_sha256"), optional_string(doc, s.before_sha256)},
        {doc.make_string("after_sha256"), doc.make_string(s.after_sha256)},
        {doc.make_string("changed"), json::Node::boolean(s.changed)},
        {doc.make_string("counts"), doc.make_object(std::move(counts))},
        {doc.make_string("spec_source"), doc.make_string(s.spec_source)},
    };
    if (!s.destructive_resets.empty()) {
      fields.push_back({doc.make_string("destructive_resets"), string_list(doc, s.destructive_resets)});
    }
    stores.push_back(doc.make_object(std::move(fields)));
  }
  return doc.make_object({
      {doc.make_string("schema"), doc.make_string(m.schema)},
      {doc.make_string("generated_at"), doc.make_string(m.generated_at)},
      {doc.make_string("run_id"), doc.make_string(m.run_id)},
      {doc.make_string("status"), doc.make_string(m.status)},
      {doc.make_string("canonical_form"), doc.make_string(m.canonical_form)},
      {doc.make_string("tool"), doc.make_string(m.tool)},
      {doc.make_string("work_dir"), doc.make_string(m.work_dir)},
      {doc.make_string("stores"), doc.make_array(stores)},
  });
}

Result<Manifest> parse_manifest(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) return make_error(ErrorCode::corruption, "manifest " + source + ": " + doc.error().message());
  const json::Node& root = doc->root();
  if (!root.is_object())
    return make_error(ErrorCode::corruption, "manifest " + source + ": the document must be an object");

  std::vector<std::string> problems;
  ManifestFields top(root, "", problems);
  Manifest m;
  m.schema = top.string("schema");
  if (!m.schema.empty() && m.schema != k_schema) {
    problems.push_back("schema is '" + m.schema + "', expected '" + std::string(k_schema) + "'");
  }
  m.generated_at = top.string("generated_at");
  m.run_id = top.string("run_id", false);
  m.status = top.string("status", false);
  if (m.status.empty()) m.status = std::string(k_status_complete);  // manifests of the reference tool
  m.canonical_form = top.string("canonical_form", false);
  m.tool = top.string("tool", false);
  m.work_dir = top.string("work_dir", false);

  const json::Node* stores = top.get("stores");
  if (stores != nullptr && !stores->is_array()) {
    problems.push_back("stores must be an array");
  } else if (stores != nullptr) {
    if (stores->size() == 0) problems.push_back("stores is empty: the manifest records no store");
    for (size_t i = 0; i < stores->size(); ++i) {
      std::string where = "stores[" + std::to_string(i) + "]";
      const json::Node& node = stores->elements()[i];
      if (!node.is_object()) {
        problems.push_back(where + " must be an object");
        continue;
      }
      ManifestFields r(node, where, problems);
      StoreRecord s;
      s.store = r.string("store");
      s.path = r.string("path");
      s.existed = r.boolean("existed");
      s.backup_path = r.nullable_string("backup_path");
      s.before_sha256 = r.nullable_string("before_sha256");
      s.after_sha256 = r.string("after_sha256");
      s.changed = r.boolean("changed");
      s.spec_source = r.string("spec_source", false);
      if (const json::Node* resets = r.get("destructive_resets", false)) {
        bool all_strings = resets->is_array();
        for (size_t j = 0; all_strings && j < resets->size(); ++j) {
          const json::Node& item = resets->elements()[j];
          if (!item.is_string())
            all_strings = false;
          else
            s.destructive_resets.emplace_back(item.as_string());
        }
        if (!all_strings) problems.push_back(where + ".destructive_resets must be an array of strings");
      }
      check_sha(s.before_sha256, where + ".before_sha256", problems);
      check_sha(s.after_sha256, where + ".after_sha256", problems);
      auto given = [&](std::string_view name) {
        const json::Node* v = node.find(name);
        return v != nullptr && !v->is_null();
      };
      if (s.existed && (!given("backup_path") || !given("before_sha256"))) {
        problems.push_back(where + " existed before the migration but has no backup_path or before_sha256");
      }
      if (const json::Node* p = node.find("path"); p != nullptr && p->is_string() && p->as_string().empty()) {
        problems.push_back(where + ".path is empty");
      }
      if (const json::Node* counts = r.get("counts")) {
        if (!counts->is_object()) {
          problems.push_back(where + ".counts must be an object");
        } else {
          for (size_t j = 0; j < counts->size(); ++j) {
            const json::Member& c = counts->members()[j];
            if (!short_enough(where + ".counts: a count name", c.key.as_string(), problems)) continue;
            if (c.value.kind() != json::Kind::u64) {
              problems.push_back(where + ".counts." + std::string(c.key.as_string()) +
                                 " must be a non-negative integer");
              continue;
            }
            s.counts[std::string(c.key.as_string())] = c.value.as_u64();
          }
        }
      }
      m.stores.push_back(std::move(s));
    }
  }
  if (!problems.empty()) {
    std::string message = "manifest " + source + " is not usable: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return make_error(ErrorCode::corruption, message);
  }
  return m;
}

std::string unfinished_run_marker_path(const std::string& store_path) {
  return base::join_path(base::parent_directory(store_path), "." + base::file_name(store_path) + ".cutover-run");
}

}  // namespace cutover::manifest
