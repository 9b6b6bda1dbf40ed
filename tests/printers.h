// SPDX-License-Identifier: GPL-2.0-only
// How tests print memplace's values: enums by their names (a failure reads "unsupported", not
// "4-byte object <01-00 00-00>"), and the one name generator for parameterised tests, so every
// ctest name is stable across runs (no pointer addresses, no byte dumps) and readable.
// Every test file gets this header (tests/CMakeLists.txt precompiles it into each binary).
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "base/result.h"
#include "host/backing.h"
#include "host/policy.h"
#include "host/populate.h"
#include "placement/placement_source.h"
#include "placement/trace_transport.h"
#include "probe/host_features.h"
#include "results/run_record.h"
#include "spec/cell.h"

namespace memplace {

inline void PrintTo(RunStatus v, std::ostream* os) {
  *os << run_status_name(v);
}
inline void PrintTo(BackingKind v, std::ostream* os) {
  *os << backing_name(v);
}
inline void PrintTo(ToucherKind v, std::ostream* os) {
  *os << toucher_name(v);
}
inline void PrintTo(PolicyMode v, std::ostream* os) {
  *os << policy_name(v);
}
inline void PrintTo(PolicyChannel v, std::ostream* os) {
  *os << policy_channel_name(v);
}
inline void PrintTo(PopulateMethod v, std::ostream* os) {
  *os << populate_method_name(v);
}
inline void PrintTo(ThpMode v, std::ostream* os) {
  *os << thp_mode_name(v);
}
inline void PrintTo(TraceTransport v, std::ostream* os) {
  *os << trace_transport_name(v);
}
inline void PrintTo(HostFeature v, std::ostream* os) {
  *os << host_feature_name(v);
}
inline void PrintTo(ErrorKind v, std::ostream* os) {
  *os << error_kind_name(v);
}
inline void PrintTo(SourceReading::State v, std::ostream* os) {
  *os << source_state_name(v);
}

namespace testing {

// The text a parameter is named by: a string itself, a pair's first part, anything else as
// gtest prints it (enums by name, through the PrintTo overloads above).
inline std::string param_text(const char* s) {
  return s ? s : "null";
}
inline std::string param_text(const std::string& s) {
  return s;
}
template <class A, class B>
std::string param_text(const std::pair<A, B>& p) {
  return param_text(p.first);
}
template <class T>
std::string param_text(const T& v) {
  return ::testing::PrintToString(v);
}

// "3_policy_bind_nodes_0": the index keeps names unique, the text makes them readable; only
// [A-Za-z0-9_] (gtest's rule), at most 48 characters of text.
struct ParamName {
  template <class P>
  std::string operator()(const ::testing::TestParamInfo<P>& info) const {
    std::string name = std::to_string(info.index) + "_";
    for (char c : param_text(info.param)) {
      const bool word = std::isalnum(static_cast<unsigned char>(c));
      if (word) {
        name += c;
      } else if (name.back() != '_') {
        name += '_';
      }
      if (name.size() >= 52) break;
    }
    while (name.back() == '_') name.pop_back();
    return name;
  }
};

}  // namespace testing
}  // namespace memplace
