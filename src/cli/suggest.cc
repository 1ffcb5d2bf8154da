// The argument parser's errors in the house form ("cutover COMMAND: error:
// ...", exit 2), with "did you mean ..." for a mistyped command or option.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "cli/discover.h"
#include "cli/output.h"
#include "cutover/base/text.h"

namespace cutover::cli {

std::vector<const CLI::App*> visible_subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

namespace {

// The commands the parser entered, outermost first.
std::vector<CLI::App*> parsed_path(CLI::App& app) {
  std::vector<CLI::App*> path;
  CLI::App* current = &app;
  for (;;) {
    auto subs = current->get_subcommands([](CLI::App* sub) { return sub->parsed(); });
    if (subs.empty()) return path;
    current = subs.front();
    path.push_back(current);
  }
}

std::string command_name(const std::vector<CLI::App*>& path) {
  std::string name = "cutover";
  for (const CLI::App* sub : path) name += " " + sub->get_name();
  return name;
}

std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options()) {
    for (const std::string& l : opt->get_lnames()) names.push_back("--" + l);
    for (const std::string& s : opt->get_snames()) names.push_back("-" + s);
  }
  return names;
}

// The first argument after the command path that names no command and no
// option of the innermost command, with its nearest known name.
struct Unknown {
  std::string word;
  std::string suggestion;
  bool is_option = false;
};

Unknown find_unknown(const std::vector<CLI::App*>& path, CLI::App& app, int argc, char** argv) {
  const CLI::App* current = path.empty() ? &app : path.back();
  // The arguments after the innermost command's name.
  int start = 1;
  for (const CLI::App* sub : path) {
    while (start < argc && argv[start] != sub->get_name()) ++start;
    ++start;
  }
  std::vector<std::string> options = option_names(*current);
  for (int i = start; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() > 1 && arg[0] == '-') {
      std::string name = arg.substr(0, arg.find('='));
      if (name.size() > 2 && name[1] != '-') name = name.substr(0, 2);  // -xVALUE
      if (std::find(options.begin(), options.end(), name) == options.end()) {
        return {name, nearest_name(name, options), true};
      }
      continue;
    }
    auto subs = visible_subcommands(*current);
    if (subs.empty() || i != start) continue;
    std::vector<std::string> names;
    for (const CLI::App* sub : subs) names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), arg) == names.end()) return {arg, nearest_name(arg, names), false};
  }
  return {};
}

}  // namespace

std::string nearest_name(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 0;
  for (const std::string& candidate : candidates) {
    size_t d = base::edit_distance(word, candidate);
    // A prefix of a long enough name counts as near (`cutover roll` means rollback).
    if (word.size() >= 3 && candidate.rfind(word, 0) == 0) d = std::min<size_t>(d, 1);
    if (best.empty() || d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_distance <= limit ? best : "";
}

int report_parse_error(CLI::App& app, const CLI::ParseError& error, int argc, char** argv) {
  if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    app.exit(error);  // --help, --version: printed on stdout
    return k_exit_ok;
  }
  std::vector<CLI::App*> path = parsed_path(app);
  std::string command = command_name(path);
  Unknown unknown;
  // (get_name() names the command for some errors, so the type is asked.)
  if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr ||
      dynamic_cast<const CLI::RequiredError*>(&error) != nullptr) {
    unknown = find_unknown(path, app, argc, argv);
  }
  std::string message;
  if (!unknown.word.empty()) {
    message = std::string(unknown.is_option ? "unknown option '" : "unknown command '") + unknown.word + "'";
    if (!unknown.suggestion.empty()) message += "; did you mean '" + unknown.suggestion + "'?";
  } else if (path.empty() && argc <= 1) {
    message = "a command is required";
  } else {
    message = error.what();
  }
  std::string help_path;
  for (const CLI::App* sub : path) help_path += " " + sub->get_name();
  std::cerr << command << ": error: " << message << "\n"
            << "Run 'cutover help" << help_path << "' for usage."
            << "\n";
  report_error_json("usage", message);
  return k_exit_usage;
}

}  // namespace cutover::cli
