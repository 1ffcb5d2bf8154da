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
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/evidence_scan.h"
#include "cli/output.h"
#include "cli/settings.h"
#include "cli/sources.h"
#include "cutover/evidence/bundle.h"
#include "cutover/evidence/keys.h"
#include "cutover/gates/gates.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/document.h"
#include "cutover/json/writer.h"
#include "cutover/manifest/runs.h"

namespace cutover::cli {
namespace {

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

// Flags win; then the settings (environment, then cutover.conf):
// CUTOVER_WORK_DIR (or WORK_DIR), CUTOVER_LEDGER, CUTOVER_SERVER, CUTOVER_TRUST.
Status apply_settings(StatusArgs& args) {
  TRY(fill_from_settings(args.work_dir, "CUTOVER_WORK_DIR"));
  TRY(fill_from_settings(args.ledger, "CUTOVER_LEDGER"));
  TRY(fill_from_settings(args.server, "CUTOVER_SERVER"));
  TRY_ASSIGN(args.trust, trusted_key_files(args.trust));
  return {};
}

template <typename Strings>
void write_strings(json::Writer& w, std::string_view name, const Strings& strings) {
  w.key(name).begin_array();
  for (const auto& s : strings) w.string(s);
  w.end_array();
}

// The elements of an array; none for anything else (or nothing).
std::span<const json::Node> items(const json::Node* array) {
  if (array == nullptr || !array->is_array()) return {};
  return {array->elements(), array->size()};
}

// 1. The work folder's runs.
void write_runs(json::Writer& w, base::FileSystem& fs, const std::string& work_dir,
                manifest::WorkFolderRuns& runs_out) {
  w.key("work_dir");
  if (work_dir.empty()) {
    w.null();
    return;
  }
  w.begin_object().member("path", base::absolute_path(work_dir));
  auto listed = manifest::list_runs(fs, work_dir);
  if (!listed) {
    w.member("exists", true).key("runs").begin_array().end_array();
    write_strings(w, "problems",
                  std::vector<std::string>{"could not check " + work_dir + ": " + listed.error().message()});
    w.end_object();
    return;
  }
  runs_out = *listed;
  w.member("exists", listed->exists).key("runs").begin_array();
  for (const auto& r : listed->runs) {
    w.begin_object().member("run_id", r.run_id).member("state", manifest::run_state_name(r.state));
    w.member_or_null("manifest", r.manifest_path).member_or_null("manifest_sha256", r.manifest_sha256);
    w.member_or_null("generated_at", r.generated_at).member("stores", uint64_t{r.store_count});
    w.member_or_null("rollback_report", r.rollback_report).key("backups").begin_object();
    w.member("path", r.backup_dir).member("present", r.backups_present).member("files", r.backup_files);
    w.member("bytes", r.backup_bytes).end_object();
    w.member_or_null("problem", r.problem).end_object();
  }
  w.end_array();
  std::vector<std::string> problems = listed->problems;
  for (const auto& r : listed->runs) {
    if (!r.problem.empty()) problems.push_back("could not check run " + r.run_id + ": " + r.problem);
  }
  write_strings(w, "problems", problems);
  w.end_object();
}

// 2. The newest verify report, and whether it is about a run of the work folder.
void write_verify(json::Writer& w, const EvidenceFound& found, const manifest::WorkFolderRuns& runs) {
  w.key("verify");
  if (found.reports.empty()) {
    w.null();
    return;
  }
  const VerifyVerdict& v = found.reports.back();
  std::string run_id;
  for (const auto& r : runs.runs) {
    if (!v.manifest_sha256.empty() && r.manifest_sha256 == v.manifest_sha256) run_id = r.run_id;
  }
  w.begin_object().member("path", v.path).member("ok", v.ok && v.finding_count == 0);
  w.member("finding_count", v.finding_count).member("verified_at", v.verified_at);
  w.member("manifest", v.manifest_path).member("manifest_sha256", v.manifest_sha256).member("run_id", v.run_id);
  w.member_or_null("work_dir_run", run_id).member("reports_found", uint64_t{found.reports.size()});
  w.end_object();
}

// 3. Each route group's phase in the ledger.
void write_ledger(json::Writer& w, const std::string& ledger_name, std::set<std::string>& verified_manifests) {
  w.key("ledger");
  if (ledger_name.empty()) {
    w.null();
    return;
  }
  w.begin_object().member("path", ledger_name);
  auto ledger = read_ledger_at(ledger_name);
  auto groups = ledger ? gates::group_states(*ledger) : tl::unexpected(ledger.error());
  if (!groups) {
    w.key("groups").begin_array().end_array();
    w.member("problem", "could not check: " + groups.error().message()).end_object();
    return;
  }
  w.member("head", gates::head_of(*ledger).text()).key("groups").begin_array();
  for (const auto& g : *groups) {
    auto next = g.next();
    w.begin_object().member("group", g.group).member("phase", gates::phase_name(g.phase));
    w.member("since", g.records.back()->recorded_at);
    w.member_or_null("next", next ? gates::phase_name(*next) : std::string_view()).end_object();
  }
  w.end_array().key("problem").null().end_object();
  for (const auto& record : ledger->records) {
    if (record.phase != "verify") continue;
    std::string_view sha = json::string_at(record.evidence.root(), "manifest_sha256");
    if (!sha.empty()) verified_manifests.insert(std::string(sha));
  }
}

// 4. The live split, from the control server.
void write_server(json::Writer& w, const StatusArgs& args) {
  w.key("server");
  if (args.server.empty()) {
    w.null();
    return;
  }
  w.begin_object().member("url", args.server);
  auto fail = [&](const Error& e) {
    w.key("groups").begin_array().end_array();
    w.member("problem", "could not check: " + e.message()).end_object();
  };
  auto endpoint = operator_endpoint(args.server, args.token_file, args.timeout_ms);
  if (!endpoint) return fail(endpoint.error());
  endpoint->user_agent = "cutover-status";
  auto client = http::ControlClient::connect(*endpoint);
  if (!client) return fail(client.error());
  auto data = client->call("GET", "/api/v1/control/route-split/state");
  if (!data) return fail(data.error());
  const json::Node& state = data->root();
  w.member("revision", json::string_at(state, "revision")).key("groups").begin_array();
  for (const json::Node& item : items(state.find("groups"))) {
    const json::Node* percent = item.find("cohort_percentage");
    w.begin_object().member("group", json::string_at(item, "domain")).member("target", json::string_at(item, "target"));
    w.key("cohort_percentage");
    if (percent == nullptr) {
      w.null();
    } else {
      w.node(*percent);
    }
    w.end_object();
  }
  w.end_array().key("problem").null().end_object();
}

// 5. The bundles found and who signed them.
void write_bundle(json::Writer& w, base::FileSystem& fs, const std::string& dir,
                  const std::vector<evidence::TrustedKey>& trusted) {
  evidence::VerifyBundleOptions options;
  options.trusted = trusted;
  options.threshold = trusted.empty() ? 0 : 1;
  options.list_unknown_signers = trusted.empty();
  evidence::BundleCheck check = evidence::verify_bundle(fs, dir, options);
  w.begin_object().member("path", dir).member("run_id", check.contents.run_id);
  w.member("release_train", check.contents.release_train).member("collected_at", check.contents.collected_at);
  w.member("signatures_checked", !trusted.empty()).key("signers").begin_array();
  for (const auto& s : check.signatures) {
    w.begin_object().member("keyid", s.keyid).member_or_null("trusted_key", s.trusted_key).key("valid");
    if (trusted.empty()) {
      w.null();
    } else {
      w.boolean(s.valid);
    }
    w.end_object();
  }
  w.end_array().member("ok", check.ok());
  write_strings(w, "problems", check.problems);
  w.end_object();
}

bool section_failed(const json::Node& doc) {
  for (size_t i = 0; i < doc.size(); ++i) {
    const json::Node& section = doc.members()[i].value;
    if (!section.is_object()) continue;
    const json::Node* problem = section.find("problem");
    if (problem != nullptr && !problem->is_null()) return true;
    if (!items(section.find("problems")).empty()) return true;
  }
  return false;
}

Result<json::Document> gather(const StatusArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  TRY_ASSIGN_CTX(auto trusted, evidence::load_trusted_keys(fs, args.trust), "--trust");
  manifest::WorkFolderRuns runs;
  std::set<std::string> ledger_verified;
  json::Writer w = json::Writer::document();
  w.begin_object().member("schema", k_status_schema);
  write_runs(w, fs, args.work_dir, runs);
  EvidenceFound found = scan_evidence(fs, args.evidence, args.work_dir);
  write_verify(w, found, runs);
  write_ledger(w, args.ledger, ledger_verified);
  write_server(w, args);
  w.key("evidence").begin_object();
  write_strings(w, "roots", args.evidence);
  w.key("bundles").begin_array();
  for (const auto& b : found.bundles) write_bundle(w, fs, b.dir, trusted);
  w.end_array();
  write_strings(w, "problems", found.problems);
  w.end_object();
  write_strings(w, "verified_runs", verified_runs(runs.runs, found.reports, ledger_verified));
  w.end_object();
  json::Document doc = w.take_document();
  doc.set_root(doc.with_member(doc.root(), "ok", json::Node::boolean(!section_failed(doc.root()))));
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

std::string text(const json::Node* v, const std::string& none = "-") {
  if (v == nullptr || v->is_null()) return none;
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_bool()) return v->as_bool() ? "true" : "false";
  return json::to_compact_string(*v);
}

bool flag(const json::Node& object, std::string_view key) {
  const json::Node* v = object.find(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

uint64_t count(const json::Node& object, std::string_view key) {
  const json::Node* v = object.find(key);
  return v != nullptr && v->kind() == json::Kind::u64 ? v->as_u64() : 0;
}

void print_problems(const json::Node& section) {
  if (const json::Node* p = section.find("problem"); p != nullptr && !p->is_null()) {
    std::cout << "  " << p->as_string() << "\n";
  }
  for (const json::Node& p : items(section.find("problems"))) std::cout << "  " << p.as_string() << "\n";
}

void print_runs(const json::Node& section) {
  if (section.is_null()) {
    std::cout << "runs: no work folder given (--work-dir, CUTOVER_WORK_DIR or WORK_DIR)\n";
    return;
  }
  std::span<const json::Node> runs = items(section.find("runs"));
  std::cout << "work folder " << json::string_at(section, "path");
  if (!flag(section, "exists")) {
    std::cout << ": does not exist yet (no run)\n";
  } else if (runs.empty()) {
    std::cout << ": no run yet\n";
  } else {
    std::cout << ": " << runs.size() << " run" << (runs.size() == 1 ? "" : "s") << "\n";
    std::cout << "  " << std::left << std::setw(20) << "RUN" << std::setw(14) << "STATE" << std::setw(8) << "STORES"
              << "BACKUPS\n";
    for (const json::Node& r : runs) {
      const json::Node* b = r.find("backups");
      std::string backups = b != nullptr && flag(*b, "present")
                                ? std::to_string(count(*b, "files")) + " files, " + human_bytes(count(*b, "bytes"))
                                : "none";
      std::cout << "  " << std::left << std::setw(20) << json::string_at(r, "run_id") << std::setw(14)
                << json::string_at(r, "state") << std::setw(8) << count(r, "stores") << backups << "\n";
    }
  }
  print_problems(section);
}

void print_verify(const json::Node& v) {
  if (v.is_null()) {
    std::cout << "last verify: no verify report found (keep `cutover verify --json` reports in WORK/reports or a "
                 "folder given with --evidence)\n";
    return;
  }
  std::cout << "last verify: " << (flag(v, "ok") ? "ok" : "FAILED") << " (" << count(v, "finding_count")
            << " findings) at " << json::string_at(v, "verified_at") << ", run " << json::string_at(v, "run_id") << " ("
            << json::string_at(v, "manifest") << ")";
  if (const json::Node* run = v.find("work_dir_run"); run == nullptr || run->is_null()) {
    std::cout << " [not a manifest of this work folder as it is now]";
  }
  std::cout << "\n  report " << json::string_at(v, "path") << "\n";
}

void print_ledger(const json::Node& section) {
  if (section.is_null()) {
    std::cout << "ledger: not given (--ledger or CUTOVER_LEDGER)\n";
    return;
  }
  std::cout << "ledger " << json::string_at(section, "path");
  if (section.find("head") != nullptr) std::cout << " (head " << json::string_at(section, "head") << ")";
  std::cout << "\n";
  for (const json::Node& g : items(section.find("groups"))) {
    std::cout << "  " << std::left << std::setw(26) << json::string_at(g, "group") << std::setw(10)
              << json::string_at(g, "phase") << "since " << json::string_at(g, "since") << ", next "
              << text(g.find("next"), "none (done)") << "\n";
  }
  print_problems(section);
}

void print_server(const json::Node& section) {
  if (section.is_null()) {
    std::cout << "live split: no server given (--server or CUTOVER_SERVER)\n";
    return;
  }
  std::cout << "live split at " << json::string_at(section, "url");
  if (section.find("revision") != nullptr) std::cout << " (revision " << json::string_at(section, "revision") << ")";
  std::cout << "\n";
  for (const json::Node& g : items(section.find("groups"))) {
    std::cout << "  " << std::left << std::setw(26) << json::string_at(g, "group") << std::setw(12)
              << json::string_at(g, "target") << text(g.find("cohort_percentage")) << "%\n";
  }
  print_problems(section);
}

void print_evidence(const json::Node& section) {
  std::span<const json::Node> bundles = items(section.find("bundles"));
  std::cout << "evidence: " << bundles.size() << " bundle" << (bundles.size() == 1 ? "" : "s") << "\n";
  for (const json::Node& b : bundles) {
    std::string signers;
    for (const json::Node& s : items(b.find("signers"))) {
      if (!signers.empty()) signers += ", ";
      signers += json::string_at(s, "keyid").substr(0, 12);
      if (const json::Node* key = s.find("trusted_key"); key != nullptr && !key->is_null()) {
        signers += " (" + std::string(json::string_at(s, "trusted_key")) + ")";
      }
    }
    std::cout << "  " << json::string_at(b, "path") << ": run " << json::string_at(b, "run_id") << ", collected "
              << json::string_at(b, "collected_at") << ", signed by " << (signers.empty() ? "nobody" : signers)
              << (flag(b, "signatures_checked") ? "" : " (signatures not checked: no --trust)") << ", "
              << (flag(b, "ok") ? "ok" : "does not verify") << "\n";
    for (const json::Node& p : items(b.find("problems"))) std::cout << "    " << p.as_string() << "\n";
  }
  print_problems(section);
}

const json::Node& section(const json::Node& doc, std::string_view name) {
  static const json::Node null;
  const json::Node* v = doc.find(name);
  return v == nullptr ? null : *v;
}

void print_status(const json::Node& doc) {
  print_runs(section(doc, "work_dir"));
  print_verify(section(doc, "verify"));
  print_ledger(section(doc, "ledger"));
  print_server(section(doc, "server"));
  print_evidence(section(doc, "evidence"));
  std::cout << (flag(doc, "ok") ? "status: ok (everything given was checked)\n"
                                : "status: INCOMPLETE: some of it could not be checked (see above)\n");
}

int status_main(StatusArgs args) {
  if (auto st = apply_settings(args); !st) return report_error("status", st.error());
  auto doc = gather(args);
  if (!doc) return report_error("status", doc.error());
  if (args.json) {
    std::cout << json::to_canonical_string(doc->root()) << "\n";
  } else {
    print_status(doc->root());
  }
  return flag(doc->root(), "ok") ? k_exit_ok : k_exit_failed;
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
  cmd->add_option("--trust", args->trust, "public keys to check the bundles' signatures with (default: CUTOVER_TRUST; else listed only)");
  cmd->add_flag("--json", args->json, "print one JSON document (docs/formats/status.md)");
  cmd->callback([args, &exit_code] { exit_code = status_main(*args); });
}

}  // namespace cutover::cli
