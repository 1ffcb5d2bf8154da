// Group-name normalisation, the one rule the route config, the control API
// and the phase ledger share (routing::normalize_group_name).
#include <gtest/gtest.h>

#include "cutover/gates/ledger.h"
#include "cutover/routing/paths.h"

namespace cutover {
namespace {

TEST(GroupName, TrimsUnicodeWhiteSpaceLowerCasesAsciiAndTurnsDashesIntoUnderscores) {
  EXPECT_EQ(routing::normalize_group_name("  Billing-L402 "), "billing_l402");
  EXPECT_EQ(routing::normalize_group_name("\t\n\v\f\rAUTH_ENTRY\r\n"), "auth_entry");
  // U+00A0, U+3000 and U+2028 are white space to Rust's str::trim.
  EXPECT_EQ(routing::normalize_group_name("\xc2\xa0"
                                          "chat-pilot"
                                          "\xe3\x80\x80\xe2\x80\xa8"),
            "chat_pilot");
  // Inside the name nothing is trimmed, and non-ASCII letters stay as they are.
  EXPECT_EQ(routing::normalize_group_name("a b"), "a b");
  EXPECT_EQ(routing::normalize_group_name("\xc3\x89t\xc3\xa9"), "\xc3\x89t\xc3\xa9");
  // Bytes that are not UTF-8 are not white space.
  EXPECT_EQ(routing::normalize_group_name("\xa0x"), "\xa0x");
  EXPECT_EQ(routing::normalize_group_name(""), "");
}

TEST(GroupName, TheLedgerUsesTheRouteSplitsRule) {
  EXPECT_EQ(gates::normalize_group(" Billing-L402\xe3\x80\x80").value(), "billing_l402");
  EXPECT_EQ(gates::normalize_group("\xc2\xa0"
                                   "auth_entry")
                .value(),
            "auth_entry");
  EXPECT_FALSE(gates::normalize_group("   ").has_value());
  EXPECT_FALSE(gates::normalize_group("a b").has_value());
}

}  // namespace
}  // namespace cutover
