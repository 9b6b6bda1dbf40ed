// SPDX-License-Identifier: GPL-2.0-only
// The memplace binary's dry runs of QEMU cells, and the probe of the QEMU installed here: the
// printed command for a spec's [qemu] table, and a bad table refused before anything starts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/subprocess.h"
#include "golden.h"
#include "qemu/qemu_guest.h"
#include "spec/spec.h"

namespace memplace {
namespace {

constexpr const char* kSnpSpec = R"(name = "snp-from-spec"
[matrix]
policy = "bind:0"
backing = "guest_memfd"
toucher = "qemu"
size = "1GiB"
threads = 4
[qemu]
binary = "/opt/qemu-snp/bin/qemu-system-x86_64"
kernel = "debian:7.3"
snp = true
ovmf = "/opt/snp/OVMF.fd"
cbitpos = 47
reduced_phys_bits = 5
kernel_hashes = true
)";

TEST(QemuProbe, InstalledQemu) {
  auto caps = probe_qemu("qemu-system-x86_64");
  if (!caps) GTEST_SKIP() << "no QEMU: " << caps.error().describe();
  EXPECT_TRUE(caps->version.known()) << caps->version_line;
  EXPECT_TRUE(caps->memfd_properties.count("host-nodes"));
  EXPECT_TRUE(caps->memfd_properties.count("policy"));
  EXPECT_TRUE(caps->memfd_properties.count("share"));
  std::printf("probed %s: %s, memfd properties %zu, sev-snp-guest %s\n", caps->binary.c_str(),
              caps->version.text().c_str(), caps->memfd_properties.size(),
              caps->has_sev_snp_guest ? "yes" : "no");
}

// `memplace run SPEC --dry-run` prints the [qemu] table's binary, SNP object and firmware. The
// binary does not exist, so its version is unknown and the preflight line says why it cannot
// run; --root makes the SNP host checks read a fixture instead of this machine.
TEST(QemuDryRun, SpecTableReachesThePrintedCommand) {
  std::string dir = ::testing::TempDir() + "/memplace-qemu-dry-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/resume");
  std::ofstream(dir + "/snp.toml") << kSnpSpec;
  std::string root = std::string(MEMPLACE_FIXTURES) + "/host";
  // The table leaves the disk unset; a caller's environment must not fill it in here.
  for (const char* v : {"MEMPLACE_QEMU_DISK", "MEMPLACE_QEMU_DISK_AGENT"}) unsetenv(v);
  auto out = run_command(
      {MEMPLACE_BINARY, "run", dir + "/snp.toml", "--root", root, "--force", "--dry-run"});
  ASSERT_TRUE(out.ok()) << out.error().describe();
  ASSERT_EQ(out->exit_code, 0) << out->err;
  EXPECT_NE(out->out.find("/opt/qemu-snp/bin/qemu-system-x86_64 \\\n"), std::string::npos);
  EXPECT_NE(out->out.find("sev-snp-guest,id=sev0,cbitpos=47,reduced-phys-bits=5,kernel-hashes=on"),
            std::string::npos);
  EXPECT_NE(out->out.find("-bios /opt/snp/OVMF.fd"), std::string::npos);
  testing::expect_golden(out->out, "qemu_guest_dry_run_spec.txt");

  // --resume reads the results dir's spec copy, [qemu] included, and prints the same commands.
  auto spec = parse_spec(kSnpSpec, "snp.toml");
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  std::ofstream(dir + "/resume/spec.toml") << render_spec_toml(*spec);
  auto resumed = run_command({MEMPLACE_BINARY, "run", "--resume", dir + "/resume", "--root", root,
                              "--force", "--dry-run"});
  ASSERT_TRUE(resumed.ok()) << resumed.error().describe();
  ASSERT_EQ(resumed->exit_code, 0) << resumed->err;
  EXPECT_EQ(resumed->out, out->out);
  std::filesystem::remove_all(dir);
}

// A bad [qemu] value stops the run before anything starts, with exit 2 and the field named.
TEST(QemuDryRun, BadTableIsRefusedWithExitTwo) {
  std::string path = ::testing::TempDir() + "/memplace-bad-qemu-" + std::to_string(getpid());
  std::ofstream(path) << "[matrix]\ntoucher = \"qemu\"\n[qemu]\ncbitpos = 0\n";
  auto out = run_command({MEMPLACE_BINARY, "run", path, "--dry-run"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->exit_code, 2);
  EXPECT_NE(out->err.find("qemu.cbitpos: must be 1..63"), std::string::npos) << out->err;
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace memplace
