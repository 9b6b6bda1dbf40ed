// SPDX-License-Identifier: GPL-2.0-only
// Small helpers several test files need: the one copy of each. Each test folder links into one
// binary and may be compiled as one unity translation unit, where two files' anonymous-namespace
// copies of the same helper clash; so a helper used by more than one file lives here.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "results/results.h"

namespace memplace::testing {

constexpr uint64_t kMiB = 1ull << 20;

// The two kernels the testbed fixtures and goldens name: Debian's generic cloud kernel and the
// NUMA-aware build.
inline const char* const kGenericKernel = "6.18.15+deb13-cloud-amd64";
inline const char* const kNumaAwareKernel = "7.3.4+deb13-cloud-amd64";

// `rel` under tests/fixtures.
inline std::string fixture_path(const std::string& rel) {
  return std::string(MEMPLACE_FIXTURES) + "/" + rel;
}

// The fixture host with sparse nodes 0 and 2 (node ids are keys, never indices).
inline const std::string kSparseNodesFixture = fixture_path("sparse_0_2");

// The records of fixtures/results/<name>/runs.jsonl; the fixtures read cleanly, no warnings.
inline std::vector<RunRecord> load_results_fixture(const std::string& name) {
  auto runs = read_runs(fixture_path("results/" + name + "/runs.jsonl"));
  EXPECT_TRUE(runs.ok()) << runs.error().describe();
  if (!runs.ok()) return {};
  EXPECT_TRUE(runs->warnings.empty());
  return runs->records;
}

// A fresh directory path under the temp dir, removed first if an earlier run left it.
inline std::string fresh_temp_dir(const std::string& name) {
  namespace fs = std::filesystem;
  std::string dir =
      (fs::temp_directory_path() / ("memplace-" + name + "-" + std::to_string(::getpid())))
          .string();
  fs::remove_all(dir);
  return dir;
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A path under /tmp unique to this test process, not yet existing.
inline std::string fresh_temp_path(const std::string& name) {
  return fresh_temp_dir("test-" + name);
}

// JSON nested `depth` arrays deep around `inner`.
inline std::string nested(int depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

// A directory made fresh under /tmp (mkdtemp), removed with its contents at scope end.
struct TempDir {
  std::filesystem::path path;

  explicit TempDir(const std::string& name = "test") {
    std::string tmpl = "/tmp/memplace-" + name + "-XXXXXX";
    const char* d = ::mkdtemp(tmpl.data());
    EXPECT_NE(d, nullptr) << "mkdtemp " << tmpl;
    if (d) path = d;
  }
  ~TempDir() {
    if (!path.empty()) std::filesystem::remove_all(path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  operator std::string() const { return path.string(); }
};

}  // namespace memplace::testing
