// SPDX-License-Identifier: GPL-2.0-only
// report.md, runs.csv and summary.csv from a results dir. Pure text rendering over records;
// the only I/O is write_report().
#include "report/report.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "experiment/placement_choice.h"
#include "report/record_view.h"
#include "results/manifest.h"
#include "results/results.h"

namespace memplace {
namespace {

using view::csv_line;
using view::fixed;
using view::md_cell;

std::string kernel_of(const RunRecord& r) {
  return r.environment.kernel.empty() ? "unknown kernel" : kernel_label(r.environment);
}

// Runs grouped by the kernel that placed the memory, in order of first appearance. The markdown
// groups by host too when a merged dir holds several, so one host's runs never fold into
// another's summary; the CSV keeps its kernel column.
std::vector<std::pair<std::string, std::vector<const RunRecord*>>> by_kernel(
    const std::vector<RunRecord>& runs, bool with_host = false) {
  auto label = [&](const RunRecord& r) {
    return with_host ? "Host " + r.environment.hostname + ", kernel " + kernel_of(r) : kernel_of(r);
  };
  std::vector<std::pair<std::string, std::vector<const RunRecord*>>> groups;
  for (const RunRecord& r : runs) {
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.first == label(r); });
    if (it == groups.end()) it = groups.insert(groups.end(), {label(r), {}});
    it->second.push_back(&r);
  }
  return groups;
}

bool several_hosts(const std::vector<RunRecord>& runs) {
  return std::any_of(runs.begin(), runs.end(), [&](const RunRecord& r) {
    return r.environment.hostname != runs.front().environment.hostname;
  });
}

// Backings in the order people read them: the cover letter's subject last.
std::vector<std::string> backing_columns(const std::vector<const RunRecord*>& runs) {
  std::vector<std::string> known = {"anon", "shmem", "guest_memfd"}, out;
  std::set<std::string> present;
  for (const RunRecord* r : runs) present.insert(r->backing);
  for (const auto& b : known)
    if (present.erase(b)) out.push_back(b);
  out.insert(out.end(), present.begin(), present.end());
  return out;
}

// A summary row: a cell without its backing (the backing is the column).
std::string row_key(const RunRecord& r) {
  return r.policy + "|" + view::nodes_text(r.nodes) + "|" + r.toucher + "|" +
         std::to_string(r.size_bytes);
}

std::string summary_cell_md(const view::CellFold& c, const std::vector<int>& nodes) {
  if (c.runs == 0) return "";
  const view::CellState st = c.state();
  if (c.ok == 0) return view::cell_state_name(st);
  std::string out = view::split_text(c.split(), nodes) + " ";
  out += st == view::CellState::kNotHonored ? "**NOT honored**" : view::cell_state_name(st);
  if (c.judged > 1 || st == view::CellState::kMixed)
    out += " (" + std::to_string(c.honored) + "/" + std::to_string(c.judged) + ")";
  int bad = c.failed + c.unsupported;
  if (bad) out += ", " + std::to_string(bad) + " not run";
  return out;
}

std::string environment_text(const RunRecord& r) {
  std::string out = r.environment.kind;
  if (!r.environment.accel.empty()) out += ", " + r.environment.accel;
  return out;
}

std::string node_values(const std::map<int, uint64_t>& m) {
  std::string out;
  for (const auto& [node, v] : m)
    out += (out.empty() ? "" : ";") + std::to_string(node) + ":" + std::to_string(v);
  return out;
}

std::string node_values(const std::map<int, double>& m, int decimals) {
  std::string out;
  for (const auto& [node, v] : m)
    out += (out.empty() ? "" : ";") + std::to_string(node) + ":" + fixed(v, decimals);
  return out;
}

std::map<int, double> memused_mb(const MeminfoSnapshot& s) {
  std::map<int, double> out;
  for (const auto& [node, fields] : s)
    if (auto kb = view::memused_kb(s, node)) out[node] = *kb / 1024.0;
  return out;
}

