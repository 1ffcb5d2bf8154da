#include "cutover/json/utf8.h"

namespace cutover::json {

size_t first_invalid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_sequence_length(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

CodePoint decode_utf8(std::string_view s, size_t i) {
  size_t n = utf8_sequence_length(s, i);
  if (n == 0) return {};
  auto b = [&](size_t k) -> char32_t { return static_cast<unsigned char>(s[i + k]); };
  switch (n) {
    case 1:
      return {b(0), 1};
    case 2:
      return {((b(0) & 0x1F) << 6) | (b(1) & 0x3F), 2};
    case 3:
      return {((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F), 3};
    default:
      return {((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F), 4};
  }
}

size_t utf8_sequence_start_before(std::string_view s, size_t end) {
  size_t start = end - 1;
  while (start > 0 && end - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return utf8_sequence_length(s, start) == end - start ? start : std::string_view::npos;
}

}  // namespace cutover::json
