#include "cutover/hash/base64.h"

#include <array>
#include <cstdint>

namespace cutover::hash {
namespace {

constexpr std::string_view k_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// 0-63 for a character of either alphabet; 64 for '=' ; 255 otherwise.
// 62 and 63 are looked up separately so the two alphabets are not mixed.
constexpr std::array<uint8_t, 256> make_table() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = 255;
  for (size_t i = 0; i < 62; ++i) t[static_cast<uint8_t>(k_alphabet[i])] = static_cast<uint8_t>(i);
  t['='] = 64;
  return t;
}
constexpr std::array<uint8_t, 256> k_table = make_table();

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out += k_alphabet[v >> 18];
    out += k_alphabet[(v >> 12) & 63];
    out += k_alphabet[(v >> 6) & 63];
    out += k_alphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = at(i) << 16;
    out += k_alphabet[v >> 18];
    out += k_alphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = at(i) << 16 | at(i + 1) << 8;
    out += k_alphabet[v >> 18];
    out += k_alphabet[(v >> 12) & 63];
    out += k_alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text, std::string_view what, bool allow_url_safe) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::invalid_argument, std::string(what) + " is not valid base64: " + why);
  };
  if (text.size() % 4 != 0) return bad("its length " + std::to_string(text.size()) + " is not a multiple of 4");
  bool standard = false;
  bool url_safe = false;
  size_t padding = 0;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    uint32_t v = k_table[c];
    if (c == '+' || c == '/') {
      standard = true;
      v = c == '+' ? 62 : 63;
    } else if (c == '-' || c == '_') {
      if (!allow_url_safe)
        return bad("character " + std::to_string(i) + " ('" + std::string(1, text[i]) +
                   "') is not in the standard alphabet");
      url_safe = true;
      v = c == '-' ? 62 : 63;
    }
    if (standard && url_safe) return bad("it mixes the standard and the URL-safe alphabets");
    if (v == 255) return bad("character " + std::to_string(i) + " is not in the base64 alphabet");
    if (v == 64) {
      // '=' only in the last two places, and once it starts it continues.
      if (i + 2 < text.size()) return bad("padding '=' before the end");
      ++padding;
      v = 0;
    } else if (padding > 0) {
      return bad("a character after the padding '='");
    }
    acc = acc << 6 | v;
    if (i % 4 == 3) {
      out += static_cast<char>((acc >> 16) & 255);
      out += static_cast<char>((acc >> 8) & 255);
      out += static_cast<char>(acc & 255);
      acc = 0;
    }
  }
  if (padding > 0) {
    // The bits under the padding must be zero: one text for one byte string.
    unsigned char last = static_cast<unsigned char>(text[text.size() - 1 - padding]);
    uint32_t v = (last == '-' || last == '+') ? 62 : (last == '_' || last == '/') ? 63 : k_table[last];
    uint32_t mask = padding == 1 ? 3 : 15;
    if ((v & mask) != 0) return bad("non-zero bits in the last character before the padding");
    out.resize(out.size() - padding);
  }
  return out;
}

}  // namespace cutover::hash
