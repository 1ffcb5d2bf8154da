// Store specs: how to bring a store to the current schema and how to count
// it (SPEC §1). Specs are data: the built-in kinds (auth, codex_threads,
// domain) are spec files compiled into the binary, and operators add kinds
// with their own files. The format is docs/formats/store-spec.md.
//
// Every operation is additive. A spec that names an unknown operation or
// count kind, or that would retype data (the same key ensured as an object and
// as an array, a counter that is also a collection), is refused.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/base/error.h"
#include "cutover/base/file_system.h"

namespace cutover::store {

inline constexpr std::string_view k_spec_schema = "cutover.store_spec.v1";

enum class OperationKind { ensure_object, ensure_array, counter_from_max };
enum class CountKind { object_len, array_len, sum_array_lengths };

std::string_view operation_name(OperationKind kind);
std::string_view count_kind_name(CountKind kind);

struct Operation {
  OperationKind kind;
  std::string key;         // ensure_*: the top-level key; counter_from_max: the counter
  std::string collection;  // counter_from_max only
  std::string id_field;    // counter_from_max only
};

struct CountRule {
  std::string name;  // the count's name in the manifest
  CountKind kind;
  std::string key;  // the top-level key it counts
};

struct StoreSpec {
  std::string store;  // the kind's name, e.g. "auth"
  std::string description;
  std::string source;  // "built-in" or the spec file's path
  std::vector<Operation> operations;
  std::vector<CountRule> counts;  // sorted by name
};

// Parses and checks one spec document; `source` names it in errors.
Result<StoreSpec> parse_store_spec(std::string_view text, const std::string& source);

// The kinds cutover knows: the built-ins plus any loaded spec files.
class SpecRegistry {
 public:
  // A registry holding the three built-in kinds.
  static SpecRegistry with_builtins();

  // Adds the kinds from a spec file; refuses a name that is already known.
  Status load_file(base::FileSystem& fs, const std::string& path);
  Status add(StoreSpec spec);

  // The spec for `name`, or not_found naming the known kinds (and the
  // closest one, when the name looks like a typo).
  Result<const StoreSpec*> find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, StoreSpec, std::less<>> specs_;
};

}  // namespace cutover::store
