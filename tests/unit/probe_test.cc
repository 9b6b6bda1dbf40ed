// SPDX-License-Identifier: GPL-2.0-only
#include "probe/probe.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "golden.h"
#include "host/backing.h"
#include "host/kvm.h"
#include "host/kvm_uapi.h"
#include "host/sysfs.h"
#include "probe/host_features.h"
#include "test_support.h"

namespace memplace {
namespace {

using testing::fixture_path;

TEST(ParseQemuVersion, FirstLineForms) {
  EXPECT_EQ(parse_qemu_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"),
            "7.2.22");
  EXPECT_EQ(parse_qemu_version("QEMU emulator version 9.1.0"), "9.1.0");
  EXPECT_EQ(parse_qemu_version("QEMU emulator version 8.2.2\n"), "8.2.2");
  EXPECT_EQ(parse_qemu_version("something else"), "");
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

// Each feature's decision from a report, on both sides of it, with the reason a test prints.
TEST(FeatureAnswer, KvmAndGuestMemfdDecideFromTheReport) {
  ProbeReport p;
  p.kvm_error = "open /dev/kvm: No such file or directory";
  EXPECT_FALSE(feature_answer(p, HostFeature::kKvm).available);
  EXPECT_EQ(feature_answer(p, HostFeature::kGuestMemfd).reason, p.kvm_error);
  p.kvm_vm_created = true;
  p.kvm_api_version = 12;
  EXPECT_TRUE(feature_answer(p, HostFeature::kKvm).available);
  auto gmem = feature_answer(p, HostFeature::kGuestMemfd);
  EXPECT_FALSE(gmem.available);
  EXPECT_EQ(gmem.reason, "KVM_CAP_GUEST_MEMFD is not offered by this kernel");
  p.guest_memfd = true;
  p.guest_memfd_flags = kvm::kGuestMemfdFlagMmap;
  p.guest_memfd_mmap = true;
  EXPECT_TRUE(feature_answer(p, HostFeature::kGuestMemfd).available);
  auto mmap = feature_answer(p, HostFeature::kGuestMemfdMmap);
  EXPECT_FALSE(mmap.available) << "INIT_SHARED is missing";
  EXPECT_NE(mmap.reason.find("0x1"), std::string::npos) << mmap.reason;
  p.guest_memfd_init_shared = true;
  EXPECT_TRUE(feature_answer(p, HostFeature::kGuestMemfdMmap).available);
  EXPECT_FALSE(feature_answer(p, HostFeature::kSwProtectedVm).available);
  p.sw_protected_vm = true;
  EXPECT_FALSE(feature_answer(p, HostFeature::kSwProtectedVm).available) << "no private attribute";
  p.sw_protected_attributes = kvm::kMemoryAttributePrivate;
  EXPECT_TRUE(feature_answer(p, HostFeature::kSwProtectedVm).available);
}

TEST(FeatureAnswer, SourcesThpAndNodesDecideFromTheReport) {
  ProbeReport p;
  p.placement_sources.memcg = "unsupported: no usable memory cgroup: no cgroup mount";
  auto memcg = feature_answer(p, HostFeature::kMemcg);
  EXPECT_FALSE(memcg.available);
  EXPECT_EQ(memcg.reason, p.placement_sources.memcg);
  p.placement_sources.trace_bpf_usable = true;
  EXPECT_TRUE(feature_answer(p, HostFeature::kBpf).available);
  EXPECT_FALSE(feature_answer(p, HostFeature::kTracefs).available);
  EXPECT_FALSE(feature_answer(p, HostFeature::kThp).available);
  p.thp_enabled = "never";
  EXPECT_FALSE(feature_answer(p, HostFeature::kThp).available);
  p.thp_enabled = "madvise";
  EXPECT_TRUE(feature_answer(p, HostFeature::kThp).available);
  p.topology.nodes = {{0, 8ull << 30, {0}}, {1, 0, {1}}};
  EXPECT_FALSE(feature_answer(p, HostFeature::kTwoNodes).available) << "node 1 has no memory";
  p.topology.nodes[1].memory_bytes = 1ull << 30;
  EXPECT_TRUE(feature_answer(p, HostFeature::kTwoNodes).available);
}

TEST(HostFeatureNames, RoundTripAndUnknownNamesListTheKnownOnes) {
  for (HostFeature f : all_host_features())
    EXPECT_EQ(parse_host_feature(host_feature_name(f)).value(), f);
  auto bad = parse_host_feature("guestmemfd");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("guest_memfd"), std::string::npos) << bad.error().message;
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
  p.placement_sources.trace_bpf =
      "usable (BPF programs on the kmem raw tracepoints; the default here)";
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
