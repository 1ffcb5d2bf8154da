// The evidence bundle (SPEC §7, rule 6; docs/formats/evidence.md): one
// folder per cutover holding what was checked, a statement listing every
// file's SHA-256, and a DSSE envelope with the signatures over the statement.
//
//   DIR/manifest.json          the migration manifest, byte for byte
//   DIR/verify-report.json     the verification report (given, or run by collect)
//   DIR/counts.json            the count snapshot (manifest counts and recounts)
//   DIR/drill-report.json      the rollback drill report          (optional)
//   DIR/harness-summary.json   the harness summary                (optional)
//   DIR/canary-samples.json    the canary samples                 (optional)
//   DIR/statement.json         in-toto Statement v1: subject = the files
//                              above with their SHA-256; predicate = where
//                              they came from, the release train and the
//                              proof the backups are retained
//   DIR/statement.dsse.json    DSSE envelope: payload = statement.json's bytes
//
// collect writes everything but the envelope; sign adds or replaces one
// signature in the envelope (several signers sign the same statement);
// verify checks every digest, every signature and the threshold, and that
// the evidence itself passes (a passing verification of this manifest,
// backups retained, a passing drill and harness when present).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/evidence/canary_samples.h"
#include "cutover/evidence/drill_report.h"
#include "cutover/evidence/keys.h"
#include "cutover/hash/ed25519.h"
#include "cutover/json/writer.h"
#include "cutover/store/store_spec.h"

