// SPDX-License-Identifier: GPL-2.0-only
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/nodelist.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ids = memplace::parse_id_list(text);
  if (ids) {
    // Whatever parses must survive a round trip unchanged.
    auto again = memplace::parse_id_list(memplace::format_id_list(*ids));
    if (!again || *again != *ids) __builtin_trap();
  }
  return 0;
}
