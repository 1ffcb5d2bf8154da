// Defaults for the commands' flags, from the environment and a settings
// file: cutover.conf in the folder a command runs in
// (docs/formats/cutover-conf.md). A setting's value is the flag's when the
// command line gives it, else its environment variable's, else the file's,
// else the command's own default. Pure: the caller reads the environment
// and the file (cli/settings.h), so every rule here is testable with values.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "cutover/base/error.h"

namespace cutover::base {

struct SettingDef {
  std::string_view name;     // the environment variable and the file's key, e.g. "CUTOVER_LEDGER"
  std::string_view flag;     // the flag it stands in for, e.g. "--ledger"
  std::string_view meaning;  // one line for `cutover config` and the docs
  bool secret = false;       // its value is never printed (the token)
};

inline constexpr SettingDef k_settings[] = {
    {"CUTOVER_WORK_DIR", "--work-dir", "backfill, status, prune: the folder for manifests/ and backups/", false},
    {"CUTOVER_LEDGER", "--ledger",
     "the phase ledger of gate, verify, rollback, backfill, drill, evidence collect, status and prune", false},
    {"CUTOVER_TRUST", "--trust",
     "the trusted public keys of evidence verify, gate advance and status (comma-separated)", false},
    {"CUTOVER_THRESHOLD", "--threshold", "how many trusted keys must have signed (evidence verify, gate advance)",
     false},
    {"CUTOVER_SERVER", "--server", "the control server of routes promote|abort|undo|get, drill and status", false},
    {"CUTOVER_TOKEN", "--token-file", "the bearer token itself, for the commands that take --server", true},
};

inline constexpr std::string_view k_settings_file_name = "cutover.conf";

// The definition called `name`; REQUIRES: it is one of k_settings.
const SettingDef& setting_def(std::string_view name);

struct SettingsFile {
  struct Entry {
    std::string value;
    size_t line = 0;  // 1-based
  };
  std::string path;  // for messages and `cutover config`; "" when there is no file
  std::map<std::string, Entry, std::less<>> entries;
};

// Parses a settings file's text. One setting a line, `KEY=VALUE`: white
// space around KEY and VALUE is dropped; a VALUE wholly inside one pair of
// double or single quotes is taken from inside them, as it is; blank lines
// and lines whose first non-blank character is `#` are skipped (a `#` later
// on a line is part of the value). KEY is one of k_settings' names, at most
// once. Errors (invalid_argument) list every problem as "PATH:LINE: ...",
// an unknown key with the nearest known one ("did you mean").
Result<SettingsFile> parse_settings_file(std::string_view text, const std::string& path);

enum class SettingSource { flag, environment, file, default_value, none };

// "flag", "env", "file", "default", "unset".
std::string_view setting_source_name(SettingSource source);

struct Setting {
  std::string name;  // the setting's name, e.g. "CUTOVER_LEDGER"
  std::string value;
  SettingSource source = SettingSource::none;
  std::string origin;  // "--ledger", "CUTOVER_LEDGER", "/work/cutover.conf:3", "" (default, unset)

  bool is_set() const { return source != SettingSource::none; }
};

// One setting: `flag` when it is not empty (origin `flag_name`), else
// `env_value` when it is set and not empty (origin `env_name`), else the
// file's entry when it is not empty, else `default_value` when it is not empty, else unset.
Setting resolve_setting(std::string_view name, std::string_view flag_name, std::string_view flag,
                        std::string_view env_name, const char* env_value, const SettingsFile& file,
                        std::string_view default_value = "");

}  // namespace cutover::base
