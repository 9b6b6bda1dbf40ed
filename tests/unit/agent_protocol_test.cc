// SPDX-License-Identifier: GPL-2.0-only
#include "agent/agent_protocol.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>

namespace memplace {
namespace {

TEST(AgentProtocol, HelloRoundTrips) {
  AgentHello h;
  h.kernel = "7.3.4+deb13-cloud-amd64";
  h.nodes = {0, 2};
  h.cpus = 2;
  h.mem_bytes = 536870912;
  std::string line = encode_guest_message(h);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto m = decode_guest_message(line);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  auto* back = std::get_if<AgentHello>(&*m);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->kernel, h.kernel);
  EXPECT_EQ(back->nodes, h.nodes);
  EXPECT_EQ(back->cpus, 2);
  EXPECT_EQ(back->mem_bytes, 536870912u);
}

TEST(AgentProtocol, HelloListsTheLocalitiesAndAnOlderAgentsHelloListsNone) {
  AgentHello h;
  h.kernel = "k";
  h.cpus = 1;
  h.localities = {"triad", "chase"};
  auto m = decode_guest_message(encode_guest_message(h));
  ASSERT_TRUE(m.ok()) << m.error().describe();
  EXPECT_EQ(std::get<AgentHello>(*m).localities, h.localities);
  auto old = decode_guest_message(
      R"({"type":"hello","protocol":2,"kernel":"k","nodes":[0],"cpus":1,"mem_bytes":1})");
  ASSERT_TRUE(old.ok()) << old.error().describe();
  EXPECT_TRUE(std::get<AgentHello>(*old).localities.empty());
  for (const char* bad : {R"("triad")", "[1]", "[null]", R"([["triad"]])"}) {
    auto m = decode_guest_message(
        std::string(R"({"type":"hello","protocol":2,"kernel":"k","nodes":[0],"cpus":1,)") +
        R"("mem_bytes":1,"localities":)" + bad + "}");
    ASSERT_FALSE(m.ok()) << "accepted localities " << bad;
    EXPECT_NE(m.error().message.find("localities"), std::string::npos);
  }
}

TEST(AgentProtocol, DoneRoundTripsWithTrailingCarriageReturn) {
  AgentDone d{0.81, "madv_populate_write", 268435456, {0.8, 0.79}};
  auto m = decode_guest_message(encode_guest_message(d) + "\r\n");
  ASSERT_TRUE(m.ok()) << m.error().describe();
  auto* back = std::get_if<AgentDone>(&*m);
  ASSERT_NE(back, nullptr);
  EXPECT_DOUBLE_EQ(back->seconds, 0.81);
  EXPECT_EQ(back->method, "madv_populate_write");
  EXPECT_EQ(back->bytes, 268435456u);
  EXPECT_EQ(back->per_thread_seconds, (std::vector<double>{0.8, 0.79}));
}

TEST(AgentProtocol, ProgressErrorAndLog) {
  auto p = decode_guest_message(R"({"type":"progress","bytes":4096})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(std::get<AgentProgress>(*p).bytes, 4096u);
  auto e = decode_guest_message(encode_guest_message(AgentError{"mbind: EINVAL"}));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(std::get<AgentError>(*e).message, "mbind: EINVAL");
  auto l = decode_guest_message(encode_guest_message(AgentLog{"no virtio port"}));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(std::get<AgentLog>(*l).message, "no virtio port");
}

TEST(AgentProtocol, GoRoundTripsWithAndWithoutOptionals) {
  AgentGo go;
  go.size_bytes = 1 << 28;
  go.threads = 2;
  auto plain = decode_host_message(encode_host_message(go));
  ASSERT_TRUE(plain.ok()) << plain.error().describe();
  EXPECT_FALSE(std::get<AgentGo>(*plain).node.has_value());
  EXPECT_FALSE(std::get<AgentGo>(*plain).method.has_value());

  EXPECT_FALSE(std::get<AgentGo>(*plain).thp.has_value());

  go.node = 1;
  go.method = "store_per_page";
  go.thp = "off";
  auto full = decode_host_message(encode_host_message(go));
  ASSERT_TRUE(full.ok()) << full.error().describe();
  EXPECT_EQ(std::get<AgentGo>(*full).node, 1);
  EXPECT_EQ(std::get<AgentGo>(*full).method, "store_per_page");
  EXPECT_EQ(std::get<AgentGo>(*full).thp, "off");
  EXPECT_EQ(std::get<AgentGo>(*full).threads, 2);

  auto off = decode_host_message(encode_host_message(AgentPoweroff{}));
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(std::holds_alternative<AgentPoweroff>(*off));
}

TEST(AgentProtocol, GoIsValidated) {
  EXPECT_FALSE(decode_host_message(R"({"type":"go","size_bytes":0,"threads":1})").ok());
  EXPECT_FALSE(decode_host_message(R"({"type":"go","size_bytes":4096,"threads":0})").ok());
  EXPECT_FALSE(decode_host_message(R"({"type":"go","size_bytes":4096,"threads":5000})").ok());
  EXPECT_FALSE(decode_host_message(R"({"type":"go","size_bytes":-1,"threads":1})").ok());
  EXPECT_FALSE(
      decode_host_message(R"({"type":"go","size_bytes":4096,"threads":1,"method":"x"})").ok());
  EXPECT_FALSE(
      decode_host_message(R"({"type":"go","size_bytes":4096,"threads":1,"node":-2})").ok());
  // fallocate needs a file; the agent's memory is anonymous.
  EXPECT_FALSE(
      decode_host_message(R"({"type":"go","size_bytes":4096,"threads":1,"method":"fallocate"})")
          .ok());
  EXPECT_TRUE(
      decode_host_message(R"({"type":"go","size_bytes":4096,"threads":1,"method":"memset"})").ok());
  auto thp = decode_host_message(R"({"type":"go","size_bytes":4096,"threads":1,"thp":"always"})");
  ASSERT_FALSE(thp.ok());
  EXPECT_NE(thp.error().message.find("thp"), std::string::npos) << thp.error().message;
  EXPECT_FALSE(decode_host_message(R"({"type":"go","size_bytes":4096,"threads":1,"thp":1})").ok());
}

// The smallest report check_benchmark_json accepts, as Google Benchmark would write it.
nlohmann::json minimal_report() {
  return nlohmann::json::parse(R"({"context":{"timed_by":"memplace-agent","cpus":[0,1]},
    "benchmarks":[{"name":"triad/threads:2/min_time:0.100/repeats:1/real_time",
                   "run_type":"iteration","iterations":12,"real_time":4.5,"cpu_time":0.1,
                   "time_unit":"ms","bytes_per_second":1.2e10,"elements":349184}]})");
}

TEST(AgentProtocol, LocalityReportRoundTripsUnchanged) {
  AgentLocality w{"triad", minimal_report()};
  std::string line = encode_guest_message(w);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto m = decode_guest_message(line);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  auto* back = std::get_if<AgentLocality>(&*m);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->kind, "triad");
  EXPECT_EQ(back->report, w.report);
}

