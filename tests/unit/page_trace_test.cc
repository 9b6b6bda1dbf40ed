// SPDX-License-Identifier: GPL-2.0-only
// The trace source's pure parts on fixtures: pfn -> node maps, the gfp flag in a format's print
// fmt, the ring buffer's loss counters, the allocation ledger, and decoding ring-buffer pages
// with libtraceevent (pages built here in the kernel's layout, formats copied from a 6.18.44
// tracefs), and the tally that tells page migrations from new memory. Then the source itself where
// tracefs is missing or unreadable: unsupported, never a failure and never a number.
#include "placement/page_trace.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "golden.h"
#include "placement/pfn_nodes.h"
#include "test_support.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

using testing::fixture_path;
using testing::slurp;

const std::string kTracefs = fixture_path("tracefs/6.18.44");

TEST(PfnNodeMap, MemoryBlocksMapPfnsToTheirNode) {
  auto map = read_pfn_node_map_from_blocks(fixture_path("pfn_two_nodes"));
  ASSERT_TRUE(map.ok()) << map.error().describe();
  EXPECT_EQ(map->source(), "memory_blocks");
  // 128 MiB blocks = 32768 pages; node 0 holds blocks 0-7, node 1 blocks 32-39.
  ASSERT_EQ(map->ranges().size(), 2u);
  EXPECT_EQ(map->node_of(0), 0);
  EXPECT_EQ(map->node_of(8 * 32768 - 1), 0);
  EXPECT_EQ(map->node_of(8 * 32768), std::nullopt);  // the hole
  EXPECT_EQ(map->node_of(32 * 32768), 1);
  EXPECT_EQ(map->node_of(40 * 32768 - 1), 1);
  EXPECT_EQ(map->node_of(40 * 32768), std::nullopt);
}

TEST(PfnNodeMap, ZoneinfoSpansAreTheFallback) {
  const char* zoneinfo =
      "Node 0, zone      DMA\n  pages free     3840\n        spanned  4095\n"
      "        present  3998\n  start_pfn:           1\n"
      "Node 0, zone    DMA32\n        spanned  258048\n  start_pfn:           4096\n"
      "Node 0, zone  Movable\n        spanned  0\n"
      "Node 1, zone   Normal\n        spanned  262144\n  start_pfn:           262144\n";
  auto map = parse_zoneinfo_spans(zoneinfo);
  ASSERT_TRUE(map.ok()) << map.error().describe();
  EXPECT_EQ(map->source(), "zoneinfo");
  EXPECT_EQ(map->node_of(0), std::nullopt);
  EXPECT_EQ(map->node_of(1), 0);
  EXPECT_EQ(map->node_of(262143), 0);
  EXPECT_EQ(map->node_of(262144), 1);
  EXPECT_EQ(map->node_of(524287), 1);
  EXPECT_EQ(map->node_of(524288), std::nullopt);
  // A tree without memory blocks falls back to its zoneinfo.
  EXPECT_FALSE(read_pfn_node_map(fixture_path("no-such-tree")).ok());
}

TEST(PfnNodeMap, OverlappingNodesAreRefused) {
  auto map = PfnNodeMap::from_ranges({{0, 100, 0}, {50, 150, 1}}, "test");
  ASSERT_FALSE(map.ok());
  EXPECT_NE(map.error().message.find("overlap"), std::string::npos);
  auto merged = PfnNodeMap::from_ranges({{100, 200, 1}, {0, 100, 1}}, "test");
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->ranges().size(), 1u);
}

