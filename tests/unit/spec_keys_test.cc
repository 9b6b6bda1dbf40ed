// SPDX-License-Identifier: GPL-2.0-only
// The spec-key table (spec/spec_keys.cc) drives reading, checking, rendering, the environment
// fallback and the reference docs; these hold each of them to it.
#include "spec/spec_keys.h"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <map>

#include "golden.h"
#include "spec/spec.h"

namespace memplace {
namespace {

// A value of each key's kind that is not its default, as TOML.
std::string sample_value(const SpecKey& k) {
  switch (k.kind) {
    case KeyKind::kText:
      return "\"/opt/x y\"";
    case KeyKind::kFlag:
      return "true";
    case KeyKind::kInt:
      return std::to_string(k.max);
    case KeyKind::kSize:
      return "\"3GiB\"";
    case KeyKind::kChoice:
      return "\"tcg\"";
    case KeyKind::kNodeIds:
      return "[1]";
    case KeyKind::kTextList:
      return "[\"debian:7.3\", \"build:7.2\"]";
    case KeyKind::kDistances:
      return "[[10, 20], [20, 10]]";
    case KeyKind::kCustom:
      return std::string(k.codec->example);
  }
  return "";
}

// Every key, set to a value of its own, renders as that value and reads back the same.
TEST(SpecKeys, EveryKeyRendersAndReadsBack) {
  std::map<std::string, std::string> tables;
  for (const SpecKey& k : spec_keys()) {
    std::string value = sample_value(k);
    if (k.name == "node_count") value = "2";  // distances and memory_only_nodes follow it
    if (k.name == "disk_agent") value = "\"/sbin/agent\"";
    if (k.name == "repeats") value = "3";  // the matrix stays under kMaxCells
    tables[std::string(k.section)] += std::string(k.name) + " = " + value + "\n";
  }
  std::string toml;
  for (const auto& [section, body] : tables) toml += "[" + section + "]\n" + body;
  auto spec = parse_spec(toml, "all.toml");
  ASSERT_TRUE(spec.ok()) << spec.error().describe() << "\n" << toml;
  EXPECT_TRUE(spec->warnings.empty());
  const std::string rendered = render_spec_toml(*spec);
  for (const SpecKey& k : spec_keys()) {
    ASSERT_TRUE(key_is_set(k, *spec)) << k.section << "." << k.name;
    EXPECT_NE(rendered.find(std::string(k.name) + " = " + render_key_value(k, *spec)),
              std::string::npos)
        << k.name << " in:\n"
        << rendered;
  }
  auto again = parse_spec(rendered, "rendered.toml");
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_EQ(render_spec_toml(*again), rendered);
  EXPECT_TRUE(*again->testbed == *spec->testbed);
  EXPECT_EQ(expand(*again).size(), expand(*spec).size());
  EXPECT_TRUE(again->qemu == spec->qemu);
}

// spec_version 1's names read as the new ones, with a warning each; a spec.toml is written with
// the new names and its version.
TEST(SpecKeys, OldNamesReadWithAWarningAndRenderNew) {
  auto spec = parse_spec("[testbed]\nnodes = 3\nboot_timeout = 30\ntimeout = 90\n", "old.toml");
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  EXPECT_EQ(spec->testbed->nodes, 3);
  EXPECT_EQ(spec->testbed->boot_timeout_seconds, 30);
  EXPECT_EQ(spec->testbed->timeout_seconds, 90);
  ASSERT_EQ(spec->warnings.size(), 3u);
  EXPECT_NE(spec->warnings[0].find("testbed.boot_timeout is spec_version 1's name for "
                                   "testbed.boot_timeout_s"),
            std::string::npos)
      << spec->warnings[0];
  const std::string rendered = render_spec_toml(*spec);
  EXPECT_EQ(rendered.rfind("spec_version = " + std::to_string(kSpecVersion) + "\n", 0), 0u);
  EXPECT_NE(rendered.find("node_count = 3\n"), std::string::npos) << rendered;
  EXPECT_NE(rendered.find("timeout_s = 90\n"), std::string::npos) << rendered;
  EXPECT_EQ(rendered.find("boot_timeout ="), std::string::npos) << rendered;

  auto both = parse_spec("[testbed]\nnodes = 2\nnode_count = 2\n", "both.toml");
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message.find("given twice"), std::string::npos) << both.error().message;
  auto newer = parse_spec("spec_version = 3\n", "new.toml");
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.error().message.find("spec_version 3 is newer"), std::string::npos);
  EXPECT_TRUE(parse_spec("spec_version = 1\n", "v1.toml").ok());
}

// The defaults the table documents are the code's: TestbedSpec's, read back through the table.
TEST(SpecKeys, DocumentedTestbedDefaultsAreTheCodes) {
  Spec documented;
  documented.testbed.emplace();
  for (const SpecKey* k : spec_keys_of("testbed")) {
    if (k->default_text.front() == '(') continue;  // "(none)": an empty list or text
    auto s = set_key_from_text(*k, k->default_text, std::string(k->name), documented);
    ASSERT_TRUE(s.ok()) << s.error().describe();
  }
  EXPECT_TRUE(*documented.testbed == TestbedSpec{});
}

