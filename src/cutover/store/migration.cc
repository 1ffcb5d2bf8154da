#include "cutover/store/migration.h"

#include <charconv>
#include <cstdint>
#include <string_view>
#include <utility>

namespace cutover::store {
namespace {

// What a key holds, in words for a message: "an array", "a string", ...
std::string describe(const json::Node& n) {
  std::string_view name = json::kind_name(n.kind());
  bool vowel = name[0] == 'a' || name[0] == 'i' || name[0] == 'o';
  return std::string(vowel ? "an " : "a ") + std::string(name);
}

uint64_t max_row_id(const json::Node* collection, const std::string& id_field) {
  uint64_t max = 0;
  if (collection == nullptr) return 0;
  auto visit = [&](const json::Node& row) {
    uint64_t id = row_id(row.find(id_field));
    if (id > max) max = id;
  };
  if (collection->is_object()) {
    for (size_t i = 0; i < collection->size(); ++i) visit(collection->members()[i].value);
  } else if (collection->is_array()) {
    for (size_t i = 0; i < collection->size(); ++i) visit(collection->elements()[i]);
  }
  return max;
}

}  // namespace

uint64_t row_id(const json::Node* id) {
  if (id == nullptr) return 0;
  if (id->kind() == json::Kind::u64) return id->as_u64();
  if (!id->is_string()) return 0;
  std::string_view s = id->as_string();
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return 0;
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return 0;
  return v;
}

Result<MigrationResult> migrate(json::Document& doc, const StoreSpec& spec, const MigrationOptions& options) {
  MigrationResult result;
  std::vector<std::string> problems;
  json::Node root = doc.root();
  if (!root.is_object()) {
    if (!options.allow_destructive_reset) {
      return make_error(ErrorCode::invalid_argument, "the document root is " + describe(root) +
                                                         ", not an object; the reference tool would replace "
                                                         "the whole store with {}");
    }
    result.resets.push_back("root (" + describe(root) + ") replaced by {}");
    root = json::Node::object_ref(nullptr, 0);
  }

  // Collect the changes, then build the new root once.
  std::vector<json::Member> members(root.members(), root.members() + root.size());
  auto current = [&](const std::string& key) -> const json::Node* {
    // Later additions shadow earlier members of the same key.
    for (size_t i = members.size(); i-- > 0;) {
      if (members[i].key.as_string() == key) return &members[i].value;
    }
    return nullptr;
  };
  auto set = [&](const std::string& key, json::Node value) {
    members.push_back(json::Member{doc.make_string(key), value});
  };

  for (const Operation& op : spec.operations) {
    const json::Node* existing = current(op.key);
    switch (op.kind) {
      case OperationKind::ensure_object:
      case OperationKind::ensure_array: {
        bool want_object = op.kind == OperationKind::ensure_object;
        json::Node empty = want_object ? json::Node::object_ref(nullptr, 0) : json::Node::array_ref(nullptr, 0);
        if (existing == nullptr) {
          set(op.key, empty);
        } else if (want_object ? !existing->is_object() : !existing->is_array()) {
          std::string what = "key '" + op.key + "' holds " + describe(*existing) + ", expected " +
                             (want_object ? "an object" : "an array");
          if (!options.allow_destructive_reset) {
            problems.push_back(what);
          } else {
            result.resets.push_back(what + "; replaced by " + (want_object ? "{}" : "[]"));
            set(op.key, empty);
          }
        }
        break;
      }
      case OperationKind::counter_from_max: {
        bool valid = existing != nullptr && existing->kind() == json::Kind::u64;
        if (valid && existing->as_u64() != 0) break;  // an existing counter is left alone
        if (existing != nullptr && !valid) {
          std::string what = "counter '" + op.key + "' holds " + describe(*existing) + ", expected an unsigned integer";
          if (!options.allow_destructive_reset) {
            problems.push_back(what);
            break;
          }
          result.resets.push_back(what + "; recomputed from " + op.collection + "." + op.id_field);
        }
        uint64_t max = max_row_id(current(op.collection), op.id_field);
        if (max == UINT64_MAX) {
          std::string what = "counter '" + op.key + "': the largest " + op.collection + "." + op.id_field +
                             " is the largest u64; no next id exists";
          if (!options.allow_destructive_reset) return make_error(ErrorCode::invalid_argument, what);
          // The reference tool adds 1 saturating: the counter becomes the
          // largest u64, an id a row already has.
          result.resets.push_back(what +
                                  "; set to 18446744073709551615 as the reference tool does (the next id "
                                  "handed out is one a row already has)");
          set(op.key, json::Node::u64(UINT64_MAX));
          break;
        }
        set(op.key, json::Node::u64(max + 1));
        break;
      }
    }
  }

  if (!problems.empty()) {
    std::string message = std::to_string(problems.size()) + (problems.size() == 1 ? " key has" : " keys have") +
                          " the wrong type (the reference tool would replace them and lose their contents): ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return make_error(ErrorCode::invalid_argument, message);
  }

  result.root = doc.make_object(std::move(members));
  doc.set_root(result.root);
  return result;
}

}  // namespace cutover::store
