// Wires report writing into the matrix and the testbed, which sit below report/ and only call
// back when a results dir is finished.
#pragma once

#include "experiment/matrix.h"
#include "testbed/testbed.h"

namespace memplace {

// report.md and its tables for every finished results dir; failures are warnings on stderr.
void attach_reports(RunOptions& options);
// The testbed-wide comparison of kernels, once all of them have run.
void attach_testbed_report(TestbedHostConfig& host);

}  // namespace memplace