TEST(AgentProtocol, MalformedLocalityReportsAreRejectedNamingWhy) {
  auto decode = [](nlohmann::json report, const std::string& kind = "triad") {
    return decode_guest_message(
        nlohmann::json{{"type", "locality"}, {"kind", kind}, {"report", report}}.dump());
  };
  ASSERT_TRUE(decode(minimal_report()).ok());
  EXPECT_FALSE(decode(minimal_report(), "stream").ok());
  EXPECT_FALSE(decode_guest_message(R"({"type":"locality","kind":"triad"})").ok());
  std::vector<std::pair<std::string, std::function<void(nlohmann::json&)>>> breakages = {
      {"context", [](auto& j) { j.erase("context"); }},
      {"context", [](auto& j) { j["context"] = "x"; }},
      {"nested",
       [](auto& j) {
         j["context"]["a"] = {{"b", {{"c", {{"d", 1}}}}}};
       }},
      {"benchmarks", [](auto& j) { j.erase("benchmarks"); }},
      {"empty", [](auto& j) { j["benchmarks"] = nlohmann::json::array(); }},
      {"name", [](auto& j) { j["benchmarks"][0]["name"] = 3; }},
      {"run_type", [](auto& j) { j["benchmarks"][0]["run_type"] = "warmup"; }},
      {"iterations", [](auto& j) { j["benchmarks"][0]["iterations"] = -1; }},
      {"real_time", [](auto& j) { j["benchmarks"][0]["real_time"] = -1.0; }},
      {"cpu_time", [](auto& j) { j["benchmarks"][0].erase("cpu_time"); }},
      {"time_unit", [](auto& j) { j["benchmarks"][0]["time_unit"] = "fortnights"; }},
      {"scalar",
       [](auto& j) {
         j["benchmarks"][0]["bytes_per_second"] = {1, 2};
       }},
      {"member", [](auto& j) { j["extra"] = 1; }},
  };
  for (auto& [why, breakage] : breakages) {
    auto report = minimal_report();
    breakage(report);
    auto m = decode(report);
    ASSERT_FALSE(m.ok()) << "accepted (" << why << "): " << report.dump();
    EXPECT_NE(m.error().message.find(why), std::string::npos) << m.error().message;
  }
  std::vector<nlohmann::json> many(1025, minimal_report()["benchmarks"][0]);
  auto report = minimal_report();
  report["benchmarks"] = many;
  EXPECT_FALSE(check_benchmark_json(report).ok());
}

