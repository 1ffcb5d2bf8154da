#include "cutover/gates/gates.h"

#include <algorithm>

#include "cutover/hash/file_hash.h"
#include "cutover/hash/sha256.h"
#include "cutover/manifest/manifest.h"
#include "cutover/manifest/manifest_file.h"
#include "cutover/routing/config.h"
#include "cutover/verify/verify.h"

namespace cutover::gates {
namespace {

std::string phase_list() { return "expand, migrate, verify, canary, cutover, contract"; }

std::optional<Phase> next_phase(Phase p) {
  if (p == Phase::contract) return std::nullopt;
  return static_cast<Phase>(static_cast<int>(p) + 1);
}

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
  d.evidence.set_u64("stores_rehashed", rehashed);
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

// True when RFC 3339 time `a` is strictly after `b` (both parse).
bool later(const std::string& a, const std::string& b) {
  auto ta = base::parse_rfc3339(a);
  auto tb = base::parse_rfc3339(b);
  return ta && tb && *ta > *tb;
}

// The signed bundle of canary, cutover and contract: verified, for the
// recorded manifest, backups still retained. Fills `evidence`; returns the
// contents when the bundle verified.
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
  evidence::JsonValue signers = evidence::JsonValue::array();
  for (const auto& k : check.trusted_signers) signers.push(evidence::JsonValue::string(k));
  d.evidence.set("bundle", base::absolute_path(inputs.evidence_dir))
      .set("statement_sha256", check.contents.statement_sha256)
      .set("manifest_sha256", check.contents.manifest_sha256)
      .set("release_train", check.contents.release_train)
      .set("signers", std::move(signers))
      .set_u64("threshold", inputs.threshold)
      .set_u64("backups_rechecked", check.contents.backups.size());
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

Result<std::string> read_file_text(base::FileSystem& fs, const std::string& path, std::string_view what) {
  auto bytes = fs.read_file(path);
  if (!bytes) return tl::unexpected(bytes.error().with_context("cannot read " + std::string(what) + " " + path));
  return std::string(bytes->view());
}

// expand (issue 17): both reports, passing and fresh; a route config given
// is recorded (so that rule 5 knows every group later) and must name the
// group. The routes report must be about the route config the gate uses
// (--routes, else the one recorded in the ledger) and hold the group; the
// expand report must cover every store named to the gate, each still
// hashing to what the report saw.
// The route config the expand gate checks against: --routes, else the one the ledger recorded.
std::optional<ConfiguredGroups> expand_route_config(base::FileSystem& fs, const Ledger& ledger,
                                                    const std::string& group, const GateInputs& inputs,
                                                    GateDecision& d) {
  std::optional<ConfiguredGroups> configured;
  if (!inputs.routes_path.empty()) {
    auto read = read_configured_groups(fs, inputs.routes_path);
    if (!read) {
      d.missing.push_back("a usable route config: " + read.error().message());
    } else {
      configured = std::move(*read);
      if (std::find(configured->groups.begin(), configured->groups.end(), group) == configured->groups.end()) {
        d.missing.push_back("a group of the route config: " + inputs.routes_path + " has no route group " + group +
                            " (its groups: " + evidence::join_problems(configured->groups, ", ") + ")");
      }
      d.evidence.set("routes", configured->to_json());
    }
  } else if (auto recorded = recorded_configured_groups(ledger)) {
    configured = std::move(*recorded);
  }
  return configured;
}

// Fresh: made after the ledger's last record (of any group).
void check_fresh(const Ledger& ledger, const evidence::ReportFile& f, const std::string& what, GateDecision& d) {
  std::string previous = ledger.records.empty() ? std::string() : ledger.records.back().recorded_at;
  if (!previous.empty() && !later(f.created_at, previous)) {
    d.missing.push_back("a fresh " + what + ": " + f.path + " was made at " + f.created_at +
                        ", not after the ledger's last record (" + previous + "); run the check again");
  }
}

// The routes report: passing, fresh, about the gate's route config, and the group's targets answering.
void check_routes_report(base::FileSystem& fs, const Ledger& ledger, const std::string& group, const GateInputs& inputs,
                         const std::optional<ConfiguredGroups>& configured, GateDecision& d) {
  if (inputs.routes_report_path.empty()) {
    d.missing.push_back(
        "a routes report: pass --routes-report FILE (cutover routes check --config CONFIG --out FILE): "
        "every group's rollback target must answer");
  } else if (auto routes = evidence::read_routes_report(fs, inputs.routes_report_path); !routes) {
    d.missing.push_back("a routes report: " + routes.error().message());
  } else {
    for (const auto& p : routes->problems) d.missing.push_back("a passing routes report: " + p);
    check_fresh(ledger, routes->file, "routes report", d);
    if (!configured) {
      d.missing.push_back(
          "the route config the routes report must be about: pass --routes CONFIG (the ledger records "
          "none yet)");
    } else if (routes->config_sha256 != configured->sha256) {
      d.missing.push_back("a routes report for the route config the gate uses: " + routes->file.path +
                          " checked a config with SHA-256 " + routes->config_sha256 + ", the gate uses " +
                          configured->source + "; run routes check --config on that file");
    }
    auto g = routes->groups.find(group);
    if (g == routes->groups.end()) {
      d.missing.push_back("a routes report holding group " + group + ": " + routes->file.path + " has no such group");
    } else if (!g->second) {
      d.missing.push_back("group " + group + "'s rollback and forward targets answering: " + routes->file.path +
                          " says they did not");
    }
    d.evidence.set("routes_report",
                   evidence::report_file_json(routes->file).set("config_sha256", routes->config_sha256));
  }
}

// A store the expand report covers must still be what the reader was tested on.
void check_store_unchanged(base::FileSystem& fs, const NamedStore& named, const std::string& abs,
                           const evidence::ExpandStore& seen, GateDecision& d) {
  auto info = fs.stat(abs);
  if (!info) {
    d.missing.push_back("store " + named.name + " " + abs + " cannot be examined: " + info.error().message());
  } else if (!info->exists) {
    if (seen.existed) {
      d.missing.push_back("store " + named.name + " " + abs +
                          " existed when the expand report was made and is gone now");
    }
  } else {
    auto now = hash::sha256_file_hex(fs, abs);
    if (!now) {
      d.missing.push_back("store " + named.name + " " + abs + " cannot be hashed: " + now.error().message());
    } else if (*now != seen.sha256_after) {
      d.missing.push_back("a fresh expand report for store " + named.name + " " + abs + ": it hashes to " + *now +
                          " now, the report saw " + (seen.sha256_after.empty() ? "no file" : seen.sha256_after) +
                          "; run expand check again");
    }
  }
}

// The expand report: passing, fresh, and covering every named store as it is now.
void check_expand_report(base::FileSystem& fs, const Ledger& ledger, const GateInputs& inputs, GateDecision& d) {
  if (inputs.expand_report_path.empty()) {
    d.missing.push_back(
        "an expand report: pass --expand-report FILE (cutover expand check --reader CMD --out FILE): "
        "the new release must read both store shapes");
    return;
  }
  auto expand = evidence::read_expand_report(fs, inputs.expand_report_path);
  if (!expand) {
    d.missing.push_back("an expand report: " + expand.error().message());
    return;
  }
  for (const auto& p : expand->problems) d.missing.push_back("a passing expand report: " + p);
  check_fresh(ledger, expand->file, "expand report", d);
  evidence::JsonValue covered = evidence::JsonValue::array();
  for (const auto& s : expand->stores) {
    covered.push(evidence::JsonValue::object().set("name", s.name).set("path", s.path).set("sha256", s.sha256_after));
  }
  for (const auto& named : inputs.expand_stores) {
    std::string abs = base::absolute_path(named.path);
    auto it = std::find_if(expand->stores.begin(), expand->stores.end(),
                           [&](const evidence::ExpandStore& s) { return s.name == named.name && s.path == abs; });
    if (it == expand->stores.end()) {
      d.missing.push_back("an expand report covering store " + named.name + "=" + abs + ": " + expand->file.path +
                          " does not check it; run expand check with that store");
      continue;
    }
    check_store_unchanged(fs, named, abs, *it, d);
  }
  d.evidence.set("expand_report", evidence::report_file_json(expand->file).set("stores", std::move(covered)));
}

void gate_expand(base::FileSystem& fs, const Ledger& ledger, const std::string& group, const GateInputs& inputs,
                 GateDecision& d) {
  std::optional<ConfiguredGroups> configured = expand_route_config(fs, ledger, group, inputs, d);
  check_routes_report(fs, ledger, group, inputs, configured, d);
  check_expand_report(fs, ledger, inputs, d);
}

// A manifest that cannot be read (an I/O error) is an error, not missing evidence.
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
  d.evidence.set("manifest_path", file->path)
      .set("manifest_sha256", file->sha256)
      .set("run_id", file->run_id)
      .set_u64("stores", file->manifest.stores.size());
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
  auto doc = evidence::JsonValue::parse(text, report_path.empty() ? "the verify report" : report_path);
  if (!doc) {
    d.missing.push_back("a passing verify report: " + doc.error().message());
    return;
  }
  std::string schema = doc->string_at("schema");
  const evidence::JsonValue* ok = doc->find("ok");
  const evidence::JsonValue* count = doc->find("finding_count");
  std::string manifest_sha = doc->find("manifest") != nullptr ? doc->find("manifest")->string_at("sha256") : "";
  if (schema != verify::k_report_schema) {
    d.missing.push_back("a verify report: " + (report_path.empty() ? std::string("the report") : report_path) +
                        " has schema '" + schema + "', not " + std::string(verify::k_report_schema));
  } else if (ok == nullptr || !ok->is_bool() || !ok->as_bool() || count == nullptr || !count->is_number() ||
             count->as_double() != 0) {
    d.missing.push_back("a passing verification: the verify report has " +
                        (count != nullptr && count->is_number() ? std::to_string(count->as_u64()) : std::string("?")) +
                        " finding(s); fix them and verify again");
  }
  if (manifest_sha != state.manifest_sha256) {
    d.missing.push_back("a verify report for the group's manifest: the report is about manifest " + manifest_sha +
                        ", the migrate step recorded " + state.manifest_sha256 + " (" + state.manifest_path + ")");
  }
  d.evidence.set("report_source", source)
      .set("report_path", report_path.empty() ? evidence::JsonValue::null()
                                              : evidence::JsonValue::string(base::absolute_path(report_path)))
      .set("report_sha256", hash::sha256_hex(text))
      .set("manifest_sha256", manifest_sha);
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
    d.evidence.set("canary", health.to_json()).set("canary_thresholds", inputs.canary.to_json());
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
  d.evidence.set("drill", evidence::JsonValue::object()
                              .set("group", drill.group)
                              .set("release_train", drill.release_train)
                              .set("manifest_sha256", drill.manifest_sha256)
                              .set("finished_at", drill.finished_at)
                              .set("ok", drill.ok));
}

}  // namespace

