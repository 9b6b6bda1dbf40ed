// SPDX-License-Identifier: GPL-2.0-only
// Which source a record's verdict uses, how the sources' disagreement is measured, and the
// placement_sources JSON that guests send back (untrusted).
#include "experiment/placement_choice.h"

#include <gtest/gtest.h>

#include "results/results.h"

namespace memplace {
namespace {

RunRecord record_with(std::map<std::string, SourceReading> sources) {
  RunRecord r;
  r.run_id = "r0001";
  r.size_bytes = 64ull << 20;  // 16384 pages
  r.placement_sources = std::move(sources);
  return r;
}

SourceReading mapped(std::map<int, uint64_t> pages, uint64_t absent) {
  SourceReading s = source_ok(std::move(pages));
  s.detail["absent"] = absent;
  return s;
}

TEST(ChoosePlacement, MovePagesWhenItSeesEveryPage) {
  RunRecord r = record_with({{"move_pages", mapped({{0, 8192}, {1, 8192}}, 0)},
                             {"trace", source_ok({{0, 8190}, {1, 8194}})}});
  ASSERT_TRUE(choose_placement(r, 16384));
  EXPECT_EQ(r.placement_source, "move_pages");
  EXPECT_EQ(r.placement_pages.at(1), 8192u);
}

TEST(ChoosePlacement, TraceThenCgroupThenMeminfo) {
  RunRecord r = record_with({{"move_pages", mapped({{0, 100}}, 16284)},
                             {"trace", source_incomplete("12 events lost")},
                             {"cgroup", source_ok({{0, 16384}})},
                             {"meminfo", source_ok({{0, 20000}})}});
  ASSERT_TRUE(choose_placement(r, 16384));
  EXPECT_EQ(r.placement_source, "cgroup");
  r.placement_sources["trace"] = source_ok({{0, 16384}});
  ASSERT_TRUE(choose_placement(r, 16384));
  EXPECT_EQ(r.placement_source, "trace");
  r.placement_sources.erase("trace");
  r.placement_sources["cgroup"] = source_unsupported("no memory controller");
  ASSERT_TRUE(choose_placement(r, 16384));
  EXPECT_EQ(r.placement_source, "meminfo");
  r.placement_sources["meminfo"] = source_unsupported("none");
  r.placement_sources["move_pages"] = source_unsupported("private");
  EXPECT_FALSE(choose_placement(r, 16384));
  EXPECT_EQ(r.placement_source, "");
}

TEST(Disagreement, LargestPerNodeDifferenceBetweenWorkingSources) {
  RunRecord r = record_with({{"move_pages", mapped({{0, 16384}}, 0)},
                             {"trace", source_ok({{0, 16384}})},
                             {"cgroup", source_ok({{0, 16300}})},
                             {"meminfo", source_ok({{0, 16384 + 65536}, {1, 10}})},
                             {"broken", source_incomplete("lost", {{0, 5}})}});
  auto d = largest_disagreement(r);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->pages, 65536u + 84);
  EXPECT_EQ(d->a, "cgroup");
  EXPECT_EQ(d->b, "meminfo");
  EXPECT_EQ(d->node, 0);
  EXPECT_NEAR(d->percent, 100.0 * (65536 + 84) / 16384, 1e-9);
  EXPECT_NE(disagreement_warning(r).find("cgroup and meminfo differ by 65620 pages"),
            std::string::npos)
      << disagreement_warning(r);
  r.placement_sources.erase("meminfo");
  d = largest_disagreement(r);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->pages, 84u);  // 0.51% of the cell: no warning
  EXPECT_EQ(disagreement_warning(r), "");
  r.placement_sources = {{"trace", source_ok({{0, 1}})}};
  EXPECT_FALSE(largest_disagreement(r).has_value());
}

TEST(PlacementSourcesJson, RoundTripsEveryState) {
  RunRecord r = record_with({{"trace", source_ok({{0, 3}, {1, 4}})},
                             {"cgroup", source_unsupported("no memory controller")},
                             {"meminfo", source_incomplete("lost 3", {{1, 2}})}});
  r.placement_sources["trace"].detail["events"] = {{"alloc", 7}};
  auto j = placement_sources_json(r.placement_sources);
  EXPECT_EQ(j["trace"]["pages"]["1"], 4);
  EXPECT_EQ(j["trace"]["events"]["alloc"], 7);
  EXPECT_EQ(j["cgroup"]["unsupported"], "no memory controller");
  EXPECT_EQ(j["meminfo"]["incomplete"], "lost 3");
  EXPECT_FALSE(j["meminfo"].contains("pages"));  // a partial count never reads as the placement
  auto back = placement_sources_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ((*back)["trace"].pages.at(1), 4u);
  EXPECT_EQ((*back)["trace"].detail["events"]["alloc"], 7);
  EXPECT_EQ((*back)["cgroup"].state, SourceReading::State::kUnsupported);
  EXPECT_EQ((*back)["meminfo"].pages_seen.at(1), 2u);
}

TEST(PlacementSourcesJson, RefusesWhatAGuestCouldMakeUp) {
  using nlohmann::json;
  EXPECT_FALSE(placement_sources_from_json(json::array()).ok());
  EXPECT_FALSE(placement_sources_from_json({{"trace", {{"pages", {{"-1", 3}}}}}}).ok());
  EXPECT_FALSE(placement_sources_from_json({{"trace", {{"pages", {{"0", -3}}}}}}).ok());
  EXPECT_FALSE(placement_sources_from_json({{"trace", {{"pages", {{"0x", 3}}}}}}).ok());
  EXPECT_FALSE(placement_sources_from_json({{"trace", {{"what", 1}}}}).ok());
  json many = json::object();
  for (int i = 0; i < 40; ++i) many["s" + std::to_string(i)] = {{"unsupported", "x"}};
  EXPECT_FALSE(placement_sources_from_json(many).ok());
}

}  // namespace
}  // namespace memplace
