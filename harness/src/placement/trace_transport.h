// SPDX-License-Identifier: GPL-2.0-only
// How the trace source's events reach memplace (page_trace.h). Both transports record the same
// tracepoints for the same tasks and feed one tally; they differ in cost and in what they need.
//   bpf:     raw tracepoints and a BPF ring buffer (page_events_bpf.h): root and kernel BTF.
//   tracefs: a tracefs instance of memplace's own: root and tracefs.
//   auto:    BPF where it loads and its programs cannot be preempted (kernels before 7.0),
//            else tracefs; the reading says why BPF was not used.
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

// Why a BPF program on a tracepoint can be preempted on the kernel of `release` ("" when it
// cannot). Since 7.0 (commit a46023d5616e) tracepoint callbacks run under SRCU-fast instead of
// with preemption disabled. The kernel skips a program's run on a CPU where the same program is
// already running, so one preempted run in any task drops the events of every task that
// allocates on that CPU until it resumes: the 7.3 testbed guest lost up to 54 pages of a 64 MiB
// cell that way. Unknown releases count as preemptible.
std::string bpf_programs_preemptible(std::string_view release);

}  // namespace memplace
