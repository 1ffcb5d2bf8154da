// The expand gate (issue 17): both reports, passing and fresh; a route
// config given is recorded (so that rule 5 knows every group later) and must
// name the group. The routes report must be about the route config the gate
// uses (--routes, else the one recorded in the ledger) and hold the group;
// the expand report must cover every store named to the gate, each still
// hashing to what the report saw.
#include <algorithm>
#include <optional>
#include <string>

#include "cutover/evidence/expand_evidence.h"
#include "cutover/gates/gate_checks.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/field_reader.h"

namespace cutover::gates {
namespace {

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
                            " (its groups: " + json::join_problems(configured->groups, ", ") + ")");
      }
      add_evidence(d, [&](json::Writer& w) { configured->write_json(w.key("routes")); });
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
    add_evidence(d, [&](json::Writer& w) {
      w.key("routes_report").begin_object();
      evidence::write_report_file_members(w, routes->file);
      w.member("config_sha256", routes->config_sha256).end_object();
    });
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
  add_evidence(d, [&](json::Writer& w) {
    w.key("expand_report").begin_object();
    evidence::write_report_file_members(w, expand->file);
    w.key("stores").begin_array();
    for (const auto& s : expand->stores) {
      w.begin_object().member("name", s.name).member("path", s.path).member("sha256", s.sha256_after).end_object();
    }
    w.end_array().end_object();
  });
}

}  // namespace

void gate_expand(base::FileSystem& fs, const Ledger& ledger, const std::string& group, const GateInputs& inputs,
                 GateDecision& d) {
  std::optional<ConfiguredGroups> configured = expand_route_config(fs, ledger, group, inputs, d);
  check_routes_report(fs, ledger, group, inputs, configured, d);
  check_expand_report(fs, ledger, inputs, d);
}

}  // namespace cutover::gates
