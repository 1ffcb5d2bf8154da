// Evidence (SPEC §7): DSSE against published vectors;
// key files; the bundle's collect/sign/verify on a real backfill; the
// ledger's chain; canary health; the rollback drill against a fake control
// server; and the gates from expand to contract.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "cutover/backfill/backfill.h"
#include "cutover/drill/drill.h"
#include "cutover/evidence/bundle.h"
#include "cutover/evidence/dsse.h"
#include "cutover/evidence/json_value.h"
#include "cutover/evidence/keys.h"
#include "cutover/gates/canary.h"
#include "cutover/gates/gates.h"
#include "cutover/gates/ledger.h"
#include "cutover/hash/ed25519.h"
#include "cutover/hash/sha256.h"
#include "cutover/store/fixtures.h"
#include "test_util.h"

namespace cutover::evidence {
namespace {

using testing::read_text;
using testing::write_text;

class FixedClock final : public base::Clock {
 public:
  int64_t now_ns() override { return now_; }
  int64_t now_ = int64_t{1700000000} * 1000000000;
};

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

// ---------------------------------------------------------------------------
// Canary health

std::string rfc(int64_t unix_seconds) { return base::rfc3339_utc(unix_seconds * 1000000000); }

// Readings every `step` seconds for `hold` seconds per stage, stages back to back.
JsonValue healthy_samples(const std::string& group, int64_t hold = 600, int64_t step = 60) {
  JsonValue list = JsonValue::array();
  int64_t t = 1700000000;
  for (uint64_t stage : {5, 25, 50, 100}) {
    for (int64_t s = 0; s <= hold; s += step) {
      list.push(JsonValue::object()
                    .set_u64("stage", stage)
                    .set("time", rfc(t + s))
                    .set_u64("requests", 1000)
                    .set_u64("errors_5xx", 9)
                    .set_f64("p95_ms", 120)
                    .set_f64("baseline_p95_ms", 100));
    }
    t += hold + step;
  }
  return JsonValue::object().set("schema", k_canary_samples_schema).set("group", group).set("samples", std::move(list));
}

CanaryHealth health_of(const JsonValue& samples, const CanaryThresholds& t = {}) {
  auto parsed = parse_canary_samples(samples.canonical(), "s.json");
  EXPECT_TRUE(parsed) << parsed.error().message();
  return evaluate_canary(*parsed, t);
}

TEST(Canary, ReferenceNumbersPassAtTheirEdges) {
  CanaryHealth h = health_of(healthy_samples("billing_l402"));
  EXPECT_TRUE(h.healthy()) << join_problems(h.problems);
  ASSERT_EQ(h.stages.size(), 4u);
  EXPECT_EQ(h.stages[0].held_seconds, 600);
  EXPECT_DOUBLE_EQ(h.stages[3].worst_p95_ratio, 1.2);
}

TEST(Canary, EachFailureNamesItsReason) {
  struct Case {
    const char* name;
    std::function<void(JsonValue&)> change;
    const char* reason;
  };
  auto reading = [](JsonValue& doc, size_t i) -> JsonValue& {
    auto& items = const_cast<std::vector<JsonValue>&>(doc.find("samples")->items());
    return items[i];
  };
  const std::vector<Case> cases = {
      {"5xx at 1%", [&](JsonValue& d) { reading(d, 3).set_u64("errors_5xx", 10); },
       "5xx rate 1.00% (10 of 1000) is not under 1.00%"},
      {"p95 21% above", [&](JsonValue& d) { reading(d, 12).set_f64("p95_ms", 121); },
       "p95 121 ms is 21.00% above the baseline 100 ms"},
      {"no requests", [&](JsonValue& d) { reading(d, 0).set_u64("requests", 0).set_u64("errors_5xx", 0); },
       "no requests"},
      {"no baseline", [&](JsonValue& d) { reading(d, 0).set_f64("baseline_p95_ms", 0); }, "no stable baseline p95"},
      {"stage missing",
       [&](JsonValue& d) {
         auto& items = const_cast<std::vector<JsonValue>&>(d.find("samples")->items());
         items.erase(std::remove_if(items.begin(), items.end(),
                                    [](const JsonValue& s) { return s.find("stage")->as_u64() == 50; }),
                     items.end());
       },
       "stage 50%: no readings (missing data is never a pass)"},
      {"held too short",
       [&](JsonValue& d) {
         auto& items = const_cast<std::vector<JsonValue>&>(d.find("samples")->items());
         items.erase(items.begin() + 10);  // the last reading of stage 5%
       },
       "stage 5%: held 540 s"},
      {"a gap",
       [&](JsonValue& d) {
         auto& items = const_cast<std::vector<JsonValue>&>(d.find("samples")->items());
         items.erase(items.begin() + 2, items.begin() + 5);
       },
       "no readings for 240 s between"},
      {"unknown stage", [&](JsonValue& d) { reading(d, 0).set_u64("stage", 10); },
       "stage 10% is not one of the rollout stages"},
      {"stages out of order", [&](JsonValue& d) { reading(d, 20).set("time", rfc(1700000000)); },
       "before stage 5% ended"},
  };
  for (const auto& c : cases) {
    JsonValue doc = healthy_samples("g");
    c.change(doc);
    CanaryHealth h = health_of(doc);
    EXPECT_FALSE(h.healthy()) << c.name;
    EXPECT_NE(join_problems(h.problems).find(c.reason), std::string::npos)
        << c.name << ": " << join_problems(h.problems);
  }
  // An empty samples file is never a pass.
  CanaryHealth empty = health_of(
      JsonValue::object().set("schema", k_canary_samples_schema).set("group", "g").set("samples", JsonValue::array()));
  EXPECT_FALSE(empty.healthy());
  EXPECT_EQ(empty.problems.size(), 4u);
}

TEST(Canary, ThresholdsAreConfigurable) {
  JsonValue doc = healthy_samples("g", 300, 30);
  EXPECT_FALSE(health_of(doc).healthy());
  CanaryThresholds t;
  t.hold_seconds = 300;
  EXPECT_TRUE(health_of(doc, t).healthy());
  t.max_p95_ratio = 1.1;
  EXPECT_FALSE(health_of(doc, t).healthy());
  t.max_p95_ratio = 1.2;
  t.stages = {5, 100};
  EXPECT_FALSE(health_of(doc, t).healthy()) << "stages 25 and 50 are not in the rollout";
  EXPECT_FALSE(check_thresholds(CanaryThresholds{{50, 25}, 600, 0.01, 1.2, 120}));
  EXPECT_FALSE(check_thresholds(CanaryThresholds{{5}, 0, 0.01, 1.2, 120}));
  EXPECT_FALSE(check_thresholds(CanaryThresholds{{5}, 600, 0, 1.2, 120}));
  EXPECT_FALSE(check_thresholds(CanaryThresholds{{5}, 600, 0.01, 0.9, 120}));
  EXPECT_TRUE(check_thresholds(CanaryThresholds{}));
}

TEST(Canary, SamplesFileProblemsAreAllListed) {
  auto r = parse_canary_samples(
      R"({"schema": "x", "samples": [{"stage": -5, "time": "yesterday", "requests": 5, "errors_5xx": 6, "p95_ms": "fast", "baseline_p95_ms": 1}]})",
      "s.json");
  ASSERT_FALSE(r);
  for (const char* needle :
       {"samples file.schema: is 'x'", "samples file.group: is missing",
        "samples[0].stage: must be an unsigned integer", "samples[0].p95_ms: must be a number",
        "samples[0].time: 'yesterday' is not an RFC 3339 time", "samples[0].errors_5xx: 6 is more than requests (5)"}) {
    EXPECT_NE(r.error().message().find(needle), std::string::npos) << needle << " not in " << r.error().message();
  }
}

// ---------------------------------------------------------------------------
// Ledger

class LedgerTest : public ::testing::Test {
 protected:
  std::string path() const { return tmp_.file("ledger.jsonl"); }
  LedgerRecord append(const std::string& group, const std::string& phase,
                      base::FileSystem& fs = base::real_file_system()) {
    auto writer = LedgerWriter::open(fs, path());
    EXPECT_TRUE(writer) << writer.error().message();
    auto r = (*writer)->append(group, phase, JsonValue::object().set("n", phase), "", clock_);
    EXPECT_TRUE(r) << r.error().message();
    return *r;
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::string text = read_text(path());
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      out.push_back(text.substr(pos, nl - pos));
      pos = nl + 1;
    }
    return out;
  }
  void write_lines(const std::vector<std::string>& ls) {
    std::string text;
    for (const auto& l : ls) text += l + "\n";
    write_text(path(), text);
  }
  void expect_broken(const std::string& needle) {
    auto r = read_ledger(base::real_file_system(), path());
    ASSERT_FALSE(r) << "a broken ledger was accepted";
    EXPECT_EQ(r.error().code(), ErrorCode::corruption);
    EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
    // Nothing is ever appended to a broken ledger.
    auto w = LedgerWriter::open(base::real_file_system(), path());
    EXPECT_FALSE(w);
  }

