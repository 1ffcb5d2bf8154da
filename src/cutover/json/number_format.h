// Numbers as serde_json prints them: integers with itoa, doubles with ryu's
// shortest round-trip digits laid out in ryu's "pretty" style.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cutover::json {

// Room any formatted number fits in.
inline constexpr size_t k_max_number_chars = 32;

size_t format_u64(uint64_t value, char* out);
size_t format_i64(int64_t value, char* out);
// REQUIRES: std::isfinite(value). Examples: 1.0, 0.1, 1e16, 1.5e-7, -0.0,
// 123456.0, 1.2345678901234568e17, 0.0001, 1e-5.
size_t format_f64(double value, char* out);

}  // namespace cutover::json
