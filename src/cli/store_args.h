// The stores a command works on: --store NAME=PATH flags, or else the
// reference wrapper's environment variables (backfill, expand check).
#pragma once

#include <string>
#include <vector>

#include "cutover/backfill/backfill.h"
#include "cutover/base/error.h"

namespace cutover::cli {

// The help of --store in the commands that take store_targets' flags.
inline constexpr const char* k_store_flag_help =
    "NAME=PATH: a store of kind NAME (auth, codex_threads, domain, or one from --spec); repeatable. "
    "Default: AUTH_STORE_PATH, CODEX_THREAD_STORE_PATH, DOMAIN_STORE_PATH";

// Each flag split at its first '='; with no flag, AUTH_STORE_PATH,
// CODEX_THREAD_STORE_PATH and DOMAIN_STORE_PATH (those set and not empty).
// Errors: invalid_argument for a flag that is not NAME=PATH.
Result<std::vector<backfill::StoreTarget>> store_targets(const std::vector<std::string>& flags);

}  // namespace cutover::cli
