// cutover token new|list|revoke: the tokens file `cutover serve` reads
// (docs/formats/tokens.md) kept without openssl and sha256sum. The file holds
// hashes only; `token new` prints the token once, alone on the last line of
// standard output. Every write replaces the file atomically, keeping its
// mode and owner (a new file is created 0600, as the server requires).
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/tokens.h"
#include "cutover/base/file_system.h"
#include "cutover/json/writer.h"

namespace cutover::cli {
namespace {

struct TokenArgs {
  std::string name;
  std::string role;
  std::string tokens_file;
  bool json = false;
};

struct Line {
  std::string text;  // as in the file
  std::string role;  // the fields, empty for a blank or comment line
  std::string name;
  std::string hash;
};

std::vector<Line> parse_lines(std::string_view text) {
  std::vector<Line> lines;
  std::istringstream in{std::string(text)};
  std::string raw;
  while (std::getline(in, raw)) {
    Line line{raw, "", "", ""};
    std::istringstream fields(raw.substr(0, raw.find('#')));
    fields >> line.role >> line.name >> line.hash;
    lines.push_back(line);
  }
  return lines;
}

// The file's text and how to write it back (its mode and owner; 0600 and us
// for a file not there yet).
Result<std::string> read_tokens(base::FileSystem& fs, const std::string& path, base::FileInfo& like, bool must_exist) {
  TRY_ASSIGN(base::FileInfo info, fs.stat(path));
  if (!info.exists) {
    if (must_exist) return make_error(ErrorCode::not_found, "tokens file " + path + " does not exist");
    like.mode = 0600;
    like.uid = ::getuid();
    like.gid = ::getgid();
    return std::string();
  }
  if (!info.is_regular || info.is_symlink) {
    return make_error(ErrorCode::invalid_argument, "tokens file " + path + " is not a regular file");
  }
  like = info;
  TRY_ASSIGN(base::Buffer bytes, fs.read_file(path));
  return std::string(bytes.view());
}

int token_new(const TokenArgs& args) {
  if (!valid_token_name(args.name)) {
    return report_error("token new", Error(ErrorCode::invalid_argument,
                                           "NAME '" + args.name + "' must be 1-64 of A-Z a-z 0-9 _ - . @"));
  }
  base::FileSystem& fs = base::real_file_system();
  base::FileInfo like;
  auto text = read_tokens(fs, args.tokens_file, like, false);
  if (!text) return report_error("token new", text.error());
  for (const Line& line : parse_lines(*text)) {
    if (line.name == args.name) {
      return report_error("token new", Error(ErrorCode::invalid_argument, "tokens file " + args.tokens_file +
                                                                              " already has a token named '" +
                                                                              args.name + "'; revoke it first"));
    }
  }
  auto token = new_token();
  if (!token) return report_error("token new", token.error());
  std::string updated = *text;
  if (!updated.empty() && updated.back() != '\n') updated += '\n';
  updated += token_line(args.role, args.name, *token) + "\n";
  if (auto st = base::write_file_atomic(fs, args.tokens_file, updated, &like); !st) {
    return report_error("token new", st.error());
  }
  if (args.json) {
    json::Writer w;
    w.begin_object().member("name", args.name).member("role", args.role).member("tokens_file", args.tokens_file);
    w.member("token", *token).end_object();
    std::cout << w.take() << "\n";
    return k_exit_ok;
  }
  std::cout << "token new: " << args.role << " '" << args.name << "' added to " << args.tokens_file
            << " (a running server reads it on SIGHUP); the token, shown this once:\n"
            << *token << "\n";
  return k_exit_ok;
}

int token_list(const TokenArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  base::FileInfo like;
  auto text = read_tokens(fs, args.tokens_file, like, true);
  if (!text) return report_error("token list", text.error());
  json::Writer w;
  w.begin_object().key("tokens").begin_array();
  for (const Line& line : parse_lines(*text)) {
    if (line.role.empty()) continue;
    if (args.json) {
      w.begin_object().member("role", line.role).member("name", line.name).end_object();
    } else {
      std::cout << line.role << " " << line.name << " " << line.hash.substr(0, 19) << "...\n";
    }
  }
  w.end_array().end_object();
  if (args.json) std::cout << w.take() << "\n";
  return k_exit_ok;
}

int token_revoke(const TokenArgs& args) {
  base::FileSystem& fs = base::real_file_system();
  base::FileInfo like;
  auto text = read_tokens(fs, args.tokens_file, like, true);
  if (!text) return report_error("token revoke", text.error());
  std::string updated;
  bool found = false;
  for (const Line& line : parse_lines(*text)) {
    if (line.name == args.name && !line.role.empty()) {
      found = true;
      continue;
    }
    updated += line.text + "\n";
  }
  if (!found) {
    return report_error("token revoke", Error(ErrorCode::not_found, "tokens file " + args.tokens_file +
                                                                        " has no token named '" + args.name + "'"));
  }
  if (auto st = base::write_file_atomic(fs, args.tokens_file, updated, &like); !st) {
    return report_error("token revoke", st.error());
  }
  if (args.json) {
    json::Writer w;
    w.begin_object().member("revoked", args.name).member("tokens_file", args.tokens_file).end_object();
    std::cout << w.take() << "\n";
    return k_exit_ok;
  }
  std::cout << "token revoke: '" << args.name << "' removed from " << args.tokens_file
            << " (a running server drops it on SIGHUP)\n";
  return k_exit_ok;
}

}  // namespace

void add_token_command(CLI::App& app, int& exit_code) {
  auto* token = app.add_subcommand("token", "Make, list and revoke the control server's bearer tokens");
  token->require_subcommand(1);
  auto args = std::make_shared<TokenArgs>();

  auto* add = token->add_subcommand("new", "Make a token: append its hash to the tokens file, print it once");
  add->add_option("NAME", args->name, "the holder's name (the audit log's identity)")->required();
  add->add_option("--role", args->role, "viewer or operator")->required()->check(CLI::IsMember({"viewer", "operator"}));
  add->add_option("--tokens-file", args->tokens_file, "the tokens file (docs/formats/tokens.md); created 0600")
      ->required();
  add->add_flag("--json", args->json, "print {name, role, tokens_file, token} as one JSON document");
  add->callback([args, &exit_code] { exit_code = token_new(*args); });

  auto* list = token->add_subcommand("list", "List the tokens file's roles and names (hash prefixes only)");
  list->add_option("--tokens-file", args->tokens_file, "the tokens file")->required();
  list->add_flag("--json", args->json, "print {tokens: [{role, name}]} as one JSON document");
  list->callback([args, &exit_code] { exit_code = token_list(*args); });

  auto* revoke = token->add_subcommand("revoke", "Remove a token by NAME from the tokens file");
  revoke->add_option("NAME", args->name, "the holder's name")->required();
  revoke->add_option("--tokens-file", args->tokens_file, "the tokens file")->required();
  revoke->add_flag("--json", args->json, "print {revoked, tokens_file} as one JSON document");
  revoke->callback([args, &exit_code] { exit_code = token_revoke(*args); });
}

}  // namespace cutover::cli
