// Evidence (SPEC §7): DSSE against published vectors; key files; the
// bundle's collect/sign/verify on a real backfill.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include "cutover/evidence/bundle.h"
#include "cutover/evidence/dsse.h"
#include "cutover/evidence/keys.h"
#include "cutover/hash/ed25519.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/field_reader.h"
#include "cutover/json/parser.h"
#include "evidence_fixtures.h"
#include "test_util.h"

namespace cutover::evidence {
namespace {

using evidence_fixtures::BundleTest;
using testing::read_text;
using testing::write_text;

std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

hash::Ed25519PrivateKey key_from_hex(std::string_view hex) {
  std::array<uint8_t, 32> seed{};
  std::string raw = unhex(hex);
  std::copy(raw.begin(), raw.end(), seed.begin());
  return hash::Ed25519PrivateKey(seed);
}

// ---------------------------------------------------------------------------
// DSSE

TEST(Dsse, PreAuthenticationEncodingOfTheSpec) {
  // The example of the DSSE protocol document.
  EXPECT_EQ(pae("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(pae("", ""), "DSSEv1 0  0 ");
  // Lengths are bytes, not characters.
  EXPECT_EQ(pae("t", "\xc3\xa9"), "DSSEv1 1 t 2 \xc3\xa9");
}

// The secret keys of RFC 8032 §7.1 tests 1 and 2 (hash_test.cc checks them).
constexpr std::string_view k_rfc8032_secret_1 = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view k_rfc8032_secret_2 = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";

TEST(Dsse, SignVerifyAndRoundTrip) {
  auto a = key_from_hex(k_rfc8032_secret_1);
  auto b = key_from_hex(k_rfc8032_secret_2);
  Envelope env{std::string(k_in_toto_payload_type), "{\"x\": 1}\n", {}};
  DsseSignature sa = sign_payload(env, a);
  EXPECT_EQ(sa.keyid, hash::key_id(hash::public_key_of(a)));
  EXPECT_EQ(sa.sig, hash::ed25519_sign(a, pae(env.payload_type, env.payload)));
  EXPECT_FALSE(add_signature(env, sign_payload(env, b)));
  EXPECT_FALSE(add_signature(env, sa));
  EXPECT_TRUE(add_signature(env, sa));  // the same key again replaces
  ASSERT_EQ(env.signatures.size(), 2u);
  EXPECT_LT(env.signatures[0].keyid, env.signatures[1].keyid);

  std::string text = to_json(env);
  auto back = parse_envelope(text, "e.json");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->payload, env.payload);
  EXPECT_EQ(to_json(*back), text);
  for (const auto& s : back->signatures) {
    const auto& key = s.keyid == sa.keyid ? a : b;
    EXPECT_TRUE(verify_signature(*back, s, hash::public_key_of(key)));
  }
  Envelope changed = *back;
  changed.payload_type = "application/json";
  EXPECT_FALSE(verify_signature(changed, changed.signatures[0], hash::public_key_of(a)));
}

TEST(Dsse, ParseListsEveryProblem) {
  auto r = parse_envelope(R"({"payload": "e30", "signatures": [{"keyid": "ABC", "sig": "AAAA"}, 7]})", "e.json");
  ASSERT_FALSE(r);
  const std::string& m = r.error().message();
  for (const char* needle : {"envelope.payloadType: is missing", "envelope.payload is not valid base64",
                             "envelope.signatures[0].keyid: 'ABC' is not 64 lower-case hex",
                             "envelope.signatures[0].sig: is 3 bytes", "envelope.signatures[1]: must be an object"}) {
    EXPECT_NE(m.find(needle), std::string::npos) << needle << " not in: " << m;
  }
  EXPECT_FALSE(parse_envelope("not json", "e.json"));
}

// ---------------------------------------------------------------------------
// Key files

TEST(Keys, KeygenWritesAPairOnceWithAPrivateMode) {
  testing::TempDir tmp;
  base::FileSystem& fs = base::real_file_system();
  auto pair = write_new_key_pair(fs, tmp.file("alice"));
  ASSERT_TRUE(pair) << pair.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(pair->private_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(pair->public_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  auto key = load_private_key(fs, pair->private_path);
  ASSERT_TRUE(key);
  auto trusted = load_trusted_keys(fs, {pair->public_path, pair->public_path});
  ASSERT_TRUE(trusted);
  ASSERT_EQ(trusted->size(), 1u) << "the same key twice counts once";
  EXPECT_EQ((*trusted)[0].keyid, pair->keyid);
  EXPECT_EQ((*trusted)[0].key, hash::public_key_of(*key));

  // Never overwrites, and never leaves half a pair.
  std::string before = read_text(pair->private_path);
  auto again = write_new_key_pair(fs, tmp.file("alice"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::conflict);
  EXPECT_EQ(read_text(pair->private_path), before);
  write_text(tmp.file("bob.pub"), "occupied");
  EXPECT_FALSE(write_new_key_pair(fs, tmp.file("bob")));
  EXPECT_FALSE(testing::path_exists(tmp.file("bob.key")));
  EXPECT_EQ(write_new_key_pair(fs, tmp.file("missing/carol")).error().code(), ErrorCode::not_found);
}

TEST_F(BundleTest, CollectSignVerifyTwoOfThree) {
  std::string dir = tmp_.file("bundle");
  auto collected = collect(dir);
  ASSERT_TRUE(collected) << collected.error().message();
  EXPECT_TRUE(collected->ok()) << json::join_problems(collected->problems);
  EXPECT_TRUE(collected->verification_ran);
  EXPECT_EQ(testing::list_names(dir),
            (std::vector<std::string>{"counts.json", "manifest.json", "statement.json", "verify-report.json"}));
  EXPECT_EQ(read_text(dir + "/manifest.json"), read_text(manifest_));
  auto counts = json::parse(read_text(dir + "/counts.json"));
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->root().find("stores")->elements()[0].find("matches")->as_bool(), true);

  BundleCheck unsigned_check = check(dir, pubs_, 1);
  EXPECT_TRUE(mentions(unsigned_check, "the bundle is not signed")) << json::join_problems(unsigned_check.problems);

  ASSERT_TRUE(sign_bundle(base::real_file_system(), dir, keys_[0]));
  BundleCheck one = check(dir, pubs_, 2);
  EXPECT_FALSE(one.ok());
  EXPECT_TRUE(mentions(one, "threshold not met: 1 of the required 2")) << json::join_problems(one.problems);

  auto second = sign_bundle(base::real_file_system(), dir, keys_[2]);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->signature_count, 2u);
  BundleCheck two = check(dir, pubs_, 2);
  EXPECT_TRUE(two.ok()) << json::join_problems(two.problems);
  EXPECT_EQ(two.trusted_signers.size(), 2u);
  EXPECT_EQ(two.contents.manifest_sha256, hash::sha256_hex(read_text(manifest_)));
  EXPECT_FALSE(check(dir, pubs_, 3).ok());

  // Signing again with the same key does not count twice.
  auto again = sign_bundle(base::real_file_system(), dir, keys_[0]);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->replaced);
  EXPECT_EQ(again->signature_count, 2u);

  // A signer the verifier does not trust fails the bundle.
  BundleCheck partial = check(dir, {pubs_[0], pubs_[1]}, 1);
  EXPECT_FALSE(partial.ok());
  EXPECT_TRUE(mentions(partial, "which is not among the trusted keys")) << json::join_problems(partial.problems);
}

TEST_F(BundleTest, ATamperedByteInAnyFileFails) {
  std::string dir = tmp_.file("bundle");
  ASSERT_TRUE(collect(dir));
  ASSERT_TRUE(sign_bundle(base::real_file_system(), dir, keys_[0]));
  ASSERT_TRUE(check(dir, pubs_, 1).ok());
  for (const std::string& name : testing::list_names(dir)) {
    std::string path = dir + "/" + name;
    std::string original = read_text(path);
    // Flip one bit of a byte in the middle, of the first byte, and of the last.
    for (size_t at : {original.size() / 2, size_t{0}, original.size() - 1}) {
      std::string changed = original;
      changed[at] = static_cast<char>(changed[at] ^ 0x01);
      write_text(path, changed);
      BundleCheck c = check(dir, pubs_, 1);
      EXPECT_FALSE(c.ok()) << "a flipped bit at byte " << at << " of " << name << " went unnoticed";
    }
    write_text(path, original);
  }
  ASSERT_TRUE(check(dir, pubs_, 1).ok());
  write_text(dir + "/extra.json", "{}");
  BundleCheck extra = check(dir, pubs_, 1);
  EXPECT_TRUE(mentions(extra, "extra.json is in the bundle folder but not in the statement"))
      << json::join_problems(extra.problems);
}

TEST_F(BundleTest, FailingEvidenceIsRecordedAndRefused) {
  // A store written after the migration: verify fails, collect records it.
  std::string store = record_.stores[1].path;
  write_text(store, read_text(store) + " ");
  std::string dir = tmp_.file("bundle");
  auto collected = collect(dir);
  ASSERT_TRUE(collected);
  EXPECT_FALSE(collected->ok());
  ASSERT_TRUE(sign_bundle(base::real_file_system(), dir, keys_[0]));
  BundleCheck c = check(dir, pubs_, 1);
  EXPECT_FALSE(c.ok());
  EXPECT_TRUE(mentions(c, "the verification failed")) << json::join_problems(c.problems);
}

TEST_F(BundleTest, BackupsMustStillBeRetained) {
  std::string dir = tmp_.file("bundle");
  ASSERT_TRUE(collect(dir));
  auto contents = check(dir, pubs_, 1).contents;
  EXPECT_TRUE(check_backups_still_retained(base::real_file_system(), contents.backups).empty());
  ASSERT_EQ(::unlink(record_.stores[2].backup_path->c_str()), 0);
  auto problems = check_backups_still_retained(base::real_file_system(), contents.backups);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("is no longer retained"), std::string::npos) << problems[0];
  // And a new bundle records the missing backup.
  auto again = collect(tmp_.file("bundle2"));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->ok());
}

TEST_F(BundleTest, SigningRefusesAChangedBundleAndAStaleEnvelope) {
  std::string dir = tmp_.file("bundle");
  ASSERT_TRUE(collect(dir));
  ASSERT_TRUE(sign_bundle(base::real_file_system(), dir, keys_[0]));
  std::string counts = read_text(dir + "/counts.json");
  write_text(dir + "/counts.json", counts + " ");
  auto refused = sign_bundle(base::real_file_system(), dir, keys_[1]);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::corruption);
  write_text(dir + "/counts.json", counts);
  write_text(dir + "/statement.json", read_text(dir + "/statement.json") + "\n");
  auto stale = sign_bundle(base::real_file_system(), dir, keys_[1]);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), ErrorCode::conflict);
}

TEST_F(BundleTest, OutputFolderMustBeNewOrEmptyAndInputsValid) {
  std::string dir = tmp_.file("bundle");
  ASSERT_TRUE(collect(dir));
  auto again = collect(dir);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("is not empty"), std::string::npos);
  write_text(tmp_.file("report.json"), "{\"schema\": \"something.else\"}");
  CollectOptions o;
  o.verify_report_path = tmp_.file("report.json");
  auto bad = collect(tmp_.file("b2"), o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::invalid_argument);
  EXPECT_FALSE(testing::path_exists(tmp_.file("b2"))) << "nothing is written for unusable inputs";
}

}  // namespace
}  // namespace cutover::evidence
