#include "spec/spec_keys.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "base/nodelist.h"
#include "base/text.h"
#include "spec/spec.h"

namespace memplace {
namespace {

TestbedSpec& testbed(Spec& s) {
  if (!s.testbed) s.testbed.emplace();
  return *s.testbed;
}

// Each field function hands out where its key lives; captureless, so it is a plain pointer.
#define MEMPLACE_FIELD(expr) [](Spec& s) -> FieldRef { return &(expr); }

const std::vector<SpecKey> kKeys = {
    // [testbed]: the emulated host (testbed.h).
    {"testbed", "node_count", KeyKind::kInt, "", 1, 64, "", "2", "", "nodes", "Emulated NUMA nodes",
     MEMPLACE_FIELD(testbed(s).nodes)},
    {"testbed", "mem_per_node", KeyKind::kSize, "bytes", 0, 0, "", "1GiB", "", "",
     "Memory of each emulated node", MEMPLACE_FIELD(testbed(s).mem_per_node_bytes)},
    {"testbed", "cpus_per_node", KeyKind::kInt, "", 1, 64, "", "1", "", "",
     "vCPUs of each node that has CPUs", MEMPLACE_FIELD(testbed(s).cpus_per_node)},
    {"testbed", "memory_only_nodes", KeyKind::kNodeIds, "node ids", 0, 63, "", "(none)", "", "",
     "Nodes with memory and no CPUs (each below node_count)",
     MEMPLACE_FIELD(testbed(s).memory_only_nodes)},
    {"testbed", "distances", KeyKind::kDistances, "ACPI SLIT", 10, 255, "", "(QEMU's)", "", "",
     "node_count rows of node_count distances", MEMPLACE_FIELD(testbed(s).distances)},
    {"testbed", "kernels", KeyKind::kTextList, "", 0, 0, "", "(none)", "", "",
     "Kernels under test: debian:V, build:NAME, or a bzImage path",
     MEMPLACE_FIELD(testbed(s).kernels)},
    {"testbed", "modules", KeyKind::kText, "", 0, 0, "", "(none)", "", "",
     "The modules directory for a bzImage path kernel", MEMPLACE_FIELD(testbed(s).modules_dir)},
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
    {"qemu", "binary", KeyKind::kText, "", 1, 0, "", "qemu-system-x86_64", "MEMPLACE_QEMU", "",
     "The QEMU to run", MEMPLACE_FIELD(s.qemu.binary)},
    {"qemu", "kernel", KeyKind::kText, "", 1, 0, "", "debian:", "MEMPLACE_QEMU_KERNEL", "",
     "Guest kernel: debian:, debian:VERSION or a bzImage path", MEMPLACE_FIELD(s.qemu.kernel)},
    {"qemu", "disk_image", KeyKind::kText, "", 1, 0, "", "(none: an initramfs)",
     "MEMPLACE_QEMU_DISK", "", "Raw disk image with the agent installed; boot from it",
     MEMPLACE_FIELD(s.qemu.disk_image)},
    {"qemu", "disk_agent", KeyKind::kText, "", 1, 0, "", "/sbin/memplace-agent",
     "MEMPLACE_QEMU_DISK_AGENT", "", "The agent's absolute path inside disk_image",
     MEMPLACE_FIELD(s.qemu.disk_agent)},
    {"qemu", "agent", KeyKind::kText, "", 1, 0, "", "(memplace-agent beside memplace)",
     "MEMPLACE_AGENT", "", "Host path of memplace-agent for the initramfs",
     MEMPLACE_FIELD(s.qemu.agent)},
    {"qemu", "busybox", KeyKind::kText, "", 1, 0, "", "/bin/busybox", "", "",
     "Static busybox for the initramfs", MEMPLACE_FIELD(s.qemu.busybox)},
    {"qemu", "accel", KeyKind::kChoice, "", 0, 0, "auto, kvm, tcg", "auto", "MEMPLACE_QEMU_ACCEL",
     "", "QEMU accelerator", MEMPLACE_FIELD(s.qemu.accel)},
    {"qemu", "snp", KeyKind::kFlag, "", 0, 0, "", "false", "MEMPLACE_QEMU_SNP", "",
     "guest_memfd cells run as SEV-SNP guests", MEMPLACE_FIELD(s.qemu.snp)},
    {"qemu", "ovmf", KeyKind::kText, "", 1, 0, "", "(none)", "MEMPLACE_QEMU_OVMF", "",
     "SNP firmware (OVMF built for SNP)", MEMPLACE_FIELD(s.qemu.ovmf)},
    {"qemu", "cbitpos", KeyKind::kInt, "", 1, 63, "", "51", "MEMPLACE_QEMU_CBITPOS", "",
     "The C-bit's position (AMD parts: 47 or 51)", MEMPLACE_FIELD(s.qemu.cbitpos)},
    {"qemu", "reduced_phys_bits", KeyKind::kInt, "", 0, 63, "", "1",
     "MEMPLACE_QEMU_REDUCED_PHYS_BITS", "", "Physical address bits SNP takes away",
     MEMPLACE_FIELD(s.qemu.reduced_phys_bits)},
    {"qemu", "kernel_hashes", KeyKind::kFlag, "", 0, 0, "", "false", "MEMPLACE_QEMU_KERNEL_HASHES",
     "", "Measure the kernel, initrd and command line", MEMPLACE_FIELD(s.qemu.kernel_hashes)},
    {"qemu", "boot_timeout_s", KeyKind::kInt, "seconds", 1, 86400, "", "120",
     "MEMPLACE_QEMU_BOOT_TIMEOUT", "", "QEMU start to the agent's hello",
     MEMPLACE_FIELD(s.qemu.boot_timeout_s)},
    {"qemu", "agent_timeout_s", KeyKind::kInt, "seconds", 1, 86400, "",
     "(run.toucher_timeout_s, else 600)", "MEMPLACE_QEMU_AGENT_TIMEOUT", "",
     "The agent's go to its done: the touch", MEMPLACE_FIELD(s.qemu.agent_timeout_s)},
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
