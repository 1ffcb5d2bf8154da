// The json module's compact writer, escaper, UTF-8 validator and field
// reader: each checked against the bytes the writers they replace produce.
#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cutover/json/canonical_writer.h"
#include "cutover/json/field_reader.h"
#include "cutover/json/parser.h"
#include "cutover/json/utf8.h"
#include "cutover/json/writer.h"

namespace cutover::json {
namespace {

TEST(JsonWriter, WritesCompactJsonInTheOrderGiven) {
  Writer w;
  w.begin_object()
      .member("b", "x")
      .member("a", uint64_t{18446744073709551615u})
      .member("n", int64_t{-9223372036854775807 - 1})
      .member("i", 7)
      .member("t", true)
      .key("z")
      .null()
      .key("list")
      .begin_array()
      .number(uint64_t{1})
      .string("two")
      .begin_object()
      .end_object()
      .begin_array()
      .end_array()
      .end_array()
      .key("raw")
      .raw(R"({"k":[1]})")
      .end_object();
  EXPECT_EQ(w.str(), R"({"b":"x","a":18446744073709551615,"n":-9223372036854775808,"i":7,"t":true,"z":null,)"
                     R"("list":[1,"two",{},[]],"raw":{"k":[1]}})");
}

TEST(JsonWriter, AppendsToTheGivenText) {
  Writer w(std::string("prefix "));
  w.begin_array().boolean(false).end_array();
  EXPECT_EQ(w.take(), "prefix [false]");
}

TEST(JsonWriter, FormatsDoublesAsTheCanonicalWriterDoes) {
  for (double d : {0.0, -0.0, 1.0, 0.1, 1e16, 1.5e-7, 123456.0, 1.2345678901234568e17, 0.0001, 1e-5, -2.5}) {
    Document doc;
    doc.set_root(Node::f64(d));
    Writer w;
    w.f64(d);
    EXPECT_EQ(w.str(), to_compact_string(doc.root())) << d;
  }
  Writer w;
  w.begin_array().f64(1.0).f64(0.5).end_array();
  EXPECT_EQ(w.str(), "[1.0,0.5]");
}

TEST(JsonWriter, WritesNodesCompactWithSortedKeys) {
  auto doc = parse(R"({"b": [1, 2.5, "x"], "a": {"d": null, "c": true}})");
  ASSERT_TRUE(doc);
  Writer w;
  w.begin_object().key("v").node(doc->root()).end_object();
  EXPECT_EQ(w.str(), R"({"v":{"a":{"c":true,"d":null},"b":[1,2.5,"x"]}})");
}

TEST(JsonWriter, ADocumentWriterGivesTheDocumentToKeep) {
  Writer w = Writer::document();
  w.begin_object().member("z", "last").member_or_null("none", "").member_or_null("some", "x");
  w.member_optional("opt", std::optional<std::string>()).member_optional("n", std::optional<uint64_t>(3));
  w.member_optional("empty", std::optional<std::string>("")).end_object();
  Document doc = w.take_document();
  EXPECT_EQ(to_compact_string(doc.root()), R"({"empty":"","n":3,"none":null,"opt":null,"some":"x","z":"last"})");
  Writer c = Writer::canonical();
  c.begin_object().member("doc", doc.root()).end_object();
  EXPECT_EQ(c.take(), to_canonical_string(parse(R"({"doc":)" + to_compact_string(doc.root()) + "}")->root()));
}

TEST(JsonWriter, PrettyWritesJqsLayoutInTheOrderGiven) {
  Writer w = Writer::pretty({.replace_invalid_utf8 = false, .escape_delete = true});
  w.begin_object().member("store", "a\x7f").key("counts").begin_object().key("b").raw("1e+17");
  w.key("a").raw("2").end_object().key("empty").begin_object().end_object().key("list").begin_array();
  w.number(uint64_t{1}).begin_array().end_array().end_array().end_object();
  EXPECT_EQ(w.take(),
            "{\n  \"store\": \"a\\u007f\",\n  \"counts\": {\n    \"b\": 1e+17,\n    \"a\": 2\n  },\n"
            "  \"empty\": {},\n  \"list\": [\n    1,\n    []\n  ]\n}");
}

TEST(JsonEscape, EscapesAsTheCanonicalWriterForValidUtf8) {
  // Every byte below 0x80, plus valid multi-byte text: the same bytes as
  // the canonical writer's.
  std::string all;
  for (int c = 1; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  all.push_back('\0');
  all += "é€😀";
  Document doc;
  doc.set_root(doc.make_string(all));
  EXPECT_EQ(quote(all), to_canonical_string(doc.root()));
  EXPECT_EQ(quote("a\"b\\c\n\t\b\f\r\x01\x1f"), R"("a\"b\\c\n\t\b\f\r\u0001\u001f")");
  EXPECT_EQ(quote("\x7f"), "\"\x7f\"");
}

TEST(JsonEscape, ReplacesInvalidUtf8ByDefault) {
  EXPECT_EQ(quote("a\xff"
                  "b"),
            R"("a\ufffdb")");
  EXPECT_EQ(quote("\xc3"), R"("\ufffd")");                      // truncated
  EXPECT_EQ(quote("\xc0\xaf"), R"("\ufffd\ufffd")");            // overlong
  EXPECT_EQ(quote("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // surrogate
  EXPECT_EQ(quote("\xc3\xa9"), "\"\xc3\xa9\"");
}

TEST(JsonEscape, JqStyleEscapesDeleteAndPassesBytesThrough) {
  EscapeOptions jq{.replace_invalid_utf8 = false, .escape_delete = true};
  EXPECT_EQ(quote("a\x7f"
                  "b",
                  jq),
            R"("a\u007fb")");
  EXPECT_EQ(quote("\xff\xc3\xa9\n", jq), "\"\xff\xc3\xa9\\n\"");
}

TEST(JsonEscape, EscapeByteWritesShortAndLongForms) {
  char out[6];
  EXPECT_EQ(std::string(out, escape_byte('"', out)), "\\\"");
  EXPECT_EQ(std::string(out, escape_byte('\n', out)), "\\n");
  EXPECT_EQ(std::string(out, escape_byte(0x1b, out)), "\\u001b");
  EXPECT_EQ(std::string(out, escape_byte(0x7f, out)), "\\u007f");
}

TEST(JsonEscape, RandomBytesAlwaysGiveJsonThatParsesBack) {
  std::mt19937 rng(13);
  for (int round = 0; round < 2000; ++round) {
    std::string s(rng() % 12, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 256);
    std::string q = quote(s);
    auto doc = parse(q);
    ASSERT_TRUE(doc) << q;
    if (is_valid_utf8(s)) {
      EXPECT_EQ(doc->root().as_string(), s);
    }
  }
}

TEST(Utf8, JudgesAsRustsFromUtf8) {
  EXPECT_EQ(first_invalid_utf8(""), std::string_view::npos);
  EXPECT_EQ(first_invalid_utf8("plain ascii"), std::string_view::npos);
  EXPECT_EQ(first_invalid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), std::string_view::npos);
  EXPECT_EQ(first_invalid_utf8("\xf4\x8f\xbf\xbf"), std::string_view::npos);  // U+10FFFF
  EXPECT_EQ(first_invalid_utf8("ab\x80"), 2u);                                // lone continuation
  EXPECT_EQ(first_invalid_utf8("\xc1\xbf"), 0u);                              // overlong 2-byte
  EXPECT_EQ(first_invalid_utf8("\xe0\x9f\xbf"), 0u);                          // overlong 3-byte
  EXPECT_EQ(first_invalid_utf8("\xf0\x8f\xbf\xbf"), 0u);                      // overlong 4-byte
  EXPECT_EQ(first_invalid_utf8("x\xed\xa0\x80"), 1u);                         // surrogate
  EXPECT_EQ(first_invalid_utf8("\xf4\x90\x80\x80"), 0u);                      // over U+10FFFF
  EXPECT_EQ(first_invalid_utf8("\xf5\x80\x80\x80"), 0u);
  EXPECT_EQ(first_invalid_utf8("ok\xe2\x82"), 2u);  // truncated
  EXPECT_FALSE(is_valid_utf8("\xff"));
}

TEST(Utf8, AgreesWithTheParserOnEveryTwoAndThreeByteSequence) {
  for (int a = 0x80; a < 0x100; ++a) {
    for (int b = 0; b < 0x100; b += 3) {
      for (int c : {0x80, 0xbf, 0x41}) {
        std::string s = {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)};
        bool parses = parse("\"" + s + "\"").has_value();
        EXPECT_EQ(is_valid_utf8(s), parses) << a << " " << b << " " << c;
      }
    }
  }
}

TEST(Utf8, DecodesCodePointsAndFindsSequenceStarts) {
  std::string s = "a\xc2\xa0\xe3\x80\x80\xf0\x9f\x98\x80";
  EXPECT_EQ(decode_utf8(s, 0).value, U'a');
  EXPECT_EQ(decode_utf8(s, 1).value, U'\u00a0');
  EXPECT_EQ(decode_utf8(s, 1).length, 2u);
  EXPECT_EQ(decode_utf8(s, 3).value, U'\u3000');
  EXPECT_EQ(decode_utf8(s, 6).value, U'\U0001F600');
  EXPECT_EQ(decode_utf8(s, 6).length, 4u);
  EXPECT_EQ(decode_utf8(s, 2).length, 0u);  // a continuation byte
  EXPECT_EQ(utf8_sequence_start_before(s, s.size()), 6u);
  EXPECT_EQ(utf8_sequence_start_before(s, 6), 3u);
  EXPECT_EQ(utf8_sequence_start_before(s, 1), 0u);
  EXPECT_EQ(utf8_sequence_start_before("a\x80", 2), std::string_view::npos);
}

TEST(FieldReader, ReadsTypedFieldsAndNamesEveryProblem) {
  auto doc = parse(R"({"s": "x", "n": 5, "b": true, "a": [1], "o": {}, "nul": null, "neg": -1, "f": 1.5})");
  ASSERT_TRUE(doc);
  std::vector<std::string> problems;
  FieldReader r(doc->root(), "top", problems);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.string("s"), "x");
  EXPECT_EQ(r.u64("n"), 5u);
  EXPECT_TRUE(r.boolean("b"));
  EXPECT_NE(r.array("a"), nullptr);
  EXPECT_NE(r.object("o"), nullptr);
  EXPECT_EQ(r.number("f"), 1.5);
  EXPECT_EQ(r.number("neg"), -1.0);
  EXPECT_EQ(r.optional_string("nul"), std::nullopt);
  EXPECT_EQ(r.optional_string("absent"), std::nullopt);
  EXPECT_EQ(r.optional_u64("n"), 5u);
  EXPECT_EQ(r.string_if_present("s"), "x");
  EXPECT_EQ(r.boolean_if_present("absent"), std::nullopt);
  EXPECT_TRUE(problems.empty()) << join_problems(problems);

  EXPECT_EQ(r.string("n"), "");
  EXPECT_EQ(r.u64("neg"), 0u);
  EXPECT_FALSE(r.boolean("missing"));
  EXPECT_EQ(r.array("o"), nullptr);
  EXPECT_EQ(r.optional_string("b"), std::nullopt);
  EXPECT_EQ(r.boolean_if_present("nul"), std::nullopt);
  EXPECT_EQ(r.nullable_string("nul"), std::nullopt);
  EXPECT_EQ(r.nullable_string("s"), "x");
  EXPECT_EQ(r.nullable_string("gone"), std::nullopt);
  EXPECT_EQ(problems, (std::vector<std::string>{
                          "top.n: must be a string, not integer",
                          "top.neg: must be an unsigned integer, not integer",
                          "top.missing: is missing (true or false expected)",
                          "top.o: must be an array, not object",
                          "top.b: must be a string or null, not boolean",
                          "top.nul: must be true or false, not null",
                          "top.gone: is missing (a string or null expected)",
                      }));
}

TEST(FieldReader, ANonObjectIsOneProblem) {
  auto doc = parse("[1]");
  ASSERT_TRUE(doc);
  std::vector<std::string> problems;
  FieldReader r(doc->root(), "entry", problems);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.string("x"), "");
  EXPECT_EQ(problems, std::vector<std::string>{"entry: must be an object, not array"});
}

TEST(FieldReader, TheManifestStyleSeparatesWithASpace) {
  auto doc = parse(R"({"x": 1})");
  ASSERT_TRUE(doc);
  std::vector<std::string> problems;
  FieldReader r(doc->root(), "stores[0]", problems, {.separator = " ", .name_expected_when_missing = false});
  r.string("path");
  r.string("x");
  EXPECT_EQ(problems,
            (std::vector<std::string>{"stores[0].path is missing", "stores[0].x must be a string, not integer"}));
}

TEST(FieldReader, UnknownKeysGetADidYouMean) {
  auto doc = parse(R"({"enabeld": true, "mode": "x", "zzzzzzzz": 1})");
  ASSERT_TRUE(doc);
  constexpr std::string_view known[] = {"enabled", "mode", "salt"};
  std::vector<std::string> problems;
  FieldReader r(doc->root(), "", problems);
  r.check_keys(known);
  EXPECT_EQ(problems, (std::vector<std::string>{
                          "enabeld: unknown field 'enabeld' (did you mean 'enabled'?)",
                          "zzzzzzzz: unknown field 'zzzzzzzz' (known: enabled mode salt)",
                      }));
}

TEST(FieldReader, ReadsValuesFoundElsewhere) {
  auto doc = parse(R"(["a", 1, false])");
  ASSERT_TRUE(doc);
  std::vector<std::string> problems;
  const Node* e = doc->root().elements();
  EXPECT_EQ(read_string(e[0], "list[0]", problems), "a");
  EXPECT_EQ(read_string(e[1], "list[1]", problems), std::nullopt);
  EXPECT_EQ(read_boolean(e[2], "list[2]", problems), false);
  EXPECT_EQ(read_boolean(e[0], "list[0]", problems, " "), std::nullopt);
  EXPECT_EQ(problems, (std::vector<std::string>{"list[1]: must be a string, not integer",
                                                "list[0] must be true or false, not string"}));
  EXPECT_EQ(join_problems({"a", "b"}), "a; b");
}

}  // namespace
}  // namespace cutover::json
