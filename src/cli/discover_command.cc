// cutover help [COMMAND...], cutover version, cutover completion bash, and the
// hidden `cutover generate-docs` the build runs to write the man pages and the
// bash completion `make install` ships. Everything here is read off the
// CLI11 command tree, so a new command appears in help, completion and man
// pages without an edit here.
#include <iostream>
#include <string>
#include <vector>

#include "cli/discover.h"
#include "cli/output.h"
#include "cutover/base/file_system.h"
#include "cutover/base/version.h"
#include "cutover/json/writer.h"

namespace cutover::cli {
namespace {

bool takes_value(const CLI::Option& opt) { return opt.get_type_size_max() != 0; }

std::vector<std::string> flag_names(const CLI::Option& opt) {
  std::vector<std::string> names;
  for (const std::string& s : opt.get_snames()) names.push_back("-" + s);
  for (const std::string& l : opt.get_lnames()) names.push_back("--" + l);
  return names;
}

std::string joined(const std::vector<std::string>& words, const std::string& separator) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : separator) + w;
  return out;
}

std::string full_name(const std::vector<const CLI::App*>& path) {
  std::string name = "cutover";
  for (const CLI::App* sub : path) name += " " + sub->get_name();
  return name;
}

// ---- bash completion ----

void completion_cases(const CLI::App& app, const std::string& path, std::string& descend, std::string& words) {
  std::vector<std::string> word_list;
  std::vector<std::string> valued;
  for (const CLI::App* sub : visible_subcommands(app)) word_list.push_back(sub->get_name());
  if (path == "help") {
    // `cutover help <TAB>`: the commands, from the parent's tree.
    for (const CLI::App* sub : visible_subcommands(*app.get_parent())) word_list.push_back(sub->get_name());
  }
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_positional() && opt->get_lnames().empty() && opt->get_snames().empty()) continue;
    for (const std::string& name : flag_names(*opt)) {
      word_list.push_back(name);
      if (takes_value(*opt)) valued.push_back(name);
    }
  }
  words +=
      "    \"" + path + "\") words=\"" + joined(word_list, " ") + "\"; valued=\"" + joined(valued, " ") + "\" ;;\n";
  for (const CLI::App* sub : visible_subcommands(app)) {
    std::string sub_path = path.empty() ? sub->get_name() : path + " " + sub->get_name();
    descend += "      \"" + path + ">" + sub->get_name() + "\") path=\"" + sub_path + "\" ;;\n";
    completion_cases(*sub, sub_path, descend, words);
  }
}

// ---- man pages ----

