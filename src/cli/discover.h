// Discovery: what a new operator reaches without reading source (issue 16).
// `cutover help [COMMAND]`, `cutover version`, `--version` on every command,
// `cutover completion bash`, the man pages `make install` ships (generated at
// build time from the same command tree, never kept by hand), and the
// argument parser's errors as "cutover COMMAND: error: ..." with a "did you
// mean ..." for a mistyped command or option.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace cutover::cli {

// Registers help, version, completion and the hidden generate-docs command,
// and gives every command (registered before this call) a --version flag.
void add_discovery_commands(CLI::App& app, int& exit_code);

// Prints a parse error as "cutover COMMAND: error: ..." (with a suggestion
// when a command or option is mistyped) and returns its exit code: 0 for
// --help and --version, 2 otherwise.
int report_parse_error(CLI::App& app, const CLI::ParseError& error, int argc, char** argv);

// The commands of `app` an operator sees (help, completion, man pages,
// suggestions): those in a group; hidden ones have none.
std::vector<const CLI::App*> visible_subcommands(const CLI::App& app);

// The name among `candidates` nearest to `word` (edit distance), or "" when
// none is near enough to be the one meant.
std::string nearest_name(const std::string& word, const std::vector<std::string>& candidates);

// The generated documents, from the command tree rooted at `app`.
std::string bash_completion_script(const CLI::App& app);
// One man page: the top page for `path` empty, else the command's page.
std::string man_page(const CLI::App& app, const std::vector<const CLI::App*>& path);

}  // namespace cutover::cli
