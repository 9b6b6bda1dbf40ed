// SPDX-License-Identifier: GPL-2.0-only
// The cell runner for the host and vcpu touchers: both fault a Mapping memplace created itself.
#pragma once

#include <memory>

#include "experiment/cell_runner.h"

namespace memplace {

std::shared_ptr<CellRunner> make_local_cell_runner();

}  // namespace memplace