std::string roff_escape(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

std::string synopsis(const CLI::App& app, const std::vector<const CLI::App*>& path) {
  std::string rest = "[OPTIONS]";
  for (const CLI::Option* opt : app.get_options([](const CLI::Option* o) { return o->get_positional(); })) {
    std::string name = opt->get_name(true);
    if (opt->get_items_expected_max() > 1) name += "...";
    rest += opt->get_required() ? " " + name : " [" + name + "]";
  }
  if (!visible_subcommands(app).empty()) rest += " COMMAND";
  return ".B " + roff_escape(full_name(path)) + "\n" + roff_escape(rest) + "\n";
}

std::string options_section(const CLI::App& app) {
  std::string out;
  for (const CLI::Option* opt : app.get_options()) {
    std::string label;
    if (opt->get_positional() && opt->get_lnames().empty() && opt->get_snames().empty()) {
      label = opt->get_name(true);
    } else {
      label = joined(flag_names(*opt), ", ");
      if (takes_value(*opt)) label += " " + opt->get_type_name();
    }
    out += ".TP\n.B " + roff_escape(label) + "\n" + roff_escape(opt->get_description()) + "\n";
  }
  return out;
}

void command_sections(const CLI::App& app, std::vector<const CLI::App*>& path, std::string& out) {
  for (const CLI::App* sub : visible_subcommands(app)) {
    path.push_back(sub);
    out += ".SS \"" + roff_escape(full_name(path)) + "\"\n" + roff_escape(sub->get_description()) + "\n.PP\nUsage:\n" +
           synopsis(*sub, path) + ".PP\n" + options_section(*sub);
    command_sections(*sub, path, out);
    path.pop_back();
  }
}

std::string man_file_name(const std::vector<const CLI::App*>& path) {
  std::string name = "cutover";
  for (const CLI::App* sub : path) name += "-" + sub->get_name();
  return name + ".1";
}

// ---- the commands ----

const CLI::App* find_command(const CLI::App& app, const std::vector<std::string>& words, std::string& error) {
  const CLI::App* current = &app;
  for (const std::string& word : words) {
    const CLI::App* next = nullptr;
    std::vector<std::string> names;
    for (const CLI::App* sub : visible_subcommands(*current)) {
      names.push_back(sub->get_name());
      if (sub->get_name() == word) next = sub;
    }
    if (next == nullptr) {
      error = "unknown command '" + word + "'";
      std::string near = nearest_name(word, names);
      if (!near.empty()) error += "; did you mean '" + near + "'?";
      return nullptr;
    }
    current = next;
  }
  return current;
}

int help_main(const CLI::App& app, const std::vector<std::string>& words, bool as_json) {
  std::string error;
  const CLI::App* target = find_command(app, words, error);
  if (target == nullptr) return report_error("help", Error(ErrorCode::invalid_argument, error));
  std::string prev = "cutover";
  for (size_t i = 0; i + 1 < words.size(); ++i) prev += " " + words[i];
  // (App::help() on the top would describe the command being run: `help` itself.)
  std::string text =
      target == &app ? app.get_formatter()->make_help(&app, "cutover", CLI::AppFormatMode::Normal) : target->help(prev);
  if (target == &app) {
    text += "\nRun 'cutover help COMMAND' for a command's options; 'man cutover-COMMAND' once installed.\n";
  }
  if (as_json) {
    std::string name = "cutover";
    for (const std::string& w : words) name += " " + w;
    json::Writer w;
    w.begin_object().member("command", name).key("commands").begin_array();
    for (const CLI::App* sub : visible_subcommands(*target)) w.string(sub->get_name());
    w.end_array().member("help", text).end_object();
    std::cout << w.take() << "\n";
  } else {
    std::cout << text;
  }
  return k_exit_ok;
}

Status write_docs(const CLI::App& app, const std::string& man_dir, const std::string& completion_file) {
  base::FileSystem& fs = base::real_file_system();
  if (!man_dir.empty()) {
    if (auto st = fs.create_directories(man_dir); !st) return st;
    std::vector<std::vector<const CLI::App*>> pages = {{}};
    for (const CLI::App* sub : visible_subcommands(app)) pages.push_back({sub});
    for (const auto& path : pages) {
      if (auto st = base::write_file_atomic(fs, base::join_path(man_dir, man_file_name(path)), man_page(app, path));
          !st) {
        return st;
      }
    }
  }
  if (!completion_file.empty()) {
    if (auto st = fs.create_directories(base::parent_directory(base::absolute_path(completion_file))); !st) return st;
    if (auto st = base::write_file_atomic(fs, completion_file, bash_completion_script(app)); !st) return st;
  }
  return {};
}

void add_version_flags(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_version_ptr() == nullptr && sub->get_option_no_throw("--version") == nullptr) {
      sub->set_version_flag("--version", std::string(base::k_tool_version), "print the version and exit");
    }
    add_version_flags(*sub);
  }
}

}  // namespace

std::string bash_completion_script(const CLI::App& app) {
  std::string descend;
  std::string words;
  completion_cases(app, "", descend, words);
  return "# bash completion for cutover. Generated from cutover's command tree by\n"
         "# `cutover completion bash` (the build runs it); do not edit.\n"
         "_cutover() {\n"
         "  local cur prev path=\"\" i w words=\"\" valued=\"\"\n"
         "  cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
         "  prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    w=\"${COMP_WORDS[i]}\"\n"
         "    case \"$path>$w\" in\n" +
         descend +
         "    esac\n"
         "  done\n"
         "  case \"$path\" in\n" +
         words +
         "  esac\n"
         "  if [[ -n \"$prev\" && \" $valued \" == *\" $prev \"* ]]; then\n"
         "    COMPREPLY=()  # a value: fall back to file names\n"
         "    return 0\n"
         "  fi\n"
         "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
         "}\n"
         "complete -o bashdefault -o default -F _cutover cutover\n";
}

