// Recounting a store without building its document (SPEC §4, "recounting
// the file gives the manifest's numbers"), fast enough to run on the same
// pass that hashes the file.
//
// A store's counts only look at the top of the document: the length of the
// object or array at a top-level key, or the summed lengths of the arrays that
// are values of that object. CountScanner finds them with a structural scan in
// the style of simdjson's first stage: 64 bytes at a time it builds bit masks
// of quotes, backslashes, brackets, commas, colons and whitespace, works out
// which quotes are escaped and which bytes lie inside strings (a prefix XOR of
// the unescaped quotes), and then walks only the structural characters in
// order, keeping a stack of open containers. Strings and anything nested below
// the third level are skipped without looking at their bytes one by one.
//
// Counting is exact where the document is canonical (SPEC §2): object keys at
// the levels that are counted must come in strictly increasing byte order (so
// there are no duplicate keys, whose "last one wins" the parser would apply),
// and those keys must be free of escapes. Whenever the scanner meets anything
// else (a duplicate or unsorted key, an escaped key, a non-object root,
// unbalanced brackets, trailing bytes, an unterminated string) it gives up
// and finish() returns nullopt; the caller then parses the file with the
// JSON parser, which is slower but exact for every input.
//
// The scanner checks structure only as far as counting needs it; it is not a
// JSON validator. verify uses its result only for a file whose SHA-256 equals
// the manifest's after_sha256, i.e. exactly the canonical bytes a backfill
// wrote, and parses any other file.
//
// Not thread-safe; one scanner per file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/hash/file_hash.h"
#include "cutover/store/counts.h"
#include "cutover/store/store_spec.h"

namespace cutover::verify {

class CountScanner final : public hash::ByteSink {
 public:
  explicit CountScanner(const store::StoreSpec& spec);

  // Feeds the next bytes of the file, in pieces of any size.
  void feed(std::string_view bytes) override;
  // Ends the file. The counts of every rule of the spec, or nullopt when the
  // scanner could not be sure of them (see above). Call once.
  std::optional<store::Counts> finish();

 private:
  static constexpr int k_max_depth = 128;
  enum Expect : uint8_t { k_key, k_colon, k_value, k_after_value };

  // The top-level keys the spec counts, and what was found at each.
  struct KeyStats {
    std::string key;
    char kind = 0;        // '{' or '[' when the value was a container
    uint64_t length = 0;  // members of the object, or elements of the array
    uint64_t sum = 0;     // object only: summed lengths of its array values
  };
  // An open container at depth 1..3 (depth 1 is the root object).
  struct Frame {
    bool tracked = false;  // its structure matters for the counts
    bool object = false;
    Expect expect = k_key;
    bool content = false;  // holds at least one value (or key)
    uint64_t commas = 0;
    uint64_t sum = 0;    // depth 2: lengths of the arrays among its values
    int key_index = -1;  // depth 1: the KeyStats of the current member
    bool has_prev_key = false;
    std::string prev_key;
  };

  void process_block(const char* block);
  void open(char c, int bit);
  void close(char c, int bit);
  void quote(bool opening, const char* block, int bit);
  void give_up() { unsure_ = true; }
  bool scalar_before(int bit) const;
  // Outside the root, or in a container whose structure the counts need.
  bool wants_all_events() const { return depth_ == 0 || (depth_ <= 3 && frames_[depth_].tracked); }

  std::vector<KeyStats> stats_;
  std::vector<store::CountRule> rules_;

  // Carried from one 64-byte block to the next.
  bool escape_carry_ = false;     // the block ended with an unpaired backslash
  uint64_t in_string_carry_ = 0;  // all ones while inside a string
  bool scalar_carry_ = false;     // a number or literal byte since the last event
  char tail_[64];
  size_t tail_size_ = 0;

  // Within the current block.
  uint64_t scalar_mask_ = 0;
  int last_bit_ = -1;  // the previous event in this block

  int depth_ = 0;
  char kinds_[k_max_depth + 1];  // '{' or '[' for each open container
  Frame frames_[4];
  bool root_done_ = false;
  bool unsure_ = false;
  bool capturing_ = false;  // inside a key whose bytes we collect
  int capture_from_ = 0;    // where in the current block the key continues
  std::string key_;
};

}  // namespace cutover::verify
