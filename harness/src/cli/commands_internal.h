// Pieces of the subcommands shared between commands*.cc files, not part of the public API.
#pragma once

#include <vector>

#include "experiment/cell.h"
#include "memplace/commands.h"
#include "experiment/spec.h"

namespace memplace {

// `memplace run` when the spec has a [testbed] table or --testbed/--kernel was given.
int run_testbed_command(const Spec& spec, const std::vector<Cell>& cells, const RunArgs& args);

// Fills the [qemu] fields a spec leaves unset from MEMPLACE_QEMU* variables, for specs with qemu
// cells: `run` and `slurm` write the result into the spec every run reads back.
Status apply_qemu_env_fallbacks(Spec& spec);

}  // namespace memplace
