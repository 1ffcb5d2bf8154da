// cutover evidence collect|sign|verify: the signed evidence bundle of a
// cutover (SPEC §7, docs/formats/evidence.md).
//   collect --manifest M --out DIR [--verify-report R] [--drill-report D]
//           [--harness-summary S] [--canary-samples C] [--release-train T]
//     gathers the evidence and writes DIR/statement.json; exit 1 when the
//     bundle records a failure (a failing verification, a backup not
//     retained, a failed drill or harness), 0 otherwise.
//   sign DIR --key KEY   adds KEY's signature to DIR/statement.dsse.json.
//   verify DIR --trust PUB... [--threshold N] [--check-backups]
//     exit 0 only when every digest, every signature, the threshold and the
//     evidence itself hold; 1 with every reason otherwise.
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/settings.h"
#include "cutover/evidence/bundle.h"
#include "cutover/evidence/keys.h"
#include "cutover/gates/ledger.h"
#include "cutover/json/writer.h"

namespace cutover::cli {
namespace {

struct CollectArgs {
  evidence::CollectOptions options;
  std::string ledger_path;  // --ledger: its head goes into options.ledger
  std::vector<std::string> spec_files;
  bool json = false;
};

struct SignArgs {
  std::string dir;
  std::string key;
  bool json = false;
};

struct VerifyArgs {
  std::string dir;
  std::vector<std::string> trust;
  std::string threshold;  // default: CUTOVER_THRESHOLD, else 1
  bool check_backups = false;
  bool json = false;
};

void write_strings(json::Writer& w, std::string_view name, const std::vector<std::string>& list) {
  w.key(name).begin_array();
  for (const auto& s : list) w.string(s);
  w.end_array();
}

int collect_main(const CollectArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  auto specs = store::SpecRegistry::with_builtins();
  for (const auto& file : args.spec_files) {
    if (auto st = specs.load_file(fs, file); !st) return report_error("evidence collect", st.error());
  }
  evidence::CollectOptions options = args.options;
  if (!args.ledger_path.empty()) {
    auto ledger = gates::read_existing_ledger(fs, args.ledger_path);
    if (!ledger) return report_error("evidence collect", ledger.error());
    gates::LedgerHead head = gates::head_of(*ledger);
    options.ledger = evidence::LedgerPin{base::absolute_path(args.ledger_path), head.records, head.sha256};
  }
  auto result = evidence::collect_bundle(options, specs, fs, base::system_clock());
  if (!result) return report_error("evidence collect", result.error());
  if (args.json) {
    print_json([&](json::Writer& w) {
      w.begin_object().member("bundle", result->dir).member("statement", result->statement_path);
      w.member("statement_sha256", result->statement_sha256).member("release_train", result->release_train);
      w.member("verification", result->verification_ran ? "ran" : "given").member("ok", result->ok());
      write_strings(w, "files", result->files);
      write_strings(w, "problems", result->problems);
      w.end_object();
    });
  } else {
    for (const auto& f : result->files) std::cout << "collected: " << f << "\n";
    for (const auto& p : result->problems) std::cout << "error: " << p << "\n";
    std::cout << "statement: " << result->statement_path << " (sha256 " << result->statement_sha256 << ")\n";
    if (result->ok()) {
      std::cout << "evidence collect: ok: bundle " << result->dir << " (release train " << result->release_train
                << "); sign it with: cutover evidence sign " << result->dir << " --key KEY\n";
    } else {
      std::cout << "evidence collect: FAILED: the bundle " << result->dir << " records " << result->problems.size()
                << " failure(s); evidence verify and the gates will refuse it\n";
    }
  }
  return result->ok() ? k_exit_ok : k_exit_failed;
}

int sign_main(const SignArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  auto key = evidence::load_private_key(fs, args.key);
  if (!key) return report_error("evidence sign", key.error());
  auto result = evidence::sign_bundle(fs, args.dir, *key);
  if (!result) return report_error("evidence sign", result.error());
  for (const auto& w : result->warnings) std::cerr << "cutover evidence sign: warning: " << w << "\n";
  if (args.json) {
    print_json([&](json::Writer& w) {
      w.begin_object().member("envelope", result->envelope_path).member("keyid", result->keyid);
      w.member("replaced", result->replaced).member("signatures", result->signature_count);
      write_strings(w, "warnings", result->warnings);
      w.end_object();
    });
  } else {
    std::cout << "signed: " << result->envelope_path << " by key " << result->keyid
              << (result->replaced ? " (replacing its earlier signature)" : "") << "; " << result->signature_count
              << " signature(s)\n";
  }
  return k_exit_ok;
}

int verify_main(const VerifyArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  auto trusted = evidence::load_trusted_keys(fs, args.trust);
  if (!trusted) return report_error("evidence verify", trusted.error());
  auto threshold = evidence::parse_threshold(args.threshold, trusted->size());
  if (!threshold) return report_error("evidence verify", threshold.error());
  evidence::VerifyBundleOptions options;
  options.trusted = std::move(*trusted);
  options.threshold = *threshold;
  options.check_backups = args.check_backups;
  evidence::BundleCheck check = evidence::verify_bundle(fs, args.dir, options);
  if (args.json) {
    print_json([&](json::Writer& w) { check.write_json(w); });
  } else {
    for (const auto& s : check.signatures) {
      if (s.valid) std::cout << "ok: signature by " << s.keyid << " (" << s.trusted_key << ")\n";
    }
    for (const auto& p : check.problems) std::cout << "error: " << p << "\n";
    if (check.ok()) {
      std::cout << "evidence verify: ok: " << check.contents.files.size() << " files match the statement, "
                << check.trusted_signers.size() << " of " << options.trusted.size()
                << " trusted keys signed (threshold " << check.threshold << ")\n";
    } else {
      std::cout << "evidence verify: FAILED: " << check.problems.size() << " problem(s) in " << check.dir << "\n";
    }
  }
  return check.ok() ? k_exit_ok : k_exit_failed;
}

// --trust and --threshold, or CUTOVER_TRUST and CUTOVER_THRESHOLD (else 1).
// A --threshold that is given is checked as it is, even when empty.
Status resolve_trust(VerifyArgs& v, bool threshold_given) {
  if (!threshold_given) TRY(fill_from_settings(v.threshold, "CUTOVER_THRESHOLD", "1"));
  TRY_ASSIGN(v.trust, trusted_key_files(v.trust));
  if (v.trust.empty()) return tl::unexpected(missing_setting("CUTOVER_TRUST", "trusted key", "KEY.pub"));
  return {};
}

}  // namespace

void add_evidence_command(CLI::App& app, int& exit_code) {
  auto* ev = app.add_subcommand("evidence", "Collect, sign and verify the evidence bundle of a cutover");
  ev->require_subcommand(1);

  auto c = std::make_shared<CollectArgs>();
  auto* collect = ev->add_subcommand("collect",
                                     "Gather manifest, verification, counts, backups proof (and drill, "
                                     "harness, canary) into DIR with a statement of their SHA-256");
  collect->add_option("--manifest", c->options.manifest_path, "the migration manifest (WORK/manifests/<run>.json)")
      ->required();
  collect->add_option("--out", c->options.out_dir, "the bundle folder: new or empty")->required();
  collect->add_option("--verify-report", c->options.verify_report_path,
                      "the report of `cutover verify --json` (default: verify runs now)");
  collect->add_option("--drill-report", c->options.drill_report_path, "the report of `cutover drill --out`");
  collect->add_option("--expand-report", c->options.expand_report_path, "the report of `cutover expand check --out`");
  collect->add_option("--routes-report", c->options.routes_report_path, "the report of `cutover routes check --out`");
  collect->add_option("--harness-summary", c->options.harness_summary_path, "the harness run's summary.json");
  collect->add_option("--canary-samples", c->options.canary_samples_path,
                      "the canary samples file (docs/formats/canary-samples.md)");
  collect->add_option("--release-train", c->options.release_train,
                      "the release train (default: the manifest's run id)");
  collect->add_option("--ledger", c->ledger_path,
                      "the phase ledger: its head (records, last SHA-256) is recorded, and the gates refuse the "
                      "bundle for a ledger that no longer holds it (default: CUTOVER_LEDGER)");
  collect->add_option("--spec", c->spec_files, "a store spec file for a kind that is not built in; repeatable");
  collect->add_flag("--json", c->json, "print the result as JSON");
  collect->callback([c, &exit_code] {
    Status st = fill_from_settings(c->ledger_path, "CUTOVER_LEDGER");
    exit_code = st ? collect_main(*c) : report_error("evidence collect", st.error());
  });

  auto s = std::make_shared<SignArgs>();
  auto* sign = ev->add_subcommand("sign", "Add a signature to DIR/statement.dsse.json");
  sign->add_option("DIR", s->dir, "the bundle folder")->required();
  sign->add_option("--key", s->key, "the private key (NAME.key of `cutover keygen`, or an openssl ed25519 key)")
      ->required();
  sign->add_flag("--json", s->json, "print the result as JSON");
  sign->callback([s, &exit_code] { exit_code = sign_main(*s); });

  auto v = std::make_shared<VerifyArgs>();
  auto* verify = ev->add_subcommand("verify", "Check every digest and signature of DIR and the m-of-n threshold");
  verify->add_option("DIR", v->dir, "the bundle folder")->required();
  verify->add_option("--trust", v->trust,
                     "a trusted public key file; repeatable (or several after one --trust); default: CUTOVER_TRUST, "
                     "comma-separated");
  auto* threshold = verify->add_option(
      "--threshold", v->threshold, "distinct trusted keys that must have signed (default: CUTOVER_THRESHOLD, else 1)");
  verify->add_flag("--check-backups", v->check_backups, "also hash every backup now: it must still be retained");
  verify->add_flag("--json", v->json, "print the check as JSON");
  verify->callback([v, threshold, &exit_code] {
    Status st = resolve_trust(*v, threshold->count() > 0);
    exit_code = st ? verify_main(*v) : report_error("evidence verify", st.error());
  });
}

}  // namespace cutover::cli
