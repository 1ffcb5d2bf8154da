// cutover canonicalize [FILE]: prints the canonical form of a JSON document
// (SPEC §2) with no trailing newline, so `cutover canonicalize f | sha256sum`
// is the checksum a migrated store would have.
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

#include "cli/commands.h"
#include "cli/output.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"

namespace cutover::cli {
namespace {

class StdoutSink final : public json::ChunkSink {
 public:
  bool write(std::string_view chunk) override {
    return std::fwrite(chunk.data(), 1, chunk.size(), stdout) == chunk.size();
  }
};

int canonicalize(const std::string& path) {
  auto input = read_input(path);
  if (!input) return report_error("canonicalize", input.error());
  std::string name = path.empty() || path == "-" ? "standard input" : path;
  auto doc = json::parse(std::move(*input));
  if (!doc) return report_error("canonicalize", doc.error().with_context(name));
  StdoutSink sink;
  if (!json::write_canonical(doc->root(), sink) || std::fflush(stdout) != 0) {
    return report_error("canonicalize", Error(ErrorCode::io_error, "cannot write to standard output"));
  }
  return k_exit_ok;
}

}  // namespace

void add_canonicalize_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("canonicalize", "Print the canonical form of a JSON document (stdin when no FILE)");
  auto path = std::make_shared<std::string>();
  cmd->add_option("FILE", *path, "JSON file; - or nothing for standard input");
  // Its output is one JSON document already: --json changes only how errors are printed.
  auto as_json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *as_json, "accepted for scripts (the output is JSON already); errors as one JSON document");
  cmd->callback([path, as_json, &exit_code] { exit_code = canonicalize(*path); });
}

}  // namespace cutover::cli
