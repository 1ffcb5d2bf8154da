#include "cli/tokens.h"

#include <openssl/rand.h>

#include "cutover/hash/sha256.h"

namespace cutover::cli {

Result<std::string> new_token() {
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) {
    return make_error(ErrorCode::io_error, "cannot read random bytes (OpenSSL RAND_bytes)");
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : random) {
    token += k_hex[b >> 4];
    token += k_hex[b & 15];
  }
  return token;
}

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
