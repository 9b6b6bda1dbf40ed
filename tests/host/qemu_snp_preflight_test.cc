// SPDX-License-Identifier: GPL-2.0-only
// On a host where an SEV-SNP guest can run (faked here: kvm_amd sev_snp=Y, /dev/sev and the
// firmware under a fixture root, QEMU's sev-snp-guest), a stock QEMU's mbind channel cannot
// reach the guest's private memory: the cell is unsupported, saying so, never judged as the
// kernel's failure; the task channel's cell runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "qemu/qemu_cell_preflight.h"
#include "test_support.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

TEST(QemuSnpPreflight, StockQemusMbindChannelCannotJudgeTheKernel) {
  const std::string root = testing::fresh_temp_dir("snp-root");
  fs::create_directories(root + "/sys/module/kvm_amd/parameters");
  fs::create_directories(root + "/dev");
  std::ofstream(root + "/sys/module/kvm_amd/parameters/sev_snp") << "Y\n";
  std::ofstream(root + "/dev/sev") << "";
  std::ofstream(root + "/OVMF.fd") << "firmware";
  QemuToucherOptions o;
  o.snp = true;
  o.snp_config.ovmf = root + "/OVMF.fd";
  QemuCapabilities caps;
  caps.has_sev_snp_guest = true;  // stock QEMU 10.0/11.1: SNP, but no guest_memfd backend
  Cell cell;
  cell.policy = PolicyMode::kInterleave;
  cell.nodes = {0, 1};
  cell.backing = BackingKind::kGuestMemfd;
  cell.toucher = ToucherKind::kQemu;
  auto mbind = qemu_preflight(cell, o, caps, "kvm", root);
  ASSERT_FALSE(mbind.ok());
  EXPECT_EQ(mbind.error().kind, ErrorKind::kUnsupported);
  EXPECT_NE(mbind.error().message.find("private memory: not governed by the mbind channel with "
                                       "this QEMU (no guest_memfd backend); the task channel "
                                       "governs it; this cell cannot judge the kernel"),
            std::string::npos)
      << mbind.error().message;
  cell.channel = PolicyChannel::kTask;
  EXPECT_TRUE(qemu_preflight(cell, o, caps, "kvm", root).ok());
  caps.guest_memfd_backend = "memory-backend-guest-memfd";
  caps.guest_memfd_backend_host_nodes = true;
  cell.channel = PolicyChannel::kMbind;
  auto patched = qemu_preflight(cell, o, caps, "kvm", root);
  EXPECT_TRUE(patched.ok() || patched.error().message.find("ignores") != std::string::npos)
      << patched.error().message;
  fs::remove_all(root);
}

}  // namespace
}  // namespace memplace
