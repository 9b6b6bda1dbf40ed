#include "kernel/preflight.h"
#include "experiment/spec.h"

#include <gtest/gtest.h>

namespace memplace {
namespace {

TEST(Preflight, DiskSpaceIsReadFromTheNearestExistingDirectory) {
  auto free = free_disk_bytes("/tmp/memplace-does-not-exist/a/b/c");
  ASSERT_TRUE(free.ok()) << free.error().describe();
  EXPECT_GT(*free, 0u);
  EXPECT_TRUE(check_results_disk("/tmp/memplace-does-not-exist/out", 1).ok());
  // More runs than any disk here can hold must be refused, naming the space.
  auto s = check_results_disk("/tmp/memplace-does-not-exist/out", size_t{1} << 40);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("MiB free for results"), std::string::npos) << s.error().message;
}

TEST(Preflight, KvmWarningsOnlyForCellsThatNeedKvm) {
  Cell anon;
  Cell gmem;
  gmem.backing = BackingKind::kGuestMemfd;
  Cell vcpu;
  vcpu.toucher = ToucherKind::kVcpu;
  EXPECT_TRUE(kvm_warnings({anon}, "/nonexistent/kvm").empty());
  auto w = kvm_warnings({anon, gmem, vcpu}, "/nonexistent/kvm");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("2 run(s)"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("unsupported"), std::string::npos) << w[0];
}

}  // namespace
}  // namespace memplace
