// SPDX-License-Identifier: GPL-2.0-only
// Compare over the sample dirs of tests/fixtures/results: k6.18 -> k7.0 holds one constructed
// fix (guest_memfd interleave) and one constructed regression (bind:1 on shmem).
// MEMPLACE_UPDATE_GOLDEN=1 rewrites tests/fixtures/golden/compare.* after a deliberate change.
#include "report/compare.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "golden.h"
#include "results/results.h"
#include "test_support.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

const std::string kGmem = "interleave:0-1/guest_memfd/host/256MiB/t1/cpu0";
const std::string kBindShmem = "bind:1/shmem/host/256MiB/t1/cpu0";
const std::string kShmem = "interleave:0-1/shmem/host/256MiB/t1/cpu0";

using memplace::testing::expect_golden;
using memplace::testing::slurp;

using testing::fixture_path;
using testing::load_results_fixture;

const CellComparison& cell(const CompareResult& r, const std::string& key) {
  for (const auto& c : r.cells)
    if (c.cell_key == key) return c;
  ADD_FAILURE() << "no cell " << key;
  static CellComparison none;
  return none;
}

// Paths in goldens would differ per checkout, so goldens use the dir names only.
CompareResult old_vs_new() {
  CompareResult r = compare_runs({load_results_fixture("k6.18"), load_results_fixture("k7.0")});
  r.dirs = {"k6.18", "k7.0"};
  return r;
}

TEST(Compare, FindsTheFixAndTheRegression) {
  CompareResult r = old_vs_new();
  ASSERT_EQ(r.cells.size(), 6u);
  EXPECT_EQ(r.kernels, (std::vector<std::string>{"6.18.0-1-amd64", "7.0.0-memplace"}));

  const CellComparison& gmem = cell(r, kGmem);
  ASSERT_EQ(gmem.sides.size(), 2u);
  EXPECT_EQ(gmem.split_nodes, (std::vector<int>{0, 1}));
  EXPECT_EQ(gmem.sides[0].state, CellState::kNotHonored);
  EXPECT_DOUBLE_EQ(gmem.sides[0].split.at(0), 1.0);
  EXPECT_EQ(gmem.sides[1].state, CellState::kHonored);
  EXPECT_DOUBLE_EQ(gmem.sides[1].split.at(1), 0.5);
  EXPECT_EQ(gmem.sides[1].change, Change::kFix);

  const CellComparison& bind = cell(r, kBindShmem);
  EXPECT_EQ(bind.sides[0].state, CellState::kHonored);
  EXPECT_EQ(bind.sides[1].state, CellState::kNotHonored);
  EXPECT_EQ(bind.sides[1].change, Change::kRegression);

  EXPECT_EQ(cell(r, kShmem).sides[1].change, Change::kSame);
  EXPECT_EQ(cell(r, "weighted-interleave:0-1/guest_memfd/host/256MiB/t1/cpu0").sides[1].state,
            CellState::kUnsupported);
  EXPECT_EQ(count_changes(r, Change::kRegression), 1);
  EXPECT_EQ(count_changes(r, Change::kFix), 1);
  EXPECT_EQ(count_changes(r, Change::kSame), 4);
  EXPECT_TRUE(has_regression(r));
}

TEST(Compare, ReverseDirectionSwapsFixAndRegression) {
  CompareResult r = compare_runs({load_results_fixture("k7.0"), load_results_fixture("k6.18")});
  EXPECT_EQ(cell(r, kGmem).sides[1].change, Change::kRegression);
  EXPECT_EQ(cell(r, kBindShmem).sides[1].change, Change::kFix);
  EXPECT_TRUE(has_regression(r));
}

TEST(Compare, SameDirHasNoRegression) {
  CompareResult r = compare_runs({load_results_fixture("k6.18"), load_results_fixture("k6.18")});
  EXPECT_FALSE(has_regression(r));
  EXPECT_EQ(count_changes(r, Change::kSame), static_cast<int>(r.cells.size()));
  // Identical samples: the t-test sees no difference at all.
  ASSERT_TRUE(cell(r, kGmem).sides[1].populate_test.has_value());
  EXPECT_NEAR(cell(r, kGmem).sides[1].populate_test->p_value, 1.0, 1e-12);
}

