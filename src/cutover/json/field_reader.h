// The one typed field reader over a parsed json::Node: reads an object's
// fields and collects every problem (a missing field, a wrong type, an
// unknown key) instead of stopping at the first, each naming the field's
// path ("where.key", "where[3].key").
//
// Problems read "<path><separator><what>"; the separator is ": " unless the
// caller's format says otherwise (the manifest's messages use " ").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/json/document.h"

namespace cutover::json {

struct FieldStyle {
  // Between the field's path and the problem.
  std::string_view separator = ": ";
  // "is missing (a string expected)" rather than "is missing".
  bool name_expected_when_missing = true;
};

class FieldReader {
 public:
  // `node` may be anything: a non-object is one problem ("<where>: must be
  // an object, not <kind>"), and every read then returns the default
  // without adding more.
  FieldReader(const Node& node, std::string where, std::vector<std::string>& problems, FieldStyle style = {});

  bool ok() const { return is_object_; }
  const Node* get(std::string_view key) const;  // nullptr when missing (or not an object)

  // Required fields: missing or of another kind is a problem, and the
  // default value is returned.
  std::string string(std::string_view key);
  uint64_t u64(std::string_view key);
  double number(std::string_view key);  // any number
  bool boolean(std::string_view key);
  const Node* array(std::string_view key);   // nullptr (and a problem) otherwise
  const Node* object(std::string_view key);  // nullptr (and a problem) otherwise
  // The field itself, or nullptr and a problem when it is missing;
  // `expected` names what it should hold ("a string", "legacy or rust_shell").
  const Node* require(std::string_view key, std::string_view expected);

  // Required fields that may be null: missing is a problem, null gives
  // nullopt, any other kind is a problem ("must be a string or null, not ...").
  std::optional<std::string> nullable_string(std::string_view key);

  // Optional fields: missing or null gives nullopt without a problem; any
  // other kind is a problem ("must be a string or null, not ...").
  std::optional<std::string> optional_string(std::string_view key);
  std::optional<uint64_t> optional_u64(std::string_view key);
  // Optional fields that may not be null: missing gives nullopt; null or
  // any other kind is a problem ("must be true or false, not null").
  std::optional<std::string> string_if_present(std::string_view key);
  std::optional<bool> boolean_if_present(std::string_view key);

  // Each key not in `known` is a problem: "unknown field 'x' (did you mean
  // 'y'?)" for a near miss, else "unknown field 'x' (known: a b c)".
  void check_keys(std::span<const std::string_view> known);

  // A problem about this object's field, in the same form.
  void problem(std::string_view key, std::string_view what);
  std::string where(std::string_view key) const;

 private:
  const Node& node_;
  std::string where_;
  std::vector<std::string>& problems_;
  FieldStyle style_;
  bool is_object_ = false;
};

// The "must be ..., not <kind>" judgements for a value already found, for
// callers that read arrays' elements: a problem at `path` when `v` is not a
// string / bool. `separator` as in FieldStyle.
std::optional<std::string> read_string(const Node& v, const std::string& path, std::vector<std::string>& problems,
                                       std::string_view separator = ": ");
std::optional<bool> read_boolean(const Node& v, const std::string& path, std::vector<std::string>& problems,
                                 std::string_view separator = ": ");

// "unknown field 'x' (did you mean 'y'?)" or "unknown field 'x' (known: a b c)".
std::string unknown_field_message(std::string_view key, std::span<const std::string_view> known);

// "a; b; c" for a list of problems.
std::string join_problems(const std::vector<std::string>& problems, std::string_view separator = "; ");

}  // namespace cutover::json
