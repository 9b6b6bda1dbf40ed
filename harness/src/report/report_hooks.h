// SPDX-License-Identifier: GPL-2.0-only
// Wires report writing into the matrix and the testbed, which sit below report/ and only call
// back when a results dir is finished.
#pragma once

#include "experiment/matrix.h"
#include "report/results_report.h"
#include "testbed/testbed.h"

namespace memplace {

// report.md, charts and report.html for every finished results dir; failures are warnings on
// stderr, never a failed run.
void attach_reports(RunOptions& options, const ReportSettings& settings);
// A testbed: each kernel's dir gets its report.md as it finishes; once all kernels have run,
// the testbed dir gets the comparison, the charts across kernels and report.html.
void attach_testbed_report(RunOptions& options, TestbedHostConfig& host,
                           const ReportSettings& settings);

}  // namespace memplace
