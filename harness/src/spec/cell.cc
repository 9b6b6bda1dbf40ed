// SPDX-License-Identifier: GPL-2.0-only
#include "spec/cell.h"

#include "base/enum_names.h"
#include "base/nodelist.h"
#include "spec/spec.h"

namespace memplace {

constexpr EnumNames<ToucherKind, 3> kToucherNames{{"host", "vcpu", "qemu"}};

std::string toucher_name(ToucherKind kind) {
  return name_of(kToucherNames, kind, "qemu");
}

std::optional<ToucherKind> toucher_from_name(std::string_view name) {
  return value_named(kToucherNames, name);
}

std::string cell_key(const Cell& cell) {
  std::string policy = policy_name(cell.policy);
  if (!cell.nodes.empty()) policy += ":" + format_id_list(cell.nodes);
  return policy + "/" + backing_name(cell.backing) + "/" + toucher_name(cell.toucher) + "/" +
         format_size(cell.size_bytes) + "/t" + std::to_string(cell.threads) + "/cpu" +
         (cell.cpu_node ? std::to_string(*cell.cpu_node) : std::string("any")) +
         (cell.channel == PolicyChannel::kMbind ? "" : "/" + policy_channel_name(cell.channel));
}

}  // namespace memplace
