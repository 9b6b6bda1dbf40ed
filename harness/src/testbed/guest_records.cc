// SPDX-License-Identifier: GPL-2.0-only
#include "testbed/guest_records.h"

namespace memplace {

GuestRecordGate::GuestRecordGate(const std::vector<Cell>& expected) {
  for (const Cell& c : expected) expected_.insert({cell_key(c), c.repeat});
}

std::string GuestRecordGate::admit(const RunRecord& r) {
  std::pair<std::string, int> run{r.cell_key, r.repeat};
  std::string why;
  if (!expected_.count(run))
    why = "not a run this guest was asked for";
  else if (received_.count(run))
    why = "a second record of one run";
  if (!why.empty()) {
    ++dropped_;
    return why;
  }
  received_.insert(run);
  return "";
}

std::string cut_text(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t end = max;
  // Back off continuation bytes so the cut text stays valid UTF-8 where the input was.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "... (" + std::to_string(text.size()) + " bytes)";
}

std::string GuestNotes::add(std::string_view note) {
  std::string kept = cut_text(note, kMaxNoteBytes);
  if (notes_.size() >= kMaxNotes || bytes_ + kept.size() > kMaxNotesBytes) {
    ++dropped_;
    return "";
  }
  bytes_ += kept.size();
  notes_.push_back(kept);
  return kept;
}

std::vector<std::string> GuestNotes::list() const {
  std::vector<std::string> out = notes_;
  if (dropped_)
    out.push_back(std::to_string(dropped_) + " more notes from the guest dropped (at most " +
                  std::to_string(kMaxNotes) + " notes, " + std::to_string(kMaxNotesBytes) +
                  " bytes are kept)");
  return out;
}

}  // namespace memplace
