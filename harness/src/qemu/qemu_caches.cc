// SPDX-License-Identifier: GPL-2.0-only
#include "qemu/qemu_caches.h"

#include <map>
#include <mutex>

#include "probe/probe.h"

namespace memplace {
namespace {

std::mutex g_cache_mu;
std::map<std::string, QemuCapabilities> g_caps;
std::map<std::string, KernelFiles> g_kernels;

}  // namespace

Result<QemuCapabilities> cached_qemu_probe(const std::string& binary) {
  std::lock_guard<std::mutex> lock(g_cache_mu);
  auto it = g_caps.find(binary);
  if (it != g_caps.end()) return it->second;
  auto caps = probe_qemu(binary);
  if (caps) g_caps[binary] = *caps;
  return caps;
}

Result<KernelFiles> cached_guest_kernel(const QemuToucherOptions& o) {
  std::lock_guard<std::mutex> lock(g_cache_mu);
  auto it = g_kernels.find(o.kernel);
  if (it != g_kernels.end()) return it->second;
  auto files = fetch_kernel(o.kernel, "", o.fetch);
  if (files) g_kernels[o.kernel] = *files;
  return files;
}

KernelGmemPolicy cached_host_gmem_policy() {
  static const KernelGmemPolicy policy =
      kernel_gmem_policy_from(check_gmem_shared_policy(PolicyMode::kBind, {0}).state);
  return policy;
}

}  // namespace memplace
