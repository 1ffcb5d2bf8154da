// libFuzzer target: the manifest reader (issue 7). parse_manifest must never
// crash, must explain every refusal, and a manifest it accepts must survive
// a write and a second read unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cutover/manifest/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = cutover::manifest::parse_manifest(text, "fuzz.json");
  if (!m) {
    if (m.error().message().empty()) std::abort();
    return 0;
  }
  std::string written = cutover::manifest::to_json(*m);
  auto again = cutover::manifest::parse_manifest(written, "fuzz-rewritten.json");
  if (!again) {
    std::fprintf(stderr, "a written manifest does not read back: %s\n", again.error().message().c_str());
    std::abort();
  }
  if (cutover::manifest::to_json(*again) != written) {
    std::fprintf(stderr, "manifest write/read is not stable\n");
    std::abort();
  }
  return 0;
}