// Every key with an environment variable is filled from it when the spec leaves it unset, and
// a bad value names the variable.
TEST(SpecKeys, EachEnvironmentVariableFillsItsKey) {
  std::map<std::string, std::string> env;
  for (const SpecKey& k : spec_keys()) {
    if (k.env.empty()) continue;
    std::string v = sample_value(k);
    if (k.kind == KeyKind::kFlag) v = "1";
    if (v.front() == '"') v = v.substr(1, v.size() - 2);
    if (k.name == "disk_agent") v = "/sbin/agent";
    env[std::string(k.env)] = v;
  }
  ASSERT_FALSE(env.empty());
  auto getenv = [&](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  Spec spec;
  ASSERT_TRUE(apply_env_fallbacks("qemu", spec, getenv).ok());
  for (const SpecKey* k : spec_keys_of("qemu"))
    EXPECT_EQ(key_is_set(*k, spec), !k->env.empty()) << k->name;
  env["MEMPLACE_QEMU_CBITPOS"] = "0";
  Spec bad;
  auto s = apply_env_fallbacks("qemu", bad, getenv);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("MEMPLACE_QEMU_CBITPOS from the environment: qemu.cbitpos: "
                                   "must be 1..63, got 0"),
            std::string::npos)
      << s.error().message;
}

// One naming rule for the environment: MEMPLACE_<SECTION>_<KEY>; the names before the rule
// still read, with a warning naming the new one.
TEST(SpecKeys, EnvironmentNamesFollowTheKeysAndOldNamesStillRead) {
  int with_env = 0;
  for (const SpecKey& k : spec_keys()) {
    if (k.env.empty()) continue;
    std::string want = "MEMPLACE_" + std::string(k.section) + "_" + std::string(k.name);
    for (char& c : want) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(k.env, want) << k.section << "." << k.name;
    ++with_env;
  }
  EXPECT_GE(with_env, 12);
  std::map<std::string, std::string> env = {{"MEMPLACE_QEMU", "/opt/old-qemu"},
                                            {"MEMPLACE_QEMU_BOOT_TIMEOUT", "77"},
                                            {"MEMPLACE_QEMU_AGENT_TIMEOUT_S", "88"},
                                            {"MEMPLACE_QEMU_AGENT_TIMEOUT", "99"}};
  auto getenv = [&](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  Spec spec;
  ASSERT_TRUE(apply_env_fallbacks("qemu", spec, getenv).ok());
  EXPECT_EQ(spec.qemu.binary, "/opt/old-qemu");
  EXPECT_EQ(spec.qemu.boot_timeout_s, 77);
  EXPECT_EQ(spec.qemu.agent_timeout_s, 88) << "the new name wins over the old";
  ASSERT_EQ(spec.warnings.size(), 2u);
  EXPECT_EQ(spec.warnings[0],
            "MEMPLACE_QEMU is the old name of MEMPLACE_QEMU_BINARY; read as that");
}

TEST(SpecKeys, UnknownKeyListsTheTablesNames) {
  auto spec = parse_spec("[testbed]\nnodez = 2\n", "t.toml");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.error().message.find("testbed.nodez: unknown key (known here: node_count, "),
            std::string::npos)
      << spec.error().message;
}

// A guest whose every node is memory-only would get -smp 0 from QEMU.
TEST(SpecKeys, EveryNodeMemoryOnlyIsRefused) {
  auto spec = parse_spec("[testbed]\nnode_count = 2\nmemory_only_nodes = [0, 1]\n", "t.toml");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.error().message.find("at least one node needs CPUs"), std::string::npos);
  EXPECT_TRUE(parse_spec("[testbed]\nnode_count = 2\nmemory_only_nodes = [1]\n", "t.toml").ok());
}

// docs/spec-reference.md is the table's own text: a key added, renamed or removed without the
// docs following fails here (MEMPLACE_UPDATE_GOLDEN=1 build/tests/unit_tests rewrites it).
TEST(SpecKeys, TheReferenceDocIsTheTables) {
  testing::expect_file_matches(spec_keys_markdown(),
                               std::string(MEMPLACE_SOURCE_DIR) + "/docs/spec-reference.md");
}

// Every spec.toml committed under results/ (written by older memplaces) still reads, and every
// spec under specs/ reads without a warning.
TEST(SpecKeys, CommittedSpecsStillRead) {
  namespace fs = std::filesystem;
  int n = 0;
  for (const char* dir : {"results", "specs"}) {
    for (const auto& e :
         fs::recursive_directory_iterator(std::string(MEMPLACE_SOURCE_DIR) + "/" + dir)) {
      if (e.path().extension() != ".toml") continue;
      auto spec = parse_spec(testing::slurp(e.path().string()), e.path().string());
      ASSERT_TRUE(spec.ok()) << spec.error().describe();
      if (std::string(dir) == "specs") {
        EXPECT_TRUE(spec->warnings.empty()) << e.path();
      }
      ++n;
    }
  }
  EXPECT_GE(n, 8);
}

}  // namespace
}  // namespace memplace
