// SPDX-License-Identifier: GPL-2.0-only
// The micro-VM's vCPUs fault real memory in, on this host's KVM.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "host/backing.h"
#include "host/placement.h"
#include "host/policy.h"
#include "host_features.h"
#include "memplace/commands.h"
#include "results/results.h"
#include "test_support.h"
#include "touchers/toucher.h"
#include "touchers/vmm.h"

namespace memplace {
namespace {

using testing::expect_unsupported_record;
using testing::host_feature;
using testing::kMiB;
using testing::mappable_guest_memfd_or_unsupported;
namespace feature = testing::feature;

Cell vcpu_cell(BackingKind backing, uint64_t size, int vcpus) {
  Cell c;
  c.backing = backing;
  c.toucher = ToucherKind::kVcpu;
  c.size_bytes = size;
  c.threads = vcpus;
  return c;
}

// Checks the first word of every page against the vCPU whose slice holds it: vCPU i stores
// i + 1, so a page written by a neighbour, twice by nobody, or never shows up here.
void expect_pages_owned(const void* base, const TouchStats& stats, uint64_t size, int vcpus) {
  const nlohmann::json& per_vcpu = stats.extra.at("vcpus");
  ASSERT_EQ(per_vcpu.size(), static_cast<size_t>(vcpus));
  uint64_t covered = 0;
  for (int i = 0; i < vcpus; ++i) {
    const nlohmann::json& v = per_vcpu[i];
    const uint64_t offset = v.at("offset"), bytes = v.at("bytes");
    EXPECT_EQ(v.at("index"), i);
    EXPECT_EQ(v.at("cpu"), stats.cpus[i]);
    EXPECT_EQ(offset, covered) << "slice " << i << " is not contiguous with the previous one";
    EXPECT_EQ(bytes % 4096, 0u);
    EXPECT_EQ(v.at("pages_written"), bytes / 4096) << "vCPU " << i;
    covered += bytes;
    uint64_t wrong = 0, first_wrong = 0, first_value = 0;
    for (uint64_t off = offset; off < offset + bytes; off += 4096) {
      uint64_t word;
      std::memcpy(&word, static_cast<const char*>(base) + off, sizeof word);
      if (word != static_cast<uint64_t>(i) + 1 && wrong++ == 0) {
        first_wrong = off;
        first_value = word;
      }
    }
    EXPECT_EQ(wrong, 0u) << "vCPU " << i << ": first bad page at offset " << first_wrong
                         << " holds " << first_value;
  }
  EXPECT_EQ(covered, size) << "slices do not cover the mapping";
  EXPECT_EQ(stats.extra.at("ram_gpa"), vmm::kRamGpa);
}

struct Case {
  BackingKind backing;
  int vcpus;
};

class VcpuToucherE2E : public ::testing::TestWithParam<Case> {};

TEST_P(VcpuToucherE2E, EveryPageWrittenByItsSlicesVcpu) {
  MEMPLACE_REQUIRE_FEATURE(kvm);
  const Case c = GetParam();
  if (c.backing == BackingKind::kGuestMemfd && !mappable_guest_memfd_or_unsupported()) return;
  // 16 MiB is 4096 pages: uneven over 3 vCPUs, so the remainder handling is exercised too.
  const uint64_t size = 16 * kMiB;
  auto mapping = create_backing(c.backing, size);
  ASSERT_TRUE(mapping.ok()) << mapping.error().describe();
  ASSERT_TRUE(apply_policy(mapping->addr(), size, PolicyMode::kBind, {0}).ok());

  auto toucher = make_vcpu_toucher();
  EXPECT_EQ(toucher->name(), "vcpu");
  auto stats = toucher->touch(vcpu_cell(c.backing, size, c.vcpus), *mapping);
  ASSERT_TRUE(stats.ok()) << stats.error().describe();
  EXPECT_EQ(stats->method, "vcpu_store");
  EXPECT_EQ(stats->per_thread_seconds.size(), static_cast<size_t>(c.vcpus));
  EXPECT_EQ(stats->cpus.size(), static_cast<size_t>(c.vcpus));
  EXPECT_GT(stats->seconds, 0);
  for (double s : stats->per_thread_seconds) EXPECT_LE(s, stats->seconds);

  if (c.backing == BackingKind::kAnon) {
    expect_pages_owned(mapping->addr(), *stats, size, c.vcpus);
  } else {
    // A view the guest never used, so what it shows came from the file itself.
    auto view = mapping->map_again();
    ASSERT_TRUE(view.ok()) << view.error().describe();
    expect_pages_owned(view->addr(), *stats, size, c.vcpus);
  }

  // Exact placement covers every page, and bind 0 holds (node 0 exists on every host).
  auto placement = c.backing == BackingKind::kAnon ? query_placement(mapping->addr(), size)
                                                   : query_placement_of_file(*mapping);
  ASSERT_TRUE(placement.ok()) << placement.error().describe();
  EXPECT_EQ(placement->pages_absent, 0u);
  EXPECT_TRUE(placement->pages_error.empty());
  EXPECT_EQ(placement->total_pages(), size / 4096);
  EXPECT_EQ(placement->pages_per_node[0], size / 4096);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return backing_name(info.param.backing) + "_" + std::to_string(info.param.vcpus) + "vcpu";
}

INSTANTIATE_TEST_SUITE_P(
    BackingsByVcpus, VcpuToucherE2E,
    ::testing::Values(Case{BackingKind::kAnon, 1}, Case{BackingKind::kAnon, 2},
                      Case{BackingKind::kAnon, 3}, Case{BackingKind::kShmem, 1},
                      Case{BackingKind::kShmem, 2}, Case{BackingKind::kShmem, 3},
                      Case{BackingKind::kGuestMemfd, 1}, Case{BackingKind::kGuestMemfd, 2},
                      Case{BackingKind::kGuestMemfd, 3}),
    case_name);

TEST(VcpuToucher, PinsToTheCpusOfTheRequestedNode) {
  MEMPLACE_REQUIRE_FEATURE(kvm);
  auto mapping = create_backing(BackingKind::kAnon, 4 * kMiB);
  ASSERT_TRUE(mapping.ok()) << mapping.error().describe();
  Cell cell = vcpu_cell(BackingKind::kAnon, 4 * kMiB, 2);
  cell.cpu_node = 0;
  auto stats = make_vcpu_toucher()->touch(cell, *mapping);
  ASSERT_TRUE(stats.ok()) << stats.error().describe();
  auto want = choose_cpus("", 0, 2);
  ASSERT_TRUE(want.ok()) << want.error().describe();
  EXPECT_EQ(stats->cpus, *want);
  for (int cpu : stats->cpus) EXPECT_GE(cpu, 0);
}

// Above 4 GiB of RAM the identity map needs a PD per GiB beyond the 32-bit range. 4.5 GiB of
// anon memory is written for real, then unmapped as soon as the check is done.
TEST(VcpuToucher, RangeAboveFourGiB) {
  MEMPLACE_REQUIRE_FEATURE(kvm);
  const uint64_t size = 4608 * kMiB;
  const int vcpus = 2;
  auto stats = [&]() -> Result<TouchStats> {
    auto mapping = create_backing(BackingKind::kAnon, size);
    if (!mapping) return mapping.error();
    auto st = make_vcpu_toucher()->touch(vcpu_cell(BackingKind::kAnon, size, vcpus), *mapping);
    if (st) expect_pages_owned(mapping->addr(), *st, size, vcpus);
    return st;
  }();
  ASSERT_TRUE(stats.ok()) << stats.error().describe();
}

// The guest_memfd's VM outlives a touch (the Mapping owns it): a second touch must find its
// memslots gone and its vCPU ids taken, and still work.
TEST(VcpuToucher, GuestMemfdMappingCanBeTouchedTwice) {
  MEMPLACE_REQUIRE_FEATURE(kvm);
  if (!mappable_guest_memfd_or_unsupported()) return;
  const uint64_t size = 4 * kMiB;
  auto mapping = create_backing(BackingKind::kGuestMemfd, size);
  ASSERT_TRUE(mapping.ok()) << mapping.error().describe();
  auto toucher = make_vcpu_toucher();
  auto first = toucher->touch(vcpu_cell(BackingKind::kGuestMemfd, size, 2), *mapping);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  auto second = toucher->touch(vcpu_cell(BackingKind::kGuestMemfd, size, 3), *mapping);
  ASSERT_TRUE(second.ok()) << second.error().describe();
  auto view = mapping->map_again();
  ASSERT_TRUE(view.ok()) << view.error().describe();
  expect_pages_owned(view->addr(), *second, size, 3);
}

TEST(VcpuToucher, GuestMemfdFaultPathIsOneOfTheTwo) {
  MEMPLACE_REQUIRE_FEATURE(kvm);
  if (!mappable_guest_memfd_or_unsupported()) return;
  auto path = vmm::guest_memfd_fault_path();
  ASSERT_TRUE(path.ok()) << path.error().describe();
  std::printf("guest_memfd fault path on this host: %s\n", path->c_str());
  EXPECT_TRUE(*path == "guest_memfd" || *path == "userspace_addr") << *path;

  // And the toucher records it for guest_memfd runs.
  auto mapping = create_backing(BackingKind::kGuestMemfd, 4 * kMiB);
  ASSERT_TRUE(mapping.ok()) << mapping.error().describe();
  auto stats =
      make_vcpu_toucher()->touch(vcpu_cell(BackingKind::kGuestMemfd, 4 * kMiB, 1), *mapping);
  ASSERT_TRUE(stats.ok()) << stats.error().describe();
  EXPECT_EQ(stats->extra.at("guest_memfd_fault_path"), *path);
}

TEST(VcpuToucher, ZeroVcpusIsAnError) {
  auto mapping = create_backing(BackingKind::kAnon, 4096);
  ASSERT_TRUE(mapping.ok());
  auto stats = make_vcpu_toucher()->touch(vcpu_cell(BackingKind::kAnon, 4096, 0), *mapping);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.error().message.find("at least one vCPU"), std::string::npos);
}

// A guest that stores to the local APIC page (no memslot there) must end the run with an error
// naming the exit, the faulting address and the register state.
TEST(VcpuToucher, UnexpectedMmioExitIsReportedWithRegisters) {
  MEMPLACE_REQUIRE_FEATURE(kvm);
  const std::vector<uint8_t> payload = {
      0xb8, 0x00, 0x00, 0xe0, 0xfe,  // mov eax, 0xfee00000
      0x89, 0x18,                    // mov [rax], ebx
      0xf4,                          // hlt
  };
  auto mapping = create_backing(BackingKind::kAnon, 4 * kMiB);
  ASSERT_TRUE(mapping.ok());
  auto stats = vmm::run_vcpus(vcpu_cell(BackingKind::kAnon, 4 * kMiB, 1), *mapping, payload, "");
  ASSERT_FALSE(stats.ok());
  const std::string& m = stats.error().message;
  std::printf("error: %s\n", m.c_str());
  EXPECT_NE(stats.error().kind, ErrorKind::kUnsupported) << m;
  EXPECT_NE(m.find("KVM_EXIT_MMIO"), std::string::npos) << m;
  EXPECT_NE(m.find("write of 4 bytes at GPA 0xfee00000"), std::string::npos) << m;
  // RIP is on or just past the faulting store, depending on whether KVM completed it.
  for (const char* reg : {"RIP=0x100", "RSP=", "CR0=", "CR3=0x2000", "CR4=", "EFER=0x500"})
    EXPECT_NE(m.find(reg), std::string::npos) << reg << " missing from: " << m;
}

// A guest that faults with no IDT triple-faults; that is a failed run, not a hang.
TEST(VcpuToucher, GuestExceptionIsReportedNotHung) {
  MEMPLACE_REQUIRE_FEATURE(kvm);
  const std::vector<uint8_t> payload = {0x0f, 0x0b};  // ud2
  auto mapping = create_backing(BackingKind::kAnon, 4096);
  ASSERT_TRUE(mapping.ok());
  auto stats = vmm::run_vcpus(vcpu_cell(BackingKind::kAnon, 4096, 1), *mapping, payload, "");
  ASSERT_FALSE(stats.ok());
  const std::string& m = stats.error().message;
  std::printf("error: %s\n", m.c_str());
  EXPECT_NE(m.find("before its done signal"), std::string::npos) << m;
  EXPECT_NE(m.find("RIP="), std::string::npos) << m;
}

std::string fresh_dir(const std::string& name);

size_t entries_in(const char* dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

// A guest that spins forever (jmp $) on every vCPU must not hang the caller: past its time limit
// the watchdog kicks each vCPU out of KVM_RUN, joins its thread and reports where it was.
TEST(VcpuToucherTimeout, SpinningGuestTimesOutWithRegistersAndLeavesNothingBehind) {
  MEMPLACE_REQUIRE_FEATURE(kvm);
  const size_t tasks_before = entries_in("/proc/self/task");
  const size_t fds_before = entries_in("/proc/self/fd");
  {
    auto mapping = create_backing(BackingKind::kAnon, 4 * kMiB);
    ASSERT_TRUE(mapping.ok()) << mapping.error().describe();
    const auto t0 = std::chrono::steady_clock::now();
    auto stats = vmm::run_vcpus(vcpu_cell(BackingKind::kAnon, 4 * kMiB, 2), *mapping,
                                vmm::hang_payload(), "", std::chrono::seconds(1));
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(stats.ok()) << "a guest that loops forever finished";
    const std::string& m = stats.error().message;
    std::printf("error: %s\n", m.c_str());
    EXPECT_EQ(m.rfind("vcpu toucher timed out after 1 s", 0), 0u) << m;
    // jmp $ sits at the payload's address, so that is where each vCPU was stopped.
    for (const char* part : {"vCPU 0 had not finished: RIP=0x1000", "vCPU 1 had not finished",
                             "CR3=0x2000", "EFER=0x500"})
      EXPECT_NE(m.find(part), std::string::npos) << part << " missing from: " << m;
    // The guest ran for its time limit, and the call came back: 30 s is a liveness bound (a
    // watchdog that failed to kick would hang here forever), not a speed goal.
    EXPECT_GE(elapsed, std::chrono::seconds(1));
    EXPECT_LT(elapsed, std::chrono::seconds(30));
  }
  EXPECT_EQ(entries_in("/proc/self/task"), tasks_before) << "a vCPU thread was left running";
  EXPECT_EQ(entries_in("/proc/self/fd"), fds_before) << "a KVM or vCPU fd leaked";
}

// A guest_memfd's VM outlives the touch: after a timed-out touch its vCPUs must not get in the
// way of the next one (fresh vCPUs, fresh kvm_run pages without immediate_exit).
TEST(VcpuToucherTimeout, GuestMemfdMappingTouchesFineAfterATimeout) {
  MEMPLACE_REQUIRE_FEATURE(kvm);
  if (!mappable_guest_memfd_or_unsupported()) return;
  const uint64_t size = 4 * kMiB;
  auto mapping = create_backing(BackingKind::kGuestMemfd, size);
  ASSERT_TRUE(mapping.ok()) << mapping.error().describe();
  auto hung = vmm::run_vcpus(vcpu_cell(BackingKind::kGuestMemfd, size, 1), *mapping,
                             vmm::hang_payload(), "", std::chrono::milliseconds(500));
  ASSERT_FALSE(hung.ok());
  EXPECT_NE(hung.error().message.find("timed out after 0.5 s"), std::string::npos)
      << hung.error().message;
  auto stats = make_vcpu_toucher("", std::chrono::seconds(60))
                   ->touch(vcpu_cell(BackingKind::kGuestMemfd, size, 2), *mapping);
  ASSERT_TRUE(stats.ok()) << stats.error().describe();
  auto view = mapping->map_again();
  ASSERT_TRUE(view.ok()) << view.error().describe();
  expect_pages_owned(view->addr(), *stats, size, 2);
}

// Through the runner: the hung cell is a failed record saying it timed out, and the matrix goes
// on to the next cell. MEMPLACE_TEST_VCPU_GUEST=hang is the vcpu toucher's test-only hook.
TEST(VcpuToucherRun, HungGuestIsAFailedRecordAndTheMatrixGoesOn) {
  MEMPLACE_REQUIRE_FEATURE(kvm);
  const size_t tasks_before = entries_in("/proc/self/task");
  RunArgs a;
  a.key_flags["--toucher"] = {"vcpu,host"};
  a.key_flags["--backing"] = {"anon"};
  a.key_flags["--size"] = {"4MiB"};
  a.key_flags["--toucher-timeout-s"] = {"1"};
  a.quiet = true;
  a.out_dir = fresh_dir("hang");
  ASSERT_EQ(::setenv("MEMPLACE_TEST_VCPU_GUEST", "hang", 1), 0);
  const int rc = command_run(a);
  ::unsetenv("MEMPLACE_TEST_VCPU_GUEST");
  ASSERT_EQ(rc, kExitOk);
  auto runs = read_runs(a.out_dir + "/runs.jsonl");
  ASSERT_TRUE(runs.ok()) << runs.error().describe();
  ASSERT_EQ(runs->records.size(), 2u);
  const RunRecord& hung = runs->records[0];
  EXPECT_EQ(hung.toucher, "vcpu");
  EXPECT_EQ(hung.status, RunStatus::kFailed);
  EXPECT_NE(hung.message.find("vcpu toucher timed out after 1 s"), std::string::npos)
      << hung.message;
  EXPECT_NE(hung.message.find("MEMPLACE_TEST_VCPU_GUEST=hang"), std::string::npos) << hung.message;
  const RunRecord& next = runs->records[1];
  EXPECT_EQ(next.toucher, "host");
  EXPECT_EQ(next.status, RunStatus::kOk) << next.message;
  EXPECT_EQ(entries_in("/proc/self/task"), tasks_before);
  std::filesystem::remove_all(a.out_dir);
}

std::string fresh_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("memplace-vcpu-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

// The acceptance run: `memplace run --toucher vcpu --backing guest_memfd --policy bind
// --nodes 0 --size 256MiB` gives an ok record with every page on node 0.
TEST(VcpuToucherRun, GuestMemfdBindZeroRecordIsOkWithEveryPageOnNodeZero) {
  MEMPLACE_REQUIRE_FEATURE(kvm);
  RunArgs a;
  a.key_flags["--toucher"] = {"vcpu"};
  a.key_flags["--backing"] = {"guest_memfd"};
  a.key_flags["--policy"] = {"bind"};
  a.key_flags["--nodes"] = {"0"};
  a.key_flags["--size"] = {"256MiB"};
  a.quiet = true;
  a.out_dir = fresh_dir("acceptance");
  ASSERT_EQ(command_run(a), kExitOk);
  auto runs = read_runs(a.out_dir + "/runs.jsonl");
  ASSERT_TRUE(runs.ok()) << runs.error().describe();
  ASSERT_EQ(runs->records.size(), 1u);
  const RunRecord& r = runs->records[0];
  if (!host_feature(feature::guest_memfd_mmap).available)
    return expect_unsupported_record(r, feature::guest_memfd_mmap);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(r.toucher, "vcpu");
  EXPECT_EQ(r.populate_method, "vcpu_store");
  EXPECT_EQ(r.pages_absent, 0u);
  ASSERT_EQ(r.placement_pages.size(), 1u);
  EXPECT_EQ(r.placement_pages.at(0), (256ull << 20) / 4096);
  ASSERT_TRUE(r.extra.contains("toucher"));
  EXPECT_EQ(r.extra["toucher"]["vcpus"].size(), 1u);
  EXPECT_GT(r.extra["toucher"]["per_vcpu_bytes_per_second"].get<double>(), 0);
  std::filesystem::remove_all(a.out_dir);
}

// The backing x vCPU-count matrix, through the runner, every cell ok with exact placement.
TEST(VcpuToucherRun, BackingByVcpuMatrix) {
  MEMPLACE_REQUIRE_FEATURE(kvm);
  RunArgs a;
  a.key_flags["--toucher"] = {"vcpu"};
  a.key_flags["--backing"] = {"anon,shmem,guest_memfd"};
  a.key_flags["--policy"] = {"bind"};
  a.key_flags["--nodes"] = {"0"};
  a.key_flags["--size"] = {"8MiB"};
  a.key_flags["--threads"] = {"1,2,3"};
  a.quiet = true;
  a.out_dir = fresh_dir("matrix");
  ASSERT_EQ(command_run(a), kExitOk);
  auto runs = read_runs(a.out_dir + "/runs.jsonl");
  ASSERT_TRUE(runs.ok()) << runs.error().describe();
  ASSERT_EQ(runs->records.size(), 9u);
  const bool gmem = host_feature(feature::guest_memfd_mmap).available;
  for (const RunRecord& r : runs->records) {
    SCOPED_TRACE(r.cell_key);
    if (r.backing == "guest_memfd" && !gmem) {
      expect_unsupported_record(r, feature::guest_memfd_mmap);
      continue;
    }
    EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
    EXPECT_EQ(r.toucher, "vcpu");
    EXPECT_EQ(r.placement_pages.count(0) ? r.placement_pages.at(0) : 0, (8ull << 20) / 4096);
    EXPECT_EQ(r.extra["toucher"]["vcpus"].size(), static_cast<size_t>(r.threads));
  }
  std::filesystem::remove_all(a.out_dir);
}

}  // namespace
}  // namespace memplace