void render_summary_md(std::string& out, const std::vector<const RunRecord*>& runs) {
  SummaryGrid s = summarise(runs);
  out += "### Summary: policy x backing\n\n";
  std::string order;
  for (int id : s.split_nodes) order += (order.empty() ? "" : "/") + std::to_string(id);
  out += "Split: percent of pages on nodes " + (order.empty() ? "-" : order) +
         ", summed over repeats; (h/n) counts honored repeats.\n\n";
  out += "| policy | nodes | toucher | size |";
  for (const auto& b : s.backings) out += " " + md_cell(b) + " |";
  out += "\n|---|---|---|---|";
  for (size_t i = 0; i < s.backings.size(); ++i) out += "---|";
  out += "\n";
  for (const auto& key : s.rows) {
    const RunRecord* any = nullptr;
    for (const auto& b : s.backings)
      if (auto it = s.cells.find({key, b}); it != s.cells.end()) any = it->second.first;
    out += "| " + md_cell(any->policy) + " | " + view::nodes_text(any->nodes) + " | " +
           md_cell(any->toucher) + " | " + view::size_text(any->size_bytes) + " |";
    for (const auto& b : s.backings) {
      auto it = s.cells.find({key, b});
      out += " " + (it == s.cells.end() ? "" : summary_cell_md(it->second, s.split_nodes)) + " |";
    }
    out += "\n";
  }
  out += "\n";
}

// One line per placement source, the one the verdict used first, then how far the sources that
// worked disagree; beyond kDisagreementWarnPercent a warning line.
void render_sources_md(std::string& out, const RunRecord& r) {
  if (r.placement_sources.empty()) return;
  // Source names, ids and warnings come from the record: escaped like every record text.
  out += "- placement sources (verdict from " +
         (r.placement_source.empty() ? std::string("none") : md_cell(r.placement_source)) + "):\n";
  for (const auto& [name, s] : r.placement_sources) {
    out += "  - " + md_cell(name) + ": ";
    if (s.ok()) {
      std::string nodes;
      for (const auto& [node, pages] : s.pages)
        nodes += (nodes.empty() ? "" : ", ") +
                 ("node " + std::to_string(node) + " " + std::to_string(pages));
      out += nodes.empty() ? "no pages" : nodes;
    } else {
      out += std::string(s.state == SourceReading::State::kIncomplete ? "incomplete: "
                                                                      : "unsupported: ") +
             md_cell(s.reason);
    }
    out += "\n";
  }
  if (auto d = largest_disagreement(r)) {
    out += "- largest disagreement: " + md_cell(d->a) + " vs " + md_cell(d->b) + ", " +
           std::to_string(d->pages) + " pages on node " + std::to_string(d->node) + " (" +
           fixed(d->percent, 2) + "% of the cell)\n";
  }
  if (std::string w = disagreement_warning(r); !w.empty())
    out += "- **warning**: " + md_cell(w) + "\n";
}

void render_run_md(std::string& out, const RunRecord& r) {
  out += "#### " + md_cell(r.run_id) + ": " + md_cell(r.policy) + " " + view::nodes_text(r.nodes) +
         " / " + md_cell(r.backing) + " / repeat " + std::to_string(r.repeat) + "\n\n";
  out += "- cell: `" + view::md_code(r.cell_key) + "`\n";
  if (r.status != RunStatus::kOk) {
    out += "- status: **" + std::string(run_status_name(r.status)) + "**: " + md_cell(r.message) +
           "\n\n";
    return;
  }
  out += "- status: ok";
  if (!r.message.empty()) out += " (" + md_cell(r.message) + ")";
  out += "\n";
  std::vector<int> nodes = view::split_nodes(r);
  if (r.verdict) {
    const Verdict& v = *r.verdict;
    out += "- verdict: " + std::string(v.honored ? "honored" : "**NOT honored**") + ": expected " +
           view::split_text(v.expected, nodes) + ", measured " +
           view::split_text(view::measured_split(r), nodes) + " (max deviation " +
           fixed(v.max_deviation, 3) + ", tolerance " + fixed(v.tolerance, 3) + ")";
    if (!v.reason.empty()) out += "; " + md_cell(v.reason);
    out += "\n";
  }
  out += "- placement (pages): ";
  for (const auto& [node, pages] : r.placement_pages)
    out += "node " + std::to_string(node) + " " + std::to_string(pages) + ", ";
  out += "absent " + std::to_string(r.pages_absent) + "\n";
  render_sources_md(out, r);
  if (!r.policy_readback.empty()) out += "- policy read back: " + md_cell(r.policy_readback) + "\n";
  if (!r.backing_counter.empty() && !r.delta_backing_mib.empty()) {
    out += "- " + md_cell(r.backing_counter) + " delta (MiB):";
    for (const auto& [node, mib] : r.delta_backing_mib)
      out += " node " + std::to_string(node) + " " + fixed(mib, 2) + ";";
    out.back() = '\n';
  }
  out += "- populate: " + fixed(r.populate_seconds, 3) + " s";
  if (!r.populate_method.empty()) out += " (" + md_cell(r.populate_method) + ")";
  out += "\n\n```\n" + format_memused_table(r) + "```\n\n";
}

}  // namespace

