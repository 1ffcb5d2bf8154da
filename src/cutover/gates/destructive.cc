// Rule 5 (gates.h): destructive changes wait until contract, for one group
// or for every group of the route configuration (ConfiguredGroups).
#include <algorithm>
#include <string>
#include <vector>

#include "cutover/gates/gates.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/field_reader.h"
#include "cutover/routing/config.h"

namespace cutover::gates {

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
                                               "): " + json::join_problems(open, ", ") +
                                               "; destructive schema or data changes wait until every group has "
                                               "reached contract (rule 5)");
  }
  return {};
}

void ConfiguredGroups::write_json(json::Writer& w) const {
  w.begin_object().member("path", path).member("sha256", sha256).key("groups").begin_array();
  for (const auto& g : groups) w.string(g);
  w.end_array().end_object();
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
    const json::Node* routes = r->evidence.root().find("routes");
    if (routes == nullptr || !routes->is_object()) continue;
    ConfiguredGroups out;
    out.path = json::string_at(*routes, "path");
    out.sha256 = json::string_at(*routes, "sha256");
    const json::Node* groups = routes->find("groups");
    if (groups != nullptr && groups->is_array()) {
      for (size_t i = 0; i < groups->size(); ++i) {
        const json::Node& g = groups->elements()[i];
        if (g.is_string()) out.groups.emplace_back(g.as_string());
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

}  // namespace cutover::gates
