// SPDX-License-Identifier: GPL-2.0-only
// Markdown, CSV and JSON views of a CompareResult. Pure functions of their input.
#include <cmath>

#include "report/compare.h"
#include "report/record_view.h"
#include "results/results.h"

namespace memplace {
namespace {

using view::fixed;
using view::md_cell;

std::string side_md(const CompareSide& s, const std::vector<int>& nodes) {
  if (!s.present) return "absent";
  if (s.ok == 0) return cell_state_name(s.state);
  std::string state =
      s.state == CellState::kNotHonored ? "**not honored**" : cell_state_name(s.state);
  std::string out = view::split_text(s.split, nodes) + " " + state;
  if (s.judged > 0) out += " (" + std::to_string(s.honored) + "/" + std::to_string(s.judged) + ")";
  if (s.failed + s.unsupported > 0)
    out += ", " + std::to_string(s.failed + s.unsupported) + " not run";
  return out;
}

std::string change_md(Change change) {
  if (change == Change::kRegression || change == Change::kFix)
    return "**" + change_name(change) + "**";
  return change_name(change);
}

std::string populate_md(const CompareSide& s) {
  if (s.populate_seconds.empty()) return "";
  return fixed(s.populate_mean, 3) + " ± " + fixed(s.populate_stddev, 3) +
         " (n=" + std::to_string(s.populate_seconds.size()) + ")";
}

std::string relative_change(const CompareSide& base, const CompareSide& side) {
  if (base.populate_mean <= 0 || side.populate_seconds.empty()) return "";
  double pct = (side.populate_mean / base.populate_mean - 1) * 100;
  return (pct >= 0 ? "+" : "") + fixed(pct, 1) + "%";
}

std::string test_md(const CompareSide& base, const CompareSide& side, double alpha) {
  std::string rel = relative_change(base, side);
  if (rel.empty()) return "";
  if (!side.populate_test) return rel + ", n<2";
  const WelchResult& w = *side.populate_test;
  std::string p = w.p_value < 0.001 ? "p<0.001" : "p=" + fixed(w.p_value, 3);
  return rel + ", " + p + (w.p_value < alpha ? " (significant)" : "");
}

std::string split_nodes_text(const std::vector<int>& nodes) {
  std::string out;
  for (int n : nodes) out += (out.empty() ? "" : "/") + std::to_string(n);
  return out.empty() ? "-" : out;
}

void list_changes(std::string& out, const CompareResult& r, Change change,
                  const std::string& heading) {
  std::string items;
  for (const CellComparison& c : r.cells) {
    for (size_t s = 1; s < c.sides.size(); ++s) {
      if (c.sides[s].change != change) continue;
      items += "- " + md_cell(r.labels[s]) + " vs " + md_cell(r.labels[0]) + ": `" +
               view::md_code(c.cell_key) + "`: " + side_md(c.sides[0], c.split_nodes) + " -> " +
               side_md(c.sides[s], c.split_nodes) + " (split over nodes " +
               split_nodes_text(c.split_nodes) + ")\n";
    }
  }
  if (!items.empty()) out += "## " + heading + "\n\n" + items + "\n";
}

nlohmann::json node_split_json(const std::map<int, double>& split) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [node, f] : split) j[std::to_string(node)] = f;
  return j;
}

}  // namespace

std::string render_compare_markdown(const CompareResult& r) {
  std::string out = "# memplace compare\n\n";
  for (size_t s = 0; s < r.labels.size(); ++s) {
    out += "- " + md_cell(r.labels[s]) + (s == 0 ? " (baseline)" : "") + ": ";
    if (s < r.dirs.size()) out += "`" + view::md_code(r.dirs[s]) + "`, ";
    out +=
        "kernel " + (r.kernels[s].empty() ? std::string("unknown") : md_cell(r.kernels[s])) + "\n";
  }
  out += "\n**" + std::to_string(count_changes(r, Change::kRegression)) + " regression(s), " +
         std::to_string(count_changes(r, Change::kFix)) + " fix(es)**; " +
         std::to_string(count_changes(r, Change::kSame)) + " same, " +
         std::to_string(count_changes(r, Change::kChanged)) + " changed, " +
         std::to_string(count_changes(r, Change::kNew)) + " new, " +
         std::to_string(count_changes(r, Change::kMissing)) + " missing.\n\n";
  list_changes(out, r, Change::kRegression, "Regressions");
  list_changes(out, r, Change::kFix, "Fixes");

  out +=
      "## Cells\n\nSplit: percent of pages per node over the nodes in \"split over\", summed "
      "over repeats; (h/n) counts honored repeats. Populate: mean ± stddev in seconds; the "
      "change against " +
      md_cell(r.labels[0]) + " is tested with Welch's t (two-sided, alpha " + fixed(r.alpha, 2) +
      ").\n\n| cell | split over |";
  size_t n = r.labels.size();
  // Labels are dir names or, with --by host, hostnames from the records: untrusted text.
  for (size_t s = 0; s < n; ++s) out += " " + md_cell(r.labels[s]) + " |";
  for (size_t s = 1; s < n; ++s) out += " change " + md_cell(r.labels[s]) + " |";
  for (size_t s = 0; s < n; ++s) out += " populate " + md_cell(r.labels[s]) + " (s) |";
  for (size_t s = 1; s < n; ++s)
    out += " " + md_cell(r.labels[s]) + " vs " + md_cell(r.labels[0]) + " |";
  out += "\n|---|---|";
  for (size_t i = 0; i < 4 * n - 2; ++i) out += "---|";
  out += "\n";
  for (const CellComparison& c : r.cells) {
    out += "| `" + view::md_code(c.cell_key) + "` | " + split_nodes_text(c.split_nodes) + " |";
    for (const CompareSide& s : c.sides) out += " " + side_md(s, c.split_nodes) + " |";
    for (size_t s = 1; s < n; ++s) out += " " + change_md(c.sides[s].change) + " |";
    for (const CompareSide& s : c.sides) out += " " + populate_md(s) + " |";
    for (size_t s = 1; s < n; ++s) out += " " + test_md(c.sides[0], c.sides[s], r.alpha) + " |";
    out += "\n";
  }
  out += "\n";

  std::string notes;
  for (const CellComparison& c : r.cells)
    for (size_t s = 0; s < n; ++s)
      if (!c.sides[s].message.empty())
        notes += "- " + md_cell(r.labels[s]) + " `" + view::md_code(c.cell_key) +
                 "`: " + md_cell(c.sides[s].message) + "\n";
  if (!notes.empty()) out += "## Not run\n\n" + notes + "\n";
  if (!r.warnings.empty()) {
    out += "## Skipped lines\n\n";
    for (const auto& w : r.warnings) out += "- " + md_cell(w) + "\n";
    out += "\n";
  }
  return out;
}