MemusedTable memused_table(const RunRecord& r) {
  MemusedTable t;
  std::set<int> ids;
  for (const auto& [node, f] : r.meminfo_before) ids.insert(node);
  for (const auto& [node, f] : r.meminfo_after) ids.insert(node);
  t.nodes.assign(ids.begin(), ids.end());
  std::array<double, 3> totals{};
  std::array<bool, 3> complete{true, true, true};
  for (int node : t.nodes) {
    auto b = view::memused_kb(r.meminfo_before, node);
    auto a = view::memused_kb(r.meminfo_after, node);
    std::optional<double> v[3];
    if (b) v[0] = *b / 1024.0;
    if (a) v[1] = *a / 1024.0;
    if (a && b) v[2] = *v[1] - *v[0];
    for (int i = 0; i < 3; ++i) {
      t.rows[i].push_back(v[i]);
      if (v[i])
        totals[i] += *v[i];
      else
        complete[i] = false;
    }
  }
  for (int i = 0; i < 3; ++i)
    t.rows[i].push_back(complete[i] ? std::optional<double>(totals[i]) : std::nullopt);
  return t;
}

// Cover letter layout: MemUsed per node in MB (numastat -m reports MiB as "MB").
std::string format_memused_table(const RunRecord& r) {
  MemusedTable t = memused_table(r);
  if (t.nodes.empty()) return "(no meminfo recorded)\n";
  auto cell = [](const std::string& text) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%14s", text.c_str());
    return std::string(buf);
  };
  std::string out = "MemUsed (MB)";
  for (int node : t.nodes) out += cell("Node " + std::to_string(node));
  out += cell("Total") + "\n";
  const char* names[3] = {"Before      ", "After       ", "Delta       "};
  for (int i = 0; i < 3; ++i) {
    out += names[i];
    for (const auto& v : t.rows[i]) out += cell(v ? fixed(*v, 2) : "n/a");
    out += "\n";
  }
  return out;
}

std::vector<std::pair<std::string, std::vector<const RunRecord*>>> runs_by_kernel(
    const std::vector<RunRecord>& runs) {
  return by_kernel(runs);
}

SummaryGrid summarise(const std::vector<const RunRecord*>& runs) {
  SummaryGrid s;
  s.backings = backing_columns(runs);
  std::set<int> nodes;
  for (const RunRecord* r : runs) {
    std::string key = row_key(*r);
    if (std::find(s.rows.begin(), s.rows.end(), key) == s.rows.end()) s.rows.push_back(key);
    s.cells[{key, r->backing}].add(*r);
    if (r->status == RunStatus::kOk)
      for (int n : view::split_nodes(*r)) nodes.insert(n);
  }
  s.split_nodes.assign(nodes.begin(), nodes.end());
  return s;
}

const view::CellFold* SummaryGrid::find(const std::string& row, const std::string& backing) const {
  auto it = cells.find({row, backing});
  return it == cells.end() ? nullptr : &it->second;
}

std::string render_report_markdown(const std::vector<RunRecord>& runs, const std::string& title,
                                   const std::string& charts_md) {
  std::string out = "# " + title + "\n\n";
  MatrixSummary tally;
  for (const RunRecord& r : runs) tally.count(r);
  bool by_host = several_hosts(runs);
  auto groups = by_kernel(runs, by_host);
  out += std::to_string(runs.size()) + " runs: " + std::to_string(tally.ok) + " ok, " +
         std::to_string(tally.unsupported) + " unsupported, " + std::to_string(tally.failed) +
         " failed";
  out += groups.size() > 1 ? ", on " + std::to_string(groups.size()) +
                                 (by_host ? " host and kernel pairs.\n\n" : " kernels.\n\n")
                           : ".\n\n";
  for (const auto& [label, group] : groups) {
    out += "## " + (by_host ? md_cell(label) : "Kernel " + md_cell(label)) + " (" +
           md_cell(environment_text(*group.front())) + ")\n\n";
    out += charts_md;
    render_summary_md(out, group);
    std::string warnings;
    for (const RunRecord* r : group)
      if (std::string w = disagreement_warning(*r); !w.empty())
        warnings += "- warning: " + md_cell(w) + "\n";
    if (!warnings.empty())
      out +=
          "### Placement sources that disagree by more than 1% of the cell\n\n" + warnings + "\n";
    out += "### Runs\n\n";
    for (const RunRecord* r : group) render_run_md(out, *r);
  }
  return out;
}