std::string_view phase_name(Phase phase) {
  switch (phase) {
    case Phase::expand:
      return "expand";
    case Phase::migrate:
      return "migrate";
    case Phase::verify:
      return "verify";
    case Phase::canary:
      return "canary";
    case Phase::cutover:
      return "cutover";
    case Phase::contract:
      return "contract";
  }
  return "unknown";
}

Result<Phase> parse_phase(std::string_view name) {
  for (Phase p : k_phases) {
    if (phase_name(p) == name) return p;
  }
  return make_error(ErrorCode::invalid_argument,
                    "unknown phase '" + std::string(name) + "'; the phases are " + phase_list());
}

std::optional<Phase> GroupState::next() const { return next_phase(phase); }

std::string gate_requirements(Phase phase) {
  switch (phase) {
    case Phase::expand:
      return "--expand-report (cutover expand check: the new release reads both store shapes) and --routes-report "
             "(cutover routes check: the group's rollback and forward targets answer), both passing and made after "
             "the ledger's last record";
    case Phase::migrate:
      return "a complete manifest (--manifest)";
    case Phase::verify:
      return "a passing verify report for the recorded manifest (--verify-report, or verify runs now)";
    case Phase::canary:
    case Phase::cutover:
      return "a signed evidence bundle for the recorded manifest, threshold met, backups still retained "
             "(--evidence DIR --trust PUBKEY... --threshold N)";
    case Phase::contract:
      return "a signed bundle holding a healthy canary window and a passing rollback drill of the group from the same "
             "release train";
  }
  return "";
}

