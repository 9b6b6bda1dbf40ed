// SPDX-License-Identifier: GPL-2.0-only
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spec/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = memplace::parse_spec(text, "fuzz.toml");
  if (spec) {
    // Bound the expansion so a huge matrix is a finding only if it crashes, not if it is slow.
    size_t cells = spec->policies.size() * (spec->node_lists.size() + 1) * spec->backings.size() *
                   spec->touchers.size() * spec->sizes.size() * spec->threads.size() *
                   spec->cpu_nodes.size() * static_cast<size_t>(spec->repeats);
    if (cells < 10000) (void)memplace::expand(*spec);
    auto again = memplace::parse_spec(memplace::render_spec_toml(*spec), "rendered.toml");
    if (!again) __builtin_trap();
    // [qemu] is copied verbatim into results dirs: it must come back unchanged.
    if (!(again->qemu == spec->qemu)) __builtin_trap();
  }
  return 0;
}
