// The progress bar of backfill, verify and rollback on a terminal:
//
//   backfill [#######.........]  42%  211.0/500.0 MiB  180.3 MiB/s  ETA 0:02
//
// on standard error, only when it is a terminal, the command has neither
// --quiet nor --json, and the work is at least 64 MiB of store bytes
// (decided when the work begins, from the sizes known then). Redrawn at
// most 10 times a second on a thread of its own; the library's threads only
// add to an atomic counter. When the command ends the bar leaves a final
// line (or, when the work stopped part-way, clears itself), so the next
// message starts on a clean line.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "cutover/base/progress.h"

namespace cutover::cli {

// Work below this many store bytes is over too soon to need a bar.
inline constexpr uint64_t k_progress_min_bytes = uint64_t{64} << 20;
inline constexpr std::chrono::milliseconds k_progress_redraw_interval{100};
// Rate and ETA need this much data first; before it the ETA reads "--".
inline constexpr std::chrono::milliseconds k_progress_eta_after{500};

// One line of the bar, at most `width` - 1 columns (the last column of a
// terminal wraps on some): `label`, a bar when there is room for one,
// percent, done/total (MiB, or GiB from 1 GiB), the mean rate since the
// start in MiB/s and the ETA (M:SS, H:MM:SS from an hour; "--" until
// k_progress_eta_after has passed with some bytes done). `done` past
// `total` counts as `total`. Pure.
std::string progress_line(std::string_view label, uint64_t done, uint64_t total, std::chrono::nanoseconds elapsed,
                          size_t width);

// When to redraw: the first time asked, then whenever `interval` has passed
// since the last redraw it allowed. Pure (the caller passes the time).
class RedrawLimiter {
 public:
  explicit RedrawLimiter(std::chrono::nanoseconds interval = k_progress_redraw_interval) : interval_(interval) {}
  bool due(std::chrono::steady_clock::time_point now);

 private:
  std::chrono::nanoseconds interval_;
  std::optional<std::chrono::steady_clock::time_point> last_;
};

// The --quiet flag of the commands that show a bar.
inline constexpr const char* k_quiet_flag_help =
    "no progress bar on standard error (it shows only on a terminal, "
    "for 64 MiB of stores or more, and never with --json)";

// Whether a command may show a bar: standard error is a terminal and
// neither --quiet nor --json was given.
bool progress_bar_allowed(bool quiet, bool json);

// The terminal's width in columns: TIOCGWINSZ on standard error, else
// $COLUMNS, else 80.
size_t terminal_width();

// A base::Progress that draws the bar. Give it to the library's options
// for the length of one call, then call finish(). Thread safety: advance()
// from any thread; the other calls from the thread that owns the bar.
class ProgressBar final : public base::Progress {
 public:
  // `label`: the command ("backfill"). `allowed`: progress_bar_allowed();
  // when false the bar never draws.
  ProgressBar(std::string label, bool allowed);
  ~ProgressBar() override;  // finish(false) if the caller did not
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Shows the bar (0%) if allowed and `total_bytes` >= k_progress_min_bytes.
  void begin(uint64_t total_bytes) override;
  void advance(uint64_t bytes) override { done_.fetch_add(bytes, std::memory_order_relaxed); }

  // The work is over. `completed`: it ran to its end (whatever it found),
  // and the final line shows 100%; otherwise the bar is cleared. Idempotent.
  void finish(bool completed);

  bool shown() const { return drawer_.joinable(); }

 private:
  void draw_loop();
  void draw(uint64_t done, std::string_view end);

  std::string label_;
  bool allowed_;
  uint64_t total_ = 0;
  std::chrono::steady_clock::time_point start_;
  size_t width_ = 80;
  std::atomic<uint64_t> done_{0};
  std::mutex mutex_;
  std::condition_variable stop_changed_;
  bool stop_ = false;
  std::thread drawer_;
};

}  // namespace cutover::cli
