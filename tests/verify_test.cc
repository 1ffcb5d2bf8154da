// Verify (SPEC §4): the count scanner against the parser, baselines, and
// verify_manifest on real files written by a real backfill.
#include "cutover/verify/verify.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cutover/backfill/backfill.h"
#include "cutover/hash/file_hash.h"
#include "cutover/hash/sha256.h"
#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"
#include "cutover/manifest/manifest.h"
#include "cutover/manifest/manifest_file.h"
#include "cutover/store/counts.h"
#include "cutover/store/fixtures.h"
#include "cutover/verify/baseline.h"
#include "cutover/verify/count_scanner.h"
#include "test_util.h"

namespace cutover::verify {
namespace {

using testing::read_text;
using testing::write_text;

class FixedClock final : public base::Clock {
 public:
  int64_t now_ns() override { return int64_t{1700000000} * 1000000000; }
};

// A spec that counts every kind, on keys chosen to meet the scanner's edge cases.
store::StoreSpec test_spec() {
  auto spec = store::parse_store_spec(R"({
    "schema": "cutover.store_spec.v1", "store": "probe", "operations": [],
    "counts": {
      "obj": {"kind": "object_len", "key": "o"},
      "arr": {"kind": "array_len", "key": "a"},
      "sum": {"kind": "sum_array_lengths", "key": "s"},
      "obj_of_s": {"kind": "object_len", "key": "s"},
      "arr_of_o": {"kind": "array_len", "key": "o"},
      "sum_of_a": {"kind": "sum_array_lengths", "key": "a"},
      "quoted": {"kind": "object_len", "key": "k\"ey"}
    }})",
                                      "test");
  EXPECT_TRUE(spec) << spec.error().message();
  return *spec;
}

// What the parser counts: the truth.
store::Counts parsed_counts(const std::string& text, const store::StoreSpec& spec) {
  auto doc = json::parse(text);
  EXPECT_TRUE(doc) << doc.error().message();
  return store::count_all(doc->root(), spec);
}

std::optional<store::Counts> scanned_counts(const std::string& text, const store::StoreSpec& spec, size_t piece) {
  CountScanner scanner(spec);
  for (size_t at = 0; at < text.size(); at += piece) scanner.feed(std::string_view(text).substr(at, piece));
  return scanner.finish();
}

// Feeds the text in pieces of several sizes (so blocks and keys split
// everywhere) and expects the parser's counts each time.
void expect_scan_matches_parse(const std::string& text, const store::StoreSpec& spec) {
  store::Counts truth = parsed_counts(text, spec);
  for (size_t piece : {size_t{1}, size_t{3}, size_t{63}, size_t{64}, size_t{65}, size_t{1000}, text.size() + 1}) {
    auto counts = scanned_counts(text, spec, piece);
    ASSERT_TRUE(counts) << "scanner gave up on (piece " << piece << "): " << text.substr(0, 300);
    EXPECT_EQ(*counts, truth) << "piece " << piece << ": " << text.substr(0, 300);
  }
}

std::string canonical(const std::string& text) {
  auto doc = json::parse(text);
  EXPECT_TRUE(doc) << doc.error().message();
  return json::to_canonical_string(doc->root());
}

// ---------------------------------------------------------------------------
// CountScanner

TEST(CountScanner, CountsTheMigratedReferenceFixturesLikeTheParser) {
  auto specs = store::SpecRegistry::with_builtins();
  for (const auto& [kind, bytes] : store::builtin_fixtures()) {
    SCOPED_TRACE(kind);
    expect_scan_matches_parse(canonical(std::string(bytes)), **specs.find(kind));
  }
}

