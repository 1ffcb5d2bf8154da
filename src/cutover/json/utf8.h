// The one UTF-8 validator: Rust's str::from_utf8 judgement (no overlong
// forms, no surrogates, nothing over U+10FFFF), used by the parser, the
// escaper and the route split's readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cutover::json {

// Length (1 to 4) of the valid UTF-8 sequence starting at p, or 0 when the
// bytes at p (up to `end`) do not start one.
// REQUIRES: p < end.
inline size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) {
  unsigned c = p[0];
  if (c < 0x80) return 1;
  size_t left = static_cast<size_t>(end - p);
  auto cont = [&](size_t k) { return k < left && (p[k] & 0xC0u) == 0x80u; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1)) return 0;
    unsigned c1 = p[1];
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // surrogates
    return cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1)) return 0;
    unsigned c1 = p[1];
    if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xF4 && c1 > 0x8F) return 0;  // over U+10FFFF
    return cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

// The same for s[i]. REQUIRES: i < s.size().
inline size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto* data = reinterpret_cast<const unsigned char*>(s.data());
  return utf8_sequence_length(data + i, data + s.size());
}

// The offset of the first byte of `s` that does not start a valid UTF-8
// sequence, or npos when all of `s` is valid.
size_t first_invalid_utf8(std::string_view s);
inline bool is_valid_utf8(std::string_view s) { return first_invalid_utf8(s) == std::string_view::npos; }

// The code point of the valid sequence at s[i] and its length; {0, 0} when
// s[i] does not start a valid sequence. REQUIRES: i < s.size().
struct CodePoint {
  char32_t value = 0;
  size_t length = 0;
};
CodePoint decode_utf8(std::string_view s, size_t i);

// The start of the valid sequence that ends at s[end - 1], or npos when the
// bytes before `end` do not end one. REQUIRES: 0 < end <= s.size().
size_t utf8_sequence_start_before(std::string_view s, size_t end);

}  // namespace cutover::json
