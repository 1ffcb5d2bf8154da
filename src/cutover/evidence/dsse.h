// DSSE, the Dead Simple Signing Envelope (github.com/secure-systems-lab/dsse,
// protocol v1), as in-toto attestations use it:
//
//   {"payload": BASE64(body), "payloadType": TYPE,
//    "signatures": [{"keyid": KEYID, "sig": BASE64(Ed25519(PAE(TYPE, body)))}]}
//
// where the pre-authentication encoding is
//
//   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
//
// (SP one space, LEN the length in bytes as ASCII decimal without leading
// zeros). What is signed is the PAE bytes, never the JSON around them, so a
// signature verifies with nothing but `openssl pkeyutl -verify -rawin` over
// a file holding those bytes. Base64 is the standard alphabet with padding;
// reading is strict (hash/base64.h), so an envelope has one spelling of each
// value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/hash/ed25519.h"

namespace cutover::evidence {

inline constexpr std::string_view k_in_toto_payload_type = "application/vnd.in-toto+json";

std::string pae(std::string_view payload_type, std::string_view payload);

struct DsseSignature {
  std::string keyid;
  std::string sig;  // the raw 64 bytes
};

struct Envelope {
  std::string payload_type;
  std::string payload;  // the raw bytes (base64 only on disk)
  std::vector<DsseSignature> signatures;
};

// The envelope's canonical JSON; signatures in the order held.
std::string to_json(const Envelope& envelope);

// Reads an envelope. Errors: invalid_argument naming `source` and every
// problem (not JSON, a missing or mistyped field, bad base64, a keyid that is
// not 64 lower-case hex characters, a signature that is not 64 bytes, the
// same keyid in two signatures).
Result<Envelope> parse_envelope(std::string_view text, const std::string& source);

// A signature of the envelope's payload by `key`.
DsseSignature sign_payload(const Envelope& envelope, const hash::Ed25519PrivateKey& key);

// True when `signature` is `key`'s signature over PAE(type, payload).
bool verify_signature(const Envelope& envelope, const DsseSignature& signature, const hash::Ed25519PublicKey& key);

// Adds `signature`, replacing one with the same keyid; keeps the list sorted
// by keyid so the file does not depend on who signed first. Returns true when
// an existing signature was replaced.
bool add_signature(Envelope& envelope, DsseSignature signature);

}  // namespace cutover::evidence
