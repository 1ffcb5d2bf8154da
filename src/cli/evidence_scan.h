// What `cutover status` and `cutover prune` find of the verify step's
// evidence: verify reports (`cutover verify --json` saved to a file,
// docs/formats/verify-report.md) and evidence bundles (folders holding
// statement.json, docs/formats/evidence.md), under the folders given.
//
// Fail closed: a .json file that is not JSON, or a verify report missing a
// field, is named in `problems` ("could not check"), never skipped as if it
// were not there; JSON files of other schemas are not evidence and are left
// alone. Reading never writes.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "cutover/base/file_system.h"
#include "cutover/manifest/runs.h"

namespace cutover::cli {

struct VerifyVerdict {
  std::string path;
  bool ok = false;
  uint64_t finding_count = 0;
  std::string manifest_path;
  std::string manifest_sha256;
  std::string run_id;
  std::string verified_at;  // RFC 3339 UTC, as verify writes it (sorts in time order)
};

struct BundleFound {
  std::string dir;
};

struct EvidenceFound {
  std::vector<VerifyVerdict> reports;  // sorted by verified_at, newest last
  std::vector<BundleFound> bundles;    // sorted by folder
  std::vector<std::string> problems;
};

// Searches each root (a file, a bundle folder or a folder searched three
// levels deep; a missing root is a problem) and WORK/reports/ when
// `work_dir` is not empty (missing there is fine).
EvidenceFound scan_evidence(base::FileSystem& fs, const std::vector<std::string>& roots, const std::string& work_dir);

// The run ids of `runs` whose manifest (the same bytes) has a passing
// report in `reports`, or whose manifest SHA-256 is in `ledger_verified`.
std::set<std::string> verified_runs(const std::vector<manifest::RunInfo>& runs,
                                    const std::vector<VerifyVerdict>& reports,
                                    const std::set<std::string>& ledger_verified);

}  // namespace cutover::cli
