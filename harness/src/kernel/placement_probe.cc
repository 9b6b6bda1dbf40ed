#include "kernel/placement_probe.h"

#include "kernel/memcg.h"
#include "kernel/page_trace.h"

namespace memplace {

PlacementSourcesProbe probe_placement_sources(const std::string& root) {
  PlacementSourcesProbe p;
  PageTraceOptions o;
  o.root = root;
  o.expected_bytes = 1ull << 20;
  o.buffer_kib = 64;
  auto trace = make_trace_source(o);
  if (auto s = trace->start(); s) {
    p.trace_usable = true;
    p.trace = "usable (kmem:mm_page_alloc and mm_page_free in a tracefs instance)";
  } else {
    p.trace = "unsupported: " + s.error().message;
  }
  (void)trace->stop();

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
  return p;
}

nlohmann::json to_json(const PlacementSourcesProbe& p) {
  return {{"trace", {{"usable", p.trace_usable}, {"detail", p.trace}}},
          {"cgroup",
           {{"usable", p.memcg_usable}, {"version", p.memcg_version}, {"detail", p.memcg}}}};
}

}  // namespace memplace
