#include "cutover/base/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace cutover::base {
namespace {

class SystemClock final : public Clock {
 public:
  int64_t now_ns() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

std::tm utc_tm(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

std::string compact_utc(int64_t unix_seconds) {
  std::tm tm = utc_tm(unix_seconds);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string rfc3339_utc(int64_t unix_ns) {
  int64_t seconds = unix_ns / 1000000000;
  int64_t micros = (unix_ns % 1000000000) / 1000;
  std::tm tm = utc_tm(seconds);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(micros));
  return out;
}

}  // namespace cutover::base