TEST(GfpFlag, HardwallFromTheFormatsPrintFmt) {
  std::string format = slurp(kTracefs + "/events/kmem/mm_page_alloc/format");
  ASSERT_FALSE(format.empty());
  EXPECT_EQ(gfp_flag_value(format, "__GFP_HARDWALL"), 0x100000u);
  EXPECT_EQ(gfp_flag_value(format, "__GFP_MOVABLE"), 0x8u);
  // Older kernels print hex constants.
  EXPECT_EQ(gfp_flag_value("{(unsigned long)((__force gfp_t)0x20000u), \"__GFP_HARDWALL\"}",
                           "__GFP_HARDWALL"),
            0x20000u);
  EXPECT_EQ(gfp_flag_value(format, "__GFP_NOT_A_FLAG"), std::nullopt);
}

TEST(CpuBufferStats, ParsesTheLossCounters) {
  auto s = parse_cpu_buffer_stats(slurp(kTracefs + "/cpu_stats.txt"));
  ASSERT_TRUE(s.ok()) << s.error().describe();
  auto lost = parse_cpu_buffer_stats(
      "entries: 10\noverrun: 3\ncommit overrun: 0\nbytes: 400\n"
      "oldest event ts:  1.0\nnow ts:  2.0\ndropped events: 7\nread events: 0\n");
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(lost->overrun, 3u);
  EXPECT_EQ(lost->dropped, 7u);
  EXPECT_EQ(lost->lost(), 10u);
  EXPECT_FALSE(parse_cpu_buffer_stats("bytes: 4\n").ok());
  EXPECT_FALSE(parse_cpu_buffer_stats("entries: x\noverrun: 0\ncommit overrun: 0\n").ok());
}

TEST(PageLedger, NetAllocationsOfTheWindow) {
  PageLedger l;
  l.alloc(100, 0);
  l.alloc(101, 0);
  l.alloc(512, 9);  // a huge page: 512 pages
  EXPECT_EQ(l.pages(), 514u);
  l.free(100, 0);
  EXPECT_EQ(l.pages(), 513u);
  l.free(5000, 3);  // allocated before the window: not the cell's
  EXPECT_EQ(l.pages(), 513u);
  l.free(600, 0);  // one page of the split huge page
  EXPECT_EQ(l.pages(), 512u);
  l.alloc(101, 0);  // its free went unseen: still one page
  EXPECT_EQ(l.pages(), 512u);
}

TEST(PageLedger, PagesPerNodeAndUnplaced) {
  auto map = PfnNodeMap::from_ranges({{0, 1000, 0}, {2000, 3000, 1}}, "test");
  ASSERT_TRUE(map.ok());
  PageLedger l;
  l.alloc(990, 4);   // 990..1005: 10 on node 0, 6 in the hole
  l.alloc(2000, 2);  // 4 on node 1
  uint64_t unplaced = 0;
  auto pages = l.pages_per_node(*map, &unplaced);
  EXPECT_EQ(pages[0], 10u);
  EXPECT_EQ(pages[1], 4u);
  EXPECT_EQ(unplaced, 6u);
}

PageEvent ev(PageEvent::Kind kind, uint64_t pfn, unsigned order, int pid = 7) {
  PageEvent e;
  e.kind = kind;
  e.pfn = pfn;
  e.order = order;
  e.gfp = kind == PageEvent::Kind::kAlloc ? 0x100cca : 0;
  e.pid = pid;
  return e;
}

constexpr auto kAlloc = PageEvent::Kind::kAlloc;
constexpr auto kFree = PageEvent::Kind::kFree;
constexpr auto kStart = PageEvent::Kind::kMigrateStart;
constexpr auto kEnd = PageEvent::Kind::kMigrateEnd;

// The case that made the testbed's trace one page over move_pages: NUMA balancing moved a page
// of the toucher's from before the window (pfn 900) next to its CPU (pfn 50).
TEST(PageTally, AMigratedPageFromBeforeTheWindowIsNotTheCells) {
  auto t = tally_page_events({ev(kAlloc, 10, 0), ev(kAlloc, 11, 0), ev(kStart, 0, 0),
                              ev(kAlloc, 50, 0), ev(kFree, 900, 0), ev(kEnd, 0, 0)},
                             0x100000);
  EXPECT_EQ(t.ledger.pages(), 2u);
  EXPECT_FALSE(t.ledger.holds(50, 0));
  EXPECT_EQ(t.migrated_pages, 1u);
  EXPECT_EQ(t.migrated_not_cell, 1u);
  EXPECT_EQ(t.unpaired_pages, 0u);
  EXPECT_EQ(t.allocs, 3u);
}

