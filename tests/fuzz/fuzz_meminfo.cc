// SPDX-License-Identifier: GPL-2.0-only
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "host/sysfs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)memplace::parse_node_meminfo(text, 0);
  (void)memplace::parse_node_meminfo(text, 2);
  return 0;
}