std::string man_page(const CLI::App& app, const std::vector<const CLI::App*>& path) {
  const CLI::App& cmd = path.empty() ? app : *path.back();
  std::string title = man_file_name(path);
  title = title.substr(0, title.size() - 2);
  std::string upper;
  for (char c : title) upper += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  std::string version(base::k_tool_version);
  std::string out = ".\\\" Generated by `cutover generate-docs` from cutover's command tree; do not edit.\n";
  out += ".TH " + roff_escape(upper) + " 1 \"\" \"" + roff_escape(version) + "\" \"User Commands\"\n.nh\n";
  out += ".SH NAME\n" + roff_escape(title) + " \\- " + roff_escape(cmd.get_description()) + "\n";
  out += ".SH SYNOPSIS\n" + synopsis(cmd, path);
  out += ".SH DESCRIPTION\n" + roff_escape(cmd.get_description()) + "\n";
  if (!cmd.get_footer().empty()) out += ".PP\n" + roff_escape(cmd.get_footer()) + "\n";
  out += ".SH OPTIONS\n" + options_section(cmd);
  if (!visible_subcommands(cmd).empty()) {
    out += ".SH COMMANDS\n";
    if (path.empty()) {
      for (const CLI::App* sub : visible_subcommands(cmd)) {
        out += ".TP\n.B " + roff_escape(sub->get_name()) + "\n" + roff_escape(sub->get_description()) +
               "\n.br\nSee \\fBcutover\\-" + roff_escape(sub->get_name()) + "\\fR(1).\n";
      }
    } else {
      std::vector<const CLI::App*> walk = path;
      command_sections(cmd, walk, out);
    }
  }
  out +=
      ".SH EXIT STATUS\n0 success; 1 a check failed or a step was refused for safety; 2 usage error or invalid "
      "input; 3 the operating system refused a read or write.\n";
  out += ".SH SEE ALSO\n";
  out += path.empty() ? std::string("\\fBcutover help\\fR COMMAND") : std::string("\\fBcutover\\fR(1)");
  out += "; the runbook, share/cutover/RUNBOOK.md under the installation prefix.\n";
  return out;
}

void add_discovery_commands(CLI::App& app, int& exit_code) {
  add_version_flags(app);  // the commands registered so far; the ones below set their own

  auto* help = app.add_subcommand("help", "Show the commands, or one command's options");
  auto words = std::make_shared<std::vector<std::string>>();
  help->add_option("COMMAND", *words, "the command (and subcommand) to describe");
  help->set_version_flag("--version", std::string(base::k_tool_version), "print the version and exit");
  auto help_json = std::make_shared<bool>(false);
  help->add_flag("--json", *help_json, "print {command, commands, help} as one JSON document");
  help->callback([&app, words, help_json, &exit_code] { exit_code = help_main(app, *words, *help_json); });

  auto* version = app.add_subcommand("version", "Print the version");
  version->set_version_flag("--version", std::string(base::k_tool_version), "print the version and exit");
  auto version_json = std::make_shared<bool>(false);
  version->add_flag("--json", *version_json, "print {version} as one JSON document");
  version->callback([version_json, &exit_code] {
    if (*version_json) {
      json::Writer w;
      std::cout << w.begin_object().member("version", base::k_tool_version).end_object().take() << "\n";
    } else {
      std::cout << base::k_tool_version << "\n";
    }
    exit_code = k_exit_ok;
  });

  auto* completion = app.add_subcommand("completion", "Print a shell completion script (bash)");
  auto shell = std::make_shared<std::string>();
  completion->add_option("SHELL", *shell, "the shell: bash")->required()->check(CLI::IsMember({"bash"}));
  completion->set_version_flag("--version", std::string(base::k_tool_version), "print the version and exit");
  auto completion_json = std::make_shared<bool>(false);
  completion->add_flag("--json", *completion_json, "print {shell, script} as one JSON document");
  completion->callback([&app, shell, completion_json, &exit_code] {
    if (*completion_json) {
      json::Writer w;
      w.begin_object().member("shell", *shell).member("script", bash_completion_script(app)).end_object();
      std::cout << w.take() << "\n";
    } else {
      std::cout << bash_completion_script(app);
    }
    exit_code = k_exit_ok;
  });

  // Hidden (no group): the build's man pages and completion file.
  auto* docs = app.add_subcommand("generate-docs", "Write the man pages and the bash completion")->group("");
  auto man_dir = std::make_shared<std::string>();
  auto completion_file = std::make_shared<std::string>();
  docs->add_option("--man-dir", *man_dir, "folder for cutover.1 and cutover-COMMAND.1");
  docs->add_option("--completion", *completion_file, "file for the bash completion script");
  docs->callback([&app, man_dir, completion_file, &exit_code] {
    Status st = write_docs(app, *man_dir, *completion_file);
    exit_code = st ? k_exit_ok : report_error("generate-docs", st.error());
  });
}

}  // namespace cutover::cli