Result<std::vector<GroupState>> group_states(const Ledger& ledger) {
  std::vector<GroupState> groups;
  for (const auto& r : ledger.records) {
    auto phase = parse_phase(r.phase);
    if (!phase) {
      return make_error(ErrorCode::corruption,
                        "ledger " + ledger.path + " line " + std::to_string(r.seq) + ": " + phase.error().message());
    }
    auto it = std::find_if(groups.begin(), groups.end(), [&](const GroupState& g) { return g.group == r.group; });
    std::optional<Phase> expected = it == groups.end() ? std::optional<Phase>(Phase::expand) : it->next();
    std::string event = r.evidence.string_at("event");
    if (it != groups.end() && (event == k_store_rollback_event || event == k_route_rollback_event)) {
      // A rollback moves the group back (never forward).
      Phase back = event == k_store_rollback_event ? Phase::expand : std::min(it->phase, Phase::verify);
      if (*phase != back) {
        return make_error(ErrorCode::corruption, "ledger " + ledger.path + " line " + std::to_string(r.seq) + ": a " +
                                                     event + " of group " + r.group + " in phase " +
                                                     std::string(phase_name(it->phase)) + " enters " + r.phase +
                                                     ", not " + std::string(phase_name(back)));
      }
      it->phase = back;
      it->records.push_back(&r);
      it->rolled_back_at = r.recorded_at;
      if (back == Phase::expand) {
        it->manifest_sha256.clear();
        it->manifest_path.clear();
      }
      it->release_train.clear();
      it->canary_at.clear();
      continue;
    }
    if (expected != *phase) {
      return make_error(
          ErrorCode::corruption,
          "ledger " + ledger.path + " line " + std::to_string(r.seq) + ": group " + r.group + " enters " + r.phase +
              (it == groups.end() ? " as its first phase" : " after " + std::string(phase_name(it->phase))) +
              ", which the gates never allow; the ledger was not written by cutover gate advance");
    }
    if (it == groups.end()) {
      groups.push_back(GroupState{r.group, *phase, {}, "", "", "", "", ""});
      it = groups.end() - 1;
    }
    it->phase = *phase;
    it->records.push_back(&r);
    if (*phase == Phase::migrate) {
      it->manifest_sha256 = r.evidence.string_at("manifest_sha256");
      it->manifest_path = r.evidence.string_at("manifest_path");
    }
    if (*phase == Phase::canary || *phase == Phase::cutover) it->release_train = r.evidence.string_at("release_train");
    if (*phase == Phase::canary) it->canary_at = r.recorded_at;
  }
  return groups;
}

