// SPDX-License-Identifier: GPL-2.0-only
#include "placement/placement_probe.h"

#include <sys/utsname.h>

#include "placement/memcg.h"
#include "placement/page_trace.h"

namespace memplace {

namespace {

// Opens and closes a window of the trace source through one transport: "" when it worked, else
// why not.
std::string trace_window_fails(const std::string& root, TraceTransport transport) {
  PageTraceOptions o;
  o.root = root;
  o.transport = transport;
  o.expected_bytes = 1ull << 20;
  o.buffer_kib = 64;
  auto trace = make_trace_source(o);
  auto s = trace->start();
  (void)trace->stop();
  return s ? "" : s.error().message;
}

}  // namespace

void probe_trace_source(const std::string& root, TraceTransport transport,
                        PlacementSourcesProbe& p) {
  const std::string why = trace_window_fails(root, transport);
  if (transport == TraceTransport::kTracefs) {
    p.trace_usable = why.empty();
    p.trace = why.empty() ? "usable (kmem:mm_page_alloc and mm_page_free in a tracefs instance)"
                          : "unsupported: " + why;
    return;
  }
  p.trace_bpf_usable = why.empty();
  p.trace_bpf = "unsupported: " + why;
  if (why.empty()) {
    struct utsname u {};
    const std::string preemptible = ::uname(&u) == 0 ? bpf_programs_preemptible(u.release) : "";
    p.trace_bpf = "usable (BPF programs on the kmem raw tracepoints; " +
                  (preemptible.empty() ? std::string("the default here)")
                                       : "not the default here: " + preemptible + ")");
  }
}

void probe_memcg_source(const std::string& root, PlacementSourcesProbe& p) {
  auto mount = find_memcg(root);
  if (mount) p.memcg_version = mount->version == MemcgVersion::kV2 ? "v2" : "v1";
  auto memcg = make_memcg_source(BackingKind::kAnon, root);
  if (auto s = memcg->start(); s) {
    p.memcg_usable = true;
    p.memcg = "usable (cgroup " + p.memcg_version + ", children of " + mount->own_dir + ")";
  } else {
    p.memcg = "unsupported: " + s.error().message;
  }
  (void)memcg->stop();
}

PlacementSourcesProbe probe_placement_sources(const std::string& root) {
  PlacementSourcesProbe p;
  probe_trace_source(root, TraceTransport::kTracefs, p);
  probe_trace_source(root, TraceTransport::kBpf, p);
  probe_memcg_source(root, p);
  return p;
}

nlohmann::json to_json(const PlacementSourcesProbe& p) {
  return {
      {"trace", {{"usable", p.trace_usable}, {"detail", p.trace}}},
      {"trace_bpf", {{"usable", p.trace_bpf_usable}, {"detail", p.trace_bpf}}},
      {"cgroup", {{"usable", p.memcg_usable}, {"version", p.memcg_version}, {"detail", p.memcg}}}};
}

}  // namespace memplace
