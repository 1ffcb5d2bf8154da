#include "cutover/store/store_spec.h"

#include <algorithm>
#include <set>
#include <utility>

#include "cutover/base/text.h"
#include "cutover/json/parser.h"
#include "cutover_store_embedded.h"

namespace cutover::store {
namespace {

Error spec_error(const std::string& source, std::string what) {
  return Error(ErrorCode::invalid_argument, "store spec " + source + ": " + what);
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::vector<std::string_view> names(candidates.begin(), candidates.end());
  std::string_view best = base::closest_match(word, names, 3);  // only close matches are worth a hint
  return best.empty() ? "" : "; did you mean '" + std::string(best) + "'?";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; });
}

// Reads field `name` of `obj` as a non-empty string.
Result<std::string> string_field(const json::Node& obj, std::string_view name, const std::string& where,
                                 const std::string& source) {
  const json::Node* v = obj.find(name);
  if (v == nullptr) return tl::unexpected(spec_error(source, where + ": missing field '" + std::string(name) + "'"));
  if (!v->is_string() || v->as_string().empty()) {
    return tl::unexpected(spec_error(source, where + "." + std::string(name) + " must be a non-empty string"));
  }
  return std::string(v->as_string());
}

Status only_fields(const json::Node& obj, const std::vector<std::string>& allowed, const std::string& where,
                   const std::string& source) {
  for (size_t i = 0; i < obj.size(); ++i) {
    std::string key(obj.members()[i].key.as_string());
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return tl::unexpected(spec_error(source, where + ": unknown field '" + key + "'" + did_you_mean(key, allowed)));
    }
  }
  return {};
}

const std::vector<std::string> k_operation_names = {"ensure_object", "ensure_array", "counter_from_max"};
const std::vector<std::string> k_count_kind_names = {"object_len", "array_len", "sum_array_lengths"};

Result<Operation> parse_operation(const json::Node& node, const std::string& where, const std::string& source) {
  if (!node.is_object()) return tl::unexpected(spec_error(source, where + " must be an object"));
  TRY_ASSIGN(std::string op, string_field(node, "op", where, source));
  Operation out{};
  if (op == "ensure_object" || op == "ensure_array") {
    out.kind = op == "ensure_object" ? OperationKind::ensure_object : OperationKind::ensure_array;
    TRY(only_fields(node, {"op", "key"}, where, source));
    TRY_ASSIGN(out.key, string_field(node, "key", where, source));
    return out;
  }
  if (op == "counter_from_max") {
    out.kind = OperationKind::counter_from_max;
    TRY(only_fields(node, {"op", "counter", "collection", "id_field"}, where, source));
    TRY_ASSIGN(out.key, string_field(node, "counter", where, source));
    TRY_ASSIGN(out.collection, string_field(node, "collection", where, source));
    TRY_ASSIGN(out.id_field, string_field(node, "id_field", where, source));
    return out;
  }
  return tl::unexpected(spec_error(source, where + ": unknown operation '" + op + "'" +
                                               did_you_mean(op, k_operation_names) + " (the operations are " +
                                               join(k_operation_names) +
                                               "; all are additive, nothing may remove or retype data)"));
}

// Refuses specs whose operations would fight over a key's type.
Status check_additive(const StoreSpec& spec, const std::string& source) {
  std::map<std::string, std::string> role;  // key -> "object" | "array" | "counter"
  for (const auto& op : spec.operations) {
    std::string want = op.kind == OperationKind::ensure_object  ? "object"
                       : op.kind == OperationKind::ensure_array ? "array"
                                                                : "counter";
    auto [it, inserted] = role.emplace(op.key, want);
    if (!inserted && it->second != want) {
      return tl::unexpected(
          spec_error(source, "key '" + op.key + "' is used as " + it->second + " and as " + want +
                                 ": that would retype data, which is not allowed during the overlap"));
    }
  }
  for (const auto& op : spec.operations) {
    if (op.kind != OperationKind::counter_from_max) continue;
    auto it = role.find(op.collection);
    if (it != role.end() && it->second == "counter") {
      return tl::unexpected(spec_error(source, "counter_from_max '" + op.key + "' reads collection '" + op.collection +
                                                   "', which is itself a counter"));
    }
    if (op.collection == op.key) {
      return tl::unexpected(spec_error(source, "counter_from_max '" + op.key + "' cannot be its own collection"));
    }
  }
  return {};
}

}  // namespace

std::string_view operation_name(OperationKind kind) { return k_operation_names[static_cast<size_t>(kind)]; }
std::string_view count_kind_name(CountKind kind) { return k_count_kind_names[static_cast<size_t>(kind)]; }