Result<AdvanceResult> advance(base::FileSystem& fs, const std::string& ledger_path, std::string_view group_name,
                              std::string_view phase_text, const GateInputs& inputs, const store::SpecRegistry& specs,
                              base::Clock& clock) {
  OpenLedger open = [&]() -> Result<std::unique_ptr<LedgerAppender>> {
    TRY_ASSIGN(auto writer, LedgerWriter::open(fs, ledger_path));
    return std::unique_ptr<LedgerAppender>(std::move(writer));
  };
  return advance(fs, open, ledger_path, group_name, phase_text, inputs, specs, clock);
}

Result<AdvanceResult> advance(base::FileSystem& fs, const OpenLedger& open, const std::string& ledger_path,
                              std::string_view group_name, std::string_view phase_text, const GateInputs& inputs,
                              const store::SpecRegistry& specs, base::Clock& clock) {
  TRY_ASSIGN(std::string group, normalize_group(group_name));
  TRY_ASSIGN(Phase phase, parse_phase(phase_text));
  if (inputs.threshold == 0) return make_error(ErrorCode::invalid_argument, "--threshold must be at least 1");
  if (!inputs.trusted.empty() && inputs.threshold > inputs.trusted.size()) {
    return make_error(ErrorCode::invalid_argument, "--threshold " + std::to_string(inputs.threshold) +
                                                       " can never be met with " +
                                                       std::to_string(inputs.trusted.size()) +
                                                       " distinct trusted key(s); pin more keys with --trust");
  }
  TRY(check_thresholds(inputs.canary));
  if (inputs.new_ledger && phase != Phase::expand) {
    return make_error(ErrorCode::invalid_argument,
                      "--new-ledger starts a ledger with a group's first step, expand; "
                      "drop it for " +
                          std::string(phase_name(phase)));
  }
  TRY_ASSIGN(auto writer, open());
  if (!writer->ledger().exists && !inputs.new_ledger) {
    return make_error(ErrorCode::not_found, "ledger " + ledger_path +
                                                " does not exist: check the path; to start a new ledger, pass "
                                                "--new-ledger with the first `gate advance GROUP expand`");
  }
  if (writer->ledger().exists && inputs.new_ledger) {
    return make_error(ErrorCode::invalid_argument,
                      "ledger " + ledger_path + " already exists (" + std::to_string(writer->ledger().records.size()) +
                          " record(s)): drop --new-ledger to add to it, or give a new path");
  }
  TRY_ASSIGN(std::vector<GroupState> states, group_states(writer->ledger()));

  AdvanceResult result;
  result.ledger_path = ledger_path;
  GateDecision& d = result.decision;
  d.group = group;
  d.to = phase;
  auto it = std::find_if(states.begin(), states.end(), [&](const GroupState& g) { return g.group == group; });
  GroupState fresh{group, Phase::expand, {}, "", "", "", "", ""};
  const GroupState& state = it == states.end() ? fresh : *it;
  d.from_none = it == states.end();
  d.from = state.phase;
  std::optional<Phase> expected = d.from_none ? std::optional<Phase>(Phase::expand) : state.next();
  if (expected != phase) {
    std::string where = d.from_none ? "has no record yet" : "is in phase " + std::string(phase_name(state.phase));
    std::string next = expected ? "the next phase is " + std::string(phase_name(*expected))
                                : std::string("contract is the last phase");
    d.missing.push_back("the phase order: group " + group + " " + where + "; " + next + " (phases go " + phase_list() +
                        ", none skipped or repeated)");
    return result;
  }

  switch (phase) {
    case Phase::expand:
      gate_expand(fs, writer->ledger(), group, inputs, d);
      break;
    case Phase::migrate:
      TRY(gate_migrate(fs, inputs, d));
      break;
    case Phase::verify:
      gate_verify(fs, state, inputs, specs, clock, d);
      break;
    case Phase::canary:
    case Phase::cutover: {
      auto contents = check_signed_bundle(fs, writer->ledger(), state, inputs, d);
      if (contents && phase == Phase::cutover && !state.release_train.empty() &&
          contents->release_train != state.release_train) {
        d.missing.push_back("evidence from the canary's release train: the bundle is from '" + contents->release_train +
                            "', the canary step recorded '" + state.release_train + "'");
      }
      break;
    }
    case Phase::contract: {
      auto contents = check_signed_bundle(fs, writer->ledger(), state, inputs, d);
      if (contents) gate_contract(state, *contents, inputs, d);
      break;
    }
  }
  if (!d.allowed()) return result;
  TRY_ASSIGN(LedgerRecord record,
             writer->append(group, std::string(phase_name(phase)), d.evidence, inputs.note, clock));
  result.record = std::move(record);
  return result;
}

