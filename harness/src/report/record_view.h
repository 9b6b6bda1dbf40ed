// SPDX-License-Identifier: GPL-2.0-only
// Derived views of a RunRecord shared by report.cc and compare.cc: the measured split, node
// list spellings, MemUsed per node, CSV quoting. Internal to memplace_core.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "results/run_record.h"

namespace memplace::view {

// What the repeats of one cell came to, judged together.
enum class CellState { kHonored, kNotHonored, kMixed, kNoVerdict, kUnsupported, kFailed, kAbsent };
// "honored", "not honored", "mixed", "no verdict", "unsupported", "failed", "absent".
std::string cell_state_name(CellState state);

// "0-1", "0,2", "0-2,5"; "-" for an empty list (default/local policies).
std::string nodes_text(const std::vector<int>& nodes);

// Nodes a split is shown over: placement, expected and policy nodes, sorted.
std::vector<int> split_nodes(const RunRecord& r);

// Fraction of placed pages per node (from placement_pages, else verdict.measured).
std::map<int, double> measured_split(const RunRecord& r);

// {0.5, 0.5} over nodes {0,1} -> "50/50". Nodes missing from `split` count as 0.
std::string split_text(const std::map<int, double>& split, const std::vector<int>& nodes);

// MemUsed in kB for `node`, or MemTotal - MemFree when the kernel did not print MemUsed; none
// when the figures contradict each other (MemFree or MemUsed above MemTotal).
std::optional<uint64_t> memused_kb(const MeminfoSnapshot& s, int node);

// "honored" / "not honored" / "" (no verdict).
std::string verdict_text(const RunRecord& r);

// Size in the spec's units: 268435456 -> "256MiB".
std::string size_text(uint64_t bytes);

// printf("%.*f") without locale surprises.
std::string fixed(double v, int decimals);

// RFC 4180 quoting when needed; a text cell a spreadsheet would run as a formula (= + - @) is
// quoted and starts with a ' so it stays text.
std::string csv_field(const std::string& s);
std::string csv_line(const std::vector<std::string>& fields);

// Text from a record in Markdown (table cells, headings, list items): a newline would start a
// heading or end the table, a pipe a cell, '<' raw HTML.
std::string md_cell(const std::string& s);
// The same inside a `code span`: backticks become quotes.
std::string md_code(const std::string& s);

// How the repeats of one cell ended, counted (a CellFold's and a compare side's).
struct FoldCounts {
  int runs = 0, ok = 0, unsupported = 0, failed = 0, honored = 0, judged = 0;
};

// All repeats of one cell (within one dir, or one kernel of it), folded.
struct CellFold : FoldCounts {
  const RunRecord* first = nullptr;
  std::map<int, uint64_t> pages;
  std::map<int, double> measured_sum;    // for ok runs without placement pages
  std::vector<double> populate_seconds;  // ok runs only
  std::string message;                   // first non-ok message

  void add(const RunRecord& r);
  // Fraction per node of the pages summed over ok repeats.
  std::map<int, double> split() const;
  CellState state() const;  // never kAbsent: a fold has at least one run
  double populate_mean() const;
};

}  // namespace memplace::view
