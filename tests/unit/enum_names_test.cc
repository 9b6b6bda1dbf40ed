// SPDX-License-Identifier: GPL-2.0-only
// Each enum's names table: every value has its own name and parses back to itself, so a value
// added to an enum without its name (or in another order) fails here rather than in a record.
#include "base/enum_names.h"

#include <gtest/gtest.h>

#include <set>

#include "agent/locality_kernels.h"
#include "host/backing.h"
#include "host/policy.h"
#include "host/populate.h"
#include "placement/trace_transport.h"
#include "report/compare.h"
#include "report/record_view.h"
#include "results/run_record.h"
#include "spec/cell.h"
#include "spec/spec.h"

namespace memplace {
namespace {

enum class Colour { kRed, kGreen };
constexpr EnumNames<Colour, 2> kColours{{"red", "green"}};

TEST(EnumNames, NameParseAndKnownComeFromOneTable) {
  EXPECT_EQ(name_of(kColours, Colour::kGreen), "green");
  EXPECT_EQ(name_of(kColours, static_cast<Colour>(7), "unknown"), "unknown");
  EXPECT_EQ(value_named(kColours, "red"), Colour::kRed);
  EXPECT_EQ(value_named(kColours, "Red"), std::nullopt);
  EXPECT_EQ(known_names(kColours), "red, green");
  EXPECT_EQ(known_names(kColours, " | "), "red | green");
  EXPECT_EQ(parse_named(kColours, "green", "colour").value(), Colour::kGreen);
  auto blue = parse_named(kColours, "blue", "colour");
  ASSERT_FALSE(blue.ok());
  EXPECT_EQ(blue.error().message, "unknown colour 'blue' (known: red, green)");
  EXPECT_EQ(all_values(kColours), (std::vector<Colour>{Colour::kRed, Colour::kGreen}));
}

template <class E, class Name, class Parse>
void expect_round_trip(const std::vector<E>& values, Name name, Parse parse) {
  std::set<std::string> seen;
  for (E v : values) {
    std::string n = name(v);
    EXPECT_FALSE(n.empty());
    EXPECT_TRUE(seen.insert(n).second) << n << " names two values";
    auto back = parse(n);
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, v) << n;
  }
}

TEST(EnumNames, EveryHarnessEnumRoundTrips) {
  expect_round_trip(all_policies(), policy_name, parse_policy);
  expect_round_trip(all_populate_methods(), populate_method_name, parse_populate_method);
  expect_round_trip(std::vector{ThpMode::kAuto, ThpMode::kOn, ThpMode::kOff}, thp_mode_name,
                    parse_thp_mode);
  expect_round_trip(std::vector{PolicyChannel::kMbind, PolicyChannel::kTask}, policy_channel_name,
                    parse_policy_channel);
  expect_round_trip(std::vector{LocalityKind::kNone, LocalityKind::kTriad, LocalityKind::kChase},
                    locality_name, parse_locality);
  expect_round_trip(std::vector{ToucherKind::kHost, ToucherKind::kVcpu, ToucherKind::kQemu},
                    toucher_name, toucher_from_name);
  expect_round_trip(
      std::vector{RunStatus::kOk, RunStatus::kUnsupported, RunStatus::kFailed},
      [](RunStatus s) { return std::string(run_status_name(s)); }, parse_run_status);
  expect_round_trip(std::vector{BackingKind::kAnon, BackingKind::kShmem, BackingKind::kGuestMemfd,
                                BackingKind::kGuestMemfdPrivate},
                    backing_name, [](const std::string& n) { return parse_backing(n, "t"); });
  expect_round_trip(all_trace_transports(), trace_transport_name,
                    [](const std::string& n) { return parse_trace_transport(n, "t"); });
}

TEST(EnumNames, ReportWordsAreDistinct) {
  std::set<std::string> changes, states;
  for (Change c : {Change::kSame, Change::kRegression, Change::kFix, Change::kChanged, Change::kNew,
                   Change::kMissing})
    EXPECT_TRUE(changes.insert(change_name(c)).second) << change_name(c);
  EXPECT_EQ(change_name(Change::kNone), "");
  EXPECT_EQ(change_name(Change::kMissing), "missing");
  for (view::CellState s :
       {view::CellState::kHonored, view::CellState::kNotHonored, view::CellState::kMixed,
        view::CellState::kNoVerdict, view::CellState::kUnsupported, view::CellState::kFailed,
        view::CellState::kAbsent})
    EXPECT_TRUE(states.insert(view::cell_state_name(s)).second) << view::cell_state_name(s);
  EXPECT_EQ(view::cell_state_name(view::CellState::kAbsent), "absent");
}

}  // namespace
}  // namespace memplace
