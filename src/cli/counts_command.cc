// cutover counts MANIFEST: the count snapshot of the runbook, byte for byte
// what `jq '.stores[] | {store, counts}' MANIFEST` prints (jq 1.6): one
// pretty-printed object per store, two-space indent, each followed by a
// newline; strings escaped as jq escapes them and numbers formatted as jq
// formats its doubles. Keys of counts come in byte order, which is the file's
// order for every manifest cutover or the reference tool writes.
#include <charconv>
#include <cstdint>
#include <iostream>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "cli/output.h"
#include "cutover/json/writer.h"
#include "cutover/manifest/manifest_file.h"

namespace cutover::cli {
namespace {

// A count as jq 1.6 prints a number: it holds numbers as doubles and prints
// the shortest digits that round-trip, in exponent form when the decimal
// point would sit more than 15 places past the last digit (1e+17, 1.2e+21).
std::string jq_number(uint64_t value) {
  double d = static_cast<double>(value);
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, end);  // "1.2345e+19" or "7e+00"
  size_t e = sci.find('e');
  std::string digits = sci.substr(0, 1) + (e > 2 ? sci.substr(2, e - 2) : "");
  int decpt = std::stoi(sci.substr(e + 1)) + 1;  // digits before the decimal point
  if (value == 0) return "0";
  int n = static_cast<int>(digits.size());
  if (decpt > n + 15) {
    std::string out = digits.substr(0, 1);
    if (n > 1) out += "." + digits.substr(1);
    return out + "e+" + std::to_string(decpt - 1);
  }
  return digits + std::string(static_cast<size_t>(decpt - n), '0');
}

// --json: one document, {"stores": [{"store", "counts"}]}, counts as integers.
std::string counts_json(const manifest::Manifest& m) {
  json::Writer w;
  w.begin_object().key("stores").begin_array();
  for (const auto& s : m.stores) {
    w.begin_object().member("store", s.store).key("counts").begin_object();
    for (const auto& [name, value] : s.counts) w.key(name).number(static_cast<uint64_t>(value));
    w.end_object().end_object();
  }
  return w.end_array().end_object().take();
}

int counts_main(const std::string& path, bool as_json) {
  auto mf = manifest::load_manifest_file(base::real_file_system(), path);
  if (!mf) return report_error("counts", mf.error());
  if (as_json) {
    std::cout << counts_json(mf->manifest) << "\n";
    return k_exit_ok;
  }
  std::string out;
  for (const auto& s : mf->manifest.stores) {
    // Strings as jq escapes them: DEL escaped too, other bytes as they are.
    json::Writer w = json::Writer::pretty({.replace_invalid_utf8 = false, .escape_delete = true});
    w.begin_object().member("store", s.store).key("counts").begin_object();
    for (const auto& [name, value] : s.counts) w.key(name).raw(jq_number(value));
    out += w.end_object().end_object().take() + "\n";
  }
  std::cout << out;
  return k_exit_ok;
}

}  // namespace

void add_counts_command(CLI::App& app, int& exit_code) {
  auto* cmd =
      app.add_subcommand("counts", "Print the count snapshot of a manifest, as jq '.stores[] | {store, counts}'");
  auto path = std::make_shared<std::string>();
  cmd->add_option("MANIFEST", *path, "the manifest of a backfill")->required();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *as_json, "print one JSON document, {stores: [{store, counts}]}, instead of jq's stream");
  cmd->callback([path, as_json, &exit_code] { exit_code = counts_main(*path, *as_json); });
}

}  // namespace cutover::cli
