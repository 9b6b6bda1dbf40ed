// The testbed's guest->host stream as the host takes it: bytes in arbitrary chunks, split into
// lines, classified, records checked against the runs the guest was asked for, notes capped.
// The first byte picks the chunk size, so line boundaries fall anywhere.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/agent_protocol.h"
#include "base/json_bounded.h"
#include "experiment/spec.h"
#include "base/line_splitter.h"
#include "testbed/record_stream.h"
#include "testbed/guest_records.h"
#include "testbed/testbed.h"

namespace {

using memplace::GuestLine;

void take(std::string_view line, memplace::GuestRecordGate& gate, memplace::GuestNotes& notes) {
  GuestLine g = memplace::classify_guest_line(line);
  if (g.kind == GuestLine::Kind::kMalformed) {
    if (!g.json.is_null()) __builtin_trap();
    notes.add("malformed: " + memplace::cut_text(line, 200));
    return;
  }
  if (!g.json.is_object()) __builtin_trap();
  if (g.kind == GuestLine::Kind::kRecord) {
    if (line.size() > memplace::kMaxGuestRecordBytes) return gate.drop();
    auto rec = memplace::record_from_json(g.json);
    if (!rec) return gate.drop();
    if (gate.admit(*rec).empty())
      (void)g.json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  if (g.kind == GuestLine::Kind::kSamples || g.kind == GuestLine::Kind::kWorkload) {
    auto f = g.json.find("file");
    if (f != g.json.end() && f->is_string()) {
      const std::string& name = f->get_ref<const std::string&>();
      bool safe = g.kind == GuestLine::Kind::kSamples ? memplace::safe_samples_path(name)
                                                      : memplace::safe_workload_path(name);
      if (safe && (name.find("..") == 0 || name.find('/') != name.rfind('/'))) __builtin_trap();
    }
    auto t = g.json.find("text");
    if (t != g.json.end() && t->is_string())
      if (auto j = memplace::parse_json_bounded(t->get_ref<const std::string&>()))
        (void)memplace::check_benchmark_json(*j);
    return;
  }
  notes.add(memplace::cut_text(line, 4096));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  memplace::Spec spec = memplace::default_spec();
  spec.repeats = 3;
  memplace::GuestRecordGate gate(memplace::expand(spec));
  memplace::GuestNotes notes;
  memplace::LineSplitter splitter;
  auto emit = [&](std::string_view line) { take(line, gate, notes); };
  for (size_t at = 0; at < bytes.size(); at += chunk) splitter.feed(bytes.substr(at, chunk), emit);
  if (!splitter.pending().empty()) take(splitter.pending(), gate, notes);
  // At most one record per expected run, however many the guest sent.
  if (gate.received().size() > 3) __builtin_trap();
  size_t total = 0;
  for (const auto& n : notes.list()) total += n.size();
  if (total > memplace::GuestNotes::kMaxNotesBytes + 256) __builtin_trap();
  return 0;
}
