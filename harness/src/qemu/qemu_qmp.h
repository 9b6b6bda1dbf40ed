// SPDX-License-Identifier: GPL-2.0-only
// What a QEMU binary offers for guest memory, asked of the binary itself over QMP rather than
// read from its version: a patched QEMU (or a future one) with a guest_memfd memory backend is
// then used without a code change. QEMU runs with -machine none: nothing is emulated.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace memplace {

struct QmpMemoryBackends {
  std::set<std::string> types;  // every object type that implements memory-backend
  std::map<std::string, std::set<std::string>> properties;  // of each type asked about
};

// The object types whose properties are asked: memfd's, and the guest_memfd backend types
// QEMU branches have proposed. A type the binary lacks answers with an error, ignored.
const std::vector<std::string>& qmp_asked_backend_types();

// Runs `binary -machine none -qmp stdio` with the questions on its stdin.
Result<QmpMemoryBackends> ask_qmp_memory_backends(const std::string& binary);

// Pure: QEMU's replies (one JSON object per line, events included) to the questions
// qmp_script() asks, in that order.
Result<QmpMemoryBackends> parse_qmp_memory_backends(std::string_view replies);
std::string qmp_script();

}  // namespace memplace
