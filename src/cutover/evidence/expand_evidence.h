// Issue 17: the evidence of the expand phase, read back. `cutover expand
// check --out` writes an expand report (docs/formats/expand-report.md: the
// new release's reader accepted both store shapes) and `cutover routes check
// --out` a routes report (docs/formats/routes-report.md: every group's
// rollback and forward targets answered). The gate reads both; the evidence
// bundle carries them. This module only reads and judges them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/json/writer.h"

namespace cutover::evidence {

inline constexpr std::string_view k_expand_report_format = "cutover.expand_report.v1";
inline constexpr std::string_view k_routes_report_format = "cutover.routes_report.v1";

// What every report has: where it is, its digest, when it was made.
struct ReportFile {
  std::string path;        // absolute
  std::string sha256;      // of the file's bytes
  std::string created_at;  // RFC 3339 UTC, as written
  bool ok = false;         // the report's own verdict
  std::string text;        // the bytes read, judged and hashed (what a bundle carries)
};

struct ExpandStore {
  std::string name;
  std::string path;
  bool existed = false;
  std::string sha256_after;  // "" when the store was missing
};

struct ExpandReport {
  ReportFile file;
  std::vector<ExpandStore> stores;
  std::vector<std::string> problems;  // why it cannot be used or did not pass; empty = a passing report
};

struct RoutesReportSummary {
  ReportFile file;
  std::string config_sha256;
  std::map<std::string, bool> groups;  // group -> ok
  std::vector<std::string> problems;   // empty = a passing report
};

// Reads and checks a report against its format: the format string, ok true,
// a parseable created_at, and the fields the gate uses; for an expand report
// also that every run of every store passed and every store's hash after the
// check equals its hash before. Errors (not problems): the file cannot be
// read (not_found, io_error, permission_denied), naming it.
Result<ExpandReport> read_expand_report(base::FileSystem& fs, const std::string& path);
Result<RoutesReportSummary> read_routes_report(base::FileSystem& fs, const std::string& path);

// The members path, sha256 and created_at, as a ledger record or a bundle
// keeps a report (the caller opens and closes the object, and may add more).
void write_report_file_members(json::Writer& w, const ReportFile& file);

}  // namespace cutover::evidence
