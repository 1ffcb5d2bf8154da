#include "cli/tokens.h"

#include "cutover/hash/random.h"
#include "cutover/hash/sha256.h"

namespace cutover::cli {

Result<std::string> new_token() { return hash::random_hex(32); }

std::string token_line(const std::string& role, const std::string& name, const std::string& token) {
  return role + " " + name + " sha256:" + hash::sha256_hex(token);
}

bool valid_token_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.' || c == '@';
    if (!ok) return false;
  }
  return true;
}

}  // namespace cutover::cli
