// SPDX-License-Identifier: GPL-2.0-only
// runs.jsonl as an untrusted dir hands it to the charts: each input is split at its first NUL
// into two kernels' runs (a baseline and a candidate), folded into chart data, and the chart
// data must be JSON the plot script can read: one fold per series and cell, every split a
// fraction, a headline that names a cell or none.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "report/chart_data.h"
#include "results/results.h"

namespace {

void check(const nlohmann::json& data) {
  const size_t cells = data.at("cells").size();
  if (data.at("folds").size() != data.at("series").size()) __builtin_trap();
  for (const auto& row : data.at("folds")) {
    if (row.size() != cells) __builtin_trap();
    for (const auto& fold : row) {
      if (fold.is_null()) continue;
      for (const auto& [node, f] : fold.at("split").items())
        if (!f.is_number() || !std::isfinite(f.get<double>()) || f.get<double>() < 0 ||
            f.get<double>() > 1.000001)
          __builtin_trap();
    }
  }
  const auto& cell = data.at("headline").at("cell");
  if (!cell.is_null() && (cell.get<int64_t>() < 0 || cell.get<size_t>() >= cells)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t nul = text.find('\0');
  std::vector<memplace::ChartSeries> series;
  for (const std::string& part :
       {text.substr(0, nul), nul == std::string::npos ? std::string() : text.substr(nul + 1)}) {
    memplace::RunsFile runs = memplace::parse_runs_text(part, "runs.jsonl");
    series.push_back({"dir", "k" + std::to_string(series.size()), std::move(runs.records)});
  }
  const nlohmann::json out = memplace::chart_data(series);
  // What the plot script reads: the dump must parse back to the same document.
  if (nlohmann::json::parse(out.dump()) != out) __builtin_trap();
  check(out);
  return 0;
}
