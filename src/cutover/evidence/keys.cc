#include "cutover/evidence/keys.h"

namespace cutover::evidence {
namespace {

// Creates `path` exclusively with `mode` (given to open(2): a private key is
// never readable by others, not even while empty); writes `bytes`, fsyncs.
Status write_new_file(base::FileSystem& fs, const std::string& path, uint32_t mode, std::string_view bytes) {
  TRY_ASSIGN(auto file, fs.create_new_file(path, mode));
  auto written = [&]() -> Status {
    TRY(file->append(bytes));
    TRY(file->sync());
    return file->close();
  }();
  if (!written) {
    (void)file->close();
    (void)fs.remove(path);
    return written;
  }
  return {};
}

}  // namespace

Result<NewKeyPair> write_new_key_pair(base::FileSystem& fs, const std::string& name) {
  NewKeyPair out{name + ".key", name + ".pub", ""};
  std::string folder = base::parent_directory(name);
  TRY_ASSIGN(base::FileInfo dir, fs.stat(folder));
  if (!dir.exists || !dir.is_directory) {
    return make_error(ErrorCode::not_found, "folder " + folder + " does not exist; create it first");
  }
  // Check both names before writing either: never leave half a pair beside
  // an old key, and never touch an existing key.
  for (const std::string& path : {out.private_path, out.public_path}) {
    TRY_ASSIGN(base::FileInfo info, fs.stat(path));
    if (info.exists || info.is_symlink) {
      return make_error(ErrorCode::conflict, path + " already exists; cutover keygen never overwrites a key: "
                                                    "choose another name, or move the old key pair away first");
    }
  }
  TRY_ASSIGN(hash::Ed25519PrivateKey key, hash::generate_ed25519_key());
  hash::Ed25519PublicKey pub = hash::public_key_of(key);
  out.keyid = hash::key_id(pub);

  TRY(write_new_file(fs, out.private_path, 0600, hash::private_key_pem(key)));
  if (auto st = write_new_file(fs, out.public_path, 0644, hash::public_key_pem(pub)); !st) {
    (void)fs.remove(out.private_path);
    return tl::unexpected(st.error());
  }
  TRY(fs.sync_directory(folder));
  return out;
}

Result<hash::Ed25519PrivateKey> load_private_key(base::FileSystem& fs, const std::string& path) {
  auto bytes = fs.read_file(path);
  if (!bytes) return tl::unexpected(bytes.error().with_context("cannot read private key"));
  return hash::parse_private_key_pem(bytes->view(), path);
}

Result<std::vector<TrustedKey>> load_trusted_keys(base::FileSystem& fs, const std::vector<std::string>& paths) {
  std::vector<TrustedKey> keys;
  for (const std::string& path : paths) {
    auto bytes = fs.read_file(path);
    if (!bytes) return tl::unexpected(bytes.error().with_context("cannot read trusted key"));
    TRY_ASSIGN(hash::Ed25519PublicKey key, hash::parse_public_key_pem(bytes->view(), path));
    std::string id = hash::key_id(key);
    bool seen = false;
    for (const auto& k : keys) seen = seen || k.keyid == id;
    if (!seen) keys.push_back({path, id, key});
  }
  return keys;
}

}  // namespace cutover::evidence
