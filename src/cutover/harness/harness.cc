#include "cutover/harness/harness.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

#include <unistd.h>

#include "cutover/backfill/backfill.h"
#include "cutover/base/process.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"
#include "cutover/manifest/manifest.h"
#include "cutover/routing/config.h"
#include "cutover/store/fixtures.h"

namespace cutover::harness {
namespace {

struct Outcome {
  bool passed;
  std::string reason;
};

// What the checks share: the run folder and what earlier checks found.
struct Drill {
  const HarnessOptions& options;
  base::FileSystem& fs;
  base::Clock& clock;
  std::string run_dir;
  std::string stores_dir;
  std::string work_dir;
  std::string logs_dir;
  std::vector<StoreSource> stores;  // the copies the drill works on
  std::string manifest_path;        // set by manifest_found
  std::string command;              // the command line of the running check, for the record
  std::string log_path;             // its log
};

std::string quote(const std::string& arg) {
  if (!arg.empty() && arg.find_first_of(" \t'\"\\$`") == std::string::npos) return arg;
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void append_log(Drill& d, const std::string& text) { (void)d.fs.append_file(d.log_path, text + "\n"); }

// Runs `cutover ARGS...`, output into the check's log; records the command.
int run_cutover(Drill& d, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {d.options.cutover_binary};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string line = "cutover";
  for (const auto& a : args) line += " " + quote(a);
  d.command += (d.command.empty() ? "" : " && ") + line;
  append_log(d, "$ " + line);
  auto status = base::run_logged(argv, d.log_path);
  if (!status) {
    append_log(d, "cannot run: " + status.error().message());
    return -1;
  }
  append_log(d, "exit status " + std::to_string(*status));
  return *status;
}

std::vector<std::string> store_flags(const Drill& d) {
  std::vector<std::string> flags;
  for (const auto& s : d.stores) {
    flags.push_back("--store");
    flags.push_back(s.kind + "=" + s.path);
  }
  for (const auto& spec : d.options.spec_files) {
    flags.push_back("--spec");
    flags.push_back(spec);
  }
  return flags;
}

Outcome need_manifest() { return {false, "no manifest to work on (an earlier check failed)"}; }

// --- the checks, in order ---

Outcome backfill_writes_manifest(Drill& d) {
  std::vector<std::string> args = {"backfill", "--work-dir", d.work_dir};
  auto flags = store_flags(d);
  args.insert(args.end(), flags.begin(), flags.end());
  int status = run_cutover(d, args);
  if (status != 0) return {false, "backfill exited with status " + std::to_string(status)};
  auto names = d.fs.list_directory(base::join_path(d.work_dir, "manifests"));
  if (!names) return {false, names.error().message()};
  bool any = std::any_of(names->begin(), names->end(),
                         [](const std::string& n) { return n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0; });
  if (!any) return {false, "backfill succeeded but wrote no manifests/*.json"};
  return {true, "backfill wrote a manifest"};
}

Outcome manifest_found(Drill& d) {
  // As the reference harness: ls -1 manifests/*.json | sort | tail -n 1
  std::string dir = base::join_path(d.work_dir, "manifests");
  d.command = "ls -1 " + quote(dir) + "/*.json | sort | tail -n 1";
  auto names = d.fs.list_directory(dir);
  if (!names) return {false, names.error().message()};
  std::vector<std::string> manifests;
  for (const auto& n : *names) {
    if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0) manifests.push_back(n);
  }
  if (manifests.empty()) return {false, "no manifests/*.json in " + d.work_dir};
  std::sort(manifests.begin(), manifests.end());
  d.manifest_path = base::join_path(dir, manifests.back());
  append_log(d, d.manifest_path);
  return {true, "newest manifest: " + d.manifest_path};
}

Outcome checksums_verify(Drill& d) {
  if (d.manifest_path.empty()) return need_manifest();
  std::vector<std::string> args = {"verify", d.manifest_path};
  for (const auto& spec : d.options.spec_files) {
    args.push_back("--spec");
    args.push_back(spec);
  }
  int status = run_cutover(d, args);
  if (status != 0) return {false, "verify found problems (exit status " + std::to_string(status) + "); see the log"};
  return {true, "every store hashes to after_sha256, counts recount, backups retained"};
}

// The fixture counts SPEC §8 requires, read from the built-in baseline.
std::map<std::string, std::map<std::string, uint64_t>> fixture_counts() {
  std::map<std::string, std::map<std::string, uint64_t>> out;
  auto doc = json::parse(store::builtin_fixtures_baseline());
  const json::Node* env = doc ? doc->root().find("environments") : nullptr;
  const json::Node* stores = env ? env->find("fixtures") : nullptr;
  stores = stores ? stores->find("stores") : nullptr;
  if (stores == nullptr) return out;
  for (size_t i = 0; i < stores->size(); ++i) {
    const json::Member& s = stores->members()[i];
    for (size_t j = 0; j < s.value.size(); ++j) {
      const json::Member& c = s.value.members()[j];
      if (const json::Node* exact = c.value.find("exact")) {
        out[std::string(s.key.as_string())][std::string(c.key.as_string())] = exact->as_u64();
      }
    }
  }
  return out;
}

Outcome manifest_invariants(Drill& d) {
  if (d.manifest_path.empty()) return need_manifest();
  d.command = "cutover harness: manifest invariants of " + d.manifest_path;
  auto bytes = d.fs.read_file(d.manifest_path);
  if (!bytes) return {false, bytes.error().message()};
  auto m = manifest::parse_manifest(bytes->view(), d.manifest_path);
  if (!m) return {false, m.error().message()};
  std::vector<std::string> problems;
  if (m->schema != manifest::k_schema) problems.push_back("schema is " + m->schema);
  if (m->stores.size() != d.stores.size()) {
    problems.push_back(std::to_string(m->stores.size()) + " stores, expected " + std::to_string(d.stores.size()));
  }
  bool fixtures = d.options.stores.empty();
  auto expected_counts = fixture_counts();
  for (size_t i = 0; i < m->stores.size() && i < d.stores.size(); ++i) {
    const auto& s = m->stores[i];
    if (s.store != d.stores[i].kind)
      problems.push_back("stores[" + std::to_string(i) + "] is " + s.store + ", expected " + d.stores[i].kind);
    if (!hash::is_sha256_hex(s.after_sha256)) problems.push_back(s.store + ": after_sha256 is not 64 hex characters");
    if (!fixtures) continue;
    for (const auto& [key, want] : expected_counts[s.store]) {
      auto it = s.counts.find(key);
      if (it == s.counts.end()) {
        problems.push_back(s.store + ": count " + key + " is missing");
      } else if (it->second != want) {
        problems.push_back(s.store + ": " + key + " = " + std::to_string(it->second) + ", expected " +
                           std::to_string(want));
      }
    }
  }
  for (const auto& p : problems) append_log(d, "problem: " + p);
  if (!problems.empty()) return {false, problems.front() + (problems.size() > 1 ? " (and more; see the log)" : "")};
  append_log(d, "schema, " + std::to_string(m->stores.size()) + " stores, after_sha256" +
                    (fixtures ? ", fixture counts" : "") + ": ok");
  return {true, fixtures ? "schema, three stores, 64-hex after_sha256, the fixture counts"
                         : "schema, the stores, 64-hex after_sha256"};
}

Outcome verify_against_baseline(Drill& d) {
  if (d.manifest_path.empty()) return need_manifest();
  if (!d.options.stores.empty()) {
    d.command = "(none)";
    return {true, "skipped: the fixture baseline applies to the fixtures only"};
  }
  std::string baseline = base::join_path(d.run_dir, "fixtures-baseline.json");
  if (auto st = base::write_file_atomic(d.fs, baseline, store::builtin_fixtures_baseline()); !st) {
    return {false, st.error().message()};
  }
  int status = run_cutover(d, {"verify", d.manifest_path, "--baseline", baseline});
  if (status != 0) return {false, "counts outside the fixture baseline (exit status " + std::to_string(status) + ")"};
  return {true, "the counts meet the fixture baseline"};
}

Outcome store_rollback_runs(Drill& d) {
  if (d.manifest_path.empty()) return need_manifest();
  std::vector<std::string> args = {"rollback", d.manifest_path};
  for (const auto& spec : d.options.spec_files) {
    args.push_back("--spec");
    args.push_back(spec);
  }
  int status = run_cutover(d, args);
  if (status != 0) return {false, "rollback exited with status " + std::to_string(status)};
  return {true, "rollback restored the stores from the manifest"};
}

Outcome stores_hash_to_before(Drill& d) {
  if (d.manifest_path.empty()) return need_manifest();
  d.command = "sha256sum of each store, against before_sha256 in " + d.manifest_path;
  auto bytes = d.fs.read_file(d.manifest_path);
  if (!bytes) return {false, bytes.error().message()};
  auto m = manifest::parse_manifest(bytes->view(), d.manifest_path);
  if (!m) return {false, m.error().message()};
  std::vector<std::string> problems;
  for (const auto& s : m->stores) {
    auto info = d.fs.stat(s.path);
    if (!info) {
      problems.push_back(info.error().message());
      continue;
    }
    if (!s.existed) {
      if (info->exists)
        problems.push_back(s.store + ": created by the migration, still at " + s.path);
      else
        append_log(d, s.store + ": created by the migration, moved aside");
      continue;
    }
    auto sha = hash::sha256_file_hex(d.fs, s.path);
    if (!sha) {
      problems.push_back(sha.error().message());
    } else if (*sha != *s.before_sha256) {
      problems.push_back(s.store + ": " + *sha + ", expected " + *s.before_sha256);
    } else {
      append_log(d, *sha + "  " + s.path);
    }
  }
  for (const auto& p : problems) append_log(d, "problem: " + p);
  if (!problems.empty()) return {false, problems.front()};
  return {true, "every store hashes to its pre-migration SHA-256"};
}

Outcome evidence_bundle(Drill& d) {
  if (d.manifest_path.empty()) return need_manifest();
  std::string key = base::join_path(d.run_dir, "keys/harness");
  std::string bundle = base::join_path(d.run_dir, "evidence");
  if (auto st = d.fs.create_directories(base::parent_directory(key)); !st) return {false, st.error().message()};
  if (int st = run_cutover(d, {"keygen", "--out", key}); st != 0)
    return {false, "keygen exited with status " + std::to_string(st)};
  std::vector<std::string> collect = {"evidence", "collect", "--manifest", d.manifest_path, "--out", bundle};
  for (const auto& spec : d.options.spec_files) {
    collect.push_back("--spec");
    collect.push_back(spec);
  }
  if (int st = run_cutover(d, collect); st != 0)
    return {false, "evidence collect exited with status " + std::to_string(st)};
  if (int st = run_cutover(d, {"evidence", "sign", bundle, "--key", key + ".key"}); st != 0) {
    return {false, "evidence sign exited with status " + std::to_string(st)};
  }
  if (int st = run_cutover(d, {"evidence", "verify", bundle, "--trust", key + ".pub", "--threshold", "1"}); st != 0) {
    return {false, "the signed bundle does not verify (exit status " + std::to_string(st) + ")"};
  }
  return {true, "collected, signed with a throwaway key, and verified: " + bundle};
}

// A route-split server started on an ephemeral port (a stub target and the
// control API) from the harness's route config, with a throwaway operator
// token, in `dir`; stopped with stop().
struct Stub {
  std::unique_ptr<base::Child> server;
  std::string url;  // http://127.0.0.1:PORT
  std::string token_file;
  std::string config_text;  // the route config as given ("{}" for the built-in)
  routing::RouteConfig config;
};

std::optional<Outcome> start_stub(Drill& d, const std::string& dir, Stub& stub) {
  if (auto st = d.fs.create_directories(dir); !st) return Outcome{false, st.error().message()};
  stub.config_text = "{}";
  std::string source = "built-in";
  if (!d.options.routes_config.empty()) {
    auto bytes = d.fs.read_file(d.options.routes_config);
    if (!bytes) return Outcome{false, bytes.error().message()};
    stub.config_text = std::string(bytes->view());
    source = d.options.routes_config;
  }
  auto config = routing::parse_route_config(stub.config_text, source);
  if (!config) return Outcome{false, config.error().message()};
  stub.config = std::move(*config);
  // The same config with the harness's own tokens file beside it.
  auto doc = json::parse(stub.config_text);
  if (!doc || !doc->root().is_object()) return Outcome{false, "route config " + source + " is not a JSON object"};
  json::Node root = doc->with_member(doc->root(), "tokens_file", doc->make_string("tokens.txt"));
  std::string config_path = base::join_path(dir, "config.json");
  std::string token = hash::sha256_hex(d.run_dir + std::to_string(d.clock.now_ns()));  // throwaway
  stub.token_file = base::join_path(dir, "operator.token");
  // The tokens file and the token are private to this user (serve refuses
  // a tokens file others may read).
  base::FileInfo owner_only;
  owner_only.mode = 0600;
  owner_only.uid = ::getuid();
  owner_only.gid = ::getgid();
  for (const auto& [path, text, like] : std::vector<std::tuple<std::string, std::string, const base::FileInfo*>>{
           {config_path, json::to_canonical_string(root), nullptr},
           {base::join_path(dir, "tokens.txt"), "operator harness sha256:" + hash::sha256_hex(token) + "\n",
            &owner_only},
           {stub.token_file, token, &owner_only}}) {
    if (auto st = base::write_file_atomic(d.fs, path, text, like); !st) return Outcome{false, st.error().message()};
  }

  std::string serve_line = "cutover serve --config " + quote(config_path) + " --listen 127.0.0.1:0 --state-dir " +
                           quote(base::join_path(dir, "state"));
  d.command = serve_line;
  append_log(d, "$ " + serve_line + " &");
  auto server = base::Child::spawn({d.options.cutover_binary, "serve", "--config", config_path, "--listen",
                                    "127.0.0.1:0", "--state-dir", base::join_path(dir, "state")},
                                   d.log_path);
  if (!server) return Outcome{false, "cannot start the server: " + server.error().message()};
  stub.server = std::make_unique<base::Child>(std::move(*server));
  auto line = stub.server->read_line(15000);
  if (!line || line->rfind("listening on ", 0) != 0) {
    (void)stub.server->terminate();
    return Outcome{false, "the server did not start: " + (line ? *line : line.error().message())};
  }
  stub.url = "http://" + line->substr(std::string("listening on ").size());
  append_log(d, *line);
  return std::nullopt;
}

// Stops the stub; false unless it exited 0 on SIGTERM.
bool stop_stub(Drill& d, Stub& stub) {
  auto stopped = stub.server->terminate();
  append_log(d, "server stopped, exit status " + (stopped ? std::to_string(*stopped) : stopped.error().message()));
  return stopped && *stopped == 0;
}

// Starts a route-split server on an ephemeral port with a throwaway operator
// token, drills every route group through the control API (rollback,
// evaluate, restore the previous overrides), then stops the server.
Outcome route_rollback_drill(Drill& d) {
  if (d.manifest_path.empty()) return need_manifest();
  std::string dir = base::join_path(d.run_dir, "routes");
  Stub stub;
  if (auto failed = start_stub(d, dir, stub)) return *failed;
  std::vector<std::string> failed;
  for (const auto& group : stub.config.route_groups) {
    std::string report = base::join_path(dir, "drill-" + group.domain + ".json");
    int st = run_cutover(
        d, {"drill", "--manifest", d.manifest_path, "--server", stub.url, "--token-file", stub.token_file, "--group",
            group.domain, "--scratch", base::join_path(dir, "scratch-" + group.domain), "--out", report});
    if (st != 0) failed.push_back(group.domain);
  }
  bool stopped = stop_stub(d, stub);
  if (!failed.empty()) {
    std::string names;
    for (const auto& f : failed) names += (names.empty() ? "" : ", ") + f;
    return {false, "route rollback failed for " + names};
  }
  if (!stopped) return {false, "the server did not stop cleanly on SIGTERM"};
  return {true, std::to_string(stub.config.route_groups.size()) +
                    " route groups rolled back to their matrix targets through the control API, overrides restored"};
}

// Issue 17: `cutover routes check` on the harness's route matrix with both
// targets' base URLs pointed at a stub it starts (`cutover serve` answers
// /healthz), so every group's rollback and forward targets, and every
// pinned route's, must answer. The report is routes/routes-report.json.
Outcome rollback_targets_answer(Drill& d) {
  std::string dir = base::join_path(d.run_dir, "targets");
  Stub stub;
  if (auto failed = start_stub(d, dir, stub)) return *failed;
  auto doc = json::parse(stub.config_text);
  json::Node root = doc->with_member(doc->root(), "legacy_base_url", doc->make_string(stub.url));
  root = doc->with_member(root, "rust_base_url", doc->make_string(stub.url));
  std::string check_config = base::join_path(dir, "check-config.json");
  std::string report = base::join_path(dir, "routes-report.json");
  int st = -1;
  if (auto w = base::write_file_atomic(d.fs, check_config, json::to_canonical_string(root) + "\n"); !w) {
    append_log(d, "cannot write " + check_config + ": " + w.error().message());
  } else {
    st = run_cutover(d, {"routes", "check", "--config", check_config, "--out", report});
  }
  bool stopped = stop_stub(d, stub);
  if (st != 0) return {false, "routes check failed (exit status " + std::to_string(st) + "); see " + report};
  if (!stopped) return {false, "the server did not stop cleanly on SIGTERM"};
  return {true, std::to_string(stub.config.route_groups.size()) + " route groups' rollback and forward targets and " +
                    std::to_string(stub.config.pinned_routes.size()) + " pinned routes answer /healthz: " + report};
}

// Issue 17, runbook rule 1: `cutover expand check` on the drill's stores
// before backfill touches them. The reader is cutover's own `canonicalize`,
// which reads any JSON document: it stands for a new release that accepts
// both the pre-migration and the migrated shape of every fixture store. The
// report is expand/expand-report.json.
Outcome readers_accept_both_shapes(Drill& d) {
  std::string dir = base::join_path(d.run_dir, "expand");
  if (auto st = d.fs.create_directories(dir); !st) return {false, st.error().message()};
  std::string report = base::join_path(dir, "expand-report.json");
  std::vector<std::string> args = {"expand", "check", "--reader", quote(d.options.cutover_binary) + " canonicalize {}",
                                   "--out",  report};
  auto flags = store_flags(d);
  args.insert(args.end(), flags.begin(), flags.end());
  int status = run_cutover(d, args);
  if (status != 0) return {false, "expand check exited with status " + std::to_string(status) + "; see " + report};
  return {true, "the reader accepts the pre-migration and the migrated shape of every store: " + report};
}

Outcome runbook_present(Drill& d) {
  d.command = "grep Expand/Migrate/Contract " + d.options.runbook_path;
  auto bytes = d.fs.read_file(d.options.runbook_path);
  if (!bytes) return {false, "no runbook: " + bytes.error().message()};
  std::string_view text = bytes->view();
  std::vector<std::string> missing;
  for (const char* word : {"Expand", "Migrate", "Verify", "Rollback", "Contract"}) {
    if (text.find(word) == std::string_view::npos) missing.push_back(word);
  }
  if (!missing.empty()) return {false, "the runbook does not name " + missing.front()};
  append_log(d, d.options.runbook_path + " names Expand, Migrate, Verify, Rollback, Contract");
  return {true, "the runbook is present and names the Expand / Migrate / Contract procedure"};
}

struct CheckDef {
  const char* id;
  const char* description;
  Outcome (*run)(Drill&);
};

const CheckDef k_checks[] = {
    {"readers_accept_both_shapes", "expand check: a reader accepts both shapes of every store (runbook rule 1)",
     readers_accept_both_shapes},
    {"backfill_writes_manifest", "backfill runs and writes a manifest", backfill_writes_manifest},
    {"manifest_found", "the newest manifest is found as the runbook finds it", manifest_found},
    {"checksums_verify", "cutover verify: checksums, recounts and backups hold", checksums_verify},
    {"manifest_invariants", "manifest invariants: schema, stores, 64-hex after_sha256, counts", manifest_invariants},
    {"verify_baseline", "verify against the fixtures' count baseline", verify_against_baseline},
    {"evidence_bundle", "the evidence bundle is collected, signed with a throwaway key and verified", evidence_bundle},
    {"store_rollback", "store rollback from the same manifest runs", store_rollback_runs},
    {"stores_restored", "every store hashes to its pre-migration SHA-256 again", stores_hash_to_before},
    {"rollback_targets_answer", "routes check: every group's rollback and forward targets answer (stub targets)",
     rollback_targets_answer},
    {"route_rollback_drill", "every route group rolls back to its matrix target through the control API",
     route_rollback_drill},
    {"runbook_present", "docs/RUNBOOK.md is present and names the procedure", runbook_present},
};

json::Node record_node(json::Document& doc, const CheckRecord& r) {
  return doc.make_object({
      {doc.make_string("check_id"), doc.make_string(r.check_id)},
      {doc.make_string("description"), doc.make_string(r.description)},
      {doc.make_string("command"), doc.make_string(r.command)},
      {doc.make_string("status"), doc.make_string(r.passed ? "pass" : "fail")},
      {doc.make_string("reason"), doc.make_string(r.reason)},
      {doc.make_string("started_at"), doc.make_string(r.started_at)},
      {doc.make_string("ended_at"), doc.make_string(r.ended_at)},
      {doc.make_string("log_path"), doc.make_string(r.log_path)},
  });
}

std::string markdown_cell(std::string s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : c == '\n' ? std::string(" ") : std::string(1, c);
  return out;
}

Status write_outputs(Drill& d, HarnessResult& result) {
  json::Document doc;
  std::string jsonl;
  std::vector<json::Node> checks;
  size_t passed = 0;
  for (const auto& r : result.checks) {
    json::Node node = record_node(doc, r);
    jsonl += json::to_compact_string(node) + "\n";
    checks.push_back(node);
    passed += r.passed ? 1 : 0;
  }
  TRY(base::write_file_atomic(d.fs, base::join_path(d.run_dir, "checks.jsonl"), jsonl));

  size_t failed = result.checks.size() - passed;
  json::Node summary = doc.make_object({
      {doc.make_string("schema"), doc.make_string(k_summary_schema)},
      {doc.make_string("generated_at"), doc.make_string(base::rfc3339_utc(d.clock.now_ns()))},
      {doc.make_string("totals"), doc.make_object({
                                      {doc.make_string("check_count"), json::Node::u64(result.checks.size())},
                                      {doc.make_string("passed"), json::Node::u64(passed)},
                                      {doc.make_string("failed"), json::Node::u64(failed)},
                                  })},
      {doc.make_string("overall_status"), doc.make_string(failed == 0 ? "passed" : "failed")},
      {doc.make_string("run_dir"), doc.make_string(d.run_dir)},
      {doc.make_string("issue_url"),
       d.options.issue_url.empty() ? json::Node::null() : doc.make_string(d.options.issue_url)},
      {doc.make_string("checks"), doc.make_array(checks)},
  });
  TRY(base::write_file_atomic(d.fs, result.summary_path, json::to_canonical_string(summary) + "\n"));

  std::string md = "# Mixed-version deploy safety harness\n\n";
  if (!d.options.issue_url.empty()) md += "Issue: " + markdown_cell(d.options.issue_url) + "  \n";
  md += "Run folder: `" + d.run_dir + "`  \n";
  md += "Overall: **" + std::string(failed == 0 ? "passed" : "failed") + "** (" + std::to_string(passed) + " passed, " +
        std::to_string(failed) + " failed)\n\n";
  md += "| check | status | description | log |\n|---|---|---|---|\n";
  for (const auto& r : result.checks) {
    md += "| " + r.check_id + " | " + (r.passed ? "pass" : "**fail**") + " | " + markdown_cell(r.description) +
          (r.passed ? "" : ": " + markdown_cell(r.reason)) + " | " + base::file_name(r.log_path) + " |\n";
  }
  return base::write_file_atomic(d.fs, result.summary_md_path, md);
}

// Copies the given stores (or writes the fixtures) into the run folder.
Status prepare_stores(Drill& d) {
  TRY(d.fs.create_directories(d.stores_dir));
  if (d.options.stores.empty()) {
    for (const auto& [kind, bytes] : store::builtin_fixtures()) {
      std::string path = base::join_path(d.stores_dir, kind + ".json");
      TRY(base::write_file_atomic(d.fs, path, bytes));
      d.stores.push_back({kind, path});
    }
    return {};
  }
  for (const auto& s : d.options.stores) {
    std::string path = base::join_path(d.stores_dir, s.kind + "-" + base::file_name(s.path));
    TRY_ASSIGN(base::FileInfo info, d.fs.stat(s.path));
    if (info.exists) {
      TRY_ASSIGN_CTX(base::Buffer bytes, d.fs.read_file(s.path), "store " + s.kind);
      TRY(base::write_file_atomic(d.fs, path, bytes.view()));
    }
    d.stores.push_back({s.kind, path});
  }
  return {};
}

}  // namespace

bool HarnessResult::all_passed() const {
  return std::all_of(checks.begin(), checks.end(), [](const CheckRecord& r) { return r.passed; });
}

Result<HarnessResult> run_harness(const HarnessOptions& options, base::FileSystem& fs, base::Clock& clock,
                                  const ProgressFn& progress) {
  std::string out_dir = base::absolute_path(options.out_dir);
  TRY(fs.create_directories(out_dir));
  TRY_ASSIGN(auto existing, fs.list_directory(out_dir));
  std::string run_id = backfill::next_run_id(clock.now_ns() / 1000000000, existing);

  Drill d{options, fs, clock, base::join_path(out_dir, run_id), "", "", "", {}, "", "", ""};
  d.stores_dir = base::join_path(d.run_dir, "fixtures");
  d.work_dir = base::join_path(d.run_dir, "work");
  d.logs_dir = base::join_path(d.run_dir, "logs");
  TRY(fs.create_directories(d.logs_dir));
  TRY(prepare_stores(d));

  HarnessResult result;
  result.run_dir = d.run_dir;
  result.summary_path = base::join_path(d.run_dir, "summary.json");
  result.summary_md_path = base::join_path(d.run_dir, "SUMMARY.md");
  size_t total = std::size(k_checks);
  for (size_t i = 0; i < total; ++i) {
    const CheckDef& def = k_checks[i];
    CheckRecord r;
    r.check_id = def.id;
    r.description = def.description;
    r.log_path = base::join_path(d.logs_dir, std::string(def.id) + ".log");
    d.command.clear();
    d.log_path = r.log_path;
    append_log(d, "# " + r.check_id + ": " + r.description);
    r.started_at = base::rfc3339_utc(clock.now_ns());
    Outcome outcome = def.run(d);
    r.ended_at = base::rfc3339_utc(clock.now_ns());
    r.command = d.command;
    r.passed = outcome.passed;
    r.reason = outcome.reason;
    append_log(d, std::string(outcome.passed ? "pass" : "FAIL") + ": " + outcome.reason);
    result.checks.push_back(r);
    if (progress) progress(r, i, total);
  }
  TRY(write_outputs(d, result));
  return result;
}

}  // namespace cutover::harness
