// SPDX-License-Identifier: GPL-2.0-only
// Spec loading: TOML in, validated plain data out. Every error names the field it is about,
// because a user staring at "invalid spec" in a 40-cell matrix has nothing to go on.
#include "spec/spec.h"

#include <toml++/toml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "base/bounded_read.h"
#include "base/nodelist.h"
#include "base/text.h"
#include "host/populate.h"
#include "spec/spec_keys.h"
#include "spec/spec_ranges.h"

namespace memplace {
namespace {

constexpr uint64_t kKiB = 1024;

struct Unit {
  const char* suffix;
  uint64_t factor;
};
// Longest suffixes first so "MiB" is not read as "M" + "iB". KB, MB, GB and TB are refused (they
// read as decimal units to some and binary to others); K, M, G, T are binary, as numactl's are.
constexpr Unit kUnits[] = {
    {"KiB", kKiB}, {"MiB", kKiB* kKiB}, {"GiB", kKiB* kKiB* kKiB}, {"TiB", kKiB* kKiB* kKiB* kKiB},
    {"K", kKiB},   {"M", kKiB* kKiB},   {"G", kKiB* kKiB* kKiB},   {"T", kKiB* kKiB* kKiB* kKiB},
    {"k", kKiB},   {"m", kKiB* kKiB},   {"g", kKiB* kKiB* kKiB},   {"B", 1},
};

// Accepts a scalar or an array for every axis, so `backing = "anon"` reads as ["anon"].
template <class Fn>
Status for_each_item(const toml::node& node, const std::string& field, Fn&& fn) {
  if (const auto* arr = node.as_array()) {
    if (arr->empty()) return make_error(field + ": must not be empty");
    for (size_t i = 0; i < arr->size(); ++i) {
      Status s = fn((*arr)[i], field + "[" + std::to_string(i) + "]");
      if (!s) return s;
    }
    return {};
  }
  return fn(node, field);
}

Result<std::string> as_string(const toml::node& n, const std::string& field) {
  if (auto v = n.value<std::string>()) return *v;
  return make_error(field + ": expected a string");
}

Result<int64_t> as_int(const toml::node& n, const std::string& field) {
  if (n.is_integer()) return *n.value<int64_t>();
  return make_error(field + ": expected an integer");
}

// An integer that must fit [lo, hi] (and so an int): TOML integers are 64-bit, and a value cast
// down unchecked would come back different when the spec is rendered into a results dir.
Result<int> as_int_in(const toml::node& n, const std::string& field, int lo, int hi) {
  auto i = as_int(n, field);
  if (!i) return i.error();
  if (*i < lo || *i > hi) {
    return make_error(field + ": must be " + std::to_string(lo) + ".." + std::to_string(hi) +
                      ", got " + std::to_string(*i));
  }
  return static_cast<int>(*i);
}

Result<std::vector<int>> node_list(const toml::node& n, const std::string& field) {
  std::string text;
  if (n.is_integer()) {
    text = std::to_string(*n.value<int64_t>());
  } else if (auto s = n.value<std::string>()) {
    text = *s;
  } else {
    return make_error(field + ": expected a node list such as \"0-1\" or \"0,2\"");
  }
  auto ids = parse_id_list(text);
  if (!ids) return ids.error().prefixed(field + ": ");
  return ids;
}

Result<uint64_t> size_value(const toml::node& n, const std::string& field) {
  if (n.is_integer()) {
    int64_t v = *n.value<int64_t>();
    if (v <= 0) return make_error(field + ": size must be positive, got " + std::to_string(v));
    return static_cast<uint64_t>(v);
  }
  auto s = as_string(n, field);
  if (!s) return s.error();
  auto v = parse_size(*s);
  if (!v) return v.error().prefixed(field + ": ");
  if (*v == 0) return make_error(field + ": size must be positive, got '" + *s + "'");
  return v;
}

}  // namespace

Result<PolicyEntry> parse_policy_entry(const std::string& text, const std::string& field,
                                       const std::vector<int>& allowed) {
  PolicyEntry e;
  std::string name = text;
  size_t colon = text.find(':');
  if (colon != std::string::npos) name = text.substr(0, colon);
  auto mode = parse_policy(trim(name));
  if (!mode) return mode.error().prefixed(field + ": ");
  e.mode = *mode;
  if (colon != std::string::npos) {
    if (!policy_takes_nodes(e.mode))
      return make_error(field + ": policy " + policy_name(e.mode) + " takes no nodes");
    auto ids = parse_node_list(text.substr(colon + 1), allowed);
    if (!ids) return ids.error().prefixed(field + ": ");
    e.nodes = *ids;
  }
  return e;
}

Result<BackingKind> parse_backing(const std::string& name, const std::string& field) {
  for (auto k : {BackingKind::kAnon, BackingKind::kShmem, BackingKind::kGuestMemfd,
                 BackingKind::kGuestMemfdPrivate})
    if (backing_name(k) == name) return k;
  return make_error(field + ": unknown backing '" + name +
                    "' (known: anon, shmem, guest_memfd, guest_memfd_private)");
}

Status check_placement_source_name(const std::string& name, const std::string& field) {
  if (name == "trace" || name == "cgroup") return {};
  return make_error(field + ": unknown placement source '" + name + "' (trace, cgroup)");
}

namespace {

Result<std::optional<int>> toucher_timeout_in_range(int64_t seconds, const std::string& field) {
  if (seconds < 1 || seconds > kMaxToucherTimeoutSeconds)
    return make_error(field + ": must be 1.." + std::to_string(kMaxToucherTimeoutSeconds) +
                      " seconds or \"auto\", got " + std::to_string(seconds));
  return std::optional<int>(static_cast<int>(seconds));
}

}  // namespace

Result<std::optional<int>> parse_toucher_timeout(const std::string& text,
                                                 const std::string& field) {
  if (text == "auto") return std::optional<int>();
  const std::string digits = text.size() > 1 && text[0] == '-' ? text.substr(1) : text;
  if (digits.empty() || digits.size() > 12 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return make_error(field + ": expected whole seconds or \"auto\", got '" + text + "'");
  return toucher_timeout_in_range(std::stoll(text), field);
}

namespace {

Status check_keys(const toml::table& t, const std::string& where,
                  std::initializer_list<const char*> known) {
  for (const auto& [key, _] : t) {
    bool ok = false;
    for (const char* k : known) ok |= key.str() == k;
    if (!ok) {
      std::string list;
      for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
      return make_error(where + std::string(where.empty() ? "" : ".") + std::string(key.str()) +
                        ": unknown key (known here: " + list + ")");
    }
  }
  return {};
}

// Reads the string at `key` of `t` into `out` when it is there; `field` names it in errors.
Status read_string(const toml::table& t, const char* key, const std::string& field,
                   std::string& out) {
  const auto* n = t.get(key);
  if (!n) return {};
  return assign(out, as_string(*n, field));
}

// One TOML value into its key, by the kind the table gives it; errors name `field`.
Status read_list_key(const SpecKey& key, const toml::node& n, const std::string& field,
                     FieldRef ref) {
  if (auto* texts = std::get_if<std::vector<std::string>*>(&ref)) {
    (*texts)->clear();
    return for_each_item(n, field, [&](const toml::node& v, const std::string& f) -> Status {
      auto str = as_string(v, f);
      if (!str) return str.error();
      if (str->empty()) return make_error(f + ": must not be empty");
      (*texts)->push_back(*str);
      return {};
    });
  }
  auto ints = [&](const toml::node& v, const std::string& f, std::vector<int>& out) -> Status {
    const auto* arr = v.as_array();
    if (!arr) return make_error(f + ": expected a list of integers");
    out.clear();
    for (const auto& item : *arr) {
      auto i = as_int_in(item, f, static_cast<int>(key.min), static_cast<int>(key.max));
      if (!i) return i.error();
      out.push_back(*i);
    }
    return {};
  };
  if (auto* ids = std::get_if<std::vector<int>*>(&ref)) {
    if (n.is_array()) return ints(n, field, **ids);
    auto list = node_list(n, field);  // "1-2" as well as [1, 2]
    if (!list) return list.error();
    for (int id : *list)
      if (auto s = check_key_int(key, id, field); !s) return s;
    **ids = *list;
    return {};
  }
  auto* rows = std::get_if<std::vector<std::vector<int>>*>(&ref);
  const auto* arr = n.as_array();
  if (!rows || !arr) return make_error(field + ": expected an array of arrays");
  (*rows)->clear();
  for (const auto& row : *arr) {
    (*rows)->emplace_back();
    if (auto s = ints(row, field, (*rows)->back()); !s)
      return row.is_array() ? s : make_error(field + ": expected an array of arrays");
  }
  return {};
}

// One TOML item as the text a codec reads, if its type is one the codec takes.
std::optional<std::string> item_text(KeyCodec::Items items, const toml::node& v) {
  using I = KeyCodec::Items;
  if (const auto* str = v.as_string(); str && items != I::kInteger && items != I::kNumber)
    return str->get();
  if (const auto* i = v.as_integer(); i && items != I::kText && items != I::kTextOrFlag)
    return std::to_string(i->get());
  if (const auto* b = v.as_boolean(); b && items == I::kTextOrFlag)
    return std::string(b->get() ? "true" : "false");
  if (const auto* f = v.as_floating_point(); f && items == I::kNumber) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f->get());
    return std::string(buf, ec == std::errc() ? end : buf);
  }
  return std::nullopt;
}

// A codec's key: a list key takes one item or an array of them, any other exactly one item.
Status read_coded_key(const SpecKey& key, const toml::node& n, const std::string& field,
                      Spec& spec) {
  const KeyCodec& codec = *key.codec;
  auto add = [&](const toml::node& v, const std::string& f) -> Status {
    auto text = item_text(codec.items, v);
    if (!text) return make_error(f + ": expected " + std::string(codec.expected));
    return codec.add(*text, f, spec);
  };
  if (!codec.list) return add(n, field);
  codec.clear(spec);
  return for_each_item(n, field, add);
}

Status read_key(const SpecKey& key, const toml::node& n, const std::string& field, Spec& spec) {
  switch (key.kind) {
    case KeyKind::kCustom:
      return read_coded_key(key, n, field, spec);
    case KeyKind::kText:
    case KeyKind::kChoice: {
      auto str = as_string(n, field);
      if (!str) return str.error();
      return set_key_from_text(key, *str, field, spec);
    }
    case KeyKind::kFlag: {
      // as_boolean, not value<bool>: that would also take the integer 1.
      const auto* b = n.as_boolean();
      if (!b) return make_error(field + ": expected true or false");
      return set_key_from_text(key, b->get() ? "1" : "0", field, spec);
    }
    case KeyKind::kInt: {
      auto i = as_int(n, field);
      if (!i) return i.error();
      return set_key_from_text(key, std::to_string(*i), field, spec);
    }
    case KeyKind::kSize: {
      auto bytes = size_value(n, field);
      if (!bytes) return bytes.error();
      return set_key_from_text(key, format_size(*bytes), field, spec);
    }
    default:
      return read_list_key(key, n, field, key.field(spec));
  }
}

// Every key of one table, each by the spec-key table; a key's old name reads with a warning.
Status read_section(const toml::table& t, std::string_view section, Spec& spec) {
  std::set<const SpecKey*> seen;
  for (const auto& [k, node] : t) {
    const std::string name(k.str()), field = std::string(section) + "." + name;
    const SpecKey* key = find_spec_key(section, name);
    if (!key) {
      std::string known;
      for (const SpecKey* each : spec_keys_of(section))
        known += (known.empty() ? "" : ", ") + std::string(each->name);
      return make_error(field + ": unknown key (known here: " + known + ")");
    }
    const std::string canonical = std::string(section) + "." + std::string(key->name);
    if (!seen.insert(key).second)
      return make_error(field + ": given twice, as " + canonical + " and by its old name");
    if (key->name != name)
      spec.warnings.push_back(field + " is spec_version 1's name for " + canonical +
                              "; read as that");
    if (auto s = read_key(*key, node, field, spec); !s) return s;
  }
  return {};
}

// [testbed]'s rules across keys: nodes named below the node count, a square distance matrix.
Status check_testbed_keys(const TestbedSpec& tb) {
  for (int id : tb.memory_only_nodes)
    if (id >= tb.nodes)
      return make_error("testbed.memory_only_nodes: node " + std::to_string(id) +
                        " is not below testbed.node_count");
  // QEMU needs a CPU somewhere: with every node memory-only it would get -smp 0.
  const std::set<int> memory_only(tb.memory_only_nodes.begin(), tb.memory_only_nodes.end());
  if (memory_only.size() >= static_cast<size_t>(tb.nodes))
    return make_error("testbed.memory_only_nodes: at least one node needs CPUs");
  if (tb.distances.empty()) return {};
  if (tb.distances.size() != static_cast<size_t>(tb.nodes))
    return make_error("testbed.distances: need " + std::to_string(tb.nodes) + " rows");
  for (const auto& r : tb.distances)
    if (r.size() != static_cast<size_t>(tb.nodes))
      return make_error("testbed.distances: every row needs " + std::to_string(tb.nodes) +
                        " entries");
  return {};
}

Status parse_testbed(const toml::table& t, Spec& spec) {
  spec.testbed.emplace();
  return read_section(t, "testbed", spec);  // check_spec checks the keys together
}

Status parse_qemu_table(const toml::table& t, Spec& spec) {
  if (auto s = read_section(t, "qemu", spec); !s) return s;
  return check_qemu_spec(spec.qemu);
}

}  // namespace