TEST(CountScanner, HandlesEveryShapeOfCountedValue) {
  store::StoreSpec spec = test_spec();
  const char* cases[] = {
      R"({})",
      R"({"a": [], "o": {}, "s": {}})",
      R"({"a": [1], "o": {"x": 1}, "s": {"t": [1]}})",
      R"({"a": [1, "two", [3], {"four": 4}, null, true, 2.5e-3, -1], "o": {"x": 1, "y": [1, 2], "z": {"q": {}}}})",
      R"({"s": {"a": [], "b": [1, 2, 3], "c": {"not": ["an", "array"]}, "d": "str", "e": 7, "f": [[1, 2], [3]]}})",
      R"({"s": {"a": [{}], "b": [[]], "c": [""], "d": ["]"], "e": ["[", "{"], "f": [0]}})",
      R"({"a": "not an array", "o": ["not", "an", "object"], "s": 5})",
      R"({"a": null, "o": true, "s": false})",
      R"({"o": {"b": "\u00e9\ud83d\ude80", "plain": "and \\ in \\\" values \" ]}{["}})",
      R"({"a": ["\\", "\\\\", "\\\"", "\"", "x\\\\\"y"]})",
      R"({"before": {"o": {"x": 1}}, "o": {"x": [{"o": 1}]}, "zz": [1, 2, 3]})",
      R"({"a": [1,2,3],"o":{"b":1,"c":2},"s":{"x":[1,2],"y":[]}})",
      R"(  {"a" : [ 1 , 2 ] , "o" : { "b" : 1 } }  )",
      "{\"a\":[\t1,\r\n2\n]}",
      R"({"a": [ ], "o": { }, "s": {"x": [ ]}})",
      R"({"a": [[[[[[[[1]]]]]]]], "s": {"x": [[[[{"deep": [1, 2, 3]}]]]]}})",
      R"({"a": 2, "o": {"z": 1, "é": 2}, "é": 1})",
  };
  for (const char* text : cases) {
    SCOPED_TRACE(text);
    expect_scan_matches_parse(text, spec);
    expect_scan_matches_parse(canonical(text), spec);
  }
}

TEST(CountScanner, FollowsBackslashRunsAcrossBlockBoundaries) {
  store::StoreSpec spec = test_spec();
  // Runs of backslashes ending just before, on and after each 64-byte border,
  // each followed by a quote that is escaped or not.
  for (int pad = 0; pad < 70; ++pad) {
    for (int run = 1; run <= 4; ++run) {
      std::string value(static_cast<size_t>(run), '\\');
      if (run % 2 == 1) value += "\"";  // an odd run escapes the quote: keep the string going
      std::string text =
          "{\"a\": [\"" + std::string(static_cast<size_t>(pad), 'x') + value + "\", 1], \"o\": {\"k\": 2}}";
      SCOPED_TRACE(text);
      expect_scan_matches_parse(text, spec);
    }
  }
}

TEST(CountScanner, KeysSplitAcrossPiecesAreCompared) {
  store::StoreSpec spec = test_spec();
  std::string long_key(200, 'k');
  std::string text = "{\"o\": {\"" + long_key + "a\": 1, \"" + long_key + "b\": 2}, \"" + long_key + "\": 0}";
  // "kkk...": the top-level keys "o" and "kkk..." are out of order: not canonical.
  EXPECT_FALSE(scanned_counts(text, spec, 7));
  std::string sorted = "{\"" + long_key + "\": 0, \"o\": {\"" + long_key + "a\": 1, \"" + long_key + "b\": 2}}";
  expect_scan_matches_parse(sorted, spec);
}

// Where the scanner cannot be exact it must say so, never guess.
TEST(CountScanner, GivesUpOnWhatItCannotCountExactly) {
  store::StoreSpec spec = test_spec();
  const char* cases[] = {
      R"({"o": {"x": 1, "x": 2}})",      // duplicate key in a counted object
      R"({"o": {"y": 1, "x": 2}})",      // unsorted keys in a counted object
      R"({"o": {}, "o": {"x": 1}})",     // duplicate top-level key
      R"({"s": {}, "a": []})",           // unsorted top-level keys
      R"({"s": {"b": [1], "a": [2]}})",  // unsorted keys in a summed object
      R"({"k\"ey": {"x": 1}})",          // an escaped top-level key
      R"({"o": {"\u0078": 1}})",         // an escaped key in a counted object
      R"([1, 2])",                       // a root that is not an object
      R"("text")",
      R"(12)",
      R"()",
      R"(   )",
      R"({"a": [1, 2]} trailing)",
      R"({"a": [1, 2]} {})",
      R"(x{"a": [1]})",
      R"({"a": [1, 2})",  // mismatched bracket
      R"({"a": [1, 2]]})",
      R"({"a": [1, 2])",  // unterminated
      R"({"a": "unterminated)",
      R"({"o": {"x"}})",
      R"({"o": {"x": 1,}})",
  };
  for (const char* text : cases) {
    SCOPED_TRACE(text);
    for (size_t piece : {size_t{1}, size_t{64}, size_t{4096}}) EXPECT_FALSE(scanned_counts(text, spec, piece));
  }
}

// Bug found while writing these tests: giving up in the middle of a large
// piece copied the rest of the piece into the 64-byte tail buffer.
TEST(CountScanner, GivingUpInsideALargePieceStopsCleanly) {
  store::StoreSpec spec = test_spec();
  std::string text = "[" + std::string(100000, ' ') + "]";
  CountScanner scanner(spec);
  scanner.feed(text);
  scanner.feed(text);
  EXPECT_FALSE(scanner.finish());
}

