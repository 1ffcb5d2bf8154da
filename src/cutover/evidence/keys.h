// Signing keys as files (docs/formats/evidence.md): `cutover keygen --out
// NAME` writes NAME.key (the private key, PKCS#8 PEM, mode 0600) and
// NAME.pub (the public key, SubjectPublicKeyInfo PEM), the forms the openssl
// command line writes, so keys move freely between the two tools.
#pragma once

#include <string>
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
  std::string path;   // the file it came from
  std::string keyid;
  hash::Ed25519PublicKey key;
};

// Reads public key files. The same key given twice (under any name) is kept
// once: a threshold counts distinct keys. Errors: not_found, invalid_argument
// (not an ed25519 PEM public key), io_error; each names the file.
Result<std::vector<TrustedKey>> load_trusted_keys(base::FileSystem& fs, const std::vector<std::string>& paths);

}  // namespace cutover::evidence
