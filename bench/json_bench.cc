// Parse and canonical-write throughput on a real store file (the parts of
// backfill that are pure CPU). The store comes from JSON_BENCH_STORE, e.g.
//   build/bench/gen_store /tmp/store.json 100
//   JSON_BENCH_STORE=/tmp/store.json build/bench/json_bench --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cutover/base/file_system.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"

namespace {

const std::string& store_text() {
  static const std::string text = [] {
    const char* path = std::getenv("JSON_BENCH_STORE");
    if (path == nullptr) return std::string();
    auto buffer = cutover::base::real_file_system().read_file(path);
    if (!buffer) {
      std::fprintf(stderr, "json_bench: %s\n", buffer.error().message().c_str());
      std::exit(2);
    }
    return std::string(buffer->data(), buffer->size());
  }();
  return text;
}

void parse_with(benchmark::State& state, size_t split_from) {
  const std::string& text = store_text();
  if (text.empty()) {
    state.SkipWithError("set JSON_BENCH_STORE to a store file");
    return;
  }
  for (auto _ : state) {
    auto doc = cutover::json::parse_borrowed_split(text, split_from == 0 ? text.size() / 2 : split_from);
    if (!doc) state.SkipWithError(doc.error().message().c_str());
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_ParseOneThread(benchmark::State& state) { parse_with(state, SIZE_MAX); }
void BM_ParseTwoThreads(benchmark::State& state) { parse_with(state, 0); }

class NullSink final : public cutover::json::ChunkSink {
 public:
  bool write(std::string_view chunk) override {
    bytes += chunk.size();
    return true;
  }
  size_t bytes = 0;
};

void write_with(benchmark::State& state, bool parallel) {
  const std::string& text = store_text();
  if (text.empty()) {
    state.SkipWithError("set JSON_BENCH_STORE to a store file");
    return;
  }
  auto doc = cutover::json::parse_borrowed(text);
  if (!doc) {
    state.SkipWithError(doc.error().message().c_str());
    return;
  }
  size_t out = 0;
  for (auto _ : state) {
    NullSink sink;
    if (parallel)
      cutover::json::write_canonical_parallel(doc->root(), sink);
    else
      cutover::json::write_canonical(doc->root(), sink);
    out = sink.bytes;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out));
}

void BM_WriteCanonical(benchmark::State& state) { write_with(state, false); }
void BM_WriteCanonicalParallel(benchmark::State& state) { write_with(state, true); }

BENCHMARK(BM_ParseOneThread)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ParseTwoThreads)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_WriteCanonical)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_WriteCanonicalParallel)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
