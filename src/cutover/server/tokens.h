// Bearer tokens of the control API (docs/formats/tokens.md). The tokens file
// holds one token a line, `ROLE NAME sha256:HEX`: the role (viewer or
// operator), the holder's name (what the audit log records, never the
// token), and the lower-case SHA-256 of the token. '#' starts a comment.
//
// A presented token is hashed and compared with every stored hash in constant
// time, so neither the time taken nor the order of the file tells an
// attacker how much of a guess was right.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/hash/sha256.h"

namespace cutover::server {

// viewer: status, evaluate, metrics. operator: also overrides.
enum class Role : uint8_t { viewer, operator_ };

std::string_view role_name(Role role);  // "viewer", "operator"

struct Token {
  Role role = Role::viewer;
  std::string name;
  hash::Digest digest{};
};

class TokenSet {
 public:
  // Parses a tokens file; `source` names it in errors. Refuses (invalid_argument,
  // naming the line) an unknown role, a malformed hash, a repeated name or
  // hash, and a file with no token at all.
  static Result<TokenSet> parse(std::string_view text, const std::string& source);

  // The token whose hash is SHA-256(`bearer`), or nullptr. Thread-safe.
  const Token* authenticate(std::string_view bearer) const;

  size_t size() const { return tokens_.size(); }

 private:
  std::vector<Token> tokens_;
};

}  // namespace cutover::server
