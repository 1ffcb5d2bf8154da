#include "cutover/hash/sha256.h"

#include <cassert>

#include <openssl/evp.h>

namespace cutover::hash {

namespace {

// Fetched once: OpenSSL 3 looks the algorithm up on every EVP_sha256() init
// otherwise, which is most of the cost of hashing a short cohort key.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  assert(state_->ctx != nullptr);
  EVP_DigestInit_ex(state_->ctx, sha256_md(), nullptr);
}

Sha256::~Sha256() { EVP_MD_CTX_free(state_->ctx); }

void Sha256::update(std::string_view data) { EVP_DigestUpdate(state_->ctx, data.data(), data.size()); }

Digest Sha256::finish() {
  Digest digest{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, digest.data(), &len);
  assert(len == digest.size());
  EVP_DigestInit_ex(state_->ctx, sha256_md(), nullptr);
  return digest;
}

Digest sha256(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

std::string to_hex(std::span<const uint8_t> bytes) {
  static const char hex[] = "0123456789abcdef";
  std::string out(2 * bytes.size(), '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = hex[bytes[i] >> 4];
    out[2 * i + 1] = hex[bytes[i] & 15];
  }
  return out;
}

bool is_sha256_hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<std::string> sha256_file_hex(base::FileSystem& fs, const std::string& path) {
  // Streamed: a store can be gigabytes.
  TRY_ASSIGN(auto file, fs.open_file(path));
  Sha256 hasher;
  std::string chunk(size_t{1} << 20, '\0');
  for (;;) {
    TRY_ASSIGN(size_t n, file->read(chunk.data(), chunk.size()));
    if (n == 0) break;
    hasher.update(std::string_view(chunk.data(), n));
  }
  return to_hex(hasher.finish());
}

}  // namespace cutover::hash