// Random documents, canonical and compact: the scanner must agree with the parser.
class RandomJson {
 public:
  explicit RandomJson(uint32_t seed) : rng_(seed) {}

  std::string document() {
    std::vector<std::string> keys = {"a", "o", "s", "zz", "b", "k\"ey", "aa"};
    std::string out = "{";
    int n = pick(8);
    for (int i = 0; i < n; ++i) {
      if (i) out += ",";
      out += "\"" + escape(keys[static_cast<size_t>(pick(static_cast<int>(keys.size())))]) + "\":" + value(0);
    }
    return out + "}";
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  static std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    return out;
  }
  std::string string_value() {
    static const char* parts[] = {"x", "\\\\", "\\\"", "]", "[", "{", "}", ",", ":", "\\n", "\\u00e9", " ", "\\/", "é"};
    std::string s = "\"";
    int n = pick(12);
    for (int i = 0; i < n; ++i) s += parts[pick(14)];
    return s + "\"";
  }
  // Mostly plain keys (so the scan can count), sometimes one with escapes.
  std::string key() {
    static const char* keys[] = {"x", "y", "\\u00e9", "a b", "]", "{", ":", ",", "zz", "x\\\\y"};
    return "\"" + std::string(keys[pick(10)]) + "\"";
  }
  std::string value(int depth) {
    int kind = depth > 5 ? pick(4) : pick(7);
    switch (kind) {
      case 0:
        return std::to_string(pick(1000));
      case 1:
        return string_value();
      case 2:
        return pick(2) ? "true" : "null";
      case 3:
        return "-1.5e3";
      case 4:
      case 5: {
        std::string out = "[";
        int n = pick(5);
        for (int i = 0; i < n; ++i) out += (i ? "," : "") + value(depth + 1);
        return out + "]";
      }
      default: {
        std::string out = "{";
        int n = pick(5);
        for (int i = 0; i < n; ++i) {
          out += (i ? "," : "") + key() + ":" + value(depth + 1);
        }
        return out + "}";
      }
    }
  }
  std::mt19937 rng_;
};

TEST(CountScanner, AgreesWithTheParserOnRandomCanonicalDocuments) {
  store::StoreSpec spec = test_spec();
  int sure = 0;
  for (uint32_t seed = 0; seed < 400; ++seed) {
    RandomJson gen(seed);
    std::string raw = gen.document();
    auto doc = json::parse(raw);
    ASSERT_TRUE(doc) << raw << ": " << doc.error().message();
    std::string text = json::to_canonical_string(doc->root());
    SCOPED_TRACE(text);
    store::Counts truth = store::count_all(doc->root(), spec);
    for (size_t piece : {size_t{1}, size_t{64}, size_t{100000}}) {
      auto counts = scanned_counts(text, spec, piece);
      // Canonical text only makes the scanner give up for an escaped key it counts.
      if (!counts) {
        EXPECT_NE(text.find("\\"), std::string::npos);
        continue;
      }
      ++sure;
      EXPECT_EQ(*counts, truth);
    }
    // The raw (compact, unsorted, possibly duplicated) text: exact or nothing.
    auto raw_counts = scanned_counts(raw, spec, 64);
    if (raw_counts) {
      EXPECT_EQ(*raw_counts, truth) << raw;
    }
  }
  EXPECT_GT(sure, 300);  // most documents are counted by the scan
}

TEST(FileHash, HashesAndScansAFileInOnePass) {
  testing::TempDir tmp;
  std::string text = canonical(std::string(store::builtin_fixtures()[2].second));
  // Make it larger than several pieces so the pipeline turns over.
  std::string big = "{\"pad\": \"" + std::string(3 << 20, 'p') + "\", \"shouts\": [1, 2, 3]}";
  auto specs = store::SpecRegistry::with_builtins();
  for (const std::string& content : {text, big, std::string()}) {
    write_text(tmp.file("store.json"), content);
    CountScanner scanner(**specs.find("domain"));
    auto digest = hash::hash_file(base::real_file_system(), tmp.file("store.json"), &scanner);
    ASSERT_TRUE(digest) << digest.error().message();
    EXPECT_EQ(digest->sha256, hash::sha256_hex(content));
    EXPECT_EQ(digest->size, content.size());
    auto counts = scanner.finish();
    if (content.empty()) {
      EXPECT_FALSE(counts);
    } else {
      ASSERT_TRUE(counts);
      EXPECT_EQ(*counts, parsed_counts(content, **specs.find("domain")));
    }
    auto plain = hash::hash_file(base::real_file_system(), tmp.file("store.json"));
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->sha256, digest->sha256);
  }
  auto missing = hash::hash_file(base::real_file_system(), tmp.file("nope.json"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::not_found);
}

