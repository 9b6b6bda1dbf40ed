// SPDX-License-Identifier: GPL-2.0-only
// The testbed's guest->host record stream, both ends. Inside the guest, `memplace run --stream
// PORT` writes every finished run down the virtio-serial port (RecordStreamWriter); on the host,
// RecordStreamReader turns the lines into the kernel's results dir. One JSON object per line:
//   {"type":"hello",...}         the guest's init is up
//   {"type":"samples","run_id","file":"samples/r0001.csv","csv":"..."}   ahead of its record
//   {"type":"locality","run_id","file":"locality/r0001-triad.json","text":"{...}"}  likewise
//   {<a RunRecord>}               every object without a "type" member
//   {"type":"log","message"}     anything the guest's init says
//   {"type":"end","exit_code"}   the guest's matrix has ended
// The guest is untrusted: lines are bounded, file names are checked, records are validated.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "results/manifest.h"
#include "results/results.h"
#include "results/run_record.h"
#include "spec/cell.h"
#include "testbed/guest_records.h"

namespace memplace {

// The guest end.
class RecordStreamWriter {
 public:
  static Result<RecordStreamWriter> open(const std::string& path);
  // The run's samples and locality files first, so the host has them by the time the record
  // names them; then the record. Files are read from `out_dir`.
  Status write(const RunRecord& r, const std::string& out_dir);

 private:
  explicit RecordStreamWriter(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// What one guest line is.
struct GuestLine {
  enum class Kind { kRecord, kHello, kEnd, kLog, kSamples, kLocality, kOther, kMalformed };
  Kind kind = Kind::kMalformed;
  nlohmann::json json;
  std::string error;  // kMalformed: why
};
GuestLine classify_guest_line(std::string_view line);

// Only a safe_samples_path (results.h) is accepted, and at most kMaxGuestSamplesBytes of CSV.
constexpr size_t kMaxGuestSamplesBytes = 16u << 20;
// Writes the line's CSV to <kernel_dir>/<file>; returns the file written.
Result<std::string> store_guest_samples(const std::string& kernel_dir, const nlohmann::json& line);

// Only a safe_locality_path (results.h), at most kMaxGuestLocalityBytes, and text that passes
// check_benchmark_json (agent_protocol.h) is stored.
constexpr size_t kMaxGuestLocalityBytes = 1u << 20;
// Writes the line's text to <kernel_dir>/<file>; returns the file written.
Result<std::string> store_guest_locality(const std::string& kernel_dir, const nlohmann::json& line);

// The host end, for one kernel's results dir. The guest is untrusted: only the first record of
// each run it was asked for is kept (GuestRecordGate), notes are bounded (GuestNotes), files of
// runs recorded before this session are never replaced, and what a record says about its
// kernel's build is the host's to say.
class RecordStreamReader {
 public:
  using Clock = std::chrono::steady_clock;
  struct Session {
    std::string kernel_dir;
    std::vector<Cell> expected;           // the runs this boot is for
    std::set<std::string> earlier_files;  // "samples/r0001.csv", ... of earlier sessions
    nlohmann::json kernel_build;          // stamped into every record (null: none)
    Clock::time_point t0;                 // when QEMU started, for the boot time
  };
  // `say` prints a progress line.
  RecordStreamReader(Session session, RunsWriter& runs,
                     std::function<void(const std::string&)> say);
  void on_line(std::string_view line);

  const MatrixSummary& summary() const { return summary_; }
  // (cell_key, repeat) of every record kept.
  const std::set<std::pair<std::string, int>>& received() const { return gate_.received(); }
  std::vector<std::string> notes() const { return notes_.list(); }  // what the guest said
  int records() const { return records_; }
  int dropped() const { return gate_.dropped(); }
  bool saw_end() const { return saw_end_; }
  int guest_exit_code() const { return guest_exit_; }    // from "end"; -1 without one
  double boot_seconds() const { return boot_seconds_; }  // QEMU start to hello; -1 without one

 private:
  void note(const std::string& text);
  void on_record(std::string_view line, GuestLine& g);
  template <class Store>
  void on_file(const GuestLine& g, Store store, std::set<std::string>& stored, const char* what);

  Session session_;
  RunsWriter& runs_;
  std::function<void(const std::string&)> say_;
  GuestRecordGate gate_;
  GuestNotes notes_;
  MatrixSummary summary_;
  std::set<std::string> samples_stored_, localities_stored_;
  int records_ = 0;
  bool saw_end_ = false;
  int guest_exit_ = -1;
  double boot_seconds_ = -1;
};

}  // namespace memplace
