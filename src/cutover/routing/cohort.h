// Cohort buckets (SPEC §6): which of 100 buckets a cohort key falls in, so
// that a request goes to the new service iff its bucket < the percentage.
//
//   digest = SHA-256(salt + ":" + key)
//   text   = base64url(digest), no padding
//   v      = fold the first 4 characters of text as v = v * 131 + byte,
//            in 32-bit wrapping arithmetic
//   bucket = v % 100
//
// The first 4 base64url characters are the first 3 digest bytes, 6 bits at a
// time, so only those are encoded. Buckets are stable across processes and
// machines: the same salt and key always give the same bucket, which is what
// keeps a user on one side while the percentage holds, and what makes raising
// the percentage only ever add cohorts.
#pragma once

#include <cstdint>
#include <string_view>

namespace cutover::routing {

using CohortBucket = uint8_t;  // 0..99

// Thread-safe (each thread keeps its own hasher).
CohortBucket cohort_bucket(std::string_view salt, std::string_view key);

}  // namespace cutover::routing
