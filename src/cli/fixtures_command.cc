// cutover fixtures DIR: writes the reference fixtures (SPEC §8) as
// DIR/<kind>.json, for drills and tests. Refuses to overwrite a file.
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/output.h"
#include "cutover/json/writer.h"
#include "cutover/store/fixtures.h"

namespace cutover::cli {
namespace {

int write_fixtures(const std::string& dir, bool as_json) {
  json::Writer w;
  w.begin_object().key("fixtures").begin_object();
  base::FileSystem& fs = base::real_file_system();
  if (auto st = fs.create_directories(dir); !st) return report_error("fixtures", st.error());
  for (const auto& [kind, bytes] : store::builtin_fixtures()) {
    std::string path = base::join_path(dir, kind + ".json");
    auto file = fs.create_new_file(path);
    if (!file) return report_error("fixtures", file.error());
    Status st = (*file)->append(bytes);
    if (st) st = (*file)->sync();
    if (st) st = (*file)->close();
    if (!st) return report_error("fixtures", st.error());
    if (as_json) {
      w.member(kind, base::absolute_path(path));
    } else {
      std::cout << kind << "=" << base::absolute_path(path) << "\n";
    }
  }
  if (as_json) std::cout << w.end_object().end_object().take() << "\n";
  return k_exit_ok;
}

}  // namespace

void add_fixtures_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("fixtures", "Write the built-in reference fixtures to DIR as <kind>.json");
  auto dir = std::make_shared<std::string>();
  cmd->add_option("DIR", *dir, "folder to write into (created if missing)")->required();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *as_json, "print {fixtures: {KIND: PATH}} as one JSON document");
  cmd->callback([dir, as_json, &exit_code] { exit_code = write_fixtures(*dir, *as_json); });
}

}  // namespace cutover::cli
