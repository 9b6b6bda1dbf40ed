#include "kernel/policy.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <vector>

#include "base/nodelist.h"

namespace memplace {
namespace {

// uapi/linux/mempolicy.h; Debian 12's numaif.h stops at MPOL_PREFERRED_MANY.
constexpr int kMpolDefault = 0;
constexpr int kMpolPreferred = 1;
constexpr int kMpolBind = 2;
constexpr int kMpolInterleave = 3;
constexpr int kMpolLocal = 4;
constexpr int kMpolPreferredMany = 5;
constexpr int kMpolWeightedInterleave = 6;
constexpr int kMpolFAddr = 1 << 1;

constexpr int kMaxNodes = 1024;
constexpr int kBitsPerLong = 8 * sizeof(unsigned long);
using NodeMask = std::array<unsigned long, kMaxNodes / kBitsPerLong>;

struct Name {
  PolicyMode mode;
  const char* name;
};
constexpr Name kNames[] = {
    {PolicyMode::kDefault, "default"},
    {PolicyMode::kBind, "bind"},
    {PolicyMode::kInterleave, "interleave"},
    {PolicyMode::kPreferred, "preferred"},
    {PolicyMode::kPreferredMany, "preferred-many"},
    {PolicyMode::kWeightedInterleave, "weighted-interleave"},
    {PolicyMode::kLocal, "local"},
};

Result<NodeMask> to_mask(const std::vector<int>& nodes) {
  NodeMask mask{};
  for (int n : nodes) {
    if (n < 0 || n >= kMaxNodes) return make_error("node " + std::to_string(n) + " out of range");
    mask[n / kBitsPerLong] |= 1ul << (n % kBitsPerLong);
  }
  return mask;
}

// Raw syscalls: libnuma's wrappers are fine, but its numaif.h lacks the newer modes and we want
// errno untouched by any library retry logic.
long sys_mbind(void* addr, unsigned long len, int mode, const unsigned long* mask,
               unsigned long maxnode, unsigned flags) {
  return ::syscall(SYS_mbind, addr, len, mode, mask, maxnode, flags);
}

}  // namespace

Result<PolicyMode> parse_policy(std::string_view name) {
  for (const auto& n : kNames)
    if (name == n.name) return n.mode;
  std::string known;
  for (const auto& n : kNames) known += std::string(known.empty() ? "" : ", ") + n.name;
  return make_error("unknown policy '" + std::string(name) + "' (known: " + known + ")");
}

std::string policy_name(PolicyMode mode) {
  for (const auto& n : kNames)
    if (n.mode == mode) return n.name;
  return "?";
}

std::vector<PolicyMode> all_policies() {
  std::vector<PolicyMode> out;
  for (const auto& n : kNames) out.push_back(n.mode);
  return out;
}

int mpol_value(PolicyMode mode) {
  switch (mode) {
    case PolicyMode::kDefault:
      return kMpolDefault;
    case PolicyMode::kBind:
      return kMpolBind;
    case PolicyMode::kInterleave:
      return kMpolInterleave;
    case PolicyMode::kPreferred:
      return kMpolPreferred;
    case PolicyMode::kPreferredMany:
      return kMpolPreferredMany;
    case PolicyMode::kWeightedInterleave:
      return kMpolWeightedInterleave;
    case PolicyMode::kLocal:
      return kMpolLocal;
  }
  return kMpolDefault;
}

std::optional<PolicyMode> policy_from_mpol(int mpol) {
  for (const auto& n : kNames)
    if (mpol_value(n.mode) == mpol) return n.mode;
  return std::nullopt;
}

bool policy_takes_nodes(PolicyMode mode) {
  return mode != PolicyMode::kDefault && mode != PolicyMode::kLocal;
}

Status apply_policy(void* addr, size_t len, PolicyMode mode, const std::vector<int>& nodes) {
  if (policy_takes_nodes(mode) && nodes.empty())
    return make_error("policy " + policy_name(mode) + " needs at least one node");
  auto mask = to_mask(policy_takes_nodes(mode) ? nodes : std::vector<int>{});
  if (!mask) return mask.error();
  const unsigned long* maskp = policy_takes_nodes(mode) ? mask->data() : nullptr;
  unsigned long maxnode = policy_takes_nodes(mode) ? kMaxNodes : 0;
  if (sys_mbind(addr, len, mpol_value(mode), maskp, maxnode, 0) != 0) {
    return errno_error("mbind(" + policy_name(mode) +
                       (nodes.empty() ? "" : ":" + format_id_list(nodes)) + ")");
  }
  return {};
}

Status apply_task_policy(PolicyMode mode, const std::vector<int>& nodes) {
  if (policy_takes_nodes(mode) && nodes.empty())
    return make_error("policy " + policy_name(mode) + " needs at least one node");
  auto mask = to_mask(policy_takes_nodes(mode) ? nodes : std::vector<int>{});
  if (!mask) return mask.error();
  const unsigned long* maskp = policy_takes_nodes(mode) ? mask->data() : nullptr;
  unsigned long maxnode = policy_takes_nodes(mode) ? kMaxNodes : 0;
  if (::syscall(SYS_set_mempolicy, mpol_value(mode), maskp, maxnode) != 0) {
    return errno_error("set_mempolicy(" + policy_name(mode) +
                       (nodes.empty() ? "" : ":" + format_id_list(nodes)) + ")");
  }
  return {};
}

std::string policy_channel_name(PolicyChannel c) {
  return c == PolicyChannel::kTask ? "task" : "mbind";
}

Result<PolicyChannel> parse_policy_channel(std::string_view name) {
  if (name == "mbind") return PolicyChannel::kMbind;
  if (name == "task") return PolicyChannel::kTask;
  return make_error("unknown policy channel '" + std::string(name) + "' (mbind | task)");
}

Result<PolicyReadback> read_policy_at(void* addr) {
  int mode = 0;
  NodeMask mask{};
  if (::syscall(SYS_get_mempolicy, &mode, mask.data(), (unsigned long)kMaxNodes, addr,
                (unsigned long)kMpolFAddr) != 0)
    return errno_error("get_mempolicy(MPOL_F_ADDR)");
  PolicyReadback out;
  // Mode flags (MPOL_F_STATIC_NODES etc.) live in the high bits.
  out.mpol = mode & 0xff;
  for (int n = 0; n < kMaxNodes; ++n)
    if (mask[n / kBitsPerLong] & (1ul << (n % kBitsPerLong))) out.nodes.push_back(n);
  return out;
}

bool kernel_supports_policy(PolicyMode mode, int node) {
  // Probe on a throwaway mapping: mbind only changes that VMA, so nothing else is affected.
  long page = ::sysconf(_SC_PAGESIZE);
  void* p = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  bool ok = apply_policy(p, page, mode,
                         policy_takes_nodes(mode) ? std::vector<int>{node} : std::vector<int>{})
                .ok();
  ::munmap(p, page);
  return ok;
}

}  // namespace memplace
