#include "cutover/hash/ed25519.h"

#include <cassert>
#include <memory>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "cutover/hash/sha256.h"

namespace cutover::hash {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// The most recent OpenSSL error as text, and the error queue emptied (so the
// next call starts clean).
std::string openssl_error() {
  unsigned long code = ERR_get_error();
  std::string text;
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text = buf;
  }
  ERR_clear_error();
  return text.empty() ? "unknown OpenSSL error" : text;
}

Pkey private_pkey(const Ed25519PrivateKey& key) {
  Pkey pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, key.seed().data(), key.seed().size()));
  assert(pkey != nullptr);
  return pkey;
}

Pkey public_pkey(const Ed25519PublicKey& key) {
  return Pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.bytes.data(), key.bytes.size()));
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

// Never prompt for a passphrase: refuse encrypted keys instead.
int refuse_passphrase(char*, int, int, void*) { return -1; }

std::string algorithm_name(const EVP_PKEY* pkey) {
  const char* name = OBJ_nid2sn(EVP_PKEY_get_base_id(pkey));
  return name != nullptr ? name : "unknown";
}

}  // namespace

Ed25519PrivateKey::~Ed25519PrivateKey() { OPENSSL_cleanse(seed_.data(), seed_.size()); }

Result<Ed25519PrivateKey> generate_ed25519_key() {
  EVP_PKEY* raw = nullptr;
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr),
                                                                  &EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 || EVP_PKEY_keygen(ctx.get(), &raw) <= 0) {
    return make_error(ErrorCode::io_error, "cannot generate an ed25519 key: " + openssl_error());
  }
  Pkey pkey(raw);
  std::array<uint8_t, k_ed25519_key_bytes> seed{};
  size_t len = seed.size();
  if (EVP_PKEY_get_raw_private_key(pkey.get(), seed.data(), &len) <= 0 || len != seed.size()) {
    return make_error(ErrorCode::io_error, "cannot read the new ed25519 key: " + openssl_error());
  }
  Ed25519PrivateKey key(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  return key;
}

Ed25519PublicKey public_key_of(const Ed25519PrivateKey& key) {
  Pkey pkey = private_pkey(key);
  Ed25519PublicKey pub;
  size_t len = pub.bytes.size();
  int rc = EVP_PKEY_get_raw_public_key(pkey.get(), pub.bytes.data(), &len);
  assert(rc > 0 && len == pub.bytes.size());
  (void)rc;
  return pub;
}

std::string private_key_pem(const Ed25519PrivateKey& key) {
  Pkey pkey = private_pkey(key);
  Bio bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY"), as genpkey does.
  int rc = PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr);
  assert(rc == 1);
  (void)rc;
  std::string text = bio_text(bio.get());
  return text;
}

std::string public_key_pem(const Ed25519PublicKey& key) {
  Pkey pkey = public_pkey(key);
  assert(pkey != nullptr);
  Bio bio(BIO_new(BIO_s_mem()));
  int rc = PEM_write_bio_PUBKEY(bio.get(), pkey.get());
  assert(rc == 1);
  (void)rc;
  return bio_text(bio.get());
}

Result<Ed25519PrivateKey> parse_private_key_pem(std::string_view pem, const std::string& source) {
  if (pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos) {
    return make_error(ErrorCode::invalid_argument,
                      source +
                          " is an encrypted private key; cutover does not prompt for passphrases: "
                          "use an unencrypted key file readable only by its owner (mode 0600)");
  }
  if (pem.find("-----BEGIN PUBLIC KEY-----") != std::string_view::npos &&
      pem.find("PRIVATE KEY-----") == std::string_view::npos) {
    return make_error(
        ErrorCode::invalid_argument,
        source + " holds a public key; signing needs the private key (the .key file of `cutover keygen`)");
  }
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, &refuse_passphrase, nullptr));
  if (!pkey) {
    return make_error(ErrorCode::invalid_argument,
                      source + " is not a PEM private key (" + openssl_error() +
                          "); expected the PKCS#8 form `openssl genpkey -algorithm ed25519` writes");
  }
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_ED25519) {
    return make_error(ErrorCode::invalid_argument,
                      source + " is an " + algorithm_name(pkey.get()) + " key; cutover signs with ed25519 keys only");
  }
  std::array<uint8_t, k_ed25519_key_bytes> seed{};
  size_t len = seed.size();
  if (EVP_PKEY_get_raw_private_key(pkey.get(), seed.data(), &len) <= 0 || len != seed.size()) {
    return make_error(ErrorCode::invalid_argument,
                      source + ": cannot read the ed25519 private key: " + openssl_error());
  }
  Ed25519PrivateKey key(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  return key;
}

Result<Ed25519PublicKey> parse_public_key_pem(std::string_view pem, const std::string& source) {
  if (pem.find("PRIVATE KEY-----") != std::string_view::npos) {
    return make_error(ErrorCode::invalid_argument,
                      source +
                          " holds a private key; trust only public keys (the .pub file of `cutover keygen`, "
                          "or `openssl pkey -in KEY -pubout`), and keep private keys off the verifying host");
  }
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, &refuse_passphrase, nullptr));
  if (!pkey) {
    return make_error(ErrorCode::invalid_argument,
                      source + " is not a PEM public key (" + openssl_error() +
                          "); expected the form `openssl pkey -pubout` writes (BEGIN PUBLIC KEY)");
  }
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_ED25519) {
    return make_error(ErrorCode::invalid_argument,
                      source + " is an " + algorithm_name(pkey.get()) + " key; cutover trusts ed25519 keys only");
  }
  Ed25519PublicKey key;
  size_t len = key.bytes.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), key.bytes.data(), &len) <= 0 || len != key.bytes.size()) {
    return make_error(ErrorCode::invalid_argument, source + ": cannot read the ed25519 public key: " + openssl_error());
  }
  return key;
}

std::string ed25519_sign(const Ed25519PrivateKey& key, std::string_view message) {
  Pkey pkey = private_pkey(key);
  MdCtx ctx(EVP_MD_CTX_new());
  std::string sig(k_ed25519_signature_bytes, '\0');
  size_t len = sig.size();
  // Ed25519 is one-shot: no digest is named, the whole message goes in at once.
  int rc = EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get());
  assert(rc == 1);
  rc = EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                      reinterpret_cast<const unsigned char*>(message.data()), message.size());
  assert(rc == 1 && len == sig.size());
  (void)rc;
  return sig;
}

bool ed25519_verify(const Ed25519PublicKey& key, std::string_view message, std::string_view signature) {
  if (signature.size() != k_ed25519_signature_bytes) return false;
  Pkey pkey = public_pkey(key);
  if (!pkey) {
    ERR_clear_error();
    return false;
  }
  MdCtx ctx(EVP_MD_CTX_new());
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(message.data()), message.size());
  ERR_clear_error();
  return rc == 1;
}

std::string key_id(const Ed25519PublicKey& key) {
  return sha256_hex(std::string_view(reinterpret_cast<const char*>(key.bytes.data()), key.bytes.size()));
}

}  // namespace cutover::hash