TEST(AgentProtocol, GoCarriesALocalityAndItsTimingOnlyWhenAsked) {
  AgentGo go;
  go.size_bytes = 64 << 20;
  go.threads = 2;
  go.node = 0;
  EXPECT_EQ(encode_host_message(go).find("locality"), std::string::npos);
  go.locality = "chase";
  go.locality_repetitions = 3;
  go.locality_min_time_seconds = 0.05;
  auto m = decode_host_message(encode_host_message(go));
  ASSERT_TRUE(m.ok()) << m.error().describe();
  const auto& back = std::get<AgentGo>(*m);
  EXPECT_EQ(back.locality, "chase");
  EXPECT_EQ(back.locality_repetitions, 3);
  EXPECT_DOUBLE_EQ(back.locality_min_time_seconds, 0.05);
  // Omitted timing fields take the defaults.
  auto plain =
      decode_host_message(R"({"type":"go","size_bytes":4096,"threads":1,"locality":"triad"})");
  ASSERT_TRUE(plain.ok()) << plain.error().describe();
  EXPECT_EQ(std::get<AgentGo>(*plain).locality_repetitions, AgentGo{}.locality_repetitions);
}

TEST(AgentProtocol, GoLocalityIsValidated) {
  for (const char* line : {
           R"({"type":"go","size_bytes":4096,"threads":1,"locality":"stream"})",
           R"({"type":"go","size_bytes":4096,"threads":1,"locality":7})",
           R"({"type":"go","size_bytes":4096,"threads":1,"locality":"triad",
               "locality_repetitions":0})",
           R"({"type":"go","size_bytes":4096,"threads":1,"locality":"triad",
               "locality_repetitions":51})",
           R"({"type":"go","size_bytes":4096,"threads":1,"locality":"triad",
               "locality_min_time":0})",
           R"({"type":"go","size_bytes":4096,"threads":1,"locality":"triad",
               "locality_min_time":61})",
           R"({"type":"go","size_bytes":4096,"threads":1,"locality":"triad",
               "locality_min_time":"1s"})",
       }) {
    EXPECT_FALSE(decode_host_message(line).ok()) << "accepted: " << line;
  }
  AgentGo go;
  go.size_bytes = 4096;
  go.locality = "none";
  EXPECT_FALSE(check_go(go).ok()) << "no locality is an absent field, not \"none\"";
}