// ---------------------------------------------------------------------------
// Baselines

TEST(Baseline, ParsesEveryKindOfBound) {
  testing::TempDir tmp;
  std::string source = tmp.file("baseline.json");
  auto b = parse_baseline(R"({
    "schema": "cutover.baseline.v1",
    "environments": {
      "production": {
        "previous_manifest": "prev/manifests/x.json",
        "stores": {"auth": {"users": {"exact": 3}, "sessions": {"min": 1, "max": 9}},
                   "domain": {"shouts": {"max_change": 5, "max_change_percent": 12.5}}}},
      "staging": {"stores": {"auth": {"users": {"max": 100}}}}}})",
                          source);
  ASSERT_TRUE(b) << b.error().message();
  ASSERT_EQ(b->environments.size(), 2u);
  const EnvironmentBaseline& prod = b->environments.at("production");
  EXPECT_EQ(prod.previous_manifest, tmp.path() + "/prev/manifests/x.json");
  EXPECT_EQ(prod.stores.at("auth").at("users").exact, 3u);
  EXPECT_EQ(prod.stores.at("auth").at("sessions").min, 1u);
  EXPECT_EQ(prod.stores.at("auth").at("sessions").max, 9u);
  EXPECT_EQ(prod.stores.at("domain").at("shouts").max_change, 5u);
  EXPECT_EQ(prod.stores.at("domain").at("shouts").max_change_percent, 12.5);
  EXPECT_TRUE(prod.needs_previous());
  EXPECT_FALSE(b->environments.at("staging").needs_previous());

  auto chosen = select_environment(*b, "staging");
  ASSERT_TRUE(chosen);
  EXPECT_EQ((*chosen)->name, "staging");
  auto ambiguous = select_environment(*b, "");
  ASSERT_FALSE(ambiguous);
  EXPECT_NE(ambiguous.error().message().find("production, staging"), std::string::npos);
  EXPECT_FALSE(select_environment(*b, "qa"));
}

TEST(Baseline, RefusesBadFilesListingEveryProblem) {
  struct Case {
    const char* text;
    std::vector<const char*> expected;  // each must appear in the message
  };
  const Case cases[] = {
      {R"([])", {"must be an object"}},
      {R"({"schema": "x", "environments": {}})", {"schema is 'x'", "at least one environment"}},
      {R"({"schema": "cutover.baseline.v1", "environments": {"p": {"stores": {"auth": {"users": {"at_least": 1}}}}}})",
       {"unknown bound 'at_least'"}},
      {R"({"schema": "cutover.baseline.v1", "environments": {"p": {"stores": {"auth": {
          "users": {"exact": 1, "min": 0}, "sessions": {"min": 5, "max": 4}, "x": {"min": -1},
          "y": {"max_change_percent": -2}, "z": {}, "w": 3}}}}})",
       {"exact cannot be combined", "min 5 is above max 4", "x.min must be a non-negative integer",
        "max_change_percent must be a non-negative number", "z is empty", "w must be an object"}},
      {R"({"schema": "cutover.baseline.v1", "environments": {"p": {"stores": {}}}, "extra": 1})",
       {"unknown field 'extra'"}},
      {R"({"schema": "cutover.baseline.v1", "environments": {"p": {}}})", {"stores must be an object"}},
      {R"({"schema": "cutover.baseline.v1", "environments": {"p": {"stores": {}, "previous_manifest": 3}}})",
       {"previous_manifest must be a non-empty string"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto b = parse_baseline(c.text, "b.json");
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code(), ErrorCode::invalid_argument);
    for (const char* part : c.expected)
      EXPECT_NE(b.error().message().find(part), std::string::npos) << b.error().message();
  }
}

