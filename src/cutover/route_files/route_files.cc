#include "cutover/route_files/route_files.h"

#include <string>
#include <string_view>

namespace cutover::route_files {

Result<LoadedConfig> load_route_config(base::FileSystem& fs, const std::string& path, const routing::Environment& env) {
  LoadedConfig loaded;
  if (path.empty()) {
    loaded.config = routing::reference_config();
  } else {
    TRY_ASSIGN_CTX(auto info, fs.stat(path), "route config " + path);
    if (!info.exists) {
      return make_error(ErrorCode::not_found, "route config " + path +
                                                  " does not exist; give an existing file with --config, or leave "
                                                  "--config out for the built-in reference config");
    }
    TRY_ASSIGN_CTX(auto bytes, fs.read_file(path), "route config " + path);
    TRY_ASSIGN(loaded.config, routing::parse_route_config(bytes.view(), path));
  }
  TRY_ASSIGN(loaded.warnings, routing::apply_environment(loaded.config, env));
  return loaded;
}

routing::Environment route_environment(char** envp) {
  routing::Environment env;
  for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("OA_ROUTE_SPLIT_", 0) != 0) continue;
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

std::string tokens_path(const routing::RouteConfig& config, const std::string& config_path) {
  if (!config.tokens_file) return "";
  const std::string& file = *config.tokens_file;
  if (!file.empty() && file.front() == '/') return file;
  if (config_path.empty()) return file;
  return base::join_path(base::parent_directory(config_path), file);
}

std::string state_file_path(const std::string& state_dir) { return base::join_path(state_dir, "overrides.json"); }
std::string audit_log_path(const std::string& state_dir) { return base::join_path(state_dir, "audit.jsonl"); }
std::string lock_file_path(const std::string& state_dir) { return base::join_path(state_dir, "lock"); }

Result<routing::OverrideState> load_override_state(base::FileSystem& fs, const std::string& state_dir,
                                                   const routing::RouteSplit& engine) {
  std::string path = state_file_path(state_dir);
  TRY_ASSIGN_CTX(auto info, fs.stat(path), "state file " + path);
  if (!info.exists) return routing::OverrideState{};
  if (info.is_symlink) {
    return make_error(ErrorCode::permission_denied, "state file " + path +
                                                        " is a symbolic link; cutover does not follow links to its "
                                                        "own files: put the real state file there");
  }
  if (!info.is_regular) {
    return make_error(ErrorCode::corruption, "state file " + path + " is not a regular file; move it aside");
  }
  TRY_ASSIGN_CTX(auto bytes, fs.read_file_no_follow(path), "state file " + path);
  return routing::parse_state(bytes.view(), path, engine);
}

}  // namespace cutover::route_files