  testing::TempDir tmp_;
  FixedClock clock_;
};

TEST_F(LedgerTest, ChainOfRecords) {
  auto missing = read_ledger(base::real_file_system(), path());
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->exists);
  LedgerRecord a = append("billing_l402", "expand");
  LedgerRecord b = append("billing_l402", "migrate");
  EXPECT_EQ(a.seq, 1u);
  EXPECT_EQ(a.prev_sha256, k_ledger_genesis);
  EXPECT_EQ(b.prev_sha256, a.line_sha256);
  auto ls = lines();
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(hash::sha256_hex(ls[0]), a.line_sha256);
  EXPECT_EQ(ls[0].find('\n'), std::string::npos);
  auto ledger = read_ledger(base::real_file_system(), path());
  ASSERT_TRUE(ledger);
  ASSERT_EQ(ledger->records.size(), 2u);
  EXPECT_EQ(ledger->head_sha256, b.line_sha256);
  EXPECT_EQ(ledger->records[1].evidence.string_at("n"), "migrate");
  EXPECT_EQ(record_line(ledger->records[0]), ls[0]);
}

TEST_F(LedgerTest, EveryKindOfTamperingIsReported) {
  append("g", "expand");
  append("g", "migrate");
  append("g", "verify");
  const auto original = lines();

  auto changed = original;
  changed[0].replace(changed[0].find("\"expand\""), 8, "\"EXPAND\"");
  write_lines(changed);
  expect_broken("line 2: prev_sha256");

  auto swapped = original;
  std::swap(swapped[1], swapped[2]);
  write_lines(swapped);
  expect_broken("line 2: seq is 3, expected 2");

  auto removed = original;
  removed.erase(removed.begin() + 1);
  write_lines(removed);
  expect_broken("line 2: seq is 3");

  write_text(path(), original[0] + "\n" + original[1] + "\n" + original[2]);
  expect_broken("line 3: the last line is incomplete");

  write_text(path(), original[0] + "\n\n");
  expect_broken("line 2: an empty line");

  write_text(path(), original[0] + "\nnot json\n");
  expect_broken("line 2: not JSON");

  // The last line changed: its own hash is nowhere, but its content must still parse and chain.
  auto last = original;
  last[2].replace(last[2].find("\"seq\":3"), 7, "\"seq\":4");
  write_lines(last);
  expect_broken("line 3: seq is 4");

  write_lines(original);
  EXPECT_TRUE(read_ledger(base::real_file_system(), path()));
}

