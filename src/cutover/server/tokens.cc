#include "cutover/server/tokens.h"

#include "cutover/base/text.h"

#include <algorithm>

namespace cutover::server {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == '@';
  });
}

int lower_hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string_view role_name(Role role) { return role == Role::operator_ ? "operator" : "viewer"; }

Result<TokenSet> TokenSet::parse(std::string_view text, const std::string& source) {
  TokenSet set;
  std::vector<std::string> problems;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    std::string_view line = base::take_line(text);
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    std::vector<std::string_view> f = split_fields(line);
    if (f.empty()) continue;
    std::string where = "line " + std::to_string(line_number) + ": ";
    if (f.size() != 3) {
      problems.push_back(where + "expected ROLE NAME sha256:HEX, found " + std::to_string(f.size()) + " field" +
                         (f.size() == 1 ? "" : "s"));
      continue;
    }
    Token t;
    if (f[0] == "viewer")
      t.role = Role::viewer;
    else if (f[0] == "operator")
      t.role = Role::operator_;
    else
      problems.push_back(where + "unknown role '" + std::string(f[0]) + "' (expected viewer or operator)");
    if (!valid_name(f[1])) {
      problems.push_back(where + "name '" + std::string(f[1]) + "' must be 1-64 of A-Z a-z 0-9 _ - . @");
    }
    t.name = std::string(f[1]);
    std::string_view h = f[2];
    if (h.substr(0, 7) != "sha256:" || !hash::is_sha256_hex(h.substr(7))) {
      problems.push_back(where +
                         "the hash must be sha256: and 64 lower-case hex digits (printf %s \"$TOKEN\" | sha256sum)");
      continue;
    }
    for (size_t i = 0; i < t.digest.size(); ++i) {
      t.digest[i] = static_cast<uint8_t>(lower_hex_value(h[7 + 2 * i]) * 16 + lower_hex_value(h[8 + 2 * i]));
    }
    for (const Token& other : set.tokens_) {
      if (other.name == t.name) problems.push_back(where + "name '" + t.name + "' is already used by another token");
      if (other.digest == t.digest)
        problems.push_back(where + "the same token hash is already listed (as '" + other.name + "')");
    }
    set.tokens_.push_back(std::move(t));
  }
  if (problems.empty() && set.tokens_.empty()) {
    problems.push_back("no token: add a line `operator NAME sha256:HEX` (docs/formats/tokens.md)");
  }
  if (!problems.empty()) {
    std::string message = "tokens file " + source + " is not usable: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return make_error(ErrorCode::invalid_argument, message);
  }
  return set;
}

const Token* TokenSet::authenticate(std::string_view bearer) const {
  hash::Digest presented = hash::sha256(bearer);
  const Token* found = nullptr;
  // Every stored hash is compared in full; the loop never stops early.
  for (const Token& t : tokens_) {
    unsigned diff = 0;
    for (size_t i = 0; i < presented.size(); ++i) diff |= static_cast<unsigned>(presented[i] ^ t.digest[i]);
    // diff == 0 -> mask all ones, without a data-dependent branch.
    uintptr_t mask = static_cast<uintptr_t>(0) - static_cast<uintptr_t>(((diff - 1u) >> 31) & 1u);
    found = reinterpret_cast<const Token*>((reinterpret_cast<uintptr_t>(&t) & mask) |
                                           (reinterpret_cast<uintptr_t>(found) & ~mask));
  }
  return found;
}

}  // namespace cutover::server