// A cell page migrated in the window is the cell's at its new pfn; a destination given back (a
// failed migration) is nobody's; another task's migration does not pair with this one's.
TEST(PageTally, AMigratedCellPageMovesAndFailedDestinationsVanish) {
  auto t = tally_page_events({ev(kAlloc, 10, 0), ev(kAlloc, 512, 9), ev(kStart, 0, 0),
                              ev(kAlloc, 2048, 9), ev(kAlloc, 60, 0), ev(kAlloc, 70, 0, 8),
                              ev(kFree, 512, 9), ev(kFree, 60, 0), ev(kEnd, 0, 0)},
                             0x100000);
  EXPECT_TRUE(t.ledger.holds(2048, 9));
  EXPECT_FALSE(t.ledger.holds(512, 0));
  EXPECT_FALSE(t.ledger.holds(60, 0));
  EXPECT_TRUE(t.ledger.holds(70, 0));  // task 8 was not migrating: a plain allocation
  EXPECT_EQ(t.ledger.pages(), 1u + 512u + 1u);
  EXPECT_EQ(t.migrated_pages, 512u);
  EXPECT_EQ(t.migrated_not_cell, 0u);
  EXPECT_EQ(t.unpaired_pages, 0u);
}

// What cannot be paired is counted and said: a destination whose source outlived the call, and a
// cell page migrated to a destination no event named.
TEST(PageTally, UnpairedMigrationsAreCounted) {
  auto t = tally_page_events({ev(kAlloc, 10, 0), ev(kStart, 0, 0), ev(kAlloc, 50, 0),
                              ev(kEnd, 0, 0), ev(kStart, 0, 0), ev(kFree, 10, 0), ev(kEnd, 0, 0)},
                             0x100000);
  EXPECT_EQ(t.unpaired_pages, 2u);
  EXPECT_TRUE(t.ledger.holds(50, 0));
  EXPECT_FALSE(t.ledger.holds(10, 0));
}

// A ring-buffer sub-buffer as the kernel lays it out: u64 timestamp, u64 commit (data length,
// with bit 31 when events were lost before it), then events of a 32-bit header (type_len in the
// low 5 bits = data length / 4, time delta above) and their data.
struct PageBuilder {
  std::vector<char> bytes = std::vector<char>(16, 0);
  void event(const std::vector<char>& data) {
    uint32_t header = static_cast<uint32_t>(data.size() / 4) | (1u << 5);  // delta 1
    bytes.insert(bytes.end(), reinterpret_cast<char*>(&header),
                 reinterpret_cast<char*>(&header) + 4);
    bytes.insert(bytes.end(), data.begin(), data.end());
  }
  std::vector<char> page(bool missed) {
    std::vector<char> p = bytes;
    uint64_t ts = 1000, commit = p.size() - 16;
    if (missed) commit |= 1ull << 31;
    std::memcpy(p.data(), &ts, 8);
    std::memcpy(p.data() + 8, &commit, 8);
    p.resize(4096, 0);
    return p;
  }
};

template <class T>
void put(std::vector<char>& d, size_t off, T v) {
  if (d.size() < off + sizeof v) d.resize(off + sizeof v, 0);
  std::memcpy(d.data() + off, &v, sizeof v);
}

// Field offsets from the fixture formats: pfn 8, order 16, gfp_flags 24, migratetype 32.
std::vector<char> alloc_event(uint16_t id, uint64_t pfn, uint32_t order, uint64_t gfp) {
  std::vector<char> d(40, 0);
  put<uint16_t>(d, 0, id);
  put<int32_t>(d, 4, 1234);
  put<uint64_t>(d, 8, pfn);
  put<uint32_t>(d, 16, order);
  put<uint64_t>(d, 24, gfp);
  put<int32_t>(d, 32, 1);
  return d;
}

