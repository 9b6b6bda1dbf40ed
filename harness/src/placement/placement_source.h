// SPDX-License-Identifier: GPL-2.0-only
// A placement source measures, over a window, how many pages the kernel placed on each node for
// the tasks the caller names: one narrow interface for the page-allocation trace and the memory
// cgroup, which see memory that no mapping of ours holds (guest_memfd faulted by vCPUs, private
// guest memory). Sources know nothing of cells; the caller opens the window right before the
// touch, names each touching task as it starts, and closes the window before anything is freed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"

namespace memplace {

// What one source says about one window. kOk carries pages per node; kUnsupported says why the
// source cannot measure here at all (no tracefs, no memory controller, not root); kIncomplete
// says why its count is not exact (events lost), and keeps what was seen apart from `pages` so
// a partial count can never pass for the placement.
struct SourceReading {
  enum class State { kOk, kUnsupported, kIncomplete };
  State state = State::kUnsupported;
  std::string reason;                                // kUnsupported / kIncomplete: why
  std::map<int, uint64_t> pages;                     // kOk: 4 KiB pages per node
  std::map<int, uint64_t> pages_seen;                // kIncomplete: what the source did see
  nlohmann::json detail = nlohmann::json::object();  // source-specific: counter, events, ...

  bool ok() const { return state == State::kOk; }
  uint64_t total_pages() const;
};

// "ok", "unsupported", "incomplete": the key a reading's JSON carries for its state.
const char* source_state_name(SourceReading::State s);

SourceReading source_ok(std::map<int, uint64_t> pages);
SourceReading source_unsupported(std::string why);
SourceReading source_incomplete(std::string why, std::map<int, uint64_t> seen = {});

// {"pages": {"0": 8192, ...}, <detail>} / {"unsupported": "why", <detail>} /
// {"incomplete": "why", "pages_seen": {...}, <detail>}.
nlohmann::json to_json(const SourceReading& r);
// The inverse, for records read back; anything malformed is an error naming what.
Result<SourceReading> source_reading_from_json(const nlohmann::json& j);

class PlacementSource {
 public:
  virtual ~PlacementSource() = default;
  virtual std::string name() const = 0;  // "trace", "cgroup"
  // Opens the window. Nothing is attributed before the first task is added.
  virtual Status start() = 0;
  // A task (thread id) whose allocations belong to the window; called by that thread itself or
  // for another process's thread. Thread-safe.
  virtual Status add_task(pid_t tid) = 0;
  // A whole process and every thread it has or creates (QEMU).
  virtual Status add_process(pid_t pid) = 0;
  // Closes the window and says what it saw. Tasks go back where they were. Call before the
  // measured memory is released: frees after the window are not the placement.
  virtual SourceReading stop() = 0;
};

}  // namespace memplace
