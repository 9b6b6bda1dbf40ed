// TEMPORARY stand-in for choose_cpus until the lead's host_toucher.cc lands on main; delete it
// then. Weak, so whichever order the branches merge in, the real definition wins the link.
#include <fstream>
#include <sstream>

#include "memplace/toucher.h"

namespace memplace {

__attribute__((weak)) Result<std::vector<int>> choose_cpus(const std::string& sysfs_root,
                                                           std::optional<int> node, int count) {
  if (count < 0) return make_error("negative thread count");
  if (!node) return std::vector<int>(count, -1);
  // Sample: "0-1,4"
  std::string root = sysfs_root.empty() ? "" : sysfs_root;
  std::ifstream in(root + "/sys/devices/system/node/node" + std::to_string(*node) + "/cpulist");
  std::string text;
  if (!std::getline(in, text)) return make_error("no cpulist for node " + std::to_string(*node));
  std::vector<int> cpus;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, ',');) {
    if (part.empty()) continue;
    auto dash = part.find('-');
    int lo = std::stoi(part.substr(0, dash));
    int hi = dash == std::string::npos ? lo : std::stoi(part.substr(dash + 1));
    for (int c = lo; c <= hi; ++c) cpus.push_back(c);
  }
  if (cpus.empty()) return make_error("node " + std::to_string(*node) + " has no CPUs");
  std::vector<int> out;
  for (int i = 0; i < count; ++i) out.push_back(cpus[i % cpus.size()]);
  return out;
}

}  // namespace memplace
