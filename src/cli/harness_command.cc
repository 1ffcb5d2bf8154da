// cutover harness: the whole drill as one command (SPEC §8); `make run` runs it.
#include <algorithm>
#include <climits>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/settings.h"
#include "cutover/harness/harness.h"

#ifndef CUTOVER_SOURCE_RUNBOOK
#define CUTOVER_SOURCE_RUNBOOK "docs/RUNBOOK.md"
#endif

namespace cutover::cli {
namespace {

struct HarnessArgs {
  std::string out_dir = "cutover-runs";
  std::vector<std::string> stores;
  std::vector<std::string> spec_files;
  std::string routes_config;
  std::string runbook;
  std::string issue;
  bool json = false;
};

std::string self_path() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "cutover";
}

// The installed copy (PREFIX/share/cutover/RUNBOOK.md beside PREFIX/bin),
// else docs/RUNBOOK.md beside the build folder the binary lives in, or in the
// checkout it was built from (a build folder elsewhere), or under the current
// folder.
std::string default_runbook(base::FileSystem& fs) {
  std::string prefix = base::parent_directory(base::parent_directory(self_path()));
  for (const std::string& candidate :
       {base::join_path(prefix, "share/cutover/RUNBOOK.md"), base::join_path(prefix, "docs/RUNBOOK.md"),
        std::string(CUTOVER_SOURCE_RUNBOOK), base::absolute_path("docs/RUNBOOK.md")}) {
    auto info = fs.stat(candidate);
    if (info && info->exists) return base::absolute_path(candidate);
  }
  return base::absolute_path("docs/RUNBOOK.md");
}

int harness_main(const HarnessArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  // The drill's commands get every flag they need from it: the operator's
  // defaults (CUTOVER_* variables, ./cutover.conf) must not change them.
  for (const base::SettingDef& def : base::k_settings) ::unsetenv(std::string(def.name).c_str());
  ::setenv(std::string(k_no_settings_file).c_str(), "1", 1);
  harness::HarnessOptions options;
  options.out_dir = args.out_dir;
  options.spec_files = args.spec_files;
  options.routes_config = args.routes_config;
  options.runbook_path = args.runbook.empty() ? default_runbook(fs) : args.runbook;
  options.cutover_binary = self_path();
  if (!args.issue.empty()) {
    bool web = args.issue.rfind("https://", 0) == 0 || args.issue.rfind("http://", 0) == 0;
    bool clean = std::none_of(args.issue.begin(), args.issue.end(),
                              [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
    if (!web || !clean) {
      return report_error(
          "harness", Error(ErrorCode::invalid_argument,
                           "--issue '" + args.issue + "' must be the issue's web address (https://..., no spaces)"));
    }
    options.issue_url = args.issue;
  }
  for (const auto& s : args.stores) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == s.size()) {
      return report_error("harness", Error(ErrorCode::invalid_argument, "--store '" + s + "' must be NAME=PATH"));
    }
    options.stores.push_back({s.substr(0, eq), base::absolute_path(s.substr(eq + 1))});
  }
  bool terminal = ::isatty(STDERR_FILENO) != 0;
  auto progress = [&](const harness::CheckRecord& r, size_t i, size_t total) {
    if (terminal) write_terminal_control("\r\033[K");
    std::cerr << "[" << (i + 1) << "/" << total << "] " << (r.passed ? "pass" : "FAIL") << " " << r.check_id
              << (r.passed ? "" : ": " + r.reason) << (terminal && r.passed ? "" : "\n");
  };
  auto result = harness::run_harness(options, fs, base::system_clock(), progress);
  if (terminal) write_terminal_control("\r\033[K");
  if (!result) return report_error("harness", result.error());
  if (args.json) {
    auto summary = fs.read_file(result->summary_path);
    if (summary) std::cout << summary->view();
  } else {
    auto md = fs.read_file(result->summary_md_path);
    if (md) std::cout << md->view() << "\n";
    std::cout << "summary: " << result->summary_path << "\n";
  }
  return result->all_passed() ? k_exit_ok : k_exit_failed;
}

}  // namespace

void add_harness_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("harness", "Run the whole mixed-version drill and write summary.json and SUMMARY.md");
  auto args = std::make_shared<HarnessArgs>();
  cmd->add_option("--out", args->out_dir, "folder for run folders (default ./cutover-runs)");
  cmd->add_option("--store", args->stores,
                  "NAME=PATH: drill on a copy of this store instead of the fixtures; repeatable");
  cmd->add_option("--spec", args->spec_files, "a store spec file for a user-defined kind; repeatable");
  cmd->add_option("--config", args->routes_config, "route config for the route rollback drill (default: built in)");
  cmd->add_option("--issue", args->issue, "the issue this run reports on (a URL): in summary.json and atop SUMMARY.md");
  cmd->add_option("--runbook", args->runbook,
                  "the runbook to check (default: PREFIX/share/cutover/RUNBOOK.md, else docs/RUNBOOK.md)");
  cmd->add_flag("--json", args->json, "print summary.json instead of the table");
  cmd->callback([args, &exit_code] { exit_code = harness_main(*args); });
}

}  // namespace cutover::cli
