// SPDX-License-Identifier: GPL-2.0-only
#include "results/host_identity.h"

#include "base/hash.h"

namespace memplace {

std::string topology_digest(const nlohmann::json& topology) {
  // nlohmann's object keys are sorted, so dump() is canonical for equal content.
  return "fnv1a64:" +
         hex64(fnv1a64(topology.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

nlohmann::json host_identity_json(const Environment& env, const nlohmann::json& probe) {
  return {{"hostname", env.hostname},
          {"topology_digest", env.topology_digest},
          {"kernel", env.kernel},
          {"probe", probe}};
}

const nlohmann::json* find_host(const nlohmann::json& hosts, const std::string& hostname,
                                const std::string& digest) {
  if (!hosts.is_array()) return nullptr;
  for (const auto& h : hosts) {
    if (!h.is_object()) continue;
    // A manifest is untrusted: a field of another type is no match, never an exception.
    auto text = [&](const char* key) {
      auto it = h.find(key);
      return it != h.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (text("hostname") == hostname && text("topology_digest") == digest) return &h;
  }
  return nullptr;
}

}  // namespace memplace
