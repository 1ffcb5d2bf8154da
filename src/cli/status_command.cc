// cutover status: where things stand, on one screen (issue 16), like
// `flyway info` or `kubectl argo rollouts get`:
//
//   1. runs       the work folder's runs (manifest/runs.h): complete, in
//                 progress, failed, rolled back; their backups and size
//   2. verify     the newest verify report found (evidence_scan.h)
//   3. ledger     each route group's phase (--ledger: a file or PostgreSQL)
//   4. server     each group's live target and cohort percentage (--server)
//   5. evidence   the bundles found and their signers
//
// Each section is built on its own: what was not given is shown as such
// ("not given"), never as an error; what could not be read is named in the
// section's `problem` and makes the exit status 1 ("could not check" is not
// "ok"). The document is docs/formats/status.md; the screen renders it.
// Exit 0 when everything given could be checked, 1 otherwise, 2 for usage.
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/evidence_scan.h"
#include "cli/output.h"
#include "cli/sources.h"
#include "cutover/evidence/bundle.h"
#include "cutover/evidence/json_value.h"
#include "cutover/evidence/keys.h"
#include "cutover/gates/gates.h"
#include "cutover/manifest/runs.h"

namespace cutover::cli {
namespace {

using evidence::JsonValue;

constexpr std::string_view k_status_schema = "cutover.status.v1";

struct StatusArgs {
  std::string work_dir;
  std::string ledger;
  std::string server;
  std::string token_file;
  std::vector<std::string> evidence;
  std::vector<std::string> trust;
  int64_t timeout_ms = 5000;
  bool json = false;
};

// Flags win; then CUTOVER_WORK_DIR / WORK_DIR, CUTOVER_LEDGER, CUTOVER_SERVER.
void apply_environment(StatusArgs& args) {
  if (args.work_dir.empty()) args.work_dir = env("CUTOVER_WORK_DIR");
  if (args.work_dir.empty()) args.work_dir = env("WORK_DIR");
  if (args.ledger.empty()) args.ledger = env("CUTOVER_LEDGER");
  if (args.server.empty()) args.server = env("CUTOVER_SERVER");
}

JsonValue strings(const std::vector<std::string>& items) {
  JsonValue out = JsonValue::array();
  for (const auto& s : items) out.push(JsonValue::string(s));
  return out;
}

JsonValue or_null(const std::string& s) { return s.empty() ? JsonValue::null() : JsonValue::string(s); }

// 1. The work folder's runs.
JsonValue runs_section(base::FileSystem& fs, const std::string& work_dir, manifest::WorkFolderRuns& runs_out) {
  if (work_dir.empty()) return JsonValue::null();
  JsonValue section = JsonValue::object().set("path", base::absolute_path(work_dir));
  auto listed = manifest::list_runs(fs, work_dir);
  if (!listed) {
    return section.set("exists", true)
        .set("runs", JsonValue::array())
        .set("problems", strings({"could not check " + work_dir + ": " + listed.error().message()}));
  }
  runs_out = *listed;
  JsonValue runs = JsonValue::array();
  for (const auto& r : listed->runs) {
    runs.push(JsonValue::object()
                  .set("run_id", r.run_id)
                  .set("state", manifest::run_state_name(r.state))
                  .set("manifest", or_null(r.manifest_path))
                  .set("manifest_sha256", or_null(r.manifest_sha256))
                  .set("generated_at", or_null(r.generated_at))
                  .set_u64("stores", r.store_count)
                  .set("rollback_report", or_null(r.rollback_report))
                  .set("backups", JsonValue::object()
                                      .set("path", r.backup_dir)
                                      .set("present", r.backups_present)
                                      .set_u64("files", r.backup_files)
                                      .set_u64("bytes", r.backup_bytes))
                  .set("problem", or_null(r.problem)));
  }
  std::vector<std::string> problems = listed->problems;
  for (const auto& r : listed->runs) {
    if (!r.problem.empty()) problems.push_back("could not check run " + r.run_id + ": " + r.problem);
  }
  return section.set("exists", listed->exists).set("runs", std::move(runs)).set("problems", strings(problems));
}

// 2. The newest verify report, and whether it is about a run of the work folder.
JsonValue verify_section(const EvidenceFound& found, const manifest::WorkFolderRuns& runs) {
  if (found.reports.empty()) return JsonValue::null();
  const VerifyVerdict& v = found.reports.back();
  std::string run_id;
  for (const auto& r : runs.runs) {
    if (!v.manifest_sha256.empty() && r.manifest_sha256 == v.manifest_sha256) run_id = r.run_id;
  }
  return JsonValue::object()
      .set("path", v.path)
      .set("ok", v.ok && v.finding_count == 0)
      .set_u64("finding_count", v.finding_count)
      .set("verified_at", v.verified_at)
      .set("manifest", v.manifest_path)
      .set("manifest_sha256", v.manifest_sha256)
      .set("run_id", v.run_id)
      .set("work_dir_run", or_null(run_id))
      .set_u64("reports_found", found.reports.size());
}

// 3. Each route group's phase in the ledger.
JsonValue ledger_section(const std::string& ledger_name, std::set<std::string>& verified_manifests) {
  if (ledger_name.empty()) return JsonValue::null();
  JsonValue section = JsonValue::object().set("path", ledger_name);
  auto ledger = read_ledger_at(ledger_name);
  auto groups = ledger ? gates::group_states(*ledger) : tl::unexpected(ledger.error());
  if (!groups) {
    return section.set("groups", JsonValue::array()).set("problem", "could not check: " + groups.error().message());
  }
  JsonValue out = JsonValue::array();
  for (const auto& g : *groups) {
    auto next = g.next();
    out.push(JsonValue::object()
                 .set("group", g.group)
                 .set("phase", gates::phase_name(g.phase))
                 .set("since", g.records.back()->recorded_at)
                 .set("next", next ? JsonValue::string(gates::phase_name(*next)) : JsonValue::null()));
  }
  for (const auto& record : ledger->records) {
    if (record.phase != "verify") continue;
    std::string sha = record.evidence.string_at("manifest_sha256");
    if (!sha.empty()) verified_manifests.insert(sha);
  }
  return section.set("head", gates::head_of(*ledger).text())
      .set("groups", std::move(out))
      .set("problem", JsonValue::null());
}

// 4. The live split, from the control server.
JsonValue server_section(const StatusArgs& args) {
  if (args.server.empty()) return JsonValue::null();
  JsonValue section = JsonValue::object().set("url", args.server);
  auto fail = [&](const Error& e) {
    return section.set("groups", JsonValue::array()).set("problem", "could not check: " + e.message());
  };
  auto endpoint = operator_endpoint(args.server, args.token_file, args.timeout_ms);
  if (!endpoint) return fail(endpoint.error());
  endpoint->user_agent = "cutover-status";
  auto client = http::ControlClient::connect(*endpoint);
  if (!client) return fail(client.error());
  auto data = client->call("GET", "/api/v1/control/route-split/state");
  if (!data) return fail(data.error());
  JsonValue state = JsonValue::from_node(data->root());
  JsonValue groups = JsonValue::array();
  if (const JsonValue* g = state.find("groups"); g != nullptr && g->is_array()) {
    for (const auto& item : g->items()) {
      const JsonValue* percent = item.find("cohort_percentage");
      groups.push(JsonValue::object()
                      .set("group", item.string_at("domain"))
                      .set("target", item.string_at("target"))
                      .set("cohort_percentage", percent == nullptr ? JsonValue::null() : *percent));
    }
  }
  return section.set("revision", state.string_at("revision"))
      .set("groups", std::move(groups))
      .set("problem", JsonValue::null());
}

// 5. The bundles found and who signed them.
JsonValue bundle_entry(base::FileSystem& fs, const std::string& dir, const std::vector<evidence::TrustedKey>& trusted) {
  evidence::VerifyBundleOptions options;
  options.trusted = trusted;
  options.threshold = trusted.empty() ? 0 : 1;
  options.list_unknown_signers = trusted.empty();
  evidence::BundleCheck check = evidence::verify_bundle(fs, dir, options);
  JsonValue signers = JsonValue::array();
  for (const auto& s : check.signatures) {
    signers.push(JsonValue::object()
                     .set("keyid", s.keyid)
                     .set("trusted_key", or_null(s.trusted_key))
                     .set("valid", trusted.empty() ? JsonValue::null() : JsonValue::boolean(s.valid)));
  }
  return JsonValue::object()
      .set("path", dir)
      .set("run_id", check.contents.run_id)
      .set("release_train", check.contents.release_train)
      .set("collected_at", check.contents.collected_at)
      .set("signatures_checked", !trusted.empty())
      .set("signers", std::move(signers))
      .set("ok", check.ok())
      .set("problems", strings(check.problems));
}

bool section_failed(const JsonValue& doc) {
  for (const auto& [name, section] : doc.members()) {
    if (!section.is_object()) continue;
    const JsonValue* problem = section.find("problem");
    if (problem != nullptr && !problem->is_null()) return true;
    const JsonValue* problems = section.find("problems");
    if (problems != nullptr && problems->is_array() && !problems->items().empty()) return true;
  }
  return false;
}

Result<JsonValue> gather(const StatusArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  TRY_ASSIGN_CTX(auto trusted, evidence::load_trusted_keys(fs, args.trust), "--trust");
  manifest::WorkFolderRuns runs;
  std::set<std::string> ledger_verified;
  JsonValue doc = JsonValue::object().set("schema", k_status_schema);
  doc.set("work_dir", runs_section(fs, args.work_dir, runs));
  EvidenceFound found = scan_evidence(fs, args.evidence, args.work_dir);
  doc.set("verify", verify_section(found, runs));
  doc.set("ledger", ledger_section(args.ledger, ledger_verified));
  doc.set("server", server_section(args));
  JsonValue bundles = JsonValue::array();
  for (const auto& b : found.bundles) bundles.push(bundle_entry(fs, b.dir, trusted));
  doc.set("evidence", JsonValue::object()
                          .set("roots", strings(args.evidence))
                          .set("bundles", std::move(bundles))
                          .set("problems", strings(found.problems)));
  JsonValue verified = JsonValue::array();
  for (const auto& id : verified_runs(runs.runs, found.reports, ledger_verified)) verified.push(JsonValue::string(id));
  doc.set("verified_runs", std::move(verified));
  doc.set("ok", !section_failed(doc));
  return doc;
}

// --- the screen -------------------------------------------------------------

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  std::ostringstream out;
  out << std::fixed << std::setprecision(unit == 0 ? 0 : 1) << value << " " << units[unit];
  return out.str();
}

std::string text(const JsonValue* v, const std::string& none = "-") {
  if (v == nullptr || v->is_null()) return none;
  if (v->is_string()) return v->as_string();
  if (v->is_bool()) return v->as_bool() ? "true" : "false";
  return v->compact();
}

void print_problems(const JsonValue& section) {
  if (const JsonValue* p = section.find("problem"); p != nullptr && !p->is_null()) {
    std::cout << "  " << p->as_string() << "\n";
  }
  if (const JsonValue* ps = section.find("problems"); ps != nullptr && ps->is_array()) {
    for (const auto& p : ps->items()) std::cout << "  " << p.as_string() << "\n";
  }
}

void print_runs(const JsonValue& section) {
  if (section.is_null()) {
    std::cout << "runs: no work folder given (--work-dir, CUTOVER_WORK_DIR or WORK_DIR)\n";
    return;
  }
  const auto& runs = section.find("runs")->items();
  std::cout << "work folder " << section.string_at("path");
  if (!section.find("exists")->as_bool()) {
    std::cout << ": does not exist yet (no run)\n";
  } else if (runs.empty()) {
    std::cout << ": no run yet\n";
  } else {
    std::cout << ": " << runs.size() << " run" << (runs.size() == 1 ? "" : "s") << "\n";
    std::cout << "  " << std::left << std::setw(20) << "RUN" << std::setw(14) << "STATE" << std::setw(8) << "STORES"
              << "BACKUPS\n";
    for (const auto& r : runs) {
      const JsonValue& b = *r.find("backups");
      std::string backups = b.find("present")->as_bool() ? std::to_string(b.find("files")->as_u64()) + " files, " +
                                                               human_bytes(b.find("bytes")->as_u64())
                                                         : "none";
      std::cout << "  " << std::left << std::setw(20) << r.string_at("run_id") << std::setw(14) << r.string_at("state")
                << std::setw(8) << r.find("stores")->as_u64() << backups << "\n";
    }
  }
  print_problems(section);
}

void print_verify(const JsonValue& v) {
  if (v.is_null()) {
    std::cout << "last verify: no verify report found (keep `cutover verify --json` reports in WORK/reports or a "
                 "folder given with --evidence)\n";
    return;
  }
  std::cout << "last verify: " << (v.find("ok")->as_bool() ? "ok" : "FAILED") << " ("
            << v.find("finding_count")->as_u64() << " findings) at " << v.string_at("verified_at") << ", run "
            << v.string_at("run_id") << " (" << v.string_at("manifest") << ")";
  if (v.find("work_dir_run")->is_null()) std::cout << " [not a manifest of this work folder as it is now]";
  std::cout << "\n  report " << v.string_at("path") << "\n";
}

void print_ledger(const JsonValue& section) {
  if (section.is_null()) {
    std::cout << "ledger: not given (--ledger or CUTOVER_LEDGER)\n";
    return;
  }
  std::cout << "ledger " << section.string_at("path");
  if (const JsonValue* head = section.find("head")) std::cout << " (head " << head->as_string() << ")";
  std::cout << "\n";
  for (const auto& g : section.find("groups")->items()) {
    std::cout << "  " << std::left << std::setw(26) << g.string_at("group") << std::setw(10) << g.string_at("phase")
              << "since " << g.string_at("since") << ", next " << text(g.find("next"), "none (done)") << "\n";
  }
  print_problems(section);
}

void print_server(const JsonValue& section) {
  if (section.is_null()) {
    std::cout << "live split: no server given (--server or CUTOVER_SERVER)\n";
    return;
  }
  std::cout << "live split at " << section.string_at("url");
  if (const JsonValue* rev = section.find("revision")) std::cout << " (revision " << rev->as_string() << ")";
  std::cout << "\n";
  for (const auto& g : section.find("groups")->items()) {
    std::cout << "  " << std::left << std::setw(26) << g.string_at("group") << std::setw(12) << g.string_at("target")
              << text(g.find("cohort_percentage")) << "%\n";
  }
  print_problems(section);
}

void print_evidence(const JsonValue& section) {
  const auto& bundles = section.find("bundles")->items();
  std::cout << "evidence: " << bundles.size() << " bundle" << (bundles.size() == 1 ? "" : "s") << "\n";
  for (const auto& b : bundles) {
    std::string signers;
    for (const auto& s : b.find("signers")->items()) {
      signers += (signers.empty() ? "" : ", ") + s.string_at("keyid").substr(0, 12);
      if (!s.find("trusted_key")->is_null()) signers += " (" + s.string_at("trusted_key") + ")";
    }
    std::cout << "  " << b.string_at("path") << ": run " << b.string_at("run_id") << ", collected "
              << b.string_at("collected_at") << ", signed by " << (signers.empty() ? "nobody" : signers)
              << (b.find("signatures_checked")->as_bool() ? "" : " (signatures not checked: no --trust)") << ", "
              << (b.find("ok")->as_bool() ? "ok" : "does not verify") << "\n";
    for (const auto& p : b.find("problems")->items()) std::cout << "    " << p.as_string() << "\n";
  }
  print_problems(section);
}

void print_status(const JsonValue& doc) {
  print_runs(*doc.find("work_dir"));
  print_verify(*doc.find("verify"));
  print_ledger(*doc.find("ledger"));
  print_server(*doc.find("server"));
  print_evidence(*doc.find("evidence"));
  std::cout << (doc.find("ok")->as_bool() ? "status: ok (everything given was checked)\n"
                                          : "status: INCOMPLETE: some of it could not be checked (see above)\n");
}

int status_main(StatusArgs args) {
  apply_environment(args);
  auto doc = gather(args);
  if (!doc) return report_error("status", doc.error());
  if (args.json) {
    std::cout << doc->canonical() << "\n";
  } else {
    print_status(*doc);
  }
  const JsonValue* ok = doc->find("ok");
  return ok != nullptr && ok->as_bool() ? k_exit_ok : k_exit_failed;
}

}  // namespace

void add_status_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("status",
                                 "Where things stand: runs, backups, last verify, ledger phases, live "
                                 "split, evidence bundles");
  auto args = std::make_shared<StatusArgs>();
  cmd->add_option("--work-dir", args->work_dir, "the work folder (default: CUTOVER_WORK_DIR, then WORK_DIR)");
  cmd->add_option("--ledger", args->ledger, "the phase ledger: a file or postgresql://... (default: CUTOVER_LEDGER)");
  cmd->add_option("--server", args->server, "the control server, for the live split (default: CUTOVER_SERVER)");
  cmd->add_option("--token-file", args->token_file, "a file holding a viewer token (env CUTOVER_TOKEN: the token)");
  cmd->add_option("--evidence", args->evidence,
                  "a folder of verify reports and evidence bundles (searched 3 levels deep), or one of them; "
                  "repeatable (WORK/reports is always searched)");
  cmd->add_option("--trust", args->trust, "public keys to check the bundles' signatures with (default: listed only)");
  cmd->add_flag("--json", args->json, "print one JSON document (docs/formats/status.md)");
  cmd->callback([args, &exit_code] { exit_code = status_main(*args); });
}

}  // namespace cutover::cli
