// SPDX-License-Identifier: GPL-2.0-only
// The trace source's BPF transport, its pure parts: turning a struct page pointer into a pfn,
// sizing the ring buffer, and the reading both transports share (lost events, no task). Then
// the automatic choice of transport: tracefs where BPF cannot run (a fixture tree) or could be
// preempted (kernels from 7.0), and the reading says why. The programs themselves run in the e2e
// and testbed tests.
#include "placement/page_events_bpf.h"

#include <gtest/gtest.h>

#include "placement/page_trace.h"
#include "test_support.h"

namespace memplace {
namespace {

using testing::fixture_path;

TEST(StructPageLayout, PointersBecomePfnsOnlyOnStructPageBoundaries) {
  const StructPageLayout layout{0xffffea0000000000ull, 64, "test"};
  EXPECT_EQ(pfn_of_struct_page(0xffffea0000000000ull, layout), 0u);
  EXPECT_EQ(pfn_of_struct_page(0xffffea0000000000ull + 64 * 0x12345, layout), 0x12345u);
  EXPECT_FALSE(pfn_of_struct_page(0xffffea0000000000ull + 65, layout));  // inside a struct page
  EXPECT_FALSE(pfn_of_struct_page(0xffffe9ffffffffc0ull, layout));       // below the map
  EXPECT_FALSE(pfn_of_struct_page(0xffffea0000000000ull, StructPageLayout{}));  // no layout
}

TEST(BpfRing, SizedAsAPowerOfTwoThatHoldsTheCell) {
  EXPECT_EQ(bpf_ring_bytes(1), 8192u);  // two 4 KiB batches at least: one must fit
  EXPECT_EQ(bpf_ring_bytes(8), 8192u);
  EXPECT_EQ(bpf_ring_bytes(9), 16384u);
  EXPECT_EQ(bpf_ring_bytes(uint64_t{1} << 30), uint64_t{256} << 20);  // capped
  EXPECT_EQ(bpf_ring_bytes_for(4096), uint64_t{1} << 20);             // at least 1 MiB
  // 1 GiB of 4 KiB pages: an allocation and a free of 32 bytes for each of 262144 pages.
  EXPECT_GE(bpf_ring_bytes_for(1ull << 30), 2 * 262144 * 32u);
}

PfnNodeMap two_nodes() {
  auto map = read_pfn_node_map(fixture_path("pfn_two_nodes"));
  EXPECT_TRUE(map.ok()) << map.error().describe();
  return map.ok() ? std::move(*map) : PfnNodeMap{};
}

PageEvent alloc(uint64_t pfn, uint64_t ts) {
  return {PageEvent::Kind::kAlloc, pfn, 0, 1u << 20, ts, 7};
}

TEST(TraceWindowReading, SortsByStampAndCountsEachPage) {
  TraceWindowEvents w;
  // Out of order, as per-CPU batches arrive: the free comes after its allocation by stamp.
  w.events = {{PageEvent::Kind::kFree, 0x10, 0, 0, 3, 7}, alloc(0x10, 1), alloc(0x11, 2)};
  w.hardwall = 1u << 20;
  w.tasks = 1;
  w.detail = {{"transport", "bpf"}};
  SourceReading r = trace_window_reading(w, two_nodes());
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.total_pages(), 1u);
  EXPECT_EQ(r.detail["transport"], "bpf");
  EXPECT_EQ(r.detail["events"]["free"], 1);
}

TEST(TraceWindowReading, LostEventsMakeItIncompleteNeverANumber) {
  TraceWindowEvents w;
  w.events = {alloc(0x10, 1)};
  w.hardwall = 1u << 20;
  w.tasks = 1;
  w.lost = "128 trace events lost";
  SourceReading r = trace_window_reading(w, two_nodes());
  EXPECT_EQ(r.state, SourceReading::State::kIncomplete);
  EXPECT_EQ(r.reason, "128 trace events lost");
  EXPECT_TRUE(r.pages.empty());
  EXPECT_EQ(r.pages_seen.size(), 1u);
}

TEST(TraceWindowReading, NoTaskIsUnsupported) {
  TraceWindowEvents w;
  w.hardwall = 1u << 20;
  EXPECT_EQ(trace_window_reading(w, two_nodes()).state, SourceReading::State::kUnsupported);
}

TEST(TraceTransportChoice, AutoFallsBackToTracefsAndSaysWhy) {
  PageTraceOptions o;
  o.root = fixture_path("pfn_two_nodes");
  o.tracefs = fixture_path("no-such-tracefs");
  auto src = make_trace_source(o);
  EXPECT_FALSE(src->start().ok());
  SourceReading r = src->stop();
  EXPECT_EQ(r.state, SourceReading::State::kUnsupported);
  // The tracefs transport's reason, then the BPF transport's.
  EXPECT_NE(r.reason.find("no kmem:mm_page_alloc"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("BPF transport: the BPF transport reads the live kernel"),
            std::string::npos)
      << r.reason;
  EXPECT_NE(r.detail.value("bpf_not_used", "").find("live kernel"), std::string::npos);
}

// Kernels from 7.0 run tracepoint callbacks preemptible: auto does not take BPF there.
TEST(TraceTransportChoice, BpfProgramsArePreemptibleFrom7_0) {
  EXPECT_EQ(bpf_programs_preemptible("6.18.15+deb13-cloud-amd64"), "");
  EXPECT_EQ(bpf_programs_preemptible("6.19.2"), "");
  EXPECT_NE(bpf_programs_preemptible("7.0.0").find("SRCU-fast"), std::string::npos);
  EXPECT_NE(bpf_programs_preemptible("7.3.4+deb13-cloud-amd64").find("7.3.4"), std::string::npos);
  EXPECT_NE(bpf_programs_preemptible("10.1"), "");
  EXPECT_NE(bpf_programs_preemptible("custom").find("unknown"), std::string::npos);
}

TEST(TraceTransportChoice, BpfAloneOnAFixtureIsUnsupported) {
  PageTraceOptions o;
  o.root = fixture_path("pfn_two_nodes");
  o.transport = TraceTransport::kBpf;
  auto src = make_trace_source(o);
  EXPECT_FALSE(src->start().ok());
  SourceReading r = src->stop();
  EXPECT_EQ(r.state, SourceReading::State::kUnsupported);
  EXPECT_NE(r.reason.find("live kernel"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace memplace
