#include "cutover/gates/gates.h"

#include <algorithm>

#include "cutover/gates/gate_checks.h"
#include "cutover/json/writer.h"

namespace cutover::gates {
namespace {

std::string phase_list() { return "expand, migrate, verify, canary, cutover, contract"; }

std::optional<Phase> next_phase(Phase p) {
  if (p == Phase::contract) return std::nullopt;
  return static_cast<Phase>(static_cast<int>(p) + 1);
}

}  // namespace

void add_evidence(GateDecision& d, const std::function<void(json::Writer&)>& members) {
  json::Writer w = json::Writer::document();
  w.begin_object();
  members(w);
  w.end_object();
  d.evidence.merge(w.take_document().root());
}

bool later(const std::string& a, const std::string& b) {
  auto ta = base::parse_rfc3339(a);
  auto tb = base::parse_rfc3339(b);
  return ta && tb && *ta > *tb;
}

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
    std::string event(json::string_at(r.evidence.root(), "event"));
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
      it->manifest_sha256 = json::string_at(r.evidence.root(), "manifest_sha256");
      it->manifest_path = json::string_at(r.evidence.root(), "manifest_path");
    }
    if (*phase == Phase::canary || *phase == Phase::cutover)
      it->release_train = json::string_at(r.evidence.root(), "release_train");
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

void write_ledger_status(json::Writer& w, const Ledger& ledger, const std::vector<GroupState>& groups) {
  w.begin_object().member("schema", "cutover.gate_status.v1").member("ledger", ledger.path);
  w.member("exists", ledger.exists).member("chain_ok", true).member("records", ledger.records.size());
  w.member("head_sha256", ledger.head_sha256).member("head", head_of(ledger).text()).key("groups").begin_array();
  for (const auto& g : groups) {
    auto next = g.next();
    const LedgerRecord* last = g.records.back();
    w.begin_object().member("group", g.group).member("phase", phase_name(g.phase));
    w.member("entered_at", last->recorded_at).member("seq", last->seq);
    w.member_or_null("next_phase", next ? phase_name(*next) : std::string_view());
    w.member_or_null("next_requires", next ? gate_requirements(*next) : std::string());
    w.member_or_null("release_train", g.release_train).member_or_null("manifest_sha256", g.manifest_sha256);
    w.member("destructive_changes_allowed", g.phase == Phase::contract).end_object();
  }
  w.end_array().end_object();
}

}  // namespace cutover::gates
