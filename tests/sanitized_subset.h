// The sanitizer build (`make test-asan`) runs the exhaustive property loops on
// a deterministic subset: there every thread start and every large buffer costs
// fresh shadow memory and page faults, and the JSON split and parallel-write
// loops took 45 to 165 s each in a loaded `make test`. The Release build runs
// them in full (docs/RELIABILITY.md, "Sanitizers").
#pragma once

#include <cstddef>

namespace cutover::testing {

#ifdef __SANITIZE_ADDRESS__
inline constexpr size_t k_sanitized_stride = 8;
#else
inline constexpr size_t k_sanitized_stride = 1;
#endif

// Whether a loop's `i`th point is checked: always in the Release build; under
// the sanitizers one point in each run of k_sanitized_stride, at a position
// that moves on by one from each run to the next, so that a loop over the
// offsets of repeated rows still meets every offset within a row.
inline bool in_sanitized_subset(size_t i) { return (i + i / k_sanitized_stride) % k_sanitized_stride == 0; }

}  // namespace cutover::testing
