// SPDX-License-Identifier: GPL-2.0-only
#include "kernels/kernel_ref.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "kernels/kernel_build.h"
#include "kernels/kernel_fetch.h"
#include "results/results.h"
#include "results/run_record.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

TEST(KernelRef, ParsesEachKind) {
  auto d = parse_kernel_ref("debian:7.3");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, KernelRef::Kind::kDebian);
  EXPECT_EQ(d->value, "7.3");
  for (const char* newest : {"debian:", "debian:newest"}) {
    auto n = parse_kernel_ref(newest);
    ASSERT_TRUE(n) << newest;
    EXPECT_EQ(n->value, "") << newest;
  }
  auto b = parse_kernel_ref("build:7.2-no-gmem-policy");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->kind, KernelRef::Kind::kBuild);
  EXPECT_EQ(b->value, "7.2-no-gmem-policy");
  auto p = parse_kernel_ref("/boot/vmlinuz-6.1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, KernelRef::Kind::kPath);
  EXPECT_EQ(p->value, "/boot/vmlinuz-6.1");
  auto rel = parse_kernel_ref("./odd:name/bzImage");  // a colon after a '/' is part of a path
  ASSERT_TRUE(rel);
  EXPECT_EQ(rel->kind, KernelRef::Kind::kPath);
}

TEST(KernelRef, RejectsMalformedReferences) {
  for (const char* bad :
       {"", "build:", "build:../x", "build:.hidden", "build:a/b", "debain:7.3", "bulid:7.2"}) {
    auto r = parse_kernel_ref(bad);
    EXPECT_FALSE(r) << "'" << bad << "' parsed";
  }
  auto typo = parse_kernel_ref("debain:7.3");
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("debian:VERSION, build:NAME or a path"), std::string::npos);
}

class KernelBuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_ = fs::temp_directory_path() / ("memplace-kbuild-" + std::to_string(::getpid()));
    fs::remove_all(cache_);
  }
  void TearDown() override { fs::remove_all(cache_); }

  // An entry as scripts/kernel-build.sh leaves it; `json` replaces build.json's text.
  fs::path make_entry(const std::string& name, std::string json = "") {
    fs::path dir = cache_ / "builds" / name;
    fs::create_directories(dir / "modules/lib/modules/7.2.13/kernel");
    std::ofstream(dir / "bzImage") << "image";
    if (json.empty())
      json = R"({"schema_version": 1, "name": ")" + name +
             R"(", "release": "7.2.13", "source": {"package": "linux-source-7.2",
               "version": "7.2.13-1"}, "patches": [{"file": "p.patch", "sha256": "ab"}]})";
    std::ofstream(dir / "build.json") << json;
    return dir;
  }

  fs::path cache_;
};

TEST_F(KernelBuildTest, LoadsAnEntryWithItsOwnLayout) {
  fs::path dir = make_entry("7.2");
  auto b = load_kernel_build(cache_.string(), "7.2");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->release, "7.2.13");
  EXPECT_EQ(b->vmlinuz, (dir / "bzImage").string());
  EXPECT_EQ(b->modules_dir, (dir / "modules/lib/modules/7.2.13").string());
  EXPECT_EQ(b->info["source"]["version"], "7.2.13-1");

  KernelFetchOptions o;
  o.cache_dir = cache_.string();
  auto files = fetch_kernel("build:7.2", "", o);
  ASSERT_TRUE(files) << files.error().message;
  EXPECT_EQ(files->label, "7.2");
  EXPECT_EQ(files->origin, "build:7.2 (linux-source-7.2 7.2.13-1 + p.patch)");
  EXPECT_EQ(files->build_info, b->info);
  EXPECT_FALSE(fetch_kernel("build:7.2", "/tmp", o)) << "--modules goes only with a path";
}

TEST_F(KernelBuildTest, UnknownBuildListsTheOnesThatExist) {
  make_entry("7.2");
  make_entry("7.2-no-gmem-policy");
  fs::create_directories(cache_ / "builds/.7.3.tmp.123");  // a staged entry is not a build
  std::ofstream(cache_ / "builds/.7.3.tmp.123/build.json") << "{}";
  EXPECT_EQ(list_kernel_builds(cache_.string()),
            (std::vector<std::string>{"7.2", "7.2-no-gmem-policy"}));
  auto s = check_kernel_ref("build:7.3", "", cache_.string());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("builds: 7.2, 7.2-no-gmem-policy"), std::string::npos)
      << s.error().message;
  EXPECT_TRUE(check_kernel_ref("build:7.2", "", cache_.string()));
  EXPECT_FALSE(check_kernel_ref("build:7.2", "/tmp", cache_.string()));
  EXPECT_FALSE(check_kernel_ref("/no/such/bzImage", "", cache_.string()));
}

TEST_F(KernelBuildTest, RejectsBadBuildJson) {
  std::string deep(10, '[');
  deep.append(10, ']');
  struct Case {
    const char* why;
    std::string json;
  } cases[] = {
      {"not JSON", "{"},
      {"not an object", "[]"},
      {"too deep", R"({"schema_version": 1, "name": "x", "release": "7.2.13", "a": )" + deep + "}"},
      {"other schema", R"({"schema_version": 2, "name": "x", "release": "7.2.13"})"},
      {"another build's file", R"({"schema_version": 1, "name": "y", "release": "7.2.13"})"},
      {"a release that is a path", R"({"schema_version": 1, "name": "x", "release": "../../etc"})"},
      {"too large", R"({"schema_version": 1, "name": "x", "release": "7.2.13", "pad": ")" +
                        std::string(kMaxKernelBuildBytes, 'a') + "\"}"},
  };
  for (const auto& c : cases) {
    make_entry("x", c.json);
    EXPECT_FALSE(load_kernel_build(cache_.string(), "x")) << c.why;
  }
}

TEST(KernelBuildRecord, EnvironmentCarriesTheBuildBounded) {
  RunRecord r;
  r.environment.kernel = "7.2.13";
  r.environment.kernel_build = {{"name", "7.2-no-gmem-policy"}, {"release", "7.2.13"}};
  auto back = record_from_json(to_json(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->environment.kernel_build, r.environment.kernel_build);
  EXPECT_EQ(kernel_label(back->environment), "7.2.13 (build:7.2-no-gmem-policy)");

  nlohmann::json j = to_json(r);
  j["environment"]["kernel_build"] = nlohmann::json::array({nlohmann::json::array({{1}})});
  auto odd = record_from_json(j);
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->environment.kernel_build.is_null()) << "not an object: dropped";
  j["environment"]["kernel_build"] = {{"a", {{"b", {{"c", {{"d", {{"e", 1}}}}}}}}}};
  EXPECT_TRUE(record_from_json(j)->environment.kernel_build.is_null()) << "too deep: dropped";
  RunRecord plain;
  plain.environment.kernel = "6.18.15";
  EXPECT_EQ(kernel_label(plain.environment), "6.18.15");
  EXPECT_FALSE(to_json(plain)["environment"].contains("kernel_build"));
}

}  // namespace
}  // namespace memplace
