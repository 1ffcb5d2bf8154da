#include "cutover/hash/random.h"

#include <openssl/rand.h>

#include <cstdint>
#include <vector>

#include "cutover/hash/sha256.h"

namespace cutover::hash {

Result<std::string> random_hex(std::size_t bytes) {
  std::vector<uint8_t> random(bytes);
  if (bytes > 0 && RAND_bytes(random.data(), static_cast<int>(bytes)) != 1) {
    return make_error(ErrorCode::io_error, "cannot read random bytes (OpenSSL RAND_bytes)");
  }
  return to_hex(random);
}

}  // namespace cutover::hash
