// SPDX-License-Identifier: GPL-2.0-only
// Which memory of a qemu cell its channel governs, predicted from what QEMU and the kernel offer;
// and what QEMU offers, read from its QMP answers.
#include "qemu/qemu_policy_reach.h"

#include <gtest/gtest.h>

#include "qemu/qemu_qmp.h"

namespace memplace {
namespace {

Cell snp_cell(PolicyChannel channel) {
  Cell c;
  c.policy = PolicyMode::kInterleave;
  c.nodes = {0, 1};
  c.backing = BackingKind::kGuestMemfd;
  c.toucher = ToucherKind::kQemu;
  c.channel = channel;
  return c;
}

QemuCapabilities with_backend(const std::string& backend, bool host_nodes) {
  QemuCapabilities caps;
  caps.guest_memfd_backend = backend;
  caps.guest_memfd_backend_host_nodes = host_nodes;
  return caps;
}

// Stock QEMU (no guest_memfd backend): the mbind channel cannot reach an SNP guest's private
// memory on any kernel, and the prediction says which channel does.
TEST(PolicyReach, StockQemuLeavesSnpPrivateMemoryToTheTaskChannel) {
  for (auto kernel :
       {KernelGmemPolicy::kHonored, KernelGmemPolicy::kIgnored, KernelGmemPolicy::kUnknown}) {
    PolicyReach mbind = predict_policy_reach(snp_cell(PolicyChannel::kMbind), true, {}, kernel);
    EXPECT_EQ(mbind.private_, Reach::kNotGoverned);
    EXPECT_EQ(mbind.shared, Reach::kGoverned);
    EXPECT_NE(mbind.why.find("not governed by the mbind channel with this QEMU (no guest_memfd "
                             "backend); the task channel governs it"),
              std::string::npos)
        << mbind.why;
    PolicyReach task = predict_policy_reach(snp_cell(PolicyChannel::kTask), true, {}, kernel);
    EXPECT_EQ(task.private_, Reach::kGoverned);
  }
}

TEST(PolicyReach, AGuestMemfdBackendWithHostNodesReachesItWhereTheKernelTakesThePolicy) {
  const QemuCapabilities caps = with_backend("memory-backend-guest-memfd", true);
  const Cell cell = snp_cell(PolicyChannel::kMbind);
  EXPECT_EQ(predict_policy_reach(cell, true, caps, KernelGmemPolicy::kHonored).private_,
            Reach::kGoverned);
  EXPECT_EQ(predict_policy_reach(cell, true, caps, KernelGmemPolicy::kIgnored).private_,
            Reach::kNotGoverned);
  EXPECT_EQ(predict_policy_reach(cell, true, with_backend("memory-backend-guest-memfd", false),
                                 KernelGmemPolicy::kHonored)
                .private_,
            Reach::kNotGoverned);
}

TEST(PolicyReach, PlainVmsHaveNoPrivateMemory) {
  Cell anon = snp_cell(PolicyChannel::kMbind);
  anon.backing = BackingKind::kAnon;
  PolicyReach p = predict_policy_reach(anon, false, {}, KernelGmemPolicy::kUnknown);
  EXPECT_EQ(p.shared, Reach::kGoverned);
  EXPECT_EQ(p.private_, Reach::kAbsent);
  Cell gmem = snp_cell(PolicyChannel::kMbind);
  EXPECT_EQ(predict_policy_reach(gmem, false, {}, KernelGmemPolicy::kIgnored).shared,
            Reach::kNotGoverned);
  EXPECT_EQ(prediction_line(p).rfind("shared governed, private absent: ", 0), 0u);
}

// Bookworm's QEMU 7.2 answered these lines (events and all) to qmp_script().
const char* kQemu72 =
    R"({"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}}, "capabilities": []}}
{"return": {}}
{"return": [{"name": "memory-backend-ram", "parent": "memory-backend"}, {"name": "memory-backend-file", "parent": "memory-backend"}, {"name": "memory-backend-memfd", "parent": "memory-backend"}]}
{"return": [{"name": "share", "type": "bool"}, {"name": "host-nodes", "type": "int"}, {"name": "policy", "type": "HostMemPolicy"}]}
{"error": {"class": "GenericError", "desc": "Class 'memory-backend-guest-memfd' not found"}}
{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "SHUTDOWN", "data": {"guest": false}}
{"return": {}}
)";

TEST(QmpBackends, StockQemuOffersNoGuestMemfdBackend) {
  auto qmp = parse_qmp_memory_backends(kQemu72);
  ASSERT_TRUE(qmp.ok()) << qmp.error().describe();
  EXPECT_EQ(qmp->types.size(), 3u);
  EXPECT_TRUE(qmp->properties["memory-backend-memfd"].count("host-nodes"));
  EXPECT_FALSE(qmp->properties.count("memory-backend-guest-memfd"));
  QemuCapabilities caps;
  fill_guest_memfd_backend(*qmp, caps);
  EXPECT_EQ(caps.guest_memfd_backend, "");
}

// A QEMU with a guest_memfd backend type (AMD's branches) or a guest-memfd property on memfd
// is used as it is, found by what the binary answers, never by its version.
TEST(QmpBackends, AGuestMemfdBackendIsFoundByItsAnswers) {
  std::string with_type = kQemu72;
  with_type.replace(
      with_type.find("{\"error\": {\"class\": \"GenericError\""),
      std::string(
          R"({"error": {"class": "GenericError", "desc": "Class 'memory-backend-guest-memfd' not found"}})")
          .size(),
      R"({"return": [{"name": "host-nodes", "type": "int"}, {"name": "policy"}]})");
  with_type.replace(with_type.find("{\"name\": \"memory-backend-memfd\""), 0,
                    R"({"name": "memory-backend-guest-memfd", "parent": "memory-backend"}, )");
  auto qmp = parse_qmp_memory_backends(with_type);
  ASSERT_TRUE(qmp.ok()) << qmp.error().describe();
  QemuCapabilities caps;
  fill_guest_memfd_backend(*qmp, caps);
  EXPECT_EQ(caps.guest_memfd_backend, "memory-backend-guest-memfd");
  EXPECT_TRUE(caps.guest_memfd_backend_host_nodes);

  std::string with_property = kQemu72;
  with_property.replace(with_property.find("{\"name\": \"share\""), 0,
                        R"({"name": "guest-memfd", "type": "bool"}, )");
  auto prop = parse_qmp_memory_backends(with_property);
  ASSERT_TRUE(prop.ok());
  QemuCapabilities caps2;
  fill_guest_memfd_backend(*prop, caps2);
  EXPECT_EQ(caps2.guest_memfd_backend, "memory-backend-memfd,guest-memfd=on");
  EXPECT_TRUE(caps2.guest_memfd_backend_host_nodes);
}

TEST(QmpBackends, TooFewAnswersAreAnError) {
  EXPECT_FALSE(parse_qmp_memory_backends("{\"return\": {}}\n").ok());
  EXPECT_FALSE(parse_qmp_memory_backends("").ok());
  EXPECT_EQ(parse_qemu_accel_help("Accelerators supported in QEMU binary:\ntcg\nkvm\n"),
            (std::vector<std::string>{"tcg", "kvm"}));
}

}  // namespace
}  // namespace memplace
