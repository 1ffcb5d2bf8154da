// cutover config [--json]: each CUTOVER_* setting in force here and where it
// came from (env, file with its line, default, or unset), so an operator can
// see what a command will use before running it. The token's value is never
// printed, only whether it is set. A malformed cutover.conf is the error the
// commands that read it would give.
#include <iomanip>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/settings.h"
#include "cutover/base/file_system.h"
#include "cutover/json/writer.h"

namespace cutover::cli {
namespace {

// What a command uses when nothing sets the value.
std::string_view default_of(std::string_view name) { return name == "CUTOVER_THRESHOLD" ? "1" : ""; }

void print_json(const Settings& settings) {
  json::Writer out = json::Writer::canonical();
  out.begin_object().key("file");
  if (settings.file_path().empty()) {
    out.null();
  } else {
    out.string(settings.file_path());
  }
  out.key("settings").begin_array();
  for (const base::SettingDef& def : base::k_settings) {
    base::Setting s = settings.get(def.name, "", default_of(def.name));
    out.begin_object().member("name", def.name).member("flag", def.flag).member("meaning", def.meaning);
    out.member("source", base::setting_source_name(s.source)).member("set", s.is_set()).key("origin");
    if (s.origin.empty()) {
      out.null();
    } else {
      out.string(s.origin);
    }
    out.key("value");
    if (!s.is_set() || def.secret) {
      out.null();
    } else {
      out.string(s.value);
    }
    out.end_object();
  }
  out.end_array().end_object();
  std::cout << out.take() << "\n";
}

void print_human(const Settings& settings) {
  std::cout << "settings file: "
            << (settings.file_path().empty()
                    ? "none (no " + std::string(base::k_settings_file_name) + " in " + base::absolute_path(".") + ")"
                    : settings.file_path())
            << "\n";
  for (const base::SettingDef& def : base::k_settings) {
    base::Setting s = settings.get(def.name, "", default_of(def.name));
    std::string value = !s.is_set() ? "-" : def.secret ? "(set; not shown)" : s.value;
    std::cout << std::left << std::setw(19) << def.name << std::setw(40) << value << " "
              << base::setting_source_name(s.source) << (s.origin.empty() ? "" : " (" + s.origin + ")") << "\n";
  }
  std::cout << "(a flag on the command line wins over the environment, which wins over the file)\n";
}

int config_main(bool json) {
  auto settings = Settings::load();
  if (!settings) return report_error("config", settings.error());
  if (json) {
    print_json(*settings);
  } else {
    print_human(*settings);
  }
  return k_exit_ok;
}

}  // namespace

void add_config_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "config", "Show each CUTOVER_* default in force (environment, ./cutover.conf) and where it came from");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "print the settings as JSON");
  cmd->callback([json, &exit_code] { exit_code = config_main(*json); });
}

}  // namespace cutover::cli
