#include "cutover/manifest/manifest.h"

#include "cutover/base/file_system.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/canonical_writer.h"
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

// Reads the fields of one manifest object, collecting problems.
class FieldReader {
 public:
  FieldReader(const json::Node& obj, std::string where, std::vector<std::string>& problems)
      : obj_(obj), where_(std::move(where)), problems_(problems) {}

  const json::Node* get(std::string_view name, bool required = true) {
    const json::Node* v = obj_.find(name);
    if (v == nullptr && required) problems_.push_back(path(name) + " is missing");
    return v;
  }
  std::string string(std::string_view name, bool required = true) {
    const json::Node* v = get(name, required);
    if (v == nullptr) return "";
    if (!v->is_string()) {
      problems_.push_back(path(name) + " must be a string, not " + std::string(json::kind_name(v->kind())));
      return "";
    }
    if (!short_enough(path(name), v->as_string(), problems_)) return "";
    return std::string(v->as_string());
  }
  std::optional<std::string> nullable_string(std::string_view name) {
    const json::Node* v = get(name);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!v->is_string()) {
      problems_.push_back(path(name) + " must be a string or null, not " + std::string(json::kind_name(v->kind())));
      return std::nullopt;
    }
    if (!short_enough(path(name), v->as_string(), problems_)) return std::nullopt;
    return std::string(v->as_string());
  }
  bool boolean(std::string_view name) {
    const json::Node* v = get(name);
    if (v == nullptr) return false;
    if (!v->is_bool()) {
      problems_.push_back(path(name) + " must be true or false");
      return false;
    }
    return v->as_bool();
  }
  std::string path(std::string_view name) const {
    return where_.empty() ? std::string(name) : where_ + "." + std::string(name);
  }

 private:
  const json::Node& obj_;
  std::string where_;
  std::vector<std::string>& problems_;
};

void check_sha(const std::optional<std::string>& sha, const std::string& field, std::vector<std::string>& problems) {
  if (sha && !hash::is_sha256_hex(*sha)) problems.push_back(field + " is not 64 lower-case hex characters");
}

}  // namespace

std::string to_json(const Manifest& m) {
  json::Document doc;
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
  json::Node root = doc.make_object({
      {doc.make_string("schema"), doc.make_string(m.schema)},
      {doc.make_string("generated_at"), doc.make_string(m.generated_at)},
      {doc.make_string("run_id"), doc.make_string(m.run_id)},
      {doc.make_string("status"), doc.make_string(m.status)},
      {doc.make_string("canonical_form"), doc.make_string(m.canonical_form)},
      {doc.make_string("tool"), doc.make_string(m.tool)},
      {doc.make_string("work_dir"), doc.make_string(m.work_dir)},
      {doc.make_string("stores"), doc.make_array(stores)},
  });
  return json::to_canonical_string(root);
}

Result<Manifest> parse_manifest(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) return make_error(ErrorCode::corruption, "manifest " + source + ": " + doc.error().message());
  const json::Node& root = doc->root();
  if (!root.is_object())
    return make_error(ErrorCode::corruption, "manifest " + source + ": the document must be an object");

  std::vector<std::string> problems;
  FieldReader top(root, "", problems);
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
      FieldReader r(node, where, problems);
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