TEST(Compare, PopulateTimesOverRepeats) {
  CompareResult r = old_vs_new();
  const CompareSide& a = cell(r, kGmem).sides[0];
  const CompareSide& b = cell(r, kGmem).sides[1];
  ASSERT_EQ(a.populate_seconds.size(), 3u);
  EXPECT_NEAR(a.populate_mean, (0.142 + 0.151 + 0.138) / 3, 1e-12);
  EXPECT_NEAR(b.populate_mean, (0.171 + 0.165 + 0.176) / 3, 1e-12);
  EXPECT_GT(a.populate_stddev, 0);
  ASSERT_TRUE(b.populate_test.has_value());
  EXPECT_GT(b.populate_test->t, 0);
  EXPECT_LT(b.populate_test->p_value, 0.05);
  // Single runs cannot be tested.
  EXPECT_FALSE(cell(r, "default/anon/host/256MiB/t1/cpu0").sides[1].populate_test.has_value());
}

TEST(Compare, ThreeDirsWithMissingAndMixedCells) {
  CompareResult r = compare_runs(
      {load_results_fixture("k6.18"), load_results_fixture("k7.0"), load_results_fixture("mixed")});
  ASSERT_EQ(r.labels, (std::vector<std::string>{"A", "B", "C"}));
  const CellComparison& gmem = cell(r, kGmem);
  ASSERT_EQ(gmem.sides.size(), 3u);
  // The mixed dir holds this cell once per kernel: one honored, one not.
  EXPECT_EQ(gmem.sides[2].state, CellState::kMixed);
  EXPECT_EQ(gmem.sides[2].kernel, "6.18.0-1-amd64, 7.0.0-memplace");
  EXPECT_EQ(gmem.sides[2].change, Change::kChanged);
  EXPECT_EQ(cell(r, kBindShmem).sides[2].change, Change::kMissing);
  EXPECT_EQ(r.kernels[2], "6.18.0-1-amd64, 7.0.0-memplace");
}

TEST(Compare, CellOnlyInLaterDirIsNew) {
  std::vector<RunRecord> a = load_results_fixture("k6.18");
  std::vector<RunRecord> b = a;
  RunRecord extra = b.front();
  extra.cell_key.clear();  // matched by its fields instead
  extra.policy = "preferred-many";
  b.push_back(extra);
  CompareResult r = compare_runs({a, b});
  EXPECT_EQ(count_changes(r, Change::kNew), 1);
  EXPECT_EQ(cell(r, "preferred-many:0-1/guest_memfd/host/256MiB/t1/cpu0").sides[0].state,
            CellState::kAbsent);
}

TEST(Compare, HonoredToMixedIsARegression) {
  std::vector<RunRecord> a = load_results_fixture("k6.18"), b = a;
  for (RunRecord& r : b)
    if (r.cell_key == kShmem && r.repeat == 1) r.verdict->honored = false;
  CompareResult r = compare_runs({a, b});
  EXPECT_EQ(cell(r, kShmem).sides[1].state, CellState::kMixed);
  EXPECT_EQ(cell(r, kShmem).sides[1].change, Change::kRegression);
}

