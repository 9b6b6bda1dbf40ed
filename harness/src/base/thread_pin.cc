// SPDX-License-Identifier: GPL-2.0-only
// Kept free of the rest of the harness (see thread_pin.h): the guest agent compiles this file.
#include "base/thread_pin.h"

#include <sched.h>

#include <string>

namespace memplace {

Status pin_current_thread(int cpu) {
  if (cpu < 0) return {};
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0)
    return errno_error("sched_setaffinity cpu " + std::to_string(cpu));
  return {};
}

}  // namespace memplace
