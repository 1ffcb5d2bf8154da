// libFuzzer target: the JSON parser and the canonical writer (issue 7).
// Properties: parse never crashes (ASan/UBSan watch every byte it reads),
// and for accepted input the canonical form is a fixed point:
// canonical(parse(canonical(x))) == canonical(x).
//
// This holds for floats too: the parser rounds every double correctly, and
// the writer prints the shortest digits that read back to it (issue 12, item
// 8; before that, serde_json's float parsing let a float drift by an ulp).
//
// Parsing on two threads must give the one-thread result, value or error
// message, wherever the second thread starts (the first input byte picks
// where), and the parallel writer the serial writer's bytes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"

namespace {

// The canonical form, or "ERROR: <message>".
std::string outcome(const cutover::Result<cutover::json::Document>& doc) {
  return doc ? cutover::json::to_canonical_string(doc->root()) : "ERROR: " + doc.error().message();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = cutover::json::parse(text);
  size_t split_from = size == 0 ? 0 : data[0] * size / 256;
  if (outcome(cutover::json::parse_borrowed_split(text, split_from)) != outcome(doc)) {
    std::fprintf(stderr, "parsing on two threads from byte %zu disagrees with one thread\n", split_from);
    std::abort();
  }
  if (!doc) {
    if (doc.error().message().empty()) std::abort();  // a refusal must say why
    return 0;
  }
  std::string once = cutover::json::to_canonical_string(doc->root());
  auto again = cutover::json::parse(once);
  if (!again) {
    std::fprintf(stderr, "canonical output does not parse: %s\n", again.error().message().c_str());
    std::abort();
  }
  std::string twice = cutover::json::to_canonical_string(again->root());
  if (once != twice) {
    std::fprintf(stderr, "canonical form is not a fixed point:\n%s\n---\n%s\n", once.c_str(), twice.c_str());
    std::abort();
  }
  class StringSink final : public cutover::json::ChunkSink {
   public:
    bool write(std::string_view chunk) override {
      out.append(chunk);
      return true;
    }
    std::string out;
  } sink;
  cutover::json::write_canonical_parallel(doc->root(), sink, {1 + size % 5, 2 + size % 3, 2});
  if (sink.out != once) {
    std::fprintf(stderr, "the parallel writer disagrees with the serial one\n");
    std::abort();
  }
  // The borrowed parser must agree with the owning one.
  auto borrowed = cutover::json::parse_borrowed(text);
  if (!borrowed || cutover::json::to_canonical_string(borrowed->root()) != once) std::abort();
  return 0;
}
