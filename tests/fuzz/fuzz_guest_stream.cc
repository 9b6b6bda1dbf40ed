// SPDX-License-Identifier: GPL-2.0-only
// The testbed's guest->host stream through the host's own reader (RecordStreamReader): bytes in
// arbitrary chunks, split into lines as the session splits them, each line classified, records
// checked against the runs the guest was asked for, samples and locality files stored, notes
// capped. The first byte picks the chunk size, so line boundaries fall anywhere.
// Properties: at most one record per expected run reaches runs.jsonl, and every line there reads
// back; nothing is written outside samples/ and locality/ (or a legacy workloads/); the notes stay
// bounded.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/line_splitter.h"
#include "results/results.h"
#include "spec/spec.h"
#include "testbed/guest_records.h"
#include "testbed/record_stream.h"

namespace {

namespace fs = std::filesystem;

// One kernel dir per fuzzing process, on tmpfs, emptied before each input. libFuzzer ends
// with _Exit, so no destructor runs: the dirs of processes that are gone are removed here.
struct TempDir {
  std::string path = "/dev/shm/fuzz_guest_stream-" + std::to_string(::getpid());
  TempDir() {
    for (const auto& e : fs::directory_iterator("/dev/shm")) {
      std::string name = e.path().filename(), pid = name.substr(name.rfind('-') + 1);
      if (name.rfind("fuzz_guest_stream-", 0) == 0 && !fs::exists("/proc/" + pid))
        fs::remove_all(e.path());
    }
    fs::remove_all(path);
    fs::create_directory(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

const std::string& kernel_dir() {
  static const TempDir dir;
  return dir.path;
}

void check_dir(const std::string& dir, int records) {
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename();
    if (name != "runs.jsonl" && name != "samples" && name != "locality" && name != "workloads")
      __builtin_trap();
    if (name != "runs.jsonl" && (!e.is_directory() || e.is_symlink())) __builtin_trap();
  }
  auto runs = memplace::read_runs(dir + "/runs.jsonl");
  if (!runs || static_cast<int>(runs->records.size()) != records || !runs->warnings.empty())
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string& dir = kernel_dir();
  for (const auto& e : fs::directory_iterator(dir)) fs::remove_all(e.path());
  memplace::Spec spec = memplace::default_spec();
  spec.repeats = 3;
  auto runs = memplace::RunsWriter::open(dir + "/runs.jsonl");
  if (!runs) __builtin_trap();
  memplace::RecordStreamReader reader(
      {dir, memplace::expand(spec), {}, nullptr, memplace::RecordStreamReader::Clock::now()}, *runs,
      [](const std::string&) {});
  memplace::LineSplitter splitter;
  auto emit = [&](std::string_view line) { reader.on_line(line); };
  for (size_t at = 0; at < bytes.size(); at += chunk) splitter.feed(bytes.substr(at, chunk), emit);
  if (!splitter.pending().empty()) reader.on_line(splitter.pending());
  // At most one record per expected run, however many the guest sent.
  if (reader.received().size() > 3 || reader.records() > 3) __builtin_trap();
  size_t total = 0;
  for (const auto& n : reader.notes()) total += n.size();
  if (total > memplace::GuestNotes::kMaxNotesBytes + 256) __builtin_trap();
  check_dir(dir, reader.records());
  return 0;
}