Status destructive_changes_allowed(const Ledger& ledger, std::string_view group_name) {
  TRY_ASSIGN(std::string group, normalize_group(group_name));
  TRY_ASSIGN(std::vector<GroupState> states, group_states(ledger));
  auto it = std::find_if(states.begin(), states.end(), [&](const GroupState& g) { return g.group == group; });
  if (it == states.end()) {
    return make_error(ErrorCode::conflict, "route group " + group + " has no record in ledger " + ledger.path +
                                               ": destructive schema or data changes wait until it reaches contract "
                                               "(rule 5)");
  }
  if (it->phase != Phase::contract) {
    return make_error(ErrorCode::conflict, "route group " + group + " is in phase " +
                                               std::string(phase_name(it->phase)) + " (ledger " + ledger.path +
                                               "): both versions may still run, so destructive schema or data changes "
                                               "wait until contract (rule 5)");
  }
  return {};
}

Status destructive_changes_allowed_everywhere(const Ledger& ledger, const ConfiguredGroups& configured) {
  TRY_ASSIGN(std::vector<GroupState> states, group_states(ledger));
  std::vector<std::string> open;
  for (const auto& name : configured.groups) {
    auto it = std::find_if(states.begin(), states.end(), [&](const GroupState& g) { return g.group == name; });
    if (it == states.end()) open.push_back(name + " (no record)");
  }
  for (const auto& g : states) {
    if (g.phase != Phase::contract) open.push_back(g.group + " (" + std::string(phase_name(g.phase)) + ")");
  }
  if (!open.empty()) {
    return make_error(ErrorCode::conflict, "route groups before contract (every group of " + configured.source +
                                               ", and every group in ledger " + ledger.path +
                                               "): " + evidence::join_problems(open, ", ") +
                                               "; destructive schema or data changes wait until every group has "
                                               "reached contract (rule 5)");
  }
  return {};
}