std::string render_compare_csv(const CompareResult& r) {
  std::string out = view::csv_line({"cell_key",
                                    "policy",
                                    "nodes",
                                    "backing",
                                    "toucher",
                                    "size_bytes",
                                    "side",
                                    "dir",
                                    "kernel",
                                    "runs",
                                    "ok",
                                    "unsupported",
                                    "failed",
                                    "split_nodes",
                                    "split",
                                    "honored_runs",
                                    "judged_runs",
                                    "state",
                                    "change",
                                    "populate_n",
                                    "populate_mean_seconds",
                                    "populate_stddev_seconds",
                                    "welch_t",
                                    "welch_df",
                                    "p_value",
                                    "message"});
  for (const CellComparison& c : r.cells) {
    for (size_t s = 0; s < c.sides.size(); ++s) {
      const CompareSide& side = c.sides[s];
      const auto& w = side.populate_test;
      bool has_times = !side.populate_seconds.empty();
      out += view::csv_line(
          {c.cell_key,
           c.policy,
           view::nodes_text(c.nodes),
           c.backing,
           c.toucher,
           std::to_string(c.size_bytes),
           r.labels[s],
           s < r.dirs.size() ? r.dirs[s] : "",
           side.kernel,
           std::to_string(side.runs),
           std::to_string(side.ok),
           std::to_string(side.unsupported),
           std::to_string(side.failed),
           view::nodes_text(c.split_nodes),
           side.ok ? view::split_text(side.split, c.split_nodes) : "",
           std::to_string(side.honored),
           std::to_string(side.judged),
           cell_state_name(side.state),
           change_name(side.change),
           std::to_string(side.populate_seconds.size()),
           has_times ? fixed(side.populate_mean, 6) : "",
           has_times ? fixed(side.populate_stddev, 6) : "",
           w && std::isfinite(w->t) ? fixed(w->t, 4) : (w ? (w->t > 0 ? "inf" : "-inf") : ""),
           w ? fixed(w->df, 3) : "",
           w ? fixed(w->p_value, 6) : "",
           side.message});
    }
  }
  return out;
}

nlohmann::json compare_to_json(const CompareResult& r) {
  using nlohmann::json;
  json cells = json::array();
  for (const CellComparison& c : r.cells) {
    json sides = json::array();
    for (size_t s = 0; s < c.sides.size(); ++s) {
      const CompareSide& side = c.sides[s];
      json w;
      if (side.populate_test) {
        const WelchResult& t = *side.populate_test;
        // JSON has no infinity; a constant-vs-constant difference is reported as null t.
        w = {{"t", std::isfinite(t.t) ? json(t.t) : json()},
             {"df", t.df},
             {"p_value", t.p_value},
             {"significant", t.p_value < r.alpha}};
      }
      sides.push_back(
          {{"label", r.labels[s]},
           {"present", side.present},
           {"kernel", side.kernel},
           {"runs", side.runs},
           {"ok", side.ok},
           {"unsupported", side.unsupported},
           {"failed", side.failed},
           {"honored_runs", side.honored},
           {"judged_runs", side.judged},
           {"state", cell_state_name(side.state)},
           {"split", node_split_json(side.split)},
           {"change", side.change == Change::kNone ? json() : json(change_name(side.change))},
           {"populate_seconds", side.populate_seconds},
           {"populate_mean", side.populate_mean},
           {"populate_stddev", side.populate_stddev},
           {"populate_test", w},
           {"message", side.message}});
    }
    cells.push_back({{"cell_key", c.cell_key},
                     {"policy", c.policy},
                     {"nodes", c.nodes},
                     {"backing", c.backing},
                     {"toucher", c.toucher},
                     {"size_bytes", c.size_bytes},
                     {"split_nodes", c.split_nodes},
                     {"sides", sides}});
  }
  return {{"schema_version", kSchemaVersion},
          {"baseline", r.labels.empty() ? json() : json(r.labels[0])},
          {"labels", r.labels},
          {"dirs", r.dirs},
          {"kernels", r.kernels},
          {"alpha", r.alpha},
          {"regressions", count_changes(r, Change::kRegression)},
          {"fixes", count_changes(r, Change::kFix)},
          {"cells", cells},
          {"warnings", r.warnings}};
}

Status write_compare(const CompareResult& r, const std::string& out_dir) {
  if (auto s = make_dirs(out_dir); !s) return s;
  if (auto s = write_file_atomic(out_dir + "/compare.md", render_compare_markdown(r)); !s) return s;
  if (auto s = write_file_atomic(out_dir + "/compare.csv", render_compare_csv(r)); !s) return s;
  return write_json_atomic(out_dir + "/compare.json", compare_to_json(r));
}

}  // namespace memplace
