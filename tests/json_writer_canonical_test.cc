// Writer::canonical(): the same calls as a compact Writer, and the canonical
// form of what the compact text parses to, without the text in between.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cutover/json/canonical_writer.h"
#include "cutover/json/parser.h"
#include "cutover/json/writer.h"

namespace cutover::json {
namespace {

// The bytes the old round trip gave: compact text, parsed, canonical.
std::string via_text(const std::function<void(Writer&)>& write) {
  Writer compact;
  write(compact);
  auto doc = parse(compact.str());
  EXPECT_TRUE(doc) << compact.str();
  return doc ? to_canonical_string(doc->root()) : "";
}

std::string direct(const std::function<void(Writer&)>& write) {
  Writer canonical = Writer::canonical();
  write(canonical);
  return canonical.take();
}

struct Case {
  const char* name;
  std::function<void(Writer&)> write;
};

TEST(JsonWriterCanonical, GivesTheBytesOfTheCompactTextParsedAndWrittenCanonically) {
  const std::vector<Case> cases = {
      {"scalar string", [](Writer& w) { w.string("plain"); }},
      {"empty object", [](Writer& w) { w.begin_object().end_object(); }},
      {"empty array", [](Writer& w) { w.begin_array().end_array(); }},
      {"keys out of order",
       [](Writer& w) { w.begin_object().member("zeta", 1).member("alpha", true).member("mid", "x").end_object(); }},
      {"duplicate keys: the last wins",
       [](Writer& w) { w.begin_object().member("k", "first").member("k", "second").end_object(); }},
      {"numbers",
       [](Writer& w) {
         w.begin_array()
             .number(uint64_t{18446744073709551615u})
             .number(int64_t{-5})
             .number(int64_t{7})
             .f64(1.0)
             .f64(-0.0)
             .f64(0.1)
             .f64(1e300)
             .end_array();
       }},
      {"escapes, non-ASCII and invalid UTF-8",
       [](Writer& w) {
         w.begin_object()
             .member("ctl", std::string("a\"b\\c\n\t\x01\x7f"))
             .member("utf8", "h\xc3\xa9llo \xe2\x82\xac")
             .member(std::string("bad\xff key"), std::string("x\xc3(y\xed\xa0\x80z\xf0\x9f"))
             .end_object();
       }},
      {"nesting",
       [](Writer& w) {
         w.begin_object().key("b").begin_array().begin_object().member("y", 2).member("x", 1).end_object();
         w.begin_array().end_array().null().end_array();
         w.key("a").begin_object().key("inner").begin_object().end_object().end_object().end_object();
       }},
      {"raw and node",
       [](Writer& w) {
         auto doc = parse(R"({"q":[1,{"s":"t"}],"p":null})");
         ASSERT_TRUE(doc);
         w.begin_array().raw(R"({"b":1,"a":[2.5,"\u00e9"]})").node(doc->root()).end_array();
       }},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(direct(c.write), via_text(c.write)) << c.name;
  }
}

TEST(JsonWriterCanonical, SortsKeysAndIndentsAsTheCanonicalForm) {
  Writer w = Writer::canonical();
  w.begin_object().member("b", 1).key("a").begin_array().string("x").end_array().end_object();
  EXPECT_EQ(w.take(), "{\n  \"a\": [\n    \"x\"\n  ],\n  \"b\": 1\n}");
}

}  // namespace
}  // namespace cutover::json
