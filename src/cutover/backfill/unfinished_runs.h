// Backfill's guard against building on a run that did not finish: a run
// killed or failed part-way leaves its stores possibly half-migrated, and a
// new run would record that as their before-state. These checks find such a
// run (in this work folder, or beside a store from another one) and refuse,
// naming the `cutover rollback` to run. Internal to backfill.
#pragma once

#include <string>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"

namespace cutover::backfill {

// A run that did not finish over this store, from another work folder: the
// marker beside the store (manifest::unfinished_run_marker_path) names its
// in-progress manifest. A marker whose run completed, was undone or rolled
// back, or that names this work folder (check_no_unfinished_run has judged
// that one) is stale and removed. REQUIRES: the store-folder lock is held.
// A conflict error names the store (`label`) and the rollback to run.
Status check_run_marker(base::FileSystem& fs, const std::string& store_path, const std::string& work_dir,
                        const std::string& label);

// A run killed after its in-progress manifest appeared, or one that failed
// part-way, leaves manifests/<run>.json.in-progress or .json.failed in
// `work_dir`. Until it is rolled back: a conflict error naming each such run
// and the rollback to run. REQUIRES: the work-folder lock is held.
Status check_no_unfinished_run(base::FileSystem& fs, const std::string& work_dir);

}  // namespace cutover::backfill
