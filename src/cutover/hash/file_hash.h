// Hashing files front to back without holding them in memory: a store can
// be gigabytes, and verify and rollback hash several at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"
#include "cutover/base/progress.h"

namespace cutover::hash {

// What hash_file() hands every byte it read, in order (verify's count
// scanner): passed in, so hashing does not depend on who reads along.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // The next bytes of the file, in pieces of any size.
  virtual void feed(std::string_view bytes) = 0;
};

// Bytes read at a time.
inline constexpr size_t k_read_chunk_bytes = size_t{1} << 20;

struct FileDigest {
  std::string sha256;  // lower-case hex, what sha256sum prints
  uint64_t size = 0;
};

// Reads `path` once, front to back, hashing every byte. When `scanner` is
// given it sees every byte too, on a second thread that works through the
// pieces already hashed (hashing and scanning overlap). Errors: not_found if
// the file is missing, io_error or permission_denied from the file system.
// `progress`, if given, advances by each piece as it is hashed.
// Safe to call from several threads on different files.
Result<FileDigest> hash_file(base::FileSystem& fs, const std::string& path, ByteSink* scanner = nullptr,
                             base::Progress* progress = nullptr);

}  // namespace cutover::hash