std::vector<char> free_event(uint16_t id, uint64_t pfn, uint32_t order) {
  std::vector<char> d(24, 0);
  put<uint16_t>(d, 0, id);
  put<int32_t>(d, 4, 1234);
  put<uint64_t>(d, 8, pfn);
  put<uint32_t>(d, 16, order);
  return d;
}

std::map<std::string, std::string> fixture_formats() {
  std::map<std::string, std::string> f;
  for (const char* e : {"mm_page_alloc", "mm_page_free", "mm_page_free_batched"})
    f[e] = slurp(kTracefs + "/events/kmem/" + e + "/format");
  return f;
}

TEST(PageEventDecoder, DecodesAllocAndFreeEvents) {
  auto dec = PageEventDecoder::create(slurp(kTracefs + "/events/header_page"), fixture_formats());
  ASSERT_TRUE(dec.ok()) << dec.error().describe();
  // IDs from the fixture formats: mm_page_alloc 653, mm_page_free 655, mm_page_free_batched 654.
  PageBuilder b;
  b.event(alloc_event(653, 0x1234, 0, 0x100cca));
  b.event(alloc_event(653, 0x2000, 9, 0x140cca));
  b.event(free_event(655, 0x1234, 0));
  std::vector<char> batched(16, 0);
  put<uint16_t>(batched, 0, 654);
  put<uint64_t>(batched, 8, 0x3000);
  b.event(batched);
  std::vector<PageEvent> events;
  auto page = b.page(false);
  auto r = dec->decode(page.data(), page.size(), events);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_FALSE(r->missed);
  EXPECT_EQ(r->events, 4u);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind, PageEvent::Kind::kAlloc);
  EXPECT_EQ(events[0].pfn, 0x1234u);
  EXPECT_EQ(events[0].gfp, 0x100ccau);
  EXPECT_EQ(events[1].order, 9u);
  EXPECT_EQ(events[2].kind, PageEvent::Kind::kFree);
  EXPECT_EQ(events[3].kind, PageEvent::Kind::kFree);
  EXPECT_EQ(events[3].pfn, 0x3000u);
  EXPECT_LT(events[0].ts, events[3].ts);
}

// The migrate pair (IDs 712 and 713 in the fixture formats) bounds a migration; every event
// carries its task, by which the tally pairs a migration's allocations with its frees.
TEST(PageEventDecoder, DecodesMigrationBoundsAndTasks) {
  auto formats = fixture_formats();
  for (const char* e : {"mm_migrate_pages_start", "mm_migrate_pages"})
    formats[e] = slurp(kTracefs + "/events/migrate/" + e + "/format");
  auto dec = PageEventDecoder::create(slurp(kTracefs + "/events/header_page"), formats);
  ASSERT_TRUE(dec.ok()) << dec.error().describe();
  EXPECT_TRUE(dec->decodes_migrations());
  std::vector<char> start(16, 0), end(64, 0);
  put<uint16_t>(start, 0, 712);
  put<int32_t>(start, 4, 42);
  put<uint16_t>(end, 0, 713);
  put<int32_t>(end, 4, 42);
  put<uint64_t>(end, 8, 1);  // succeeded
  PageBuilder b;
  b.event(start);
  b.event(alloc_event(653, 0x50, 0, 0x3d20ca));
  b.event(end);
  std::vector<PageEvent> events;
  auto page = b.page(false);
  auto r = dec->decode(page.data(), page.size(), events);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, PageEvent::Kind::kMigrateStart);
  EXPECT_EQ(events[0].pid, 42);
  EXPECT_EQ(events[1].kind, PageEvent::Kind::kAlloc);
  EXPECT_EQ(events[1].pid, 1234);
  EXPECT_EQ(events[2].kind, PageEvent::Kind::kMigrateEnd);
  EXPECT_EQ(r->other, 0u);
  // Without the pair the decoder still works, and says it cannot bound migrations.
  auto plain = PageEventDecoder::create(slurp(kTracefs + "/events/header_page"), fixture_formats());
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->decodes_migrations());
}

