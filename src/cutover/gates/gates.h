// Phases and gates (SPEC §7; docs/formats/ledger.md): each route group moves
// expand -> migrate -> verify -> canary -> cutover -> contract, one phase at
// a time, recorded in the ledger. advance() refuses a step whose evidence is
// missing, naming every missing piece:
//   expand:   a passing expand report (the new release's reader accepts both
//             store shapes of every store named with --store) and a passing
//             routes report (the group's rollback and forward targets
//             answer) for the route config the gate uses, both made after the
//             ledger's last record (docs/formats/ledger.md);
//   migrate:  a complete manifest (--manifest, or the bundle's manifest.json);
//   verify:   a passing verify report for that same manifest (--verify-report,
//             the bundle's, or verify run now on the recorded manifest);
//   canary,
//   cutover:  a signed bundle (threshold met) that verifies, for the recorded
//             manifest, whose backups are still retained now;
//   contract: a signed bundle as above holding a healthy canary window for
//             the group (thresholds configurable) and a passing rollback
//             drill of the group from the same release train as the group's
//             cutover evidence.
// Every gate from migrate on also needs fresh evidence: each store it names
// is hashed again and must equal its after_sha256; a bundle must be
// collected after the group's last rollback record (and hold the ledger's
// head, when it pinned one); canary readings must follow the canary record.
// Every check is made and recorded while the ledger is locked, so two
// operators cannot both advance a group past a gate.
//
// Rule 5 (no destructive change during the overlap) is
// destructive_changes_allowed(): a group allows destructive schema or data
// changes only once it has reached contract; "every group" is every group of
// the route configuration (ConfiguredGroups), not only those in the ledger. Backfill does not link this
// module; the CLI consults it (see the function's comment).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/evidence/bundle.h"
#include "cutover/evidence/expand_evidence.h"
#include "cutover/evidence/keys.h"
#include "cutover/gates/canary.h"
#include "cutover/gates/ledger.h"
#include "cutover/json/document.h"
#include "cutover/json/writer.h"
#include "cutover/store/store_spec.h"

