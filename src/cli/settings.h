// The CUTOVER_* settings in force for this process (base/settings.h): the
// environment, and cutover.conf in the current folder when there is one.
// The one place the commands get their --work-dir, --ledger, --trust,
// --threshold, --server and token defaults from.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/base/settings.h"

namespace cutover::cli {

// Set (to anything) in a process's environment, its commands read no
// cutover.conf: the harness sets it for the commands it runs.
inline constexpr std::string_view k_no_settings_file = "CUTOVER_NO_SETTINGS_FILE";

class Settings {
 public:
  // Reads ./cutover.conf if it exists. Errors: it cannot be read; it is
  // malformed (file, line, and the did-you-mean key); or it holds
  // CUTOVER_TOKEN while group or others may read it.
  static Result<Settings> load();

  // The setting `name` (one of base::k_settings): `flag` when not empty,
  // else the environment, else the file, else `default_value`.
  // CUTOVER_WORK_DIR falls back on the reference wrapper's WORK_DIR.
  base::Setting get(std::string_view name, const std::string& flag, std::string_view default_value = "") const;

  // The file that was read; "" when there is none.
  const std::string& file_path() const { return file_.path; }

 private:
  base::SettingsFile file_;
};

// Settings::load() then get(): the value, "" when unset.
Result<std::string> setting_value(std::string_view name, const std::string& flag, std::string_view default_value = "");

// Sets `flag` (a flag's value, "" when not given) to setting_value(name,
// flag, default_value): what a command's callback calls before its main.
Status fill_from_settings(std::string& flag, std::string_view name, std::string_view default_value = "");

// CUTOVER_TRUST: the --trust flags when given, else the setting split at
// commas (white space around each key dropped, empty pieces ignored).
Result<std::vector<std::string>> trusted_key_files(const std::vector<std::string>& flags);

// The message for a required setting nobody gave, e.g. "no ledger: give
// --ledger FILE, or set CUTOVER_LEDGER (environment or cutover.conf)".
Error missing_setting(std::string_view name, std::string_view what, std::string_view example);

}  // namespace cutover::cli