Status check_qemu_spec(const QemuSpec& q) {
  // Each key's type and range is the table's (spec_keys.cc), checked as it is read. The init
  // that switch_root execs is looked up from the image's root, not from a PATH.
  if (q.disk_agent && (*q.disk_agent)[0] != '/')
    return make_error("qemu.disk_agent: must be an absolute path inside the image, got '" +
                      *q.disk_agent + "'");
  return {};
}

Result<ToucherKind> parse_toucher(const std::string& name) {
  if (auto kind = toucher_from_name(name)) return *kind;
  return make_error("unknown toucher '" + name + "' (known: host, vcpu, qemu)");
}

Result<uint64_t> parse_size(std::string_view text) {
  std::string s(trim(text));
  if (s.empty()) return make_error("empty size");
  if (s[0] == '-') return make_error("size must be positive, got '" + s + "'");
  size_t digits = 0;
  while (digits < s.size() &&
         (std::isdigit(static_cast<unsigned char>(s[digits])) || s[digits] == '.'))
    ++digits;
  if (digits == 0) return make_error("size '" + s + "' does not start with a number");
  std::string number = s.substr(0, digits);
  std::string unit(trim(std::string_view(s).substr(digits)));
  uint64_t factor = 1;
  if (!unit.empty()) {
    bool found = false;
    for (const auto& u : kUnits) {
      if (unit == u.suffix) {
        factor = u.factor;
        found = true;
        break;
      }
    }
    if (!found && unit.size() == 2 && unit[1] == 'B' && std::strchr("KMGT", unit[0]))
      return bad_input_error("size '" + s + "': " + unit + " is ambiguous (decimal or binary?); " +
                             "write " + unit.substr(0, 1) + "iB");
    if (!found)
      return make_error("size '" + s + "' has an unknown unit '" + unit +
                        "' (use B, KiB, MiB, GiB, TiB)");
  }
  char* end = nullptr;
  double v = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(v))
    return make_error("size '" + s + "' is not a number");
  double bytes = v * static_cast<double>(factor);
  if (bytes >= 18e18) return make_error("size '" + s + "' is too large");
  if (bytes != std::floor(bytes))
    return make_error("size '" + s + "' is not a whole number of bytes");
  return static_cast<uint64_t>(bytes);
}

