// Parses one JSON file once on one thread, for exact instruction counts of
// the parser under valgrind (docs/PERFORMANCE.md, "Correctly rounded
// numbers"), where wall-clock benchmarks drown in a loaded machine's noise:
//   valgrind --tool=callgrind build/bench/parse_once FILE
//   callgrind_annotate --inclusive=yes callgrind.out.* | grep parse_borrowed_split
#include <cstdint>
#include <cstdio>

#include "cutover/base/file_system.h"
#include "cutover/json/parser.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: parse_once FILE\n");
    return 2;
  }
  auto text = cutover::base::real_file_system().read_file(argv[1]);
  if (!text) {
    std::fprintf(stderr, "parse_once: %s\n", text.error().message().c_str());
    return 2;
  }
  auto doc = cutover::json::parse_borrowed_split(std::string_view(text->data(), text->size()), SIZE_MAX);
  if (!doc) {
    std::fprintf(stderr, "parse_once: %s\n", doc.error().message().c_str());
    return 1;
  }
  return 0;
}
