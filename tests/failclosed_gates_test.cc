// Issue 12, gates and evidence (items 9-13 and the --ledger part of 3): each
// test is a place where "could not check" used to read as "allowed".
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cutover/evidence/dsse.h"
#include "cutover/evidence/keys.h"
#include "cutover/gates/gates.h"
#include "cutover/gates/ledger.h"
#include "cutover/hash/ed25519.h"
#include "test_util.h"

namespace cutover::evidence {
namespace {

using testing::write_text;

hash::Ed25519PublicKey key_of_hex(std::string_view hex) {
  hash::Ed25519PublicKey key;
  for (size_t i = 0; i < key.bytes.size(); ++i) {
    key.bytes[i] = static_cast<uint8_t>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  }
  return key;
}

// ---------------------------------------------------------------------------
// Item 9: a ledger that does not exist or cannot be read is an error.

TEST(FailClosedLedger, AMissingLedgerIsNotFoundNeverEmpty) {
  testing::TempDir tmp;
  auto missing = gates::read_existing_ledger(base::real_file_system(), tmp.file("typo/l.jsonl"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::not_found);
  EXPECT_NE(missing.error().message().find("does not exist"), std::string::npos) << missing.error().message();
  EXPECT_NE(missing.error().message().find("--new-ledger"), std::string::npos) << missing.error().message();

  auto folder = gates::read_existing_ledger(base::real_file_system(), tmp.path());
  ASSERT_FALSE(folder);
  EXPECT_EQ(folder.error().code(), ErrorCode::invalid_argument);

  write_text(tmp.file("empty.jsonl"), "");
  auto empty = gates::read_existing_ledger(base::real_file_system(), tmp.file("empty.jsonl"));
  ASSERT_TRUE(empty) << empty.error().message();
  EXPECT_TRUE(empty->exists);
}

TEST(FailClosedLedger, AdvanceStartsANewLedgerOnlyWhenAsked) {
  testing::TempDir tmp;
  std::string ledger = tmp.file("ledger.jsonl");
  auto specs = store::SpecRegistry::with_builtins();
  gates::GateInputs in;
  testing::write_expand_evidence(tmp.file("expand"), base::rfc3339_utc(base::system_clock().now_ns()), in);
  auto refused =
      gates::advance(base::real_file_system(), ledger, "billing_l402", "expand", in, specs, base::system_clock());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::not_found);
  EXPECT_FALSE(testing::path_exists(ledger));

  in.new_ledger = true;
  auto wrong_phase =
      gates::advance(base::real_file_system(), ledger, "billing_l402", "migrate", in, specs, base::system_clock());
  ASSERT_FALSE(wrong_phase);
  EXPECT_EQ(wrong_phase.error().code(), ErrorCode::invalid_argument);
  EXPECT_FALSE(testing::path_exists(ledger));

  auto started =
      gates::advance(base::real_file_system(), ledger, "billing_l402", "expand", in, specs, base::system_clock());
  ASSERT_TRUE(started) << started.error().message();
  EXPECT_TRUE(started->record);

  auto again =
      gates::advance(base::real_file_system(), ledger, "chat_pilot", "expand", in, specs, base::system_clock());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::invalid_argument);
  in.new_ledger = false;
  testing::write_expand_evidence(tmp.file("expand"), base::rfc3339_utc(base::system_clock().now_ns()), in);
  auto second =
      gates::advance(base::real_file_system(), ledger, "chat_pilot", "expand", in, specs, base::system_clock());
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(gates::read_existing_ledger(base::real_file_system(), ledger)->records.size(), 2u);
}

// ---------------------------------------------------------------------------
// Item 10: "every group" means every group of the route configuration.

TEST(FailClosedRuleFive, AConfiguredGroupWithNoRecordIsStillOpen) {
  testing::TempDir tmp;
  write_text(tmp.file("routes.json"), "{}\n");  // the reference matrix
  auto configured = gates::read_configured_groups(base::real_file_system(), tmp.file("routes.json"));
  ASSERT_TRUE(configured) << configured.error().message();
  EXPECT_EQ(configured->groups,
            (std::vector<std::string>{"auth_entry", "account_settings_admin", "billing_l402", "chat_pilot"}));

  gates::Ledger empty;
  empty.path = tmp.file("l.jsonl");
  empty.exists = true;
  auto open = gates::destructive_changes_allowed_everywhere(empty, *configured);
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().code(), ErrorCode::conflict);
  EXPECT_NE(open.error().message().find("billing_l402 (no record)"), std::string::npos) << open.error().message();