TEST(AgentProtocol, FieldErrorsNameTheField) {
  auto m = decode_guest_message(R"({"type":"done","seconds":"fast","method":"x","bytes":1,
                                    "per_thread_seconds":[]})");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("seconds"), std::string::npos) << m.error().message;
  auto h = decode_guest_message(R"({"type":"hello","protocol":3,"kernel":"k","nodes":[],
                                    "cpus":1,"mem_bytes":1})");
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message.find("protocol"), std::string::npos);
}

TEST(AgentProtocol, GarbageIsAnErrorNeverACrash) {
  const std::vector<std::string> garbage = {
      "",
      "\n",
      "hello",
      "{",
      "[]",
      "42",
      "null",
      R"({"type":7})",
      R"({"no_type":"hello"})",
      R"({"type":"reboot"})",
      R"({"type":"hello"})",
      R"({"type":"hello","protocol":2,"kernel":5,"nodes":[],"cpus":1,"mem_bytes":1})",
      R"({"type":"hello","protocol":2,"kernel":"k","nodes":[-1],"cpus":1,"mem_bytes":1})",
      R"({"type":"hello","protocol":2,"kernel":"k","nodes":"0","cpus":1,"mem_bytes":1})",
      R"({"type":"progress","bytes":1.5})",
      R"({"type":"progress","bytes":1e400})",
      R"({"type":"done","seconds":-1,"method":"m","bytes":1,"per_thread_seconds":[]})",
      R"({"type":"done","seconds":1,"method":"m","bytes":1,"per_thread_seconds":[null]})",
      R"({"type":"error"})",
      std::string("{\"type\":\"log\",\"message\":\"\xff\xfe\"}"),
      std::string("\0\0\0", 3),
      "\x1b[2J\x1b[H[    0.000000] Linux version 7.3.4",
  };
  for (const auto& g : garbage) {
    EXPECT_FALSE(decode_guest_message(g).ok()) << "accepted: " << g;
    EXPECT_FALSE(decode_host_message(g).ok()) << "accepted: " << g;
  }
}

TEST(AgentProtocol, OverlongAndDeeplyNestedLinesAreRejected) {
  std::string deep(kAgentMaxLineBytes - 1, '[');
  EXPECT_FALSE(decode_guest_message(deep).ok());
  std::string too_long =
      R"({"type":"log","message":")" + std::string(kAgentMaxLineBytes, 'x') + "\"}";
  auto m = decode_guest_message(too_long);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("limit"), std::string::npos);
}

TEST(AgentProtocol, RandomBytesNeverCrash) {
  std::mt19937 rng(1234);
  std::string alphabet = "{}[]\":,0123456789.-etrufalsnhyp \\\x01\xff";
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    size_t n = rng() % 80;
    for (size_t k = 0; k < n; ++k) s += alphabet[rng() % alphabet.size()];
    (void)decode_guest_message(s);
    (void)decode_host_message(s);
  }
  SUCCEED();
}

TEST(AgentProtocol, EncodingSurvivesInvalidUtf8) {
  std::string line = encode_guest_message(AgentError{"bad \xff byte"});
  auto m = decode_guest_message(line);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  EXPECT_EQ(std::get<AgentError>(*m).message.rfind("bad ", 0), 0u);
}

// Protocol 2 renamed "workload" to "locality" on the wire: an agent built before it is refused
// by name rather than half understood.
TEST(AgentProtocol, AnAgentOfAnotherProtocolIsRefusedNamingBoth) {
  auto m = decode_guest_message(
      R"({"type":"hello","protocol":1,"kernel":"k","nodes":[0],"cpus":1,"mem_bytes":1,)"
      R"("workloads":["triad"]})");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("agent speaks protocol 1, harness 2"), std::string::npos)
      << m.error().message;
}

}  // namespace
}  // namespace memplace
