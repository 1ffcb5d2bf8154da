// Issue 12, item 8: numbers keep their values. serde_json 1.0.87 (and the
// parser that copied it) turned a long decimal into a neighbour of the right
// double, so the canonical form of a store was not a fixed point and a second
// backfill rewrote it. The parser now rounds every double correctly; the
// writer still prints the shortest digits that read back to it, so parse and
// write are a fixed point for every number.
//
// The yardstick is glibc's strtod, which is correctly rounded (in the "C"
// locale; the decimal point is '.' in every string here).
#include <gtest/gtest.h>

#include <cerrno>
#include <clocale>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cutover/json/canonical_writer.h"
#include "cutover/json/document.h"
#include "cutover/json/number_format.h"
#include "cutover/json/parser.h"

namespace cutover::json {
namespace {

double correctly_rounded(const std::string& text) {
  errno = 0;
  return std::strtod(text.c_str(), nullptr);
}

// The double `text` parses to, or a test failure.
double parsed(const std::string& text) {
  auto doc = parse(text);
  EXPECT_TRUE(doc) << text << ": " << doc.error().message();
  if (!doc) return std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(doc->root().kind(), Kind::f64) << text;
  return doc->root().as_f64();
}

std::string canonical(const std::string& text) {
  auto doc = parse(text);
  EXPECT_TRUE(doc) << text << ": " << doc.error().message();
  return doc ? to_canonical_string(doc->root()) : std::string();
}

// Bit-exact comparison (tells -0.0 from 0.0).
void expect_same_double(double got, double want, const std::string& text) {
  EXPECT_EQ(std::signbit(got), std::signbit(want)) << text;
  EXPECT_EQ(got, want) << text << std::hexfloat << ": got " << got << ", want " << want;
}

// The inputs the old conversion got wrong (each one is a tests/data/canonical
// case or the fuzz finding), with the value they have.
TEST(FailClosedFloats, DecimalsThatSerdeJsonMovedKeepTheirValue) {
  struct Case {
    const char* text;
    const char* canonical;
  };
  const Case cases[] = {
      // fuzz/corpus/json_fuzz/float_drift_1ulp.json: serde_json gave
      // -922337203632.9241, which reads back as -922337203632.924.
      {"-922337203632.923988", "-922337203632.924"},
      {"-922337203632.9241", "-922337203632.9241"},
      {"9007199254740993.0", "9007199254740992.0"},  // 2^53 + 1: ties to even
      {"0.1000000000000000055511151231257827021181583404541015625", "0.1"},
      {"2.2250738585072011e-308", "2.225073858507201e-308"},
      {"123456789012345678901234567890", "1.2345678901234568e29"},
      {"1.7976931348623157e308", "1.7976931348623157e308"},
      // 19 digits whose quotient, rounded to 64 bits, lands exactly halfway
      // between two doubles: rounding that again would give the wrong one.
      {"660.6115254007317503", "660.6115254007317"},
      {"1.2610470545525328534", "1.261047054552533"},
      {"68.6828527078721649", "68.68285270787217"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    expect_same_double(parsed(c.text), correctly_rounded(c.text), c.text);
    EXPECT_EQ(canonical(c.text), c.canonical);
    EXPECT_EQ(canonical(c.canonical), c.canonical) << "not a fixed point";
  }
}

// Random decimals of every shape the old conversion got wrong: more than 15
// significant digits, digits past the u64 significand, exponents past 10^22,
// subnormals. Each must parse to strtod's double, and its canonical form must
// read back to the same double (and so print the same bytes).
TEST(FailClosedFloats, RandomDecimalsAreCorrectlyRoundedAndAFixedPoint) {
  std::mt19937_64 rng(20261202);
  auto digits = [&](int n, bool nonzero_first) {
    std::string s;
    for (int i = 0; i < n; ++i) {
      int d = static_cast<int>(rng() % 10);
      if (i == 0 && nonzero_first && d == 0) d = 1 + static_cast<int>(rng() % 9);
      s.push_back(static_cast<char>('0' + d));
    }
    return s;
  };
  int slow = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string text;
    if (rng() % 4 == 0) text.push_back('-');
    int int_digits = 1 + static_cast<int>(rng() % 24);
    int frac_digits = static_cast<int>(rng() % 26);
    bool zero_int = rng() % 3 == 0;
    text += zero_int ? "0" : digits(int_digits, true);
    if (frac_digits > 0 || rng() % 2 == 0) {
      if (frac_digits == 0) frac_digits = 1;
      text += "." + digits(frac_digits, false);
    }
    switch (rng() % 4) {
      case 0:
        break;
      case 1:
        text += "e" + std::to_string(static_cast<int>(rng() % 60) - 30);
        break;
      case 2:
        text += "E" + std::to_string(static_cast<int>(rng() % 640) - 340);
        break;
      default:
        text += "e+" + std::to_string(rng() % 300);
        break;
    }
    double want = correctly_rounded(text);
    if (std::isinf(want)) continue;                                                     // refused, tested below
    if (text.find_first_of(".eE") == std::string::npos && text.size() <= 20) continue;  // may be an integer
    SCOPED_TRACE(text);
    double got = parsed(text);
    if (got != want || std::signbit(got) != std::signbit(want)) {
      expect_same_double(got, want, text);
      if (++slow > 10) FAIL() << "too many wrong doubles";
      continue;
    }
    char buf[k_max_number_chars];
    std::string once(buf, format_f64(got, buf));
    expect_same_double(parsed(once), got, once);
  }
  EXPECT_EQ(slow, 0);
}

// The shortest form of every double read back: a store that cutover wrote is
// a fixed point for every value, not only for the ones typed by hand.
TEST(FailClosedFloats, EveryShortestFormReadsBackToItsDouble) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    char buf[k_max_number_chars];
    std::string text(buf, format_f64(d, buf));
    double back = parsed(text);
    if (back != d || std::signbit(back) != std::signbit(d)) {
      expect_same_double(back, d, text);
      FAIL() << "stopping at the first failure";
    }
  }
}