std::string render_runs_csv(const std::vector<RunRecord>& runs) {
  std::string out = csv_line({"run_id",
                              "cell_key",
                              "repeat",
                              "environment",
                              "kernel",
                              "policy",
                              "nodes",
                              "backing",
                              "toucher",
                              "size_bytes",
                              "threads",
                              "cpu_node",
                              "status",
                              "message",
                              "split_nodes",
                              "split",
                              "verdict",
                              "max_deviation",
                              "populate_seconds",
                              "placement_pages",
                              "pages_absent",
                              "memused_before_mb",
                              "memused_after_mb",
                              "delta_used_mib",
                              "policy_readback",
                              "samples_file"});
  for (const RunRecord& r : runs) {
    std::vector<int> nodes = view::split_nodes(r);
    bool ok = r.status == RunStatus::kOk;
    out += csv_line({r.run_id,
                     r.cell_key,
                     std::to_string(r.repeat),
                     r.environment.kind,
                     r.environment.kernel,
                     r.policy,
                     view::nodes_text(r.nodes),
                     r.backing,
                     r.toucher,
                     std::to_string(r.size_bytes),
                     std::to_string(r.threads),
                     r.cpu_node ? std::to_string(*r.cpu_node) : "",
                     run_status_name(r.status),
                     r.message,
                     ok ? view::nodes_text(nodes) : "",
                     ok ? view::split_text(view::measured_split(r), nodes) : "",
                     view::verdict_text(r),
                     r.verdict ? fixed(r.verdict->max_deviation, 4) : "",
                     ok ? fixed(r.populate_seconds, 6) : "",
                     node_values(r.placement_pages),
                     std::to_string(r.pages_absent),
                     node_values(memused_mb(r.meminfo_before), 2),
                     node_values(memused_mb(r.meminfo_after), 2),
                     node_values(r.delta_used_mib, 2),
                     r.policy_readback,
                     r.samples_file});
  }
  return out;
}

std::string render_summary_csv(const std::vector<RunRecord>& runs) {
  std::string out =
      csv_line({"kernel", "environment", "policy", "nodes", "toucher", "size_bytes", "backing",
                "runs", "ok", "unsupported", "failed", "split_nodes", "split", "honored_runs",
                "judged_runs", "verdict", "populate_mean_seconds", "message"});
  for (const auto& [kernel, group] : runs_by_kernel(runs)) {
    SummaryGrid s = summarise(group);
    for (const auto& key : s.rows) {
      for (const auto& b : s.backings) {
        auto it = s.cells.find({key, b});
        if (it == s.cells.end()) continue;
        const view::CellFold& c = it->second;
        const RunRecord& r = *c.first;
        out += csv_line({kernel, environment_text(r), r.policy, view::nodes_text(r.nodes),
                         r.toucher, std::to_string(r.size_bytes), b, std::to_string(c.runs),
                         std::to_string(c.ok), std::to_string(c.unsupported),
                         std::to_string(c.failed), c.ok ? view::nodes_text(s.split_nodes) : "",
                         c.ok ? view::split_text(c.split(), s.split_nodes) : "",
                         std::to_string(c.honored), std::to_string(c.judged),
                         view::cell_state_name(c.state()), c.ok ? fixed(c.populate_mean(), 6) : "",
                         c.message});
      }
    }
  }
  return out;
}

Status write_report(const std::string& dir, const std::string& charts_md) {
  auto runs = read_runs(dir + "/runs.jsonl");
  if (!runs) return runs.error();
  std::string name = dir;
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  name = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
  std::string md = render_report_markdown(runs->records, "memplace results: " + name, charts_md);
  if (!runs->warnings.empty()) {
    md += "## Skipped lines\n\n";
    for (const auto& w : runs->warnings) {
      std::fprintf(stderr, "memplace report: warning: %s\n", w.c_str());
      md += "- " + md_cell(w) + "\n";
    }
    md += "\n";
  }
  if (auto s = write_file_atomic(dir + "/report.md", md); !s) return s;
  if (auto s = write_file_atomic(dir + "/runs.csv", render_runs_csv(runs->records)); !s) return s;
  return write_file_atomic(dir + "/summary.csv", render_summary_csv(runs->records));
}

}  // namespace memplace
