// How far a long piece of work has got (backfill, verify, rollback), for a
// progress display the caller owns. The work counts in store bytes: it
// announces its total once, from the sizes known before it starts, then
// reports the bytes it has finished in pieces (a chunk read, hashed or
// written; never a record), so the hot loops pay one call per chunk.
#pragma once

#include <algorithm>
#include <cstdint>

namespace cutover::base {

class Progress {
 public:
  virtual ~Progress() = default;
  // The work is about to start and will report `total_bytes` in all. Called
  // once, before any advance(), from the thread that runs the work.
  virtual void begin(uint64_t total_bytes) = 0;
  // `bytes` more of the work are done. Called from any thread, at once from
  // several (a writer or prefetch thread beside the main one); must be cheap
  // and must not block. The sum may fall short of the total (a step skipped)
  // or, by rounding, pass it: a display clamps.
  virtual void advance(uint64_t bytes) = 0;
};

// Hands a share of the total to one stream of work measured in other units
// (the bytes of a new file, whose size is not known before it is written):
// spend(n) passes n on to the progress until the share is used up, then
// nothing. A null progress takes nothing. One thread at a time.
class ProgressShare {
 public:
  ProgressShare() = default;
  ProgressShare(Progress* progress, uint64_t share) : progress_(progress), left_(progress ? share : 0) {}
  void spend(uint64_t bytes) {
    bytes = std::min(bytes, left_);
    if (bytes == 0) return;
    left_ -= bytes;
    progress_->advance(bytes);
  }
  // Whatever is left of the share, at once (the stream ended early or was skipped).
  void spend_rest() { spend(left_); }

 private:
  Progress* progress_ = nullptr;
  uint64_t left_ = 0;
};

}  // namespace cutover::base
