// SPDX-License-Identifier: GPL-2.0-only
// Results as test reports other tools read: KTAP (kselftest, KUnit's parser, KernelCI, LAVA)
// and JUnit XML (GitLab, Jenkins). One test per cell: ok when honored, not ok when not honored,
// mixed or failed, skipped (with the reason) when unsupported or without a verdict; the split
// goes along as diagnostics.
#pragma once

#include <string>
#include <vector>

#include "report/compare.h"
#include "results/run_record.h"

namespace memplace {

// A test's outcome, however it is printed.
struct TestCase {
  std::string name;  // a cell key, prefixed "KERNEL: " when the runs span kernels
  enum class Outcome { kPass, kFail, kSkip } outcome = Outcome::kPass;
  std::string reason;                    // why it failed or was skipped
  std::vector<std::string> diagnostics;  // one line each: the split, the repeats
};

// The cells of `runs` folded over their repeats, per kernel, in order of first appearance.
std::vector<TestCase> cell_tests(const std::vector<RunRecord>& runs);
// compare: one test per cell and later side; it fails where `failures` (regression_failures)
// names it.
std::vector<TestCase> compare_tests(const CompareResult& r,
                                    const std::vector<std::string>& failures);

std::string render_ktap(const std::vector<TestCase>& tests);
std::string render_junit(const std::vector<TestCase>& tests, const std::string& suite);

}  // namespace memplace