TEST_F(LedgerTest, OneWriterAtATime) {
  auto first = LedgerWriter::open(base::real_file_system(), path());
  ASSERT_TRUE(first);
  auto second = LedgerWriter::open(base::real_file_system(), path());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::conflict);
  EXPECT_NE(second.error().message().find("locked by another cutover gate command"), std::string::npos);
}

TEST_F(LedgerTest, AnEditWithoutTheLockIsNotOverwritten) {
  append("g", "expand");
  auto writer = LedgerWriter::open(base::real_file_system(), path());
  ASSERT_TRUE(writer);
  write_text(path(), read_text(path()) + "{}\n");
  auto r = (*writer)->append("g", "migrate", JsonValue::object(), "", clock_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::conflict);
}

// A file system whose rename fails: the atomic write never lands.
class FailingRename final : public testing::ForwardingFileSystem {
 public:
  using ForwardingFileSystem::ForwardingFileSystem;
  Status rename(const std::string& from, const std::string&) override {
    (void)target_.remove(from);
    return make_error(ErrorCode::io_error, "injected: rename failed");
  }
};

TEST_F(LedgerTest, AFailedAppendLeavesTheLedgerAsItWas) {
  append("g", "expand");
  std::string before = read_text(path());
  FailingRename fs(base::real_file_system());
  auto writer = LedgerWriter::open(fs, path());
  ASSERT_TRUE(writer);
  auto r = (*writer)->append("g", "migrate", JsonValue::object(), "", clock_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::io_error);
  EXPECT_NE(r.error().message().find("is unchanged"), std::string::npos);
  EXPECT_EQ(read_text(path()), before);
  EXPECT_EQ(testing::list_names(tmp_.path()), (std::vector<std::string>{"ledger.jsonl", "ledger.jsonl.lock"}));
}

TEST(GroupNames, NormalisedLikeTheRouteSplit) {
  EXPECT_EQ(normalize_group("  Billing-L402 ").value(), "billing_l402");
  for (const char* bad : {"", "   ", "a/b", "a b", "é"}) EXPECT_FALSE(normalize_group(bad)) << bad;
  EXPECT_FALSE(normalize_group(std::string(65, 'a')));
}