Result<StoreSpec> parse_store_spec(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) return tl::unexpected(spec_error(source, doc.error().message()));
  const json::Node& root = doc->root();
  if (!root.is_object()) return tl::unexpected(spec_error(source, "the document must be an object"));
  TRY(only_fields(root, {"schema", "store", "description", "operations", "counts"}, "spec", source));

  TRY_ASSIGN(std::string schema, string_field(root, "schema", "spec", source));
  if (schema != k_spec_schema) {
    return tl::unexpected(
        spec_error(source, "schema is '" + schema + "', expected '" + std::string(k_spec_schema) + "'"));
  }
  StoreSpec spec;
  spec.source = source;
  TRY_ASSIGN(spec.store, string_field(root, "store", "spec", source));
  if (!valid_name(spec.store)) {
    return tl::unexpected(
        spec_error(source, "store name '" + spec.store + "' must be 1-64 characters of a-z, 0-9, _ or -"));
  }
  if (const json::Node* d = root.find("description")) {
    if (!d->is_string()) return tl::unexpected(spec_error(source, "description must be a string"));
    spec.description = std::string(d->as_string());
  }

  const json::Node* ops = root.find("operations");
  if (ops == nullptr || !ops->is_array()) return tl::unexpected(spec_error(source, "operations must be an array"));
  for (size_t i = 0; i < ops->size(); ++i) {
    TRY_ASSIGN(Operation op, parse_operation(ops->elements()[i], "operations[" + std::to_string(i) + "]", source));
    spec.operations.push_back(std::move(op));
  }
  TRY(check_additive(spec, source));

  const json::Node* counts = root.find("counts");
  if (counts == nullptr || !counts->is_object()) return tl::unexpected(spec_error(source, "counts must be an object"));
  for (size_t i = 0; i < counts->size(); ++i) {
    const json::Member& m = counts->members()[i];
    std::string where = "counts." + std::string(m.key.as_string());
    if (!valid_name(m.key.as_string()))
      return tl::unexpected(spec_error(source, where + ": count names are a-z, 0-9, _ or -"));
    if (!m.value.is_object()) return tl::unexpected(spec_error(source, where + " must be an object"));
    TRY(only_fields(m.value, {"kind", "key"}, where, source));
    TRY_ASSIGN(std::string kind, string_field(m.value, "kind", where, source));
    auto it = std::find(k_count_kind_names.begin(), k_count_kind_names.end(), kind);
    if (it == k_count_kind_names.end()) {
      return tl::unexpected(spec_error(source, where + ": unknown count kind '" + kind + "'" +
                                                   did_you_mean(kind, k_count_kind_names) + " (the kinds are " +
                                                   join(k_count_kind_names) + ")"));
    }
    CountRule rule{std::string(m.key.as_string()), static_cast<CountKind>(it - k_count_kind_names.begin()), ""};
    TRY_ASSIGN(rule.key, string_field(m.value, "key", where, source));
    spec.counts.push_back(std::move(rule));
  }
  return spec;
}

SpecRegistry SpecRegistry::with_builtins() {
  SpecRegistry registry;
  for (std::string_view text : {embedded::k_auth, embedded::k_codex_threads, embedded::k_domain}) {
    auto spec = parse_store_spec(text, "built-in");
    // The built-ins are part of the binary; a broken one is a bug, caught by the tests.
    if (!spec || !registry.add(std::move(*spec))) std::abort();
  }
  return registry;
}

Status SpecRegistry::load_file(base::FileSystem& fs, const std::string& path) {
  TRY_ASSIGN_CTX(base::Buffer bytes, fs.read_file(path), "store spec");
  TRY_ASSIGN(StoreSpec spec, parse_store_spec(bytes.view(), path));
  return add(std::move(spec));
}

Status SpecRegistry::add(StoreSpec spec) {
  auto it = specs_.find(spec.store);
  if (it != specs_.end()) {
    return make_error(ErrorCode::invalid_argument, "store spec " + spec.source + ": store kind '" + spec.store +
                                                       "' is already defined by " + it->second.source +
                                                       "; give the new kind another name");
  }
  std::string name = spec.store;
  specs_.emplace(std::move(name), std::move(spec));
  return {};
}

Result<const StoreSpec*> SpecRegistry::find(std::string_view name) const {
  auto it = specs_.find(name);
  if (it != specs_.end()) return &it->second;
  std::vector<std::string> known = names();
  return make_error(ErrorCode::not_found, "unknown store kind '" + std::string(name) + "'" + did_you_mean(name, known) +
                                              " (known kinds: " + join(known) + "; add one with --spec FILE)");
}

std::vector<std::string> SpecRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, spec] : specs_) out.push_back(name);
  return out;
}

}  // namespace cutover::store
