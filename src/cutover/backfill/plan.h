// `cutover backfill --plan`: what a backfill would change, store by store,
// with the counts before and after, computed in memory by backfill's own
// step 2 (backfill::migrated_form) and writing nothing: no lock, no marker,
// no manifest, no backup, no temporary file (issue 16).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cutover/backfill/backfill.h"
#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/store/counts.h"
#include "cutover/store/store_spec.h"

namespace cutover::backfill {

struct StorePlan {
  std::string kind;
  std::string path;
  bool exists = false;   // false: backfill would create it
  bool changed = false;  // backfill would rewrite (or create) it
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  store::Counts counts_before;  // of the store as it is (0s for a missing store)
  store::Counts counts_after;   // of what backfill would write
  std::vector<std::string> destructive_resets;
};

// The plan for every store of `options` (work_dir is not needed). Errors:
// invalid_argument listing every store backfill would refuse (unknown kind,
// not JSON, a shape it will not migrate), one line each; io_error or
// permission_denied when a store cannot be read.
Result<std::vector<StorePlan>> plan_backfill(const BackfillOptions& options, const store::SpecRegistry& specs,
                                             base::FileSystem& fs);

}  // namespace cutover::backfill
