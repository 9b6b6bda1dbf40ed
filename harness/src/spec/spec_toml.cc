// Spec -> TOML. The results dir keeps the *effective* spec (file plus CLI overrides), so that
// --resume and the testbed's in-guest run see exactly the cells the user asked for.
#include <charconv>
#include <cstdio>
#include <sstream>

#include "base/nodelist.h"
#include "spec/spec.h"
#include "spec/spec_keys.h"

namespace memplace {
namespace {

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
  o << "backing = "
    << array(spec.backings, [](BackingKind k) { return toml_quoted(backing_name(k)); }) << "\n";
  o << "toucher = "
    << array(spec.touchers, [](ToucherKind t) { return toml_quoted(toucher_name(t)); }) << "\n";
  o << "size = " << array(spec.sizes, [](uint64_t b) { return toml_quoted(format_size(b)); })
    << "\n";
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
  if (spec.populate_method != "auto")
    o << "populate = " << toml_quoted(spec.populate_method) << "\n";
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

// A settings table (spec_keys.cc): each key in the table's order, when it holds a value.
void render_section(std::ostringstream& o, std::string_view section, const Spec& spec) {
  std::string body;
  for (const SpecKey* key : spec_keys_of(section))
    if (key_is_set(*key, spec))
      body += std::string(key->name) + " = " + render_key_value(*key, spec) + "\n";
  if (!body.empty()) o << "\n[" << section << "]\n" << body;
}

}  // namespace

std::string render_spec_toml(const Spec& spec, bool with_testbed) {
  std::ostringstream o;
  o << "spec_version = " << kSpecVersion << "\n";
  o << "name = " << toml_quoted(spec.name) << "\n";
  if (!spec.description.empty()) o << "description = " << toml_quoted(spec.description) << "\n";
  render_matrix(o, spec);
  render_run(o, spec, with_testbed);
  if (with_testbed && spec.testbed) render_section(o, "testbed", spec);
  render_section(o, "qemu", spec);
  return o.str();
}

}  // namespace memplace