TEST(Compare, DirsErrors) {
  EXPECT_FALSE(compare_dirs({fixture_path("results/k6.18")}).ok());
  auto missing = compare_dirs({fixture_path("results/k6.18"), "/nonexistent"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent"), std::string::npos);
  auto ok = compare_dirs({fixture_path("results/k6.18"), fixture_path("results/k7.0")});
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_TRUE(has_regression(*ok));
  EXPECT_EQ(ok->dirs.size(), 2u);
}

TEST(CompareRender, MarkdownNamesRegressionAndFix) {
  std::string md = render_compare_markdown(old_vs_new());
  EXPECT_NE(md.find("**1 regression(s), 1 fix(es)**"), std::string::npos) << md;
  EXPECT_NE(md.find("## Regressions\n\n- B vs A: `" + kBindShmem +
                    "`: 0/100 honored (2/2) -> 62/38 **not honored** (0/2)"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("## Fixes\n\n- B vs A: `" + kGmem +
                    "`: 100/0 **not honored** (0/3) -> 50/50 honored (3/3)"),
            std::string::npos)
      << md;
  expect_golden(md, "compare.md");
}

TEST(CompareRender, CsvHasOneRowPerCellAndSide) {
  CompareResult r = old_vs_new();
  std::string csv = render_compare_csv(r);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 2 * 6);
  EXPECT_NE(csv.find(kBindShmem + ",bind,1,shmem,host,268435456,B,k7.0,7.0.0-memplace,2,2,0,0,"
                                  "0-1,62/38,0,2,not honored,regression,"),
            std::string::npos)
      << csv;
  expect_golden(csv, "compare.csv");
}

TEST(CompareRender, JsonCountsAndRoundTrips) {
  nlohmann::json j = compare_to_json(old_vs_new());
  EXPECT_EQ(j["regressions"], 1);
  EXPECT_EQ(j["fixes"], 1);
  EXPECT_EQ(j["baseline"], "A");
  EXPECT_EQ(j["cells"].size(), 6u);
  EXPECT_EQ(j["cells"][0]["sides"][1]["change"], "fix");
  EXPECT_EQ(j["cells"][0]["sides"][0]["change"], nullptr);
  // Parses back: no NaN/inf leaked into the document.
  EXPECT_EQ(nlohmann::json::parse(j.dump()), j);
  expect_golden(j.dump(2) + "\n", "compare.json");
}

TEST(CompareRender, WriteCompareWritesThreeFiles) {
  fs::path out =
      fs::temp_directory_path() / ("memplace_compare_test_" + std::to_string(::getpid()));
  fs::remove_all(out);
  CompareResult r = old_vs_new();
  ASSERT_TRUE(write_compare(r, (out / "sub").string()).ok());
  EXPECT_EQ(slurp(out / "sub" / "compare.md"), render_compare_markdown(r));
  EXPECT_EQ(slurp(out / "sub" / "compare.csv"), render_compare_csv(r));
  auto j = read_json_file((out / "sub" / "compare.json").string());
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["regressions"], 1);
  fs::remove_all(out);
}

// Issue 14 item 16: --fail-on-regression passed when a cell that ran in the baseline failed or
// vanished in the candidate, and when the two shared no cell at all.
TEST(RegressionFailures, FailedMissingAndNoOverlapFailTheCheck) {
  std::vector<RunRecord> base = load_results_fixture("k7.0");
  EXPECT_TRUE(regression_failures(compare_runs({base, base})).empty());

  std::vector<RunRecord> failed = base, missing;
  for (auto& r : failed)
    if (r.cell_key == kShmem) {
      r.status = RunStatus::kFailed;
      r.verdict.reset();
      r.placement_pages.clear();
    }
  for (const auto& r : base)
    if (r.cell_key != kShmem) missing.push_back(r);
  auto f = regression_failures(compare_runs({base, failed}));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0], kShmem + " in B: ran in the baseline, failed here");
  auto m = regression_failures(compare_runs({base, missing}));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], kShmem + " in B: ran in the baseline, missing here");

  std::vector<RunRecord> elsewhere = base;
  for (auto& r : elsewhere) r.cell_key = "other/" + r.cell_key;
  auto none = regression_failures(compare_runs({base, elsewhere}));
  ASSERT_FALSE(none.empty());
  EXPECT_EQ(none.back(), "B shares no cell with the baseline");

  // The regression the fixtures hold is one of them too.
  auto r = regression_failures(old_vs_new());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find(kBindShmem), std::string::npos) << r[0];
}

}  // namespace
}  // namespace memplace
