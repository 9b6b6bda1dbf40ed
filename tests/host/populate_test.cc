// SPDX-License-Identifier: GPL-2.0-only
// Every populate method must leave every page of the range present (read back exactly with
// move_pages), on every backing it applies to; the host toucher must record what it used.
#include "host/populate.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <limits>
#include <thread>

#include "host/backing.h"
#include "host/placement.h"
#include "host/sysfs.h"
#include "host_features.h"
#include "touchers/toucher.h"

namespace memplace {
namespace {

constexpr size_t kSize = 8ull << 20;

uint64_t pages(size_t bytes) {
  return bytes / static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

Result<Placement> placement_of(const Mapping& m) {
  return m.fd() >= 0 ? query_placement_of_file(m) : query_placement(m.addr(), m.size());
}

class EachBackingAndMethod
    : public ::testing::TestWithParam<std::tuple<BackingKind, PopulateMethod>> {};

TEST_P(EachBackingAndMethod, PopulatesEveryPage) {
  auto [kind, method] = GetParam();
  if (kind == BackingKind::kGuestMemfd && !testing::mappable_guest_memfd_or_unsupported()) return;
  auto m = create_backing(kind, kSize);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  ASSERT_EQ(placement_of(*m)->total_pages(), 0u) << "a fresh mapping already has pages";

  if (!populate_method_applies(method, m->fd() >= 0)) {
    auto s = populate_range(method, m->addr(), m->size(), m->fd());
    EXPECT_FALSE(s.ok()) << populate_method_name(method) << " claims to work without a file";
    return;
  }
  auto s = populate_range(method, m->addr(), m->size(), m->fd(), 0);
  ASSERT_TRUE(s.ok()) << populate_method_name(method) << ": " << s.error().describe();

  if (method == PopulateMethod::kFallocate) {
    // fallocate allocates file pages without mapping them; the kernel marks them up to date
    // only on first use, so placement cannot see them yet. A populate-write over the range
    // must then find every page already allocated: nothing new is charged to the file.
    struct stat before {};
    ASSERT_EQ(::fstat(m->fd(), &before), 0);
    if (kind == BackingKind::kShmem) {
      EXPECT_GE(uint64_t(before.st_blocks) * 512, kSize);
    }
    ASSERT_TRUE(populate_range(PopulateMethod::kMadvPopulateWrite, m->addr(), m->size()).ok());
    struct stat after {};
    ASSERT_EQ(::fstat(m->fd(), &after), 0);
    EXPECT_EQ(after.st_blocks, before.st_blocks);
  }
  auto p = placement_of(*m);
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->total_pages(), pages(kSize)) << populate_method_name(method);
  EXPECT_EQ(p->pages_absent, 0u) << populate_method_name(method);
  EXPECT_TRUE(p->pages_error.empty());
}

INSTANTIATE_TEST_SUITE_P(All, EachBackingAndMethod,
                         ::testing::Combine(::testing::Values(BackingKind::kAnon,
                                                              BackingKind::kShmem,
                                                              BackingKind::kGuestMemfd),
                                            ::testing::ValuesIn(all_populate_methods())),
                         [](const auto& info) {
                           return backing_name(std::get<0>(info.param)) + "_" +
                                  populate_method_name(std::get<1>(info.param));
                         });

TEST(PopulateMethod, NamesRoundTripAndUnknownNamesListTheKnownOnes) {
  for (PopulateMethod m : all_populate_methods()) {
    auto back = parse_populate_method(populate_method_name(m));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, m);
  }
  auto bad = parse_populate_method("madvise");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("madv_populate_write"), std::string::npos);
}

TEST(PopulateMethod, OnlyFallocateNeedsAFile) {
  EXPECT_FALSE(populate_method_applies(PopulateMethod::kFallocate, false));
  EXPECT_TRUE(populate_method_applies(PopulateMethod::kFallocate, true));
  EXPECT_TRUE(populate_method_applies(PopulateMethod::kStorePerPage, false));
}

TEST(PopulateWithFallback, DefaultIsTheFirstMethodTheKernelAccepts) {
  auto m = create_backing(BackingKind::kAnon, kSize);
  ASSERT_TRUE(m.ok());
  auto used = populate_with_fallback(std::nullopt, m->addr(), m->size());
  ASSERT_TRUE(used.ok()) << used.error().describe();
  EXPECT_EQ(*used, populate_order().front()) << "MADV_POPULATE_WRITE exists since 5.14";
  EXPECT_EQ(query_placement(m->addr(), m->size())->total_pages(), pages(kSize));
}

TEST(PopulateWithFallback, MemoryErrorsEndTheFallbackAndRefusalsDoNot) {
  EXPECT_FALSE(populate_error_is_refusal(Error{ENOMEM, "x"}));
  EXPECT_FALSE(populate_error_is_refusal(Error{EFAULT, "x"}));
  EXPECT_TRUE(populate_error_is_refusal(Error{EINVAL, "x"}));
  EXPECT_TRUE(populate_error_is_refusal(Error{EOPNOTSUPP, "x"}));
}

