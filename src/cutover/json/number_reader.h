// JSON numbers, read with serde_json's grammar (de.rs: parse_integer,
// parse_long_integer, parse_decimal, parse_exponent), quirks included: the
// significand accumulates in a u64 until the next digit would overflow, later
// digits only move the exponent, and one exponent counts both those digits and
// the fraction's (so "18446744073709551616.5" is refused). The double itself
// is correctly rounded, unlike serde_json 1.0.87's f64_from_parts (one
// multiplication or division by a power of ten after dropping digits), which
// could give a neighbour of the right double, so that the shortest digits
// written for it read back as another double (issue 12, item 8). The fast
// path is exact arithmetic: a significand of at most 2^53 and a power of ten
// up to 10^22 are both exact doubles, so one IEEE multiplication or division
// is correctly rounded (and is what serde_json computed too). Up to 19 digits
// with the same powers, x87's long double does the same with one check
// (f64_from_parts). Every other number is converted from its text by
// std::from_chars.
//
// Internal to json/parser.cc (inline, so that the parser's loop keeps the
// reader inlined as it was when this code lived there).
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <system_error>

#include "cutover/json/document.h"

namespace cutover::json::detail {

// Powers of ten that are exact doubles (5^22 < 2^53).
constexpr double k_exact_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
#if (defined(__x86_64__) || defined(__i386__)) && __LDBL_MANT_DIG__ == 64
constexpr long double k_exact_pow10_wide[23] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,
                                                1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L,
                                                1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L, 1e22L};
#endif
// Integers up to this are exact doubles.
constexpr uint64_t k_max_exact_significand = uint64_t{1} << 53;

// serde_json's overflow!(a * 10 + b, max) for u64 and i32.
inline bool overflows_u64(uint64_t a, uint64_t digit) {
  constexpr uint64_t max = UINT64_MAX;
  return a >= max / 10 && (a > max / 10 || digit > max % 10);
}
inline bool overflows_i32(int32_t a, int32_t digit) {
  constexpr int32_t max = INT32_MAX;
  return a >= max / 10 && (a > max / 10 || digit > max % 10);
}

inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// Reads one number with serde_json's grammar. REQUIRES: `p` is its '-' or
// first digit, before `end`.
class NumberReader {
 public:
  NumberReader(const unsigned char* p, const unsigned char* end) : p_(p), end_(end) {}

  // The number into `out`; false on an error (error() says which, and
  // position() is where it was found).
  bool read(Node& out);
  // Just past the number, or where reading it failed.
  const unsigned char* position() const { return p_; }
  const char* error() const { return error_; }

 private:
  bool fail(const char* what) {
    error_ = what;
    return false;
  }
  bool f64_from_parts(bool positive, uint64_t significand, int32_t exponent, double& out);
  bool parse_exponent(bool positive, uint64_t significand, int32_t starting_exp, double& out);
  bool parse_decimal(bool positive, uint64_t significand, int32_t exponent_before, double& out);

  const unsigned char* p_;
  const unsigned char* end_;
  const unsigned char* number_start_ = nullptr;  // the number being read (its '-' if any)
  bool dropped_digits_ = false;                  // digits of it not in the u64 significand
  const char* error_ = "";
};

// The double nearest to significand * 10^exponent, where the number's text is
// [number_start_, p_) and dropped_digits_ says whether digits were left out of
// `significand` (they are still in the text).
inline bool NumberReader::f64_from_parts(bool positive, uint64_t significand, int32_t exponent, double& out) {
  if (!dropped_digits_ && significand <= k_max_exact_significand && exponent >= -22 && exponent <= 22) {
    double f = static_cast<double>(significand);
    f = exponent >= 0 ? f * k_exact_pow10[exponent] : f / k_exact_pow10[-exponent];
    out = positive ? f : -f;
    return true;
  }
#if (defined(__x86_64__) || defined(__i386__)) && __LDBL_MANT_DIG__ == 64
  // Up to 19 digits (most shortest forms of doubles): x87's long double holds
  // any u64 and 10^22 exactly, and one operation on them is correctly rounded
  // to 64 bits. Rounding that to 53 bits is the double nearest the number
  // unless it lies exactly halfway between two doubles (low 11 bits 0x400;
  // the result is a normal double here, from 1e-22 to 2e41): then the first
  // rounding may have moved it there, and from_chars decides.
  if (!dropped_digits_ && exponent >= -22 && exponent <= 22) {
    long double wide = static_cast<long double>(significand);
    wide = exponent >= 0 ? wide * k_exact_pow10_wide[exponent] : wide / k_exact_pow10_wide[-exponent];
    uint64_t mantissa;
    std::memcpy(&mantissa, &wide, sizeof mantissa);
    if ((mantissa & 0x7FF) != 0x400) {
      double f = static_cast<double>(wide);
      out = positive ? f : -f;
      return true;
    }
  }
#endif
  double f = 0.0;
  auto [end, ec] = std::from_chars(reinterpret_cast<const char*>(number_start_), reinterpret_cast<const char*>(p_), f);
  if (ec == std::errc::result_out_of_range) {
    // Too large for a double (an error, as in serde_json) or so small that it
    // rounds to zero. The significand is not zero here (zero is in range),
    // so the sign of log10(significand) + exponent tells which.
    if (std::log10(static_cast<double>(significand)) + exponent > 0) return fail("number out of range");
    out = positive ? 0.0 : -0.0;
    return true;
  }
  if (ec != std::errc() || end != reinterpret_cast<const char*>(p_)) return fail("invalid number");
  out = f;
  return true;
}

