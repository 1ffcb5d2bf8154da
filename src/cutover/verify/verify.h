// Verify: the runbook's gate after a migration (SPEC §4). Checks a manifest
// against the disk and reports every finding, not just the first:
//   - the manifest is complete (status "complete"; an in-progress or failed
//     run is not something to cut over on);
//   - each store file exists and hashes to after_sha256;
//   - each store has every count key its spec defines (and no other), and
//     recounting the file gives the manifest's numbers;
//   - rollback is still available: each backup is inside WORK/backups/, exists
//     and hashes to before_sha256 (a store with existed: false needs none),
//     and the store path is one rollback will write through;
//   - with a baseline, the manifest's counts meet it.
// The report serialises to canonical JSON (docs/formats/verify-report.md).
//
// Speed: per store, the store file is read once and hashed and recounted on
// the same pass (CountScanner), while a second thread hashes the backup. A
// store whose hash does not match is recounted by parsing it instead.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/base/progress.h"
#include "cutover/store/store_spec.h"
#include "cutover/verify/baseline.h"

namespace cutover::verify {

inline constexpr std::string_view k_report_schema = "cutover.verify_report.v1";

enum class FindingCode {
  manifest_incomplete,  // status is not "complete"
  unsafe_path,          // a store or backup path rollback would refuse
  missing_file,         // the store file does not exist
  unreadable,           // the store file could not be read
  sha_mismatch,         // the store does not hash to after_sha256
  unknown_store_kind,   // no spec to recount with (pass --spec)
  not_json,             // the store could not be parsed to recount it
  missing_count,        // the spec defines a count the manifest lacks
  unexpected_count,     // the manifest has a count the spec does not define
  count_drift,          // manifest value != recount
  backup_missing,       // rollback unavailable: no backup file
  backup_corrupt,       // rollback unavailable: backup does not hash to before_sha256
  backup_unreadable,    // rollback unavailable: backup cannot be read
  baseline_violation,   // a count outside its baseline bound
  baseline_missing,     // the baseline names a store or key the manifest lacks
  previous_missing,     // a change bound, but the previous manifest lacks the store or key
};

std::string_view finding_code_name(FindingCode code);

struct Finding {
  FindingCode code;
  std::string store;    // the store kind ("" for none)
  std::string message;  // the human sentence after "error: [store] "
  // Details for the JSON report; set where they apply.
  std::string path;
  std::string key;
  std::optional<std::string> expected_sha256;
  std::optional<std::string> actual_sha256;
  std::optional<uint64_t> expected;  // count: the manifest's value
  std::optional<uint64_t> actual;    // count: the recount, or the value a baseline judged
  std::optional<uint64_t> previous;  // count in the previous manifest
  std::string bound;                 // baseline: the bound broken, e.g. "min 5"
};

enum class BackupStatus { ok, not_needed, missing, corrupt, unsafe, unreadable };
std::string_view backup_status_name(BackupStatus status);

struct StoreReport {
  std::string store;
  std::string path;
  bool existed = false;
  std::string expected_sha256;               // the manifest's after_sha256
  std::optional<std::string> actual_sha256;  // nullopt when the file could not be read
  std::optional<std::string> backup_path;
  BackupStatus backup = BackupStatus::not_needed;
  std::optional<std::string> backup_sha256;
  std::map<std::string, uint64_t> counts;     // the manifest's
  std::map<std::string, uint64_t> recounted;  // from the file on disk (empty when impossible)
  std::string recount_method;                 // "scan", "parse" or "none"
  std::vector<Finding> findings;

  bool ok() const { return findings.empty(); }
};

struct BaselineUse {
  std::string path;  // the baseline file
  std::string environment;
  std::optional<std::string> previous_manifest;
  std::optional<std::string> previous_manifest_sha256;
};

struct VerifyReport {
  std::string schema = std::string(k_report_schema);
  std::string manifest_path;
  std::string manifest_sha256;
  std::string run_id;
  std::string manifest_status;
  std::string verified_at;  // RFC 3339 UTC
  std::optional<BaselineUse> baseline;
  std::vector<StoreReport> stores;
  std::vector<Finding> findings;  // not tied to one store of the manifest

  bool ok() const;
  size_t finding_count() const;
};

struct VerifyOptions {
  std::string manifest_path;
  std::string baseline_path;      // "" for none
  std::string environment;        // "" for the baseline's only environment
  std::string previous_manifest;  // "" for the baseline's previous_manifest, if any
  // Told the total size of the store files, then each piece of them as it
  // is hashed and recounted (the backups, hashed beside them, and a
  // recount by parsing are not counted). Not owned; may be null.
  base::Progress* progress = nullptr;
};

// Runs every check above. The registry should hold the built-ins and the
// operator's --spec files; a kind it lacks is loaded from the manifest's
// spec_source when that names a readable file.
// Errors (no report): the manifest cannot be read or is not a usable
// manifest, the baseline or previous manifest is unreadable or malformed, or
// the baseline needs a previous manifest and none is given —
// invalid_argument or not_found. Everything about the stores is a finding.
Result<VerifyReport> verify_manifest(const VerifyOptions& options, const store::SpecRegistry& specs,
                                     base::FileSystem& fs, base::Clock& clock);

// Canonical JSON of the report (schema cutover.verify_report.v1).
std::string to_json(const VerifyReport& report);

// The human lines: "ok: [store] path" per healthy store, "error: [store] ..."
// per finding, and the one-line verdict last.
std::vector<std::string> human_lines(const VerifyReport& report);

}  // namespace cutover::verify
