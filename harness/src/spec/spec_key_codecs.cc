// SPDX-License-Identifier: GPL-2.0-only
// The [matrix] axes' and [run] settings' own readers and writers (KeyCodec, spec_keys.h): one
// item of text in, its TOML literal out. The table that names them is spec_keys.cc; the
// validators they call are the ones every path shares (spec_ranges.h, spec.h).
#include "spec/spec_key_codecs.h"

#include <charconv>
#include <cstdlib>
#include <type_traits>

#include "base/nodelist.h"
#include "spec/spec.h"
#include "spec/spec_keys.h"
#include "spec/spec_ranges.h"

namespace memplace {
namespace {

template <class T, class Fn>
std::string toml_array(const std::vector<T>& items, Fn&& fn) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + fn(items[i]);
  return out + "]";
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

Result<int64_t> whole_number(std::string_view item, const std::string& field) {
  const std::string s(item);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size())
    return bad_input_error(field + ": expected an integer, got '" + s + "'");
  return v;
}

// Appends `parse(item, field)` to `axis`; a parser that reads node lists also gets the nodes
// numactl's symbolic lists range over.
template <class T, class Parse>
Status push(std::vector<T>& axis, Parse&& parse, std::string_view item, const std::string& field,
            const Spec& spec) {
  auto value = [&] {
    if constexpr (std::is_invocable_v<Parse, std::string, std::string, std::vector<int>>)
      return parse(std::string(item), field, spec.node_universe);
    else
      return parse(std::string(item), field);
  }();
  if (!value) return value.error();
  axis.push_back(*value);
  return {};
}

Result<uint64_t> positive_size(const std::string& item, const std::string& field) {
  auto v = parse_size(item);
  if (!v) return v.error().prefixed(field + ": ");
  if (*v == 0) return make_error(field + ": size must be positive, got '" + item + "'");
  return v;
}

Result<std::optional<int>> cpu_node_item(const std::string& item, const std::string& field) {
  if (item == "any") return std::optional<int>();
  auto i = whole_number(item, field);
  if (!i) return make_error(field + ": expected a node id or \"any\", got '" + item + "'");
  if (*i < 0 || *i > 4095)
    return make_error(field + ": must be 0..4095, got " + std::to_string(*i));
  return std::optional<int>(static_cast<int>(*i));
}

// A parser that does not name its field, made to (as every spec error does).
template <class T>
auto naming_field(Result<T> (*parse)(std::string_view)) {
  return [parse](const std::string& item, const std::string& field) -> Result<T> {
    auto value = parse(item);
    if (!value) return value.error().prefixed(field + ": ");
    return value;
  };
}

Result<ToucherKind> toucher_of(std::string_view name) {
  return parse_toucher(std::string(name));
}

}  // namespace

#define MEMPLACE_AXIS(var, member, items, type_text, expected_text, example, parse, render_item) \
  const KeyCodec var = {KeyCodec::Items::items,                                                  \
                        true,                                                                    \
                        [](Spec& s) { s.member.clear(); },                                       \
                        [](std::string_view item, const std::string& field, Spec& s) -> Status { \
                          return push(s.member, parse, item, field, s);                          \
                        },                                                                       \
                        [](const Spec& s) { return toml_array(s.member, render_item); },         \
                        type_text,                                                               \
                        expected_text,                                                           \
                        example}

MEMPLACE_AXIS(kPolicyCodec, policies, kText, "list of policies: default, local, bind:NODES, ...",
              "a string", "[\"bind:1\", \"interleave:0-1\"]", parse_policy_entry,
              [](const PolicyEntry& p) {
                return toml_quoted(policy_name(p.mode) +
                                   (p.nodes ? ":" + format_id_list(*p.nodes) : ""));
              });
MEMPLACE_AXIS(
    kNodeListsCodec, node_lists, kTextOrInteger, "list of node lists (numactl syntax)",
    "a node list such as \"0-1\" or \"0,2\"", "[\"0-1\", \"0,2\"]",
    [](const std::string& item, const std::string& field,
       const std::vector<int>& allowed) -> Result<std::vector<int>> {
      auto ids = parse_node_list(item, allowed);
      if (!ids) return ids.error().prefixed(field + ": ");
      return ids;
    },
    [](const std::vector<int>& n) { return toml_quoted(format_id_list(n)); });
MEMPLACE_AXIS(kBackingCodec, backings, kText, "list of backings", "a string",
              "[\"anon\", \"guest_memfd\"]", parse_backing,
              [](BackingKind k) { return toml_quoted(backing_name(k)); });
MEMPLACE_AXIS(kToucherCodec, touchers, kText, "list of touchers", "a string",
              "[\"host\", \"vcpu\"]", naming_field(toucher_of),
              [](ToucherKind t) { return toml_quoted(toucher_name(t)); });
MEMPLACE_AXIS(kSizeCodec, sizes, kTextOrInteger, "list of sizes (\"64MiB\")", "a size",
              "[\"4MiB\", \"1GiB\"]", positive_size,
              [](uint64_t b) { return toml_quoted(format_size(b)); });