// ---------------------------------------------------------------------------
// The rollback drill against a fake control server.

class FakeControl final : public RouteControl {
 public:
  struct Group {
    std::vector<std::string> prefixes;
    std::string rollback;
  };
  std::map<std::string, Group> groups = {{"billing_l402", {{"/billing", "/l402"}, "legacy"}},
                                         {"chat_pilot", {{"/chat", "/feed", "/"}, "rust_shell"}}};
  std::map<std::string, std::string> overrides;
  bool ignore_rollback = false;
  bool fail_evaluate = false;
  std::vector<std::string> calls;

  std::string describe() const override { return "fake://control"; }

  Result<JsonValue> status() override {
    calls.push_back("status");
    JsonValue list = JsonValue::array();
    for (const auto& [name, g] : groups) {
      JsonValue prefixes = JsonValue::array();
      for (const auto& p : g.prefixes) prefixes.push(JsonValue::string(p));
      list.push(JsonValue::object()
                    .set("domain", name)
                    .set("route_prefixes", std::move(prefixes))
                    .set("rollback_target", g.rollback));
    }
    JsonValue ov = JsonValue::object();
    for (const auto& [k, v] : overrides) ov.set(k, v);
    return JsonValue::object().set("route_groups", std::move(list)).set("domain_overrides", std::move(ov));
  }

  Result<JsonValue> evaluate(std::string_view path) override {
    calls.push_back("evaluate " + std::string(path));
    if (fail_evaluate) return make_error(ErrorCode::io_error, "injected: evaluate failed");
    for (const auto& [name, g] : groups) {
      for (const auto& p : g.prefixes) {
        if (path == p || (p != "/" && path.rfind(p + "/", 0) == 0)) {
          auto o = overrides.find(name);
          JsonValue d =
              JsonValue::object().set("path", path).set("route_domain", name).set("rollback_target", g.rollback);
          if (o != overrides.end()) return d.set("target", o->second).set("reason", "domain_override");
          return d.set("target", "rust_shell").set("reason", "mode_rust");
        }
      }
    }
    return JsonValue::object().set("path", path).set("target", "legacy").set("reason", "legacy_route_default");
  }

  Result<JsonValue> set_group_override(std::string_view group, std::string_view target) override {
    calls.push_back("override " + std::string(group) + " " + std::string(target));
    std::string g(group);
    if (!groups.count(g)) return make_error(ErrorCode::invalid_argument, "Unknown route domain.");
    if (target == "rollback") {
      if (!ignore_rollback) overrides[g] = groups[g].rollback;
    } else if (target == "clear") {
      overrides.erase(g);
    } else {
      overrides[g] = std::string(target);
    }
    return status();
  }
};

TEST(RouteControlUrl, OnlyPlainHttpWithAToken) {
  for (const char* bad : {"https://127.0.0.1:8787", "127.0.0.1:8787", "http://", "http://:80", "http://h:99999",
                          "http://h:80x", "http://user:pw@h:80", "http://[::1:80", "http://h:80/a b"}) {
    auto r = connect_route_control(bad, "token");
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code(), ErrorCode::invalid_argument) << bad;
    }
  }
  EXPECT_FALSE(connect_route_control("http://127.0.0.1:8787", ""));
  EXPECT_FALSE(connect_route_control("http://127.0.0.1:8787", "a b"));
  auto ok = connect_route_control("http://[::1]:8787/prefix/", "token");
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)->describe(), "http://[::1]:8787/prefix");
  // Nothing listens on port 1: a clear io_error, not a hang.
  auto none = connect_route_control("http://127.0.0.1:1", "token");
  ASSERT_TRUE(none);
  auto st = (*none)->status();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::io_error);
  EXPECT_NE(st.error().message().find("cannot connect to http://127.0.0.1:1"), std::string::npos)
      << st.error().message();
}

// A real backfill of the reference fixtures in a temporary folder.
class Migrated : public ::testing::Test {
 protected:
  void SetUp() override {
    stores_ = tmp_.file("stores");
    ASSERT_EQ(::mkdir(stores_.c_str(), 0755), 0);
    backfill::BackfillOptions options;
    for (const auto& [kind, bytes] : store::builtin_fixtures()) {
      write_text(stores_ + "/" + kind + ".json", std::string(bytes));
      options.stores.push_back({kind, stores_ + "/" + kind + ".json"});
    }
    options.work_dir = tmp_.file("work");
    auto result = backfill::run_backfill(options, specs_, base::real_file_system(), clock_);
    ASSERT_TRUE(result) << result.error().message();
    manifest_ = result->manifest_path;
    record_ = result->manifest;
  }

