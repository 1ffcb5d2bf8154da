#include "cutover/evidence/keys.h"

#include <algorithm>
#include <array>
#include <iterator>

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

// The y-coordinates (little-endian, sign bit of x cleared) of the Ed25519
// points of small order: 0 (order 4), 1 (the identity), p-1 (order 2), the
// two of order 8, and the non-canonical p and p+1 (0 and 1 again). With the
// sign bit either way this covers all 8 torsion points in every encoding.
constexpr uint8_t k_small_order_y[][hash::k_ed25519_key_bytes] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
    {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
     0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
     0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

}  // namespace

std::string weak_public_key_reason(const hash::Ed25519PublicKey& key) {
  std::array<uint8_t, hash::k_ed25519_key_bytes> y = key.bytes;
  y.back() &= 0x7f;  // the sign of x
  for (const auto& small : k_small_order_y) {
    if (std::equal(y.begin(), y.end(), std::begin(small))) {
      return "it is a point of small order (the identity or a torsion point), with which one signature verifies "
             "for many messages";
    }
  }
  // y >= p = 2^255 - 19: the last 31 bytes all 0xff/0x7f and the first >= 0xed.
  bool top_all_ones = y.back() == 0x7f;
  for (size_t i = 1; i + 1 < y.size(); ++i) top_all_ones = top_all_ones && y[i] == 0xff;
  if (top_all_ones && y[0] >= 0xed) return "its encoding is not canonical (y is not below the field prime)";
  return "";
}

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
      return make_error(ErrorCode::conflict, path +
                                                 " already exists; cutover keygen never overwrites a key: "
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
  TRY_ASSIGN_CTX(base::Buffer bytes, fs.read_file(path), "cannot read private key");
  return hash::parse_private_key_pem(bytes.view(), path);
}

Result<size_t> parse_threshold(std::string_view text, size_t trusted_keys) {
  std::string range = "from 1 to the number of distinct trusted keys (" + std::to_string(trusted_keys) + ")";
  bool digits = !text.empty() && text.size() <= 6 && text.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits) {
    return make_error(ErrorCode::invalid_argument,
                      "--threshold '" + std::string(text) + "' is not a whole number " + range);
  }
  size_t n = std::stoul(std::string(text));
  if (n == 0) return make_error(ErrorCode::invalid_argument, "--threshold 0: at least one signature is needed");
  if (n > trusted_keys) {
    return make_error(ErrorCode::invalid_argument,
                      "--threshold " + std::to_string(n) + " can never be met with " + std::to_string(trusted_keys) +
                          " distinct trusted key(s); pin more with --trust (it must be " + range + ")");
  }
  return n;
}

Result<std::vector<TrustedKey>> load_trusted_keys(base::FileSystem& fs, const std::vector<std::string>& paths) {
  std::vector<TrustedKey> keys;
  for (const std::string& path : paths) {
    TRY_ASSIGN_CTX(base::Buffer bytes, fs.read_file(path), "cannot read trusted key");
    TRY_ASSIGN(hash::Ed25519PublicKey key, hash::parse_public_key_pem(bytes.view(), path));
    if (std::string why = weak_public_key_reason(key); !why.empty()) {
      return make_error(ErrorCode::invalid_argument, "trusted key " + path + " is refused: " + why +
                                                         "; a signer's key comes from `cutover keygen` or "
                                                         "`openssl genpkey -algorithm ed25519`");
    }
    std::string id = hash::key_id(key);
    bool seen = false;
    for (const auto& k : keys) seen = seen || k.keyid == id;
    if (!seen) keys.push_back({path, id, key});
  }
  return keys;
}

}  // namespace cutover::evidence