MEMPLACE_AXIS(
    kThreadsCodec, threads, kInteger, "list of integers 1..1024", "an integer", "[1, 4]",
    [](const std::string& item, const std::string& field) -> Result<int> {
      auto i = whole_number(item, field);
      if (!i) return i.error();
      return check_threads(*i, field);
    },
    [](int t) { return std::to_string(t); });
MEMPLACE_AXIS(kCpuNodeCodec, cpu_nodes, kTextOrInteger, "list of node ids, or \"any\"",
              "a node id or \"any\"", "[0, \"any\"]", cpu_node_item,
              [](const std::optional<int>& n) {
                return n ? std::to_string(*n) : std::string("\"any\"");
              });
MEMPLACE_AXIS(kChannelCodec, channels, kText, "list of: mbind, task", "a string",
              "[\"mbind\", \"task\"]", naming_field(parse_policy_channel),
              [](PolicyChannel c) { return toml_quoted(policy_channel_name(c)); });
#undef MEMPLACE_AXIS

// One value: `parse(item, field)` checks it and `assign(spec, value)` stores it.
#define MEMPLACE_SETTING(var, items, type_text, expected_text, example, parse, store, render) \
  const KeyCodec var = {KeyCodec::Items::items,                                               \
                        false,                                                                \
                        nullptr,                                                              \
                        [](std::string_view item, const std::string& field, Spec& s) {        \
                          auto value = parse(std::string(item), field);                       \
                          if (!value) return Status(value.error());                           \
                          store(s, *value);                                                   \
                          return Status{};                                                    \
                        },                                                                    \
                        render,                                                               \
                        type_text,                                                            \
                        expected_text,                                                        \
                        example}

MEMPLACE_SETTING(
    kToleranceCodec, kNumber, "number in (0, 1)", "a number", "0.125",
    [](const std::string& item, const std::string& field) -> Result<double> {
      char* end = nullptr;
      const double v = std::strtod(item.c_str(), &end);
      if (item.empty() || *end != '\0') return make_error(field + ": must be a number in (0, 1)");
      return check_tolerance(v, field);
    },
    [](Spec& s, double v) { s.tolerance = v; },
    [](const Spec& s) { return toml_float(s.tolerance); });
MEMPLACE_SETTING(
    kPopulateCodec, kText, "auto, or a populate method", "a string", "\"memset\"",
    check_populate_name, [](Spec& s, const std::string& v) { s.populate_method = v; },
    [](const Spec& s) { return toml_quoted(s.populate_method); });
MEMPLACE_SETTING(
    kThpCodec, kTextOrFlag, "auto, on, off (true = on)", "\"auto\", \"on\", \"off\", true or false",
    "\"off\"",
    [](const std::string& item, const std::string& field) -> Result<ThpMode> {
      auto mode = parse_thp_mode(item == "true" ? "on" : item == "false" ? "off" : item);
      if (!mode) return mode.error().prefixed(field + ": ");
      return mode;
    },
    [](Spec& s, ThpMode m) { s.thp = m; },
    [](const Spec& s) { return toml_quoted(thp_mode_name(s.thp)); });
MEMPLACE_SETTING(
    kLocalityCodec, kText, "none, triad, chase", "a string", "\"triad\"", check_locality_name,
    [](Spec& s, const std::string& v) { s.locality = v; },
    [](const Spec& s) { return toml_quoted(s.locality); });
MEMPLACE_SETTING(
    kToucherTimeoutCodec, kTextOrInteger, "seconds 1..604800, or \"auto\"",
    "whole seconds or \"auto\"", "30", parse_toucher_timeout,
    [](Spec& s, std::optional<int> v) { s.toucher_timeout_s = v; },
    [](const Spec& s) {
      return s.toucher_timeout_s ? std::to_string(*s.toucher_timeout_s) : std::string();
    });
MEMPLACE_SETTING(
    kShardCodec, kText, "\"K/N\"", "a string", "\"1/2\"", parse_shard,
    [](Spec& s, const Shard& v) { s.shard = v; },
    [](const Spec& s) { return s.shard ? toml_quoted(shard_text(*s.shard)) : std::string(); });
MEMPLACE_SETTING(
    kTraceTransportCodec, kText, "auto, bpf, tracefs", "a string", "\"tracefs\"",
    parse_trace_transport, [](Spec& s, TraceTransport t) { s.trace_transport = t; },
    [](const Spec& s) { return toml_quoted(trace_transport_name(s.trace_transport)); });

#undef MEMPLACE_SETTING

// "none" alone means no source beyond move_pages and meminfo, and renders so: an empty TOML
// list would not read back.
const KeyCodec kPlacementSourcesCodec = {
    KeyCodec::Items::kText,
    true,
    [](Spec& s) { s.placement_sources.clear(); },
    [](std::string_view item, const std::string& field, Spec& s) -> Status {
      if (item == "none") return {};
      return push(
          s.placement_sources,
          [](const std::string& name, const std::string& f) -> Result<std::string> {
            if (auto c = check_placement_source_name(name, f); !c) return c.error();
            return name;
          },
          item, field, s);
    },
    [](const Spec& s) {
      if (s.placement_sources.empty()) return std::string("[\"none\"]");
      return toml_array(s.placement_sources, [](const std::string& n) { return toml_quoted(n); });
    },
    "list of: trace, cgroup; or none",
    "a string",
    "[\"cgroup\"]"};

}  // namespace memplace
