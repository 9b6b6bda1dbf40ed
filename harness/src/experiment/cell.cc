#include "experiment/cell.h"

#include "base/nodelist.h"
#include "experiment/spec.h"

namespace memplace {

std::string cell_key(const Cell& cell) {
  std::string policy = policy_name(cell.policy);
  if (!cell.nodes.empty()) policy += ":" + format_id_list(cell.nodes);
  return policy + "/" + backing_name(cell.backing) + "/" + cell.toucher + "/" +
         format_size(cell.size_bytes) + "/t" + std::to_string(cell.threads) + "/cpu" +
         (cell.cpu_node ? std::to_string(*cell.cpu_node) : std::string("any"));
}

}  // namespace memplace