TEST(Baseline, ChecksBounds) {
  struct Case {
    Bound bound;
    uint64_t value;
    std::optional<uint64_t> previous;
    std::vector<std::string> broken;  // the bounds reported, in order
  };
  auto exact = [](uint64_t v) {
    Bound b;
    b.exact = v;
    return b;
  };
  auto range = [](std::optional<uint64_t> lo, std::optional<uint64_t> hi) {
    Bound b;
    b.min = lo;
    b.max = hi;
    return b;
  };
  auto change = [](std::optional<uint64_t> abs, std::optional<double> pct) {
    Bound b;
    b.max_change = abs;
    b.max_change_percent = pct;
    return b;
  };
  const Case cases[] = {
      {exact(5), 5, std::nullopt, {}},
      {exact(5), 4, std::nullopt, {"exact 5"}},
      {exact(0), 1, std::nullopt, {"exact 0"}},
      {range(3, std::nullopt), 3, std::nullopt, {}},
      {range(3, std::nullopt), 2, std::nullopt, {"min 3"}},
      {range(std::nullopt, 3), 3, std::nullopt, {}},
      {range(std::nullopt, 3), 4, std::nullopt, {"max 3"}},
      {range(2, 4), 0, std::nullopt, {"min 2"}},
      {range(2, 4), 5, std::nullopt, {"max 4"}},
      {change(2, std::nullopt), 12, 10, {}},
      {change(2, std::nullopt), 8, 10, {}},
      {change(2, std::nullopt), 13, 10, {"max_change 2"}},
      {change(2, std::nullopt), 7, 10, {"max_change 2"}},
      {change(std::nullopt, 10), 110, 100, {}},
      {change(std::nullopt, 10), 111, 100, {"max_change_percent 10"}},
      {change(std::nullopt, 10), 89, 100, {"max_change_percent 10"}},
      {change(std::nullopt, 12.5), 9, 8, {}},
      {change(std::nullopt, 50), 0, 0, {}},
      {change(std::nullopt, 50), 1, 0, {"max_change_percent 50"}},  // any change from 0 is unbounded
      {change(1, 50), 13, 10, {"max_change 1"}},
      {change(1, 20), 13, 10, {"max_change 1", "max_change_percent 20"}},
      {change(0, std::nullopt), UINT64_MAX, 0, {"max_change 0"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(describe(c.bound) + " value " + std::to_string(c.value));
    std::vector<std::string> broken;
    for (const auto& v : check_bound(c.bound, c.value, c.previous)) {
      broken.push_back(v.bound);
      EXPECT_NE(v.message.find(std::to_string(c.value)), std::string::npos) << v.message;
    }
    EXPECT_EQ(broken, c.broken);
  }
}

// ---------------------------------------------------------------------------
// verify_manifest on a real backfill of the reference fixtures.

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stores_ = tmp_.file("stores");
    work_ = tmp_.file("work");
    ASSERT_EQ(::mkdir(stores_.c_str(), 0755), 0);
    backfill::BackfillOptions options;
    for (const auto& [kind, bytes] : store::builtin_fixtures()) {
      write_text(store(kind), std::string(bytes));
      options.stores.push_back({kind, store(kind)});
    }
    options.work_dir = work_;
    auto result = backfill::run_backfill(options, specs_, base::real_file_system(), clock_);
    ASSERT_TRUE(result) << result.error().message();
    manifest_ = result->manifest_path;
    record_ = result->manifest;
  }

  std::string store(const std::string& kind) const { return stores_ + "/" + kind + ".json"; }
  const manifest::StoreRecord& record(const std::string& kind) const {
    for (const auto& s : record_.stores) {
      if (s.store == kind) return s;
    }
    throw std::runtime_error("no store " + kind);
  }

  Result<VerifyReport> verify(VerifyOptions options = {}) {
    if (options.manifest_path.empty()) options.manifest_path = manifest_;
    return verify_manifest(options, specs_, base::real_file_system(), clock_);
  }
  // Every finding as "store:code".
  static std::vector<std::string> codes(const VerifyReport& r) {
    std::vector<std::string> out;
    for (const auto& f : r.findings)
      out.push_back((f.store.empty() ? "-" : f.store) + ":" + std::string(finding_code_name(f.code)));
    for (const auto& s : r.stores) {
      for (const auto& f : s.findings) out.push_back(s.store + ":" + std::string(finding_code_name(f.code)));
    }
    return out;
  }
  void rewrite_manifest(const std::function<void(manifest::Manifest&)>& change) {
    manifest::Manifest m = record_;
    change(m);
    write_text(manifest_, manifest::to_json(m));
  }
  std::string write_baseline(const std::string& stores_json, const std::string& extra = "") {
    std::string path = tmp_.file("baseline.json");
    write_text(path, R"({"schema": "cutover.baseline.v1", "environments": {"production": {)" + extra + R"("stores": )" +
                         stores_json + "}}}");
    return path;
  }

  testing::TempDir tmp_;
  std::string stores_;
  std::string work_;
  std::string manifest_;
  manifest::Manifest record_;
  store::SpecRegistry specs_ = store::SpecRegistry::with_builtins();
  FixedClock clock_;
};

