// Ed25519 keys and signatures (RFC 8032), through OpenSSL, which stays inside
// this module. Key files use the PEM forms the openssl command line writes:
//   private: PKCS#8 "-----BEGIN PRIVATE KEY-----", as
//            `openssl genpkey -algorithm ed25519` writes it;
//   public:  SubjectPublicKeyInfo "-----BEGIN PUBLIC KEY-----", as
//            `openssl pkey -pubout` writes it;
// so a key made by either tool works in the other, and a signature made here
// verifies with `openssl pkeyutl -verify -pubin -inkey KEY.pub -rawin`.
//
// A key's id is the lower-case hex SHA-256 of its raw 32-byte public key
// (what `openssl pkey -pubin -in KEY.pub -outform DER | tail -c 32 |
// sha256sum` prints).
//
// Thread safety: all functions may be called from several threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "cutover/base/error.h"

namespace cutover::hash {

inline constexpr size_t k_ed25519_key_bytes = 32;
inline constexpr size_t k_ed25519_signature_bytes = 64;

struct Ed25519PublicKey {
  std::array<uint8_t, k_ed25519_key_bytes> bytes{};
  bool operator==(const Ed25519PublicKey&) const = default;
};

// The 32-byte seed of a private key (RFC 8032's "private key"); wiped from
// memory when destroyed.
class Ed25519PrivateKey {
 public:
  Ed25519PrivateKey() = default;
  explicit Ed25519PrivateKey(const std::array<uint8_t, k_ed25519_key_bytes>& seed) : seed_(seed) {}
  Ed25519PrivateKey(const Ed25519PrivateKey&) = default;
  Ed25519PrivateKey& operator=(const Ed25519PrivateKey&) = default;
  ~Ed25519PrivateKey();

  const std::array<uint8_t, k_ed25519_key_bytes>& seed() const { return seed_; }

 private:
  std::array<uint8_t, k_ed25519_key_bytes> seed_{};
};

// A new key pair from the operating system's random source.
// Errors: io_error when OpenSSL cannot generate a key.
Result<Ed25519PrivateKey> generate_ed25519_key();

Ed25519PublicKey public_key_of(const Ed25519PrivateKey& key);

// PEM text of each key, exactly as the openssl command line writes it.
std::string private_key_pem(const Ed25519PrivateKey& key);
std::string public_key_pem(const Ed25519PublicKey& key);

// Reads a PEM key. `source` names the file in errors. Errors:
// invalid_argument when the text is not a PEM key of that kind, is
// encrypted (not supported: cutover never prompts for a passphrase), or is
// a key of another algorithm (the error names it).
Result<Ed25519PrivateKey> parse_private_key_pem(std::string_view pem, const std::string& source);
Result<Ed25519PublicKey> parse_public_key_pem(std::string_view pem, const std::string& source);

// The 64-byte signature of `message` (deterministic: the same key and
// message always give the same bytes).
std::string ed25519_sign(const Ed25519PrivateKey& key, std::string_view message);
// True when `signature` is a valid signature of `message` by `key`.
bool ed25519_verify(const Ed25519PublicKey& key, std::string_view message, std::string_view signature);

// Lower-case hex SHA-256 of the raw 32-byte public key.
std::string key_id(const Ed25519PublicKey& key);

}  // namespace cutover::hash
