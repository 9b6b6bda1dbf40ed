// SPDX-License-Identifier: GPL-2.0-only
// The micro-VM's pure parts: slices, identity page tables, payload bytes, register state.
#include "touchers/vmm.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

namespace memplace::vmm {
namespace {

TEST(SplitSlices, EvenSplitIsContiguousAndPageAligned) {
  auto s = split_slices(16 * kGuestPageSize, 4);
  ASSERT_EQ(s.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(s[i].offset, i * 4 * kGuestPageSize);
    EXPECT_EQ(s[i].bytes, 4 * kGuestPageSize);
  }
}

TEST(SplitSlices, RemainderGoesToTheFirstSlices) {
  auto s = split_slices(10 * kGuestPageSize, 3);  // 4 + 3 + 3 pages
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].bytes, 4 * kGuestPageSize);
  EXPECT_EQ(s[1].offset, 4 * kGuestPageSize);
  EXPECT_EQ(s[1].bytes, 3 * kGuestPageSize);
  EXPECT_EQ(s[2].offset, 7 * kGuestPageSize);
  EXPECT_EQ(s[2].bytes, 3 * kGuestPageSize);
}

TEST(SplitSlices, MoreVcpusThanPagesLeavesSomeIdle) {
  auto s = split_slices(2 * kGuestPageSize, 3);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].bytes, kGuestPageSize);
  EXPECT_EQ(s[1].bytes, kGuestPageSize);
  EXPECT_EQ(s[2].bytes, 0u);
  EXPECT_EQ(s[2].offset, 2 * kGuestPageSize);
}

TEST(SplitSlices, CoversSizesAboveFourGiB) {
  const uint64_t size = 4608ull << 20;
  auto s = split_slices(size, 3);
  uint64_t total = 0;
  for (auto& x : s) total += x.bytes;
  EXPECT_EQ(total, size);
  EXPECT_EQ(s[2].offset + s[2].bytes, size);
}

TEST(SplitSlices, NoVcpusNoSlices) {
  EXPECT_TRUE(split_slices(kGuestPageSize, 0).empty());
}

TEST(PageTables, IdentityMapsLowAndHighAddresses) {
  auto t = build_identity_page_tables(kPageTablesGpa, kRamGpa + (4608ull << 20));
  ASSERT_TRUE(t.ok()) << t.error().describe();
  EXPECT_EQ(t->covered, 9 * kGiB);                       // 8.5 GiB rounded up to whole GiB
  EXPECT_EQ(t->bytes.size(), (2 + 9) * kGuestPageSize);  // PML4, PDPT, nine PDs
  for (uint64_t gva : std::vector<uint64_t>{kPayloadGpa, kPageTablesGpa + 0x123, kRamGpa,
                                            kRamGpa + 0x1234567, 9 * kGiB - 8, 0xfee00000}) {
    auto pa = walk_page_tables(*t, gva);
    ASSERT_TRUE(pa.ok()) << std::hex << gva << ": " << pa.error().describe();
    EXPECT_EQ(*pa, gva) << std::hex << gva;
  }
}

TEST(PageTables, NothingBeyondTheCoveredRange) {
  auto t = build_identity_page_tables(kPageTablesGpa, kRamGpa + 1);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->covered, 5 * kGiB);
  auto pa = walk_page_tables(*t, 5 * kGiB);
  ASSERT_FALSE(pa.ok());
  EXPECT_NE(pa.error().message.find("PDPT entry not present"), std::string::npos);
}

TEST(PageTables, EntriesArePresentWritableLargePages) {
  auto t = build_identity_page_tables(0x10000, kGiB);
  ASSERT_TRUE(t.ok());
  uint64_t pml4e, pdpte, pde;
  std::memcpy(&pml4e, t->bytes.data(), 8);
  std::memcpy(&pdpte, t->bytes.data() + kGuestPageSize, 8);
  std::memcpy(&pde, t->bytes.data() + 2 * kGuestPageSize + 8, 8);  // second 2 MiB page
  EXPECT_EQ(pml4e, 0x11000u | 0x3);                                // PDPT at base + 4 KiB
  EXPECT_EQ(pdpte, 0x12000u | 0x3);                                // PD at base + 8 KiB
  EXPECT_EQ(pde, kLargePageSize | 0x83);                           // P | RW | PS
}

TEST(PageTables, RejectsUnalignedBaseAndHugeRanges) {
  EXPECT_FALSE(build_identity_page_tables(0x2001, kGiB).ok());
  EXPECT_FALSE(build_identity_page_tables(0x2000, 0).ok());
  EXPECT_FALSE(build_identity_page_tables(0x2000, kMaxIdentityMap + 1).ok());
  EXPECT_TRUE(build_identity_page_tables(0x2000, kMaxIdentityMap).ok());
}

