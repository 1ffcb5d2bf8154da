// The JSON module: parse() accepts and refuses what serde_json does and builds
// the same values; the canonical writer prints serde_json::to_vec_pretty's
// bytes with sorted keys (SPEC §2); the Document builders keep objects sorted.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cutover/json/canonical_writer.h"
#include "cutover/json/document.h"
#include "cutover/json/parser.h"

namespace cutover::json {
namespace {

// The canonical form of `text`, or "ERROR: <message>".
std::string canon(std::string_view text) {
  auto doc = parse(text);
  if (!doc) return "ERROR: " + doc.error().message();
  return to_canonical_string(doc->root());
}

// The parse error message for `text`, or "(parsed)".
std::string error_of(std::string_view text) {
  auto doc = parse(text);
  if (doc) return "(parsed)";
  EXPECT_EQ(doc.error().code(), ErrorCode::invalid_argument) << doc.error().message();
  return doc.error().message();
}

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::vector<std::string> keys_of(const Node& object) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < object.size(); ++i) keys.emplace_back(object.members()[i].key.as_string());
  return keys;
}

// ---------------------------------------------------------------------------
// Parse errors name line and column (1-based, columns in bytes).

struct ErrorCase {
  const char* name;
  std::string text;
  std::string message;
};
// Names the case in test names and failure messages.
void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class ParseErrorPosition : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseErrorPosition, NamesLineAndColumn) { EXPECT_EQ(error_of(GetParam().text), GetParam().message); }

INSTANTIATE_TEST_SUITE_P(
    Table, ParseErrorPosition,
    ::testing::Values(
        ErrorCase{"empty", "", "invalid JSON at line 1, column 1: EOF while parsing a value"},
        ErrorCase{"bad_value_line3", "[1,\n2,\n x]", "invalid JSON at line 3, column 2: expected value"},
        ErrorCase{"crlf_lines", "\r\n\r\n  @", "invalid JSON at line 3, column 3: expected value"},
        ErrorCase{"columns_in_bytes", "[\"\xc3\xa9\", x]", "invalid JSON at line 1, column 8: expected value"},
        ErrorCase{"eof_in_list", "[1, 2", "invalid JSON at line 1, column 6: EOF while parsing a list"},
        ErrorCase{"eof_in_object", "{\"a\": 1", "invalid JSON at line 1, column 8: EOF while parsing an object"},
        ErrorCase{"trailing_comma_array", "[1,]", "invalid JSON at line 1, column 4: trailing comma"},
        ErrorCase{"trailing_comma_object", "{\"a\":1,}", "invalid JSON at line 1, column 8: trailing comma"},
        ErrorCase{"missing_colon", "{\"a\" 1}", "invalid JSON at line 1, column 6: expected `:`"},
        ErrorCase{"number_key", "{1:2}", "invalid JSON at line 1, column 2: key must be a string"},
        ErrorCase{"missing_comma_array", "[1 2]", "invalid JSON at line 1, column 4: expected `,` or `]`"},
        ErrorCase{"missing_comma_object", "{\"a\":1 \"b\":2}", "invalid JSON at line 1, column 8: expected `,` or `}`"},
        ErrorCase{"literal_eof", "tru", "invalid JSON at line 1, column 4: EOF while parsing a value"},
        ErrorCase{"literal_typo", "trux", "invalid JSON at line 1, column 4: expected ident"},
        ErrorCase{"two_values", "1 2", "invalid JSON at line 1, column 3: trailing characters"},
        ErrorCase{"leading_zero", "01", "invalid JSON at line 1, column 2: invalid number"},
        ErrorCase{"dot_eof", "1.", "invalid JSON at line 1, column 3: EOF while parsing a value"},
        ErrorCase{"dot_no_digits", "1.e5", "invalid JSON at line 1, column 3: invalid number"},
        ErrorCase{"unterminated_string", "\"abc", "invalid JSON at line 1, column 5: EOF while parsing a string"},
        ErrorCase{"bad_escape", "\"a\\x\"", "invalid JSON at line 1, column 4: invalid escape"},
        ErrorCase{"number_too_big", "1e400", "invalid JSON at line 1, column 6: number out of range"}));

