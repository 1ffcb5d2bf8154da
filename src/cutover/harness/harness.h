// The harness: the whole mixed-version drill as one command (SPEC §8), the
// project's main job. It runs cutover's own commands, one check after the
// other, each with its own log, and records every check even when an earlier
// one failed. It writes, in a fresh run folder DIR/<UTC timestamp>/:
//   fixtures/        the stores it works on (the built-in fixtures, or
//                    copies of the stores given: originals are never touched)
//   work/            the backfill's manifests and backups
//   logs/<check>.log one log a check
//   checks.jsonl     one line a check
//   summary.json     schema openagents.webparity.mixed_version_safety_harness.v1
//   SUMMARY.md       a table of the checks
// docs/formats/harness.md describes the files.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/base/file_system.h"

namespace cutover::harness {

inline constexpr std::string_view k_summary_schema = "openagents.webparity.mixed_version_safety_harness.v1";

struct StoreSource {
  std::string kind;
  std::string path;
};

struct HarnessOptions {
  std::string out_dir;                  // run folders are made inside
  std::vector<StoreSource> stores;      // empty: the built-in fixtures
  std::vector<std::string> spec_files;  // store specs for user-defined kinds
  std::string routes_config;            // route config for the server check ("" = built-in)
  std::string runbook_path;             // docs/RUNBOOK.md
  std::string cutover_binary;           // the cutover executable the checks run
  std::string issue_url;                // the issue the run reports on ("" = none): summary.json and SUMMARY.md
};

struct CheckRecord {
  std::string check_id;
  std::string description;
  std::string command;
  bool passed = false;
  std::string reason;
  std::string started_at;
  std::string ended_at;
  std::string log_path;
};

struct HarnessResult {
  std::string run_dir;
  std::string summary_path;
  std::string summary_md_path;
  std::vector<CheckRecord> checks;
  bool all_passed() const;
};

// Called after each check, for progress lines.
using ProgressFn = std::function<void(const CheckRecord&, size_t index, size_t total)>;

// Runs every check and writes the outputs. An error only when the run folder
// cannot be made or the outputs cannot be written; failed checks are results.
Result<HarnessResult> run_harness(const HarnessOptions& options, base::FileSystem& fs, base::Clock& clock,
                                  const ProgressFn& progress);

}  // namespace cutover::harness
