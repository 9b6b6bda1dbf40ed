#include "experiment/cell.h"

#include "base/nodelist.h"
#include "experiment/spec.h"

namespace memplace {

std::string toucher_name(ToucherKind kind) {
  switch (kind) {
    case ToucherKind::kHost:
      return "host";
    case ToucherKind::kVcpu:
      return "vcpu";
    case ToucherKind::kQemu:
      break;
  }
  return "qemu";
}

std::optional<ToucherKind> toucher_from_name(std::string_view name) {
  for (ToucherKind k : {ToucherKind::kHost, ToucherKind::kVcpu, ToucherKind::kQemu})
    if (name == toucher_name(k)) return k;
  return std::nullopt;
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
