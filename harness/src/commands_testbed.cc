#include <cstdio>

#include "commands_internal.h"
#include "memplace/testbed.h"

namespace memplace {

int run_testbed_command(const Spec& spec, const std::vector<Cell>& cells, const RunArgs& args) {
  if (args.dry_run) {
    for (const auto& kernel : spec.testbed->kernels) {
      for (const auto& c : cells)
        std::printf("%s %s #%d\n", kernel.c_str(), cell_key(c).c_str(), c.repeat);
    }
    return kExitOk;
  }
  if (args.out_dir.empty()) {
    std::fprintf(stderr, "memplace: error: --out DIR is required (where the results go)\n");
    return kExitBadInput;
  }
  RunOptions options;
  options.out_dir = args.out_dir;
  options.progress = !args.quiet;
  options.invocation = args.invocation;
  Spec effective = spec;
  effective.source_text = render_spec_toml(spec);
  auto summary = run_testbed(effective, *spec.testbed, options);
  if (!summary) {
    std::fprintf(stderr, "memplace: error: %s\n", summary.error().describe().c_str());
    return kExitEnvironment;
  }
  std::fprintf(stderr,
               "memplace: testbed: %d ok (%d not honoured), %d unsupported, %d failed; results in "
               "%s/<kernel>/\n",
               summary->ok, summary->not_honored, summary->unsupported, summary->failed,
               args.out_dir.c_str());
  if (args.check && (summary->not_honored > 0 || summary->failed > 0)) return kExitCheckFailed;
  return kExitOk;
}

}  // namespace memplace