namespace cutover::evidence {

inline constexpr std::string_view k_statement_type = "https://in-toto.io/Statement/v1";
inline constexpr std::string_view k_predicate_type = "urn:cutover:evidence:v1";
inline constexpr std::string_view k_evidence_schema = "cutover.evidence.v1";
inline constexpr std::string_view k_count_snapshot_schema = "cutover.count_snapshot.v1";
inline constexpr std::string_view k_harness_schema = "openagents.webparity.mixed_version_safety_harness.v1";

inline constexpr std::string_view k_statement_file = "statement.json";
inline constexpr std::string_view k_envelope_file = "statement.dsse.json";
inline constexpr std::string_view k_manifest_file = "manifest.json";
inline constexpr std::string_view k_verify_report_file = "verify-report.json";
inline constexpr std::string_view k_counts_file = "counts.json";
inline constexpr std::string_view k_drill_report_file = "drill-report.json";
inline constexpr std::string_view k_harness_summary_file = "harness-summary.json";
inline constexpr std::string_view k_canary_samples_file = "canary-samples.json";
inline constexpr std::string_view k_expand_report_file = "expand-report.json";
inline constexpr std::string_view k_routes_report_file = "routes-report.json";

// Proof that one store's backup is retained: where it is, its size and
// SHA-256 when collected, and whether that is the manifest's before_sha256.
struct BackupProof {
  std::string store;
  std::string store_path;
  bool existed = false;
  std::optional<std::string> backup_path;    // null for a store the migration created
  std::optional<std::string> before_sha256;  // the manifest's
  std::optional<uint64_t> size;              // the backup's, when it could be read
  std::optional<std::string> sha256;         // likewise
  bool retained = false;                     // a created store needs no backup: retained
  std::string problem;                       // why not, "" when retained
};

// The phase ledger's head a bundle is pinned to: the gates refuse the bundle
// for a ledger that no longer holds it. The caller reads the ledger (gates/);
// evidence only records and reads back the pin.
struct LedgerPin {
  std::string path;  // absolute
  uint64_t records = 0;
  std::string head_sha256;  // the last line's SHA-256; 64 zeros for no record
};

struct CollectOptions {
  std::string manifest_path;
  std::string out_dir;               // must not exist, or be an empty folder
  std::string verify_report_path;    // "" = run verify now
  std::string drill_report_path;     // optional
  std::string harness_summary_path;  // optional
  std::string canary_samples_path;   // optional
  std::string expand_report_path;    // optional: `cutover expand check --out` (issue 17)
  std::string routes_report_path;    // optional: `cutover routes check --out` (issue 17)
  std::string release_train;         // "" = the manifest's run id
  std::optional<LedgerPin> ledger;   // optional: the phase ledger's head, which the statement records
};

struct CollectResult {
  std::string dir;
  std::string statement_path;
  std::string statement_sha256;
  std::vector<std::string> files;  // the subject names
  std::string release_train;
  bool verification_ran = false;      // collect ran verify itself
  std::vector<std::string> problems;  // what the bundle records as failing (verify, backups, drill, harness)
  bool ok() const { return problems.empty(); }
};

// Collects a bundle. It records what is true: a failing verification or a
// missing backup is written into the bundle (and listed in `problems`), and
// `evidence verify` and the gates then refuse it. Errors (nothing useful
// written): invalid_argument or not_found for an unusable manifest or input
// file (a report, summary or samples file that is not what it claims), an
// output folder that is not empty; io_error or permission_denied.
Result<CollectResult> collect_bundle(const CollectOptions& options, const store::SpecRegistry& specs,
                                     base::FileSystem& fs, base::Clock& clock);

struct SignResult {
  std::string envelope_path;
  std::string keyid;
  bool replaced = false;  // this key had signed before; its signature was replaced
  size_t signature_count = 0;
  std::vector<std::string> warnings;  // e.g. the bundle records a failing verification
};

// Adds `key`'s signature to DIR/statement.dsse.json (creating it). Refuses,
// changing nothing: a bundle whose files do not match the statement's
// digests (corruption), or an envelope over a different statement.json
// (conflict: the statement was collected again; start a new envelope).
Result<SignResult> sign_bundle(base::FileSystem& fs, const std::string& dir, const hash::Ed25519PrivateKey& key);

struct VerifyBundleOptions {
  std::vector<TrustedKey> trusted;
  size_t threshold = 1;
  bool check_backups = false;  // also hash each backup now (they must still be retained)
  // `cutover status` without --trust: a signature by a key not in `trusted`
  // is listed (SignatureCheck with no trusted_key) but is not a problem; with
  // threshold 0 the rest of the bundle is still checked.
  bool list_unknown_signers = false;
};

struct SignatureCheck {
  size_t index = 0;
  std::string keyid;
  std::string trusted_key;  // the --trust file with this keyid; "" when unknown
  bool valid = false;
};

// What the gates read from a bundle that verified.
struct BundleContents {
  std::string statement_sha256;
  std::string collected_at;
  std::string release_train;
  std::string manifest_sha256;
  std::string manifest_source_path;
  std::string run_id;
  std::vector<BackupProof> backups;
  std::optional<DrillSummary> drill;
  std::optional<CanarySamples> canary;
  std::optional<std::string> harness_status;
  std::vector<std::string> files;
  // The phase ledger's head when collected (collect --ledger).
  std::optional<LedgerPin> ledger;
};

struct BundleCheck {
  std::string dir;
  size_t threshold = 0;
  std::vector<SignatureCheck> signatures;
  std::vector<std::string> trusted_signers;  // distinct trusted keyids with a valid signature
  std::vector<std::string> problems;         // every reason the bundle fails
  BundleContents contents;

  bool ok() const { return problems.empty(); }
  // The `evidence verify --json` report (cutover.evidence_check.v1).
  void write_json(json::Writer& w) const;
};

// Verifies a bundle: every file's digest, no unlisted file, the envelope
// (canonical, over exactly statement.json), every signature (an unknown key
// or a bad signature fails), at least `threshold` distinct trusted keys,
// and the evidence itself. Every problem is listed.
BundleCheck verify_bundle(base::FileSystem& fs, const std::string& dir, const VerifyBundleOptions& options);

// Hashes each backup now; one problem per backup that is no longer the one
// the bundle proved (missing, another size or SHA-256).
std::vector<std::string> check_backups_still_retained(base::FileSystem& fs, const std::vector<BackupProof>& backups);

}  // namespace cutover::evidence
