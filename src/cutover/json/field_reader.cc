#include "cutover/json/field_reader.h"

#include <algorithm>
#include <utility>

#include "cutover/base/text.h"

namespace cutover::json {
namespace {

std::string kind_of(const Node& v) { return std::string(kind_name(v.kind())); }

}  // namespace

FieldReader::FieldReader(const Node& node, std::string where, std::vector<std::string>& problems, FieldStyle style)
    : node_(node), where_(std::move(where)), problems_(problems), style_(style), is_object_(node.is_object()) {
  if (!is_object_)
    problems_.push_back(where_ + std::string(style_.separator) + "must be an object, not " + kind_of(node));
}

std::string FieldReader::where(std::string_view key) const {
  return where_.empty() ? std::string(key) : where_ + "." + std::string(key);
}

void FieldReader::problem(std::string_view key, std::string_view what) {
  problems_.push_back(where(key) + std::string(style_.separator) + std::string(what));
}

const Node* FieldReader::get(std::string_view key) const { return is_object_ ? node_.find(key) : nullptr; }

const Node* FieldReader::require(std::string_view key, std::string_view expected) {
  if (!is_object_) return nullptr;
  const Node* v = node_.find(key);
  if (v == nullptr) {
    problem(key, style_.name_expected_when_missing ? "is missing (" + std::string(expected) + " expected)"
                                                   : std::string("is missing"));
  }
  return v;
}

std::string FieldReader::string(std::string_view key) {
  const Node* v = require(key, "a string");
  if (v == nullptr) return {};
  if (!v->is_string()) {
    problem(key, "must be a string, not " + kind_of(*v));
    return {};
  }
  return std::string(v->as_string());
}

std::optional<std::string> FieldReader::optional_string(std::string_view key) {
  const Node* v = get(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    problem(key, "must be a string or null, not " + kind_of(*v));
    return std::nullopt;
  }
  return std::string(v->as_string());
}

std::optional<std::string> FieldReader::nullable_string(std::string_view key) {
  const Node* v = require(key, "a string or null");
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    problem(key, "must be a string or null, not " + kind_of(*v));
    return std::nullopt;
  }
  return std::string(v->as_string());
}

std::optional<std::string> FieldReader::string_if_present(std::string_view key) {
  const Node* v = get(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    problem(key, "must be a string, not " + kind_of(*v));
    return std::nullopt;
  }
  return std::string(v->as_string());
}

uint64_t FieldReader::u64(std::string_view key) {
  const Node* v = require(key, "an unsigned integer");
  if (v == nullptr) return 0;
  if (v->kind() != Kind::u64) {
    problem(key, "must be an unsigned integer, not " + kind_of(*v));
    return 0;
  }
  return v->as_u64();
}

std::optional<uint64_t> FieldReader::optional_u64(std::string_view key) {
  const Node* v = get(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (v->kind() != Kind::u64) {
    problem(key, "must be an unsigned integer or null, not " + kind_of(*v));
    return std::nullopt;
  }
  return v->as_u64();
}

double FieldReader::number(std::string_view key) {
  const Node* v = require(key, "a number");
  if (v == nullptr) return 0;
  switch (v->kind()) {
    case Kind::u64:
      return static_cast<double>(v->as_u64());
    case Kind::i64:
      return static_cast<double>(v->as_i64());
    case Kind::f64:
      return v->as_f64();
    default:
      problem(key, "must be a number, not " + kind_of(*v));
      return 0;
  }
}

bool FieldReader::boolean(std::string_view key) {
  const Node* v = require(key, "true or false");
  if (v == nullptr) return false;
  if (!v->is_bool()) {
    problem(key, "must be true or false, not " + kind_of(*v));
    return false;
  }
  return v->as_bool();
}

std::optional<bool> FieldReader::boolean_if_present(std::string_view key) {
  const Node* v = get(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_bool()) {
    problem(key, "must be true or false, not " + kind_of(*v));
    return std::nullopt;
  }
  return v->as_bool();
}

const Node* FieldReader::array(std::string_view key) {
  const Node* v = require(key, "an array");
  if (v == nullptr) return nullptr;
  if (!v->is_array()) {
    problem(key, "must be an array, not " + kind_of(*v));
    return nullptr;
  }
  return v;
}

const Node* FieldReader::object(std::string_view key) {
  const Node* v = require(key, "an object");
  if (v == nullptr) return nullptr;
  if (!v->is_object()) {
    problem(key, "must be an object, not " + kind_of(*v));
    return nullptr;
  }
  return v;
}

void FieldReader::check_keys(std::span<const std::string_view> known) {
  if (!is_object_) return;
  for (size_t i = 0; i < node_.size(); ++i) {
    std::string_view key = node_.members()[i].key.as_string();
    if (std::find(known.begin(), known.end(), key) == known.end()) problem(key, unknown_field_message(key, known));
  }
}

std::optional<std::string> read_string(const Node& v, const std::string& path, std::vector<std::string>& problems,
                                       std::string_view separator) {
  if (v.is_string()) return std::string(v.as_string());
  problems.push_back(path + std::string(separator) + "must be a string, not " + kind_of(v));
  return std::nullopt;
}

std::optional<bool> read_boolean(const Node& v, const std::string& path, std::vector<std::string>& problems,
                                 std::string_view separator) {
  if (v.is_bool()) return v.as_bool();
  problems.push_back(path + std::string(separator) + "must be true or false, not " + kind_of(v));
  return std::nullopt;
}

std::string unknown_field_message(std::string_view key, std::span<const std::string_view> known) {
  std::string message = "unknown field '" + std::string(key) + "'";
  std::string_view best = base::closest_match(key, known, 3);
  if (!best.empty()) return message + " (did you mean '" + std::string(best) + "'?)";
  message += " (known:";
  for (std::string_view k : known) message += " " + std::string(k);
  return message + ")";
}

std::string join_problems(const std::vector<std::string>& problems, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < problems.size(); ++i) {
    if (i > 0) out += separator;
    out += problems[i];
  }
  return out;
}

}  // namespace cutover::json
