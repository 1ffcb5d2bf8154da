// libFuzzer target: the store-spec reader (issue 7). parse_store_spec must
// never crash and must explain every refusal; a spec it accepts is then run
// (migration and counts) over a small store, which must not crash either.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cutover/json/parser.h"
#include "cutover/store/counts.h"
#include "cutover/store/migration.h"
#include "cutover/store/store_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = cutover::store::parse_store_spec(text, "fuzz-spec.json");
  if (!spec) {
    if (spec.error().message().empty()) std::abort();
    return 0;
  }
  auto doc = cutover::json::parse(std::string_view(R"({"a":{"1":{"id":"7"}},"b":[{"id":3}],"c":1})"));
  if (!doc) std::abort();
  for (bool reset : {false, true}) {
    auto migrated = cutover::store::migrate(*doc, *spec, {reset});
    if (migrated) (void)cutover::store::count_all(doc->root(), *spec);
  }
  return 0;
}
