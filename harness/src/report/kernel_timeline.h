// SPDX-License-Identifier: GPL-2.0-only
// A testbed run over several kernels, read as a timeline: for each cell its split and verdict
// on every kernel in the order they ran, and the first kernel where it is honored.
#pragma once

#include <string>
#include <vector>

#include "report/testbed_report.h"

namespace memplace {

// Markdown: "## Kernel timeline" and its table; "" for fewer than three kernels.
std::string render_kernel_timeline(const std::vector<TestbedKernelRecords>& kernels);

}  // namespace memplace
