// A small streaming writer of compact JSON (no spaces, members in the order
// written), for API responses and audit-log lines, where building a
// json::Document per request would cost an arena per call. Strings are
// escaped as the canonical writer escapes them ('"', '\\' and control
// characters; \b \f \n \r \t short, the rest \u00xx); bytes that are not
// valid UTF-8 (a header value can hold anything) become \ufffd, so every
// line written is valid UTF-8 and valid JSON.
//
// The writer does not check the nesting: callers pair begin_*/end_* and
// call key() before each member's value.
//
// Thread safety: one writer per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cutover::routing {

class JsonWriter {
 public:
  JsonWriter() = default;
  // Appends to `out`'s current contents.
  explicit JsonWriter(std::string out) : out_(std::move(out)) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& string(std::string_view value);
  JsonWriter& number(uint64_t value);
  JsonWriter& number(int64_t value);
  JsonWriter& boolean(bool value);
  JsonWriter& null();
  // Appends already-serialised JSON as one value (e.g. a nested document).
  JsonWriter& raw(std::string_view json);

  // key(name) followed by the value.
  JsonWriter& member(std::string_view name, std::string_view value) { return key(name).string(value); }
  JsonWriter& member(std::string_view name, const char* value) { return key(name).string(value); }
  JsonWriter& member(std::string_view name, uint64_t value) { return key(name).number(value); }
  JsonWriter& member(std::string_view name, int value) { return key(name).number(static_cast<int64_t>(value)); }
  JsonWriter& member(std::string_view name, bool value) { return key(name).boolean(value); }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void separate();

  std::string out_;
  bool need_comma_ = false;
};

// Appends `value` to `out` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view value);

// The offset of the first byte of `s` that does not start a valid UTF-8
// sequence (the judgement that turns bytes into \ufffd above, and Rust's
// str::from_utf8's: no overlong forms, no surrogates, nothing over
// U+10FFFF), or npos when all of `s` is valid.
size_t first_invalid_utf8(std::string_view s);

}  // namespace cutover::routing
