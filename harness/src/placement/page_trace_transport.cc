// SPDX-License-Identifier: GPL-2.0-only
// Which transport carries the trace source's events (page_trace.h, TraceTransport), and the
// automatic choice: BPF where it loads and its programs cannot be preempted, else tracefs.
#include <sys/utsname.h>

#include <cstdio>

#include "base/enum_names.h"
#include "placement/page_trace.h"

namespace memplace {

namespace {

constexpr EnumNames<TraceTransport, 3> kTransportNames{{"auto", "bpf", "tracefs"}};

// Starts the first source, and the second when the first cannot start or is not to be used
// (`skip_first` says why); the reading of the second says why the first was not used.
class FirstThatStarts : public PlacementSource {
 public:
  FirstThatStarts(std::unique_ptr<PlacementSource> first, std::unique_ptr<PlacementSource> second,
                  std::string skip_first)
      : first_(std::move(first)),
        second_(std::move(second)),
        why_not_first_(std::move(skip_first)) {}
  std::string name() const override { return first_->name(); }

  Status start() override {
    if (why_not_first_.empty()) {
      auto s = first_->start();
      if (s) {
        active_ = first_.get();
        return s;
      }
      why_not_first_ = s.error().message;
    }
    active_ = second_.get();
    return second_->start();
  }
  Status add_task(pid_t tid) override { return active_->add_task(tid); }
  Status add_process(pid_t pid) override { return active_->add_process(pid); }
  SourceReading stop() override {
    if (!active_) return source_unsupported("the window was never opened");
    SourceReading r = active_->stop();
    if (active_ == second_.get()) {
      r.detail["bpf_not_used"] = why_not_first_;
      if (r.state == SourceReading::State::kUnsupported)
        r.reason += " (and the BPF transport: " + why_not_first_ + ")";
    }
    return r;
  }

 private:
  std::unique_ptr<PlacementSource> first_, second_;
  PlacementSource* active_ = nullptr;
  std::string why_not_first_;
};

std::string running_kernel_release() {
  struct utsname u {};
  return ::uname(&u) == 0 ? u.release : "";
}

}  // namespace

std::string trace_transport_name(TraceTransport t) {
  return name_of(kTransportNames, t);
}

Result<TraceTransport> parse_trace_transport(std::string_view name, const std::string& field) {
  if (auto t = value_named(kTransportNames, name)) return *t;
  return bad_input_error(field + ": unknown trace transport '" + std::string(name) +
                         "' (known: " + known_names(kTransportNames) + ")");
}

std::vector<TraceTransport> all_trace_transports() {
  return {TraceTransport::kAuto, TraceTransport::kBpf, TraceTransport::kTracefs};
}

std::string bpf_programs_preemptible(std::string_view release) {
  int major = 0, minor = 0;
  if (std::sscanf(std::string(release).c_str(), "%d.%d", &major, &minor) != 2)
    return "kernel release '" + std::string(release) +
           "' is not MAJOR.MINOR: whether its "
           "tracepoints can preempt a BPF program is unknown";
  if (major < 7) return "";
  return "kernel " + std::string(release) +
         " runs tracepoint callbacks preemptible (SRCU-fast, "
         "since 7.0): a BPF program preempted in one task is skipped for every other task on "
         "that CPU, traced ones included";
}

std::unique_ptr<PlacementSource> make_trace_source(const PageTraceOptions& options) {
  switch (options.transport) {
    case TraceTransport::kBpf:
      return make_bpf_trace_source(options);
    case TraceTransport::kTracefs:
      return make_tracefs_trace_source(options);
    case TraceTransport::kAuto:
      break;
  }
  return std::make_unique<FirstThatStarts>(make_bpf_trace_source(options),
                                           make_tracefs_trace_source(options),
                                           bpf_programs_preemptible(running_kernel_release()));
}

}  // namespace memplace