std::string format_size(uint64_t bytes) {
  const char* units[] = {"TiB", "GiB", "MiB", "KiB"};
  uint64_t factors[] = {kKiB * kKiB * kKiB * kKiB, kKiB * kKiB * kKiB, kKiB * kKiB, kKiB};
  for (int i = 0; i < 4; ++i)
    if (bytes >= factors[i] && bytes % factors[i] == 0)
      return std::to_string(bytes / factors[i]) + units[i];
  return std::to_string(bytes) + "B";
}

Result<Spec> parse_spec(std::string_view toml_text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return make_error(msg.str());
  }
  Spec spec = default_spec();
  spec.source_text = std::string(toml_text);
  if (auto s = check_keys(
          root, "", {"spec_version", "name", "description", "matrix", "run", "testbed", "qemu"});
      !s)
    return s.error();
  if (const auto* n = root.get("spec_version")) {
    auto v = as_int_in(*n, "spec_version", 1, 1 << 20);
    if (!v) return v.error();
    if (*v > kSpecVersion)
      return make_error("spec_version " + std::to_string(*v) +
                        " is newer than this memplace reads (" + std::to_string(kSpecVersion) +
                        ")");
  }
  if (auto s = read_string(root, "name", "name", spec.name); !s) return s.error();
  if (auto s = read_string(root, "description", "description", spec.description); !s)
    return s.error();
  for (const char* section : {"matrix", "run"}) {
    const auto* n = root.get(section);
    if (!n) continue;
    if (!n->is_table()) return make_error(std::string(section) + ": expected a table");
    if (auto s = read_section(*n->as_table(), section, spec); !s) return s.error();
  }
  if (const auto* n = root.get("testbed")) {
    if (!n->is_table()) return make_error("testbed: expected a table");
    if (auto s = parse_testbed(*n->as_table(), spec); !s) return s.error();
  }
  if (const auto* n = root.get("qemu")) {
    if (!n->is_table()) return make_error("qemu: expected a table");
    if (auto s = parse_qemu_table(*n->as_table(), spec); !s) return s.error();
  }
  if (auto s = check_spec(spec); !s) return s.error();
  return spec;
}

