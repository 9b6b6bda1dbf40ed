// SPDX-License-Identifier: GPL-2.0-only
// The locality kernels compute what they claim: the triad in every thread's part, the chase as
// one cycle through every slot, never longer than its cap.
#include "agent/locality_kernels.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "host/backing.h"

namespace memplace {
namespace {

TEST(Chase, IsOneCycleThroughEverySlot) {
  std::vector<char> mem(1 << 20);
  size_t n = prepare_chase(mem.data(), mem.size(), 7);
  ASSERT_EQ(n, mem.size() / kChaseSlotBytes);
  std::set<void*> seen;
  void* p = mem.data();
  for (size_t i = 0; i < n; ++i) {
    EXPECT_TRUE(seen.insert(p).second) << "slot revisited after " << i << " hops";
    p = chase(p, 1);
  }
  EXPECT_EQ(p, mem.data()) << "n hops must come back to the start";
  EXPECT_EQ(seen.size(), n);
}

TEST(Chase, NeverWalksMoreThanTheCap) {
  auto m = create_backing(BackingKind::kAnon, kChaseMaxBytes + (4 << 20));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(prepare_chase(m->addr(), m->size(), 1), kChaseMaxBytes / kChaseSlotBytes);
}

TEST(Triad, ComputesBPlusScalarTimesCInEveryThreadsPart) {
  std::vector<double> mem(3 * 1024 + 5);
  TriadArrays t = prepare_triad(mem.data(), mem.size() * sizeof(double));
  ASSERT_GT(t.n, 0u);
  ASSERT_TRUE(triad_parallel(t, {-1, -1, -1}, 3.0).ok());
  for (size_t i = 0; i < t.n; ++i) ASSERT_EQ(t.a[i], 1.0 + 3.0 * 2.0) << "element " << i;
}

TEST(Locality, NamesRoundTrip) {
  for (const char* name : {"none", "triad", "chase"}) {
    auto k = parse_locality(name);
    ASSERT_TRUE(k.ok());
    EXPECT_EQ(locality_name(*k), name);
  }
  EXPECT_FALSE(parse_locality("stream").ok());
}

}  // namespace
}  // namespace memplace