evidence::JsonValue ConfiguredGroups::to_json() const {
  evidence::JsonValue list = evidence::JsonValue::array();
  for (const auto& g : groups) list.push(evidence::JsonValue::string(g));
  return evidence::JsonValue::object().set("path", path).set("sha256", sha256).set("groups", std::move(list));
}

Result<ConfiguredGroups> read_configured_groups(base::FileSystem& fs, const std::string& config_path) {
  TRY_ASSIGN(base::FileInfo info, fs.stat(config_path));
  if (!info.exists) {
    return make_error(ErrorCode::not_found, "route config " + config_path +
                                                " does not exist; give the route config "
                                                "the service runs with (--routes)");
  }
  TRY_ASSIGN_CTX(base::Buffer bytes, fs.read_file(config_path), "cannot read route config " + config_path);
  TRY_ASSIGN(routing::RouteConfig config, routing::parse_route_config(bytes.view(), config_path));
  ConfiguredGroups out;
  out.path = base::absolute_path(config_path);
  out.sha256 = hash::sha256_hex(bytes.view());
  out.source = "route config " + config_path + " (sha256 " + out.sha256 + ")";
  for (const auto& g : config.route_groups) out.groups.push_back(g.domain);
  if (out.groups.empty()) {
    return make_error(ErrorCode::invalid_argument, "route config " + config_path + " has no route groups");
  }
  return out;
}

Result<ConfiguredGroups> recorded_configured_groups(const Ledger& ledger) {
  for (auto r = ledger.records.rbegin(); r != ledger.records.rend(); ++r) {
    const evidence::JsonValue* routes = r->evidence.find("routes");
    if (routes == nullptr || !routes->is_object()) continue;
    ConfiguredGroups out;
    out.path = routes->string_at("path");
    out.sha256 = routes->string_at("sha256");
    const evidence::JsonValue* groups = routes->find("groups");
    if (groups != nullptr && groups->is_array()) {
      for (const auto& g : groups->items()) {
        if (g.is_string()) out.groups.push_back(g.as_string());
      }
    }
    if (out.groups.empty()) {
      return make_error(ErrorCode::corruption, "ledger " + ledger.path + " line " + std::to_string(r->seq) +
                                                   ": the recorded route config lists no group");
    }
    out.source = "the route config recorded in ledger " + ledger.path + " line " + std::to_string(r->seq) + " (" +
                 out.path + ", sha256 " + out.sha256 + ")";
    return out;
  }
  return make_error(ErrorCode::invalid_argument,
                    "\"every group\" needs the route configuration, and ledger " + ledger.path +
                        " records none: pass --routes CONFIG (the route config the service runs with), or record it "
                        "with `gate advance GROUP expand --routes CONFIG`");
}

Result<ConfiguredGroups> configured_groups(base::FileSystem& fs, const Ledger& ledger, const std::string& config_path) {
  if (!config_path.empty()) return read_configured_groups(fs, config_path);
  return recorded_configured_groups(ledger);
}

