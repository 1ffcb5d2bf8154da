#include "cutover/hash/file_hash.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "cutover/hash/sha256.h"

namespace cutover::hash {
namespace {

// Pieces handed to the scanner: small enough to stay in the CPU cache from
// the read to the hash to the scan.
constexpr size_t k_piece_bytes = size_t{1} << 20;
constexpr int k_pieces_in_flight = 4;

// Runs a ByteSink on its own thread over pieces the reading thread has
// already hashed, so hashing and scanning one file overlap. A few buffers
// circulate between the two threads.
class ScanPipe {
 public:
  explicit ScanPipe(ByteSink& scanner) : scanner_(scanner) {
    for (int i = 0; i < k_pieces_in_flight; ++i) free_.push_back(std::make_unique_for_overwrite<char[]>(k_piece_bytes));
    worker_ = std::thread([this] { run(); });
  }
  ~ScanPipe() { finish(); }

  // A buffer of k_piece_bytes to fill; waits while all of them are in flight.
  std::unique_ptr<char[]> take() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !free_.empty(); });
    auto buffer = std::move(free_.back());
    free_.pop_back();
    return buffer;
  }
  // Hands `size` bytes of `buffer` to the scanner.
  void push(std::unique_ptr<char[]> buffer, size_t size) {
    std::lock_guard lock(mutex_);
    queue_.push_back({std::move(buffer), size});
    changed_.notify_all();
  }
  // Gives back a buffer that was not used.
  void give_back(std::unique_ptr<char[]> buffer) {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(buffer));
    changed_.notify_all();
  }
  // Waits until the scanner has seen every piece.
  void finish() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
      changed_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
  }

 private:
  struct Piece {
    std::unique_ptr<char[]> buffer;
    size_t size;
  };

  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return !queue_.empty() || done_; });
      if (queue_.empty()) return;
      Piece piece = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      scanner_.feed(std::string_view(piece.buffer.get(), piece.size));
      lock.lock();
      free_.push_back(std::move(piece.buffer));
      changed_.notify_all();
    }
  }

  ByteSink& scanner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<char[]>> free_;
  std::deque<Piece> queue_;
  bool done_ = false;
  std::thread worker_;
};

Result<FileDigest> hash_and_scan(base::ReadableFile& file, ByteSink& scanner, base::Progress* progress) {
  ScanPipe pipe(scanner);
  hash::Sha256 hasher;
  FileDigest digest;
  for (;;) {
    auto buffer = pipe.take();
    auto n = file.read(buffer.get(), k_piece_bytes);
    if (!n || *n == 0) {
      pipe.give_back(std::move(buffer));
      pipe.finish();
      if (!n) return tl::unexpected(n.error());
      break;
    }
    hasher.update(std::string_view(buffer.get(), *n));
    digest.size += *n;
    if (progress) progress->advance(*n);
    pipe.push(std::move(buffer), *n);
  }
  digest.sha256 = hash::to_hex(hasher.finish());
  return digest;
}

}  // namespace

Result<FileDigest> hash_file(base::FileSystem& fs, const std::string& path, ByteSink* scanner,
                             base::Progress* progress) {
  TRY_ASSIGN(auto file, fs.open_file(path));
  if (scanner != nullptr) return hash_and_scan(*file, *scanner, progress);
  auto buffer = std::make_unique_for_overwrite<char[]>(k_read_chunk_bytes);
  hash::Sha256 hasher;
  FileDigest digest;
  for (;;) {
    TRY_ASSIGN(size_t n, file->read(buffer.get(), k_read_chunk_bytes));
    if (n == 0) break;
    hasher.update(std::string_view(buffer.get(), n));
    digest.size += n;
    if (progress) progress->advance(n);
  }
  digest.sha256 = hash::to_hex(hasher.finish());
  return digest;
}

}  // namespace cutover::hash
