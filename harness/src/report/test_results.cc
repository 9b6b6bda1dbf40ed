// SPDX-License-Identifier: GPL-2.0-only
#include "report/test_results.h"

#include <map>

#include "report/html_text.h"
#include "report/record_view.h"
#include "report/report.h"

namespace memplace {
namespace {

using view::CellState;

// JUnit's XML takes HTML's escaping (html_text.h): &, <, >, quotes, no control characters.
// KTAP and JUnit names and reasons stay on one line, and '#' would start a KTAP directive.
std::string one_line(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == '\n' || c == '\r') ? ' ' : c == '#' ? '_' : c;
  return out.size() > 400 ? out.substr(0, 400) : out;
}

TestCase fold_test(const std::string& name, const view::CellFold& f) {
  TestCase t;
  t.name = name;
  const CellState state = f.state();
  switch (state) {
    case CellState::kHonored:
      break;
    case CellState::kUnsupported:
      t.outcome = TestCase::Outcome::kSkip;
      t.reason = f.message.empty() ? "unsupported" : f.message;
      break;
    case CellState::kNoVerdict:
      t.outcome = TestCase::Outcome::kSkip;
      t.reason = "no verdict: the policy says nothing of the split";
      break;
    default:
      t.outcome = TestCase::Outcome::kFail;
      t.reason = view::cell_state_name(state) + (f.message.empty() ? "" : ": " + f.message);
  }
  std::vector<int> nodes;
  for (const auto& [node, _] : f.pages) nodes.push_back(node);
  if (f.ok > 0)
    t.diagnostics.push_back("split " + view::split_text(f.split(), nodes) + " over nodes " +
                            view::nodes_text(nodes) + "; " + std::to_string(f.honored) + "/" +
                            std::to_string(f.judged) + " repeats honored");
  t.diagnostics.push_back(std::to_string(f.runs) + " runs: " + std::to_string(f.ok) + " ok, " +
                          std::to_string(f.unsupported) + " unsupported, " +
                          std::to_string(f.failed) + " failed");
  return t;
}

}  // namespace

std::vector<TestCase> cell_tests(const std::vector<RunRecord>& runs) {
  std::vector<TestCase> out;
  const auto kernels = runs_by_kernel(runs);
  for (const auto& [kernel, records] : kernels) {
    std::vector<std::string> order;
    std::map<std::string, view::CellFold> folds;
    for (const RunRecord* r : records) {
      const std::string key = cell_match_key(*r);
      if (!folds.count(key)) order.push_back(key);
      folds[key].add(*r);
    }
    for (const std::string& key : order)
      out.push_back(fold_test(kernels.size() > 1 ? kernel + ": " + key : key, folds[key]));
  }
  return out;
}

std::vector<TestCase> compare_tests(const CompareResult& r,
                                    const std::vector<std::string>& failures) {
  std::vector<TestCase> out;
  for (const CellComparison& c : r.cells) {
    for (size_t s = 1; s < c.sides.size(); ++s) {
      TestCase t;
      t.name = r.labels[s] + ": " + c.cell_key;
      const std::string prefix = c.cell_key + " in " + r.labels[s] + ": ";
      for (const std::string& f : failures)
        if (f.rfind(prefix, 0) == 0) t.reason = f.substr(prefix.size());
      const CompareSide& side = c.sides[s];
      if (!t.reason.empty()) {
        t.outcome = TestCase::Outcome::kFail;
      } else if (!side.present || side.ok == 0) {
        t.outcome = TestCase::Outcome::kSkip;
        t.reason = side.present ? view::cell_state_name(side.state) : "absent here";
      }
      t.diagnostics.push_back(
          view::cell_state_name(c.sides[0].state) + " in " + r.labels[0] + ", " +
          view::cell_state_name(side.state) + " here (" +
          (change_name(side.change).empty() ? "baseline" : change_name(side.change)) + ")");
      out.push_back(std::move(t));
    }
  }
  return out;
}

std::string render_ktap(const std::vector<TestCase>& tests) {
  std::string out = "KTAP version 1\n1.." + std::to_string(tests.size()) + "\n";
  for (size_t i = 0; i < tests.size(); ++i) {
    const TestCase& t = tests[i];
    for (const std::string& d : t.diagnostics) out += "# " + one_line(d) + "\n";
    const std::string n = std::to_string(i + 1) + " " + one_line(t.name);
    switch (t.outcome) {
      case TestCase::Outcome::kPass:
        out += "ok " + n + "\n";
        break;
      case TestCase::Outcome::kFail:
        out += "# " + one_line(t.reason) + "\nnot ok " + n + "\n";
        break;
      case TestCase::Outcome::kSkip:
        out += "ok " + n + " # SKIP " + one_line(t.reason) + "\n";
        break;
    }
  }
  return out;
}

std::string render_junit(const std::vector<TestCase>& tests, const std::string& suite) {
  size_t failures = 0, skipped = 0;
  std::string cases;
  for (const TestCase& t : tests) {
    cases += "    <testcase classname=\"memplace\" name=\"" + html_escape(t.name) + "\">\n";
    if (t.outcome == TestCase::Outcome::kFail) {
      ++failures;
      cases += "      <failure message=\"" + html_escape(t.reason) + "\"/>\n";
    } else if (t.outcome == TestCase::Outcome::kSkip) {
      ++skipped;
      cases += "      <skipped message=\"" + html_escape(t.reason) + "\"/>\n";
    }
    std::string out;
    for (const std::string& d : t.diagnostics) out += d + "\n";
    cases += "      <system-out>" + html_escape(out) + "</system-out>\n    </testcase>\n";
  }
  const std::string counts = "tests=\"" + std::to_string(tests.size()) + "\" failures=\"" +
                             std::to_string(failures) + "\" errors=\"0\" skipped=\"" +
                             std::to_string(skipped) + "\"";
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"memplace\" " + counts +
         ">\n  <testsuite name=\"" + html_escape(suite) + "\" " + counts + ">\n" + cases +
         "  </testsuite>\n</testsuites>\n";
}

}  // namespace memplace
