// SPDX-License-Identifier: GPL-2.0-only
// spec.toml as --resume finds it in a results dir: the digest check against the manifest, then
// the parse, then the render that --resume writes back, which must read back to the same spec.
#include <cstddef>
#include <cstdint>
#include <string>

#include "results/results_dir.h"
#include "spec/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)memplace::spec_digest(text);
  auto spec = memplace::parse_spec(text, "resumed/spec.toml");
  if (!spec) return 0;
  const std::string rendered = memplace::render_spec_toml(*spec);
  auto again = memplace::parse_spec(rendered, "rendered.toml");
  if (!again) __builtin_trap();
  if (memplace::render_spec_toml(*again) != rendered) __builtin_trap();  // a resumed spec is stable
  return 0;
}
