// SPDX-License-Identifier: GPL-2.0-only
// One experiment cell: a point of the spec's matrix. Plain data; logic lives in spec.cc,
// cell runners (experiment/cell_runner.h) and the touchers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/backing.h"
#include "host/policy.h"

namespace memplace {

// Who faults the memory in: host threads, the vCPUs of memplace's micro-VM, or a QEMU guest.
enum class ToucherKind { kHost, kVcpu, kQemu };

std::string toucher_name(ToucherKind kind);  // "host", "vcpu", "qemu"
std::optional<ToucherKind> toucher_from_name(std::string_view name);

struct Cell {
  PolicyMode policy = PolicyMode::kDefault;
  std::vector<int> nodes;  // host nodes for the policy; empty for default/local
  BackingKind backing = BackingKind::kAnon;
  ToucherKind toucher = ToucherKind::kHost;
  uint64_t size_bytes = 0;
  int threads = 1;              // touching threads (host) or vCPUs (vcpu/qemu)
  std::optional<int> cpu_node;  // node whose CPUs the touchers run on; none = unpinned
  PolicyChannel channel =
      PolicyChannel::kMbind;  // mbind on a mapping, or the touchers' task policy
  int repeat = 0;             // 0-based repeat index
};

// Stable identity of a cell across result dirs and resumes, without the repeat index:
// "interleave:0-1/guest_memfd/host/64MiB/t1/cpu0", with "/task" appended for the task-policy
// channel (mbind, the default, adds nothing, so older results keep their keys).
std::string cell_key(const Cell& cell);

}  // namespace memplace
