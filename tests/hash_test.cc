// The hash module against published vectors: base64 (RFC 4648) and Ed25519
// (RFC 8032), with their refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/hash/base64.h"
#include "cutover/hash/ed25519.h"
#include "cutover/hash/random.h"
#include "cutover/hash/sha256.h"

namespace cutover::hash {
namespace {

std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

std::string hexify(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

Ed25519PrivateKey key_from_hex(std::string_view hex) {
  std::array<uint8_t, 32> seed{};
  std::string raw = unhex(hex);
  std::copy(raw.begin(), raw.end(), seed.begin());
  return Ed25519PrivateKey(seed);
}

// ---------------------------------------------------------------------------
// base64

TEST(Base64, Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> cases = {{"", ""},
                                                                  {"f", "Zg=="},
                                                                  {"fo", "Zm8="},
                                                                  {"foo", "Zm9v"},
                                                                  {"foob", "Zm9vYg=="},
                                                                  {"fooba", "Zm9vYmE="},
                                                                  {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(hash::base64_encode(plain), encoded);
    auto back = hash::base64_decode(encoded, "x");
    ASSERT_TRUE(back) << encoded << ": " << back.error().message();
    EXPECT_EQ(*back, plain);
  }
}

TEST(Base64, EveryByteRoundTrips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 37) {
    std::string part = all.substr(0, n);
    EXPECT_EQ(hash::base64_decode(hash::base64_encode(part), "x").value(), part);
  }
  EXPECT_EQ(hash::base64_encode("\xfb\xff"), "+/8=");
}

TEST(Base64, StrictDecodingRefusesEverySecondSpelling) {
  for (const char* bad :
       {"Zg=", "Zh==", "Zm9=", "Z===", "Zm9v\n", " Zm9v", "Zm=v", "Zg==Zg==", "Zm9*", "====", "Zm-v", "+_8="}) {
    auto r = hash::base64_decode(bad, "sig");
    EXPECT_FALSE(r) << "accepted '" << bad << "'";
    if (!r) {
      EXPECT_NE(r.error().message().find("sig is not valid base64"), std::string::npos) << r.error().message();
    }
  }
  // URL-safe only when asked, and never mixed with the standard alphabet.
  EXPECT_EQ(hash::base64_decode("-_8=", "x", true).value(), "\xfb\xff");
  EXPECT_FALSE(hash::base64_decode("-/8=", "x", true));
}

// ---------------------------------------------------------------------------
// Ed25519 (RFC 8032 §7.1, tests 1 and 2)

struct Rfc8032Case {
  const char* secret;
  const char* public_key;
  const char* message;
  const char* signature;
};

const Rfc8032Case k_rfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe246"
     "55141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb"
     "00d291612bb0c00"},
};

TEST(Ed25519, Rfc8032Vectors) {
  for (const auto& c : k_rfc8032) {
    auto key = key_from_hex(c.secret);
    hash::Ed25519PublicKey pub = hash::public_key_of(key);
    EXPECT_EQ(hexify(std::string_view(reinterpret_cast<const char*>(pub.bytes.data()), 32)), c.public_key);
    std::string sig = hash::ed25519_sign(key, unhex(c.message));
    EXPECT_EQ(hexify(sig), c.signature);
    EXPECT_TRUE(hash::ed25519_verify(pub, unhex(c.message), sig));
  }
}

TEST(Ed25519, VerifyRefusesAnyChange) {
  auto key = key_from_hex(k_rfc8032[1].secret);
  auto pub = hash::public_key_of(key);
  std::string msg = "the statement";
  std::string sig = hash::ed25519_sign(key, msg);
  ASSERT_TRUE(hash::ed25519_verify(pub, msg, sig));
  EXPECT_FALSE(hash::ed25519_verify(pub, "the statemenT", sig));
  for (size_t i : {size_t{0}, size_t{31}, size_t{63}}) {
    std::string bad = sig;
    bad[i] = static_cast<char>(bad[i] ^ 1);
    EXPECT_FALSE(hash::ed25519_verify(pub, msg, bad)) << "flipped byte " << i;
  }
  EXPECT_FALSE(hash::ed25519_verify(pub, msg, sig.substr(0, 63)));
  EXPECT_FALSE(hash::ed25519_verify(hash::public_key_of(key_from_hex(k_rfc8032[0].secret)), msg, sig));
}

TEST(Ed25519, PemRoundTripAndKeyId) {
  auto key = hash::generate_ed25519_key();
  ASSERT_TRUE(key);
  std::string pem = hash::private_key_pem(*key);
  EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u) << pem;
  auto back = hash::parse_private_key_pem(pem, "k.key");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->seed(), key->seed());
  auto pub = hash::public_key_of(*key);
  std::string pub_pem = hash::public_key_pem(pub);
  EXPECT_EQ(pub_pem.rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u) << pub_pem;
  auto pub_back = hash::parse_public_key_pem(pub_pem, "k.pub");
  ASSERT_TRUE(pub_back);
  EXPECT_EQ(*pub_back, pub);
  EXPECT_EQ(hash::key_id(pub), hash::sha256_hex(std::string_view(reinterpret_cast<const char*>(pub.bytes.data()), 32)));
}

