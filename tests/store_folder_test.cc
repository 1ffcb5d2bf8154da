// base::StoreFolderLocks and the temporary-file names backfill and rollback share.
#include <string>

#include <gtest/gtest.h>

#include "cutover/base/store_folder.h"
#include "test_util.h"

namespace cutover {
namespace {

TEST(StoreFolderLocks, AWorkFolderHeldByOneRunRefusesAnother) {
  cutover::testing::TempDir tmp;
  base::FileSystem& fs = base::real_file_system();
  {
    base::StoreFolderLocks first;
    ASSERT_TRUE(first.lock_work_dir(fs, tmp.path()));
    EXPECT_TRUE(cutover::testing::path_exists(tmp.file(".cutover.lock")));
    base::StoreFolderLocks second;
    auto st = second.lock_work_dir(fs, tmp.path());
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), ErrorCode::conflict);
  }
  base::StoreFolderLocks after;  // released with the first
  EXPECT_TRUE(after.lock_work_dir(fs, tmp.path()));
}

TEST(StoreFolderLocks, EachFolderIsLockedOnceAndARefusalNamesTheStore) {
  cutover::testing::TempDir tmp;
  base::FileSystem& fs = base::real_file_system();
  base::StoreFolderLocks locks;
  ASSERT_TRUE(locks.lock_folder(fs, tmp.path(), "auth"));
  // The same folder by another spelling: already held here, not locked twice.
  EXPECT_TRUE(locks.lock_folder(fs, tmp.path() + "/.", "auth again"));
  // A missing folder is left for the caller to report.
  EXPECT_TRUE(locks.lock_folder(fs, tmp.file("missing"), "domain"));

  base::StoreFolderLocks other;
  auto st = other.lock_folder(fs, tmp.path(), "store auth (" + tmp.path() + ")");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::conflict);
  EXPECT_EQ(st.error().message().rfind("store auth (" + tmp.path() + "): ", 0), 0u) << st.error().message();
}

TEST(StoreTempPath, NamesTheRunBesideTheStore) {
  EXPECT_EQ(base::store_temp_path("/s/auth.json", "20240101T000000Z", ".tmp"),
            "/s/.auth.json.cutover-20240101T000000Z.tmp");
  EXPECT_EQ(base::store_temp_path("/s/auth.json", "r1", ".rollback.tmp"), "/s/.auth.json.cutover-r1.rollback.tmp");
  EXPECT_TRUE(base::is_store_temp_name(".auth.json.cutover-r1.tmp", "auth.json"));
  EXPECT_TRUE(base::is_store_temp_name(".auth.json.cutover-r1.rollback.tmp", "auth.json"));
  EXPECT_FALSE(base::is_store_temp_name(".auth.json.cutover-r1.tmp", "domain.json"));
  EXPECT_FALSE(base::is_store_temp_name(".auth.json.cutover-r1", "auth.json"));
  EXPECT_FALSE(base::is_store_temp_name("auth.json", "auth.json"));
}

}  // namespace
}  // namespace cutover
