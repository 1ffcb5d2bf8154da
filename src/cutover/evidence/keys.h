// Signing keys as files (docs/formats/evidence.md): `cutover keygen --out
// NAME` writes NAME.key (the private key, PKCS#8 PEM, mode 0600) and
// NAME.pub (the public key, SubjectPublicKeyInfo PEM), the forms the openssl
// command line writes, so keys move freely between the two tools.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/hash/ed25519.h"

namespace cutover::evidence {

struct NewKeyPair {
  std::string private_path;  // NAME.key
  std::string public_path;   // NAME.pub
  std::string keyid;         // lower-case hex SHA-256 of the raw public key
};

// Generates a key pair and writes NAME.key (created exclusively, mode 0600
// before any key byte is written, fsynced) and NAME.pub (mode 0644, fsynced),
// then fsyncs the folder. Errors: conflict when either file already exists
// (nothing is written or changed); not_found when the folder is missing;
// io_error or permission_denied from the file system (a half-written pair is
// removed).
Result<NewKeyPair> write_new_key_pair(base::FileSystem& fs, const std::string& name);

// Reads a private key file. Errors: not_found, invalid_argument (not an
// unencrypted ed25519 PEM private key; the message names the file and what it
// holds instead), io_error.
Result<hash::Ed25519PrivateKey> load_private_key(base::FileSystem& fs, const std::string& path);

// A public key an operator pinned with --trust.
struct TrustedKey {
  std::string path;  // the file it came from
  std::string keyid;
  hash::Ed25519PublicKey key;
};

// Why `key` must never be trusted, or "" when it may be: a public key of
// small order (the identity, or any of the 8 points of the curve's torsion
// subgroup, in any encoding, canonical or not) or a non-canonical encoding
// (y >= p). With such a key, one signature can verify for many messages
// (under cofactored verification, any), so it proves nothing about who signed.
std::string weak_public_key_reason(const hash::Ed25519PublicKey& key);

// Reads public key files. The same key given twice (under any name) is kept
// once: a threshold counts distinct keys. Errors: not_found, invalid_argument
// (not an ed25519 PEM public key, or a weak key: weak_public_key_reason),
// io_error; each names the file.
// Reads --threshold: the number of distinct trusted keys that must have
// signed, written as decimal digits only (no sign, no fraction, no
// spaces), from 1 to `trusted_keys`. Errors: invalid_argument saying which.
Result<size_t> parse_threshold(std::string_view text, size_t trusted_keys);

Result<std::vector<TrustedKey>> load_trusted_keys(base::FileSystem& fs, const std::vector<std::string>& paths);

}  // namespace cutover::evidence
