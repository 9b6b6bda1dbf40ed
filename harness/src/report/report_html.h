// SPDX-License-Identifier: GPL-2.0-only
// report.html: one self-contained page for a results dir. Charts are <img> elements with data:
// URIs (an SVG shown through <img> cannot run script or fetch anything), no script, no external
// style or font, so the file can be mailed or opened offline. Every string from a record or a
// results dir is HTML-escaped. Pure rendering; results_report.cc gathers the inputs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "report/charts.h"
#include "results/run_record.h"

namespace memplace {

struct KernelResults {
  std::string label;   // the kernel (a testbed subdir's name, or the records' kernel)
  std::string subdir;  // where its raw files are, relative to the page; "" = beside it
  std::vector<RunRecord> records;
};

struct ReportPage {
  std::string title;
  std::vector<KernelResults> kernels;  // the first is the baseline
  ChartsOutcome charts;
  std::map<std::string, std::string> images;  // chart name -> data: URI
  std::vector<std::string> files;             // raw files beside the page, relative paths
};

std::string render_report_html(const ReportPage& page);

// The stylesheet, screen and print (report_html_style.cc).
const char* report_css();

}  // namespace memplace
