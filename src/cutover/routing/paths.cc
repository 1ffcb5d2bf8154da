#include "cutover/routing/paths.h"

#include <cstdint>

#include "cutover/json/utf8.h"

namespace cutover::routing {
namespace {

bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace

std::string_view trim(std::string_view text) {
  size_t begin = 0;
  while (begin < text.size()) {
    json::CodePoint c = json::decode_utf8(text, begin);
    if (c.length == 0 || !is_white_space(c.value)) break;
    begin += c.length;
  }
  size_t end = text.size();
  while (end > begin) {
    size_t start = json::utf8_sequence_start_before(text, end);
    if (start == std::string_view::npos || start < begin) break;
    json::CodePoint c = json::decode_utf8(text, start);
    if (!is_white_space(c.value)) break;
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
