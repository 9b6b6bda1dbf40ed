// SPDX-License-Identifier: GPL-2.0-only
#include <cstdio>
#include <optional>

#include "base/subprocess.h"
#include "cli/cell_runners.h"
#include "cli/commands_internal.h"
#include "kernels/kernel_fetch.h"
#include "kernels/kernel_ref.h"
#include "report/report_hooks.h"
#include "testbed/testbed.h"

namespace memplace {

namespace {

// The guest kernel and memplace itself take memory on node 0 before any cell runs.
constexpr uint64_t kGuestBootReserveBytes = 192ull << 20;
// What QEMU itself takes on the host beyond the guest's RAM (TCG's code buffer, device state,
// the initramfs), as the qemu toucher's guest_overhead default.
constexpr uint64_t kQemuHostOverheadBytes = 256ull << 20;

// The whole guest must fit the host: QEMU would start with -m of every node's memory.
Status check_testbed_fits_host(const TestbedSpec& tb, const RunArgs& args) {
  auto facts = host_facts(args.sysfs_root);
  if (!facts) return facts.error();
  auto margin = margin_bytes(args);
  if (!margin) return margin.error();
  facts->margin_bytes = *margin;
  print_memory_figures(args.sysfs_root, args.quiet);
  uint64_t guest = tb.mem_per_node_bytes * static_cast<uint64_t>(tb.nodes);
  return check_vm_fits_host(guest + kQemuHostOverheadBytes, *facts);
}

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
  for (size_t i = 0; i < tb.kernels.size(); ++i) {
    const std::string& kernel = tb.kernels[i];
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
    std::vector<Cell> mine =
        spec.shard ? shard_cells_for_kernel(cells, tb.kernels, i, *spec.shard) : cells;
    for (const auto& c : mine)
      std::printf("  %s %s #%d\n", kernel.c_str(), cell_key(c).c_str(), c.repeat);
  }
}

// Everything about the testbed the user can get wrong, checked before anything is fetched or
// written; --force lets only a guest larger than the host's free memory through, with a warning.
Status check_testbed_input(const TestbedSpec& tb, const std::vector<Cell>& cells,
                           const RunArgs& args) {
  if (tb.kernels.empty())
    return make_error(
        "testbed.kernels: give at least one kernel (--kernel debian:7.3, --kernel "
        "build:NAME or --kernel PATH)");
  if (tb.mem_per_node_bytes <= kGuestBootReserveBytes)
    return make_error("testbed.mem_per_node: needs more than " +
                      std::to_string(kGuestBootReserveBytes >> 20) + " MiB");
  std::string shape = std::to_string(tb.nodes) + " nodes of " + format_size(tb.mem_per_node_bytes);
  HostFacts facts = testbed_facts(tb);
  Status valid = validate_cells(cells, facts);
  if (valid) valid = check_free_memory(cells, facts);
  if (!valid) return valid.error().prefixed("testbed " + shape + ": ");
  if (auto s = check_testbed_fits_host(tb, args); !s) {
    if (!args.force) {
      std::fprintf(stderr, "memplace: hint: --margin sets the margin; --force runs anyway\n");
      return s.error().prefixed("testbed (" + shape + "): ");
    }
    std::fprintf(stderr, "memplace: warning: testbed: %s; running anyway (--force)\n",
                 s.error().describe().c_str());
  }
  return {};
}

// A kernel version that does not exist or cannot load KVM is bad input, not a broken host.
Status check_debian_versions(const TestbedSpec& tb) {
  std::optional<std::vector<DebianKernel>> index;
  for (const auto& kernel : tb.kernels) {
    auto ref = parse_kernel_ref(kernel);
    if (!ref || ref->kind != KernelRef::Kind::kDebian) continue;  // load_run_spec checked the rest
    if (!index) {
      auto read = debian_kernel_index(KernelFetchOptions{});
      if (!read) return {};  // run_testbed reports the fetch failure itself
      index = std::move(*read);
    }
    if (auto k = resolve_debian_kernel(*index, ref->value); !k) return k.error();
  }
  return {};
}

}  // namespace

int run_testbed_command(const Spec& spec, const std::vector<Cell>& cells, const RunArgs& args) {
  if (auto s = check_testbed_input(*spec.testbed, cells, args); !s)
    return fail(kExitBadInput, s.error().describe());
  if (args.dry_run) {
    print_testbed_dry_run(spec, cells, args.out_dir);
    return kExitOk;
  }
  if (auto s = check_out_for(args); !s) return fail(kExitBadInput, s.error().describe());
  if (auto s = check_debian_versions(*spec.testbed); !s)
    return fail(kExitBadInput, s.error().describe());
  const std::string& out = args.resume_dir.empty() ? args.out_dir : args.resume_dir;
  RunOptions options;
  options.out_dir = out;
  options.resume = !args.resume_dir.empty();
  options.progress = !args.quiet;
  options.invocation = args.invocation;
  Spec effective = spec;
  effective.source_text = render_spec_toml(spec);
  options.runners = all_cell_runners();
  TestbedHostConfig host;
  attach_testbed_report(options, host, ReportSettings{!args.no_plots, true});
  auto summary = run_testbed(effective, *spec.testbed, options, host);
  if (!summary) {
    return fail(exit_code_for(summary.error()), summary.error().describe());
  }
  if (auto s = print_test_report(args.format, out); !s)
    return fail(exit_code_for(s.error()), s.error().describe());
  return finish_matrix("testbed: ", *summary, out + "/<kernel>/", args.check,
                       args.allow_unsupported);
}

}  // namespace memplace
