#include "cutover/evidence/dsse.h"

#include <algorithm>

#include "cutover/hash/base64.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/field_reader.h"
#include "cutover/json/parser.h"
#include "cutover/json/writer.h"

namespace cutover::evidence {

std::string pae(std::string_view payload_type, std::string_view payload) {
  std::string out = "DSSEv1 ";
  out += std::to_string(payload_type.size());
  out += ' ';
  out += payload_type;
  out += ' ';
  out += std::to_string(payload.size());
  out += ' ';
  out += payload;
  return out;
}

std::string to_json(const Envelope& envelope) {
  json::Writer w = json::Writer::canonical();
  w.begin_object().member("payload", hash::base64_encode(envelope.payload));
  w.member("payloadType", envelope.payload_type).key("signatures").begin_array();
  for (const auto& s : envelope.signatures) {
    w.begin_object().member("keyid", s.keyid).member("sig", hash::base64_encode(s.sig)).end_object();
  }
  return w.end_array().end_object().take();
}

Result<Envelope> parse_envelope(std::string_view text, const std::string& source) {
  auto doc = json::parse(text);
  if (!doc) return make_error(ErrorCode::invalid_argument, source + " is not valid JSON: " + doc.error().message());
  std::vector<std::string> problems;
  Envelope env;
  json::FieldReader r(doc->root(), "envelope", problems);
  env.payload_type = r.string("payloadType");
  std::string payload64 = r.string("payload");
  if (r.get("payload") != nullptr && r.get("payload")->is_string()) {
    auto payload = hash::base64_decode(payload64, "envelope.payload", true);
    if (payload)
      env.payload = std::move(*payload);
    else
      problems.push_back(payload.error().message());
  }
  if (const json::Node* sigs = r.array("signatures")) {
    for (size_t i = 0; i < sigs->size(); ++i) {
      json::FieldReader s(sigs->elements()[i], "envelope.signatures[" + std::to_string(i) + "]", problems);
      DsseSignature sig;
      sig.keyid = s.string("keyid");
      std::string sig64 = s.string("sig");
      if (!s.ok()) continue;
      if (s.get("keyid") != nullptr && s.get("keyid")->is_string() && !hash::is_sha256_hex(sig.keyid)) {
        s.problem("keyid",
                  "'" + sig.keyid + "' is not 64 lower-case hex characters (the SHA-256 of the raw public key)");
      }
      if (s.get("sig") != nullptr && s.get("sig")->is_string()) {
        auto raw = hash::base64_decode(sig64, s.where("sig"), true);
        if (!raw) {
          problems.push_back(raw.error().message());
        } else if (raw->size() != hash::k_ed25519_signature_bytes) {
          s.problem("sig", "is " + std::to_string(raw->size()) + " bytes, an ed25519 signature is 64");
        } else {
          sig.sig = std::move(*raw);
        }
      }
      for (size_t j = 0; j < env.signatures.size(); ++j) {
        if (!sig.keyid.empty() && env.signatures[j].keyid == sig.keyid) {
          s.problem("keyid", sig.keyid + " signed already in signatures[" + std::to_string(j) +
                                 "]: an envelope carries each key's signature once (refused, never counted twice)");
        }
      }
      env.signatures.push_back(std::move(sig));
    }
  }
  if (!problems.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      source + " is not a usable DSSE envelope: " + json::join_problems(problems));
  }
  return env;
}

DsseSignature sign_payload(const Envelope& envelope, const hash::Ed25519PrivateKey& key) {
  return {hash::key_id(hash::public_key_of(key)),
          hash::ed25519_sign(key, pae(envelope.payload_type, envelope.payload))};
}

bool verify_signature(const Envelope& envelope, const DsseSignature& signature, const hash::Ed25519PublicKey& key) {
  return hash::ed25519_verify(key, pae(envelope.payload_type, envelope.payload), signature.sig);
}

bool add_signature(Envelope& envelope, DsseSignature signature) {
  bool replaced = false;
  auto& sigs = envelope.signatures;
  auto it = std::find_if(sigs.begin(), sigs.end(), [&](const DsseSignature& s) { return s.keyid == signature.keyid; });
  if (it != sigs.end()) {
    *it = std::move(signature);
    replaced = true;
  } else {
    sigs.push_back(std::move(signature));
  }
  std::stable_sort(sigs.begin(), sigs.end(),
                   [](const DsseSignature& a, const DsseSignature& b) { return a.keyid < b.keyid; });
  return replaced;
}

}  // namespace cutover::evidence