  auto none = gates::recorded_configured_groups(empty);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::invalid_argument);
  EXPECT_FALSE(gates::read_configured_groups(base::real_file_system(), tmp.file("typo.json")));
}

// ---------------------------------------------------------------------------
// Item 11: a rollback is recorded and moves the groups back, never forward.

TEST(FailClosedRollback, RollbackRecordsMoveGroupsBack) {
  testing::TempDir tmp;
  std::string sha(64, 'a');
  auto writer = gates::LedgerWriter::open(base::real_file_system(), tmp.file("l.jsonl"));
  ASSERT_TRUE(writer);
  gates::LedgerWriter& w = **writer;
  base::Clock& clock = base::system_clock();
  ASSERT_TRUE(w.append("billing_l402", "expand", testing::object_of(), "", clock));
  ASSERT_TRUE(w.append("billing_l402", "migrate", testing::object_of({{"manifest_sha256", sha}}), "", clock));
  ASSERT_TRUE(w.append("billing_l402", "verify", testing::object_of(), "", clock));
  ASSERT_TRUE(w.append("billing_l402", "canary", testing::object_of(), "", clock));
  ASSERT_TRUE(w.append("chat_pilot", "expand", testing::object_of(), "", clock));

  auto route = gates::record_route_rollback(w, "Billing-L402", testing::object_of().root(), clock);
  ASSERT_TRUE(route) << route.error().message();
  ASSERT_TRUE(*route);
  EXPECT_EQ((*route)->phase, "verify");
  auto states = gates::group_states(w.ledger());
  ASSERT_TRUE(states) << states.error().message();
  EXPECT_EQ((*states)[0].phase, gates::Phase::verify);
  EXPECT_EQ((*states)[0].canary_at, "");
  EXPECT_EQ((*states)[0].rolled_back_at, (*route)->recorded_at);
  EXPECT_FALSE(*gates::record_route_rollback(w, "auth_entry", testing::object_of().root(), clock))
      << "a group with no record";

  auto stores = gates::record_store_rollback(w, "/m.json", sha, "", clock);
  ASSERT_TRUE(stores) << stores.error().message();
  ASSERT_EQ(stores->size(), 1u) << "chat_pilot never migrated that manifest";
  states = gates::group_states(w.ledger());
  EXPECT_EQ((*states)[0].phase, gates::Phase::expand);
  EXPECT_EQ((*states)[0].manifest_sha256, "");
  EXPECT_TRUE(gates::record_store_rollback(w, "/m.json", sha, "", clock)->empty()) << "already at expand";

  // A "rollback" that moves a group forward is not something cutover writes.
  ASSERT_TRUE(w.append("chat_pilot", "contract", testing::object_of({{"event", "store_rollback"}}), "", clock));
  auto forged = gates::group_states(w.ledger());
  ASSERT_FALSE(forged);
  EXPECT_EQ(forged.error().code(), ErrorCode::corruption);
}

// ---------------------------------------------------------------------------
// Item 12: a hash chain cannot show lines cut from its end; a pinned head can.

gates::Ledger ledger_of(const testing::TempDir& tmp, const std::string& name, const std::vector<std::string>& groups) {
  std::string path = tmp.file(name);
  auto writer = gates::LedgerWriter::open(base::real_file_system(), path);
  EXPECT_TRUE(writer);
  for (const auto& g : groups)
    EXPECT_TRUE((*writer)->append(g, "expand", testing::object_of(), "", base::system_clock()));
  return (*writer)->ledger();
}

TEST(FailClosedLedger, APinnedHeadCatchesTruncationAndRewriting) {
  testing::TempDir tmp;
  gates::Ledger full = ledger_of(tmp, "full.jsonl", {"auth_entry", "billing_l402", "chat_pilot"});
  gates::LedgerHead pinned{2, full.records[1].line_sha256};
  EXPECT_TRUE(gates::check_ledger_head(full, pinned));  // grown since: fine
  EXPECT_TRUE(gates::check_ledger_head(full, gates::LedgerHead{}));
  EXPECT_EQ(gates::parse_ledger_head(pinned.text())->sha256, pinned.sha256);

  // A prefix is a valid chain: parse_ledger cannot tell; the head can.
  std::string bytes = testing::read_text(tmp.file("full.jsonl"));
  auto prefix = gates::parse_ledger(bytes.substr(0, bytes.find('\n') + 1), "cut.jsonl");
  ASSERT_TRUE(prefix) << prefix.error().message();
  auto truncated = gates::check_ledger_head(*prefix, pinned);
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code(), ErrorCode::conflict);
  EXPECT_NE(truncated.error().message().find("was truncated"), std::string::npos) << truncated.error().message();

  gates::Ledger other = ledger_of(tmp, "other.jsonl", {"chat_pilot", "auth_entry"});
  auto rewritten = gates::check_ledger_head(other, pinned);
  ASSERT_FALSE(rewritten);
  EXPECT_NE(rewritten.error().message().find("was rewritten"), std::string::npos) << rewritten.error().message();

  for (const char* bad : {"", "2", "2:", ":abc", "x:0000", "2:ABCDEF",
                          "+2:0000000000000000000000000000000000000000000000000000000000000000",
                          "0:1111111111111111111111111111111111111111111111111111111111111111"}) {
    EXPECT_FALSE(gates::parse_ledger_head(bad)) << bad;
  }
}