// The payload, disassembled by hand (objdump -D -b binary -mi386:x86-64 -M intel):
//   0: cmp rdi,rsi   3: jae 0x14   5: mov [rdi],rax   8: add rdi,0x1000   f: inc rcx
//  12: jmp 0x0      14: mov eax,ebx  16: mov dx,PORT  1a: out dx,eax  1b: hlt  1c: jmp 0x1b
TEST(Payload, MatchesItsDisassembly) {
  const std::vector<uint8_t> want = {0x48, 0x39, 0xf7, 0x73, 0x0f, 0x48, 0x89, 0x07, 0x48, 0x81,
                                     0xc7, 0x00, 0x10, 0x00, 0x00, 0x48, 0xff, 0xc1, 0xeb, 0xec,
                                     0x89, 0xd8, 0x66, 0xba, 0x10, 0x05, 0xef, 0xf4, 0xeb, 0xfd};
  EXPECT_EQ(touch_payload(), want);
}

TEST(Payload, BranchesLandOnInstructionBoundaries) {
  auto p = touch_payload();
  // jae at 3 (rel8 at 4) must land on "mov eax, ebx" (89 d8); jmp at 0x12 back to offset 0.
  EXPECT_EQ(5 + static_cast<int8_t>(p[4]), 0x14);
  EXPECT_EQ(p[0x14], 0x89);
  EXPECT_EQ(0x14 + static_cast<int8_t>(p[0x13]), 0);
  EXPECT_EQ(0x1e + static_cast<int8_t>(p[0x1d]), 0x1b);
  EXPECT_EQ(p[0x1b], 0xf4);  // hlt
  uint16_t port;
  std::memcpy(&port, p.data() + 0x18, 2);
  EXPECT_EQ(port, kDonePort);
  EXPECT_LE(p.size(), kPageTablesGpa - kPayloadGpa);
}

TEST(PayloadRegs, FollowTheContract) {
  VcpuStart s;
  s.first_gpa = kRamGpa + 0x3000;
  s.end_gpa = kRamGpa + 0x9000;
  s.word = 3;
  s.index = 2;
  kvm_regs r = payload_regs(s);
  EXPECT_EQ(r.rip, kPayloadGpa);
  EXPECT_EQ(r.rdi, s.first_gpa);
  EXPECT_EQ(r.rsi, s.end_gpa);
  EXPECT_EQ(r.rax, 3u);
  EXPECT_EQ(r.rbx, 2u);
  EXPECT_EQ(r.rcx, 0u);
  EXPECT_EQ(r.rflags, 0x2u);
}

TEST(LongMode, SetsPagingModeAndSixtyFourBitCode) {
  kvm_sregs s{};
  s.tr.type = 11;  // KVM's reset TR must survive
  set_long_mode(s, 0x2000);
  EXPECT_EQ(s.cr3, 0x2000u);
  EXPECT_TRUE(s.cr0 & (1u << 31)) << "PG";
  EXPECT_TRUE(s.cr0 & 1u) << "PE";
  EXPECT_TRUE(s.cr4 & (1u << 5)) << "PAE";
  EXPECT_EQ(s.efer & 0x500, 0x500u) << "LME and LMA";
  EXPECT_EQ(s.cs.l, 1);
  EXPECT_EQ(s.cs.db, 0);
  EXPECT_EQ(s.cs.present, 1);
  EXPECT_EQ(s.cs.type & 0x8, 0x8) << "code segment";
  for (const kvm_segment* d : {&s.ds, &s.es, &s.ss, &s.fs, &s.gs}) {
    EXPECT_EQ(d->present, 1);
    EXPECT_EQ(d->type, 0x3);
    EXPECT_EQ(d->base, 0u);
  }
  EXPECT_EQ(s.tr.type, 11);
}

TEST(ExitReasonName, NamesKnownAndUnknownReasons) {
  EXPECT_EQ(exit_reason_name(KVM_EXIT_MMIO), "KVM_EXIT_MMIO (6)");
  EXPECT_EQ(exit_reason_name(KVM_EXIT_SHUTDOWN), "KVM_EXIT_SHUTDOWN (8)");
  EXPECT_EQ(exit_reason_name(KVM_EXIT_INTERNAL_ERROR), "KVM_EXIT_INTERNAL_ERROR (17)");
  EXPECT_EQ(exit_reason_name(9999), "exit reason (9999)");
}

}  // namespace
}  // namespace memplace::vmm
