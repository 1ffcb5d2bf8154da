// The gates from migrate to contract: a complete manifest, a passing
// verification of it, and a signed bundle (with a healthy canary window and a
// passing drill for contract), all still fresh: the stores they name hash to
// their after_sha256 now.
#include <optional>
#include <string>

#include "cutover/gates/gate_checks.h"
#include "cutover/hash/file_hash.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/parser.h"
#include "cutover/manifest/manifest.h"
#include "cutover/manifest/manifest_file.h"
#include "cutover/verify/verify.h"

namespace cutover::gates {
namespace {

// Evidence is fresh only while the stores it names are still what it says:
// each store is hashed again now and must equal its after_sha256 (a store
// rolled back, or written since, makes the evidence stale).
void check_stores_fresh(base::FileSystem& fs, const manifest::Manifest& m, const std::string& source, GateDecision& d) {
  uint64_t rehashed = 0;
  for (const auto& rec : m.stores) {
    auto digest = hash::hash_file(fs, rec.path);
    if (!digest) {
      d.missing.push_back("fresh evidence: store [" + rec.store + "] " + rec.path + " named in " + source +
                          " cannot be hashed now (" + digest.error().message() + ")");
      continue;
    }
    ++rehashed;
    if (digest->sha256 != rec.after_sha256) {
      d.missing.push_back("fresh evidence: store [" + rec.store + "] " + rec.path + " hashes to " + digest->sha256 +
                          " now, not after_sha256 " + rec.after_sha256 + " of " + source +
                          " (it was written or rolled back since): migrate and verify again, and collect new evidence");
    }
  }
  add_evidence(d, [&](json::Writer& w) { w.member("stores_rehashed", rehashed); });
}

// The manifest at `path`, which must still hash to `sha256`, for
// check_stores_fresh. Adds a missing piece and returns nullopt otherwise.
std::optional<manifest::Manifest> manifest_as_recorded(base::FileSystem& fs, const std::string& path,
                                                       const std::string& sha256, GateDecision& d) {
  auto bytes = fs.read_file(path);
  if (!bytes) {
    d.missing.push_back("the manifest " + path + " cannot be read: " + bytes.error().message());
    return std::nullopt;
  }
  if (hash::sha256_hex(bytes->view()) != sha256) {
    d.missing.push_back("the manifest " + path + " has changed since it was recorded (SHA-256 now " +
                        hash::sha256_hex(bytes->view()) + ", recorded " + sha256 + ")");
    return std::nullopt;
  }
  auto parsed = manifest::parse_manifest(bytes->view(), path);
  if (!parsed) {
    d.missing.push_back("a usable manifest: " + parsed.error().message());
    return std::nullopt;
  }
  return *parsed;
}

double as_double(const json::Node& n) {
  if (n.kind() == json::Kind::u64) return static_cast<double>(n.as_u64());
  if (n.kind() == json::Kind::i64) return static_cast<double>(n.as_i64());
  return n.as_f64();
}

Result<std::string> read_file_text(base::FileSystem& fs, const std::string& path, std::string_view what) {
  TRY_ASSIGN_CTX(auto bytes, fs.read_file(path), "cannot read " + std::string(what) + " " + path);
  return std::string(bytes.view());
}

}  // namespace

std::optional<evidence::BundleContents> check_signed_bundle(base::FileSystem& fs, const Ledger& ledger,
                                                            const GroupState& state, const GateInputs& inputs,
                                                            GateDecision& d) {
  bool usable = true;
  if (inputs.evidence_dir.empty()) {
    d.missing.push_back("a signed evidence bundle: pass --evidence DIR (cutover evidence collect, then evidence sign)");
    usable = false;
  }
  if (inputs.trusted.empty()) {
    d.missing.push_back(
        "trusted keys to check the bundle's signatures: pass --trust PUBKEY for each authorised signer");
    usable = false;
  }
  if (!usable) return std::nullopt;
  evidence::VerifyBundleOptions vo;
  vo.trusted = inputs.trusted;
  vo.threshold = inputs.threshold;
  vo.check_backups = true;
  evidence::BundleCheck check = evidence::verify_bundle(fs, inputs.evidence_dir, vo);
  for (const auto& p : check.problems) d.missing.push_back("evidence bundle " + inputs.evidence_dir + ": " + p);
  if (!check.contents.manifest_sha256.empty() && check.contents.manifest_sha256 != state.manifest_sha256) {
    d.missing.push_back("evidence bundle " + inputs.evidence_dir + " is for manifest " +
                        check.contents.manifest_sha256 + ", but the group's migrate step recorded manifest " +
                        state.manifest_sha256 + " (" + state.manifest_path + ")");
  }
  // A bundle that pinned the ledger's head: this ledger must still hold it
  // (a ledger cut back to before a rollback record must not pass).
  if (const auto& pin = check.contents.ledger) {
    LedgerHead head{pin->records, pin->head_sha256};
    if (pin->path != base::absolute_path(ledger.path)) {
      d.missing.push_back("evidence bundle " + inputs.evidence_dir + " was collected for ledger " + pin->path +
                          ", not " + base::absolute_path(ledger.path));
    } else if (auto held = check_ledger_head(ledger, head); !held) {
      d.missing.push_back("evidence bundle " + inputs.evidence_dir + " pinned the ledger's head " + head.text() + ": " +
                          held.error().message());
    }
  }
  add_evidence(d, [&](json::Writer& w) {
    w.member("bundle", base::absolute_path(inputs.evidence_dir));
    w.member("statement_sha256", check.contents.statement_sha256);
    w.member("manifest_sha256", check.contents.manifest_sha256).member("release_train", check.contents.release_train);
    w.key("signers").begin_array();
    for (const auto& k : check.trusted_signers) w.string(k);
    w.end_array().member("threshold", inputs.threshold).member("backups_rechecked", check.contents.backups.size());
  });
  // Evidence from before the group's last rollback is stale.
  if (!state.rolled_back_at.empty() && !check.contents.collected_at.empty() &&
      !later(check.contents.collected_at, state.rolled_back_at)) {
    d.missing.push_back("evidence collected after the group's rollback: bundle " + inputs.evidence_dir +
                        " was collected at " + check.contents.collected_at + ", the rollback was recorded at " +
                        state.rolled_back_at + "; collect and sign a new bundle");
  }
  if (check.ok()) {
    std::string path = base::join_path(inputs.evidence_dir, std::string(evidence::k_manifest_file));
    if (auto m = manifest_as_recorded(fs, path, check.contents.manifest_sha256, d)) {
      check_stores_fresh(fs, *m, "bundle " + inputs.evidence_dir, d);
    }
  }
  if (!check.ok()) return std::nullopt;
  return check.contents;
}

Status gate_migrate(base::FileSystem& fs, const GateInputs& inputs, GateDecision& d) {
  std::string path = inputs.manifest_path;
  if (path.empty() && !inputs.evidence_dir.empty())
    path = base::join_path(inputs.evidence_dir, std::string(evidence::k_manifest_file));
  if (path.empty()) {
    d.missing.push_back("a complete manifest: pass --manifest WORK/manifests/<run>.json (written by cutover backfill)");
    return {};
  }
  auto file = manifest::load_manifest_file(fs, path);
  if (!file) {
    ErrorCode code = file.error().code();
    if (code == ErrorCode::io_error || code == ErrorCode::permission_denied) return tl::unexpected(file.error());
    d.missing.push_back("a usable manifest: " + file.error().message());
    return {};
  }
  if (file->manifest.status != manifest::k_status_complete) {
    d.missing.push_back("a complete manifest: " + path + " has status '" + file->manifest.status +
                        "' (finish or roll back that run, then backfill again)");
  }
  add_evidence(d, [&](json::Writer& w) {
    w.member("manifest_path", file->path).member("manifest_sha256", file->sha256).member("run_id", file->run_id);
    w.member("stores", file->manifest.stores.size());
  });
  check_stores_fresh(fs, file->manifest, "manifest " + path, d);
  return {};
}

void gate_verify(base::FileSystem& fs, const GroupState& state, const GateInputs& inputs,
                 const store::SpecRegistry& specs, base::Clock& clock, GateDecision& d) {
  if (auto m = manifest_as_recorded(fs, state.manifest_path, state.manifest_sha256, d)) {
    check_stores_fresh(fs, *m, "the manifest recorded at migrate", d);
  }
  std::string text;
  std::string source;
  std::string report_path;
  if (!inputs.verify_report_path.empty() || !inputs.evidence_dir.empty()) {
    report_path = !inputs.verify_report_path.empty()
                      ? inputs.verify_report_path
                      : base::join_path(inputs.evidence_dir, std::string(evidence::k_verify_report_file));
    source = inputs.verify_report_path.empty() ? "bundle" : "given";
    auto t = read_file_text(fs, report_path, "verify report");
    if (!t) {
      d.missing.push_back("a passing verify report: " + t.error().message());
      return;
    }
    text = std::move(*t);
  } else {
    // Verify now, the manifest the migrate step recorded.
    source = "ran";
    auto current = hash::sha256_file_hex(fs, state.manifest_path);
    if (!current || *current != state.manifest_sha256) {
      d.missing.push_back(
          "the manifest recorded at migrate, " + state.manifest_path + ", " +
          (current ? "has changed since (SHA-256 now " + *current + ", recorded " + state.manifest_sha256 + ")"
                   : "cannot be read: " + current.error().message()));
      return;
    }
    verify::VerifyOptions vo;
    vo.manifest_path = state.manifest_path;
    auto report = verify::verify_manifest(vo, specs, fs, clock);
    if (!report) {
      d.missing.push_back("a passing verification: " + report.error().message());
      return;
    }
    text = verify::to_json(*report);
  }
  auto doc = json::parse(text);
  if (!doc) {
    d.missing.push_back("a passing verify report: " + (report_path.empty() ? "the verify report" : report_path) +
                        " is not valid JSON: " + doc.error().message());
    return;
  }
  const json::Node& root = doc->root();
  std::string schema(json::string_at(root, "schema"));
  const json::Node* ok = root.find("ok");
  const json::Node* count = root.find("finding_count");
  std::string manifest_sha(root.find("manifest") != nullptr ? json::string_at(*root.find("manifest"), "sha256") : "");
  if (schema != verify::k_report_schema) {
    d.missing.push_back("a verify report: " + (report_path.empty() ? std::string("the report") : report_path) +
                        " has schema '" + schema + "', not " + std::string(verify::k_report_schema));
  } else if (ok == nullptr || !ok->is_bool() || !ok->as_bool() || count == nullptr || !count->is_number() ||
             as_double(*count) != 0) {
    d.missing.push_back("a passing verification: the verify report has " +
                        (count != nullptr && count->is_number()
                             ? std::to_string(count->kind() == json::Kind::u64 ? count->as_u64() : 0)
                             : std::string("?")) +
                        " finding(s); fix them and verify again");
  }
  if (manifest_sha != state.manifest_sha256) {
    d.missing.push_back("a verify report for the group's manifest: the report is about manifest " + manifest_sha +
                        ", the migrate step recorded " + state.manifest_sha256 + " (" + state.manifest_path + ")");
  }
  add_evidence(d, [&](json::Writer& w) {
    w.member("report_source", source);
    w.member_or_null("report_path", report_path.empty() ? std::string() : base::absolute_path(report_path));
    w.member("report_sha256", hash::sha256_hex(text)).member("manifest_sha256", manifest_sha);
  });
}

void gate_contract(const GroupState& state, const evidence::BundleContents& contents, const GateInputs& inputs,
                   GateDecision& d) {
  if (!contents.canary) {
    d.missing.push_back("a canary window: the bundle holds no canary samples (collect it with --canary-samples FILE)");
  } else {
    if (contents.canary->group != state.group) {
      d.missing.push_back("canary samples for group " + state.group + ": the bundle's samples are for group '" +
                          contents.canary->group + "'");
    }
    CanaryHealth health = evaluate_canary(*contents.canary, inputs.canary);
    for (const auto& p : health.problems) d.missing.push_back("a healthy canary window: " + p);
    // The window must be observed after the group's canary step (not before,
    // and not before a rollback that sent the group back).
    auto canary_ns = base::parse_rfc3339(state.canary_at);
    size_t early = 0;
    std::string first;
    for (const auto& s : contents.canary->samples) {
      if (!canary_ns || s.time_ns < *canary_ns) {
        if (early++ == 0) first = s.time;
      }
    }
    if (early > 0) {
      d.missing.push_back("canary samples taken after the group's canary record (" +
                          (state.canary_at.empty() ? std::string("none") : state.canary_at) +
                          "): " + std::to_string(early) + " reading(s) are from before it, the first at " + first +
                          "; export the window observed since the canary step");
    }
    add_evidence(d, [&](json::Writer& w) {
      health.write_json(w.key("canary"));
      inputs.canary.write_json(w.key("canary_thresholds"));
    });
  }
  if (!contents.drill) {
    d.missing.push_back("a rollback drill: the bundle holds no drill report (run cutover drill --group " + state.group +
                        ", then collect with --drill-report FILE)");
    return;
  }
  const evidence::DrillSummary& drill = *contents.drill;
  if (!drill.ok) d.missing.push_back("a passing rollback drill: the drill report says it failed");
  if (drill.group != state.group) {
    d.missing.push_back("a rollback drill of group " + state.group + ": the drill was of group '" + drill.group + "'");
  }
  if (drill.release_train != state.release_train) {
    d.missing.push_back("a rollback drill from the same release train: the drill is from '" + drill.release_train +
                        "', the group's canary and cutover evidence from '" + state.release_train + "'");
  }
  add_evidence(d, [&](json::Writer& w) {
    w.key("drill").begin_object().member("group", drill.group).member("release_train", drill.release_train);
    w.member("manifest_sha256", drill.manifest_sha256).member("finished_at", drill.finished_at);
    w.member("ok", drill.ok).end_object();
  });
}

}  // namespace cutover::gates
