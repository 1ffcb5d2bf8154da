// The rollback drill (SPEC §5-§7, docs/formats/drill-report.md): proves,
// without touching a live store, that both kinds of rollback work for one
// route group of one release train:
//   1. store restore: every backup the manifest names is copied into a
//      scratch folder (never a live path), fsynced, read back and hashed; each
//      must hash to before_sha256. A store the migration created needs none.
//   2. route rollback, on the real control server: read the group's current
//      override and rollback target; apply the group's rollback; evaluate a
//      path of the group and check it now goes to the rollback target
//      (reason domain_override); then put the previous override back (or
//      clear it) and check the server shows it again. The previous state is
//      put back even when a check in between fails.
// Any failed step fails the drill; the report says which and why.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/clock.h"
#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/drill/route_control.h"
#include "cutover/evidence/drill_report.h"
#include "cutover/json/document.h"
#include "cutover/json/writer.h"

namespace cutover::drill {

struct DrillOptions {
  std::string manifest_path;
  std::string group;          // a route group; normalised like the route split does
  std::string release_train;  // "" = the manifest's run id
  // Where backups are restored. It must not exist yet, or be an empty
  // folder; it is created if missing. REQUIRES: not empty.
  std::string scratch_dir;
  bool keep_restored = false;  // leave the restored copies (default: removed once proven)
  std::string path;            // the path evaluated; "" = the group's first route prefix
};

struct RestoredStore {
  std::string store;
  std::string store_path;  // the live path, never written
  bool existed = false;
  std::optional<std::string> backup_path;
  std::optional<std::string> before_sha256;
  std::optional<std::string> restored_path;
  std::optional<std::string> restored_sha256;
  std::optional<uint64_t> restored_size;
  bool ok = false;
  std::string detail;
};

struct DrillStep {
  std::string name;  // store_restore, route_status, route_rollback, route_decision, route_restore
  bool ok = false;
  std::string detail;
};

struct DrillReport {
  std::string schema = std::string(evidence::k_drill_report_schema);
  std::string started_at;
  std::string finished_at;
  std::string tool;
  std::string group;
  std::string release_train;
  std::string server;
  std::string manifest_path;
  std::string manifest_sha256;
  std::string run_id;
  std::string scratch_dir;
  std::vector<RestoredStore> stores;
  // Route rollback.
  std::string evaluated_path;
  std::string rollback_target;
  std::optional<std::string> previous_override;  // the group's override before the drill
  json::Document decision;                       // the server's decision under the rollback
  std::optional<std::string> override_after;     // the group's override after the drill
  std::vector<DrillStep> steps;

  bool ok() const;
  // The report (docs/formats/drill-report.md).
  void write_json(json::Writer& w) const;
};

// Runs the drill. Errors (no drill was run): the manifest cannot be read or
// used, the group name is invalid, the scratch folder is not empty or cannot
// be made. Everything else is a step in the report.
Result<DrillReport> run_drill(const DrillOptions& options, RouteControl& control, base::FileSystem& fs,
                              base::Clock& clock);

// One line a step and store, the verdict last.
std::vector<std::string> human_lines(const DrillReport& report);

}  // namespace cutover::drill
