// SPDX-License-Identifier: GPL-2.0-only
#include "results/results.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "golden.h"
#include "results/run_record.h"
#include "test_support.h"

namespace memplace {
namespace {

// A fresh directory per test, removed when the test ends.
using testing::slurp;
using testing::TempDir;

// Sparse nodes (0 and 2) on purpose: node ids are keys, never indices.
RunRecord sample_record() {
  RunRecord r;
  r.run_id = "r0003";
  r.cell_key = "interleave:0,2/guest_memfd/host/64MiB/t1/cpu0";
  r.repeat = 1;
  r.policy = "interleave";
  r.nodes = {0, 2};
  r.backing = "guest_memfd";
  r.toucher = "host";
  r.size_bytes = 64ull << 20;
  r.threads = 2;
  r.cpu_node = 0;
  r.status = RunStatus::kOk;
  r.message = "";
  r.environment.kind = "testbed";
  r.environment.kernel = "6.19.0-rc1";
  r.environment.hostname = "guest";
  r.environment.accel = "tcg";
  r.environment.topology = {{"nodes", {0, 2}}};
  r.placement_pages = {{0, 8192}, {2, 8192}};
  r.meminfo_before = {{0, {{"MemTotal", 1000000}, {"MemUsed", 200000}, {"HugePages_Total", 0}}},
                      {2, {{"MemTotal", 1000000}, {"MemUsed", 100000}}}};
  r.meminfo_after = {{0, {{"MemTotal", 1000000}, {"MemUsed", 232768}}},
                     {2, {{"MemTotal", 1000000}, {"MemUsed", 132768}}}};
  r.delta_used_mib = {{0, 32.0}, {2, 32.0}};
  r.populate_seconds = 0.0125;
  r.populate_method = "write";
  Verdict v;
  v.expected = {{0, 0.5}, {2, 0.5}};
  v.measured = {{0, 0.5}, {2, 0.5}};
  v.honored = true;
  v.max_deviation = 0.0;
  v.tolerance = 0.05;
  v.reason = "interleave split 50/50 within 5%";
  r.verdict = v;
  r.policy_readback = "interleave:0,2";
  r.samples_file = "samples/r0003.csv";
  r.started_at = "2025-01-01T00:00:00Z";
  r.wall_seconds = 0.5;
  r.extra = {{"vcpus", 2}};
  return r;
}

TEST(RunRecordJson, RoundTripKeepsEveryField) {
  RunRecord r = sample_record();
  nlohmann::json j = to_json(r);
  EXPECT_EQ(j["schema_version"], kSchemaVersion);
  EXPECT_EQ(j["placement_pages"]["2"], 8192);
  EXPECT_EQ(j["meminfo_before"]["0"]["MemUsed"], 200000);
  EXPECT_EQ(j["verdict"]["expected"]["2"], 0.5);
  EXPECT_EQ(j["environment"]["kernel"], "6.19.0-rc1");

  // Through text, as the file stores it.
  auto back = record_from_json(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(to_json(*back), j);
  EXPECT_EQ(back->nodes, (std::vector<int>{0, 2}));
  EXPECT_EQ(back->cpu_node, 0);
  ASSERT_TRUE(back->verdict.has_value());
  EXPECT_TRUE(back->verdict->honored);
  EXPECT_EQ(back->verdict->reason, r.verdict->reason);
  EXPECT_EQ(back->meminfo_after.at(2).at("MemUsed"), 132768u);
}

// A schema 1 record named the locality loop's results "workload": it reads as "locality".
TEST(RunRecordJson, SchemaOneWorkloadReadsAsLocality) {
  nlohmann::json j = to_json(sample_record());
  j["schema_version"] = 1;
  j["extra"] = {{"workload", {{"kind", "triad"}, {"file", "workloads/r0003-triad.json"}}}};
  auto back = record_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_FALSE(back->extra.contains("workload"));
  EXPECT_EQ(back->extra["locality"]["kind"], "triad");
  EXPECT_EQ(to_json(*back)["schema_version"], kSchemaVersion);
}

TEST(RunRecordJson, UnsupportedRecordWithoutMeasurementsRoundTrips) {
  RunRecord r;
  r.policy = "weighted-interleave";
  r.nodes = {0, 1};
  r.backing = "anon";
  r.toucher = "host";
  r.size_bytes = 4096;
  r.status = RunStatus::kUnsupported;
  r.message = "kernel lacks MPOL_WEIGHTED_INTERLEAVE";
  auto back = record_from_json(to_json(r));
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_FALSE(back->verdict.has_value());
  EXPECT_FALSE(back->cpu_node.has_value());
  EXPECT_EQ(back->message, r.message);
  EXPECT_EQ(back->status, RunStatus::kUnsupported);
  EXPECT_EQ(to_json(r)["status"], "unsupported");
}

// The status is typed inside memplace and spelled out only in the file; a spelling memplace does
// not know is refused by name rather than read as some status.
TEST(RunRecordJson, StatusIsSpelledInTheFileAndUnknownOnesAreRefused) {
  for (RunStatus s : {RunStatus::kOk, RunStatus::kUnsupported, RunStatus::kFailed}) {
    EXPECT_EQ(parse_run_status(run_status_name(s)), s);
    RunRecord r = sample_record();
    r.status = s;
    auto back = record_from_json(to_json(r));
    ASSERT_TRUE(back.ok()) << back.error().describe();
    EXPECT_EQ(back->status, s);
  }
  nlohmann::json j = to_json(sample_record());
  j["status"] = "honored";
  auto r = record_from_json(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("status"), std::string::npos) << r.error().message;
  EXPECT_EQ(run_status_for(unsupported_error("no KVM")), RunStatus::kUnsupported);
  EXPECT_EQ(run_status_for(make_error("late", ErrorKind::kTimeout)), RunStatus::kFailed);
}

TEST(RunRecordJson, MissingRequiredFieldIsNamed) {
  nlohmann::json j = to_json(sample_record());
  j.erase("backing");
  auto r = record_from_json(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("backing"), std::string::npos) << r.error().message;
}

TEST(RunRecordJson, RejectsBadNodeKeyAndNewerSchema) {
  nlohmann::json j = to_json(sample_record());
  j["placement_pages"]["x"] = 3;
  auto r = record_from_json(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("placement_pages"), std::string::npos);

  j = to_json(sample_record());
  j["schema_version"] = kSchemaVersion + 1;
  EXPECT_FALSE(record_from_json(j).ok());

  j = to_json(sample_record());
  j["size_bytes"] = -5;
  EXPECT_FALSE(record_from_json(j).ok());
}

TEST(RunsFile, WriterAppendsOneLinePerRecord) {
  TempDir tmp("results-test");
  std::string dir = tmp;
  std::string path = dir + "/runs.jsonl";
  {
    auto w = RunsWriter::open(path);
    ASSERT_TRUE(w.ok()) << w.error().describe();
    ASSERT_TRUE(w->append(sample_record()).ok());
  }
  {
    // Reopening appends instead of truncating: a resumed run keeps earlier lines.
    auto w = RunsWriter::open(path);
    ASSERT_TRUE(w.ok());
    RunRecord second = sample_record();
    second.run_id = "r0004";
    second.repeat = 4;
    ASSERT_TRUE(w->append(second).ok());
    RunRecord third = second;
    third.run_id = "r0005";
    third.repeat = 5;
    ASSERT_TRUE(w->append_json(to_json(third)).ok());
  }
  std::string text = slurp(path);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
  auto runs = read_runs(path);
  ASSERT_TRUE(runs.ok()) << runs.error().describe();
  ASSERT_EQ(runs->records.size(), 3u);
  EXPECT_EQ(runs->records[0].run_id, "r0003");
  EXPECT_EQ(runs->records[1].run_id, "r0004");
  EXPECT_TRUE(runs->warnings.empty());
}

// Reliability item 17: one run recorded twice (a file appended to twice) was counted twice by
// report, compare and --resume. The second is skipped, naming the first's line; the same cell
// and repeat on another host or kernel is another run.
TEST(RunsFile, ARunRecordedTwiceIsCountedOnce) {
  TempDir tmp("results-test");
  const std::string path = std::string(tmp) + "/runs.jsonl";
  RunRecord r = sample_record();
  RunRecord elsewhere = r;
  elsewhere.environment.hostname = "other-host";
  RunRecord later_kernel = r;
  later_kernel.environment.kernel = "7.3.4";
  std::ofstream(path) << to_json(r).dump() << "\n"
                      << to_json(elsewhere).dump() << "\n"
                      << to_json(r).dump() << "\n"
                      << to_json(later_kernel).dump() << "\n";
  auto runs = read_runs(path);
  ASSERT_TRUE(runs.ok()) << runs.error().describe();
  EXPECT_EQ(runs->records.size(), 3u);
  ASSERT_EQ(runs->warnings.size(), 1u);
  EXPECT_NE(runs->warnings[0].find(":3: run r0003 repeats"), std::string::npos)
      << runs->warnings[0];
  EXPECT_NE(runs->warnings[0].find("of line 1"), std::string::npos) << runs->warnings[0];
}

TEST(RunsFile, TruncatedLastLineIsSkippedWithWarning) {
  TempDir tmp("results-test");
  std::string dir = tmp;
  std::string path = dir + "/runs.jsonl";
  std::string line = to_json(sample_record()).dump();
  {
    std::ofstream out(path);
    out << line << "\n" << line.substr(0, line.size() / 2);  // killed mid-write
  }
  auto runs = read_runs(path);
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->records.size(), 1u);
  ASSERT_EQ(runs->warnings.size(), 1u);
  EXPECT_NE(runs->warnings[0].find(":2:"), std::string::npos) << runs->warnings[0];
  EXPECT_NE(runs->warnings[0].find("truncated"), std::string::npos) << runs->warnings[0];
}

TEST(RunsFile, GarbageAndInvalidRecordLinesAreSkippedByLineNumber) {
  TempDir tmp("results-test");
  std::string dir = tmp;
  std::string path = dir + "/runs.jsonl";
  std::string line = to_json(sample_record()).dump();
  RunRecord other = sample_record();
  other.repeat = 7;
  {
    std::ofstream out(path);
    out << line << "\n"
        << "\x01\xff garbage {{{\n"
        << "\n"  // blank lines are not records and not errors
        << R"({"policy": "bind"})"
        << "\n"  // valid JSON, not a record
        << to_json(other).dump() << "\n";
  }
  auto runs = read_runs(path);
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->records.size(), 2u);
  ASSERT_EQ(runs->warnings.size(), 2u);
  EXPECT_NE(runs->warnings[0].find(":2:"), std::string::npos) << runs->warnings[0];
  EXPECT_NE(runs->warnings[0].find("malformed"), std::string::npos) << runs->warnings[0];
  EXPECT_NE(runs->warnings[1].find(":4:"), std::string::npos) << runs->warnings[1];
}

TEST(RunsFile, MissingFileIsAnErrorWithErrno) {
  auto runs = read_runs("/nonexistent/runs.jsonl");
  ASSERT_FALSE(runs.ok());
  EXPECT_EQ(runs.error().err, ENOENT);
}

// Names in `dir` other than `keep`: what a write left behind.
std::vector<std::string> leftovers(const std::string& dir, const std::string& keep) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename() != keep) out.push_back(e.path().filename().string());
  return out;
}

