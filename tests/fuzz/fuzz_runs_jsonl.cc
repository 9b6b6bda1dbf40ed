// SPDX-License-Identifier: GPL-2.0-only
// runs.jsonl as report, compare and --resume read it: a results dir may have been written by a
// crashed run, a hostile guest, or by hand. Every line goes through the bounded parser and the
// record reader; what they accept must render, compare and round-trip without crashing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "report/compare.h"
#include "report/report.h"
#include "results/results.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  memplace::RunsFile runs = memplace::parse_runs_text(text, "fuzz/runs.jsonl");
  // --resume: the next id is past every id in use.
  if (memplace::next_run_number(runs, "/nonexistent") <= runs.highest_run_number) __builtin_trap();
  for (const auto& r : runs.records) {
    // What was read must be written back as a record that reads again the same way.
    auto again = memplace::record_from_json(memplace::to_json(r));
    if (!again || again->cell_key != r.cell_key || again->repeat != r.repeat) __builtin_trap();
  }
  (void)memplace::render_report_markdown(runs.records, "fuzz");
  (void)memplace::render_runs_csv(runs.records);
  (void)memplace::render_summary_csv(runs.records);
  auto cmp = memplace::compare_runs({runs.records, runs.records});
  (void)memplace::render_compare_markdown(cmp);
  (void)memplace::render_compare_csv(cmp);
  (void)memplace::compare_to_json(cmp).dump();
  (void)memplace::regression_failures(cmp);
  return 0;
}
