// Fixtures shared by evidence_test.cc, gates_test.cc and drill_test.cc: a
// fixed clock, a fake control server for the drill, healthy canary samples,
// and the chain Migrated (a real backfill) -> BundleTest (signing keys,
// collect and verify) -> GateTest (the ledger and the gates).
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cutover/backfill/backfill.h"
#include "cutover/base/clock.h"
#include "cutover/drill/drill.h"
#include "cutover/drill/route_control.h"
#include "cutover/evidence/bundle.h"
#include "cutover/evidence/canary_samples.h"
#include "cutover/evidence/json_value.h"
#include "cutover/evidence/keys.h"
#include "cutover/gates/gates.h"
#include "cutover/hash/ed25519.h"
#include "cutover/manifest/manifest.h"
#include "cutover/store/fixtures.h"
#include "cutover/store/store_spec.h"
#include "test_util.h"

namespace cutover::evidence_fixtures {

using testing::write_text;

class FixedClock final : public base::Clock {
 public:
  int64_t now_ns() override { return now_; }
  int64_t now_ = int64_t{1700000000} * 1000000000;
};

// Canary samples.
inline std::string rfc(int64_t unix_seconds) { return base::rfc3339_utc(unix_seconds * 1000000000); }

// Readings every `step` seconds for `hold` seconds per stage, stages back to back.
inline evidence::JsonValue healthy_samples(const std::string& group, int64_t hold = 600, int64_t step = 60) {
  evidence::JsonValue list = evidence::JsonValue::array();
  int64_t t = 1700000000;
  for (uint64_t stage : {5, 25, 50, 100}) {
    for (int64_t s = 0; s <= hold; s += step) {
      list.push(evidence::JsonValue::object()
                    .set_u64("stage", stage)
                    .set("time", rfc(t + s))
                    .set_u64("requests", 1000)
                    .set_u64("errors_5xx", 9)
                    .set_f64("p95_ms", 120)
                    .set_f64("baseline_p95_ms", 100));
    }
    t += hold + step;
  }
  return evidence::JsonValue::object()
      .set("schema", evidence::k_canary_samples_schema)
      .set("group", group)
      .set("samples", std::move(list));
}

// ---------------------------------------------------------------------------
// The rollback drill against a fake control server.

class FakeControl final : public drill::RouteControl {
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

  Result<evidence::JsonValue> status() override {
    calls.push_back("status");
    evidence::JsonValue list = evidence::JsonValue::array();
    for (const auto& [name, g] : groups) {
      evidence::JsonValue prefixes = evidence::JsonValue::array();
      for (const auto& p : g.prefixes) prefixes.push(evidence::JsonValue::string(p));
      list.push(evidence::JsonValue::object()
                    .set("domain", name)
                    .set("route_prefixes", std::move(prefixes))
                    .set("rollback_target", g.rollback));
    }
    evidence::JsonValue ov = evidence::JsonValue::object();
    for (const auto& [k, v] : overrides) ov.set(k, v);
    return evidence::JsonValue::object().set("route_groups", std::move(list)).set("domain_overrides", std::move(ov));
  }

  Result<evidence::JsonValue> evaluate(std::string_view path) override {
    calls.push_back("evaluate " + std::string(path));
    if (fail_evaluate) return make_error(ErrorCode::io_error, "injected: evaluate failed");
    for (const auto& [name, g] : groups) {
      for (const auto& p : g.prefixes) {
        if (path == p || (p != "/" && path.rfind(p + "/", 0) == 0)) {
          auto o = overrides.find(name);
          evidence::JsonValue d = evidence::JsonValue::object()
                                      .set("path", path)
                                      .set("route_domain", name)
                                      .set("rollback_target", g.rollback);
          if (o != overrides.end()) return d.set("target", o->second).set("reason", "domain_override");
          return d.set("target", "rust_shell").set("reason", "mode_rust");
        }
      }
    }
    return evidence::JsonValue::object()
        .set("path", path)
        .set("target", "legacy")
        .set("reason", "legacy_route_default");
  }

