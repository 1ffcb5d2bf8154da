// SHA-256 (OpenSSL stays inside this module). Digests are printed as
// lower-case hex, exactly what `sha256sum` prints.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"

namespace cutover::hash {

using Digest = std::array<uint8_t, 32>;

// Lower-case hex of any bytes (a digest, random bytes): two characters a byte.
std::string to_hex(std::span<const uint8_t> bytes);
// True for 64 lower-case hex characters.
bool is_sha256_hex(std::string_view text);

// Incremental hashing. Not thread-safe; one instance per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  Digest finish();  // the hasher is reset afterwards

 private:
  struct State;
  std::unique_ptr<State> state_;
};

Digest sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
// Hashes a file's bytes, reading in chunks; not_found if it is missing.
Result<std::string> sha256_file_hex(base::FileSystem& fs, const std::string& path);

}  // namespace cutover::hash
