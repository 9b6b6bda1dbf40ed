// SPDX-License-Identifier: GPL-2.0-only
// The Google Benchmark plumbing around the locality kernels produces JSON with the expected
// benchmark names, directly and through `memplace run --locality`. The kernels themselves:
// unit/locality_kernels_test.cc; in the testbed: testbed_test.cc.
#include "experiment/locality_run.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "host/backing.h"
#include "host/populate.h"
#include "memplace_exec.h"
#include "results/results.h"
#include "spec/spec.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, false);
}

TEST(RunLocalityBenchmark, WritesGoogleBenchmarkJsonWithTheExpectedNames) {
  std::string dir = testing::fresh_temp_dir("locality-direct");
  fs::create_directories(dir);
  auto m = create_backing(BackingKind::kAnon, 8ull << 20);
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(populate_with_fallback(std::nullopt, m->addr(), m->size()).ok());
  for (auto [kind, prefix, counter] :
       {std::tuple{LocalityKind::kTriad, "triad/threads:2/", "bytes_per_second"},
        std::tuple{LocalityKind::kChase, "chase/threads:1/", "seconds_per_load"}}) {
    std::string path = dir + "/" + locality_name(kind) + ".json";
    auto s = run_locality_benchmark(kind, m->addr(), m->size(), {-1, -1}, path, 0.01);
    ASSERT_TRUE(s.ok()) << s.error().describe();
    auto j = read_json(path);
    ASSERT_FALSE(j.is_discarded());
    ASSERT_TRUE(j.contains("context"));
    ASSERT_EQ(j["benchmarks"].size(), 1u);
    const auto& b = j["benchmarks"][0];
    EXPECT_EQ(b["name"].get<std::string>().rfind(prefix, 0), 0u) << b["name"];
    EXPECT_GT(b[counter].get<double>(), 0) << counter;
  }
  fs::remove_all(dir);
}

TEST(SpecRunTable, LocalityPopulateAndThpParseAndReachTheGuestsSpec) {
  auto spec = parse_spec("[run]\nlocality = \"chase\"\npopulate = \"store_per_page\"\nthp = true\n",
                         "t.toml");
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  EXPECT_EQ(spec->locality, "chase");
  EXPECT_EQ(spec->populate_method, "store_per_page");
  EXPECT_EQ(spec->thp, ThpMode::kOn);
  // The testbed hands its guest render_spec_toml(spec, false): the settings must survive it.
  spec->testbed = TestbedSpec{};
  auto inner = parse_spec(render_spec_toml(*spec, false), "inner.toml");
  ASSERT_TRUE(inner.ok()) << inner.error().describe();
  EXPECT_EQ(inner->locality, "chase");
  EXPECT_EQ(inner->populate_method, "store_per_page");
  EXPECT_EQ(inner->thp, ThpMode::kOn);
  EXPECT_FALSE(inner->testbed.has_value());
}

TEST(SpecRunTable, DefaultsRenderNothingNewAndBadValuesNameTheField) {
  std::string text = render_spec_toml(default_spec());
  EXPECT_EQ(text.find("locality"), std::string::npos);
  EXPECT_EQ(text.find("populate"), std::string::npos);
  auto bad = parse_spec("[run]\nlocality = \"stream\"\n", "t.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("run.locality"), std::string::npos);
  // The locality loop's spec_version 1 name still reads, with a warning.
  auto old = parse_spec("[run]\nworkload = \"triad\"\n", "t.toml");
  ASSERT_TRUE(old.ok()) << old.error().describe();
  EXPECT_EQ(old->locality, "triad");
  ASSERT_EQ(old->warnings.size(), 1u);
  EXPECT_NE(old->warnings[0].find("run.workload is spec_version 1's name for run.locality"),
            std::string::npos);
  bad = parse_spec("[run]\npopulate = \"mmap\"\n", "t.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("run.populate"), std::string::npos);
}

using testing::run_memplace;

TEST(MemplaceRun, LocalityJsonIsLinkedFromTheRecordWithThePopulateMethod) {
  std::string dir = testing::fresh_temp_dir("locality-cli");
  fs::create_directories(dir);
  std::string out = dir + "/out";
  auto e = run_memplace(
      "run --size 8MiB --threads 2 --locality triad --populate memset --no-thp --out " + out +
      " -q");
  ASSERT_EQ(e.status, 0) << e.output;
  auto runs = read_runs(out + "/runs.jsonl");
  ASSERT_TRUE(runs.ok()) << runs.error().describe();
  ASSERT_EQ(runs->records.size(), 1u);
  const RunRecord& r = runs->records[0];
  EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(r.populate_method, "memset");
  ASSERT_TRUE(r.extra.contains("locality")) << r.extra.dump();
  const auto& w = r.extra["locality"];
  ASSERT_TRUE(w.contains("file")) << w.dump();
  auto j = read_json(out + "/" + w["file"].get<std::string>());
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["benchmarks"][0]["name"].get<std::string>().rfind("triad/threads:2/", 0), 0u);
  EXPECT_EQ(w["benchmarks"], j["benchmarks"]) << "the record carries the results too";
  fs::remove_all(dir);
}

TEST(MemplaceRun, UnknownLocalityIsBadInput) {
  auto e = run_memplace("run --locality stream --out /nonexistent/x");
  EXPECT_EQ(e.status, 2) << e.output;
  EXPECT_NE(e.output.find("--locality"), std::string::npos) << e.output;
}

}  // namespace
}  // namespace memplace
