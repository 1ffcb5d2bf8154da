// base/clock: the RFC 3339 parser beside the formatter.
#include <gtest/gtest.h>

#include <cstdint>

#include "cutover/base/clock.h"

namespace cutover::base {
namespace {

TEST(Clock, ParsesRfc3339) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z").value(), 0);
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20Z").value(), int64_t{1700000000} * 1000000000);
  EXPECT_EQ(parse_rfc3339("2023-11-14T23:13:20.5+01:00").value(), int64_t{1700000000} * 1000000000 + 500000000);
  EXPECT_EQ(parse_rfc3339("2024-02-29T00:00:00Z").value(), int64_t{1709164800} * 1000000000);
  for (const char* bad : {"2023-02-29T00:00:00Z", "2023-11-14 22:13:20Z", "2023-11-14T22:13:20",
                          "2023-11-14T22:13:20.Z", "2023-13-01T00:00:00Z", "2023-11-14T22:13:20Zjunk"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

TEST(Clock, FormatterOutputParsesBack) {
  int64_t ns = int64_t{1700000000} * 1000000000 + 123456000;
  EXPECT_EQ(parse_rfc3339(rfc3339_utc(ns)).value(), ns);
}

}  // namespace
}  // namespace cutover::base
