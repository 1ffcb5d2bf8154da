// Numbers exactly as serde_json prints them: itoa for integers, ryu's shortest
// round-trip digits in ryu's "pretty" layout for doubles (SPEC §2).
#include "cutover/json/number_format.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>

namespace cutover::json {
namespace {

std::string f64(double v) {
  char buf[k_max_number_chars];
  size_t n = format_f64(v, buf);
  EXPECT_LE(n, k_max_number_chars);
  return std::string(buf, n);
}

std::string u64(uint64_t v) {
  char buf[k_max_number_chars];
  return std::string(buf, format_u64(v, buf));
}

std::string i64(int64_t v) {
  char buf[k_max_number_chars];
  return std::string(buf, format_i64(v, buf));
}

uint64_t bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

struct F64Case {
  double value;
  const char* expected;
};
// Names the case in test names and failure messages.
void PrintTo(const F64Case& c, std::ostream* os) { *os << c.expected; }

// Expected strings are what serde_json 1.0 (ryu) prints; the ones marked
// "golden" are also in tests/data/canonical, produced by serde_json itself.
const F64Case k_f64_cases[] = {
    {1.0, "1.0"},
    {-1.0, "-1.0"},
    {0.0, "0.0"},
    {-0.0, "-0.0"},
    {0.1, "0.1"},
    {0.3, "0.3"},
    {0.30000000000000004, "0.30000000000000004"},
    {1.5, "1.5"},
    {12.34, "12.34"},
    {100.0, "100.0"},
    {123456.0, "123456.0"},
    {12345678.9, "12345678.9"},
    // Up to 16 integer digits stay in fixed notation with ".0" ...
    {1e15, "1000000000000000.0"},
    {1.234e15, "1234000000000000.0"},
    {9.0608011534336e15, "9060801153433600.0"},
    // ... from 17 digits on, exponent notation without "+" or padding.
    {1e16, "1e16"},
    {1.234e16, "1.234e16"},
    {-2.109808898695963e16, "-2.109808898695963e16"},
    {1.2345678901234568e17, "1.2345678901234568e17"},
    {1e20, "1e20"},
    {1e21, "1e21"},
    {1.1e128, "1.1e128"},
    {1.7976931348623157e308, "1.7976931348623157e308"},
    // Small numbers: fixed notation while value >= 1e-5, then exponent notation.
    {0.001234, "0.001234"},
    {0.0001, "0.0001"},
    {1e-5, "0.00001"},  // golden: float_1e_minus5 (ryu: -5 < kk <= 0 is fixed)
    {1.5e-5, "0.000015"},
    {9.99e-6, "9.99e-6"},
    {1e-6, "1e-6"},  // golden: float_* cases
    {1.5e-7, "1.5e-7"},
    {2.9802322387695312e-8, "2.9802322387695312e-8"},
    {1.1e-64, "1.1e-64"},
    {2.2250738585072014e-308, "2.2250738585072014e-308"},  // smallest normal
    {4.940656e-318, "4.940656e-318"},                      // subnormal
    {5e-324, "5e-324"},                                    // smallest subnormal
    {-5e-324, "-5e-324"},
};

class FormatF64 : public ::testing::TestWithParam<F64Case> {};

TEST_P(FormatF64, PrintsLikeSerdeJson) {
  const F64Case& c = GetParam();
  EXPECT_EQ(f64(c.value), c.expected) << "value bits " << std::hex << bits(c.value);
}

INSTANTIATE_TEST_SUITE_P(Table, FormatF64, ::testing::ValuesIn(k_f64_cases));

TEST(FormatIntegers, Extremes) {
  EXPECT_EQ(u64(0), "0");
  EXPECT_EQ(u64(7), "7");
  EXPECT_EQ(u64(10), "10");
  EXPECT_EQ(u64(std::numeric_limits<uint64_t>::max()), "18446744073709551615");
  EXPECT_EQ(i64(0), "0");
  EXPECT_EQ(i64(-1), "-1");
  EXPECT_EQ(i64(std::numeric_limits<int64_t>::max()), "9223372036854775807");
  EXPECT_EQ(i64(std::numeric_limits<int64_t>::min()), "-9223372036854775808");
}

// Property: the printed digits read back (correctly rounded, by strtod) to the
// very same double, for doubles drawn uniformly over bit patterns, so every
// exponent range is hit. Every output also reads as a float, never an integer.
TEST(FormatF64, RoundTripsRandomBitPatterns) {
  std::mt19937_64 rng(0x5eed'c0de'2026ULL);
  int checked = 0;
  for (int i = 0; i < 100000; ++i) {
    double x;
    uint64_t b = rng();
    std::memcpy(&x, &b, sizeof x);
    if (!std::isfinite(x)) continue;
    std::string s = f64(x);
    ASSERT_NE(s.find_first_of(".e"), std::string::npos) << s;
    char* end = nullptr;
    double back = std::strtod(s.c_str(), &end);
    ASSERT_EQ(end, s.c_str() + s.size()) << s;
    ASSERT_EQ(bits(back), b) << "printed " << s << " for bits " << std::hex << b;
    ++checked;
  }
  EXPECT_GT(checked, 99000);
}

}  // namespace
}  // namespace cutover::json
