// SPDX-License-Identifier: GPL-2.0-only
// How a test requires a host feature: it asks the probe `memplace probe` runs (kernel/
// host_features.h), never /dev or /sys itself, so it skips for the probe's reason on a host that
// lacks the feature, and the masked runs (tests/masks) can hide the feature from outside.
//   MEMPLACE_REQUIRE_FEATURE(guest_memfd);         // skip with the probe's reason
//   if (host_feature(feature::guest_memfd).available) ... else expect "unsupported"
// The names are the probe's (`memplace probe --require NAME`); an unknown one does not compile.
// tests/feature_labels.py reads these two spellings to give the test a ctest label per feature.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "host/backing.h"
#include "probe/host_features.h"
#include "results/run_record.h"

namespace memplace::testing {

namespace feature {
inline constexpr HostFeature kvm = HostFeature::kKvm;
inline constexpr HostFeature guest_memfd = HostFeature::kGuestMemfd;
inline constexpr HostFeature guest_memfd_mmap = HostFeature::kGuestMemfdMmap;
inline constexpr HostFeature sw_protected_vm = HostFeature::kSwProtectedVm;
inline constexpr HostFeature tracefs = HostFeature::kTracefs;
inline constexpr HostFeature bpf = HostFeature::kBpf;
inline constexpr HostFeature memcg = HostFeature::kMemcg;
inline constexpr HostFeature thp = HostFeature::kThp;
inline constexpr HostFeature two_nodes = HostFeature::kTwoNodes;
}  // namespace feature

// These names are the labels; each must be the product's name of its value.
#define MEMPLACE_FEATURE_NAME_IS(name) \
  static_assert(kHostFeatureNames.names[static_cast<size_t>(feature::name)] == #name)
MEMPLACE_FEATURE_NAME_IS(kvm);
MEMPLACE_FEATURE_NAME_IS(guest_memfd);
MEMPLACE_FEATURE_NAME_IS(guest_memfd_mmap);
MEMPLACE_FEATURE_NAME_IS(sw_protected_vm);
MEMPLACE_FEATURE_NAME_IS(tracefs);
MEMPLACE_FEATURE_NAME_IS(bpf);
MEMPLACE_FEATURE_NAME_IS(memcg);
MEMPLACE_FEATURE_NAME_IS(thp);
MEMPLACE_FEATURE_NAME_IS(two_nodes);
static_assert(kHostFeatureNames.names.size() == 9, "a new feature needs its name above");
#undef MEMPLACE_FEATURE_NAME_IS

// The probe's answer, asked once per test process.
inline const FeatureAnswer& host_feature(HostFeature f) {
  static std::mutex mu;
  static std::map<HostFeature, FeatureAnswer> answers;
  std::lock_guard<std::mutex> lock(mu);
  auto it = answers.find(f);
  if (it == answers.end()) it = answers.emplace(f, probe_feature(f)).first;
  return it->second;
}

// Where the probe says `f` is missing, the product must answer "unsupported" for the probe's
// reason, never fail: these check an error and a record against that.
inline void expect_unsupported_for(const Error& e, HostFeature f) {
  const FeatureAnswer& a = host_feature(f);
  ASSERT_FALSE(a.available) << host_feature_name(f) << " is available: " << a.reason;
  EXPECT_EQ(e.kind, ErrorKind::kUnsupported) << e.describe();
  EXPECT_NE(e.describe().find(a.reason), std::string::npos)
      << "the error does not give the probe's reason '" << a.reason << "': " << e.describe();
}

inline void expect_unsupported_record(const RunRecord& r, HostFeature f) {
  const FeatureAnswer& a = host_feature(f);
  ASSERT_FALSE(a.available) << host_feature_name(f) << " is available: " << a.reason;
  EXPECT_EQ(r.status, RunStatus::kUnsupported) << r.cell_key << ": " << r.message;
  EXPECT_NE(r.message.find(a.reason), std::string::npos)
      << r.cell_key << ": the record does not give the probe's reason '" << a.reason
      << "': " << r.message;
}

// A guest_memfd the host can map, or else (returning false) the check that the backing refuses
// as unsupported for the probe's reason: a test of guest_memfd then passes for that reason.
inline bool mappable_guest_memfd_or_unsupported() {
  if (host_feature(feature::guest_memfd_mmap).available) return true;
  auto m = create_backing(BackingKind::kGuestMemfd, 1ull << 20);
  EXPECT_FALSE(m.ok()) << "created a guest_memfd the probe says cannot be mapped";
  if (!m.ok()) expect_unsupported_for(m.error(), feature::guest_memfd_mmap);
  return false;
}

}  // namespace memplace::testing

#define MEMPLACE_REQUIRE_FEATURE(name)                                                           \
  do {                                                                                           \
    const ::memplace::FeatureAnswer& answer_ =                                                   \
        ::memplace::testing::host_feature(::memplace::testing::feature::name);                   \
    if (!answer_.available) GTEST_SKIP() << "needs " #name " (probe: " << answer_.reason << ")"; \
  } while (0)