TEST(AtomicWrite, ReplacesContentAndLeavesNoTempFile) {
  TempDir tmp("results-test");
  std::string dir = tmp;
  std::string path = dir + "/report.md";
  ASSERT_TRUE(write_file_atomic(path, "old\n").ok());
  ASSERT_TRUE(write_file_atomic(path, "new content\n").ok());
  EXPECT_EQ(slurp(path), "new content\n");
  EXPECT_TRUE(leftovers(dir, "report.md").empty());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(AtomicWrite, FailureLeavesOldFilesIntactAndNoTempFile) {
  TempDir tmp("results-test");
  std::string dir = tmp;
  // A non-empty directory at the target: the rename fails after the temp file was written.
  std::string path = dir + "/manifest.json";
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
  ASSERT_TRUE(write_file_atomic(path + "/kept", "{}\n").ok());
  EXPECT_FALSE(write_file_atomic(path, "broken").ok());
  EXPECT_EQ(slurp(path + "/kept"), "{}\n");
  EXPECT_TRUE(leftovers(dir, "manifest.json").empty());
}

// Issue 14 item 7: `memplace report` wrote through a symlink planted at report.md.tmp.
TEST(AtomicWrite, NeverWritesThroughAPlantedSymlink) {
  TempDir tmp("results-test");
  std::string dir = tmp;
  std::string victim = dir + "/victim";
  ASSERT_TRUE(write_file_atomic(victim, "precious\n").ok());
  ASSERT_EQ(::symlink(victim.c_str(), (dir + "/report.md.tmp").c_str()), 0);
  ASSERT_TRUE(write_file_atomic(dir + "/report.md", "report\n").ok());
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_EQ(slurp(dir + "/report.md"), "report\n");
  // A symlink at the name itself is replaced, not followed.
  ASSERT_EQ(::symlink(victim.c_str(), (dir + "/summary.csv").c_str()), 0);
  ASSERT_TRUE(write_file_atomic(dir + "/summary.csv", "csv\n").ok());
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_EQ(slurp(dir + "/summary.csv"), "csv\n");
}

TEST(JsonFile, WriteThenReadBack) {
  TempDir tmp("results-test");
  std::string dir = tmp;
  std::string path = dir + "/manifest.json";
  nlohmann::json j = {{"schema_version", kSchemaVersion}, {"kernel", "6.18.0"}};
  ASSERT_TRUE(write_json_atomic(path, j).ok());
  auto back = read_json_file(path);
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(*back, j);

  ASSERT_TRUE(write_file_atomic(path, "{not json").ok());
  auto bad = read_json_file(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find(path), std::string::npos);
}

TEST(MakeDirs, CreatesNestedAndAcceptsExisting) {
  TempDir tmp("results-test");
  std::string dir = tmp;
  std::string nested = dir + "/a/b/c";
  ASSERT_TRUE(make_dirs(nested).ok());
  struct stat st;
  ASSERT_EQ(::stat(nested.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_TRUE(make_dirs(nested).ok());
  EXPECT_TRUE(make_dirs(nested + "/").ok());

  ASSERT_TRUE(write_file_atomic(dir + "/file", "x").ok());
  EXPECT_FALSE(make_dirs(dir + "/file").ok());
  EXPECT_FALSE(make_dirs(dir + "/file/sub").ok());
}

}  // namespace
}  // namespace memplace
