#include "kernel/probe.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "golden.h"
#include "kernel/backing.h"
#include "kernel/kvm.h"
#include "kernel/kvm_uapi.h"
#include "kernel/sysfs.h"
#include "test_support.h"

namespace memplace {
namespace {

using testing::fixture_path;

bool have_kvm() {
  return ::access("/dev/kvm", R_OK | W_OK) == 0;
}

TEST(ParseQemuVersion, FirstLineForms) {
  EXPECT_EQ(parse_qemu_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"),
            "7.2.22");
  EXPECT_EQ(parse_qemu_version("QEMU emulator version 9.1.0"), "9.1.0");
  EXPECT_EQ(parse_qemu_version("QEMU emulator version 8.2.2\n"), "8.2.2");
  EXPECT_EQ(parse_qemu_version("something else"), "");
}

TEST(Probe, JsonHasEveryField) {
  auto j = to_json(run_probe());
  for (const char* ptr : {"/kernel_release",
                          "/topology/nodes",
                          "/topology/distances",
                          "/kvm/present",
                          "/kvm/vm_created",
                          "/kvm/error",
                          "/kvm/api_version",
                          "/guest_memfd/supported",
                          "/guest_memfd/flags",
                          "/guest_memfd/mmap",
                          "/guest_memfd/init_shared",
                          "/guest_memfd/numa_policy/state",
                          "/guest_memfd/numa_policy/detail",
                          "/policies_supported",
                          "/weighted_interleave",
                          "/sev_snp/kvm_amd_sev_snp",
                          "/sev_snp/dev_sev",
                          "/cpu_virt",
                          "/qemu/binary",
                          "/qemu/version"}) {
    EXPECT_TRUE(j.contains(nlohmann::json::json_pointer(ptr))) << ptr << " missing";
  }
  for (PolicyMode mode : all_policies())
    EXPECT_TRUE(j["policies_supported"].contains(policy_name(mode))) << policy_name(mode);
  const std::string state = j["guest_memfd"]["numa_policy"]["state"];
  EXPECT_TRUE(state == "honored" || state == "not_honored" || state == "unknown") << state;
}

TEST(Probe, LiveHostFacts) {
  auto p = run_probe();
  auto rel = read_kernel_release("");
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(p.kernel_release, *rel);
  ASSERT_FALSE(p.topology.nodes.empty());
  // default, bind and interleave are as old as NUMA support itself.
  EXPECT_TRUE(p.policies_supported.at("default"));
  EXPECT_TRUE(p.policies_supported.at("bind"));
  EXPECT_TRUE(p.policies_supported.at("interleave"));
  if (!p.qemu_binary.empty()) {
    EXPECT_FALSE(p.qemu_version.empty()) << p.qemu_binary;
  }
  EXPECT_NE(format_probe_text(p).find(p.kernel_release), std::string::npos);
}

TEST(Probe, GuestMemfdFlagsMatchTheKernel) {
  if (!have_kvm()) GTEST_SKIP() << "/dev/kvm is not available";
  auto p = run_probe();
  ASSERT_TRUE(p.kvm_present);
  ASSERT_TRUE(p.kvm_vm_created) << p.kvm_error;
  EXPECT_EQ(p.kvm_api_version, 12);  // KVM_API_VERSION has been 12 since 2007
  auto sys = KvmSystem::open();
  ASSERT_TRUE(sys.ok());
  auto vm = KvmVm::create(*sys);
  ASSERT_TRUE(vm.ok());
  EXPECT_EQ(p.guest_memfd, vm->check_extension(kvm::kCapGuestMemfd) > 0);
  const uint64_t flags = vm->check_extension(kvm::kCapGuestMemfdFlags);
  EXPECT_EQ(p.guest_memfd_flags, flags);
  EXPECT_EQ(p.guest_memfd_mmap, (flags & kvm::kGuestMemfdFlagMmap) != 0);
  EXPECT_EQ(p.guest_memfd_init_shared, (flags & kvm::kGuestMemfdFlagInitShared) != 0);
  if (p.guest_memfd_mmap && p.guest_memfd_init_shared) {
    EXPECT_NE(p.gmem_policy_state, "unknown") << p.gmem_policy_detail;
  }
}

// The probe's verdict must agree with what the kernel answers to the same question asked here
// independently, whatever the kernel version.
TEST(Probe, SharedPolicyStateIsConsistentWithTheKernel) {
  if (!have_kvm()) GTEST_SKIP() << "/dev/kvm is not available";
  auto nodes = list_nodes("");
  ASSERT_TRUE(nodes.ok());
  const std::vector<int> set = {nodes->front()};
  const size_t size = 4 * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  auto m = create_backing(BackingKind::kGuestMemfd, size);
  if (!m.ok()) GTEST_SKIP() << "guest_memfd cannot be mapped here: " << m.error().describe();

  auto check = check_gmem_shared_policy(PolicyMode::kBind, set);
  ASSERT_NE(check.state, "unknown") << check.detail;
  ASSERT_TRUE(check.first_view && check.second_view);
  EXPECT_EQ(check.first_view->mpol, mpol_value(PolicyMode::kBind));
  EXPECT_EQ(check.first_view->nodes, set);
  if (check.state == "honored") {
    EXPECT_EQ(check.second_view->mpol, mpol_value(PolicyMode::kBind));
    EXPECT_EQ(check.second_view->nodes, set);
  } else {
    EXPECT_EQ(check.state, "not_honored");
    EXPECT_EQ(check.second_view->mpol, mpol_value(PolicyMode::kDefault));
  }

  auto view = m->map_again();
  ASSERT_TRUE(view.ok());
  ASSERT_TRUE(apply_policy(m->addr(), m->size(), PolicyMode::kBind, set).ok());
  auto back = read_policy_at(view->addr());
  ASSERT_TRUE(back.ok()) << back.error().describe();
  const bool kernel_shares = back->mpol == mpol_value(PolicyMode::kBind) && back->nodes == set;
  EXPECT_EQ(check.state, kernel_shares ? "honored" : "not_honored")
      << "kernel " << run_probe().kernel_release << ": " << check.detail;

  auto p = run_probe();
  EXPECT_EQ(p.gmem_policy_state, check.state);
}

TEST(Probe, WithoutKvmNothingCrashes) {
  // The fixture roots have no dev/kvm, so these probe a KVM-less host with the same code path.
  auto p = run_probe(fixture_path("sparse_0_2"));
  EXPECT_FALSE(p.kvm_present);
  EXPECT_FALSE(p.kvm_vm_created);
  EXPECT_NE(p.kvm_error.find("dev/kvm"), std::string::npos) << p.kvm_error;
  EXPECT_FALSE(p.guest_memfd);
  EXPECT_EQ(p.guest_memfd_flags, 0u);
  EXPECT_EQ(p.gmem_policy_state, "unknown");
  EXPECT_EQ(p.kernel_release, "6.19.0-rc3-memplace");
  EXPECT_TRUE(p.sev_snp_param);
  EXPECT_TRUE(p.dev_sev);
  EXPECT_TRUE(p.cpu_virt);  // svm in the fixture's cpuinfo
  EXPECT_NO_THROW(to_json(p).dump());
  EXPECT_NE(format_probe_text(p).find("absent"), std::string::npos);

  auto one = run_probe(fixture_path("one_node"));
  EXPECT_FALSE(one.kvm_present);
  EXPECT_FALSE(one.sev_snp_param);  // no kvm_amd module
  EXPECT_FALSE(one.dev_sev);
  EXPECT_FALSE(one.weighted_interleave);  // no weighted_interleave dir
  EXPECT_TRUE(one.cpu_virt);              // vmx

  auto none = run_probe(fixture_path("does-not-exist"));
  EXPECT_TRUE(none.kernel_release.empty());
  EXPECT_FALSE(none.kvm_present);
}

TEST(Probe, QemuMissingFromPath) {
  const char* old = std::getenv("PATH");
  const std::string saved = old ? old : "";
  ::setenv("PATH", "/nonexistent", 1);
  auto p = run_probe(fixture_path("one_node"));
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_TRUE(p.qemu_binary.empty());
  EXPECT_TRUE(p.qemu_version.empty());
  EXPECT_NE(format_probe_text(p).find("not found on PATH"), std::string::npos);
}

TEST(FormatProbeText, Golden) {
  ProbeReport p;
  p.kernel_release = "6.19.0-rc3-memplace";
  p.topology.nodes = {{0, 8ull << 30, {0, 1, 2, 3}}, {2, 16ull << 30, {}}};
  p.topology.distances = {{10, 21}, {21, 10}};
  p.kvm_present = true;
  p.kvm_vm_created = true;
  p.kvm_api_version = 12;
  p.guest_memfd = true;
  p.guest_memfd_flags = 3;
  p.guest_memfd_mmap = true;
  p.guest_memfd_init_shared = true;
  p.kvm_vm_types = 0x3;
  p.sw_protected_vm = true;
  p.sw_protected_gmem_flags = 0x1;
  p.sw_protected_attributes = 0x8;
  p.placement_sources.trace = "usable (kmem:mm_page_alloc and mm_page_free in a tracefs instance)";
  p.placement_sources.trace_usable = true;
  p.placement_sources.trace_bpf = "usable (BPF programs on the kmem raw tracepoints; the default here)";
  p.placement_sources.trace_bpf_usable = true;
  p.placement_sources.memcg = "unsupported: no usable memory cgroup: no cgroup mount";
  p.gmem_policy_state = "honored";
  p.gmem_policy_detail =
      "mbind interleave:0,2 on one mapping reads back interleave:0,2 through a second mapping: "
      "the policy lives in the file (shared policy)";
  for (PolicyMode mode : all_policies()) p.policies_supported[policy_name(mode)] = true;
  p.policies_supported["weighted-interleave"] = false;
  p.sev_snp_param = true;
  p.dev_sev = false;
  p.cpu_virt = true;
  p.thp_enabled = "madvise";
  p.thp_shmem_enabled = "never";
  p.qemu_binary = "/usr/bin/qemu-system-x86_64";
  p.qemu_version = "9.2.0";

  testing::expect_golden(format_probe_text(p), "probe_text.txt");
}

}  // namespace
}  // namespace memplace
