#include "cutover/backfill/pipelined_write.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cutover/hash/sha256.h"
#include "cutover/json/canonical_writer.h"

namespace cutover::backfill {
namespace {

// Hashes the canonical stream and writes it to a file on a second thread,
// so serialising (this thread) overlaps hashing and the copy into the page
// cache (the worker). A few chunk buffers circulate between the two.
class PipelinedFileSink final : public json::ChunkSink {
 public:
  // `share` is spent by half of each chunk written (see BackfillOptions::progress).
  PipelinedFileSink(base::WritableFile& file, base::ProgressShare share)
      : file_(file), share_(share), worker_([this] { drain(); }) {
    for (int i = 0; i < k_buffers; ++i) free_.emplace_back();
  }
  ~PipelinedFileSink() override { (void)finish(); }

  bool write(std::string_view chunk) override {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !free_.empty() || !status_; });
    if (!status_) return false;
    std::string buffer = std::move(free_.back());
    free_.pop_back();
    lock.unlock();
    buffer.assign(chunk);
    lock.lock();
    queue_.push_back(std::move(buffer));
    changed_.notify_all();
    return true;
  }

  // Waits for the worker to write everything; the first write error, if any.
  Status finish() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
      changed_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
    if (status_) share_.spend_rest();  // everything is written: a new file smaller than the store, an odd byte
    return status_;
  }

  // REQUIRES: finish() returned.
  std::string hex() { return hash::to_hex(hasher_.finish()); }

 private:
  static constexpr int k_buffers = 4;

  void drain() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return !queue_.empty() || done_; });
      if (queue_.empty()) return;
      std::string buffer = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      hasher_.update(buffer);
      Status st = status_ ? file_.append(buffer) : status_;
      share_.spend(buffer.size() / 2);
      lock.lock();
      if (!st) status_ = st;
      free_.push_back(std::move(buffer));
      changed_.notify_all();
    }
  }

  base::WritableFile& file_;
  base::ProgressShare share_;  // the worker's alone
  hash::Sha256 hasher_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> free_;
  std::deque<std::string> queue_;
  bool done_ = false;
  Status status_;
  std::thread worker_;  // last: starts once the members above exist
};

}  // namespace

Result<std::string> write_pipelined(base::WritableFile& file, base::ProgressShare share,
                                    const std::function<void(json::ChunkSink&)>& produce) {
  PipelinedFileSink sink(file, share);
  produce(sink);
  TRY(sink.finish());
  return sink.hex();
}

}  // namespace cutover::backfill
