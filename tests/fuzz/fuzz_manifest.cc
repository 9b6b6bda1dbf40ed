// SPDX-License-Identifier: GPL-2.0-only
// A results dir's manifest.json, as an untrusted dir hands it to merge (the single-host, merged
// and testbed forms all pass through here), to --resume's checks and to the test for a testbed
// parent. Each input becomes manifest.json in a small real results dir, written once.
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "results/merge.h"
#include "results/results_dir.h"

namespace {

// A results dir with two runs of one cell and its spec; only manifest.json changes per input.
const std::string& fuzz_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/memplace-fuzz-manifest-XXXXXX";
    std::string d = ::mkdtemp(tmpl);
    std::ofstream(d + "/spec.toml")
        << "[matrix]\nbacking = \"anon\"\nsize = \"4MiB\"\nrepeats = 2\n";
    std::ofstream runs(d + "/runs.jsonl");
    for (int i = 1; i <= 2; ++i)
      runs << "{\"policy\":\"default\",\"nodes\":[],\"backing\":\"anon\",\"toucher\":\"host\","
              "\"size_bytes\":4194304,\"status\":\"ok\",\"run_id\":\"r000"
           << i << "\",\"cell_key\":\"default/anon/host/4MiB/t1/cpuany\",\"repeat\":" << i - 1
           << ",\"environment\":{\"kind\":\"local\",\"hostname\":\"h\"}}\n";
    ::mkdir((d + "/k").c_str(), 0755);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& dir = fuzz_dir();
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::ofstream(dir + "/manifest.json", std::ios::trunc) << text;
  std::ofstream(dir + "/k/manifest.json", std::ios::trunc) << text;  // a testbed kernel's
  auto in = memplace::read_merge_input(dir);
  if (in) {
    auto plan = memplace::plan_merge({*in, *in});
    (void)plan;
  }
  (void)memplace::check_resumable(dir, "[matrix]\nbacking = \"anon\"\n");
  (void)memplace::is_results_dir(dir + "/k");
  return 0;
}
