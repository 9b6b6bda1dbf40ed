// SPDX-License-Identifier: GPL-2.0-only
// What the host keeps of a testbed guest's stream. The guest is untrusted: it may send records
// for runs nobody asked for, the same run twice, or megabytes of log text. The host takes exactly
// one record per run it expects, and a bounded amount of notes; everything else is dropped and
// counted, so a broken guest shows up as a number in the manifest instead of as results.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "results/run_record.h"
#include "spec/cell.h"

namespace memplace {

// A record line longer than this is not a record memplace writes (a record with meminfo for 64
// nodes and a locality report is ~200 KiB); it is dropped unread.
inline constexpr size_t kMaxGuestRecordBytes = 4u << 20;

class GuestRecordGate {
 public:
  explicit GuestRecordGate(const std::vector<Cell>& expected);
  // "" when `r` is the first record of a run this guest was asked for (it now counts as
  // received); otherwise why it is dropped.
  std::string admit(const RunRecord& r);
  void drop() { ++dropped_; }  // a record refused before admit (malformed, too long)
  int dropped() const { return dropped_; }
  const std::set<std::pair<std::string, int>>& received() const { return received_; }

 private:
  std::set<std::pair<std::string, int>> expected_;  // (cell_key, repeat)
  std::set<std::pair<std::string, int>> received_;
  int dropped_ = 0;
};

// Notes about a guest (its log lines, what was skipped and why) for the manifest and stderr:
// each cut to kMaxNoteBytes, at most kMaxNotes and kMaxNotesBytes in all; the rest are counted.
class GuestNotes {
 public:
  static constexpr size_t kMaxNoteBytes = 1024;
  static constexpr size_t kMaxNotes = 200;
  static constexpr size_t kMaxNotesBytes = 64u << 10;
  // Returns the note as kept (cut, with the cut said), or "" when it was dropped.
  std::string add(std::string_view note);
  // The kept notes, and a last one counting the dropped ones when there were any.
  std::vector<std::string> list() const;
  size_t dropped() const { return dropped_; }

 private:
  std::vector<std::string> notes_;
  size_t bytes_ = 0;
  size_t dropped_ = 0;
};

// `text` cut to `max` bytes (never inside a UTF-8 sequence) with "... (N bytes)" appended.
std::string cut_text(std::string_view text, size_t max);

}  // namespace memplace
