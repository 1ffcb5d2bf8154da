#include "cutover/store/counts.h"

namespace cutover::store {

uint64_t count(const json::Node& root, const CountRule& rule) {
  const json::Node* v = root.find(rule.key);
  if (v == nullptr) return 0;
  switch (rule.kind) {
    case CountKind::object_len:
      return v->is_object() ? v->size() : 0;
    case CountKind::array_len:
      return v->is_array() ? v->size() : 0;
    case CountKind::sum_array_lengths: {
      if (!v->is_object()) return 0;
      uint64_t sum = 0;
      for (size_t i = 0; i < v->size(); ++i) {
        const json::Node& inner = v->members()[i].value;
        if (inner.is_array()) sum += inner.size();
      }
      return sum;
    }
  }
  return 0;
}

Counts count_all(const json::Node& root, const StoreSpec& spec) {
  Counts out;
  for (const CountRule& rule : spec.counts) out[rule.name] = count(root, rule);
  return out;
}

}  // namespace cutover::store
