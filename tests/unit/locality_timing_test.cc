// SPDX-License-Identifier: GPL-2.0-only
// The agent's repetition timer: the JSON it builds has Google Benchmark's shape (the shape
// check_benchmark_json holds both ends to), names and medians computed as Google Benchmark would,
// and timing real memory yields positive rates for both kernels.
#include "agent/locality_timing.h"

#include <gtest/gtest.h>

#include "agent/agent_protocol.h"
#include "host/backing.h"
#include "host/populate.h"

namespace memplace {
namespace {

TEST(RepeatedBenchmarkJson, TriadEntriesThenTheirMedianInGoogleBenchmarksShape) {
  LocalityShape shape{LocalityKind::kTriad, 2, 1000};
  RepetitionTiming timing{3, 0.25};
  // 10 iterations in 0.3 s, 20 in 0.5 s, 10 in 0.4 s: 30, 25 and 40 ms per iteration.
  std::vector<TimedRepetition> reps = {{10, 0.3, 0.01}, {20, 0.5, 0.02}, {10, 0.4, 0.03}};
  auto j = repeated_benchmark_json(shape, timing, reps, {{"timed_by", "test"}});
  ASSERT_TRUE(check_benchmark_json(j).ok()) << check_benchmark_json(j).error().describe();
  EXPECT_EQ(j["context"]["timed_by"], "test");
  const auto& b = j["benchmarks"];
  ASSERT_EQ(b.size(), 4u);
  const std::string name = "triad/threads:2/min_time:0.250/repeats:3/real_time";
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(b[i]["name"], name);
    EXPECT_EQ(b[i]["run_type"], "iteration");
    EXPECT_EQ(b[i]["repetition_index"], i);
    EXPECT_EQ(b[i]["repetitions"], 3);
    EXPECT_EQ(b[i]["time_unit"], "ms");
    EXPECT_EQ(b[i]["elements"], 1000.0);
  }
  EXPECT_DOUBLE_EQ(b[0]["real_time"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(b[1]["real_time"].get<double>(), 25.0);
  EXPECT_DOUBLE_EQ(b[0]["cpu_time"].get<double>(), 1.0);
  // 24 bytes per element per iteration: 10 * 24000 B in 0.3 s.
  EXPECT_DOUBLE_EQ(b[0]["bytes_per_second"].get<double>(), 10 * 24000 / 0.3);
  const auto& m = b[3];
  EXPECT_EQ(m["name"], name + "_median");
  EXPECT_EQ(m["run_type"], "aggregate");
  EXPECT_EQ(m["aggregate_name"], "median");
  EXPECT_EQ(m["iterations"], 3);
  EXPECT_FALSE(m.contains("repetition_index"));
  EXPECT_DOUBLE_EQ(m["real_time"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(m["bytes_per_second"].get<double>(), 10 * 24000 / 0.3);
}

TEST(RepeatedBenchmarkJson, ChaseReportsLatencyInMicrosecondsAndAnEvenMedianIsTheMidpoint) {
  LocalityShape shape{LocalityKind::kChase, 4, 1 << 20};
  std::vector<TimedRepetition> reps = {{2, 0.2, 0.2}, {2, 0.4, 0.4}};
  auto j = repeated_benchmark_json(shape, RepetitionTiming{2, 0.1}, reps, nlohmann::json::object());
  ASSERT_TRUE(check_benchmark_json(j).ok());
  const auto& b = j["benchmarks"];
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0]["name"], "chase/threads:1/min_time:0.100/repeats:2/real_time");
  EXPECT_EQ(b[0]["time_unit"], "us");
  EXPECT_DOUBLE_EQ(b[0]["real_time"].get<double>(), 0.1e6);
  double loads = 2.0 * kChaseStepsPerIteration;
  EXPECT_DOUBLE_EQ(b[0]["seconds_per_load"].get<double>(), 0.2 / loads);
  EXPECT_DOUBLE_EQ(b[0]["items_per_second"].get<double>(), loads / 0.2);
  EXPECT_EQ(b[0]["chase_bytes"], static_cast<double>((1 << 20) * kChaseSlotBytes));
  EXPECT_DOUBLE_EQ(b[2]["seconds_per_load"].get<double>(), 0.3 / loads);
  EXPECT_DOUBLE_EQ(b[2]["real_time"].get<double>(), 0.15e6);
}

class TimeLocalityRepeated : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = create_backing(BackingKind::kAnon, 8ull << 20);
    ASSERT_TRUE(m.ok()) << m.error().describe();
    ASSERT_TRUE(populate_with_fallback(std::nullopt, m->addr(), m->size()).ok());
    mapping_.emplace(std::move(*m));
  }
  std::optional<Mapping> mapping_;
};

TEST_F(TimeLocalityRepeated, TriadOnTwoWorkersEachRepetitionAtLeastTheMinimum) {
  RepetitionTiming timing{3, 0.01};
  auto j = time_locality_repeated(LocalityKind::kTriad, mapping_->addr(), mapping_->size(),
                                  {-1, -1}, timing, {{"timed_by", "test"}});
  ASSERT_TRUE(j.ok()) << j.error().describe();
  ASSERT_TRUE(check_benchmark_json(*j).ok());
  EXPECT_EQ((*j)["context"]["timed_by"], "test");
  EXPECT_EQ((*j)["context"]["repetitions"], 3);
  EXPECT_EQ((*j)["context"]["cpus"], nlohmann::json::array({-1, -1}));
  const auto& b = (*j)["benchmarks"];
  ASSERT_EQ(b.size(), 4u);
  for (const auto& e : b) {
    EXPECT_EQ(e["name"].get<std::string>().rfind("triad/threads:2/", 0), 0u) << e["name"];
    EXPECT_GT(e["bytes_per_second"].get<double>(), 0);
    EXPECT_GE(e["iterations"].get<uint64_t>(), 1u);
  }
  for (size_t i = 0; i < 3; ++i) {
    double seconds = b[i]["real_time"].get<double>() * 1e-3 * b[i]["iterations"].get<double>();
    EXPECT_GE(seconds, 0.01) << "repetition " << i << " ran shorter than min_time";
  }
  std::printf("[measured] host triad, 2 workers, 8 MiB: %.2f GB/s (median of 3)\n",
              b[3]["bytes_per_second"].get<double>() / 1e9);
}

TEST_F(TimeLocalityRepeated, ChaseReportsAPositiveLatency) {
  auto j = time_locality_repeated(LocalityKind::kChase, mapping_->addr(), mapping_->size(), {-1},
                                  RepetitionTiming{3, 0.01}, nlohmann::json::object());
  ASSERT_TRUE(j.ok()) << j.error().describe();
  ASSERT_TRUE(check_benchmark_json(*j).ok());
  const auto& m = (*j)["benchmarks"].back();
  EXPECT_EQ(m["aggregate_name"], "median");
  EXPECT_GT(m["seconds_per_load"].get<double>(), 0);
  std::printf("[measured] host chase, 8 MiB: %.1f ns per load (median of 3)\n",
              m["seconds_per_load"].get<double>() * 1e9);
}

TEST_F(TimeLocalityRepeated, NothingToRunOrTooLittleMemoryIsAnError) {
  EXPECT_FALSE(time_locality_repeated(LocalityKind::kNone, mapping_->addr(), mapping_->size(), {},
                                      RepetitionTiming{}, {})
                   .ok());
  auto small = time_locality_repeated(LocalityKind::kTriad, mapping_->addr(), 64, {},
                                      RepetitionTiming{}, {});
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message.find("too small"), std::string::npos);
}

}  // namespace
}  // namespace memplace
