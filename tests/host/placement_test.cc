// SPDX-License-Identifier: GPL-2.0-only
#include "host/placement.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "host/backing.h"
#include "host/policy.h"
#include "host/sysfs.h"
#include "host_features.h"

namespace memplace {
namespace {

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

int first_node() {
  auto nodes = list_nodes("");
  return nodes.ok() ? nodes->front() : 0;
}

void touch(void* addr, size_t page_index) {
  static_cast<volatile char*>(addr)[page_index * kPage] = 1;
}

TEST(Placement, HalfTouchedAnonymousMapping) {
  const size_t pages = 256;
  auto m = create_backing(BackingKind::kAnon, pages * kPage);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  const int node = first_node();
  // Bind to one node so the expected node holds on multi-node hosts too.
  ASSERT_TRUE(apply_policy(m->addr(), m->size(), PolicyMode::kBind, {node}).ok());
  for (size_t i = 0; i < pages; i += 2) touch(m->addr(), i);

  auto p = query_placement(m->addr(), m->size());
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->pages_per_node, (std::map<int, uint64_t>{{node, pages / 2}}));
  EXPECT_EQ(p->total_pages(), pages / 2);
  EXPECT_EQ(p->pages_absent, pages / 2);
  EXPECT_TRUE(p->pages_error.empty());
}

TEST(Placement, UntouchedMappingIsAllAbsent) {
  auto m = create_backing(BackingKind::kAnon, 32 * kPage);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  auto p = query_placement(m->addr(), m->size());
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->total_pages(), 0u);
  EXPECT_EQ(p->pages_absent, 32u);
}

TEST(Placement, CountsAcrossBatchBoundaries) {
  // 64Ki pages is one batch; the reservation costs address space only, four pages are touched.
  const size_t pages = 64 * 1024 + 16;
  auto m = create_backing(BackingKind::kAnon, pages * kPage);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  for (size_t i : {size_t{0}, size_t{64 * 1024 - 1}, size_t{64 * 1024}, pages - 1})
    touch(m->addr(), i);
  auto p = query_placement(m->addr(), m->size());
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->total_pages(), 4u);
  EXPECT_EQ(p->pages_absent, pages - 4);
}

TEST(Placement, UnmappedPagesCountedByErrno) {
  void* a = ::mmap(nullptr, 8 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(a, MAP_FAILED);
  touch(a, 0);
  ASSERT_EQ(::munmap(static_cast<char*>(a) + 4 * kPage, 4 * kPage), 0);
  auto p = query_placement(a, 8 * kPage);
  ::munmap(a, 4 * kPage);
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->total_pages(), 1u);
  EXPECT_EQ(p->pages_absent, 3u);
  EXPECT_EQ(p->pages_error, (std::map<int, uint64_t>{{-EFAULT, 4}}));
}

TEST(Placement, RejectsUnalignedAddress) {
  auto m = create_backing(BackingKind::kAnon, 2 * kPage);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(query_placement(static_cast<char*>(m->addr()) + 1, kPage).ok());
}

// Shared by the shmem and guest_memfd tests: pages touched through the first mapping, and pages
// faulted through another mapping that is gone by the time of the readout (like vCPU faults,
// they are in the file's page cache but in none of this process's page tables).
void check_file_placement(Mapping& m) {
  const size_t pages = m.size() / kPage;
  for (size_t i = 0; i < pages / 4; ++i) touch(m.addr(), i);  // first quarter, via this VMA
  {
    auto other = m.map_again();
    ASSERT_TRUE(other.ok()) << other.error().describe();
    for (size_t i = pages / 2; i < 3 * pages / 4; ++i) touch(other->addr(), i);  // third quarter
  }

  auto direct = query_placement(m.addr(), m.size());
  ASSERT_TRUE(direct.ok()) << direct.error().describe();
  EXPECT_EQ(direct->total_pages(), pages / 4) << "pages faulted elsewhere are not in this VMA";

  auto p = query_placement_of_file(m);
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->total_pages(), pages / 2);
  EXPECT_EQ(p->pages_absent, pages / 2);
  EXPECT_TRUE(p->pages_error.empty());
  auto nodes = list_nodes("");
  ASSERT_TRUE(nodes.ok());
  for (const auto& [node, n] : p->pages_per_node)
    EXPECT_TRUE(std::count(nodes->begin(), nodes->end(), node)) << "unknown node " << node;

  // The readout must not have allocated anything: asking again gives the same answer.
  auto again = query_placement_of_file(m);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->total_pages(), pages / 2);
}

TEST(PlacementOfFile, Shmem) {
  auto m = create_backing(BackingKind::kShmem, 64 * kPage);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  check_file_placement(*m);
}

TEST(PlacementOfFile, GuestMemfd) {
  if (!testing::mappable_guest_memfd_or_unsupported()) return;
  auto m = create_backing(BackingKind::kGuestMemfd, 64 * kPage);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  check_file_placement(*m);
}

TEST(PlacementOfFile, AnonHasNoFile) {
  auto m = create_backing(BackingKind::kAnon, 4 * kPage);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(query_placement_of_file(*m).ok());
}

}  // namespace
}  // namespace memplace
