#include "cutover/routing/paths.h"

#include <cstdint>

namespace cutover::routing {
namespace {

bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// The code point of the (at most 3-byte, which covers every white space
// character) UTF-8 sequence at s[i], and its length; {0, 0} if it is not one.
struct Decoded {
  char32_t code_point = 0;
  size_t length = 0;
};

Decoded decode_at(std::string_view s, size_t i) {
  auto b = [&](size_t k) -> unsigned { return static_cast<unsigned char>(s[i + k]); };
  unsigned c = b(0);
  if (c < 0x80) return {c, 1};
  if ((c & 0xE0) == 0xC0 && i + 1 < s.size() && (b(1) & 0xC0) == 0x80) {
    return {static_cast<char32_t>(((c & 0x1F) << 6) | (b(1) & 0x3F)), 2};
  }
  if ((c & 0xF0) == 0xE0 && i + 2 < s.size() && (b(1) & 0xC0) == 0x80 && (b(2) & 0xC0) == 0x80) {
    return {static_cast<char32_t>(((c & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F)), 3};
  }
  return {};
}

// Start of the UTF-8 sequence that ends at s[end - 1], looking back at most
// 3 bytes (white space never takes more).
size_t sequence_start_before(std::string_view s, size_t end) {
  size_t start = end - 1;
  while (start > 0 && end - start < 3 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return start;
}

}  // namespace

std::string_view trim(std::string_view text) {
  size_t begin = 0;
  while (begin < text.size()) {
    Decoded d = decode_at(text, begin);
    if (d.length == 0 || !is_white_space(d.code_point)) break;
    begin += d.length;
  }
  size_t end = text.size();
  while (end > begin) {
    size_t start = sequence_start_before(text, end);
    Decoded d = decode_at(text, start);
    if (d.length != end - start || !is_white_space(d.code_point)) break;
    end = start;
  }
  return text.substr(begin, end - begin);
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string normalize_path(std::string_view path) {
  std::string_view t = trim(path);
  std::string out;
  out.reserve(t.size() + 1);
  if (t.empty() || t.front() != '/') out.push_back('/');
  for (char c : t) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool group_prefix_matches(std::string_view prefix, std::string_view path) {
  if (prefix == "/") return path == "/";
  if (path.size() < prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

bool rust_route_matches(std::string_view prefix, std::string_view path) {
  if (prefix == "/") return true;
  return group_prefix_matches(prefix, path);
}

std::string normalize_group_name(std::string_view name) {
  std::string out = ascii_lower(trim(name));
  for (char& c : out) {
    if (c == '-') c = '_';
  }
  return out;
}

std::string normalize_cohort_key(std::string_view key) {
  std::string_view t = trim(key);
  return t.empty() ? std::string(k_anonymous_cohort_key) : std::string(t);
}

}  // namespace cutover::routing
