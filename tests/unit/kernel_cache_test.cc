// SPDX-License-Identifier: GPL-2.0-only
// Where Debian kernels are cached (issue 14 item 19): XDG_CACHE_HOME, then HOME, and never a
// guessed /tmp path; a dry run (offline) creates nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "kernels/kernel_fetch.h"

namespace memplace {
namespace {

// Puts HOME and XDG_CACHE_HOME back when the test ends, for the tests after it in this process.
class SavedEnv {
 public:
  SavedEnv() {
    for (const char* v : {"HOME", "XDG_CACHE_HOME"})
      if (const char* value = std::getenv(v)) saved_.emplace_back(v, value);
  }
  ~SavedEnv() {
    ::unsetenv("XDG_CACHE_HOME");
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
  }

 private:
  std::vector<std::pair<std::string, std::string>> saved_;
};

TEST(KernelCache, XdgCacheHomeThenHomeElseAnError) {
  SavedEnv saved;
  ::setenv("XDG_CACHE_HOME", "/x/cache", 1);
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(*memplace_cache_dir(), "/x/cache/memplace");
  ::unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(*memplace_cache_dir(), "/home/u/.cache/memplace");
  ::setenv("HOME", "", 1);
  auto none = memplace_cache_dir();
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("set XDG_CACHE_HOME or HOME"), std::string::npos);
  ::unsetenv("HOME");
  EXPECT_FALSE(memplace_cache_dir().ok());
}

TEST(KernelCache, OfflineLookupCreatesNothing) {
  std::string root = "/tmp/memplace-kernel-cache-test-" + std::to_string(::getpid());
  std::filesystem::remove_all(root);
  KernelFetchOptions offline;
  offline.offline = true;
  offline.progress = false;
  offline.cache_dir = root;
  auto files = fetch_kernel("debian:7", "", offline);
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.error().message.find("offline"), std::string::npos) << files.error().message;
  EXPECT_FALSE(std::filesystem::exists(root));
  EXPECT_FALSE(debian_kernel_index(offline).ok());
  EXPECT_FALSE(std::filesystem::exists(root));
}

}  // namespace
}  // namespace memplace
