// Wall-clock time behind an interface, so tests can pin timestamps.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cutover/base/error.h"

namespace cutover::base {

class Clock {
 public:
  virtual ~Clock() = default;
  // Nanoseconds since the Unix epoch, UTC.
  virtual int64_t now_ns() = 0;
};

Clock& system_clock();

// "20261127T024409Z" for a time in whole seconds since the epoch.
std::string compact_utc(int64_t unix_seconds);
// RFC 3339 with microseconds: "2026-11-27T02:44:09.123456Z".
std::string rfc3339_utc(int64_t unix_ns);
// Parses an RFC 3339 time ("2026-11-27T03:00:00Z", fractions and numeric
// offsets allowed) to nanoseconds since the epoch, UTC. Errors:
// invalid_argument quoting the text.
Result<int64_t> parse_rfc3339(std::string_view text);

}  // namespace cutover::base