  Result<DrillReport> drill(FakeControl& control, const std::string& group = "billing_l402",
                            const std::string& train = "") {
    DrillOptions o;
    o.manifest_path = manifest_;
    o.group = group;
    o.release_train = train;
    o.scratch_dir = tmp_.file("scratch-" + std::to_string(++scratch_n_));
    return run_drill(o, control, base::real_file_system(), clock_);
  }

  testing::TempDir tmp_;
  FixedClock clock_;
  store::SpecRegistry specs_ = store::SpecRegistry::with_builtins();
  std::string stores_;
  std::string manifest_;
  manifest::Manifest record_;
  int scratch_n_ = 0;
};

using DrillTest = Migrated;

TEST_F(DrillTest, PassesAndPutsThePreviousOverrideBack) {
  FakeControl control;
  control.overrides["billing_l402"] = "rust_shell";
  std::map<std::string, std::string> live;
  for (const auto& s : record_.stores) live[s.path] = read_text(s.path);
  auto report = drill(control);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_TRUE(report->ok()) << report->to_json().canonical();
  EXPECT_EQ(report->rollback_target, "legacy");
  EXPECT_EQ(report->evaluated_path, "/billing");
  EXPECT_EQ(report->decision.string_at("target"), "legacy");
  EXPECT_EQ(report->previous_override, std::optional<std::string>("rust_shell"));
  EXPECT_EQ(control.overrides["billing_l402"], "rust_shell");
  EXPECT_EQ(report->release_train, record_.run_id);
  ASSERT_EQ(report->stores.size(), 3u);
  for (const auto& s : report->stores) {
    EXPECT_TRUE(s.ok) << s.detail;
    EXPECT_EQ(s.restored_sha256, s.before_sha256);
  }
  // Live stores untouched; restored copies removed once proven.
  for (const auto& [path, bytes] : live) EXPECT_EQ(read_text(path), bytes);
  EXPECT_TRUE(testing::list_names(report->scratch_dir).empty());
  EXPECT_EQ(control.calls,
            (std::vector<std::string>{"status", "override billing_l402 rollback", "status", "evaluate /billing",
                                      "override billing_l402 rust_shell", "status", "status"}));
  // A report the gates can read.
  auto summary = parse_drill_report(report->to_json().canonical(), "d.json");
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_TRUE(summary->ok);
  EXPECT_EQ(summary->group, "billing_l402");
}

TEST_F(DrillTest, NoPreviousOverrideIsCleared) {
  FakeControl control;
  auto report = drill(control, " Chat-Pilot ");
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->group, "chat_pilot");
  EXPECT_EQ(report->decision.string_at("target"), "rust_shell");
  EXPECT_TRUE(control.overrides.empty());
}

TEST_F(DrillTest, AServerThatDoesNotRollBackFailsTheDrillButIsPutBack) {
  FakeControl control;
  control.ignore_rollback = true;
  auto report = drill(control);
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->ok());
  auto summary = parse_drill_report(report->to_json().canonical(), "d.json");
  ASSERT_TRUE(summary);
  EXPECT_FALSE(summary->ok);
  EXPECT_NE(join_problems(summary->failed_steps).find("route_decision"), std::string::npos);

  FakeControl failing;
  failing.overrides["billing_l402"] = "legacy";
  failing.fail_evaluate = true;
  auto r2 = drill(failing);
  ASSERT_TRUE(r2);
  EXPECT_FALSE(r2->ok());
  EXPECT_EQ(failing.overrides["billing_l402"], "legacy");
  EXPECT_EQ(failing.calls.back(), "status");
}

TEST_F(DrillTest, UnknownGroupAndCorruptBackupFail) {
  FakeControl control;
  auto unknown = drill(control, "nowhere");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->ok());
  EXPECT_NE(unknown->to_json().canonical().find("has no route group 'nowhere'"), std::string::npos);

  write_text(*record_.stores[0].backup_path, "{}");
  auto corrupt = drill(control);
  ASSERT_TRUE(corrupt);
  EXPECT_FALSE(corrupt->ok());
  EXPECT_FALSE(corrupt->stores[0].ok);
  EXPECT_NE(corrupt->stores[0].detail.find("not before_sha256"), std::string::npos) << corrupt->stores[0].detail;
}

TEST_F(DrillTest, ScratchMustBeEmpty) {
  FakeControl control;
  std::string scratch = tmp_.file("full");
  ASSERT_EQ(::mkdir(scratch.c_str(), 0755), 0);
  write_text(scratch + "/something", "x");
  DrillOptions o;
  o.manifest_path = manifest_;
  o.group = "billing_l402";
  o.scratch_dir = scratch;
  auto r = run_drill(o, control, base::real_file_system(), clock_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("is not empty"), std::string::npos);
  EXPECT_TRUE(control.calls.empty());
}

