// SPDX-License-Identifier: GPL-2.0-only
// Whether the placement sources that see unmapped memory can run on this host: the trace source
// through each transport (tracefs and both kmem events, in an instance of memplace's own; BPF
// programs on the raw tracepoints) and the memory-cgroup source
// (which controller, and whether memplace may create a cgroup under its own).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "placement/trace_transport.h"

namespace memplace {

struct PlacementSourcesProbe {
  std::string trace = "unknown";      // tracefs transport: "usable (...)" | "unsupported: why"
  std::string trace_bpf = "unknown";  // BPF transport: "usable (...)" | "unsupported: why"
  std::string memcg = "unknown";      // "usable (cgroup v2 at ...)" | "unsupported: why"
  bool trace_usable = false;
  bool trace_bpf_usable = false;
  bool memcg_usable = false;
  std::string memcg_version;  // "v1" | "v2" | ""
};

// Opens and closes a window of each source (an instance, a child cgroup), so "usable" means
// memplace did it, not that the files exist. `root` other than "" or "/" is a fixture tree:
// nothing is mounted or created outside it.
PlacementSourcesProbe probe_placement_sources(const std::string& root);
// Its parts: one trace transport (tracefs or BPF), and the memory-cgroup source.
void probe_trace_source(const std::string& root, TraceTransport transport,
                        PlacementSourcesProbe& p);
void probe_memcg_source(const std::string& root, PlacementSourcesProbe& p);
nlohmann::json to_json(const PlacementSourcesProbe& p);

}  // namespace memplace
