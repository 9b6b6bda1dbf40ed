// SPDX-License-Identifier: GPL-2.0-only
// `memplace run`'s spec-key flags: made from the spec-key table (spec/spec_keys.cc), so a key
// with a flag needs nothing here, and a flag's value is checked by the key's own reader.
#include <cstdio>

#include "base/text.h"
#include "cli/commands_internal.h"
#include "host/sysfs.h"
#include "memplace/commands.h"
#include "spec/spec.h"
#include "spec/spec_keys.h"

namespace memplace {
namespace {

std::string flag_help(const SpecKey& key) {
  std::string help = std::string(key.help) + " [default: " + std::string(key.default_text) + "]";
  if (key.kind == KeyKind::kNodeIds) return help + "; a node list in numactl syntax (0-1,3)";
  if (!key_is_list(key)) return help;
  if (key.split == FlagSplit::kWhole)
    return help + "; one numactl node list per flag, repeat the flag for several";
  return help + "; comma-separated, repeatable";
}

}  // namespace

std::vector<KeyFlag> run_key_flags() {
  std::vector<KeyFlag> flags;
  for (const SpecKey& key : spec_keys()) {
    if (key.flag.empty()) continue;
    flags.push_back({std::string(key.flag), flag_help(key), key_is_list(key), false});
    if (!key.old_flag.empty())
      flags.push_back({std::string(key.old_flag), "The old name of " + std::string(key.flag),
                       key_is_list(key), true});
  }
  return flags;
}

namespace {

// One key's flag, and its old spelling, into `spec`; a key no flag names is left alone.
Status apply_key_flag(const RunArgs& a, const SpecKey& key, Spec& spec) {
  std::vector<std::string> items;
  std::string given;
  for (const std::string& flag : {std::string(key.flag), std::string(key.old_flag)}) {
    auto it = flag.empty() ? a.key_flags.end() : a.key_flags.find(flag);
    if (it == a.key_flags.end() || it->second.empty()) continue;
    if (flag != key.flag)
      std::fprintf(stderr, "memplace: warning: %s is the old name of %s; read as that\n",
                   flag.c_str(), std::string(key.flag).c_str());
    for (const auto& value : it->second)
      for (auto& item : split_flag_value(key, value)) items.push_back(std::move(item));
    given = flag;
  }
  if (items.empty()) return {};
  return set_key_from_items(key, items, given, spec);
}

// The nodes numactl's "all", "!" and "+" range over: the testbed guest's, else this host's.
std::vector<int> node_universe(const RunArgs& a, const Spec& spec) {
  std::vector<int> nodes;
  if (a.testbed || spec.testbed) {
    for (int n = 0; n < (spec.testbed ? spec.testbed->nodes : TestbedSpec{}.nodes); ++n)
      nodes.push_back(n);
    return nodes;
  }
  auto host = list_nodes(a.sysfs_root);
  return host ? *host : nodes;
}

}  // namespace

Status apply_key_flags(const RunArgs& a, Spec& spec) {
  // The testbed's shape first: a node list's "all" means the guest's nodes.
  for (const SpecKey* key : spec_keys_of("testbed"))
    if (auto s = apply_key_flag(a, *key, spec); !s) return s;
  spec.node_universe = node_universe(a, spec);
  for (const SpecKey& key : spec_keys())
    if (key.section != "testbed")
      if (auto s = apply_key_flag(a, key, spec); !s) return s;
  if (a.thp && a.no_thp) return bad_input_error("--thp and --no-thp contradict each other");
  if (a.thp || a.no_thp) {
    const SpecKey* thp = find_spec_key("run", "thp");
    if (auto s = set_key_from_text(*thp, a.thp ? "on" : "off", a.thp ? "--thp" : "--no-thp", spec);
        !s)
      return s;
  }
  return check_spec(spec);
}

}  // namespace memplace
