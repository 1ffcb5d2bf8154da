// Count invariants of a store (SPEC §1): object_len, array_len and
// sum_array_lengths of top-level keys. A missing or wrong-typed key counts 0.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "cutover/json/document.h"
#include "cutover/store/store_spec.h"

namespace cutover::store {

using Counts = std::map<std::string, uint64_t>;

uint64_t count(const json::Node& root, const CountRule& rule);
Counts count_all(const json::Node& root, const StoreSpec& spec);

}  // namespace cutover::store