namespace cutover::gates {

enum class Phase { expand, migrate, verify, canary, cutover, contract };
inline constexpr Phase k_phases[] = {Phase::expand, Phase::migrate, Phase::verify,
                                     Phase::canary, Phase::cutover, Phase::contract};

std::string_view phase_name(Phase phase);
// Errors: invalid_argument listing the phases.
Result<Phase> parse_phase(std::string_view name);

struct GroupState {
  std::string group;
  Phase phase = Phase::expand;               // the phase the group is in
  std::vector<const LedgerRecord*> records;  // this group's records, in order
  std::string release_train;                 // from the canary/cutover evidence, "" before
  std::string manifest_sha256;               // from the migrate record
  std::string manifest_path;
  std::string canary_at;       // recorded_at of the group's latest canary record, "" before
  std::string rolled_back_at;  // recorded_at of its latest rollback record, "" for none
  std::optional<Phase> next() const;
};

// A rollback moves groups back in the ledger (docs/formats/ledger.md): a
// record whose evidence.event is one of these enters an earlier phase.
//   store_rollback: the stores are back at their before-state (cutover
//     rollback --ledger): the group returns to expand and must migrate again;
//   route_rollback: the group's traffic went to its rollback target (the
//     drill, --ledger): a group at canary or later returns to verify and
//     needs a new canary, with evidence collected after the rollback.
inline constexpr std::string_view k_store_rollback_event = "store_rollback";
inline constexpr std::string_view k_route_rollback_event = "route_rollback";

// Each group's state, in the order groups first appear. Errors: corruption
// when the records do not follow the phase order (a valid chain written by
// something other than cutover), naming the line.
Result<std::vector<GroupState>> group_states(const Ledger& ledger);

// The route groups of the route configuration: what "every group" means for
// rule 5 (a group that never entered the ledger is still in the overlap).
struct ConfiguredGroups {
  std::vector<std::string> groups;  // normalised, in the config's order
  std::string source;  // "route config PATH (sha256 ...)" or "the route config recorded in ledger L line N"
  std::string path;    // the config file, absolute
  std::string sha256;  // of its bytes
  void write_json(json::Writer& w) const;  // {path, sha256, groups}, as an expand record keeps it
};

// Reads the route groups of a route config file (docs/formats/route-config.md;
// a file without route_groups has the reference matrix's). Errors: not_found
// when the file does not exist; invalid_argument when it is not a usable
// route config; io_error or permission_denied.
Result<ConfiguredGroups> read_configured_groups(base::FileSystem& fs, const std::string& config_path);

// The route config recorded in the ledger: the newest record whose evidence
// holds `routes` (gate advance GROUP expand --routes CONFIG). Errors:
// invalid_argument when no record holds one (the caller must pass --routes).
Result<ConfiguredGroups> recorded_configured_groups(const Ledger& ledger);

// --routes when given, else the ledger's recorded config; invalid_argument
// naming both ways when there is neither.
Result<ConfiguredGroups> configured_groups(base::FileSystem& fs, const Ledger& ledger, const std::string& config_path);

// A store the expand report must cover (gate advance ... expand --store, or
// the environment variables backfill reads).
struct NamedStore {
  std::string name;
  std::string path;
};

struct GateInputs {
  std::string routes_path;                // expand: the route config, recorded with the step
  std::string expand_report_path;         // expand: `cutover expand check --out` (docs/formats/expand-report.md)
  std::string routes_report_path;         // expand: `cutover routes check --out` (docs/formats/routes-report.md)
  std::vector<NamedStore> expand_stores;  // expand: the stores the expand report must cover
  std::string manifest_path;              // migrate
  std::string verify_report_path;         // verify
  std::string evidence_dir;               // any phase may use it; canary, cutover, contract need it
  std::vector<evidence::TrustedKey> trusted;
  size_t threshold = 1;
  CanaryThresholds canary;
  std::string note;
  // Start a new ledger at `ledger_path` with this step: only for expand, and
  // only when no file is there. Without it a missing ledger is an error (a
  // typo in the path must not start a second ledger).
  bool new_ledger = false;
};

struct GateDecision {
  std::string group;
  Phase from = Phase::expand;
  bool from_none = true;  // the group has no record yet
  Phase to = Phase::expand;
  std::vector<std::string> missing;                          // what is missing or failing; empty = allowed
  json::Document evidence = json::Document::empty_object();  // what was checked, recorded in the ledger
  bool allowed() const { return missing.empty(); }
};

struct AdvanceResult {
  GateDecision decision;
  std::optional<LedgerRecord> record;  // set when the step was recorded
  std::string ledger_path;
};

// Checks the gate for `group` entering `phase` and, when every piece of
// evidence holds, appends the record. A refusal is not an error: the result
// has decision.missing set and no record. Errors: not_found (the ledger does
// not exist and inputs.new_ledger is not set), invalid_argument (a bad
// group or phase name, a threshold of 0 or above the number of trusted keys,
// bad canary thresholds, new_ledger for a phase other than expand or for a
// ledger that exists), the ledger's errors (conflict when locked,
// corruption when its chain is broken: nothing is ever appended to a broken
// ledger), io_error.
Result<AdvanceResult> advance(base::FileSystem& fs, const std::string& ledger_path, std::string_view group,
                              std::string_view phase, const GateInputs& inputs, const store::SpecRegistry& specs,
                              base::Clock& clock);

// The same on a ledger `open` opens (and locks) once the inputs were checked:
// the PostgreSQL ledger (state/pg_ledger.h). `ledger_name` names it in
// messages and in the result.
using OpenLedger = std::function<Result<std::unique_ptr<LedgerAppender>>()>;
Result<AdvanceResult> advance(base::FileSystem& fs, const OpenLedger& open, const std::string& ledger_name,
                              std::string_view group, std::string_view phase, const GateInputs& inputs,
                              const store::SpecRegistry& specs, base::Clock& clock);

// Rule 5. OK when `group` has reached contract, so destructive schema or data
// changes (a spec that removes or retypes data, backfill's
// --allow-destructive-reset) may touch its stores; otherwise
// conflict naming the group's phase.
Status destructive_changes_allowed(const Ledger& ledger, std::string_view group);

// The same for a change whose route groups are not known (a store shared by
// several groups): OK only when every group of the route configuration has
// reached contract (a configured group with no record is before expand), and
// every other group in the ledger too. Errors: conflict listing each group
// that is not at contract; corruption from group_states().
Status destructive_changes_allowed_everywhere(const Ledger& ledger, const ConfiguredGroups& configured);

// Issue 12 item 3: the ledger's word on a manifest (rollback and verify
// --ledger). OK when a migrate record holds the manifest's SHA-256 (the file
// as it is now). Errors: conflict saying which: a migrate record names this
// manifest's path with another SHA-256 (it changed since it was recorded),
// or no migrate record has it at all; io_error when it cannot be hashed.
Status check_manifest_recorded(base::FileSystem& fs, const Ledger& ledger, const std::string& manifest_path);

// Records a store rollback of the manifest with this SHA-256: every group
// whose migrate step recorded it and that is past expand returns to expand
// (one record each). Returns the records (none when no group was past
// expand). Errors: the writer's.
Result<std::vector<LedgerRecord>> record_store_rollback(LedgerWriter& writer, const std::string& manifest_path,
                                                        const std::string& manifest_sha256, const std::string& note,
                                                        base::Clock& clock);

// Records a route rollback of `group` (the drill's): a group at canary or
// later returns to verify; one at verify or before keeps its phase (the
// record is the audit trail). Returns nullopt when the group has no record
// at all. `details` (an object) goes into the record's evidence. Errors:
// invalid_argument for a bad group name; the writer's.
Result<std::optional<LedgerRecord>> record_route_rollback(LedgerWriter& writer, std::string_view group,
                                                          const json::Node& details, base::Clock& clock);

// Status for `gate status`: each group's phase, the next phase and what its
// gate needs.
void write_ledger_status(json::Writer& w, const Ledger& ledger, const std::vector<GroupState>& groups);
std::string gate_requirements(Phase phase);

}  // namespace cutover::gates