TEST(Ed25519, RefusesOtherKeysByName) {
  const std::string ec_private =
      "-----BEGIN PRIVATE KEY-----\n"
      "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrd/Sf4s3mpagvjGM\n"
      "uB0pZvqkROHClzTRF8ytl2JsXcShRANCAATp5DGyP3vX11vYW7v573gFraGQi2Bb\n"
      "e32d00t+PM9zqRTTS24obHDumA42CrXdrdMwrlTffgTrs7Qsk8Bg3S5l\n"
      "-----END PRIVATE KEY-----\n";
  const std::string ec_public =
      "-----BEGIN PUBLIC KEY-----\n"
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6eQxsj9719db2Fu7+e94Ba2hkItg\n"
      "W3t9ndNLfjzPc6kU00tuKGxw7pgONgq13a3TMK5U334E67O0LJPAYN0uZQ==\n"
      "-----END PUBLIC KEY-----\n";
  const std::string encrypted =
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
      "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjCQD2UPneyNAICCAAw\n"
      "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEEaj3eXHGb94eoWiwGMwF6AEQDM2\n"
      "y92FkOY+8H8i8PFBq8+At5tUFib5ZtAKdVFCGhKcMfr9RMnI7Ni1gmgUywBvzKOI\n"
      "JKytbOgaAX7Kxwo0TDg=\n"
      "-----END ENCRYPTED PRIVATE KEY-----\n";
  auto expect_refused = [](const auto& r, const std::string& needle) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
  };
  expect_refused(hash::parse_private_key_pem(ec_private, "ec.key"), "ec.key is an id-ecPublicKey key");
  expect_refused(hash::parse_public_key_pem(ec_public, "ec.pub"), "ec.pub is an id-ecPublicKey key");
  expect_refused(hash::parse_private_key_pem(encrypted, "enc.key"), "encrypted");
  expect_refused(hash::parse_private_key_pem(ec_public, "x.pub"), "holds a public key");
  expect_refused(hash::parse_public_key_pem(ec_private, "x.key"), "holds a private key");
  expect_refused(hash::parse_public_key_pem("hello", "junk.pub"), "junk.pub is not a PEM public key");
  expect_refused(hash::parse_private_key_pem("", "empty.key"), "empty.key is not a PEM private key");
}

TEST(RandomHex, IsHexOfTheRequestedLengthAndNeverRepeats) {
  auto a = random_hex(32);
  auto b = random_hex(32);
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(64u, a->size());
  EXPECT_TRUE(is_sha256_hex(*a));
  EXPECT_NE(*a, *b);
  auto empty = random_hex(0);
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ("", *empty);
}

}  // namespace
}  // namespace cutover::hash
