// Gates (SPEC §7): canary health; the ledger's chain; group names; the
// gates from expand to contract on a real backfill and signed bundles.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include "cutover/evidence/bundle.h"
#include "cutover/evidence/canary_samples.h"
#include "cutover/gates/canary.h"
#include "cutover/gates/gates.h"
#include "cutover/gates/ledger.h"
#include "cutover/hash/sha256.h"
#include "evidence_fixtures.h"
#include "test_util.h"

namespace cutover::gates {
namespace {

using evidence_fixtures::FakeControl;
using evidence_fixtures::FixedClock;
using evidence_fixtures::GateTest;
using evidence_fixtures::healthy_samples;
using evidence_fixtures::rfc;
using testing::read_text;
using testing::write_text;

// ---------------------------------------------------------------------------
// Canary health

CanaryHealth health_of(const evidence_fixtures::SamplesFile& samples, const CanaryThresholds& t = {}) {
  auto parsed = evidence::parse_canary_samples(samples.text(), "s.json");
  EXPECT_TRUE(parsed) << parsed.error().message();
  return evaluate_canary(*parsed, t);
}

TEST(Canary, ReferenceNumbersPassAtTheirEdges) {
  CanaryHealth h = health_of(healthy_samples("billing_l402"));
  EXPECT_TRUE(h.healthy()) << json::join_problems(h.problems);
  ASSERT_EQ(h.stages.size(), 4u);
  EXPECT_EQ(h.stages[0].held_seconds, 600);
  EXPECT_DOUBLE_EQ(h.stages[3].worst_p95_ratio, 1.2);
}

TEST(Canary, EachFailureNamesItsReason) {
  using evidence_fixtures::Reading;
  using evidence_fixtures::SamplesFile;
  struct Case {
    const char* name;
    std::function<void(std::vector<Reading>&)> change;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"5xx at 1%", [](std::vector<Reading>& r) { r[3].errors_5xx = 10; },
       "5xx rate 1.00% (10 of 1000) is not under 1.00%"},
      {"p95 21% above", [](std::vector<Reading>& r) { r[12].p95_ms = 121; },
       "p95 121 ms is 21.00% above the baseline 100 ms"},
      {"no requests", [](std::vector<Reading>& r) { r[0].requests = r[0].errors_5xx = 0; }, "no requests"},
      {"no baseline", [](std::vector<Reading>& r) { r[0].baseline_p95_ms = 0; }, "no stable baseline p95"},
      {"stage missing",
       [](std::vector<Reading>& r) {
         r.erase(std::remove_if(r.begin(), r.end(), [](const Reading& x) { return x.stage == 50; }), r.end());
       },
       "stage 50%: no readings (missing data is never a pass)"},
      {"held too short", [](std::vector<Reading>& r) { r.erase(r.begin() + 10); },  // the last reading of stage 5%
       "stage 5%: held 540 s"},
      {"a gap", [](std::vector<Reading>& r) { r.erase(r.begin() + 2, r.begin() + 5); },
       "no readings for 240 s between"},
      {"unknown stage", [](std::vector<Reading>& r) { r[0].stage = 10; }, "stage 10% is not one of the rollout stages"},
      {"stages out of order", [](std::vector<Reading>& r) { r[20].time = rfc(1700000000); }, "before stage 5% ended"},
  };
  for (const auto& c : cases) {
    SamplesFile doc = healthy_samples("g");
    c.change(doc.samples);
    CanaryHealth h = health_of(doc);
    EXPECT_FALSE(h.healthy()) << c.name;
    EXPECT_NE(json::join_problems(h.problems).find(c.reason), std::string::npos)
        << c.name << ": " << json::join_problems(h.problems);
  }
  // An empty samples file is never a pass.
  CanaryHealth empty = health_of(SamplesFile{"g", {}});
  EXPECT_FALSE(empty.healthy());
  EXPECT_EQ(empty.problems.size(), 4u);
}

TEST(Canary, ThresholdsAreConfigurable) {
  evidence_fixtures::SamplesFile doc = healthy_samples("g", 300, 30);
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
  auto r = evidence::parse_canary_samples(
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
    auto r = (*writer)->append(group, phase, testing::object_of({{"n", phase}}), "", clock_);
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
  EXPECT_EQ(json::string_at(ledger->records[1].evidence.root(), "n"), "migrate");
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
  auto r = (*writer)->append("g", "migrate", testing::object_of(), "", clock_);
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
  auto r = (*writer)->append("g", "migrate", testing::object_of(), "", clock_);
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
  write_text(tmp_.file("drill.json"), evidence_fixtures::report_text(*drill_report));
  write_text(tmp_.file("samples.json"), healthy_samples("billing_l402").text());
  evidence::CollectOptions o;
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
  ASSERT_TRUE(evidence::sign_bundle(base::real_file_system(), dir, keys_[0]));
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
  write_text(tmp_.file("drill.json"), evidence_fixtures::report_text(*other_train));
  write_text(tmp_.file("samples.json"), healthy_samples("billing_l402", 300).text());
  evidence::CollectOptions o;
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

// A file system that cannot read one path (an I/O error, not a missing file).
class UnreadablePath final : public testing::ForwardingFileSystem {
 public:
  UnreadablePath(base::FileSystem& target, std::string path) : ForwardingFileSystem(target), path_(std::move(path)) {}
  Result<base::Buffer> read_file(const std::string& path) override {
    if (path == path_) return make_error(ErrorCode::io_error, "injected: read failed");
    return target_.read_file(path);
  }

 private:
  std::string path_;
};

TEST_F(GateTest, AnUnreadableManifestIsAnIoErrorNotMissingEvidence) {
  ASSERT_TRUE(advance_to("expand", GateInputs{})->decision.allowed());
  GateInputs m;
  m.manifest_path = manifest_;
  UnreadablePath fs(base::real_file_system(), base::absolute_path(manifest_));
  auto r = advance(fs, ledger_, "billing_l402", "migrate", m, specs_, clock_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::io_error);
  EXPECT_NE(r.error().message().find("injected: read failed"), std::string::npos) << r.error().message();
  EXPECT_EQ(read_ledger(base::real_file_system(), ledger_)->records.size(), 1u);
  // A manifest that is not there is still missing evidence (exit 1), not an error.
  m.manifest_path = tmp_.file("no-such-manifest.json");
  auto missing_one = advance_to("migrate", m);
  ASSERT_TRUE(missing_one);
  EXPECT_FALSE(missing_one->decision.allowed());
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
  ASSERT_TRUE((*writer)->append("billing_l402", "canary", testing::object_of(), "", clock_));
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
}  // namespace cutover::gates
