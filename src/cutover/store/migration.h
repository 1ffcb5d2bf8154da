// Applies a store spec's operations to a parsed store (SPEC §1).
//
// By default nothing is destroyed: a non-object root, or a targeted key that
// holds the wrong type, is refused with every such problem listed. With
// allow_destructive_reset the reference tool's behaviour is reproduced (the
// root becomes {}, the key becomes {} or [], the counter is recomputed), and
// each reset is reported so the operator sees what was replaced.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/json/document.h"
#include "cutover/store/store_spec.h"

namespace cutover::store {

struct MigrationOptions {
  bool allow_destructive_reset = false;
};

struct MigrationResult {
  json::Node root;                  // the migrated root, owned by the document
  std::vector<std::string> resets;  // what a destructive reset replaced
};

// Returns the migrated root (the document's root is set to it as well).
// Errors: invalid_argument listing every wrong-typed key when resets are not allowed.
Result<MigrationResult> migrate(json::Document& doc, const StoreSpec& spec, const MigrationOptions& options);

// An id as counter_from_max reads it: an unsigned integer, or a string that
// holds one (as Rust's u64::from_str reads it); anything else is 0.
uint64_t row_id(const json::Node* id);

}  // namespace cutover::store