Result<Spec> load_spec(const std::string& path, bool in_results_dir) {
  auto text = read_file_bounded(path, kMaxSpecBytes, /*follow_symlink=*/!in_results_dir);
  if (!text) return text.error().prefixed("cannot read spec: ");
  return parse_spec(*text, path);
}

Spec default_spec() {
  Spec spec;
  spec.policies = {PolicyEntry{}};
  spec.backings = {BackingKind::kAnon};
  spec.touchers = {ToucherKind::kHost};
  spec.sizes = {64ull << 20};
  spec.threads = {1};
  spec.cpu_nodes = {std::nullopt};
  return spec;
}

Status check_spec(const Spec& spec) {
  if (spec.testbed)
    if (auto s = check_testbed_keys(*spec.testbed); !s) return s;
  if (auto s = check_matrix_size(spec); !s) return s;
  for (size_t i = 0; i < spec.policies.size(); ++i) {
    const auto& p = spec.policies[i];
    if (policy_takes_nodes(p.mode) && !p.nodes && spec.node_lists.empty())
      return make_error("matrix.policy[" + std::to_string(i) + "]: policy " + policy_name(p.mode) +
                        " needs nodes: write \"" + policy_name(p.mode) +
                        ":0-1\" or set matrix.nodes");
  }
  return {};
}

std::vector<Cell> expand(const Spec& spec) {
  std::vector<Cell> cells;
  std::set<std::string> seen;  // default/local ignore the nodes axis; don't repeat them per list
  for (const auto& p : spec.policies) {
    std::vector<std::vector<int>> lists;
    if (!policy_takes_nodes(p.mode))
      lists = {{}};
    else if (p.nodes)
      lists = {*p.nodes};
    else
      lists = spec.node_lists;
    for (const auto& nodes : lists)
      for (auto backing : spec.backings)
        for (ToucherKind toucher : spec.touchers)
          for (auto size : spec.sizes)
            for (int threads : spec.threads)
              for (const auto& cpu_node : spec.cpu_nodes)
                for (auto channel : spec.channels) {
                  Cell c;
                  c.channel = channel;
                  c.policy = p.mode;
                  c.nodes = nodes;
                  c.backing = backing;
                  c.toucher = toucher;
                  c.size_bytes = size;
                  c.threads = threads;
                  c.cpu_node = cpu_node;
                  if (!seen.insert(cell_key(c)).second) continue;
                  for (int r = 0; r < spec.repeats; ++r) {
                    c.repeat = r;
                    cells.push_back(c);
                  }
                }
  }
  return cells;
}

}  // namespace memplace
