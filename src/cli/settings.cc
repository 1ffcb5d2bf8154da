#include "cli/settings.h"

#include <cstdlib>

#include "cutover/base/file_system.h"

namespace cutover::cli {

Result<Settings> Settings::load() {
  base::FileSystem& fs = base::real_file_system();
  Settings settings;
  if (std::getenv(std::string(k_no_settings_file).c_str()) != nullptr) return settings;
  std::string path = base::absolute_path(std::string(base::k_settings_file_name));
  TRY_ASSIGN(base::FileInfo info, fs.stat(path));
  if (!info.exists) return settings;
  TRY_ASSIGN(base::Buffer bytes, fs.read_file(path));
  TRY_ASSIGN(settings.file_, base::parse_settings_file(bytes.view(), path));
  if (settings.file_.entries.count("CUTOVER_TOKEN") && (info.mode & 044) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", info.mode & 07777);
    return make_error(ErrorCode::permission_denied,
                      "settings file " + path + " holds CUTOVER_TOKEN but group or others may read it (mode " + mode +
                          "): chmod 600 " + path + ", or keep the token out of it");
  }
  return settings;
}

base::Setting Settings::get(std::string_view name, const std::string& flag, std::string_view default_value) const {
  const base::SettingDef& def = base::setting_def(name);
  std::string env_name(def.name);
  const char* env = std::getenv(env_name.c_str());
  if ((env == nullptr || *env == '\0') && name == "CUTOVER_WORK_DIR") {
    const char* legacy = std::getenv("WORK_DIR");
    if (legacy != nullptr && *legacy != '\0') {
      env_name = "WORK_DIR";
      env = legacy;
    }
  }
  return base::resolve_setting(name, def.flag, flag, env_name, env, file_, default_value);
}

Result<std::string> setting_value(std::string_view name, const std::string& flag, std::string_view default_value) {
  if (!flag.empty()) return flag;  // a flag wins: a broken cutover.conf does not stop a command that needs none
  TRY_ASSIGN(Settings settings, Settings::load());
  return settings.get(name, flag, default_value).value;
}

Status fill_from_settings(std::string& flag, std::string_view name, std::string_view default_value) {
  TRY_ASSIGN(flag, setting_value(name, flag, default_value));
  return {};
}

Result<std::vector<std::string>> trusted_key_files(const std::vector<std::string>& flags) {
  if (!flags.empty()) return flags;
  TRY_ASSIGN(std::string list, setting_value("CUTOVER_TRUST", ""));
  std::vector<std::string> keys;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string key = list.substr(start, comma - start);
    size_t a = key.find_first_not_of(" \t"), b = key.find_last_not_of(" \t");
    if (a != std::string::npos) keys.push_back(key.substr(a, b - a + 1));
    start = comma + 1;
  }
  return keys;
}

Error missing_setting(std::string_view name, std::string_view what, std::string_view example) {
  const base::SettingDef& def = base::setting_def(name);
  return Error(ErrorCode::invalid_argument, "no " + std::string(what) + ": give " + std::string(def.flag) + " " +
                                                std::string(example) + ", or set " + std::string(def.name) +
                                                " (in the environment or in ./cutover.conf)");
}

}  // namespace cutover::cli
