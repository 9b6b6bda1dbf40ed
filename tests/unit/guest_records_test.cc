// SPDX-License-Identifier: GPL-2.0-only
// The host's side of a testbed guest's stream (issue 14 items 1, 11, 12): what a fake guest sent
// in the issue, checked here without booting one.
#include "testbed/guest_records.h"

#include <gtest/gtest.h>

#include <string>

#include "testbed/record_stream.h"
#include "testbed/testbed.h"

namespace memplace {
namespace {

Cell cell(int repeat) {
  Cell c;
  c.size_bytes = 4ull << 20;
  c.repeat = repeat;
  return c;
}

RunRecord record_of(const Cell& c) {
  RunRecord r;
  r.cell_key = cell_key(c);
  r.repeat = c.repeat;
  return r;
}

// Item 11: 3003 records for a one-run matrix were reported as "3004 ok".
TEST(GuestRecordGate, TakesOneRecordPerExpectedRunAndCountsTheRest) {
  GuestRecordGate gate({cell(0)});
  EXPECT_EQ(gate.admit(record_of(cell(0))), "");
  EXPECT_EQ(gate.admit(record_of(cell(0))), "a second record of one run");
  EXPECT_EQ(gate.admit(record_of(cell(1))), "not a run this guest was asked for");
  Cell other = cell(0);
  other.backing = BackingKind::kShmem;
  for (int i = 0; i < 3000; ++i)
    EXPECT_EQ(gate.admit(record_of(other)), "not a run this guest was asked for");
  gate.drop();  // refused before admit: malformed
  EXPECT_EQ(gate.received().size(), 1u);
  EXPECT_EQ(gate.dropped(), 3003);
}

// Item 12: 20 log lines of 8 MiB took the host to 687 MB RSS and a 168 MB manifest.
TEST(GuestNotes, EachNoteAndTheirTotalAreCapped) {
  GuestNotes notes;
  std::string huge(8u << 20, 'x');
  std::string kept = notes.add(huge);
  EXPECT_LE(kept.size(), GuestNotes::kMaxNoteBytes + 32);
  EXPECT_NE(kept.find("... (8388608 bytes)"), std::string::npos);
  for (int i = 0; i < 1000; ++i) notes.add(huge);
  auto list = notes.list();
  size_t bytes = 0;
  for (const auto& n : list) bytes += n.size();
  EXPECT_LE(bytes, GuestNotes::kMaxNotesBytes + 200);
  EXPECT_GT(notes.dropped(), 900u);
  EXPECT_NE(list.back().find("more notes from the guest dropped"), std::string::npos);

  GuestNotes few;
  few.add("guest: hello");
  EXPECT_EQ(few.list(), std::vector<std::string>{"guest: hello"});
}

TEST(GuestNotes, CutKeepsUtf8Whole) {
  std::string text = "ab\u00e9cd";  // é: bytes 2-3 in UTF-8
  EXPECT_EQ(cut_text(text, 3), "ab... (6 bytes)");
  EXPECT_EQ(cut_text(text, 10), text);
}

// Item 1: a 600 KB guest line 300,000 deep killed `memplace run --testbed` with SIGSEGV.
TEST(GuestLines, DeepNestingIsAMalformedLineNotACrash) {
  std::string line =
      R"({"run_id":"r0001","extra":)" + std::string(300000, '[') + std::string(300000, ']') + "}";
  GuestLine g = classify_guest_line(line);
  EXPECT_EQ(g.kind, GuestLine::Kind::kMalformed);
  EXPECT_EQ(g.error, "JSON nested deeper than 64 levels");
  EXPECT_TRUE(g.json.is_null());
}

}  // namespace
}  // namespace memplace
