// Which transport carries the trace source's events (page_trace.h, TraceTransport), and the
// automatic choice: BPF where it loads, else tracefs.
#include "base/enum_names.h"
#include "kernel/page_trace.h"

namespace memplace {

namespace {

constexpr EnumNames<TraceTransport, 3> kTransportNames{{"auto", "bpf", "tracefs"}};

// Starts the first source, and the second when the first cannot start; the reading of the
// second says why the first was not used.
class FirstThatStarts : public PlacementSource {
 public:
  FirstThatStarts(std::unique_ptr<PlacementSource> first, std::unique_ptr<PlacementSource> second)
      : first_(std::move(first)), second_(std::move(second)) {}
  std::string name() const override { return first_->name(); }

  Status start() override {
    if (auto s = first_->start()) {
      active_ = first_.get();
      return s;
    } else {
      first_failed_ = s.error().message;
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
      r.detail["bpf_unsupported"] = first_failed_;
      if (r.state == SourceReading::State::kUnsupported)
        r.reason += " (and the BPF transport: " + first_failed_ + ")";
    }
    return r;
  }

 private:
  std::unique_ptr<PlacementSource> first_, second_;
  PlacementSource* active_ = nullptr;
  std::string first_failed_;
};

}  // namespace

std::string trace_transport_name(TraceTransport t) { return name_of(kTransportNames, t); }

Result<TraceTransport> parse_trace_transport(std::string_view name, const std::string& field) {
  if (auto t = value_named(kTransportNames, name)) return *t;
  return bad_input_error(field + ": unknown trace transport '" + std::string(name) +
                         "' (known: " + known_names(kTransportNames) + ")");
}

std::vector<TraceTransport> all_trace_transports() {
  return {TraceTransport::kAuto, TraceTransport::kBpf, TraceTransport::kTracefs};
}

std::unique_ptr<PlacementSource> make_trace_source(const PageTraceOptions& options) {
  switch (options.transport) {
    case TraceTransport::kBpf: return make_bpf_trace_source(options);
    case TraceTransport::kTracefs: return make_tracefs_trace_source(options);
    case TraceTransport::kAuto: break;
  }
  return std::make_unique<FirstThatStarts>(make_bpf_trace_source(options),
                                           make_tracefs_trace_source(options));
}

}  // namespace memplace
