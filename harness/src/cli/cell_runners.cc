// SPDX-License-Identifier: GPL-2.0-only
#include "cli/cell_runners.h"

#include "qemu/qemu_cell_runner.h"
#include "touchers/local_cell_runner.h"

namespace memplace {

CellRunners all_cell_runners() {
  auto local = make_local_cell_runner();
  return {{ToucherKind::kHost, local},
          {ToucherKind::kVcpu, local},
          {ToucherKind::kQemu, make_qemu_cell_runner()}};
}

}  // namespace memplace
