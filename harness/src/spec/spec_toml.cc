// Spec -> TOML. The results dir keeps the *effective* spec (file plus CLI overrides), so that
// --resume and the testbed's in-guest run see exactly the cells the user asked for.
#include <charconv>
#include <cstdio>
#include <sstream>

#include "base/nodelist.h"
#include "spec/spec.h"

namespace memplace {
namespace {

// A TOML basic string: quotes, backslashes and every control character escaped, so any text a
// user put in a name or description reads back unchanged.
std::string toml_quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// The shortest text that reads back as the same double: a resumed run must judge with exactly
// the tolerance the first run used (6 significant digits turned 0.0123456789 into 0.0123457).
std::string toml_float(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string out(buf, ec == std::errc() ? end : buf);
  if (out.find_first_of(".eEn") == std::string::npos) out += ".0";  // TOML floats need one
  return out;
}

template <class T, class Fn>
std::string array(const std::vector<T>& items, Fn&& fn) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + fn(items[i]);
  return out + "]";
}

void render_matrix(std::ostringstream& o, const Spec& spec) {
  o << "\n[matrix]\n";
  o << "policy = " << array(spec.policies, [](const PolicyEntry& p) {
    std::string s = policy_name(p.mode);
    if (p.nodes) s += ":" + format_id_list(*p.nodes);
    return toml_quoted(s);
  }) << "\n";
  if (!spec.node_lists.empty())
    o << "nodes = " << array(spec.node_lists, [](const std::vector<int>& n) {
      return toml_quoted(format_id_list(n));
    }) << "\n";
  o << "backing = " << array(spec.backings, [](BackingKind k) { return toml_quoted(backing_name(k)); })
    << "\n";
  o << "toucher = "
    << array(spec.touchers, [](ToucherKind t) { return toml_quoted(toucher_name(t)); }) << "\n";
  o << "size = " << array(spec.sizes, [](uint64_t b) { return toml_quoted(format_size(b)); }) << "\n";
  o << "threads = " << array(spec.threads, [](int t) { return std::to_string(t); }) << "\n";
  o << "cpu_node = " << array(spec.cpu_nodes, [](const std::optional<int>& n) {
    return n ? std::to_string(*n) : std::string("\"any\"");
  }) << "\n";
  if (spec.channels != std::vector<PolicyChannel>{PolicyChannel::kMbind})
    o << "policy_channel = " << array(spec.channels, [](PolicyChannel c) {
      return toml_quoted(policy_channel_name(c));
    }) << "\n";
  o << "repeats = " << spec.repeats << "\n";
}

void render_run(std::ostringstream& o, const Spec& spec, bool with_testbed) {
  o << "\n[run]\nsample_interval_ms = " << spec.sample_interval_ms
    << "\ntolerance = " << toml_float(spec.tolerance) << "\n";
  // Written only when set, so specs that never mention them render as before.
  if (spec.populate_method != "auto") o << "populate = " << toml_quoted(spec.populate_method) << "\n";
  if (spec.thp != ThpMode::kAuto) o << "thp = " << toml_quoted(thp_mode_name(spec.thp)) << "\n";
  if (spec.workload != "none") o << "workload = " << toml_quoted(spec.workload) << "\n";
  if (spec.toucher_timeout_s) o << "toucher_timeout_s = " << *spec.toucher_timeout_s << "\n";
  if (with_testbed && spec.shard) o << "shard = " << toml_quoted(shard_text(*spec.shard)) << "\n";
  if (spec.placement_sources != std::vector<std::string>{"trace", "cgroup"})
    o << "placement_sources = "
      << array(spec.placement_sources, [](const std::string& n) { return toml_quoted(n); }) << "\n";
  if (spec.trace_buffer_kib) o << "trace_buffer_kib = " << spec.trace_buffer_kib << "\n";
  if (spec.trace_transport != TraceTransport::kAuto)
    o << "trace_transport = " << toml_quoted(trace_transport_name(spec.trace_transport)) << "\n";
}

void render_testbed(std::ostringstream& o, const Spec& spec) {
  if (spec.testbed) {
    const TestbedSpec& t = *spec.testbed;
    o << "\n[testbed]\nnodes = " << t.nodes
      << "\nmem_per_node = " << toml_quoted(format_size(t.mem_per_node_bytes))
      << "\ncpus_per_node = " << t.cpus_per_node << "\n";
    if (!t.memory_only_nodes.empty())
      o << "memory_only_nodes = "
        << array(t.memory_only_nodes, [](int n) { return std::to_string(n); }) << "\n";
    if (!t.distances.empty())
      o << "distances = " << array(t.distances, [](const std::vector<int>& row) {
        return array(row, [](int d) { return std::to_string(d); });
      }) << "\n";
    if (!t.kernels.empty())
      o << "kernels = " << array(t.kernels, [](const std::string& k) { return toml_quoted(k); }) << "\n";
    if (!t.modules_dir.empty()) o << "modules = " << toml_quoted(t.modules_dir) << "\n";
    o << "accel = " << toml_quoted(t.accel) << "\nboot_timeout = " << t.boot_timeout_seconds
      << "\ntimeout = " << t.timeout_seconds << "\n";
  }
}

void render_qemu(std::ostringstream& o, const Spec& spec) {
  // Only the fields that are set: an unset one keeps meaning "QEMU toucher default".
  const QemuSpec& q = spec.qemu;
  if (q != QemuSpec{}) {
    o << "\n[qemu]\n";
    auto str = [&](const char* key, const std::optional<std::string>& v) {
      if (v) o << key << " = " << toml_quoted(*v) << "\n";
    };
    auto num = [&](const char* key, const std::optional<int>& v) {
      if (v) o << key << " = " << *v << "\n";
    };
    auto boolean = [&](const char* key, const std::optional<bool>& v) {
      if (v) o << key << " = " << (*v ? "true" : "false") << "\n";
    };
    str("binary", q.binary);
    str("kernel", q.kernel);
    str("disk_image", q.disk_image);
    str("disk_agent", q.disk_agent);
    str("agent", q.agent);
    str("busybox", q.busybox);
    str("accel", q.accel);
    boolean("snp", q.snp);
    str("ovmf", q.ovmf);
    num("cbitpos", q.cbitpos);
    num("reduced_phys_bits", q.reduced_phys_bits);
    boolean("kernel_hashes", q.kernel_hashes);
    num("boot_timeout_s", q.boot_timeout_s);
    num("agent_timeout_s", q.agent_timeout_s);
    num("poweroff_timeout_s", q.poweroff_timeout_s);
    if (q.guest_overhead_bytes)
      o << "guest_overhead = " << toml_quoted(format_size(*q.guest_overhead_bytes)) << "\n";
    str("extra_append", q.extra_append);
  }
}

}  // namespace

std::string render_spec_toml(const Spec& spec, bool with_testbed) {
  std::ostringstream o;
  o << "name = " << toml_quoted(spec.name) << "\n";
  if (!spec.description.empty()) o << "description = " << toml_quoted(spec.description) << "\n";
  render_matrix(o, spec);
  render_run(o, spec, with_testbed);
  if (with_testbed) render_testbed(o, spec);
  render_qemu(o, spec);
  return o.str();
}

}  // namespace memplace
