// SPDX-License-Identifier: GPL-2.0-only
// The probe on this host: its facts must match what the kernel answers when asked directly, and
// each feature's answer must be the one the full probe gives.
#include "probe/probe.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "host/backing.h"
#include "host/kvm.h"
#include "host/kvm_uapi.h"
#include "host/sysfs.h"
#include "host_features.h"

namespace memplace {
namespace {

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
  MEMPLACE_REQUIRE_FEATURE(kvm);
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
  MEMPLACE_REQUIRE_FEATURE(guest_memfd_mmap);
  auto nodes = list_nodes("");
  ASSERT_TRUE(nodes.ok());
  const std::vector<int> set = {nodes->front()};
  const size_t size = 4 * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  auto m = create_backing(BackingKind::kGuestMemfd, size);
  ASSERT_TRUE(m.ok()) << m.error().describe();

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

// A test asks one feature at a time (probe_feature); `memplace probe` asks them all at once. Both
// must decide the same, or a test would skip where the product runs.
TEST(HostFeatures, EachAnswerIsTheFullProbesAnswer) {
  const ProbeReport full = run_probe();
  for (HostFeature f : all_host_features()) {
    const FeatureAnswer alone = probe_feature(f);
    const FeatureAnswer in_full = feature_answer(full, f);
    EXPECT_EQ(alone.available, in_full.available)
        << host_feature_name(f) << ": " << alone.reason << " / " << in_full.reason;
    EXPECT_FALSE(alone.reason.empty()) << host_feature_name(f);
    std::printf("%-18s %s: %s\n", host_feature_name(f).c_str(), alone.available ? "yes" : "no",
                alone.reason.c_str());
  }
}

}  // namespace
}  // namespace memplace