TEST_F(VerifyTest, AFreshBackfillVerifies) {
  auto r = verify();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok()) << ::testing::PrintToString(codes(*r));
  ASSERT_EQ(r->stores.size(), 3u);
  for (const auto& s : r->stores) {
    EXPECT_EQ(s.actual_sha256, s.expected_sha256);
    EXPECT_EQ(s.backup, BackupStatus::ok);
    EXPECT_EQ(s.recounted, s.counts);
    EXPECT_EQ(s.recount_method, "scan");
  }
  EXPECT_EQ(r->manifest_sha256, hash::sha256_hex(read_text(manifest_)));
  EXPECT_EQ(r->manifest_status, "complete");
  auto lines = human_lines(*r);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "ok: [auth] " + store("auth"));
  EXPECT_EQ(lines[3].rfind("verify: ok: 3 stores", 0), 0u) << lines[3];

  // The JSON report parses, is canonical, and says ok.
  std::string text = to_json(*r);
  auto doc = json::parse(text);
  ASSERT_TRUE(doc);
  EXPECT_EQ(json::to_canonical_string(doc->root()), text);
  EXPECT_EQ(doc->root().find("schema")->as_string(), "cutover.verify_report.v1");
  EXPECT_TRUE(doc->root().find("ok")->as_bool());
  EXPECT_EQ(doc->root().find("finding_count")->as_u64(), 0u);
}

TEST_F(VerifyTest, ReportsEveryFindingNotJustTheFirst) {
  // auth: tampered (a user added: sha and count drift); codex_threads: backup
  // deleted; domain: backup corrupted.
  write_text(store("auth"), canonical(R"({"users_by_id": {"u1": {}, "u2": {}}, "sessions": {"s": 1},
                                          "personal_access_tokens": {"t": 1}})"));
  ASSERT_EQ(::unlink(record("codex_threads").backup_path->c_str()), 0);
  write_text(*record("domain").backup_path, "{}");
  auto r = verify();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(codes(*r), (std::vector<std::string>{"auth:sha_mismatch", "auth:count_drift",
                                                 "codex_threads:backup_missing", "domain:backup_corrupt"}));
  const StoreReport& auth = r->stores[0];
  EXPECT_EQ(auth.recount_method, "parse");  // the scan is only trusted on the bytes the backfill wrote
  EXPECT_EQ(auth.findings[0].expected_sha256, record("auth").after_sha256);
  EXPECT_EQ(auth.findings[0].actual_sha256, hash::sha256_hex(read_text(store("auth"))));
  EXPECT_EQ(auth.findings[1].key, "users");
  EXPECT_EQ(auth.findings[1].expected, 1u);
  EXPECT_EQ(auth.findings[1].actual, 2u);
  EXPECT_EQ(r->stores[1].backup, BackupStatus::missing);
  EXPECT_EQ(r->stores[2].backup, BackupStatus::corrupt);
  EXPECT_EQ(r->stores[2].findings[0].actual_sha256, hash::sha256_hex("{}"));

  auto lines = human_lines(*r);
  EXPECT_EQ(lines[0].rfind("error: [auth] sha mismatch: " + store("auth") + ": expected " +
                               record("auth").after_sha256 + ", actual ",
                           0),
            0u)
      << lines[0];
  EXPECT_EQ(lines.back().rfind("verify: FAILED: 4 findings in 3 of 3 stores", 0), 0u) << lines.back();
}

TEST_F(VerifyTest, MissingStoreAndRolledBackStoreAreFindings) {
  ASSERT_EQ(::unlink(store("auth").c_str()), 0);
  write_text(store("domain"), read_text(*record("domain").backup_path));
  auto r = verify();
  ASSERT_TRUE(r);
  EXPECT_EQ(codes(*r), (std::vector<std::string>{"auth:missing_file", "domain:sha_mismatch"}));
  EXPECT_NE(r->stores[2].findings[0].message.find("looks rolled back"), std::string::npos);
}

TEST_F(VerifyTest, ManifestCountsAreCheckedAgainstTheSpecAndTheRecount) {
  rewrite_manifest([](manifest::Manifest& m) {
    m.stores[0].counts.erase("sessions");  // auth lacks a count its spec defines
    m.stores[0].counts["invented"] = 4;    // and has one it does not
    m.stores[2].counts["shouts"] = 7;      // domain: the recount says 1
  });
  auto r = verify();
  ASSERT_TRUE(r);
  EXPECT_EQ(codes(*r), (std::vector<std::string>{"auth:missing_count", "auth:unexpected_count", "domain:count_drift"}));
  EXPECT_EQ(r->stores[2].findings[0].expected, 7u);
  EXPECT_EQ(r->stores[2].findings[0].actual, 1u);
}

TEST_F(VerifyTest, AnInProgressManifestIsNotAPass) {
  rewrite_manifest([](manifest::Manifest& m) { m.status = "in_progress"; });
  auto r = verify();
  ASSERT_TRUE(r);
  EXPECT_EQ(codes(*r), (std::vector<std::string>{"-:manifest_incomplete"}));
}

