// SPDX-License-Identifier: GPL-2.0-only
// Which host a run was made on, in a form that survives merging results dirs from many hosts:
// every record names its hostname and a digest of the topology it saw; the dir's manifest holds
// the full probe for each (hostname, digest) pair.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "results/run_record.h"

namespace memplace {

// "fnv1a64:<16 hex>" of the topology's JSON (keys sorted): equal topologies, equal digests.
std::string topology_digest(const nlohmann::json& topology);

// {"hostname","topology_digest","kernel","probe"}: one entry of a manifest's "hosts".
nlohmann::json host_identity_json(const Environment& env, const nlohmann::json& probe);

// The "hosts" entry a record belongs to, matched on hostname and digest; null if none.
const nlohmann::json* find_host(const nlohmann::json& hosts, const std::string& hostname,
                                const std::string& digest);

}  // namespace memplace
