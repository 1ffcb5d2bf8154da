#include "cli/evidence_scan.h"

#include <algorithm>

#include "cutover/evidence/bundle.h"
#include "cutover/json/field_reader.h"
#include "cutover/json/parser.h"
#include "cutover/verify/verify.h"

namespace cutover::cli {
namespace {

constexpr int k_max_depth = 3;

// A .json file: a verify report, something else (skipped), or a problem.
void read_json_file(base::FileSystem& fs, const std::string& path, EvidenceFound& out) {
  auto bytes = fs.read_file(path);
  if (!bytes) {
    out.problems.push_back("could not check " + path + ": " + bytes.error().message());
    return;
  }
  auto doc = json::parse(bytes->view());
  if (!doc) {
    out.problems.push_back("could not check " + path + ": not JSON: " + doc.error().message());
    return;
  }
  const json::Node* schema = doc->root().is_object() ? doc->root().find("schema") : nullptr;
  if (schema == nullptr || !schema->is_string() || schema->as_string() != verify::k_report_schema) return;
  std::vector<std::string> problems;
  json::FieldReader r(doc->root(), "verify report", problems);
  VerifyVerdict v;
  v.path = path;
  v.ok = r.boolean("ok");
  v.finding_count = r.u64("finding_count");
  v.verified_at = r.string("verified_at");
  if (const json::Node* m = r.object("manifest")) {
    json::FieldReader mr(*m, "verify report.manifest", problems);
    v.manifest_path = mr.string("path");
    v.manifest_sha256 = mr.string("sha256");
    v.run_id = mr.string("run_id");
  }
  if (!problems.empty()) {
    std::string text;
    for (const auto& p : problems) text += (text.empty() ? "" : "; ") + p;
    out.problems.push_back("could not check " + path + ": not a usable verify report: " + text);
    return;
  }
  out.reports.push_back(std::move(v));
}

void walk(base::FileSystem& fs, const std::string& path, int depth, EvidenceFound& out) {
  auto info = fs.stat(path);
  if (!info) {
    out.problems.push_back("could not check " + path + ": " + info.error().message());
    return;
  }
  if (!info->exists) {
    out.problems.push_back("could not check " + path + ": it does not exist");
    return;
  }
  if (info->is_symlink && depth > 0) return;
  if (info->is_regular) {
    if (path.ends_with(".json")) read_json_file(fs, path, out);
    return;
  }
  if (!info->is_directory || depth > k_max_depth) return;
  auto statement = fs.stat(base::join_path(path, std::string(evidence::k_statement_file)));
  if (statement && statement->exists) out.bundles.push_back({path});
  auto names = fs.list_directory(path);
  if (!names) {
    out.problems.push_back("could not check " + path + ": " + names.error().message());
    return;
  }
  std::sort(names->begin(), names->end());
  for (const auto& name : *names) {
    if (name.starts_with(".")) continue;  // temporary files
    std::string child = base::join_path(path, name);
    // Inside a bundle only its verify report is evidence of a verdict.
    if (statement && statement->exists && name != evidence::k_verify_report_file) continue;
    walk(fs, child, depth + 1, out);
  }
}

}  // namespace

EvidenceFound scan_evidence(base::FileSystem& fs, const std::vector<std::string>& roots, const std::string& work_dir) {
  EvidenceFound out;
  for (const auto& root : roots) walk(fs, base::absolute_path(root), 0, out);
  if (!work_dir.empty()) {
    std::string reports = base::join_path(base::absolute_path(work_dir), "reports");
    auto info = fs.stat(reports);
    if (info && info->exists) walk(fs, reports, 0, out);
  }
  std::stable_sort(out.reports.begin(), out.reports.end(),
                   [](const VerifyVerdict& a, const VerifyVerdict& b) { return a.verified_at < b.verified_at; });
  auto same_path = [](const auto& a, const auto& b) { return a.path == b.path; };
  out.reports.erase(std::unique(out.reports.begin(), out.reports.end(), same_path), out.reports.end());
  std::sort(out.bundles.begin(), out.bundles.end(),
            [](const BundleFound& a, const BundleFound& b) { return a.dir < b.dir; });
  out.bundles.erase(std::unique(out.bundles.begin(), out.bundles.end(),
                                [](const BundleFound& a, const BundleFound& b) { return a.dir == b.dir; }),
                    out.bundles.end());
  return out;
}

std::set<std::string> verified_runs(const std::vector<manifest::RunInfo>& runs,
                                    const std::vector<VerifyVerdict>& reports,
                                    const std::set<std::string>& ledger_verified) {
  std::set<std::string> passing(ledger_verified);
  for (const auto& r : reports) {
    if (r.ok && r.finding_count == 0) passing.insert(r.manifest_sha256);
  }
  std::set<std::string> out;
  for (const auto& run : runs) {
    if (!run.manifest_sha256.empty() && passing.contains(run.manifest_sha256)) out.insert(run.run_id);
  }
  return out;
}

}  // namespace cutover::cli
