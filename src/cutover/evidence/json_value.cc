#include "cutover/evidence/json_value.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"

namespace cutover::evidence {

JsonValue JsonValue::boolean(bool b) {
  JsonValue v;
  v.type_ = Type::boolean;
  v.bool_ = b;
  return v;
}

JsonValue JsonValue::u64(uint64_t x) {
  JsonValue v;
  v.type_ = Type::u64;
  v.u64_ = x;
  return v;
}

JsonValue JsonValue::i64(int64_t x) {
  if (x >= 0) return u64(static_cast<uint64_t>(x));
  JsonValue v;
  v.type_ = Type::i64;
  v.i64_ = x;
  return v;
}

JsonValue JsonValue::f64(double x) {
  assert(std::isfinite(x));
  JsonValue v;
  v.type_ = Type::f64;
  v.f64_ = x;
  return v;
}

JsonValue JsonValue::string(std::string_view s) {
  JsonValue v;
  v.type_ = Type::string;
  v.string_ = std::string(s);
  return v;
}

JsonValue JsonValue::array() {
  JsonValue v;
  v.type_ = Type::array;
  return v;
}

JsonValue JsonValue::object() {
  JsonValue v;
  v.type_ = Type::object;
  return v;
}

JsonValue JsonValue::from_node(const json::Node& node) {
  switch (node.kind()) {
    case json::Kind::null:
      return null();
    case json::Kind::boolean:
      return boolean(node.as_bool());
    case json::Kind::u64:
      return u64(node.as_u64());
    case json::Kind::i64:
      return i64(node.as_i64());
    case json::Kind::f64:
      return f64(node.as_f64());
    case json::Kind::string:
      return string(node.as_string());
    case json::Kind::array: {
      JsonValue v = array();
      for (size_t i = 0; i < node.size(); ++i) v.items_.push_back(from_node(node.elements()[i]));
      return v;
    }
    case json::Kind::object: {
      JsonValue v = object();
      for (size_t i = 0; i < node.size(); ++i) {
        const json::Member& m = node.members()[i];
        v.members_.emplace_back(std::string(m.key.as_string()), from_node(m.value));
      }
      return v;
    }
  }
  return null();
}

Result<JsonValue> JsonValue::parse(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) return make_error(ErrorCode::invalid_argument, source + " is not valid JSON: " + doc.error().message());
  return from_node(doc->root());
}

double JsonValue::as_double() const {
  switch (type_) {
    case Type::u64:
      return static_cast<double>(u64_);
    case Type::i64:
      return static_cast<double>(i64_);
    case Type::f64:
      return f64_;
    default:
      return 0;
  }
}

JsonValue& JsonValue::set(std::string_view key, JsonValue value) {
  assert(type_ == Type::object);
  for (auto& [k, v] : members_) {
    if (k == key) {
      v = std::move(value);
      return *this;
    }
  }
  members_.emplace_back(std::string(key), std::move(value));
  return *this;
}

JsonValue& JsonValue::set_optional(std::string_view key, const std::optional<std::string>& value) {
  return set(key, value ? string(*value) : null());
}

