#include <cstdio>
#include <optional>

#include "cli/cell_runners.h"
#include "cli/commands_internal.h"
#include "report/report_hooks.h"
#include "qemu/kernel_fetch.h"
#include "base/subprocess.h"
#include "testbed/testbed.h"

namespace memplace {

namespace {

// The guest kernel and memplace itself take memory on node 0 before any cell runs.
constexpr uint64_t kGuestBootReserveBytes = 192ull << 20;

// Cells are checked against the emulated topology, not the host's.
HostFacts testbed_facts(const TestbedSpec& tb) {
  HostFacts facts;
  for (int n = 0; n < tb.nodes; ++n) {
    facts.nodes.push_back(n);
    facts.free_bytes[n] = tb.mem_per_node_bytes - (n == 0 ? kGuestBootReserveBytes : 0);
  }
  facts.margin_bytes = 32ull << 20;
  return facts;
}

// Per kernel: the QEMU command line a real run would start, then its cells. Nothing is
// downloaded; what only exists at run time (an unfetched kernel, the initramfs, the temporary
// socket) is shown as a <placeholder>.
void print_testbed_dry_run(const Spec& spec, const std::vector<Cell>& cells,
                           const std::string& out_dir) {
  const TestbedSpec& tb = *spec.testbed;
  std::string accel = detect_accel(tb.accel);
  TestbedHostConfig host;
  KernelFetchOptions offline;
  offline.offline = true;
  offline.progress = false;
  for (const auto& kernel : tb.kernels) {
    QemuTestbedConfig qc = testbed_qemu_config(tb, accel, host);
    std::string label;
    auto files = fetch_kernel(kernel, tb.modules_dir, offline);
    if (files) {
      label = files->label;
      qc.kernel = files->vmlinuz;
      std::printf("kernel %s: %s\n", kernel.c_str(), files->origin.c_str());
    } else {
      label = "<" + kernel + ">";
      qc.kernel = "<kernel " + kernel + " not fetched>";
      std::printf("kernel %s: not fetched (%s)\n", kernel.c_str(),
                  files.error().describe().c_str());
    }
    qc.initrd = "<initramfs built at run time>";
    qc.console_log = (out_dir.empty() ? "<OUT>" : out_dir) + "/" + label + "/console.log";
    qc.socket_path = "<temporary dir>/records.sock";
    std::printf("  qemu: %s\n", join_command(qemu_testbed_command(qc)).c_str());
    for (const auto& c : cells)
      std::printf("  %s %s #%d\n", kernel.c_str(), cell_key(c).c_str(), c.repeat);
  }
}

}  // namespace

int run_testbed_command(const Spec& spec, const std::vector<Cell>& cells, const RunArgs& args) {
  const TestbedSpec& tb = *spec.testbed;
  if (tb.kernels.empty()) {
    std::fprintf(stderr,
                 "memplace: error: testbed.kernels: give at least one kernel "
                 "(--kernel debian:7.3 or --kernel PATH)\n");
    return kExitBadInput;
  }
  if (tb.mem_per_node_bytes <= kGuestBootReserveBytes) {
    std::fprintf(stderr, "memplace: error: testbed.mem_per_node: needs more than %llu MiB\n",
                 static_cast<unsigned long long>(kGuestBootReserveBytes >> 20));
    return kExitBadInput;
  }
  HostFacts facts = testbed_facts(tb);
  Status valid = validate_cells(cells, facts);
  if (valid) valid = check_free_memory(cells, facts);
  if (!valid) {
    std::fprintf(stderr, "memplace: error: %s (testbed: %d nodes of %s)\n",
                 valid.error().message.c_str(), tb.nodes,
                 format_size(tb.mem_per_node_bytes).c_str());
    return kExitBadInput;
  }
  if (args.dry_run) {
    print_testbed_dry_run(spec, cells, args.out_dir);
    return kExitOk;
  }
  if (args.out_dir.empty()) {
    std::fprintf(stderr, "memplace: error: --out DIR is required (where the results go)\n");
    return kExitBadInput;
  }
  // A kernel version that does not exist or cannot load KVM is bad input, not a broken host.
  std::optional<std::vector<DebianKernel>> index;
  for (const auto& kernel : spec.testbed->kernels) {
    if (kernel.rfind("debian:", 0) != 0) continue;
    if (!index) {
      auto read = debian_kernel_index(KernelFetchOptions{});
      if (!read) break;  // run_testbed reports the fetch failure itself
      index = std::move(*read);
    }
    if (auto k = resolve_debian_kernel(*index, kernel.substr(7)); !k) {
      std::fprintf(stderr, "memplace: error: %s\n", k.error().describe().c_str());
      return kExitBadInput;
    }
  }
  RunOptions options;
  options.out_dir = args.out_dir;
  options.progress = !args.quiet;
  options.invocation = args.invocation;
  Spec effective = spec;
  effective.source_text = render_spec_toml(spec);
  options.runners = all_cell_runners();
  TestbedHostConfig host;
  attach_testbed_report(options, host, ReportSettings{!args.no_plots, true});
  auto summary = run_testbed(effective, *spec.testbed, options, host);
  if (!summary) {
    std::fprintf(stderr, "memplace: error: %s\n", summary.error().describe().c_str());
    return kExitEnvironment;
  }
  std::fprintf(stderr,
               "memplace: testbed: %d ok (%d not honoured), %d unsupported, %d failed; results in "
               "%s/<kernel>/\n",
               summary->ok, summary->not_honored, summary->unsupported, summary->failed,
               args.out_dir.c_str());
  if (summary->interrupted_by) return 128 + summary->interrupted_by;
  if (args.check && (summary->not_honored > 0 || summary->failed > 0)) return kExitCheckFailed;
  return kExitOk;
}

}  // namespace memplace
