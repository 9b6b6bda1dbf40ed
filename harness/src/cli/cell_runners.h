// SPDX-License-Identifier: GPL-2.0-only
// The runners the matrix picks from by toucher name: the one place that knows every toucher.
#pragma once

#include "experiment/cell_runner.h"

namespace memplace {

CellRunners all_cell_runners();

}  // namespace memplace