Status check_manifest_recorded(base::FileSystem& fs, const Ledger& ledger, const std::string& manifest_path) {
  TRY_ASSIGN_CTX(std::string sha, hash::sha256_file_hex(fs, manifest_path), "cannot hash manifest " + manifest_path);
  std::string abs = base::absolute_path(manifest_path);
  const LedgerRecord* same_path = nullptr;
  for (const auto& r : ledger.records) {
    if (r.phase != phase_name(Phase::migrate)) continue;
    if (r.evidence.string_at("manifest_sha256") == sha) return {};
    if (base::absolute_path(r.evidence.string_at("manifest_path")) == abs) same_path = &r;
  }
  if (same_path != nullptr) {
    return make_error(ErrorCode::conflict,
                      "manifest " + manifest_path + " does not match the ledger: it hashes to " + sha +
                          ", but ledger " + ledger.path + " line " + std::to_string(same_path->seq) + " (group " +
                          same_path->group + ", migrate) recorded " + same_path->evidence.string_at("manifest_sha256") +
                          "; the manifest was changed since the migration was recorded: do not use it, restore it "
                          "from a copy");
  }
  return make_error(ErrorCode::conflict,
                    "ledger " + ledger.path + " has no record of manifest " + manifest_path + " (SHA-256 " + sha +
                        "): no group's migrate step recorded it; use the manifest the ledger recorded (the migrate "
                        "record's evidence.manifest_path), or leave out --ledger for a run the ledger never saw");
}

Result<std::vector<LedgerRecord>> record_store_rollback(LedgerWriter& writer, const std::string& manifest_path,
                                                        const std::string& manifest_sha256, const std::string& note,
                                                        base::Clock& clock) {
  TRY_ASSIGN(std::vector<GroupState> states, group_states(writer.ledger()));
  std::vector<LedgerRecord> out;
  for (const auto& g : states) {
    if (g.manifest_sha256 != manifest_sha256 || g.phase == Phase::expand) continue;
    evidence::JsonValue evidence = evidence::JsonValue::object()
                                       .set("event", k_store_rollback_event)
                                       .set("from_phase", phase_name(g.phase))
                                       .set("manifest_path", base::absolute_path(manifest_path))
                                       .set("manifest_sha256", manifest_sha256);
    TRY_ASSIGN(LedgerRecord r,
               writer.append(g.group, std::string(phase_name(Phase::expand)), std::move(evidence), note, clock));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::optional<LedgerRecord>> record_route_rollback(LedgerWriter& writer, std::string_view group_name,
                                                          evidence::JsonValue details, base::Clock& clock) {
  TRY_ASSIGN(std::string group, normalize_group(group_name));
  TRY_ASSIGN(std::vector<GroupState> states, group_states(writer.ledger()));
  auto it = std::find_if(states.begin(), states.end(), [&](const GroupState& g) { return g.group == group; });
  if (it == states.end()) return std::optional<LedgerRecord>();
  Phase back = std::min(it->phase, Phase::verify);
  details.set("event", k_route_rollback_event).set("from_phase", phase_name(it->phase));
  TRY_ASSIGN(LedgerRecord r, writer.append(group, std::string(phase_name(back)), std::move(details), "", clock));
  return std::optional<LedgerRecord>(std::move(r));
}

evidence::JsonValue ledger_status_json(const Ledger& ledger, const std::vector<GroupState>& groups) {
  evidence::JsonValue list = evidence::JsonValue::array();
  for (const auto& g : groups) {
    auto next = g.next();
    const LedgerRecord* last = g.records.back();
    list.push(
        evidence::JsonValue::object()
            .set("group", g.group)
            .set("phase", phase_name(g.phase))
            .set("entered_at", last->recorded_at)
            .set_u64("seq", last->seq)
            .set("next_phase", next ? evidence::JsonValue::string(phase_name(*next)) : evidence::JsonValue::null())
            .set("next_requires",
                 next ? evidence::JsonValue::string(gate_requirements(*next)) : evidence::JsonValue::null())
            .set("release_train",
                 g.release_train.empty() ? evidence::JsonValue::null() : evidence::JsonValue::string(g.release_train))
            .set("manifest_sha256", g.manifest_sha256.empty() ? evidence::JsonValue::null()
                                                              : evidence::JsonValue::string(g.manifest_sha256))
            .set("destructive_changes_allowed", g.phase == Phase::contract));
  }
  return evidence::JsonValue::object()
      .set("schema", "cutover.gate_status.v1")
      .set("ledger", ledger.path)
      .set("exists", ledger.exists)
      .set("chain_ok", true)
      .set_u64("records", ledger.records.size())
      .set("head_sha256", ledger.head_sha256)
      .set("head", head_of(ledger).text())
      .set("groups", std::move(list));
}

}  // namespace cutover::gates
