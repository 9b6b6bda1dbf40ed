// SPDX-License-Identifier: GPL-2.0-only
#include "spec/spec_ranges.h"

#include <cmath>

#include "agent/locality_kernels.h"
#include "host/populate.h"
#include "spec/spec.h"

namespace memplace {
namespace {

Result<int> int_in(int64_t v, int64_t lo, int64_t hi, const std::string& field) {
  if (v < lo || v > hi)
    return make_error(field + ": must be " + std::to_string(lo) + ".." + std::to_string(hi) +
                      ", got " + std::to_string(v));
  return static_cast<int>(v);
}

}  // namespace

Result<int> check_threads(int64_t threads, const std::string& field) {
  return int_in(threads, 1, kMaxThreads, field);
}

Result<double> check_tolerance(double tolerance, const std::string& field) {
  if (!(tolerance > 0 && tolerance < 1) || !std::isfinite(tolerance))
    return make_error(field + ": must be a number in (0, 1)");
  return tolerance;
}

Result<std::string> check_populate_name(const std::string& name, const std::string& field) {
  if (name == "auto") return name;
  if (auto m = parse_populate_method(name); !m) return m.error().prefixed(field + ": ");
  return name;
}

Result<std::string> check_locality_name(const std::string& name, const std::string& field) {
  if (auto w = parse_locality(name); !w) return w.error().prefixed(field + ": ");
  return name;
}

Status check_matrix_size(const Spec& spec) {
  // An upper bound (default/local policies collapse their node lists), computed without
  // overflow: each factor is checked against what is left of the limit.
  uint64_t node_lists = std::max<uint64_t>(spec.node_lists.size(), 1);
  uint64_t cells = 1;
  for (uint64_t f :
       {uint64_t(spec.policies.size()), node_lists, uint64_t(spec.backings.size()),
        uint64_t(spec.touchers.size()), uint64_t(spec.sizes.size()), uint64_t(spec.threads.size()),
        uint64_t(spec.cpu_nodes.size()), uint64_t(std::max(spec.repeats, 1))}) {
    if (f != 0 && cells > kMaxCells / f)
      return make_error("matrix: more than " + std::to_string(kMaxCells) +
                        " runs; split it into several specs");
    cells *= f;
  }
  return {};
}

}  // namespace memplace
