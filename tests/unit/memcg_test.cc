// SPDX-License-Identifier: GPL-2.0-only
// The memory-cgroup source's readers on fixtures: which controller a process can use (v2 where
// its memory controller is there, else v1), memory.numa_stat in both formats, and the counter
// each backing's pages land in.
#include "placement/memcg.h"

#include <gtest/gtest.h>

namespace memplace {
namespace {

const std::string kMemcgFixtures = std::string(MEMPLACE_FIXTURES) + "/memcg";

TEST(Memcg, FindsV1WhenV2HasNoMemoryController) {
  auto m = find_memcg(kMemcgFixtures + "/v1");
  ASSERT_TRUE(m.ok()) << m.error().describe();
  EXPECT_EQ(m->version, MemcgVersion::kV1);
  EXPECT_EQ(m->mount_point, kMemcgFixtures + "/v1/sys/fs/cgroup/memory");
  EXPECT_EQ(m->own_dir, kMemcgFixtures + "/v1/sys/fs/cgroup/memory/jobs/a");
}

TEST(Memcg, PrefersV2WithMemory) {
  auto m = find_memcg(kMemcgFixtures + "/v2");
  ASSERT_TRUE(m.ok()) << m.error().describe();
  EXPECT_EQ(m->version, MemcgVersion::kV2);
  EXPECT_EQ(m->own_dir, kMemcgFixtures + "/v2/sys/fs/cgroup");
}

TEST(Memcg, NoMountIsAnErrorThatSaysWhy) {
  auto m = find_memcg(std::string(MEMPLACE_FIXTURES) + "/pfn_two_nodes");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().describe().find("mountinfo"), std::string::npos) << m.error().describe();
}

TEST(Memcg, CgroupMountLines) {
  auto mounts = parse_cgroup_mounts(
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:14 - cgroup cgroup rw,memory\n"
      "36 31 0:33 /sub /x rw - cgroup2 cgroup2 rw,nsdelegate\n"
      "37 1 0:34 / /proc rw - proc proc rw\n"
      "garbage\n");
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0].fstype, "cgroup");
  EXPECT_EQ(mounts[0].mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ(mounts[0].super_options, "rw,memory");
  EXPECT_EQ(mounts[1].mount_root, "/sub");
}

TEST(Memcg, ProcCgroupLines) {
  const char* text = "9:name=systemd:/\n4:memory:/jobs/a\n2:cpu,cpuacct:/\n0::/user.slice/x\n";
  EXPECT_EQ(*parse_proc_cgroup(text, MemcgVersion::kV1), "/jobs/a");
  EXPECT_EQ(*parse_proc_cgroup(text, MemcgVersion::kV2), "/user.slice/x");
  EXPECT_FALSE(parse_proc_cgroup("1:cpu:/\n", MemcgVersion::kV1).ok());
}

TEST(Memcg, NumaStatV1IsInPages) {
  auto s = parse_numa_stat("total=300 N0=100 N1=200\nanon=12 N0=10 N1=2\nunevictable=0 N0=0 N1=0\n",
                           MemcgVersion::kV1);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ((*s)["anon"][0], 10u);
  EXPECT_EQ((*s)["anon"][1], 2u);
  EXPECT_EQ((*s)["total"][1], 200u);
}

TEST(Memcg, NumaStatV2IsInBytes) {
  auto s = parse_numa_stat("anon N0=40960 N1=8192\nfile N0=16777216 N1=0\nshmem N0=0 N1=4096\n",
                           MemcgVersion::kV2);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ((*s)["anon"][0], 10u);
  EXPECT_EQ((*s)["anon"][1], 2u);
  EXPECT_EQ((*s)["file"][0], 4096u);
  EXPECT_EQ((*s)["shmem"][1], 1u);
}

TEST(Memcg, NumaStatGarbageIsAnError) {
  EXPECT_FALSE(parse_numa_stat("anon N0=x\n", MemcgVersion::kV2).ok());
  EXPECT_FALSE(parse_numa_stat("anon 12 N0=1\n", MemcgVersion::kV1).ok());
  EXPECT_FALSE(parse_numa_stat("anon N99999=1\n", MemcgVersion::kV2).ok());
  EXPECT_FALSE(parse_numa_stat("", MemcgVersion::kV2).ok());
}

TEST(Memcg, CountersFollowTheBacking) {
  EXPECT_EQ(memcg_counter_for(BackingKind::kAnon, MemcgVersion::kV2), "anon");
  EXPECT_EQ(memcg_counter_for(BackingKind::kShmem, MemcgVersion::kV2), "shmem");
  EXPECT_EQ(memcg_counter_for(BackingKind::kGuestMemfd, MemcgVersion::kV2), "file");
  EXPECT_EQ(memcg_counter_for(BackingKind::kGuestMemfdPrivate, MemcgVersion::kV2), "file");
  // v1 counts LRU lists: shmem is swap-backed, guest_memfd unevictable.
  EXPECT_EQ(memcg_counter_for(BackingKind::kShmem, MemcgVersion::kV1), "anon");
  EXPECT_EQ(memcg_counter_for(BackingKind::kGuestMemfd, MemcgVersion::kV1), "unevictable");
}

}  // namespace
}  // namespace memplace
