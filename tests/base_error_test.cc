// TRY_CTX and TRY_ASSIGN_CTX: the error keeps its code and gains the context;
// the context is built only on failure.
#include <string>

#include <gtest/gtest.h>

#include "cutover/base/error.h"

namespace cutover {
namespace {

Result<int> number(bool ok) {
  if (!ok) return make_error(ErrorCode::io_error, "disk on fire");
  return 7;
}

Status check(bool ok) {
  if (!ok) return make_error(ErrorCode::not_found, "no such file");
  return ok_status();
}

Status try_ctx(bool ok, int* context_built) {
  TRY_CTX(check(ok), (++*context_built, std::string("reading x")));
  return ok_status();
}

Result<int> try_assign_ctx(bool ok, int* context_built) {
  TRY_ASSIGN_CTX(int n, number(ok), (++*context_built, std::string("manifest ") + "m.json"));
  return n + 1;
}

TEST(TryWithContext, PassesSuccessThroughWithoutBuildingTheContext) {
  int built = 0;
  EXPECT_TRUE(try_ctx(true, &built));
  auto r = try_assign_ctx(true, &built);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 8);
  EXPECT_EQ(built, 0);
}

TEST(TryWithContext, PutsTheContextInFrontAndKeepsTheCode) {
  int built = 0;
  auto st = try_ctx(false, &built);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::not_found);
  EXPECT_EQ(st.error().message(), "reading x: no such file");
  auto r = try_assign_ctx(false, &built);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::io_error);
  EXPECT_EQ(r.error().message(), "manifest m.json: disk on fire");
  EXPECT_EQ(built, 2);
}

}  // namespace
}  // namespace cutover
