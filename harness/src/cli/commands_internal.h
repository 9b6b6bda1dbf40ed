// Pieces of the subcommands shared between commands*.cc files, not part of the public API.
#pragma once

#include <vector>

#include "experiment/cell.h"
#include "memplace/commands.h"
#include "experiment/spec.h"

namespace memplace {

// `memplace run` when the spec has a [testbed] table or --testbed/--kernel was given.
int run_testbed_command(const Spec& spec, const std::vector<Cell>& cells, const RunArgs& args);

}  // namespace memplace
