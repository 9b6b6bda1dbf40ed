// A testbed guest streams records back as JSON lines; a broken or hostile guest can send anything.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "experiment/run_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  auto r = memplace::record_from_json(j);
  if (r) (void)memplace::to_json(*r).dump();
  return 0;
}
