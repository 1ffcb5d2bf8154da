// cutover keygen --out NAME: a new Ed25519 signing key pair, NAME.key (the
// private key, PKCS#8 PEM, mode 0600) and NAME.pub (the public key to pin
// with --trust), in the forms `openssl genpkey -algorithm ed25519` and
// `openssl pkey -pubout` write. Never overwrites: exit 1 when either file
// exists. Prints the key id (docs/formats/evidence.md).
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "cutover/evidence/keys.h"
#include "cutover/json/writer.h"

namespace cutover::cli {
namespace {

struct KeygenArgs {
  std::string out;
  bool json = false;
};

int keygen_main(const KeygenArgs& args) {
  auto pair = evidence::write_new_key_pair(base::real_file_system(), args.out);
  if (!pair) return report_error("keygen", pair.error());
  if (args.json) {
    print_json([&](json::Writer& w) {
      w.begin_object().member("private_key", pair->private_path).member("public_key", pair->public_path);
      w.member("keyid", pair->keyid).end_object();
    });
  } else {
    std::cout << "private key: " << pair->private_path << " (mode 0600; keep it secret, never in a bundle)\n"
              << "public key:  " << pair->public_path << " (pin it with --trust)\n"
              << "keyid:       " << pair->keyid << "\n";
  }
  return k_exit_ok;
}

}  // namespace

void add_keygen_command(CLI::App& app, int& exit_code) {
  auto* cmd =
      app.add_subcommand("keygen", "Make an Ed25519 signing key pair (NAME.key, NAME.pub) for evidence bundles");
  auto args = std::make_shared<KeygenArgs>();
  cmd->add_option("--out", args->out, "NAME: writes NAME.key (private, 0600) and NAME.pub; never overwrites")
      ->required();
  cmd->add_flag("--json", args->json, "print {private_key, public_key, keyid} as JSON");
  cmd->callback([args, &exit_code] { exit_code = keygen_main(*args); });
}

}  // namespace cutover::cli
