// The canonical form of a document (SPEC §2, version 1): exactly the bytes
// serde_json::to_vec_pretty prints for the same value with keys sorted by
// their UTF-8 bytes. Two-space indent, "key": value, {} and [] for empty
// containers, no trailing newline; only '"', '\\' and control characters are
// escaped (\b \f \n \r \t short, the rest \u00xx lower-case); non-ASCII bytes
// pass through. The rules are frozen: a change is a new version.
#pragma once

#include <string>
#include <string_view>

#include "cutover/json/document.h"

namespace cutover::json {

inline constexpr std::string_view k_canonical_version = "serde_json_pretty_sorted.v1";

// Receives the canonical bytes in chunks of about k_chunk_bytes.
class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  // Returns false to stop writing early (the sink keeps its own reason).
  virtual bool write(std::string_view chunk) = 0;
};

inline constexpr size_t k_chunk_bytes = 1 << 20;

// Streams the canonical form of `root` into `sink`. Returns false if the sink
// stopped it early.
// REQUIRES: `root` nests at most k_max_depth containers deep (true of every
// parsed document; documents built by hand must keep to it too).
bool write_canonical(const Node& root, ChunkSink& sink);

// The same bytes, rendered on several threads: the document is cut into
// pieces (the root's children; containers near the root with many children
// in ranges of `split_children`), threads render pieces ahead into memory,
// at most `window` of them, and the sink receives them in order from the
// calling thread. For large documents (a store of hundreds of megabytes).
struct ParallelOptions {
  size_t split_children = 2048;
  size_t window = 16;
  int threads = 0;  // rendering threads, the caller's included; 0: from the cores (2 to 4)
};
bool write_canonical_parallel(const Node& root, ChunkSink& sink, const ParallelOptions& options = {});

// The canonical form as a string (for small documents).
std::string to_canonical_string(const Node& root);

// The same value on one line, as serde_json::to_vec prints it (sorted keys,
// no spaces, same escapes and numbers): for JSON-lines files.
std::string to_compact_string(const Node& root);

}  // namespace cutover::json
