// SPDX-License-Identifier: GPL-2.0-only
#include "host/policy.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <vector>

#include "base/enum_names.h"
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

constexpr EnumNames<PolicyMode, 7> kPolicyNames{{"default", "bind", "interleave", "preferred",
                                                 "preferred-many", "weighted-interleave", "local"}};
constexpr EnumNames<PolicyChannel, 2> kChannelNames{{"mbind", "task"}};

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
  return parse_named(kPolicyNames, name, "policy");
}

std::string policy_name(PolicyMode mode) {
  return name_of(kPolicyNames, mode);
}

std::vector<PolicyMode> all_policies() {
  return all_values(kPolicyNames);
}

// The kernel's MPOL_* value of each PolicyMode, in the enum's order (as kPolicyNames).
constexpr std::array<int, 7> kMpolOfMode{kMpolDefault,       kMpolBind,
                                         kMpolInterleave,    kMpolPreferred,
                                         kMpolPreferredMany, kMpolWeightedInterleave,
                                         kMpolLocal};

int mpol_value(PolicyMode mode) {
  auto i = static_cast<size_t>(mode);
  return i < kMpolOfMode.size() ? kMpolOfMode[i] : kMpolDefault;
}

std::optional<PolicyMode> policy_from_mpol(int mpol) {
  for (PolicyMode mode : all_policies())
    if (mpol_value(mode) == mpol) return mode;
  return std::nullopt;
}

bool policy_takes_nodes(PolicyMode mode) {
  return mode != PolicyMode::kDefault && mode != PolicyMode::kLocal;
}

namespace {

// What mbind and set_mempolicy both take: the mode and, for modes with nodes, their mask.
struct PolicyArgs {
  int mode = 0;
  NodeMask mask{};
  bool with_mask = false;
  const unsigned long* maskp() const { return with_mask ? mask.data() : nullptr; }
  unsigned long maxnode() const { return with_mask ? kMaxNodes : 0; }
};

Result<PolicyArgs> policy_args(PolicyMode mode, const std::vector<int>& nodes) {
  PolicyArgs args;
  args.mode = mpol_value(mode);
  args.with_mask = policy_takes_nodes(mode);
  if (!args.with_mask) return args;
  if (nodes.empty()) return make_error("policy " + policy_name(mode) + " needs at least one node");
  auto mask = to_mask(nodes);
  if (!mask) return mask.error();
  args.mask = *mask;
  return args;
}

std::string policy_call(const char* call, PolicyMode mode, const std::vector<int>& nodes) {
  return std::string(call) + "(" + policy_name(mode) +
         (nodes.empty() ? "" : ":" + format_id_list(nodes)) + ")";
}

}  // namespace

Status apply_policy(void* addr, size_t len, PolicyMode mode, const std::vector<int>& nodes) {
  auto args = policy_args(mode, nodes);
  if (!args) return args.error();
  if (sys_mbind(addr, len, args->mode, args->maskp(), args->maxnode(), 0) != 0)
    return errno_error(policy_call("mbind", mode, nodes));
  return {};
}

Status apply_task_policy(PolicyMode mode, const std::vector<int>& nodes) {
  auto args = policy_args(mode, nodes);
  if (!args) return args.error();
  if (::syscall(SYS_set_mempolicy, args->mode, args->maskp(), args->maxnode()) != 0)
    return errno_error(policy_call("set_mempolicy", mode, nodes));
  return {};
}

std::string policy_channel_name(PolicyChannel c) {
  return name_of(kChannelNames, c, "mbind");
}

Result<PolicyChannel> parse_policy_channel(std::string_view name) {
  if (auto c = value_named(kChannelNames, name)) return *c;
  return make_error("unknown policy channel '" + std::string(name) + "' (" +
                    known_names(kChannelNames, " | ") + ")");
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
