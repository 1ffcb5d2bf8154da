// Routing file I/O: reading the route config and the override state from
// disk, and where the state folder's files live. The I/O around the pure
// routing module, shared by `cutover serve` (the server module) and the
// offline `cutover routes` commands, which need nothing of the server.
#pragma once

#include <string>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/routing/config.h"
#include "cutover/routing/overrides.h"
#include "cutover/routing/route_split.h"

namespace cutover::route_files {

struct LoadedConfig {
  routing::RouteConfig config;
  std::vector<std::string> warnings;  // environment values that were ignored
};

// Reads the config file at `path` ("" = the built-in reference config) and
// applies the route-split variables found in `env`. Errors name the file
// (not_found when it is missing, invalid_argument when it is not usable).
Result<LoadedConfig> load_route_config(base::FileSystem& fs, const std::string& path, const routing::Environment& env);

// The OA_ROUTE_SPLIT_* variables of a process environment (`environ`).
routing::Environment route_environment(char** envp);

// The tokens file named by the config, resolved against the config file's
// folder; not_found-free: "" when the config names none.
std::string tokens_path(const routing::RouteConfig& config, const std::string& config_path);

// DIR/overrides.json, DIR/audit.jsonl, DIR/lock.
std::string state_file_path(const std::string& state_dir);
std::string audit_log_path(const std::string& state_dir);
std::string lock_file_path(const std::string& state_dir);

// Reads DIR/overrides.json; a missing file is the empty state (revision 0).
// A file that cannot be parsed, or that names a group `engine` lacks, is
// refused (corruption) with what to do.
Result<routing::OverrideState> load_override_state(base::FileSystem& fs, const std::string& state_dir,
                                                   const routing::RouteSplit& engine);

}  // namespace cutover::route_files
