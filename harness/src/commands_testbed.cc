#include <cstdio>

#include "commands_internal.h"

namespace memplace {

int run_testbed_command(const Spec& spec, const std::vector<Cell>& cells, const RunArgs& args) {
  std::fprintf(stderr, "memplace: error: the testbed is not part of this build yet\n");
  return kExitEnvironment;
}

}  // namespace memplace
