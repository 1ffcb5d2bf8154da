#include "cli/progress_bar.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "cli/output.h"

namespace cutover::cli {
namespace {

constexpr double k_mib = 1024.0 * 1024.0;
constexpr double k_gib = k_mib * 1024.0;
constexpr size_t k_min_bar = 10;
constexpr size_t k_max_bar = 30;
// "100%  12.34/12.34 GiB  1234.5 MiB/s  ETA 1:23:45"
constexpr size_t k_tail_reserve = 48;

std::string format(const char* pattern, double a, double b = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, pattern, a, b);
  return buf;
}

std::string eta_text(uint64_t seconds) {
  char buf[32];
  if (seconds >= 3600) {
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu", static_cast<unsigned long long>(seconds / 3600),
                  static_cast<unsigned long long>(seconds / 60 % 60), static_cast<unsigned long long>(seconds % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llu:%02llu", static_cast<unsigned long long>(seconds / 60),
                  static_cast<unsigned long long>(seconds % 60));
  }
  return buf;
}

}  // namespace

std::string progress_line(std::string_view label, uint64_t done, uint64_t total, std::chrono::nanoseconds elapsed,
                          size_t width) {
  done = std::min(done, total);
  // Whole percents, rounded down: 100% only when everything is done.
  uint64_t percent = total == 0 ? 100 : static_cast<uint64_t>(static_cast<double>(done) * 100.0 / total);
  if (percent == 100 && done < total) percent = 99;
  double seconds = std::chrono::duration<double>(elapsed).count();
  // The rate settles after a while, or at the end, when it is the true mean.
  bool settled = done > 0 && (elapsed >= k_progress_eta_after || done == total);
  double rate = settled ? static_cast<double>(done) / seconds : 0.0;  // bytes a second

  std::string amounts =
      total >= static_cast<uint64_t>(k_gib)
          ? format("%.2f/%.2f GiB", static_cast<double>(done) / k_gib, static_cast<double>(total) / k_gib)
          : format("%.1f/%.1f MiB", static_cast<double>(done) / k_mib, static_cast<double>(total) / k_mib);
  std::string rate_text = settled ? format("%.1f MiB/s", rate / k_mib) : "-- MiB/s";
  std::string eta = settled ? eta_text(static_cast<uint64_t>(static_cast<double>(total - done) / rate + 0.5)) : "--";
  std::string tail =
      format("%3.0f%%", static_cast<double>(percent)) + "  " + amounts + "  " + rate_text + "  ETA " + eta;

  size_t room = width > 0 ? width - 1 : 0;
  std::string head(label);
  // "LABEL [BAR]  TAIL" when a bar of k_min_bar fits, else "LABEL  TAIL".
  // The bar's length leaves room for the longest usual tail, so that it
  // does not change as the rate and ETA do.
  size_t fixed = head.size() + 2 + 3 + std::max(tail.size(), k_tail_reserve);
  if (room >= fixed + k_min_bar) {
    size_t bar = std::min(k_max_bar, room - fixed);
    size_t filled = static_cast<size_t>(static_cast<double>(bar) * percent / 100.0);
    head += " [" + std::string(filled, '#') + std::string(bar - filled, '.') + "]";
  }
  std::string line = head + "  " + tail;
  if (line.size() > room) line.resize(room);
  return line;
}

bool RedrawLimiter::due(std::chrono::steady_clock::time_point now) {
  if (last_ && now - *last_ < interval_) return false;
  last_ = now;
  return true;
}

bool progress_bar_allowed(bool quiet, bool json) { return !quiet && !json && ::isatty(STDERR_FILENO) != 0; }

size_t terminal_width() {
  struct winsize ws {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* columns = std::getenv("COLUMNS")) {
    long n = std::strtol(columns, nullptr, 10);
    if (n > 0 && n < 10000) return static_cast<size_t>(n);
  }
  return 80;
}

ProgressBar::ProgressBar(std::string label, bool allowed) : label_(std::move(label)), allowed_(allowed) {}

ProgressBar::~ProgressBar() { finish(false); }

void ProgressBar::begin(uint64_t total_bytes) {
  if (!allowed_ || total_bytes < k_progress_min_bytes || shown()) return;
  total_ = total_bytes;
  start_ = std::chrono::steady_clock::now();
  width_ = terminal_width();
  // The 0% line now, on this thread, before any advance() can count: the
  // bar shows from the start however late the drawing thread first runs.
  draw(0, "");
  drawer_ = std::thread([this] { draw_loop(); });
}

void ProgressBar::finish(bool completed) {
  if (!shown()) return;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stop_changed_.notify_all();
  drawer_.join();
  if (completed) {
    draw(total_, "\n");
  } else {
    write_terminal_control("\r\033[K");
  }
}

// Redraws until finish(), at most once per k_progress_redraw_interval.
void ProgressBar::draw_loop() {
  RedrawLimiter limiter;
  limiter.due(start_);  // begin() drew the first line
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (limiter.due(std::chrono::steady_clock::now())) draw(done_.load(std::memory_order_relaxed), "");
    stop_changed_.wait_for(lock, k_progress_redraw_interval, [&] { return stop_; });
  }
}

void ProgressBar::draw(uint64_t done, std::string_view end) {
  auto elapsed = std::chrono::steady_clock::now() - start_;
  std::string out = "\r" + progress_line(label_, done, total_, elapsed, width_) + "\033[K";
  out += end;
  write_terminal_control(out);
}

}  // namespace cutover::cli