const JsonValue* JsonValue::find(std::string_view key) const {
  if (type_ != Type::object) return nullptr;
  for (const auto& [k, v] : members_) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string JsonValue::string_at(std::string_view key) const {
  const JsonValue* v = find(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

JsonValue& JsonValue::push(JsonValue value) {
  assert(type_ == Type::array);
  items_.push_back(std::move(value));
  return *this;
}

json::Node JsonValue::to_node(json::Document& doc) const {
  switch (type_) {
    case Type::null:
      return json::Node::null();
    case Type::boolean:
      return json::Node::boolean(bool_);
    case Type::u64:
      return json::Node::u64(u64_);
    case Type::i64:
      return json::Node::i64(i64_);
    case Type::f64:
      return json::Node::f64(f64_);
    case Type::string:
      return doc.make_string(string_);
    case Type::array: {
      std::vector<json::Node> nodes;
      nodes.reserve(items_.size());
      for (const auto& item : items_) nodes.push_back(item.to_node(doc));
      return doc.make_array(nodes);
    }
    case Type::object: {
      std::vector<json::Member> members;
      members.reserve(members_.size());
      for (const auto& [k, v] : members_) members.push_back({doc.make_string(k), v.to_node(doc)});
      return doc.make_object(std::move(members));
    }
  }
  return json::Node::null();
}

std::string JsonValue::canonical() const {
  json::Document doc;
  json::Node root = to_node(doc);
  return json::to_canonical_string(root);
}

std::string JsonValue::compact() const {
  json::Document doc;
  json::Node root = to_node(doc);
  return json::to_compact_string(root);
}

FieldReader::FieldReader(const json::Node& node, std::string where, std::vector<std::string>& problems)
    : node_(node), where_(std::move(where)), problems_(problems), is_object_(node.is_object()) {
  if (!is_object_)
    problems_.push_back(where_ + ": must be an object, not " + std::string(json::kind_name(node.kind())));
}

std::string FieldReader::where(std::string_view key) const {
  return where_.empty() ? std::string(key) : where_ + "." + std::string(key);
}

void FieldReader::problem(std::string_view key, std::string_view what) {
  problems_.push_back(where(key) + ": " + std::string(what));
}

const json::Node* FieldReader::get(std::string_view key) const { return is_object_ ? node_.find(key) : nullptr; }

const json::Node* FieldReader::require(std::string_view key, std::string_view expected) {
  if (!is_object_) return nullptr;
  const json::Node* v = node_.find(key);
  if (v == nullptr) {
    problem(key, "is missing (" + std::string(expected) + " expected)");
    return nullptr;
  }
  return v;
}

std::string FieldReader::string(std::string_view key) {
  const json::Node* v = require(key, "a string");
  if (v == nullptr) return {};
  if (!v->is_string()) {
    problem(key, "must be a string, not " + std::string(json::kind_name(v->kind())));
    return {};
  }
  return std::string(v->as_string());
}

std::optional<std::string> FieldReader::optional_string(std::string_view key) {
  const json::Node* v = get(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    problem(key, "must be a string or null, not " + std::string(json::kind_name(v->kind())));
    return std::nullopt;
  }
  return std::string(v->as_string());
}

uint64_t FieldReader::u64(std::string_view key) {
  const json::Node* v = require(key, "an unsigned integer");
  if (v == nullptr) return 0;
  if (v->kind() != json::Kind::u64) {
    problem(key, "must be an unsigned integer, not " + std::string(json::kind_name(v->kind())));
    return 0;
  }
  return v->as_u64();
}

std::optional<uint64_t> FieldReader::optional_u64(std::string_view key) {
  const json::Node* v = get(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (v->kind() != json::Kind::u64) {
    problem(key, "must be an unsigned integer or null, not " + std::string(json::kind_name(v->kind())));
    return std::nullopt;
  }
  return v->as_u64();
}

double FieldReader::number(std::string_view key) {
  const json::Node* v = require(key, "a number");
  if (v == nullptr) return 0;
  switch (v->kind()) {
    case json::Kind::u64:
      return static_cast<double>(v->as_u64());
    case json::Kind::i64:
      return static_cast<double>(v->as_i64());
    case json::Kind::f64:
      return v->as_f64();
    default:
      problem(key, "must be a number, not " + std::string(json::kind_name(v->kind())));
      return 0;
  }
}

bool FieldReader::boolean(std::string_view key) {
  const json::Node* v = require(key, "true or false");
  if (v == nullptr) return false;
  if (!v->is_bool()) {
    problem(key, "must be true or false, not " + std::string(json::kind_name(v->kind())));
    return false;
  }
  return v->as_bool();
}

const json::Node* FieldReader::array(std::string_view key) {
  const json::Node* v = require(key, "an array");
  if (v == nullptr) return nullptr;
  if (!v->is_array()) {
    problem(key, "must be an array, not " + std::string(json::kind_name(v->kind())));
    return nullptr;
  }
  return v;
}

const json::Node* FieldReader::object(std::string_view key) {
  const json::Node* v = require(key, "an object");
  if (v == nullptr) return nullptr;
  if (!v->is_object()) {
    problem(key, "must be an object, not " + std::string(json::kind_name(v->kind())));
    return nullptr;
  }
  return v;
}

}  // namespace cutover::evidence