  Result<evidence::JsonValue> set_group_override(std::string_view group, std::string_view target) override {
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

  Result<drill::DrillReport> drill(FakeControl& control, const std::string& group = "billing_l402",
                                   const std::string& train = "") {
    drill::DrillOptions o;
    o.manifest_path = manifest_;
    o.group = group;
    o.release_train = train;
    o.scratch_dir = tmp_.file("scratch-" + std::to_string(++scratch_n_));
    return drill::run_drill(o, control, base::real_file_system(), clock_);
  }

  testing::TempDir tmp_;
  FixedClock clock_;
  store::SpecRegistry specs_ = store::SpecRegistry::with_builtins();
  std::string stores_;
  std::string manifest_;
  manifest::Manifest record_;
  int scratch_n_ = 0;
};

// ---------------------------------------------------------------------------
// The bundle

class BundleTest : public Migrated {
 protected:
  void SetUp() override {
    Migrated::SetUp();
    for (const char* name : {"alice", "bob", "carol"}) {
      auto pair = evidence::write_new_key_pair(base::real_file_system(), tmp_.file(name));
      ASSERT_TRUE(pair);
      keys_.push_back(*evidence::load_private_key(base::real_file_system(), pair->private_path));
      pubs_.push_back(pair->public_path);
    }
  }

  Result<evidence::CollectResult> collect(const std::string& dir, evidence::CollectOptions o = {}) {
    o.manifest_path = manifest_;
    o.out_dir = dir;
    return evidence::collect_bundle(o, specs_, base::real_file_system(), clock_);
  }
  evidence::BundleCheck check(const std::string& dir, std::vector<std::string> trust, size_t threshold) {
    evidence::VerifyBundleOptions o;
    o.trusted = *evidence::load_trusted_keys(base::real_file_system(), trust);
    o.threshold = threshold;
    return evidence::verify_bundle(base::real_file_system(), dir, o);
  }
  static bool mentions(const evidence::BundleCheck& c, const std::string& needle) {
    return evidence::join_problems(c.problems).find(needle) != std::string::npos;
  }

  std::vector<hash::Ed25519PrivateKey> keys_;
  std::vector<std::string> pubs_;
};

// ---------------------------------------------------------------------------
// Gates, expand to contract.

class GateTest : public BundleTest {
 protected:
  gates::GateInputs signed_inputs(const std::string& dir) {
    gates::GateInputs in;
    in.evidence_dir = dir;
    in.trusted = *evidence::load_trusted_keys(base::real_file_system(), pubs_);
    in.threshold = 2;
    return in;
  }
  // The first expand starts the ledger (--new-ledger).
  Result<gates::AdvanceResult> advance_to(const std::string& phase, gates::GateInputs in,
                                          const std::string& group = "billing_l402") {
    in.new_ledger = phase == "expand" && !testing::path_exists(ledger_);
    // Issue 17: expand needs both reports, made after the ledger's last record.
    if (phase == "expand" && in.expand_report_path.empty()) {
      testing::write_expand_evidence(tmp_.file("expand-" + group), base::rfc3339_utc(clock_.now_ns() + 1000), in);
    }
    return gates::advance(base::real_file_system(), ledger_, group, phase, in, specs_, clock_);
  }
  std::string signed_bundle(const std::string& name, evidence::CollectOptions o = {}) {
    std::string dir = tmp_.file(name);
    auto c = collect(dir, o);
    EXPECT_TRUE(c) << c.error().message();
    EXPECT_TRUE(evidence::sign_bundle(base::real_file_system(), dir, keys_[0]));
    EXPECT_TRUE(evidence::sign_bundle(base::real_file_system(), dir, keys_[1]));
    return dir;
  }
  static std::string missing(const gates::AdvanceResult& r) { return evidence::join_problems(r.decision.missing); }

  std::string ledger_ = tmp_.file("ledger.jsonl");
};

}  // namespace cutover::evidence_fixtures
