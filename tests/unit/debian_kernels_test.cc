// SPDX-License-Identifier: GPL-2.0-only
#include "kernels/debian_kernels.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "golden.h"
#include "test_support.h"

namespace memplace {
namespace {

// The text of tests/fixtures/debian/<name>.
std::string debian_fixture_text(const std::string& name) {
  return testing::slurp(testing::fixture_path("debian/" + name));
}

// Real stanzas from trixie, trixie-backports and sid, trimmed to the kernels of interest.
std::vector<DebianKernel> archive() {
  std::vector<DebPackage> all;
  for (const char* suite : {"trixie", "trixie-backports", "sid"}) {
    auto p = parse_packages_index(debian_fixture_text(std::string("Packages-") + suite), suite);
    all.insert(all.end(), p.begin(), p.end());
  }
  return list_debian_kernels(all);
}

TEST(DebianKernels, ParsesStanzas) {
  auto pkgs =
      parse_packages_index(debian_fixture_text("Packages-trixie-backports"), "trixie-backports");
  ASSERT_GT(pkgs.size(), 10u);
  const DebPackage* binary = nullptr;
  for (const auto& p : pkgs) {
    if (p.name == "linux-binary-7.3.4+deb13-cloud-amd64") binary = &p;
  }
  ASSERT_NE(binary, nullptr);
  EXPECT_EQ(binary->version, "7.3.4-1~bpo13+1");
  EXPECT_EQ(binary->suite, "trixie-backports");
  EXPECT_EQ(binary->depends, "linux-base-7.3.4+deb13-cloud-amd64 (= 7.3.4-1~bpo13+1)");
  EXPECT_EQ(binary->filename,
            "pool/main/l/linux-signed-amd64/"
            "linux-binary-7.3.4+deb13-cloud-amd64_7.3.4-1~bpo13+1_amd64.deb");
}

TEST(DebianKernels, ParsesWithoutTrailingNewlineAndSkipsContinuations) {
  auto pkgs = parse_packages_index(
      "Package: a\nVersion: 1\nDescription: x\n more text\n .\nFilename: f\n\nPackage: b\nVersion: "
      "2",
      "s");
  ASSERT_EQ(pkgs.size(), 2u);
  EXPECT_EQ(pkgs[0].filename, "f");
  EXPECT_EQ(pkgs[1].name, "b");
  EXPECT_EQ(pkgs[1].version, "2");
}

TEST(DebianKernels, ComparesVersionsLikeDpkg) {
  EXPECT_LT(compare_debian_versions("7.3.4-1~bpo13+1", "7.3.4-1"), 0);
  EXPECT_GT(compare_debian_versions("6.18.15", "6.18.9"), 0);
  EXPECT_GT(compare_debian_versions("1:1.0", "2.0"), 0);
  EXPECT_LT(compare_debian_versions("7.0~rc1", "7.0"), 0);
  EXPECT_EQ(compare_debian_versions("6.12.117-1", "6.12.117-1"), 0);
  EXPECT_GT(compare_debian_versions("7.2.13-1", "7.2.12-1~bpo13+1"), 0);
}

TEST(DebianKernels, NewestSevenIsTheSplitLayoutWithItsModulesPackage) {
  auto k = resolve_debian_kernel(archive(), "7");
  ASSERT_TRUE(k.ok()) << k.error().describe();
  EXPECT_EQ(k->upstream, "7.3.4");
  EXPECT_EQ(k->release, "7.3.4+deb13-cloud-amd64");
  EXPECT_EQ(k->suite, "trixie-backports");
  EXPECT_TRUE(k->split_layout);
  EXPECT_EQ(k->packages,
            (std::vector<std::string>{"linux-binary-7.3.4+deb13-cloud-amd64=7.3.4-1~bpo13+1",
                                      "linux-modules-7.3.4+deb13-cloud-amd64=7.3.4-1~bpo13+1"}));
}

TEST(DebianKernels, SixEighteenIsTheOldLayoutWithModulesInside) {
  auto k = resolve_debian_kernel(archive(), "6.18");
  ASSERT_TRUE(k.ok()) << k.error().describe();
  EXPECT_EQ(k->upstream, "6.18.15");
  EXPECT_FALSE(k->split_layout);
  EXPECT_EQ(k->packages,
            (std::vector<std::string>{"linux-image-6.18.15+deb13-cloud-amd64=6.18.15-1~bpo13+1"}));
}

TEST(DebianKernels, ExactVersionsAndReleasesMatch) {
  auto k = resolve_debian_kernel(archive(), "6.18.12");
  ASSERT_TRUE(k.ok()) << k.error().describe();
  EXPECT_EQ(k->release, "6.18.12+deb13-cloud-amd64");
  k = resolve_debian_kernel(archive(), "7.3.4+deb13-cloud-amd64");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->upstream, "7.3.4");
  // A prefix stops at a component boundary.
  EXPECT_FALSE(resolve_debian_kernel(archive(), "7.3.40").ok());
  EXPECT_FALSE(resolve_debian_kernel(archive(), "6.1").ok());
}

TEST(DebianKernels, SidWinsWhenItHasTheNewerBuild) {
  auto k = resolve_debian_kernel(archive(), "7.2");
  ASSERT_TRUE(k.ok()) << k.error().describe();
  EXPECT_EQ(k->release, "7.2.13+deb14-cloud-amd64");
  EXPECT_EQ(k->suite, "sid");
}

// 6.19-7.1: the index lost linux-modules-R, the archive's pool still serves it (measured:
// 6.19.6, 6.19.14, 7.0.13 and 7.1.13 boot that way). Those kernels are usable, their modules
// fetched by pool path.
TEST(DebianKernels, BackportsWithoutIndexedModulesFetchThemFromThePool) {
  for (const char* v : {"7.0", "7.1", "6.19", "7.0.13"}) {
    auto k = resolve_debian_kernel(archive(), v);
    ASSERT_TRUE(k.ok()) << v << ": " << k.error().describe();
    ASSERT_EQ(k->pool_files.size(), 1u) << v;
    EXPECT_EQ(k->pool_files[0].rfind("pool/main/l/linux/linux-modules-" + k->release + "_", 0), 0u)
        << k->pool_files[0];
    EXPECT_EQ(k->packages.size(), 1u);
    EXPECT_EQ(k->packages[0].rfind("linux-binary-" + k->release + "=", 0), 0u) << k->packages[0];
  }
  auto k = resolve_debian_kernel(archive(), "7.0.13");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->pool_files[0], pool_path("linux-modules-7.0.13+deb13-cloud-amd64", k->version));
  EXPECT_EQ(pool_path("linux-modules-x", "1:2.3-4"),
            "pool/main/l/linux/linux-modules-x_2.3-4_amd64.deb");
}

TEST(DebianKernels, MissingVersionSaysSoAndListsUsableVersions) {
  auto k = resolve_debian_kernel(archive(), "9");
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.error().message.find("no Debian cloud kernel matches"), std::string::npos);
  EXPECT_NE(k.error().message.find("6.12.117"), std::string::npos);
}

TEST(DebianKernels, ListIsNewestFirstAndIgnoresDebugAndUnsignedPackages) {
  auto ks = archive();
  ASSERT_FALSE(ks.empty());
  EXPECT_EQ(ks.front().upstream, "7.3.4");
  for (size_t i = 1; i < ks.size(); ++i) {
    EXPECT_GE(compare_debian_versions(ks[i - 1].upstream, ks[i].upstream), 0);
  }
  for (const auto& k : ks) {
    EXPECT_EQ(k.release.find("dbg"), std::string::npos) << k.release;
    EXPECT_EQ(k.release.find("unsigned"), std::string::npos) << k.release;
  }
}

}  // namespace
}  // namespace memplace
