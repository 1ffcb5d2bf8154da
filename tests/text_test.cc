#include "cutover/base/text.h"

#include <gtest/gtest.h>

#include <string_view>

namespace cutover::base {
namespace {

TEST(EditDistance, CountsSingleByteEdits) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("salt", "salt"), 0u);
  EXPECT_EQ(edit_distance("slat", "salt"), 2u);  // a swap is two edits
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("enable", "enabled"), 1u);
  EXPECT_EQ(edit_distance("mode", "node"), 1u);
}

TEST(EditDistance, IsSymmetric) {
  for (auto [a, b] : {std::pair{"route_groups", "route_group"}, std::pair{"flaw", "lawn"}, std::pair{"x", "yz"}}) {
    EXPECT_EQ(edit_distance(a, b), edit_distance(b, a)) << a << " " << b;
  }
}

TEST(ClosestMatch, PicksTheFirstNearestBelowTheLimit) {
  constexpr std::string_view known[] = {"enabled", "mode", "salt", "node"};
  EXPECT_EQ(closest_match("enable", known, 3), "enabled");
  EXPECT_EQ(closest_match("mdoe", known, 3), "mode");
  EXPECT_EQ(closest_match("xode", known, 3), "mode");  // "mode" and "node" tie: the first wins
  EXPECT_EQ(closest_match("completely_else", known, 3), "");
  EXPECT_EQ(closest_match("slt", known, 1), "");  // distance 1 is not below 1
  EXPECT_EQ(closest_match("slt", known, 2), "salt");
}

}  // namespace
}  // namespace cutover::base

TEST(TakeLine, TakesEachLineAndItsNewline) {
  std::string_view text = "one\n\nthree\nlast";
  EXPECT_EQ(cutover::base::take_line(text), "one");
  EXPECT_EQ(text, "\nthree\nlast");
  EXPECT_EQ(cutover::base::take_line(text), "");
  EXPECT_EQ(cutover::base::take_line(text), "three");
  EXPECT_EQ(cutover::base::take_line(text), "last");
  EXPECT_TRUE(text.empty());
  std::string_view trailing = "a\n";
  EXPECT_EQ(cutover::base::take_line(trailing), "a");
  EXPECT_TRUE(trailing.empty());
}
