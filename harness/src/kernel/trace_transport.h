// How the trace source's events reach memplace (page_trace.h). Both transports record the same
// tracepoints for the same tasks and feed one tally; they differ in cost and in what they need.
//   bpf:     raw tracepoints and a BPF ring buffer (page_events_bpf.h): root and kernel BTF.
//   tracefs: a tracefs instance of memplace's own: root and tracefs.
//   auto:    BPF where it loads, else tracefs; the reading says why BPF was not used.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace memplace {

enum class TraceTransport { kAuto, kBpf, kTracefs };
std::string trace_transport_name(TraceTransport t);
Result<TraceTransport> parse_trace_transport(std::string_view name, const std::string& field);
std::vector<TraceTransport> all_trace_transports();

}  // namespace memplace