TEST(HostToucher, RecordsTheForcedMethodAndThp) {
  for (auto [opts, want] :
       {std::pair{PopulateOptions{PopulateMethod::kMemset, ThpMode::kOff}, "memset"},
        std::pair{PopulateOptions{PopulateMethod::kStorePerPage, ThpMode::kOn},
                  "store_per_page+thp"},
        std::pair{PopulateOptions{std::nullopt, ThpMode::kOff}, "madv_populate_write"}}) {
    auto m = create_backing(BackingKind::kAnon, kSize);
    ASSERT_TRUE(m.ok());
    Cell cell;
    cell.size_bytes = kSize;
    cell.threads = 2;
    auto stats = make_host_toucher("", opts)->touch(cell, *m);
    ASSERT_TRUE(stats.ok()) << stats.error().describe();
    EXPECT_EQ(stats->method, want);
    EXPECT_EQ(query_placement(m->addr(), m->size())->total_pages(), pages(kSize)) << want;
  }
}

TEST(ThpMode, NamesRoundTripAndUnknownNamesListTheKnownOnes) {
  for (ThpMode m : {ThpMode::kAuto, ThpMode::kOn, ThpMode::kOff})
    EXPECT_EQ(*parse_thp_mode(thp_mode_name(m)), m);
  auto bad = parse_thp_mode("always");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("auto, on, off"), std::string::npos);
}

// Huge pages this process gained while `fn` ran, in MiB.
template <class Fn>
double anon_huge_mib_during(Fn fn) {
  // This process's own huge pages (smaps_rollup), not the host's AnonHugePages: tests run in
  // parallel, and another one populating with THP moved the host-wide figure by 28 MiB.
  auto total = [] {
    std::ifstream in("/proc/self/smaps_rollup");
    for (std::string key; in >> key;) {
      uint64_t kib = 0;
      if (key == "AnonHugePages:" && in >> kib) return kib / 1024.0;
      in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return -1e9;  // fails the assertion below rather than the process
  };
  double before = total();
  fn();
  return total() - before;
}

// auto must give what the kernel's mode allows, off must give 4 KiB pages even where the mode
// would hand out huge ones: both are checked against the kernel's own AnonHugePages counter.
TEST(HostToucher, ThpAutoGetsHugePagesAndOffGetsNone) {
  MEMPLACE_REQUIRE_FEATURE(thp);
  auto enabled = read_thp_setting("", "enabled");
  constexpr size_t kHugeTest = 64ull << 20;
  for (ThpMode mode : {ThpMode::kAuto, ThpMode::kOff}) {
    auto m = create_backing(BackingKind::kAnon, kHugeTest);
    ASSERT_TRUE(m.ok());
    Cell cell;
    cell.size_bytes = kHugeTest;
    Result<TouchStats> stats = make_error("not run");
    double huge = anon_huge_mib_during([&] {
      stats = make_host_toucher("", PopulateOptions{std::nullopt, mode})->touch(cell, *m);
    });
    ASSERT_TRUE(stats.ok()) << stats.error().describe();
    EXPECT_EQ(stats->extra["thp"]["mode"], thp_mode_name(mode));
    if (mode == ThpMode::kAuto) {
      EXPECT_EQ(stats->method, "madv_populate_write+thp");
      EXPECT_EQ(stats->extra["thp"]["advised"], true);
      // An unaligned 64 MiB mapping holds at least 31 aligned 2 MiB blocks; allow for a few the
      // allocator could not find whole.
      EXPECT_GE(huge, 32.0) << "THP enabled=" << *enabled;
    } else {
      EXPECT_EQ(stats->method, "madv_populate_write");
      EXPECT_EQ(stats->extra["thp"]["advised"], false);
      EXPECT_LT(huge, 8.0) << "MADV_NOHUGEPAGE still got huge pages";
    }
    EXPECT_EQ(query_placement(m->addr(), m->size())->total_pages(), pages(kHugeTest));
  }
}

TEST(HostToucher, FallocateOnAnonIsUnsupportedNotAFailure) {
  auto m = create_backing(BackingKind::kAnon, kSize);
  ASSERT_TRUE(m.ok());
  Cell cell;
  cell.size_bytes = kSize;
  auto stats = make_host_toucher("", PopulateOptions{PopulateMethod::kFallocate, ThpMode::kOff})
                   ->touch(cell, *m);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().kind, ErrorKind::kUnsupported) << stats.error().message;
  EXPECT_EQ(stats.error().describe().rfind("unsupported: ", 0), 0u) << stats.error().describe();
}

