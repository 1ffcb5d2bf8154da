// Parsing on two threads (parser.cc, parse_split) gives exactly what the
// single-threaded parser gives: the same value and, for bad input, the same
// error message, wherever the second thread starts. Writing on several
// threads (write_canonical_parallel) gives exactly the serial writer's bytes,
// however the document is cut into pieces.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"
#include "sanitized_subset.h"
#include "test_util.h"

namespace cutover::json {
namespace {

using cutover::testing::in_sanitized_subset;
using cutover::testing::read_text;

// The canonical form, or "ERROR: <message>", of `text` parsed on one thread.
std::string serial(std::string_view text) {
  auto doc = parse_borrowed_split(text, SIZE_MAX);
  if (!doc) return "ERROR: " + doc.error().message();
  return to_canonical_string(doc->root());
}

// The same, with the second thread's start searched from `from`.
std::string split(std::string_view text, size_t from, bool* joined = nullptr) {
  auto doc = parse_borrowed_split(text, from, joined);
  if (!doc) return "ERROR: " + doc.error().message();
  return to_canonical_string(doc->root());
}

struct Splits {
  size_t tried = 0;   // split offsets checked
  size_t joined = 0;  // of those, the ones that used the second thread's work
};

// Checks every split offset of `text` (or `samples` of them, evenly spread;
// under the sanitizers an eighth of those: sanitized_subset.h).
Splits expect_every_split_agrees(const std::string& text, const std::string& name, size_t samples = 4000) {
  const std::string expected = serial(text);
  size_t step = std::max<size_t>(1, text.size() / samples);
  Splits splits;
  for (size_t from = 0, i = 0; from < text.size(); from += step, ++i) {
    if (!in_sanitized_subset(i)) continue;
    bool joined = false;
    std::string got = split(text, from, &joined);
    ++splits.tried;
    splits.joined += joined;
    if (got != expected) {
      ADD_FAILURE() << name << ": split from byte " << from << " gives\n"
                    << got.substr(0, 300) << "\ninstead of\n"
                    << expected.substr(0, 300);
      return splits;
    }
  }
  return splits;
}

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// The corpus cases (tests/data/canonical/*.json), sorted by name.
std::vector<std::filesystem::path> corpus_cases() {
  std::filesystem::path dir = std::filesystem::path(CUTOVER_SOURCE_DIR) / "tests/data/canonical";
  std::vector<std::filesystem::path> cases;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") cases.push_back(entry.path());
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

// Split points per corpus case: 400 evenly spread. Each split starts a thread,
// and under ASan a thread's start and end cost shadow-memory work and page
// faults: there an eighth of the cases are split (sanitized_subset.h), each at
// 25 points (an eighth of 200), and the second thread's work must be used in
// an eighth as many splits.
constexpr size_t k_corpus_splits = testing::k_sanitized_stride == 1 ? 400 : 200;

TEST(JsonSplit, EveryCorpusCaseAtEverySplitPoint) {
  const auto cases = corpus_cases();
  size_t joins = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    if (!in_sanitized_subset(i)) continue;
    joins +=
        expect_every_split_agrees(read_text(cases[i].string()), cases[i].filename().string(), k_corpus_splits).joined;
  }
  EXPECT_GT(cases.size(), 600u);
  EXPECT_GT(joins, 1000u / testing::k_sanitized_stride)
      << "the second thread's work was hardly ever used: the test would prove little";
}

TEST(JsonSplit, ArrayOfRowsJoinsAndAgrees) {
  std::string text = "{\"rows\":[" + repeat("{\"b\":2,\"a\":[1,2.5,\"x\"]},", 200) + "{\"last\":true}],\"z\":0}";
  Splits splits = expect_every_split_agrees(text, "rows");
  EXPECT_GT(splits.joined, splits.tried / 2);
  bool joined = false;
  EXPECT_EQ(split(text, text.size() / 2, &joined), serial(text));
  EXPECT_TRUE(joined);
}

TEST(JsonSplit, ObjectOfRowsWithDuplicateKeysOnBothSidesKeepsTheLast) {
  std::string text = "{\"dup\":1,";
  for (int i = 0; i < 300; ++i) text += "\"k" + std::to_string(i % 150) + "\":{\"v\":" + std::to_string(i) + "},";
  text += "\"dup\":2}";
  Splits splits = expect_every_split_agrees(text, "object rows");
  EXPECT_GT(splits.joined, splits.tried / 2);
  EXPECT_NE(serial(text).find("\"dup\": 2"), std::string::npos);
  EXPECT_NE(serial(text).find("\"v\": 299"), std::string::npos);
}

TEST(JsonSplit, StringsThatLookLikeRowBoundariesDoNotFoolIt) {
  std::string row = "{\"note\":\"a},{\\\"fake\\\":1}],[\\\"x\\\", \\\"y\\\"},\\\"k\\\":{\",\"n\":-0.0},";
  std::string text = "[" + repeat(row, 100) + "\"},{\\\"tail\\\":\\\"\"]";
  expect_every_split_agrees(text, "tricky strings");
  std::string pretty = "[\n  " + repeat("\"a,b\",\n  {\"k\" : \"],{\"} ,\n  ", 100) + "null\n]";
  expect_every_split_agrees(pretty, "pretty with spaces");
}

TEST(JsonSplit, ErrorsAfterTheSplitPointReportTheSerialLineAndColumn) {
  std::string rows = repeat("{\"a\":1},\n", 200);
  for (std::string bad : {"{\"a\":01}", "{\"a\":1,}", "{\"a\" 1}", "[1,]", "\"\\q\"", "{\"a\":tru}", "\"\xff\""}) {
    std::string text = "[" + rows + bad + "," + rows + "{}]";
    std::string expected = serial(text);
    ASSERT_EQ(expected.rfind("ERROR: invalid JSON at line 201", 0), 0u) << expected;
    expect_every_split_agrees(text, "error " + bad, 800);
  }
  // Children of the wrong kind for their container: the second thread would
  // guess the container's kind from them, so the first must check it.
  for (std::string bad : {"\"a\":1}", "\"a\":1}]", "{\"k\":[1,2}, 3]"}) {
    std::string text = "[" + rows + bad + rows + "{}]";
    ASSERT_EQ(serial(text).rfind("ERROR: invalid JSON at line 201", 0), 0u) << serial(text);
    expect_every_split_agrees(text, "wrong kind " + bad, 800);
  }
  std::string object_rows = repeat("\"k\":{\"a\":1},\n", 200);
  for (std::string bad : {"2]", "[1,2]}", "\"x\",\"y\"]"}) {
    std::string text = "{" + object_rows + bad + object_rows + "\"z\":{}}";
    ASSERT_EQ(serial(text).rfind("ERROR: invalid JSON at line 201", 0), 0u) << serial(text);
    expect_every_split_agrees(text, "wrong kind in object " + bad, 800);
  }
  std::string unclosed = "[" + rows + "{}";
  expect_every_split_agrees(unclosed, "unclosed", 800);
  std::string trailing = "[" + rows + "{}] x";
  expect_every_split_agrees(trailing, "trailing", 800);
}

TEST(JsonSplit, NestingLimitHoldsAcrossTheSplit) {
  // Rows 126 levels deep, each one level more (at the limit); in the second
  // document one row late in the text goes a level further (past it). The
  // second thread alone cannot see the depth, so the first must refuse a
  // fragment that goes too deep and find the error itself.
  std::string open = repeat("[", 126);
  std::string close = repeat("]", 126);
  std::string at_limit = open + repeat("[0],", 300) + "0" + close;
  EXPECT_EQ(serial(at_limit).find("ERROR"), std::string::npos);
  EXPECT_GT(expect_every_split_agrees(at_limit, "at the limit", 800).joined, 0u);
  std::string past = open + repeat("[0],", 200) + "[[0]]," + repeat("[0],", 100) + "0" + close;
  EXPECT_NE(serial(past).find("recursion limit exceeded"), std::string::npos) << serial(past).substr(0, 200);
  expect_every_split_agrees(past, "past the limit", 800);
}

TEST(JsonSplit, LargeDocumentsUseTwoThreadsByDefault) {
  // Over the 4 MiB threshold parse() splits on its own; the value must not change.
  std::string row = "{\"id\":123456,\"name\":\"caf\\u00e9 \\\"quoted\\\"\",\"tags\":[\"a\",\"b\"],\"score\":0.1},";
  std::string text = "{\"z\":[" + repeat(row, 70000) + "{}],\"a\":{";
  for (int i = 0; i < 20000; ++i) text += "\"r" + std::to_string(i) + "\":" + row;
  text += "\"end\":null}}";
  ASSERT_GT(text.size(), size_t{4} << 20);
  auto doc = parse_borrowed(text);
  ASSERT_TRUE(doc) << doc.error().message();
  EXPECT_EQ(to_canonical_string(doc->root()), serial(text));
  bool joined = false;
  (void)parse_borrowed_split(text, text.size() / 2, &joined);
  EXPECT_TRUE(joined);
}

class CollectingSink final : public ChunkSink {
 public:
  bool write(std::string_view chunk) override {
    ++writes;
    if (refuse_after >= 0 && writes > refuse_after) return false;
    out.append(chunk);
    return true;
  }
  std::string out;
  int writes = 0;
  int refuse_after = -1;
};

// Every way of cutting `text`'s document (20 of them) gives the serial
// writer's bytes. With `subset_from`, under the sanitizers only an eighth of
// the ways (sanitized_subset.h), numbered on from it, so that successive
// documents meet every way. Returns how many ways there are.
size_t expect_parallel_write_agrees(const std::string& text, const std::string& name,
                                    std::optional<size_t> subset_from = std::nullopt) {
  auto doc = parse_borrowed_split(text, SIZE_MAX);
  if (!doc) return 0;
  std::string expected = to_canonical_string(doc->root());
  size_t way = subset_from.value_or(0);
  for (size_t split_children : {1, 2, 3, 7, 2048}) {
    for (int threads : {2, 3}) {
      for (size_t window : {2, 16}) {
        if (subset_from && !in_sanitized_subset(way++)) continue;
        CollectingSink sink;
        EXPECT_TRUE(write_canonical_parallel(doc->root(), sink, {split_children, window, threads}));
        if (sink.out != expected) {
          ADD_FAILURE() << name << ": split_children " << split_children << ", threads " << threads << ", window "
                        << window << " gives\n"
                        << sink.out.substr(0, 300) << "\ninstead of\n"
                        << expected.substr(0, 300);
          return 0;
        }
      }
    }
  }
  return 20;
}

TEST(JsonParallelWrite, EveryCorpusCaseAnyCut) {
  const auto cases = corpus_cases();
  size_t cuts = 0;
  for (const auto& path : cases)
    cuts += expect_parallel_write_agrees(read_text(path.string()), path.filename().string(), cuts);
  EXPECT_GT(cases.size(), 600u);
}

TEST(JsonParallelWrite, StoreShapedDocumentsAgree) {
  std::string row =
      "{\"id\":7,\"name\":\"caf\\u00e9 \\\"q\\\"\",\"tags\":[\"a\",[],{}],\"score\":0.1,\"m\":{\"z\":null,\"a\":-1}},";
  std::string text = "{\"b\":[" + repeat(row, 50) + "{}],\"a\":{";
  for (int i = 0; i < 40; ++i) text += "\"r" + std::to_string(i) + "\":" + row;
  text += "\"end\":{\"deep\":[[[[1]]]]}},\"c\":[],\"d\":{},\"e\":\"x\",\"f\":[" + repeat("1,", 30) + "2]}";
  expect_parallel_write_agrees(text, "store shaped");
  expect_parallel_write_agrees("[" + repeat(row, 30) + "0]", "array root");
  expect_parallel_write_agrees("\"just a string\"", "scalar root");
  expect_parallel_write_agrees("{}", "empty root");
}

TEST(JsonParallelWrite, StopsWhenTheSinkRefuses) {
  std::string text = "[" + repeat("\"" + std::string(300000, 'x') + "\",", 20) + "0]";
  auto doc = parse_borrowed_split(text, SIZE_MAX);
  ASSERT_TRUE(doc);
  CollectingSink sink;
  sink.refuse_after = 2;
  EXPECT_FALSE(write_canonical_parallel(doc->root(), sink, {1, 4, 2}));
  EXPECT_EQ(sink.writes, 3);
}

}  // namespace
}  // namespace cutover::json
