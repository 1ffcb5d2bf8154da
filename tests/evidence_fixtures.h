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
#include "cutover/evidence/keys.h"
#include "cutover/gates/gates.h"
#include "cutover/hash/ed25519.h"
#include "cutover/json/document.h"
#include "cutover/json/field_reader.h"
#include "cutover/json/writer.h"
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

// A canary samples file (docs/formats/canary-samples.md) as plain values,
// so that a test can change a reading before writing it.
struct Reading {
  uint64_t stage = 0;
  std::string time;
  uint64_t requests = 1000;
  uint64_t errors_5xx = 9;
  double p95_ms = 120;
  double baseline_p95_ms = 100;
};

struct SamplesFile {
  std::string group;
  std::vector<Reading> samples;

  std::string text() const {
    json::Writer w = json::Writer::canonical();
    w.begin_object().member("schema", evidence::k_canary_samples_schema).member("group", group);
    w.key("samples").begin_array();
    for (const auto& r : samples) {
      w.begin_object().member("stage", r.stage).member("time", r.time).member("requests", r.requests);
      w.member("errors_5xx", r.errors_5xx).member_f64("p95_ms", r.p95_ms);
      w.member_f64("baseline_p95_ms", r.baseline_p95_ms).end_object();
    }
    return w.end_array().end_object().take();
  }
};

// Readings every `step` seconds for `hold` seconds per stage, stages back to back.
inline SamplesFile healthy_samples(const std::string& group, int64_t hold = 600, int64_t step = 60) {
  SamplesFile file{group, {}};
  int64_t t = 1700000000;
  for (uint64_t stage : {5, 25, 50, 100}) {
    for (int64_t s = 0; s <= hold; s += step) {
      Reading r;
      r.stage = stage;
      r.time = rfc(t + s);
      file.samples.push_back(r);
    }
    t += hold + step;
  }
  return file;
}

// A drill report's canonical text, as `cutover drill --out` writes it.
inline std::string report_text(const drill::DrillReport& report) {
  json::Writer w = json::Writer::canonical();
  report.write_json(w);
  return w.take();
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

  Result<json::Document> status() override {
    calls.push_back("status");
    json::Writer w = json::Writer::document();
    w.begin_object().key("route_groups").begin_array();
    for (const auto& [name, g] : groups) {
      w.begin_object().member("domain", name).member("rollback_target", g.rollback).key("route_prefixes");
      w.begin_array();
      for (const auto& p : g.prefixes) w.string(p);
      w.end_array().end_object();
    }
    w.end_array().key("domain_overrides").begin_object();
    for (const auto& [k, v] : overrides) w.member(k, v);
    w.end_object().end_object();
    return w.take_document();
  }

  Result<json::Document> evaluate(std::string_view path) override {
    calls.push_back("evaluate " + std::string(path));
    if (fail_evaluate) return make_error(ErrorCode::io_error, "injected: evaluate failed");
    json::Writer w = json::Writer::document();
    w.begin_object().member("path", path);
    for (const auto& [name, g] : groups) {
      for (const auto& p : g.prefixes) {
        if (path == p || (p != "/" && path.rfind(p + "/", 0) == 0)) {
          auto o = overrides.find(name);
          w.member("route_domain", name).member("rollback_target", g.rollback);
          if (o != overrides.end()) {
            w.member("target", o->second).member("reason", "domain_override");
          } else {
            w.member("target", "rust_shell").member("reason", "mode_rust");
          }
          w.end_object();
          return w.take_document();
        }
      }
    }
    w.member("target", "legacy").member("reason", "legacy_route_default").end_object();
    return w.take_document();
  }

  Result<json::Document> set_group_override(std::string_view group, std::string_view target) override {
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
    return json::join_problems(c.problems).find(needle) != std::string::npos;
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
  static std::string missing(const gates::AdvanceResult& r) { return json::join_problems(r.decision.missing); }

  std::string ledger_ = tmp_.file("ledger.jsonl");
};

}  // namespace cutover::evidence_fixtures
