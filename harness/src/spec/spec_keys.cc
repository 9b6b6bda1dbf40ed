// SPDX-License-Identifier: GPL-2.0-only
#include "spec/spec_keys.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "base/nodelist.h"
#include "base/text.h"
#include "spec/spec.h"
#include "spec/spec_key_codecs.h"
#include "spec/spec_ranges.h"

namespace memplace {
namespace {

TestbedSpec& testbed(Spec& s) {
  if (!s.testbed) s.testbed.emplace();
  return *s.testbed;
}

// Each field function hands out where its key lives; captureless, so it is a plain pointer.
#define MEMPLACE_FIELD(expr) [](Spec& s) -> FieldRef { return &(expr); }

// A key that its codec reads and writes (spec_key_codecs.cc).
SpecKey coded(std::string_view section, std::string_view name, const KeyCodec& codec,
              std::string_view unit, std::string_view default_text, std::string_view flag,
              std::string_view help, bool omit_default = false,
              FlagSplit split = FlagSplit::kCommas, std::string_view old_name = "") {
  SpecKey k{section, name, KeyKind::kCustom, unit, 0, 0, "", default_text, "", old_name, help};
  k.codec = &codec;
  k.flag = flag;
  k.split = split;
  k.omit_default = omit_default;
  return k;
}

SpecKey with_flag(SpecKey k, std::string_view flag, bool omit_default = false,
                  FlagSplit split = FlagSplit::kCommas) {
  k.flag = flag;
  k.omit_default = omit_default;
  k.split = split;
  return k;
}

// A [qemu] key holding text that must not be empty: a path, a kernel reference.
SpecKey qemu_text(std::string_view name, std::string_view default_text, std::string_view env,
                  std::string_view help, FieldRef (*field)(Spec&), std::string_view old_env = "") {
  SpecKey k{"qemu", name, KeyKind::kText, "", 1, 0, "", default_text, env, "", help, field};
  k.old_env = old_env;
  return k;
}

SpecKey with_old_env(SpecKey k, std::string_view old_env) {
  k.old_env = old_env;
  return k;
}

SpecKey with_old_flag(SpecKey k, std::string_view old_flag) {
  k.old_flag = old_flag;
  return k;
}

const std::vector<SpecKey> kKeys = {
    // [matrix]: the axes; every combination is a cell (spec.h's expand).
    coded("matrix", "policy", kPolicyCodec, "", "default", "--policy",
          "Memory policies; one may carry its own nodes (bind:0, interleave:0-1)", false,
          FlagSplit::kPolicies),
    coded("matrix", "nodes", kNodeListsCodec, "", "(none)", "--nodes",
          "Node lists crossed with each policy that has no nodes of its own", true,
          FlagSplit::kWhole),
    coded("matrix", "backing", kBackingCodec, "", "anon", "--backing",
          "Memory kinds: anon, shmem, guest_memfd, guest_memfd_private"),
    coded("matrix", "toucher", kToucherCodec, "", "host", "--toucher",
          "What faults the memory in: host threads, a vcpu micro-VM, a QEMU guest"),
    coded("matrix", "size", kSizeCodec, "bytes", "64MiB", "--size", "Bytes each cell touches"),
    coded("matrix", "threads", kThreadsCodec, "", "1", "--threads", "Touching threads or vCPUs"),
    coded("matrix", "cpu_node", kCpuNodeCodec, "", "any", "--cpu-node",
          "The node whose CPUs touch the memory, or any"),
    coded("matrix", "policy_channel", kChannelCodec, "", "mbind", "--policy-channel",
          "How the policy reaches the kernel: mbind on the mapping, or the task policy", true),
    with_flag({"matrix", "repeats", KeyKind::kInt, "", 1, kMaxRepeats, "", "1", "", "",
               "Runs of each cell", MEMPLACE_FIELD(s.repeats)},
              "--repeats"),
    // [run]: settings for every cell.
    with_flag(
        {"run", "sample_interval_ms", KeyKind::kInt, "milliseconds", 1, kMaxSampleIntervalMs, "",
         "10", "", "", "The meminfo sampler's interval", MEMPLACE_FIELD(s.sample_interval_ms)},
        "--sample-interval-ms"),
    coded("run", "tolerance", kToleranceCodec, "fraction", "0.05", "--tolerance",
          "How far a measured split may be from the expected one and still be honored"),
    coded("run", "populate", kPopulateCodec, "", "auto", "--populate",
          "How the host toucher faults pages in (auto: the fastest that works)", true),
    coded("run", "thp", kThpCodec, "", "auto", "",
          "Huge page advice before populating (flags: --thp, --no-thp)", true),
    with_old_flag(coded("run", "locality", kLocalityCodec, "", "none", "--locality",
                        "A locality loop timed on the placed memory afterwards", true,
                        FlagSplit::kCommas, "workload"),
                  "--workload"),
    coded("run", "toucher_timeout_s", kToucherTimeoutCodec, "seconds",
          "auto (120 s + 60 s per GiB)", "--toucher-timeout-s",
          "How long one cell's touch may take before it is stopped and recorded as failed"),
    coded("run", "shard", kShardCodec, "", "(all of the matrix)", "--shard",
          "Run only slice K of N of the matrix (memplace merge joins the slices)"),
    coded("run", "placement_sources", kPlacementSourcesCodec, "", "trace, cgroup",
          "--placement-sources", "Placement sources beside move_pages and meminfo", true),
    with_flag({"run", "trace_buffer_kib", KeyKind::kInt, "KiB", 0, 1 << 20, "", "0", "", "",
               "The trace source's per-CPU ring buffer (0: sized by the cell)",
               MEMPLACE_FIELD(s.trace_buffer_kib)},
              "--trace-buffer-kib", true),
    coded("run", "trace_transport", kTraceTransportCodec, "", "auto", "--trace-transport",
          "How the trace source reads page allocations: bpf, tracefs (auto: bpf where it loads)",
          true),
    // [testbed]: the emulated host (testbed.h).
    with_flag({"testbed", "node_count", KeyKind::kInt, "", 1, 64, "", "2", "", "nodes",
               "Emulated NUMA nodes", MEMPLACE_FIELD(testbed(s).nodes)},
              "--node-count"),
    with_flag({"testbed", "mem_per_node", KeyKind::kSize, "bytes", 0, 0, "", "1GiB", "", "",
               "Memory of each emulated node", MEMPLACE_FIELD(testbed(s).mem_per_node_bytes)},
              "--mem-per-node"),
    with_flag({"testbed", "cpus_per_node", KeyKind::kInt, "", 1, 64, "", "1", "", "",
               "vCPUs of each node that has CPUs", MEMPLACE_FIELD(testbed(s).cpus_per_node)},
              "--cpus-per-node"),
    with_flag({"testbed", "memory_only_nodes", KeyKind::kNodeIds, "node ids", 0, 63, "", "(none)",
               "", "", "Nodes with memory and no CPUs (each below node_count)",
               MEMPLACE_FIELD(testbed(s).memory_only_nodes)},
              "--memory-only-nodes", false, FlagSplit::kWhole),
    {"testbed", "distances", KeyKind::kDistances, "ACPI SLIT", 10, 255, "", "(QEMU's)", "", "",
     "node_count rows of node_count distances", MEMPLACE_FIELD(testbed(s).distances)},
    with_flag({"testbed", "kernels", KeyKind::kTextList, "", 0, 0, "", "(none)", "", "",
               "Kernels under test: debian:V, build:NAME, or a bzImage path",
               MEMPLACE_FIELD(testbed(s).kernels)},
              "--kernel"),
    with_flag(
        {"testbed", "modules", KeyKind::kText, "", 0, 0, "", "(none)", "", "",
         "The modules directory for a bzImage path kernel", MEMPLACE_FIELD(testbed(s).modules_dir)},
        "--modules"),
    {"testbed", "accel", KeyKind::kChoice, "", 0, 0, "auto, kvm, tcg", "auto", "", "",
     "QEMU accelerator (auto: KVM where it works, else TCG)", MEMPLACE_FIELD(testbed(s).accel)},
    {"testbed", "boot_timeout_s", KeyKind::kInt, "seconds", 1, 86400, "", "300", "", "boot_timeout",
     "QEMU start to the guest's hello (its kernel is up)",
     MEMPLACE_FIELD(testbed(s).boot_timeout_seconds)},
    {"testbed", "timeout_s", KeyKind::kInt, "seconds", 1, 604800, "", "600", "", "timeout",
     "The guest's hello to its end: the whole matrix inside",
     MEMPLACE_FIELD(testbed(s).timeout_seconds)},
    {"testbed", "extra_append", KeyKind::kText, "", 0, 0, "", "(none)", "", "",
     "Added to each testbed guest's kernel command line", MEMPLACE_FIELD(testbed(s).extra_append)},
    // [qemu]: how toucher = "qemu" cells build and boot their guest (qemu_cell_options.h).
    qemu_text("binary", "qemu-system-x86_64", "MEMPLACE_QEMU_BINARY", "The QEMU to run",
              MEMPLACE_FIELD(s.qemu.binary), "MEMPLACE_QEMU"),
    qemu_text("kernel", "debian:", "MEMPLACE_QEMU_KERNEL",
              "Guest kernel: debian:, debian:VERSION or a bzImage path",
              MEMPLACE_FIELD(s.qemu.kernel)),
    qemu_text("disk_image", "(none: an initramfs)", "MEMPLACE_QEMU_DISK_IMAGE",
              "Raw disk image with the agent installed; boot from it",
              MEMPLACE_FIELD(s.qemu.disk_image), "MEMPLACE_QEMU_DISK"),
    qemu_text("disk_agent", "/sbin/memplace-agent", "MEMPLACE_QEMU_DISK_AGENT",
              "The agent's absolute path inside disk_image", MEMPLACE_FIELD(s.qemu.disk_agent)),
    qemu_text("agent", "(memplace-agent beside memplace)", "MEMPLACE_QEMU_AGENT",
              "Host path of memplace-agent for the initramfs", MEMPLACE_FIELD(s.qemu.agent),
              "MEMPLACE_AGENT"),
    qemu_text("busybox", "/bin/busybox", "", "Static busybox for the initramfs",
              MEMPLACE_FIELD(s.qemu.busybox)),
    {"qemu", "accel", KeyKind::kChoice, "", 0, 0, "auto, kvm, tcg", "auto", "MEMPLACE_QEMU_ACCEL",
     "", "QEMU accelerator", MEMPLACE_FIELD(s.qemu.accel)},
    {"qemu", "snp", KeyKind::kFlag, "", 0, 0, "", "false", "MEMPLACE_QEMU_SNP", "",
     "guest_memfd cells run as SEV-SNP guests", MEMPLACE_FIELD(s.qemu.snp)},
    qemu_text("ovmf", "(none)", "MEMPLACE_QEMU_OVMF", "SNP firmware (OVMF built for SNP)",
              MEMPLACE_FIELD(s.qemu.ovmf)),
    {"qemu", "cbitpos", KeyKind::kInt, "", 1, 63, "", "51", "MEMPLACE_QEMU_CBITPOS", "",
     "The C-bit's position (AMD parts: 47 or 51)", MEMPLACE_FIELD(s.qemu.cbitpos)},
    {"qemu", "reduced_phys_bits", KeyKind::kInt, "", 0, 63, "", "1",
     "MEMPLACE_QEMU_REDUCED_PHYS_BITS", "", "Physical address bits SNP takes away",
     MEMPLACE_FIELD(s.qemu.reduced_phys_bits)},
    {"qemu", "kernel_hashes", KeyKind::kFlag, "", 0, 0, "", "false", "MEMPLACE_QEMU_KERNEL_HASHES",
     "", "Measure the kernel, initrd and command line", MEMPLACE_FIELD(s.qemu.kernel_hashes)},
    with_old_env({"qemu", "boot_timeout_s", KeyKind::kInt, "seconds", 1, 86400, "", "120",
                  "MEMPLACE_QEMU_BOOT_TIMEOUT_S", "", "QEMU start to the agent's hello",
                  MEMPLACE_FIELD(s.qemu.boot_timeout_s)},
                 "MEMPLACE_QEMU_BOOT_TIMEOUT"),
    with_old_env({"qemu", "agent_timeout_s", KeyKind::kInt, "seconds", 1, 86400, "",
                  "(run.toucher_timeout_s, else 600)", "MEMPLACE_QEMU_AGENT_TIMEOUT_S", "",
                  "The agent's go to its done: the touch", MEMPLACE_FIELD(s.qemu.agent_timeout_s)},
                 "MEMPLACE_QEMU_AGENT_TIMEOUT"),
    {"qemu", "poweroff_timeout_s", KeyKind::kInt, "seconds", 1, 86400, "", "30", "", "",
     "Poweroff to QEMU's exit", MEMPLACE_FIELD(s.qemu.poweroff_timeout_s)},
    {"qemu", "guest_overhead", KeyKind::kSize, "bytes", 16 << 20, 0, "", "256MiB", "", "",
     "Guest RAM beyond the touch (kernel, agent)", MEMPLACE_FIELD(s.qemu.guest_overhead_bytes)},
    {"qemu", "extra_append", KeyKind::kText, "", 0, 0, "", "(none)", "", "",
     "Added to the guest kernel's command line", MEMPLACE_FIELD(s.qemu.extra_append)},
};

#undef MEMPLACE_FIELD

}  // namespace

const std::vector<SpecKey>& spec_keys() {
  return kKeys;
}

std::vector<const SpecKey*> spec_keys_of(std::string_view section) {
  std::vector<const SpecKey*> out;
  for (const SpecKey& k : kKeys)
    if (k.section == section) out.push_back(&k);
  return out;
}

const SpecKey* find_spec_key(std::string_view section, std::string_view name) {
  for (const SpecKey& k : kKeys)
    if (k.section == section && (k.name == name || (!k.old_name.empty() && k.old_name == name)))
      return &k;
  return nullptr;
}

}  // namespace memplace
