// A small JSON value for the documents this module writes and reads back
// (statements, envelopes, ledger records, drill reports): built member by
// member, written through the json module's canonical or compact writer, and
// read back from a parsed json::Node. Documents here are kilobytes, so a
// plain tree of std containers is enough; stores never pass through it.
//
// FieldReader reads an object's fields and collects every problem (a missing
// field, a wrong type) as "where.key: ..." instead of stopping at the first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/json/document.h"
#include "cutover/json/field_reader.h"

namespace cutover::evidence {

class JsonValue {
 public:
  enum class Type { null, boolean, u64, i64, f64, string, array, object };

  JsonValue() = default;
  static JsonValue null() { return {}; }
  static JsonValue boolean(bool b);
  static JsonValue u64(uint64_t v);
  static JsonValue i64(int64_t v);
  static JsonValue f64(double v);  // REQUIRES: finite
  static JsonValue string(std::string_view s);
  static JsonValue array();
  static JsonValue object();
  // A copy of a parsed node (numbers keep their kind).
  static JsonValue from_node(const json::Node& node);
  // Parses `text`; errors are invalid_argument naming `source`.
  static Result<JsonValue> parse(std::string_view text, const std::string& source);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::null; }
  bool is_object() const { return type_ == Type::object; }
  bool is_array() const { return type_ == Type::array; }
  bool is_string() const { return type_ == Type::string; }
  bool is_bool() const { return type_ == Type::boolean; }
  bool is_number() const { return type_ == Type::u64 || type_ == Type::i64 || type_ == Type::f64; }

  // REQUIRES: the matching type (as_double: any number).
  bool as_bool() const { return bool_; }
  uint64_t as_u64() const { return u64_; }
  double as_double() const;
  const std::string& as_string() const { return string_; }
  const std::vector<JsonValue>& items() const { return items_; }
  const std::vector<std::pair<std::string, JsonValue>>& members() const { return members_; }

  // Objects: sets `key` (replacing an earlier value); returns *this.
  // REQUIRES: is_object().
  JsonValue& set(std::string_view key, JsonValue value);
  JsonValue& set(std::string_view key, std::string_view value) { return set(key, string(value)); }
  JsonValue& set(std::string_view key, const char* value) { return set(key, string(value)); }
  JsonValue& set(std::string_view key, const std::string& value) { return set(key, string(value)); }
  JsonValue& set(std::string_view key, bool value) { return set(key, boolean(value)); }
  JsonValue& set_u64(std::string_view key, uint64_t value) { return set(key, u64(value)); }
  JsonValue& set_f64(std::string_view key, double value) { return set(key, f64(value)); }
  // Sets `key` to the string, or to null when there is none.
  JsonValue& set_optional(std::string_view key, const std::optional<std::string>& value);
  // The value of `key`, or nullptr (also for non-objects).
  const JsonValue* find(std::string_view key) const;
  // The string value of `key`, or "" when missing or not a string.
  std::string string_at(std::string_view key) const;

  // Arrays: appends; returns *this. REQUIRES: is_array().
  JsonValue& push(JsonValue value);

  // Canonical JSON (docs/formats/canonical-json.md): sorted keys, two-space
  // indent, no trailing newline.
  std::string canonical() const;
  // The same on one line (JSON lines).
  std::string compact() const;

 private:
  json::Node to_node(json::Document& doc) const;

  Type type_ = Type::null;
  bool bool_ = false;
  uint64_t u64_ = 0;
  int64_t i64_ = 0;
  double f64_ = 0;
  std::string string_;
  std::vector<JsonValue> items_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

// Reads fields of one object, collecting problems into `problems` as
// "<where>.<key>: <what is wrong>" (or "<where>: ..." for the object itself).
class FieldReader {
 public:
  // `node` may be anything: a non-object is one problem, and every read
  // then returns the default without adding more.
  FieldReader(const json::Node& node, std::string where, std::vector<std::string>& problems);

  bool ok() const { return is_object_; }
  const json::Node* get(std::string_view key) const;  // nullptr when missing

  std::string string(std::string_view key);
  // Missing or null: nullopt without a problem.
  std::optional<std::string> optional_string(std::string_view key);
  uint64_t u64(std::string_view key);
  std::optional<uint64_t> optional_u64(std::string_view key);
  double number(std::string_view key);
  bool boolean(std::string_view key);
  // The field must be an array / object; nullptr (and a problem) otherwise.
  const json::Node* array(std::string_view key);
  const json::Node* object(std::string_view key);
  // A problem about this object's field, in the same form.
  void problem(std::string_view key, std::string_view what);
  std::string where(std::string_view key) const;

 private:
  const json::Node* require(std::string_view key, std::string_view expected);

  const json::Node& node_;
  std::string where_;
  std::vector<std::string>& problems_;
  bool is_object_ = false;
};

// "a; b; c" for a list of problems: json's, under the name evidence's readers and their callers use.
using json::join_problems;

}  // namespace cutover::evidence
