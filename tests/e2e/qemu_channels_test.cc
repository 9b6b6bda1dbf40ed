// SPDX-License-Identifier: GPL-2.0-only
// The qemu toucher's policy channels through the real binary: the probe says what the
// installed QEMU offers, asked over QMP; a dry run of the cover letter's SNP spec predicts for
// each channel which memory the policy governs, and the mbind channel's SNP cell is reported as
// unable to judge the kernel rather than judged.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "memplace_exec.h"
#include "qemu/qemu_guest.h"

namespace memplace {
namespace {

using testing::run_memplace;

TEST(QemuChannels, ProbeDescribesTheInstalledQemuFromItsOwnAnswers) {
  auto caps = probe_qemu("qemu-system-x86_64");
  if (!caps) GTEST_SKIP() << "no QEMU: " << caps.error().describe();
  auto e = run_memplace("probe --json --qemu qemu-system-x86_64");
  ASSERT_EQ(e.status, 0) << e.output;
  const auto j = nlohmann::json::parse(e.out);
  ASSERT_EQ(j["qemu"].size(), 1u) << e.out;
  const auto& q = j["qemu"][0];
  EXPECT_EQ(q["qmp_error"], "") << "QMP must answer";
  EXPECT_EQ(q["version"], caps->version.text());
  EXPECT_NE(std::find(q["accelerators"].begin(), q["accelerators"].end(), "tcg"),
            q["accelerators"].end())
      << q.dump();
  EXPECT_NE(
      std::find(q["memory_backends"].begin(), q["memory_backends"].end(), "memory-backend-memfd"),
      q["memory_backends"].end())
      << q.dump();
  // No Debian QEMU (7.2, 10.0, 11.1) has a guest_memfd backend; a newer one would say so here.
  if (caps->version.major < 12) {
    EXPECT_EQ(q["guest_memfd_backend"], "") << q.dump();
    auto text = run_memplace("probe --qemu qemu-system-x86_64");
    EXPECT_NE(text.out.find("use --policy-channel task"), std::string::npos) << text.out;
  }
}

TEST(QemuChannels, DryRunPredictsWhatEachChannelGoverns) {
  if (!probe_qemu("qemu-system-x86_64")) GTEST_SKIP() << "no QEMU";
  // The cover letter's spec with the QEMU installed here in place of its patched one.
  std::string text =
      testing::slurp(std::string(MEMPLACE_SOURCE_DIR) + "/specs/cover-letter-snp.toml");
  const std::string from = "/opt/qemu-snp/bin/qemu-system-x86_64";
  text.replace(text.find(from), from.size(), "qemu-system-x86_64");
  const std::string spec = testing::fresh_temp_dir("qemu-channels") + ".toml";
  testing::write_text(spec, text);
  auto e = run_memplace("run " + spec +
                        " --dry-run --policy bind:0 --size 64MiB --policy-channel mbind,task");
  std::filesystem::remove(spec);
  ASSERT_EQ(e.status, 0) << e.output;
  const size_t mbind = e.out.find(
      "# policy reach (mbind channel): shared governed, private not "
      "governed: private memory: not governed by the mbind channel");
  const size_t task =
      e.out.find("# policy reach (task channel): shared governed, private governed");
  EXPECT_NE(mbind, std::string::npos) << e.out;
  EXPECT_NE(task, std::string::npos) << e.out;
  EXPECT_NE(e.out.find("set_mempolicy(bind, 0) before exec"), std::string::npos) << e.out;
  // The task channel's backend carries no policy of its own.
  const std::string task_part = e.out.substr(e.out.find("/task #0"));
  EXPECT_EQ(task_part.find("host-nodes="), std::string::npos) << task_part;
}

}  // namespace
}  // namespace memplace
