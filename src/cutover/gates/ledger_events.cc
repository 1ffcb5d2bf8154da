// What other commands record in, or check against, the phase ledger: the
// manifest a rollback or verify uses (check_manifest_recorded), and the
// rollbacks that move groups back (record_store_rollback,
// record_route_rollback).
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "cutover/gates/gates.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/writer.h"

namespace cutover::gates {

Status check_manifest_recorded(base::FileSystem& fs, const Ledger& ledger, const std::string& manifest_path) {
  TRY_ASSIGN_CTX(std::string sha, hash::sha256_file_hex(fs, manifest_path), "cannot hash manifest " + manifest_path);
  std::string abs = base::absolute_path(manifest_path);
  const LedgerRecord* same_path = nullptr;
  for (const auto& r : ledger.records) {
    if (r.phase != phase_name(Phase::migrate)) continue;
    if (json::string_at(r.evidence.root(), "manifest_sha256") == sha) return {};
    if (base::absolute_path(std::string(json::string_at(r.evidence.root(), "manifest_path"))) == abs) same_path = &r;
  }
  if (same_path != nullptr) {
    return make_error(ErrorCode::conflict,
                      "manifest " + manifest_path + " does not match the ledger: it hashes to " + sha +
                          ", but ledger " + ledger.path + " line " + std::to_string(same_path->seq) + " (group " +
                          same_path->group + ", migrate) recorded " +
                          std::string(json::string_at(same_path->evidence.root(), "manifest_sha256")) +
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
    json::Writer w = json::Writer::document();
    w.begin_object().member("event", k_store_rollback_event).member("from_phase", phase_name(g.phase));
    w.member("manifest_path", base::absolute_path(manifest_path)).member("manifest_sha256", manifest_sha256);
    w.end_object();
    TRY_ASSIGN(LedgerRecord r,
               writer.append(g.group, std::string(phase_name(Phase::expand)), w.take_document(), note, clock));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::optional<LedgerRecord>> record_route_rollback(LedgerWriter& writer, std::string_view group_name,
                                                          const json::Node& details, base::Clock& clock) {
  TRY_ASSIGN(std::string group, normalize_group(group_name));
  TRY_ASSIGN(std::vector<GroupState> states, group_states(writer.ledger()));
  auto it = std::find_if(states.begin(), states.end(), [&](const GroupState& g) { return g.group == group; });
  if (it == states.end()) return std::optional<LedgerRecord>();
  Phase back = std::min(it->phase, Phase::verify);
  json::Document evidence = json::Document::empty_object();
  evidence.merge(details);
  json::Writer w = json::Writer::document();
  w.begin_object().member("event", k_route_rollback_event).member("from_phase", phase_name(it->phase)).end_object();
  evidence.merge(w.take_document().root());
  TRY_ASSIGN(LedgerRecord r, writer.append(group, std::string(phase_name(back)), std::move(evidence), "", clock));
  return std::optional<LedgerRecord>(std::move(r));
}

}  // namespace cutover::gates
