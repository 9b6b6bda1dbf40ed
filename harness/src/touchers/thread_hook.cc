// SPDX-License-Identifier: GPL-2.0-only
// The hook every touching thread runs before it faults anything (toucher.h).
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "touchers/toucher.h"

namespace memplace {

namespace {

// The page-allocation trace counts every user page a named thread allocates, so the thread's own
// stack and malloc arena are faulted in before it names itself: without this a fresh thread's
// first calls added a few pages of stack and heap to the cell (3 of 16387 in a 64 MiB anon cell).
[[gnu::noinline]] void fault_in_stack_and_heap() {
  volatile char stack[64 << 10];
  for (size_t i = 0; i < sizeof stack; i += 4096) stack[i] = 0;
  void* p = std::malloc(64 << 10);
  if (p) {
    std::memset(p, 0, 64 << 10);
    std::free(p);
  }
}

}  // namespace

Status run_thread_hook(const ThreadHook& hook) {
  if (!hook) return {};
  fault_in_stack_and_heap();
  return hook(static_cast<pid_t>(::gettid()));
}

}  // namespace memplace