// The clock starts when every thread has run its hook (where the placement sources register
// it: a tracefs pid-list write, a cgroup move), so that bookkeeping is not populate time; and a
// hook that fails stops the touch with its error before any page is touched.
TEST(HostToucher, PopulateTimeLeavesOutTheThreadHooks) {
  auto m = create_backing(BackingKind::kAnon, kSize);
  ASSERT_TRUE(m.ok());
  Cell cell;
  cell.size_bytes = kSize;
  cell.threads = 2;
  auto toucher = make_host_toucher("", PopulateOptions{std::nullopt, ThpMode::kOff}, std::nullopt);
  std::atomic<int> hooked{0};
  toucher->set_thread_hook([&](pid_t) -> Status {
    ++hooked;
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return {};
  });
  auto t0 = std::chrono::steady_clock::now();
  auto stats = toucher->touch(cell, *m);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(stats.ok()) << stats.error().describe();
  EXPECT_EQ(hooked.load(), 2);
  EXPECT_GE(wall, 1.5);
  EXPECT_LT(stats->seconds, 1.5) << "the hooks' 1.5 s counted as populate time";
  for (double s : stats->per_thread_seconds) EXPECT_LE(s, stats->seconds);
  EXPECT_EQ(query_placement(m->addr(), m->size())->total_pages(), pages(kSize));

  auto fresh = create_backing(BackingKind::kAnon, kSize);
  ASSERT_TRUE(fresh.ok());
  toucher->set_thread_hook([](pid_t) -> Status { return make_error("no cgroup for you"); });
  auto failed = toucher->touch(cell, *fresh);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("no cgroup for you"), std::string::npos);
  EXPECT_EQ(query_placement(fresh->addr(), fresh->size())->total_pages(), 0u);
}

// The deadline check between chunks, made deterministic: `should_stop` answers true from its
// third question on, so exactly two chunks are populated and the rest is left untouched.
TEST(PopulateChunked, StopsBetweenChunksAndSaysHowFarItGot) {
  const size_t chunk = 1u << 20;
  auto m = create_backing(BackingKind::kAnon, kSize);
  ASSERT_TRUE(m.ok());
  int asked = 0;
  auto run = populate_chunked(std::nullopt, m->addr(), m->size(), -1, 0, chunk,
                              [&] { return ++asked > 2; });
  ASSERT_TRUE(run.ok()) << run.error().describe();
  EXPECT_TRUE(run->stopped);
  EXPECT_EQ(run->bytes_done, 2 * chunk);
  EXPECT_EQ(run->method, populate_order().front());
  EXPECT_EQ(query_placement(m->addr(), 2 * chunk)->total_pages(), pages(2 * chunk));
  auto rest = query_placement(static_cast<char*>(m->addr()) + 2 * chunk, kSize - 2 * chunk);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->total_pages(), 0u) << "pages past the stop were populated";
}

// Chunks of a file-backed range must advance the file offset with the address: fallocate over
// shmem in 1 MiB chunks allocates the whole file, no more, no less.
TEST(PopulateChunked, FallocateChunksCoverTheWholeFile) {
  auto m = create_backing(BackingKind::kShmem, kSize);
  ASSERT_TRUE(m.ok());
  auto run = populate_chunked(PopulateMethod::kFallocate, m->addr(), m->size(), m->fd(), 0,
                              1u << 20, [] { return false; });
  ASSERT_TRUE(run.ok()) << run.error().describe();
  EXPECT_FALSE(run->stopped);
  EXPECT_EQ(run->bytes_done, kSize);
  struct stat st {};
  ASSERT_EQ(::fstat(m->fd(), &st), 0);
  EXPECT_EQ(uint64_t(st.st_blocks) * 512, kSize);
}

TEST(PopulateChunked, ZeroChunkIsAnError) {
  char page[1];
  EXPECT_FALSE(populate_chunked(std::nullopt, page, 1, -1, 0, 0, nullptr).ok());
}

// A range of several chunks, all populated, one method reported.
TEST(HostToucher, PopulatesAcrossChunksUnderItsTimeLimit) {
  const size_t size = 2 * kPopulateChunkBytes + (4u << 20);
  auto m = create_backing(BackingKind::kAnon, size);
  ASSERT_TRUE(m.ok());
  Cell cell;
  cell.size_bytes = size;
  PopulateOptions opts;
  opts.thp = ThpMode::kOff;  // 4 KiB pages, so the method name is the bare one
  auto stats = make_host_toucher("", opts, std::chrono::seconds(600))->touch(cell, *m);
  ASSERT_TRUE(stats.ok()) << stats.error().describe();
  EXPECT_EQ(stats->method, "madv_populate_write");
  EXPECT_EQ(query_placement(m->addr(), size)->total_pages(), pages(size));
}

// A deadline that has passed before the first chunk: the touch ends as a timeout, saying how
// much it populated and that a single populate call is not interrupted.
TEST(HostToucher, PastDeadlineIsATimeoutNamingWhatWasDone) {
  auto m = create_backing(BackingKind::kAnon, kSize);
  ASSERT_TRUE(m.ok());
  Cell cell;
  cell.size_bytes = kSize;
  cell.threads = 2;
  auto stats =
      make_host_toucher("", PopulateOptions{}, std::chrono::milliseconds(0))->touch(cell, *m);
  ASSERT_FALSE(stats.ok());
  const std::string& msg = stats.error().message;
  EXPECT_EQ(msg.rfind("host toucher timed out after 0 s: populated 0.0 of 8.0 MiB", 0), 0u) << msg;
  EXPECT_NE(msg.find("not interrupted"), std::string::npos) << msg;
  EXPECT_EQ(query_placement(m->addr(), kSize)->total_pages(), 0u);
}

}  // namespace
}  // namespace memplace