inline bool NumberReader::parse_exponent(bool positive, uint64_t significand, int32_t starting_exp, double& out) {
  ++p_;  // 'e' or 'E'
  bool positive_exp = true;
  if (p_ < end_ && *p_ == '+') {
    ++p_;
  } else if (p_ < end_ && *p_ == '-') {
    ++p_;
    positive_exp = false;
  }
  if (p_ >= end_) return fail("EOF while parsing a value");
  if (!is_digit(*p_)) return fail("invalid number");
  int32_t exp = *p_++ - '0';
  while (p_ < end_ && is_digit(*p_)) {
    int32_t digit = *p_++ - '0';
    if (overflows_i32(exp, digit)) {
      // serde_json: an error instead of infinity, else a signed zero.
      if (significand != 0 && positive_exp) return fail("number out of range");
      while (p_ < end_ && is_digit(*p_)) ++p_;
      out = positive ? 0.0 : -0.0;
      return true;
    }
    exp = exp * 10 + digit;
  }
  int64_t final_exp = positive_exp ? int64_t{starting_exp} + exp : int64_t{starting_exp} - exp;
  if (final_exp > INT32_MAX) final_exp = INT32_MAX;
  if (final_exp < INT32_MIN) final_exp = INT32_MIN;
  return f64_from_parts(positive, significand, static_cast<int32_t>(final_exp), out);
}

inline bool NumberReader::parse_decimal(bool positive, uint64_t significand, int32_t exponent, double& out) {
  // serde_json 1.0.87 keeps one exponent across the integer overflow digits
  // and the fraction digits, and checks "at least one digit after the point"
  // by testing that exponent for 0. So "18446744073709551616.5" (one overflow
  // digit, one fraction digit) is refused while "123456789012345678901."
  // (no fraction digit) is accepted. We reproduce that.
  ++p_;  // '.'
  bool overflowed = false;
  while (p_ < end_ && is_digit(*p_)) {
    uint64_t digit = *p_ - '0';
    if (overflows_u64(significand, digit)) {
      // parse_decimal_overflow: further digits are dropped, and there is no check.
      dropped_digits_ = true;
      while (p_ < end_ && is_digit(*p_)) ++p_;
      overflowed = true;
      break;
    }
    ++p_;
    significand = significand * 10 + digit;
    exponent -= 1;
  }
  if (!overflowed && exponent == 0) {
    if (p_ >= end_) return fail("EOF while parsing a value");
    return fail("invalid number");
  }
  if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) return parse_exponent(positive, significand, exponent, out);
  return f64_from_parts(positive, significand, exponent, out);
}

inline bool NumberReader::read(Node& out) {
  number_start_ = p_;
  dropped_digits_ = false;
  bool positive = true;
  if (*p_ == '-') {
    positive = false;
    ++p_;
  }
  if (p_ >= end_) return fail("EOF while parsing a value");
  unsigned char c = *p_;
  if (!is_digit(c)) return fail("invalid number");
  ++p_;
  uint64_t significand = c - '0';
  if (c == '0') {
    if (p_ < end_ && is_digit(*p_)) return fail("invalid number");
  } else {
    while (p_ < end_ && is_digit(*p_)) {
      uint64_t digit = *p_ - '0';
      if (overflows_u64(significand, digit)) {
        // parse_long_integer: the rest of the digits only count as exponent.
        dropped_digits_ = true;
        int32_t exponent = 0;
        while (p_ < end_ && is_digit(*p_)) {
          ++p_;
          ++exponent;
        }
        double f;
        if (p_ < end_ && *p_ == '.') {
          if (!parse_decimal(positive, significand, exponent, f)) return false;
        } else if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
          if (!parse_exponent(positive, significand, exponent, f)) return false;
        } else if (!f64_from_parts(positive, significand, exponent, f)) {
          return false;
        }
        out = Node::f64(f);
        return true;
      }
      ++p_;
      significand = significand * 10 + digit;
    }
  }
  // parse_number
  if (p_ < end_ && *p_ == '.') {
    double f;
    if (!parse_decimal(positive, significand, 0, f)) return false;
    out = Node::f64(f);
    return true;
  }
  if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
    double f;
    if (!parse_exponent(positive, significand, 0, f)) return false;
    out = Node::f64(f);
    return true;
  }
  if (positive) {
    out = Node::u64(significand);
  } else {
    int64_t neg = static_cast<int64_t>(0 - significand);  // wrapping_neg
    // A float if it underflows i64, or for -0.
    out = neg >= 0 ? Node::f64(-static_cast<double>(significand)) : Node::i64(neg);
  }
  return true;
}

}  // namespace cutover::json::detail