// ---------------------------------------------------------------------------
// Item 13: signatures.

TEST(FailClosedSignatures, SmallOrderAndNonCanonicalKeysAreWeak) {
  const std::string zeros(62, '0');
  const std::string ff(60, 'f');
  // Every small-order point (the y-coordinates of the 8 torsion points) with
  // the sign bit clear and set, and the non-canonical y = p, p+1 and p+18.
  const std::vector<std::string> ys = {
      "00" + zeros,
      "01" + zeros,
      "ec" + ff + "7f",
      "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
      "ed" + ff + "7f",
      "ee" + ff + "7f",
      "ff" + ff + "7f",
  };
  for (const auto& y : ys) {
    hash::Ed25519PublicKey key = key_of_hex(y);
    EXPECT_NE(evidence::weak_public_key_reason(key), "") << y;
    key.bytes.back() |= 0x80;
    EXPECT_NE(evidence::weak_public_key_reason(key), "") << y << " with the sign bit";
  }
  for (int i = 0; i < 8; ++i) {
    auto key = hash::generate_ed25519_key();
    ASSERT_TRUE(key);
    EXPECT_EQ(evidence::weak_public_key_reason(hash::public_key_of(*key)), "");
  }
  // Near misses are ordinary keys: y = 2, and y = p - 2.
  EXPECT_EQ(evidence::weak_public_key_reason(key_of_hex("02" + zeros)), "");
  EXPECT_EQ(evidence::weak_public_key_reason(key_of_hex("eb" + ff + "7f")), "");
}

TEST(FailClosedSignatures, ATrustFileWithTheIdentityKeyIsRefused) {
  testing::TempDir tmp;
  hash::Ed25519PublicKey identity = key_of_hex("01" + std::string(62, '0'));
  write_text(tmp.file("identity.pub"), hash::public_key_pem(identity));
  auto keys = evidence::load_trusted_keys(base::real_file_system(), {tmp.file("identity.pub")});
  ASSERT_FALSE(keys);
  EXPECT_EQ(keys.error().code(), ErrorCode::invalid_argument);
  EXPECT_NE(keys.error().message().find("identity.pub is refused"), std::string::npos) << keys.error().message();
}

TEST(FailClosedSignatures, AnEnvelopeWithOneKeyTwiceIsRefused) {
  auto key = hash::generate_ed25519_key();
  ASSERT_TRUE(key);
  evidence::Envelope env{std::string(evidence::k_in_toto_payload_type), "{}", {}};
  evidence::DsseSignature sig = evidence::sign_payload(env, *key);
  env.signatures = {sig, sig};
  auto parsed = evidence::parse_envelope(to_json(env), "e.json");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message().find("signed already in signatures[0]"), std::string::npos)
      << parsed.error().message();
  env.signatures = {sig};
  EXPECT_TRUE(evidence::parse_envelope(to_json(env), "e.json"));
}

TEST(FailClosedSignatures, ThresholdIsAWholeNumberFromOneToTheKeys) {
  struct Case {
    const char* text;
    size_t keys;
    bool ok;
  };
  const Case cases[] = {{"1", 1, true},    {"2", 3, true},    {"3", 3, true},   {"02", 3, true},
                        {"0", 3, false},   {"4", 3, false},   {"1", 0, false},  {"-1", 3, false},
                        {"+1", 3, false},  {" 1", 3, false},  {"1 ", 3, false}, {"0x1", 3, false},
                        {"1.0", 3, false}, {"1e0", 3, false}, {"", 3, false},   {"99999999999999999999", 3, false}};
  for (const auto& c : cases) {
    auto n = evidence::parse_threshold(c.text, c.keys);
    EXPECT_EQ(bool(n), c.ok) << "'" << c.text << "' of " << c.keys;
    if (!n) {
      EXPECT_EQ(n.error().code(), ErrorCode::invalid_argument);
    }
  }
}

}  // namespace
}  // namespace cutover::evidence