TEST_F(VerifyTest, UnknownKindsAndUnsafePathsAreFindings) {
  rewrite_manifest([&](manifest::Manifest& m) {
    m.stores[0].store = "payments";
    m.stores[0].spec_source = tmp_.file("no-such-spec.json");
    m.stores[1].backup_path = work_ + "/backups/../../elsewhere.json";
    m.stores[2].backup_path = tmp_.file("outside.json");
  });
  auto r = verify();
  ASSERT_TRUE(r);
  EXPECT_EQ(codes(*r), (std::vector<std::string>{"payments:unknown_store_kind", "codex_threads:unsafe_path",
                                                 "domain:unsafe_path"}));
  EXPECT_NE(r->stores[0].findings[0].message.find("--spec"), std::string::npos);
  EXPECT_EQ(r->stores[1].backup, BackupStatus::unsafe);
}

TEST_F(VerifyTest, AStorePathTwiceIsAFinding) {
  rewrite_manifest([](manifest::Manifest& m) { m.stores.push_back(m.stores[0]); });
  auto r = verify();
  ASSERT_TRUE(r);
  EXPECT_EQ(codes(*r), (std::vector<std::string>{"auth:unsafe_path"}));
  EXPECT_NE(r->stores[3].findings[0].message.find("appears twice"), std::string::npos);
}

TEST_F(VerifyTest, AUserKindIsFoundThroughTheManifestsSpecSource) {
  std::string spec_path = tmp_.file("payments.json");
  write_text(spec_path, R"({"schema": "cutover.store_spec.v1", "store": "payments", "operations": [],
                            "counts": {"users": {"kind": "object_len", "key": "users_by_id"},
                                       "payment_sessions": {"kind": "object_len", "key": "sessions"},
                                       "personal_access_tokens": {"kind": "object_len", "key": "personal_access_tokens"}}})");
  // The user spec names a count no built-in spec has ("payment_sessions"):
  // a recount under that name can only have come from it.
  uint64_t sessions = 0;
  rewrite_manifest([&](manifest::Manifest& m) {
    m.stores[0].store = "payments";
    m.stores[0].spec_source = spec_path;
    sessions = m.stores[0].counts.at("sessions");
    m.stores[0].counts.erase("sessions");
    m.stores[0].counts["payment_sessions"] = sessions;
  });
  auto r = verify();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok()) << ::testing::PrintToString(codes(*r));
  const auto& store = r->stores[0];
  EXPECT_NE(store.recount_method, "none");
  EXPECT_EQ(store.recounted, store.counts);
  ASSERT_EQ(store.recounted.count("payment_sessions"), 1u) << ::testing::PrintToString(store.recounted);
  EXPECT_EQ(store.recounted.at("payment_sessions"), sessions);
  EXPECT_EQ(store.recounted.count("sessions"), 0u);
}

TEST_F(VerifyTest, MalformedManifestsAreErrorsNotReports) {
  const char* cases[] = {
      "not json",
      "[]",
      R"({"schema": "openagents.rust_store_migration.v1", "generated_at": "x", "stores": []})",
      R"({"schema": "something.else", "generated_at": "x", "stores": [{}]})",
      R"({"schema": "openagents.rust_store_migration.v1", "generated_at": "x", "work_dir": "relative",
          "stores": [{"store": "auth", "path": "/a", "existed": false, "backup_path": null, "before_sha256": null,
                      "after_sha256": "0000000000000000000000000000000000000000000000000000000000000000",
                      "changed": true, "counts": {}}]})",
  };
  for (const char* text : cases) {
    SCOPED_TRACE(text);
    write_text(manifest_, text);
    auto r = verify();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::invalid_argument) << r.error().message();
  }
  auto missing = verify({tmp_.file("nope.json"), "", "", ""});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::not_found);
}

TEST_F(VerifyTest, BaselineBoundsPassAndFail) {
  auto r = verify({"", write_baseline(R"({"auth": {"users": {"exact": 1}, "sessions": {"min": 1, "max": 1}},
                                          "domain": {"shouts": {"max": 5}, "autopilots": {"exact": 0}}})"),
                   "", ""});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok()) << ::testing::PrintToString(codes(*r));
  ASSERT_TRUE(r->baseline);
  EXPECT_EQ(r->baseline->environment, "production");
  EXPECT_NE(human_lines(*r).back().find("baseline production"), std::string::npos);

  r = verify({"", write_baseline(R"({"auth": {"users": {"exact": 2}, "sessions": {"min": 5}},
                                     "domain": {"shouts": {"max": 0}, "nonexistent": {"min": 0}},
                                     "payments": {"x": {"min": 0}}})"),
              "", ""});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(codes(*r),
            (std::vector<std::string>{"payments:baseline_missing", "auth:baseline_violation", "auth:baseline_violation",
                                      "domain:baseline_missing", "domain:baseline_violation"}));
  const Finding& users = r->stores[0].findings[1];  // keys in byte order: sessions, users
  EXPECT_EQ(users.key, "users");
  EXPECT_EQ(users.actual, 1u);
  EXPECT_EQ(users.bound, "exact 2");
  EXPECT_NE(users.message.find("baseline production: users = 1"), std::string::npos) << users.message;
}

