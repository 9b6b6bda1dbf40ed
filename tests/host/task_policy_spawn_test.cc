// SPDX-License-Identifier: GPL-2.0-only
// A child started under a task memory policy (the qemu toucher's task channel) runs under it,
// as `numactl --membind` would start it: numactl --show, run that way, reports the policy.
#include <gtest/gtest.h>
#include <numaif.h>

#include "base/subprocess.h"
#include "host/sysfs.h"

namespace memplace {
namespace {

TEST(TaskPolicySpawn, TheChildRunsUnderThePolicyItWasGiven) {
  const std::string numactl = find_on_path("numactl");
  if (numactl.empty()) GTEST_SKIP() << "numactl is not installed (scripts/install-deps.sh)";
  auto nodes = list_nodes("");
  ASSERT_TRUE(nodes.ok() && !nodes->empty());
  SpawnOptions options;
  options.output.stdout_to = ChildOutput::To::kPipe;
  options.mempolicy = {MPOL_BIND, {nodes->front()}};
  auto child = Child::spawn({numactl, "--show"}, options);
  ASSERT_TRUE(child.ok()) << child.error().describe();
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(child->stdout_pipe().get(), buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(child->wait(), 0);
  EXPECT_NE(out.find("policy: bind"), std::string::npos) << out;
  EXPECT_NE(out.find("membind: " + std::to_string(nodes->front())), std::string::npos) << out;

  // Without one the child keeps the parent's (default) policy.
  SpawnOptions plain;
  plain.output.stdout_to = ChildOutput::To::kPipe;
  auto other = Child::spawn({numactl, "--show"}, plain);
  ASSERT_TRUE(other.ok());
  std::string out2;
  for (ssize_t n; (n = ::read(other->stdout_pipe().get(), buf, sizeof buf)) > 0;)
    out2.append(buf, static_cast<size_t>(n));
  other->wait();
  EXPECT_NE(out2.find("policy: default"), std::string::npos) << out2;
}

}  // namespace
}  // namespace memplace