// ---------------------------------------------------------------------------
// The bundle

class BundleTest : public Migrated {
 protected:
  void SetUp() override {
    Migrated::SetUp();
    for (const char* name : {"alice", "bob", "carol"}) {
      auto pair = write_new_key_pair(base::real_file_system(), tmp_.file(name));
      ASSERT_TRUE(pair);
      keys_.push_back(*load_private_key(base::real_file_system(), pair->private_path));
      pubs_.push_back(pair->public_path);
    }
  }

  Result<CollectResult> collect(const std::string& dir, CollectOptions o = {}) {
    o.manifest_path = manifest_;
    o.out_dir = dir;
    return collect_bundle(o, specs_, base::real_file_system(), clock_);
  }
  BundleCheck check(const std::string& dir, std::vector<std::string> trust, size_t threshold) {
    VerifyBundleOptions o;
    o.trusted = *load_trusted_keys(base::real_file_system(), trust);
    o.threshold = threshold;
    return verify_bundle(base::real_file_system(), dir, o);
  }
  static bool mentions(const BundleCheck& c, const std::string& needle) {
    return join_problems(c.problems).find(needle) != std::string::npos;
  }

  std::vector<hash::Ed25519PrivateKey> keys_;
  std::vector<std::string> pubs_;
};

TEST_F(BundleTest, CollectSignVerifyTwoOfThree) {
  std::string dir = tmp_.file("bundle");
  auto collected = collect(dir);
  ASSERT_TRUE(collected) << collected.error().message();
  EXPECT_TRUE(collected->ok()) << join_problems(collected->problems);
  EXPECT_TRUE(collected->verification_ran);
  EXPECT_EQ(testing::list_names(dir),
            (std::vector<std::string>{"counts.json", "manifest.json", "statement.json", "verify-report.json"}));
  EXPECT_EQ(read_text(dir + "/manifest.json"), read_text(manifest_));
  auto counts = JsonValue::parse(read_text(dir + "/counts.json"), "counts");
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->find("stores")->items()[0].find("matches")->as_bool(), true);

  BundleCheck unsigned_check = check(dir, pubs_, 1);
  EXPECT_TRUE(mentions(unsigned_check, "the bundle is not signed")) << join_problems(unsigned_check.problems);

  ASSERT_TRUE(sign_bundle(base::real_file_system(), dir, keys_[0]));
  BundleCheck one = check(dir, pubs_, 2);
  EXPECT_FALSE(one.ok());
  EXPECT_TRUE(mentions(one, "threshold not met: 1 of the required 2")) << join_problems(one.problems);

  auto second = sign_bundle(base::real_file_system(), dir, keys_[2]);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->signature_count, 2u);
  BundleCheck two = check(dir, pubs_, 2);
  EXPECT_TRUE(two.ok()) << join_problems(two.problems);
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
  EXPECT_TRUE(mentions(partial, "which is not among the trusted keys")) << join_problems(partial.problems);
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
      << join_problems(extra.problems);
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
  EXPECT_TRUE(mentions(c, "the verification failed")) << join_problems(c.problems);
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

// ---------------------------------------------------------------------------
// Gates, expand to contract.

class GateTest : public BundleTest {
 protected:
  GateInputs signed_inputs(const std::string& dir) {
    GateInputs in;
    in.evidence_dir = dir;
    in.trusted = *load_trusted_keys(base::real_file_system(), pubs_);
    in.threshold = 2;
    return in;
  }
  // The first expand starts the ledger (--new-ledger).
  Result<AdvanceResult> advance_to(const std::string& phase, GateInputs in, const std::string& group = "billing_l402") {
    in.new_ledger = phase == "expand" && !testing::path_exists(ledger_);
    // Issue 17: expand needs both reports, made after the ledger's last record.
    if (phase == "expand" && in.expand_report_path.empty()) {
      testing::write_expand_evidence(tmp_.file("expand-" + group), base::rfc3339_utc(clock_.now_ns() + 1000), in);
    }
    return advance(base::real_file_system(), ledger_, group, phase, in, specs_, clock_);
  }
  std::string signed_bundle(const std::string& name, CollectOptions o = {}) {
    std::string dir = tmp_.file(name);
    auto c = collect(dir, o);
    EXPECT_TRUE(c) << c.error().message();
    EXPECT_TRUE(sign_bundle(base::real_file_system(), dir, keys_[0]));
    EXPECT_TRUE(sign_bundle(base::real_file_system(), dir, keys_[1]));
    return dir;
  }
  static std::string missing(const AdvanceResult& r) { return join_problems(r.decision.missing); }

