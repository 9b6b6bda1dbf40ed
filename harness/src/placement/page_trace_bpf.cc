// SPDX-License-Identifier: GPL-2.0-only
// The trace source over its BPF transport (page_events_bpf.h): the same window, tasks and
// reading as the tracefs transport, with the events handed over by BPF programs.
#include <unistd.h>

#include <chrono>
#include <mutex>

#include "placement/page_events_bpf.h"
#include "placement/page_trace.h"
#include "placement/trace_drainer.h"

namespace memplace {

namespace {

// Loading parses the kernel's BTF and /proc/kallsyms: 0.1 s on this host, about a second per
// cell in a TCG guest (the 6.18 testbed's 30 cells took 59 s instead of 36). So the programs a
// window loaded serve the process's next window with the same ring size.
std::mutex g_loaded_mu;
std::unique_ptr<BpfPageEvents> g_loaded;

Result<std::unique_ptr<BpfPageEvents>> load_or_reuse(uint64_t ring_bytes, bool* reused) {
  {
    std::lock_guard lock(g_loaded_mu);
    *reused = g_loaded && g_loaded->ring_bytes() == ring_bytes;
    if (*reused) return std::move(g_loaded);
  }
  return BpfPageEvents::load(ring_bytes);
}

void keep_for_reuse(std::unique_ptr<BpfPageEvents> loaded) {
  std::lock_guard lock(g_loaded_mu);
  g_loaded = std::move(loaded);  // one is kept: a different ring size replaces it
}

class BpfTraceSource : public PlacementSource {
 public:
  explicit BpfTraceSource(PageTraceOptions o) : o_(std::move(o)) {}
  ~BpfTraceSource() override {
    if (started_) (void)stop();
  }
  std::string name() const override { return "trace"; }

  Status start() override {
    if (auto s = prepare(); !s) {
      unsupported_ = s.error().message;
      bpf_.reset();
      return s;
    }
    prefault_event_storage(events_, o_.expected_bytes);
    started_ = true;
    drainer_.start([this] { drain(); }, std::chrono::milliseconds(o_.drain_interval_ms));
    return {};
  }

  Status add_task(pid_t tid) override { return add(tid, false); }
  // Every thread of the process, those it has and those it creates: the programs match the
  // process id (tgid) itself.
  Status add_process(pid_t pid) override { return add(pid, true); }

  SourceReading stop() override;

 private:
  Status prepare();
  Status add(pid_t id, bool process);
  void drain();

  PageTraceOptions o_;
  std::unique_ptr<BpfPageEvents> bpf_;
  std::optional<PfnNodeMap> pfn_map_;
  uint64_t hardwall_ = 0, ring_bytes_ = 0;
  std::vector<PageEvent> events_;
  std::string unsupported_, error_;
  int tasks_ = 0;
  bool started_ = false, reused_ = false;
  std::mutex mu_;  // tasks_, error_
  TraceDrainer drainer_;
};

Status BpfTraceSource::prepare() {
  // The programs read the live kernel; a fixture tree (tests) has none.
  if (!o_.root.empty() && o_.root != "/")
    return unsupported_error("the BPF transport reads the live kernel, not " + o_.root);
  auto tracefs = locate_tracefs(o_);
  if (!tracefs) return tracefs.error();
  auto hardwall = read_gfp_hardwall(*tracefs);
  if (!hardwall) return hardwall.error();
  hardwall_ = *hardwall;
  auto map = read_pfn_node_map(o_.root);
  if (!map) return map.error().prefixed("mapping pfns to nodes: ");
  pfn_map_.emplace(std::move(*map));
  ring_bytes_ =
      o_.buffer_kib ? bpf_ring_bytes(o_.buffer_kib) : bpf_ring_bytes_for(o_.expected_bytes);
  auto bpf = load_or_reuse(ring_bytes_, &reused_);
  if (!bpf) return bpf.error();
  bpf_ = std::move(*bpf);
  return bpf_->attach();
}

Status BpfTraceSource::add(pid_t id, bool process) {
  std::lock_guard lock(mu_);
  if (!started_) return make_error("the trace window is not open");
  auto s = process ? bpf_->add_process(id) : bpf_->add_thread(id);
  if (!s) {
    if (error_.empty()) error_ = s.error().describe();
    return s;
  }
  ++tasks_;
  return {};
}

void BpfTraceSource::drain() {
  if (auto s = bpf_->drain(events_); !s) {
    std::lock_guard lock(mu_);
    if (error_.empty()) error_ = s.error().describe();
  }
}

SourceReading BpfTraceSource::stop() {
  if (!started_)
    return source_unsupported(unsupported_.empty() ? "the window was never opened" : unsupported_);
  {
    std::lock_guard lock(mu_);
    started_ = false;
  }
  drainer_.stop();
  TraceWindowEvents w;
  if (auto s = bpf_->finish(events_); !s && error_.empty()) error_ = s.error().describe();
  w.events = std::move(events_);
  w.hardwall = hardwall_;
  w.migrations_traced = bpf_->traces_migrations();
  w.tasks = tasks_;
  auto lost_or = bpf_->lost_events();
  if (!lost_or && error_.empty()) error_ = lost_or.error().describe();
  const uint64_t lost = lost_or ? *lost_or : 0, missed = bpf_->missed_runs();
  w.detail = {{"transport", "bpf"},
              {"ring_buffer_kib", ring_bytes_ / 1024},
              {"struct_page_bytes", bpf_->layout().page_size},
              {"vmemmap_base_from", bpf_->layout().vmemmap_base_from},
              {"programs", reused_ ? "reused from the previous window" : "loaded"},
              {"lost_events", lost},
              {"missed_program_runs", missed}};
  // A skipped run is an event on a CPU where the same program was already running: nested in
  // an interrupt, or, where tracepoints are preemptible (trace_transport.h), in any task while
  // another's run was preempted. The traced tasks' events may be among them, so the count is
  // incomplete (the 7.3 testbed guest skipped up to 185 runs and lost up to 54 pages of a 64 MiB
  // cell; the 6.18 guest skipped none).
  if (lost)
    w.lost = std::to_string(lost) + " trace events lost (BPF ring buffer of " +
             std::to_string(ring_bytes_ >> 10) + " KiB full)";
  if (missed)
    w.lost += (w.lost.empty() ? "" : "; ") + std::to_string(missed) +
              " BPF program runs skipped (the program was already running on that CPU)";
  if (bpf_->bad_pointers() && error_.empty())
    error_ = std::to_string(bpf_->bad_pointers()) + " events named no struct page";
  w.error = error_;
  keep_for_reuse(std::move(bpf_));  // detached already
  return trace_window_reading(w, *pfn_map_);
}

}  // namespace

std::unique_ptr<PlacementSource> make_bpf_trace_source(const PageTraceOptions& options) {
  return std::make_unique<BpfTraceSource>(options);
}

}  // namespace memplace
