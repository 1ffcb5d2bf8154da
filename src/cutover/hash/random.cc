#include "cutover/hash/random.h"

#include <openssl/rand.h>

#include <vector>

namespace cutover::hash {

Result<std::string> random_hex(std::size_t bytes) {
  std::vector<unsigned char> random(bytes);
  if (bytes > 0 && RAND_bytes(random.data(), static_cast<int>(bytes)) != 1) {
    return make_error(ErrorCode::io_error, "cannot read random bytes (OpenSSL RAND_bytes)");
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * bytes);
  for (unsigned char b : random) {
    hex += k_hex[b >> 4];
    hex += k_hex[b & 15];
  }
  return hex;
}

}  // namespace cutover::hash
