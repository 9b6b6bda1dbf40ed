// SPDX-License-Identifier: GPL-2.0-only
// base/files: the scratch directories qemu cells and the testbed work in go away with everything
// in them.
#include "base/files.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace memplace {
namespace {

namespace fs = std::filesystem;

TEST(TempDir, IsCreatedUniqueAndRemovedWithItsContents) {
  std::string path;
  {
    auto a = TempDir::create((fs::temp_directory_path() / "memplace-files-test-").string());
    auto b = TempDir::create((fs::temp_directory_path() / "memplace-files-test-").string());
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(a->path(), b->path());
    path = a->path();
    ASSERT_TRUE(make_dirs(path + "/sub/deeper").ok());
    ASSERT_TRUE(write_file(path + "/sub/deeper/initrd.cpio", std::string(4096, 'x')).ok());
    TempDir moved = std::move(*a);
    EXPECT_EQ(moved.path(), path);
    EXPECT_TRUE(fs::exists(path + "/sub/deeper/initrd.cpio"));
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(TempDir, AnUnwritableParentIsAnErrorWithErrno) {
  auto d = TempDir::create("/nonexistent-memplace-dir/x-");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().err, ENOENT);
}

}  // namespace
}  // namespace memplace
