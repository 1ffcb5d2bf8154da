// The compact JSON writer and the one string escaper.
//
// Writer is a small streaming builder of compact JSON (no spaces, members in
// the order written), for API responses, audit-log lines and reports, where
// building a json::Document would cost an arena per call. Strings are
// escaped as the canonical writer escapes them ('"', '\\' and control
// characters; \b \f \n \r \t short, the rest \u00xx lower-case); bytes that
// are not valid UTF-8 (a header value can hold anything) become \ufffd, so
// everything written is valid UTF-8 and valid JSON. Integers are printed as
// itoa prints them, doubles as serde_json does (json/number_format.h).
//
// The writer does not check the nesting: callers pair begin_*/end_* and
// call key() before each member's value.
//
// Writer::canonical() writes the same calls into a json::Document instead,
// and take() returns its canonical form (canonical_writer.h): the bytes
// to_canonical_string(parse(compact)) gives, without the text in between,
// so one function that writes a value serves both forms. Writer::document()
// is the same writer for a caller that wants the Document itself
// (take_document()): to keep as a value, merge into another, or write
// compact with sorted keys (to_compact_string).
//
// Thread safety: one writer per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "cutover/json/document.h"

namespace cutover::json {

struct EscapeOptions {
  // Invalid UTF-8 bytes become \ufffd (true) or pass through as they are.
  bool replace_invalid_utf8 = true;
  // DEL (0x7f) is written \u007f, as jq writes it.
  bool escape_delete = false;
};

// Appends `value` to `out` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view value, const EscapeOptions& options = {});
// `value` as a JSON string literal.
std::string quote(std::string_view value, const EscapeOptions& options = {});

// Writes the escape of one byte that must be escaped ('"', '\\', a control
// character or DEL) to `out` (room for 6); returns its length (2 or 6).
size_t escape_byte(unsigned char c, char* out);

class Writer {
 public:
  Writer();
  // Appends to `out`'s current contents.
  explicit Writer(std::string out);
  // A writer whose take() returns the canonical form of what was written.
  static Writer canonical();
  // The same, for take_document().
  static Writer document();
  // Pretty text in jq's layout (two-space indent, "key": value, {} and []
  // for empty containers, members in the order written, no newline at the
  // end), strings escaped with `escape`: what `cutover counts` prints as jq.
  static Writer pretty(const EscapeOptions& escape = {});
  Writer(Writer&&) noexcept;
  Writer& operator=(Writer&&) noexcept;
  ~Writer();

  Writer& begin_object();
  Writer& end_object();
  Writer& begin_array();
  Writer& end_array();
  Writer& key(std::string_view name);
  Writer& string(std::string_view value);
  Writer& number(uint64_t value);
  Writer& number(int64_t value);
  // REQUIRES: std::isfinite(value).
  Writer& f64(double value);
  Writer& boolean(bool value);
  Writer& null();
  // Appends already-serialised JSON as one value (e.g. a canonical value
  // kept as text).
  Writer& raw(std::string_view json);
  // A parsed or built node, compact with sorted keys (as to_compact_string).
  Writer& node(const Node& value);

  // key(name) followed by the value.
  Writer& member(std::string_view name, std::string_view value) { return key(name).string(value); }
  Writer& member(std::string_view name, const char* value) { return key(name).string(value); }
  Writer& member(std::string_view name, const std::string& value) { return key(name).string(value); }
  Writer& member(std::string_view name, uint64_t value) { return key(name).number(value); }
  Writer& member(std::string_view name, int64_t value) { return key(name).number(value); }
  Writer& member(std::string_view name, int value) { return key(name).number(static_cast<int64_t>(value)); }
  Writer& member(std::string_view name, bool value) { return key(name).boolean(value); }
  Writer& member_f64(std::string_view name, double value) { return key(name).f64(value); }
  Writer& member(std::string_view name, const Node& value) { return key(name).node(value); }
  // The string, or null when it is empty ("none").
  Writer& member_or_null(std::string_view name, std::string_view value);
  // The value, or null when there is none.
  Writer& member_optional(std::string_view name, const std::optional<std::string>& value);
  Writer& member_optional(std::string_view name, const std::optional<uint64_t>& value);

  // The compact text so far. REQUIRES: not a canonical() writer.
  const std::string& str() const { return out_; }
  // The text: compact, or for a canonical() writer the canonical form of
  // the one value written.
  std::string take();
  // The document written. REQUIRES: a canonical() or document() writer.
  Document take_document();

 private:
  class Tree;  // a canonical() writer's document under construction

  void separate();
  void new_line();
  void close(char bracket);

  std::string out_;
  bool need_comma_ = false;  // a value was written in the open container
  bool after_key_ = false;   // a key was written; its value comes next
  bool pretty_ = false;
  size_t depth_ = 0;  // containers open
  EscapeOptions escape_;
  std::unique_ptr<Tree> tree_;
};

}  // namespace cutover::json