// Numbers near the ends of the double range: refused when they round to
// infinity (serde_json's "number out of range"), a signed zero when they
// round to zero, the nearest subnormal in between.
TEST(FailClosedFloats, RangeEdges) {
  for (const char* text :
       {"1.7976931348623159e308", "1e309", "-1e309",
        "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664901797758720709633028641"
        "66928879109465555478519404026306574886715058206819089020007083836762738548458177115317644757302700698555713669"
        "59622842914819860834936475292719074168444365510704342711559699508093042880177904174497792",
        "123456789012345678901e300"}) {
    SCOPED_TRACE(text);
    auto doc = parse(text);
    ASSERT_FALSE(doc);
    EXPECT_NE(doc.error().message().find("number out of range"), std::string::npos) << doc.error().message();
  }
  struct Case {
    const char* text;
    double value;
  };
  const Case cases[] = {
      {"2.4e-324", 0.0},
      {"-2.4e-324", -0.0},
      {"2.5e-324", std::numeric_limits<double>::denorm_min()},
      {"4.9406564584124654e-324", std::numeric_limits<double>::denorm_min()},
      {"1e-400", 0.0},
      {"-1e-400", -0.0},
      {"12345678901234567890123e-400", 0.0},
      {"-0.00000000000000000000000000000000000000000001e-300", -0.0},
      {"2.2250738585072014e-308", std::numeric_limits<double>::min()},
      {"1.7976931348623158e308", std::numeric_limits<double>::max()},
      {"0e99999999999", 0.0},
      {"1e-99999999999", 0.0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    expect_same_double(parsed(c.text), c.value, c.text);
  }
}

// serde_json's grammar quirks stay as they were: only the value changed.
TEST(FailClosedFloats, SerdeJsonGrammarIsUnchanged) {
  expect_same_double(parsed("123456789012345678901."), 123456789012345678901.0, "123456789012345678901.");
  expect_same_double(parsed("123456789012345678901.e5"), 123456789012345678901e5, "123456789012345678901.e5");
  for (const char* text : {"18446744073709551616.5", "1.", "1.e5", ".5", "+1", "01.5", "1e", "1e+", "-"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(parse(text));
  }
  // Integers that fit stay integers.
  EXPECT_EQ(parse("18446744073709551615")->root().kind(), Kind::u64);
  EXPECT_EQ(parse("-9223372036854775808")->root().kind(), Kind::i64);
}

// The two-thread parser converts numbers with the same code: a big array of
// long decimals gives the one-thread doubles wherever the second thread starts.
TEST(FailClosedFloats, SplitParseGivesTheSameDoubles) {
  std::string text = "[";
  for (int i = 0; i < 2000; ++i) {
    if (i > 0) text += ",";
    text +=
        "-922337203632.923988,0.1000000000000000055511151231257827,{\"x\":[1."
        "00000000000000011102230246251565404236316680908203125]}";
  }
  text += "]";
  std::string one = to_canonical_string(parse_borrowed_split(text, SIZE_MAX).value().root());
  EXPECT_NE(one.find("-922337203632.924,"), std::string::npos);
  EXPECT_EQ(one.find("9241"), std::string::npos);
  for (size_t from : {size_t{0}, text.size() / 3, text.size() / 2, text.size() - 200}) {
    bool joined = false;
    auto doc = parse_borrowed_split(text, from, &joined);
    ASSERT_TRUE(doc);
    EXPECT_EQ(to_canonical_string(doc->root()), one) << "split from " << from;
  }
}

// Every expectation of the canonical corpus (serde_json's bytes, or cutover's
// where serde_json moved a value: known_differences.tsv) is its own canonical
// form: a store written by the reference or by cutover is not rewritten.
TEST(FailClosedFloats, EveryCorpusExpectationIsAFixedPoint) {
  int checked = 0;
  std::vector<std::string> moved;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(CUTOVER_SOURCE_DIR) + "/tests/data/canonical")) {
    if (entry.path().extension() != ".expected") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    auto doc = parse(text.str());
    ASSERT_TRUE(doc) << entry.path() << ": " << doc.error().message();
    if (to_canonical_string(doc->root()) != text.str()) moved.push_back(entry.path().filename().string());
    ++checked;
  }
  EXPECT_GT(checked, 400);
  EXPECT_EQ(moved, std::vector<std::string>{});
}

}  // namespace
}  // namespace cutover::json