TEST(PageEventDecoder, FlagsLostEventsAndRefusesShortPages) {
  auto dec = PageEventDecoder::create(slurp(kTracefs + "/events/header_page"), fixture_formats());
  ASSERT_TRUE(dec.ok()) << dec.error().describe();
  PageBuilder b;
  b.event(alloc_event(653, 7, 0, 0x100cca));
  std::vector<PageEvent> events;
  auto missed = b.page(true);
  auto r = dec->decode(missed.data(), missed.size(), events);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(r->missed);
  auto page = b.page(false);
  EXPECT_FALSE(dec->decode(page.data(), 8, events).ok());
  EXPECT_FALSE(dec->decode(page.data(), 40, events).ok());  // commit says 44 bytes of data
  auto formats = fixture_formats();
  formats.erase("mm_page_free");
  EXPECT_FALSE(PageEventDecoder::create(slurp(kTracefs + "/events/header_page"), formats).ok());
}

TEST(TraceSource, MissingTracefsIsUnsupported) {
  PageTraceOptions o;
  o.tracefs = fixture_path("no-such-tracefs");
  o.root = fixture_path("pfn_two_nodes");
  auto src = make_trace_source(o);
  EXPECT_FALSE(src->start().ok());
  EXPECT_FALSE(src->add_task(::getpid()).ok());
  SourceReading r = src->stop();
  EXPECT_EQ(r.state, SourceReading::State::kUnsupported);
  EXPECT_NE(r.reason.find("no kmem:mm_page_alloc"), std::string::npos) << r.reason;
  EXPECT_TRUE(r.pages.empty());
}

TEST(TraceSource, AFixtureRootIsNeverMountedOn) {
  PageTraceOptions o;
  o.root = fixture_path("pfn_two_nodes");  // no proc/self/mountinfo: not mounted there
  auto src = make_trace_source(o);
  EXPECT_FALSE(src->start().ok());
  SourceReading r = src->stop();
  EXPECT_EQ(r.state, SourceReading::State::kUnsupported);
  EXPECT_NE(r.reason.find("not mounted"), std::string::npos) << r.reason;
}

// Without root the live tracefs refuses memplace; the source says so instead of failing.
TEST(TraceSource, NoPermissionIsUnsupported) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop to nobody";
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) _exit(2);
    auto src = make_trace_source(PageTraceOptions{});
    (void)src->start();
    SourceReading r = src->stop();
    std::string msg = (r.state == SourceReading::State::kUnsupported ? "U:" : "X:") + r.reason;
    (void)!::write(fds[1], msg.data(), msg.size());
    _exit(0);
  }
  ::close(fds[1]);
  std::string got;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) got.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(got.substr(0, 2), "U:") << got;
  EXPECT_NE(got.find("permission"), std::string::npos) << got;  // the reason, not a guess
}

TEST(TraceBuffer, SizedForTheCell) {
  EXPECT_EQ(trace_buffer_kib_for(4096), 1024u);  // at least 1 MiB
  EXPECT_GE(trace_buffer_kib_for(64ull << 20) * 1024, 2 * 16384 * 48u);
  // 1 GiB of 4 KiB pages: 2 x 262144 events of ~48 bytes, and a quarter more.
  EXPECT_GE(trace_buffer_kib_for(1ull << 30), 2 * 262144 * 48 / 1024);
  EXPECT_EQ(trace_buffer_kib_for(1ull << 40), 64u * 1024);  // capped: drained while it runs
}

}  // namespace
}  // namespace memplace