// ---------------------------------------------------------------------------
// Objects: duplicate keys keep the last value; keys sorted by UTF-8 bytes.

TEST(JsonParse, DuplicateKeysKeepTheLastValue) {
  auto doc = parse(R"({"a": 1, "b": 2, "a": 3, "c": {"x": 1}, "c": [true]})");
  ASSERT_TRUE(doc) << doc.error().message();
  const Node& root = doc->root();
  ASSERT_EQ(root.size(), 3u);
  EXPECT_EQ(keys_of(root), (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_NE(root.find("a"), nullptr);
  EXPECT_EQ(root.find("a")->as_u64(), 3u);
  EXPECT_TRUE(root.find("c")->is_array());
  EXPECT_EQ(to_canonical_string(root), "{\n  \"a\": 3,\n  \"b\": 2,\n  \"c\": [\n    true\n  ]\n}");
}

TEST(JsonParse, DuplicateKeysInLargeObjectKeepTheLastValue) {
  std::string text = "{";
  for (int i = 0; i < 1000; ++i) text += "\"k" + std::to_string(i % 10) + "\": " + std::to_string(i) + ",";
  text += "\"end\": 0}";
  auto doc = parse(text);
  ASSERT_TRUE(doc) << doc.error().message();
  ASSERT_EQ(doc->root().size(), 11u);
  for (int k = 0; k < 10; ++k) {
    const Node* v = doc->root().find("k" + std::to_string(k));
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->as_u64(), static_cast<uint64_t>(990 + k));
  }
}

TEST(JsonParse, KeysAreSortedByUtf8Bytes) {
  // U+FFFF (EF BF BF) sorts before U+1F600 (F0 9F 98 80) by UTF-8 bytes, but
  // after it by UTF-16 code units (D83D): the order must be the bytes'.
  const std::string e_acute = "\xc3\xa9";
  const std::string u_ffff = "\xef\xbf\xbf";
  const std::string grin = "\xf0\x9f\x98\x80";
  std::string text = "{\"" + e_acute + "\": 1, \"z\": 2, \"Z\": 3, \"a\": 4, \"\\uffff\": 5, \"" + grin +
                     "\": 6, \"\": 7, \"aa\": 8, \"a\\u0000\": 9}";
  auto doc = parse(text);
  ASSERT_TRUE(doc) << doc.error().message();
  EXPECT_EQ(keys_of(doc->root()),
            (std::vector<std::string>{"", "Z", "a", std::string("a\0", 2), "aa", "z", e_acute, u_ffff, grin}));
  // find() agrees with the order.
  ASSERT_NE(doc->root().find(grin), nullptr);
  EXPECT_EQ(doc->root().find(grin)->as_u64(), 6u);
  EXPECT_EQ(doc->root().find(u_ffff)->as_u64(), 5u);
  EXPECT_EQ(doc->root().find("missing"), nullptr);
}

// ---------------------------------------------------------------------------
// Strings: escapes decoded; surrogates, invalid UTF-8 and raw controls refused.

struct StringCase {
  const char* name;
  std::string json;     // a JSON string literal
  std::string decoded;  // its value's bytes
};
// Names the case in test names and failure messages.
void PrintTo(const StringCase& c, std::ostream* os) { *os << c.name; }

class StringDecoding : public ::testing::TestWithParam<StringCase> {};

TEST_P(StringDecoding, DecodesTo) {
  auto doc = parse(GetParam().json);
  ASSERT_TRUE(doc) << doc.error().message();
  ASSERT_TRUE(doc->root().is_string());
  EXPECT_EQ(doc->root().as_string(), GetParam().decoded);
}

INSTANTIATE_TEST_SUITE_P(
    Table, StringDecoding,
    ::testing::Values(
        StringCase{"plain", R"("hello")", "hello"}, StringCase{"empty", R"("")", ""},
        StringCase{"u0041", R"("\u0041")", "A"}, StringCase{"u_in_text", R"("x\u0041y")", "xAy"},
        StringCase{"solidus", R"("a\/b")", "a/b"}, StringCase{"short_escapes", R"("\"\\\b\f\n\r\t")", "\"\\\b\f\n\r\t"},
        StringCase{"u_nul", R"("\u0000")", std::string("\0", 1)}, StringCase{"two_byte", R"("\u00e9")", "\xc3\xa9"},
        StringCase{"three_byte_upper_hex", R"("\u20AC")", "\xe2\x82\xac"},
        StringCase{"surrogate_pair", R"("\ud83d\ude00")", "\xf0\x9f\x98\x80"},
        StringCase{"surrogate_pair_upper", R"("\uD834\uDD1E")", "\xf0\x9d\x84\x9e"},
        StringCase{"surrogate_pair_max", R"("\udbff\udfff")", "\xf4\x8f\xbf\xbf"},
        StringCase{"surrogate_pair_min", R"("\ud800\udc00")", "\xf0\x90\x80\x80"},
        StringCase{"raw_utf8_kept", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
        StringCase{"raw_utf8_after_escape", "\"\\n\xc3\xa9\"", "\n\xc3\xa9"},
        StringCase{"raw_del_allowed", "\"\x7f\"", "\x7f"},
        StringCase{"long_plain", "\"" + repeat("abcdefghijklmnop", 10) + "\"", repeat("abcdefghijklmnop", 10)}));

struct RefusedCase {
  const char* name;
  std::string text;
  std::string reason;  // a substring of the message
};
// Names the case in test names and failure messages.
void PrintTo(const RefusedCase& c, std::ostream* os) { *os << c.name; }

class RefusedInput : public ::testing::TestWithParam<RefusedCase> {};

TEST_P(RefusedInput, IsRefused) {
  std::string message = error_of(GetParam().text);
  EXPECT_EQ(message.rfind("invalid JSON at line ", 0), 0u) << message;
  EXPECT_NE(message.find(GetParam().reason), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    LoneSurrogates, RefusedInput,
    ::testing::Values(RefusedCase{"lone_high", R"("\ud800")", "hex escape"},
                      RefusedCase{"lone_low", R"("\udc00")", "lone leading surrogate"},
                      RefusedCase{"lone_low_upper", R"("\uDFFF")", "lone leading surrogate"},
                      RefusedCase{"high_then_char", R"("\ud800x")", "unexpected end of hex escape"},
                      RefusedCase{"high_then_u0041", R"("\ud800\u0041")", "lone leading surrogate"},
                      RefusedCase{"two_high", R"("\ud800\ud800")", "lone leading surrogate"},
                      RefusedCase{"reversed_pair", R"("\ude00\ud83d")", "lone leading surrogate"},
                      RefusedCase{"high_then_eof", R"("\ud800)", "EOF while parsing a string"},
                      RefusedCase{"in_key", R"({"\udc00": 1})", "lone leading surrogate"}));

INSTANTIATE_TEST_SUITE_P(
    InvalidUtf8, RefusedInput,
    ::testing::Values(RefusedCase{"ff", "\"\xff\"", "invalid unicode code point"},
                      RefusedCase{"f5", "\"\xf5\x80\x80\x80\"", "invalid unicode code point"},
                      RefusedCase{"lone_continuation", "\"a\x80\"", "invalid unicode code point"},
                      RefusedCase{"latin1", "\"caf\xe9\"", "invalid unicode code point"},
                      RefusedCase{"truncated_2", "\"\xc3\"", "invalid unicode code point"},
                      RefusedCase{"truncated_3", "\"\xe2\x82\"", "invalid unicode code point"},
                      RefusedCase{"truncated_4_eof", "\"\xf0\x9f\x98", "invalid unicode code point"},
                      RefusedCase{"overlong_slash", "\"\xc0\xaf\"", "invalid unicode code point"},
                      RefusedCase{"overlong_nul_3", "\"\xe0\x80\x80\"", "invalid unicode code point"},
                      RefusedCase{"encoded_surrogate", "\"\xed\xa0\x80\"", "invalid unicode code point"},
                      RefusedCase{"above_10ffff", "\"\xf4\x90\x80\x80\"", "invalid unicode code point"},
                      RefusedCase{"after_escape", "\"\\n\xff\"", "invalid unicode code point"},
                      RefusedCase{"in_key", "{\"\xff\": 1}", "invalid unicode code point"},
                      RefusedCase{"long_run_then_bad", "\"" + repeat("a", 40) + "\xff\"", "column 42"},
                      RefusedCase{"outside_string", "[\xc3\xa9]", "expected value"}));

INSTANTIATE_TEST_SUITE_P(RawControlCharacters, RefusedInput,
                         ::testing::Values(RefusedCase{"nul", std::string("\"a\0b\"", 5), "control character"},
                                           RefusedCase{"x01", "\"\x01\"", "control character"},
                                           RefusedCase{"newline", "\"a\nb\"", "line 1, column 3: control character"},
                                           RefusedCase{"tab", "\"\t\"", "control character"},
                                           RefusedCase{"cr", "\"\r\"", "control character"},
                                           RefusedCase{"x1f", "\"\x1f\"", "control character"},
                                           RefusedCase{"after_escape", "\"\\t\x01\"", "control character"},
                                           RefusedCase{"in_key", "{\"a\nb\": 1}", "control character"},
                                           RefusedCase{"long_run_then_control", "\"" + repeat("a", 33) + "\x02\"",
                                                       "column 35"}));

// ---------------------------------------------------------------------------
// Depth: 127 nested containers are fine, 128 are refused (serde_json's limit).

TEST(JsonParse, AcceptsNestingUpToTheLimit) {
  ASSERT_EQ(k_max_depth, 127);
  std::string arrays = repeat("[", 127) + repeat("]", 127);
  auto doc = parse(arrays);
  ASSERT_TRUE(doc) << doc.error().message();
  // The writer indents the innermost [] by 126 levels.
  std::string out = to_canonical_string(doc->root());
  EXPECT_NE(out.find("\n" + std::string(252, ' ') + "[]\n"), std::string::npos);
  EXPECT_EQ(canon(out), out);

  std::string objects = repeat("{\"a\":", 126) + "[1]" + repeat("}", 126);
  EXPECT_TRUE(parse(objects)) << error_of(objects);
  std::string values_inside = repeat("[0,", 127) + "1" + repeat("]", 127);
  EXPECT_TRUE(parse(values_inside)) << error_of(values_inside);
}

TEST(JsonParse, RefusesNestingPastTheLimit) {
  EXPECT_EQ(error_of(repeat("[", 128) + repeat("]", 128)),
            "invalid JSON at line 1, column 128: recursion limit exceeded: more than 127 nested arrays and objects");
  std::string objects = repeat("{\"a\":", 127) + "{}" + repeat("}", 127);
  EXPECT_NE(error_of(objects).find("recursion limit exceeded"), std::string::npos);
  std::string mixed = repeat("[{\"k\":", 64) + "1" + repeat("}]", 64);
  EXPECT_NE(error_of(mixed).find("recursion limit exceeded"), std::string::npos);
}

TEST(JsonParse, DeepInputDoesNotCrash) {
  EXPECT_NE(error_of(repeat("[", 100000)).find("line 1, column 128: recursion limit exceeded"), std::string::npos);
  EXPECT_NE(error_of(repeat("{\"a\":", 100000)).find("recursion limit exceeded"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Numbers: exact integers within u64/i64; "-0" and overflow become doubles.

TEST(JsonParse, IntegersStayExact) {
  struct Case {
    std::string text;
    Kind kind;
    std::string canonical;
  };
  const Case cases[] = {
      {"0", Kind::u64, "0"},
      {"18446744073709551615", Kind::u64, "18446744073709551615"},
      {"-1", Kind::i64, "-1"},
      {"-9223372036854775808", Kind::i64, "-9223372036854775808"},
      {"9223372036854775808", Kind::u64, "9223372036854775808"},
      {"-9223372036854775809", Kind::f64, "-9.223372036854776e18"},
      {"18446744073709551616", Kind::f64, "1.8446744073709552e19"},
      {"-0", Kind::f64, "-0.0"},
      {"-0.0", Kind::f64, "-0.0"},
      {"0.0", Kind::f64, "0.0"},
      {"1.0", Kind::f64, "1.0"},
      {"1e2", Kind::f64, "100.0"},
      {"1E+2", Kind::f64, "100.0"},
      {"25e-1", Kind::f64, "2.5"},
      {"1e-400", Kind::f64, "0.0"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto doc = parse(c.text);
    ASSERT_TRUE(doc) << doc.error().message();
    EXPECT_EQ(doc->root().kind(), c.kind);
    EXPECT_EQ(to_canonical_string(doc->root()), c.canonical);
  }
  EXPECT_EQ(parse("18446744073709551615")->root().as_u64(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(parse("-9223372036854775808")->root().as_i64(), std::numeric_limits<int64_t>::min());
  double minus_zero = parse("-0")->root().as_f64();
  EXPECT_EQ(minus_zero, 0.0);
  EXPECT_TRUE(std::signbit(minus_zero));
  EXPECT_EQ(parse("18446744073709551616")->root().as_f64(), 18446744073709551616.0);
}

// ---------------------------------------------------------------------------
// The canonical writer: exact bytes.

TEST(CanonicalWriter, PrettyPrintsLikeSerdeJson) {
  EXPECT_EQ(canon(R"({"b":1,"a":[true,false,null],"c":{},"d":[],"e":"x"})"),
            "{\n"
            "  \"a\": [\n"
            "    true,\n"
            "    false,\n"
            "    null\n"
            "  ],\n"
            "  \"b\": 1,\n"
            "  \"c\": {},\n"
            "  \"d\": [],\n"
            "  \"e\": \"x\"\n"
            "}");
  EXPECT_EQ(canon(R"([{"k":[{"z":-1.5e-7,"y":0.1}]},[[]],-3])"),
            "[\n"
            "  {\n"
            "    \"k\": [\n"
            "      {\n"
            "        \"y\": 0.1,\n"
            "        \"z\": -1.5e-7\n"
            "      }\n"
            "    ]\n"
            "  },\n"
            "  [\n"
            "    []\n"
            "  ],\n"
            "  -3\n"
            "]");
  EXPECT_EQ(canon("{}"), "{}");
  EXPECT_EQ(canon("[]"), "[]");
  EXPECT_EQ(canon(" { } "), "{}");
  EXPECT_EQ(canon("[ ]"), "[]");
  EXPECT_EQ(canon("true"), "true");
  EXPECT_EQ(canon("null"), "null");
  EXPECT_EQ(canon("\"\""), "\"\"");
  EXPECT_EQ(canon("  7\n"), "7");
}

TEST(CanonicalWriter, EscapesOnlyQuoteBackslashAndControls) {
  const std::string e_acute = "\xc3\xa9";
  const std::string grin = "\xf0\x9f\x98\x80";
  std::string input =
      "\"\\b\\f\\n\\r\\t\\u0000\\u0001\\u001F\\u007f\\\"\\\\\\/\x7f" + e_acute + grin + "\\u00e9\\u2028\"";
  std::string expected =
      "\"\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\x7f\\\"\\\\/\x7f" + e_acute + grin + e_acute + "\xe2\x80\xa8\"";
  EXPECT_EQ(canon(input), expected);
  // All 32 control characters: 5 short escapes, the rest \u00xx in lower case.
  std::string all_controls = "\"";
  for (int c = 0; c < 0x20; ++c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04X", c);
    all_controls += buf;
  }
  all_controls += "\"";
  EXPECT_EQ(canon(all_controls),
            "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
            "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d"
            "\\u001e\\u001f\"");
  // Keys are escaped the same way.
  EXPECT_EQ(canon(R"({"a\nb\u001f\"":1})"), "{\n  \"a\\nb\\u001f\\\"\": 1\n}");
}

TEST(CanonicalWriter, HasNoTrailingNewlineAndIsAFixedPoint) {
  const char* docs[] = {R"({"z":[1,2.5,{"q":null}],"a":"\u00e9"})", "[]", "{}", "0", R"({"x":{"y":{}}})"};
  for (const char* text : docs) {
    std::string out = canon(text);
    ASSERT_FALSE(out.empty());
    EXPECT_NE(out.back(), '\n') << text;
    EXPECT_EQ(canon(out), out) << text;
  }
}

// Records what the writer hands over.
class RecordingSink final : public ChunkSink {
 public:
  bool write(std::string_view chunk) override {
    bytes.append(chunk);
    sizes.push_back(chunk.size());
    return sizes.size() < stop_after;
  }
  std::string bytes;
  std::vector<size_t> sizes;
  size_t stop_after = SIZE_MAX;
};

void expect_streams_identically(const Node& root, const std::string& expected) {
  RecordingSink sink;
  ASSERT_TRUE(write_canonical(root, sink));
  EXPECT_GE(sink.sizes.size(), 2u) << "the document should span several chunks";
  for (size_t size : sink.sizes) {
    EXPECT_GT(size, 0u);
    EXPECT_LE(size, k_chunk_bytes + 4096);
  }
  // Compare sizes first: a failing EXPECT_EQ on megabytes prints megabytes.
  std::string whole = to_canonical_string(root);
  ASSERT_EQ(sink.bytes.size(), whole.size());
  EXPECT_TRUE(sink.bytes == whole);
  ASSERT_EQ(whole.size(), expected.size());
  EXPECT_TRUE(whole == expected);
}

TEST(CanonicalWriter, StreamsAStringLargerThanAChunk) {
  // 3 MB of text with an escape every 4099 bytes, so escapes land on and
  // around chunk boundaries, and some non-ASCII bytes.
  std::string big;
  std::string big_escaped;
  big.reserve(3u << 20);
  for (size_t i = 0; big.size() < (3u << 20); ++i) {
    if (i % 4099 == 4098) {
      big += '\n';
      big_escaped += "\\n";
    } else if (i % 7919 == 0) {
      big += "\xc3\xa9";
      big_escaped += "\xc3\xa9";
    } else {
      char c = static_cast<char>('a' + i % 26);
      big += c;
      big_escaped += c;
    }
  }
  Document doc;
  Node root = doc.make_object({
      {doc.make_string("big"), doc.make_string(big)},
      {doc.make_string("after"), Node::u64(1)},
      {doc.make_string("list"), doc.make_array({doc.make_string(big), Node::null()})},
  });
  std::string expected = "{\n  \"after\": 1,\n  \"big\": \"" + big_escaped + "\",\n  \"list\": [\n    \"" +
                         big_escaped + "\",\n    null\n  ]\n}";
  expect_streams_identically(root, expected);
}

TEST(CanonicalWriter, StreamsManySmallMembers) {
  // 150000 members given in reverse order: ~3 MB of output.
  constexpr int k_members = 150000;
  Document doc;
  std::vector<Member> members;
  for (int i = k_members - 1; i >= 0; --i) {
    char key[16];
    std::snprintf(key, sizeof key, "k%06d", i);
    Node value = i % 3 == 0   ? Node::u64(static_cast<uint64_t>(i))
                 : i % 3 == 1 ? doc.make_array({Node::boolean(true)})
                              : Node::f64(i + 0.5);
    members.push_back({doc.make_string(key), value});
  }
  Node root = doc.make_object(std::move(members));
  std::string expected = "{";
  for (int i = 0; i < k_members; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "k%06d", i);
    expected += i == 0 ? "\n  \"" : ",\n  \"";
    expected += key;
    expected += "\": ";
    if (i % 3 == 0) {
      expected += std::to_string(i);
    } else if (i % 3 == 1) {
      expected += "[\n    true\n  ]";
    } else {
      expected += std::to_string(i) + ".5";
    }
  }
  expected += "\n}";
  expect_streams_identically(root, expected);
}

TEST(CanonicalWriter, StopsWhenTheSinkRefuses) {
  Document doc;
  Node root = doc.make_array({doc.make_string(std::string(3u << 20, 'x'))});
  RecordingSink sink;
  sink.stop_after = 1;
  EXPECT_FALSE(write_canonical(root, sink));
  EXPECT_EQ(sink.sizes.size(), 1u);
}

// ---------------------------------------------------------------------------
// Document builders.

TEST(DocumentBuilders, MakeObjectSortsAndKeepsTheLastDuplicate) {
  Document doc;
  Node obj = doc.make_object({
      {doc.make_string("b"), Node::u64(1)},
      {doc.make_string("a"), Node::u64(2)},
      {doc.make_string("b"), Node::u64(3)},
      {doc.make_string("c"), Node::null()},
      {doc.make_string("b"), Node::i64(-4)},
  });
  ASSERT_TRUE(obj.is_object());
  EXPECT_EQ(keys_of(obj), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(obj.find("b")->kind(), Kind::i64);
  EXPECT_EQ(obj.find("b")->as_i64(), -4);
  EXPECT_EQ(to_canonical_string(obj), "{\n  \"a\": 2,\n  \"b\": -4,\n  \"c\": null\n}");
  EXPECT_EQ(to_canonical_string(doc.make_object({})), "{}");
  EXPECT_EQ(to_canonical_string(doc.make_array({})), "[]");
}

TEST(DocumentBuilders, WithMemberAddsOrReplacesAndLeavesTheOriginal) {
  auto parsed = parse(R"({"b": 1, "d": 2})");
  ASSERT_TRUE(parsed);
  Document& doc = *parsed;
  Node original = doc.root();
  Node added = doc.with_member(original, "c", doc.make_string("new"));
  EXPECT_EQ(keys_of(added), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_EQ(added.find("c")->as_string(), "new");
  Node replaced = doc.with_member(added, "b", doc.make_array({Node::u64(9)}));
  EXPECT_EQ(keys_of(replaced), (std::vector<std::string>{"b", "c", "d"}));
  ASSERT_TRUE(replaced.find("b")->is_array());
  EXPECT_EQ(replaced.find("b")->elements()[0].as_u64(), 9u);
  Node first = doc.with_member(replaced, "a", Node::boolean(false));
  EXPECT_EQ(keys_of(first), (std::vector<std::string>{"a", "b", "c", "d"}));
  // Nodes are values: the earlier objects are unchanged.
  EXPECT_EQ(keys_of(original), (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(original.find("b")->as_u64(), 1u);
  EXPECT_EQ(added.find("b")->as_u64(), 1u);
  Node empty = doc.with_member(doc.make_object({}), "only", Node::u64(1));
  EXPECT_EQ(to_canonical_string(empty), "{\n  \"only\": 1\n}");
}

TEST(DocumentBuilders, CopyIsDeepAndOutlivesTheOriginal) {
  std::optional<Document> copy;
  {
    auto parsed = parse(R"({"a": "text", "b": [1, {"c": "deep"}], "n": -2.5})");
    ASSERT_TRUE(parsed);
    copy = *parsed;  // the parsed text and arena go away with `parsed`
    Document assigned;
    assigned = *parsed;
    EXPECT_EQ(to_canonical_string(assigned.root()), to_canonical_string(parsed->root()));
  }
  EXPECT_EQ(to_compact_string(copy->root()), R"({"a":"text","b":[1,{"c":"deep"}],"n":-2.5})");
  Document again(*copy);
  EXPECT_NE(again.root().find("a")->as_string().data(), copy->root().find("a")->as_string().data());
}

TEST(DocumentBuilders, MergeSetsEachMemberAndTheLaterOneWins) {
  Document doc = Document::empty_object();
  EXPECT_EQ(to_compact_string(doc.root()), "{}");
  auto first = parse(R"({"b": 1, "a": {"x": "y"}})");
  auto second = parse(R"({"b": "replaced", "c": null})");
  ASSERT_TRUE(first && second);
  doc.merge(first->root());
  doc.merge(second->root());
  first = parse("{}");  // the merged values were copied
  second = parse("{}");
  EXPECT_EQ(to_compact_string(doc.root()), R"({"a":{"x":"y"},"b":"replaced","c":null})");
}

TEST(DocumentBuilders, StringAtReadsStringsOnly) {
  auto doc = parse(R"({"s": "yes", "n": 1, "o": {"s": "inner"}})");
  ASSERT_TRUE(doc);
  EXPECT_EQ(string_at(doc->root(), "s"), "yes");
  EXPECT_EQ(string_at(doc->root(), "n"), "");
  EXPECT_EQ(string_at(doc->root(), "missing"), "");
  EXPECT_EQ(string_at(*doc->root().find("o"), "s"), "inner");
  EXPECT_EQ(string_at(*doc->root().find("n"), "s"), "");  // not an object
}

TEST(DocumentBuilders, MakeStringAndMakeArrayCopy) {
  Document doc;
  std::string source = "value";
  Node s = doc.make_string(source);
  std::vector<Node> elements = {Node::u64(1), s};
  Node array = doc.make_array(elements);
  source.assign("XXXXX");
  elements[0] = Node::null();
  EXPECT_EQ(s.as_string(), "value");
  ASSERT_EQ(array.size(), 2u);
  EXPECT_EQ(array.elements()[0].as_u64(), 1u);
  EXPECT_EQ(array.elements()[1].as_string(), "value");
  EXPECT_EQ(doc.make_string("").as_string(), "");
}

TEST(DocumentBuilders, ParsedDocumentOwnsItsText) {
  Result<Document> doc = make_error(ErrorCode::invalid_argument, "unset");
  {
    std::string text = R"({"key": "plain", "esc": "a\nb"})";
    doc = parse(text);
    text.assign(text.size(), 'x');
  }
  ASSERT_TRUE(doc);
  Document moved = std::move(*doc);
  EXPECT_EQ(moved.root().find("key")->as_string(), "plain");
  EXPECT_EQ(moved.root().find("esc")->as_string(), "a\nb");
}

TEST(DocumentBuilders, ParseBorrowedPointsIntoTheCallersText) {
  const std::string text = R"({"key": "plain", "esc": "a\u0041"})";
  auto doc = parse_borrowed(text);
  ASSERT_TRUE(doc) << doc.error().message();
  std::string_view plain = doc->root().find("key")->as_string();
  EXPECT_EQ(plain, "plain");
  EXPECT_GE(plain.data(), text.data());
  EXPECT_LT(plain.data(), text.data() + text.size());
  EXPECT_EQ(doc->root().find("esc")->as_string(), "aA");
  EXPECT_FALSE(parse_borrowed("[1,]"));
}

TEST(DocumentBuilders, KindNamesAndFind) {
  EXPECT_EQ(kind_name(Kind::u64), "integer");
  EXPECT_EQ(kind_name(Kind::i64), "integer");
  EXPECT_EQ(kind_name(Kind::f64), "number");
  EXPECT_EQ(kind_name(Kind::object), "object");
  EXPECT_EQ(kind_name(Kind::array), "array");
  EXPECT_EQ(kind_name(Kind::string), "string");
  EXPECT_EQ(kind_name(Kind::boolean), "boolean");
  EXPECT_EQ(kind_name(Kind::null), "null");
  auto doc = parse(R"([{"a": 1}])");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->root().find("a"), nullptr);  // not an object
  EXPECT_EQ(doc->root().size(), 1u);
  EXPECT_EQ(Node::u64(5).size(), 0u);
}

}  // namespace
}  // namespace cutover::json