  std::string ledger_ = tmp_.file("ledger.jsonl");
};

TEST_F(GateTest, OneGroupFromExpandToContract) {
  GateInputs none;
  auto step = [&](const std::string& phase, const GateInputs& in) {
    auto r = advance_to(phase, in);
    ASSERT_TRUE(r) << phase << ": " << r.error().message();
    ASSERT_TRUE(r->decision.allowed()) << phase << ": " << missing(*r);
    ASSERT_TRUE(r->record);
    EXPECT_EQ(r->record->phase, phase);
  };
  step("expand", none);
  auto ledger = read_ledger(base::real_file_system(), ledger_);
  EXPECT_FALSE(destructive_changes_allowed(*ledger, "billing_l402"));

  GateInputs m;
  m.manifest_path = manifest_;
  step("migrate", m);
  step("verify", none);  // verify runs now on the recorded manifest
  std::string canary_bundle = signed_bundle("canary-bundle");
  step("canary", signed_inputs(canary_bundle));
  step("cutover", signed_inputs(canary_bundle));

  FakeControl control;
  auto drill_report = drill(control);
  ASSERT_TRUE(drill_report && drill_report->ok());
  write_text(tmp_.file("drill.json"), drill_report->to_json().canonical());
  write_text(tmp_.file("samples.json"), healthy_samples("billing_l402").canonical());
  CollectOptions o;
  o.drill_report_path = tmp_.file("drill.json");
  o.canary_samples_path = tmp_.file("samples.json");
  step("contract", signed_inputs(signed_bundle("contract-bundle", o)));

  ledger = read_ledger(base::real_file_system(), ledger_);
  ASSERT_TRUE(ledger);
  EXPECT_EQ(ledger->records.size(), 6u);
  EXPECT_TRUE(destructive_changes_allowed(*ledger, "billing_l402"));
  EXPECT_FALSE(destructive_changes_allowed(*ledger, "chat_pilot"));
  EXPECT_TRUE(destructive_changes_allowed_everywhere(*ledger, ConfiguredGroups{{"billing_l402"}, "test", "", ""}));
  EXPECT_FALSE(destructive_changes_allowed_everywhere(
      *ledger, ConfiguredGroups{{"billing_l402", "chat_pilot"}, "test", "", ""}));
  auto states = group_states(*ledger);
  ASSERT_TRUE(states);
  EXPECT_EQ((*states)[0].phase, Phase::contract);
  EXPECT_EQ((*states)[0].release_train, record_.run_id);

  // Nothing after contract.
  auto after = advance_to("contract", none);
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->decision.allowed());
  EXPECT_NE(missing(*after).find("contract is the last phase"), std::string::npos);
}

TEST_F(GateTest, PhasesCannotBeSkippedOrRepeated) {
  GateInputs none;
  ASSERT_TRUE(advance_to("expand", none, "chat_pilot")->decision.allowed());
  auto skip = advance_to("migrate", none);
  ASSERT_TRUE(skip);
  EXPECT_FALSE(skip->decision.allowed());
  EXPECT_NE(missing(*skip).find("has no record yet; the next phase is expand"), std::string::npos) << missing(*skip);
  ASSERT_TRUE(advance_to("expand", none)->decision.allowed());
  auto repeat = advance_to("expand", none);
  EXPECT_NE(missing(*repeat).find("is in phase expand; the next phase is migrate"), std::string::npos);
  auto jump = advance_to("canary", signed_inputs(signed_bundle("b")));
  EXPECT_FALSE(jump->decision.allowed());
  EXPECT_FALSE(advance_to("nonsense", none));
  EXPECT_EQ(read_ledger(base::real_file_system(), ledger_)->records.size(), 2u);
}