TEST_F(VerifyTest, ChangeBoundsCompareWithThePreviousManifest) {
  // The previous manifest: the same run, but with other counts.
  std::string previous = tmp_.file("previous.json");
  manifest::Manifest prev = record_;
  prev.stores[0].counts["users"] = 10;  // now 1: a drop of 9 (90%)
  prev.stores[2].counts["shouts"] = 1;  // now 1: no change
  write_text(previous, manifest::to_json(prev));

  std::string stores = R"({"auth": {"users": {"max_change": 9}}, "domain": {"shouts": {"max_change_percent": 0}}})";
  auto r = verify({"", write_baseline(stores), "", previous});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok()) << ::testing::PrintToString(codes(*r));
  EXPECT_EQ(r->baseline->previous_manifest, previous);

  // The same through the baseline's own previous_manifest, with a tighter bound.
  stores = R"({"auth": {"users": {"max_change": 8, "max_change_percent": 95}}})";
  r = verify({"", write_baseline(stores, R"("previous_manifest": "previous.json", )"), "", ""});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(codes(*r), (std::vector<std::string>{"auth:baseline_violation"}));
  EXPECT_EQ(r->stores[0].findings[0].previous, 10u);
  EXPECT_EQ(r->stores[0].findings[0].bound, "max_change 8");

  // A change bound with no previous manifest at all is a usage error.
  auto no_previous = verify({"", write_baseline(stores), "", ""});
  ASSERT_FALSE(no_previous);
  EXPECT_EQ(no_previous.error().code(), ErrorCode::invalid_argument);
  EXPECT_NE(no_previous.error().message().find("--previous"), std::string::npos);

  // A previous manifest without the store is a finding.
  manifest::Manifest other = record_;
  other.stores.erase(other.stores.begin());
  write_text(previous, manifest::to_json(other));
  r = verify({"", write_baseline(stores), "", previous});
  ASSERT_TRUE(r);
  EXPECT_EQ(codes(*r), (std::vector<std::string>{"auth:previous_missing"}));
}

TEST(ManifestFile, WorkDirAndRunIdComeFromTheFileWhenTheManifestLacksThem) {
  testing::TempDir tmp;
  std::string dir = tmp.file("w/manifests");
  std::filesystem::create_directories(dir);
  std::string path = dir + "/20240101T000000Z.json.in-progress";
  write_text(path, R"({"schema": "openagents.rust_store_migration.v1", "generated_at": "x",
    "stores": [{"store": "auth", "path": "/a/auth.json", "existed": false, "backup_path": null, "before_sha256": null,
                "after_sha256": "0000000000000000000000000000000000000000000000000000000000000000",
                "changed": true, "counts": {}}]})");
  auto mf = manifest::load_manifest_file(base::real_file_system(), path);
  ASSERT_TRUE(mf) << mf.error().message();
  EXPECT_EQ(mf->work_dir, tmp.file("w"));
  EXPECT_EQ(mf->run_id, "20240101T000000Z");
  EXPECT_EQ(manifest::run_backup_dir(*mf), tmp.file("w/backups/20240101T000000Z"));
}

TEST(ManifestFile, PlainAbsolutePaths) {
  EXPECT_TRUE(manifest::is_plain_absolute_path("/a/b.json"));
  EXPECT_TRUE(manifest::is_plain_absolute_path("/"));
  EXPECT_FALSE(manifest::is_plain_absolute_path("a/b.json"));
  EXPECT_FALSE(manifest::is_plain_absolute_path("/a/../b.json"));
  EXPECT_FALSE(manifest::is_plain_absolute_path("/a/./b.json"));
  EXPECT_FALSE(manifest::is_plain_absolute_path("/a//b.json"));
  EXPECT_FALSE(manifest::is_plain_absolute_path("/a/b/"));
  EXPECT_FALSE(manifest::is_plain_absolute_path("/.."));
  EXPECT_FALSE(manifest::is_plain_absolute_path(""));
}

}  // namespace
}  // namespace cutover::verify
