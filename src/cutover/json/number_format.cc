// ryu's layout (ryu/src/pretty/mod.rs, format64), given the shortest digits
// d1..dn and the decimal exponent k with value = d1..dn * 10^k, kk = n + k:
//   0 <= k and kk <= 16     digits, kk - n zeros, ".0"        1234e7 -> 12340000000.0
//   0 < kk <= 16            digits with the point after kk     1234e-2 -> 12.34
//   -5 < kk <= 0            "0.", -kk zeros, digits            1234e-6 -> 0.001234
//   n == 1                  d1 "e" (kk-1)                      1e30
//   otherwise               d1 "." d2..dn "e" (kk-1)           1.234e33
// std::to_chars in scientific form gives the same shortest digits (libstdc++
// uses ryu too); we read them back and lay them out as above.
#include "cutover/json/number_format.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstring>

namespace cutover::json {

size_t format_u64(uint64_t value, char* out) {
  return static_cast<size_t>(std::to_chars(out, out + k_max_number_chars, value).ptr - out);
}

size_t format_i64(int64_t value, char* out) {
  return static_cast<size_t>(std::to_chars(out, out + k_max_number_chars, value).ptr - out);
}

size_t format_f64(double value, char* out) {
  assert(std::isfinite(value));
  char* o = out;
  if (std::signbit(value)) {
    *o++ = '-';
    value = -value;
  }
  if (value == 0.0) {
    std::memcpy(o, "0.0", 3);
    return static_cast<size_t>(o + 3 - out);
  }
  char sci[k_max_number_chars];
  char* end = std::to_chars(sci, sci + sizeof sci, value, std::chars_format::scientific).ptr;
  // sci is "d[.ddd]e[+-]XX"
  char digits[20];
  int n = 0;
  const char* s = sci;
  for (; s < end && *s != 'e'; ++s) {
    if (*s != '.') digits[n++] = *s;
  }
  ++s;  // 'e'
  bool negative_exp = *s == '-';
  ++s;
  int x = 0;
  for (; s < end; ++s) x = x * 10 + (*s - '0');
  if (negative_exp) x = -x;
  int kk = x + 1;
  int k = kk - n;

  if (0 <= k && kk <= 16) {
    std::memcpy(o, digits, static_cast<size_t>(n));
    o += n;
    for (int i = n; i < kk; ++i) *o++ = '0';
    *o++ = '.';
    *o++ = '0';
  } else if (0 < kk && kk <= 16) {
    std::memcpy(o, digits, static_cast<size_t>(kk));
    o += kk;
    *o++ = '.';
    std::memcpy(o, digits + kk, static_cast<size_t>(n - kk));
    o += n - kk;
  } else if (-5 < kk && kk <= 0) {
    *o++ = '0';
    *o++ = '.';
    for (int i = 0; i < -kk; ++i) *o++ = '0';
    std::memcpy(o, digits, static_cast<size_t>(n));
    o += n;
  } else {
    *o++ = digits[0];
    if (n > 1) {
      *o++ = '.';
      std::memcpy(o, digits + 1, static_cast<size_t>(n - 1));
      o += n - 1;
    }
    *o++ = 'e';
    o = std::to_chars(o, o + 8, kk - 1).ptr;
  }
  return static_cast<size_t>(o - out);
}

}  // namespace cutover::json
