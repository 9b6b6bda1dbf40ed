// SPDX-License-Identifier: GPL-2.0-only
// Pinning the calling thread to one CPU. libc only, so the static guest agent compiles it too
// (like populate.cc) and host and guest pin their workers the same way.
#pragma once

#include "base/result.h"

namespace memplace {

// Pins the calling thread to `cpu`; -1 leaves it unpinned.
Status pin_current_thread(int cpu);

}  // namespace memplace