TEST_F(GateTest, EachGateNamesItsMissingEvidence) {
  GateInputs none;
  ASSERT_TRUE(advance_to("expand", none)->decision.allowed());
  auto no_manifest = advance_to("migrate", none);
  EXPECT_NE(missing(*no_manifest).find("a complete manifest: pass --manifest"), std::string::npos);
  GateInputs m;
  m.manifest_path = manifest_;
  ASSERT_TRUE(advance_to("migrate", m)->decision.allowed());

  // verify: a failing report, then a report about another manifest.
  std::string store = record_.stores[0].path;
  std::string bytes = read_text(store);
  write_text(store, bytes + " ");
  auto failing = advance_to("verify", none);
  EXPECT_NE(missing(*failing).find("a passing verification: the verify report has 1 finding(s)"), std::string::npos)
      << missing(*failing);
  write_text(store, bytes);
  write_text(tmp_.file("other.json"),
             R"({"schema": "cutover.verify_report.v1", "ok": true, "finding_count": 0, "manifest": {"sha256": "00"}})");
  GateInputs other;
  other.verify_report_path = tmp_.file("other.json");
  EXPECT_NE(missing(*advance_to("verify", other)).find("a verify report for the group's manifest"), std::string::npos);
  ASSERT_TRUE(advance_to("verify", none)->decision.allowed());

  // canary: no bundle, no keys; then an unsigned-enough bundle.
  auto bare = advance_to("canary", none);
  EXPECT_NE(missing(*bare).find("a signed evidence bundle: pass --evidence DIR"), std::string::npos);
  EXPECT_NE(missing(*bare).find("trusted keys"), std::string::npos);
  std::string dir = tmp_.file("one-signer");
  ASSERT_TRUE(collect(dir));
  ASSERT_TRUE(sign_bundle(base::real_file_system(), dir, keys_[0]));
  auto short_threshold = advance_to("canary", signed_inputs(dir));
  EXPECT_NE(missing(*short_threshold).find("threshold not met: 1 of the required 2"), std::string::npos)
      << missing(*short_threshold);

  // canary: a backup gone since the bundle was signed.
  std::string good = signed_bundle("good");
  std::string backup = *record_.stores[0].backup_path;
  std::string backup_bytes = read_text(backup);
  ASSERT_EQ(::unlink(backup.c_str()), 0);
  auto gone = advance_to("canary", signed_inputs(good));
  EXPECT_NE(missing(*gone).find("is no longer retained"), std::string::npos) << missing(*gone);
  write_text(backup, backup_bytes);
  ASSERT_TRUE(advance_to("canary", signed_inputs(good))->decision.allowed());
  ASSERT_TRUE(advance_to("cutover", signed_inputs(good))->decision.allowed());

  // contract: neither canary nor drill in the bundle.
  auto empty = advance_to("contract", signed_inputs(good));
  EXPECT_NE(missing(*empty).find("a canary window"), std::string::npos);
  EXPECT_NE(missing(*empty).find("a rollback drill"), std::string::npos);

  // contract: an unhealthy canary and a drill from another release train.
  FakeControl control;
  auto other_train = drill(control, "billing_l402", "train-2");
  write_text(tmp_.file("drill.json"), other_train->to_json().canonical());
  JsonValue samples = healthy_samples("billing_l402", 300);
  write_text(tmp_.file("samples.json"), samples.canonical());
  CollectOptions o;
  o.drill_report_path = tmp_.file("drill.json");
  o.canary_samples_path = tmp_.file("samples.json");
  auto bad = advance_to("contract", signed_inputs(signed_bundle("bad", o)));
  EXPECT_NE(missing(*bad).find("a healthy canary window: stage 5%: held 300 s"), std::string::npos) << missing(*bad);
  EXPECT_NE(missing(*bad).find("a rollback drill from the same release train: the drill is from 'train-2'"),
            std::string::npos)
      << missing(*bad);
  auto states = group_states(*read_ledger(base::real_file_system(), ledger_));
  EXPECT_EQ((*states)[0].phase, Phase::cutover);
}

TEST_F(GateTest, ARefusedThresholdIsAUsageError) {
  GateInputs in = signed_inputs("x");
  in.threshold = 4;
  auto r = advance_to("expand", in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::invalid_argument);
  in.threshold = 0;
  EXPECT_FALSE(advance_to("expand", in));
}

TEST_F(GateTest, ALedgerWithAValidChainButSkippedPhaseIsNotTrusted) {
  ASSERT_TRUE(advance_to("expand", GateInputs{})->decision.allowed());
  // Forge a record that jumps to canary, with a correct chain.
  auto writer = LedgerWriter::open(base::real_file_system(), ledger_);
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->append("billing_l402", "canary", JsonValue::object(), "", clock_));
  writer->reset();
  auto ledger = read_ledger(base::real_file_system(), ledger_);
  ASSERT_TRUE(ledger);
  auto states = group_states(*ledger);
  ASSERT_FALSE(states);
  EXPECT_NE(states.error().message().find("line 2: group billing_l402 enters canary after expand"), std::string::npos)
      << states.error().message();
  EXPECT_FALSE(destructive_changes_allowed(*ledger, "billing_l402"));
  EXPECT_FALSE(advance_to("migrate", GateInputs{}));
}

}  // namespace
}  // namespace cutover::evidence
