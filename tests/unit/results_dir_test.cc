// SPDX-License-Identifier: GPL-2.0-only
// A results dir under crashes, garbage and a second writer (issue 14 items 1, 3-6, 13): each test
// is built from the issue's reproducer.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/dir_lock.h"
#include "results/results.h"
#include "test_support.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

class ResultsDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/memplace_results_dir_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    runs_ = dir_ + "/runs.jsonl";
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_, runs_;
};

// One record line as memplace writes it, for run `n` of a one-cell matrix.
std::string record_line(int n, const std::string& extra = "{}") {
  char id[16];
  std::snprintf(id, sizeof id, "r%04d", n);
  return std::string(R"({"schema_version":1,"run_id":")") + id +
         R"(","cell_key":"default/anon/host/4MiB/t1","repeat":)" + std::to_string(n - 1) +
         R"(,"policy":"default","nodes":[],"backing":"anon","toucher":"host","size_bytes":4194304,)"
         R"("status":"ok","samples_file":"samples/)" +
         id + R"(.csv","extra":)" + extra + "}";
}

using testing::nested;

// Item 1: report, compare and --resume read runs.jsonl; an `extra` or topology nested 100,000
// (here 1,000,000) deep segfaulted them. The line is skipped with a named reason; its neighbours
// stay.
TEST_F(ResultsDir, DeeplyNestedLinesAreSkippedByName) {
  std::string deep_env = record_line(2);
  deep_env.insert(deep_env.size() - 1,
                  R"(,"environment":{"kind":"testbed","topology":)" + nested(1000000, "") + "}");
  write(runs_, record_line(1) + "\n" + record_line(2, nested(1000000, "")) + "\n" + deep_env +
                   "\n" + record_line(3) + "\n");
  auto runs = read_runs(runs_);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->records.size(), 2u);
  ASSERT_EQ(runs->warnings.size(), 2u);
  for (const auto& w : runs->warnings)
    EXPECT_NE(w.find("nested deeper than 64 levels, line skipped"), std::string::npos) << w;
  // The skipped lines' run id still counts: r0002 is never handed out again.
  EXPECT_EQ(next_run_number(*runs, dir_), 4);
}

// Item 13: numbers no run can produce are refused, never printed as data.
TEST_F(ResultsDir, GarbageNumbersAreRefusedByField) {
  auto refuse = [&](const std::string& from, const std::string& to, const std::string& field) {
    std::string line = record_line(1);
    size_t at = line.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    line.replace(at, from.size(), to);
    auto parsed = parse_runs_text(line + "\n", "runs.jsonl");
    EXPECT_TRUE(parsed.records.empty()) << to;
    ASSERT_EQ(parsed.warnings.size(), 1u) << to;
    EXPECT_NE(parsed.warnings[0].find(field), std::string::npos) << parsed.warnings[0];
  };
  refuse(R"("repeat":0)", R"("repeat":1e20)", "repeat");
  refuse(R"("repeat":0)", R"("repeat":-1)", "repeat");
  refuse(R"("repeat":0)", R"("repeat":4294967296)", "repeat");
  refuse(R"("nodes":[])", R"("nodes":[4294967296])", "nodes");
  refuse(R"("extra":{})", R"("extra":{},"cpu_node":1e300)", "cpu_node");
  refuse(R"("extra":{})", R"("extra":{},"placement_pages":{"0":9223372036854775807,"1":1})",
         "placement_pages.0");
  refuse(R"("extra":{})", R"("extra":{},"meminfo_after":{"0":{"MemFree":18446744073709551615}})",
         "meminfo_after");
  // A number beyond a double does not even parse.
  refuse(R"("extra":{})", R"("extra":{},"populate_seconds":1e400)", "malformed JSON");
  refuse(R"("extra":{})",
         R"("extra":{},"verdict":{"honored":true,"expected":{"0":1},"measured":{"0":7}})",
         "share out of 0..1");
}

// Item 3: a torn last line took the next record with it. It is moved aside, the newline comes
// back, and the next append starts a line of its own.
TEST_F(ResultsDir, TornTailIsMovedAsideAndTheNextRecordIsWhole) {
  std::string three = record_line(1) + "\n" + record_line(2) + "\n" + record_line(3) + "\n";
  std::string torn = record_line(4).substr(0, 200);
  write(runs_, three + torn);
  auto note = repair_runs_tail(runs_);
  ASSERT_TRUE(note.ok()) << note.error().describe();
  EXPECT_NE(note->find("torn line (200 bytes"), std::string::npos) << *note;
  EXPECT_NE(note->find("runs.jsonl.torn-1"), std::string::npos) << *note;
  EXPECT_EQ(read(runs_), three);
  EXPECT_EQ(read(runs_ + ".torn-1"), torn);

  auto writer = RunsWriter::open(runs_);
  ASSERT_TRUE(writer.ok());
  auto rec = record_from_json(nlohmann::json::parse(record_line(4)));
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(writer->append(*rec).ok());
  auto runs = read_runs(runs_);
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->records.size(), 4u);
  EXPECT_TRUE(runs->warnings.empty()) << runs->warnings[0];

  // A second tear goes to torn-2; an intact file is left alone.
  write(runs_, three + "{\"run_id\":");
  ASSERT_TRUE(repair_runs_tail(runs_).ok());
  EXPECT_EQ(read(runs_ + ".torn-2"), "{\"run_id\":");
  auto intact = repair_runs_tail(runs_);
  ASSERT_TRUE(intact.ok());
  EXPECT_EQ(*intact, "");
}

TEST_F(ResultsDir, WholeRecordWithoutItsNewlineOnlyGetsTheNewline) {
  write(runs_, record_line(1) + "\n" + record_line(2));
  auto note = repair_runs_tail(runs_);
  ASSERT_TRUE(note.ok());
  EXPECT_NE(note->find("added it"), std::string::npos) << *note;
  EXPECT_EQ(read(runs_), record_line(1) + "\n" + record_line(2) + "\n");
  EXPECT_FALSE(fs::exists(runs_ + ".torn-1"));
}

// Item 4: a garbage middle line made --resume hand out r0004 again and overwrite its samples.
TEST_F(ResultsDir, NewRunIdsComeAfterTheHighestInUse) {
  write(runs_,
        record_line(1) + "\n" + record_line(2) + "\nnot json at all\n" + record_line(4) + "\n");
  auto runs = read_runs(runs_);
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->records.size(), 3u);
  EXPECT_EQ(next_run_number(*runs, dir_), 5);

  // A garbage line that still names its id, and a samples file of a torn record, count too.
  write(runs_, record_line(1) + "\n{\"run_id\":\"r0009\", broken\n");
  runs = read_runs(runs_);
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(next_run_number(*runs, dir_), 10);
  fs::create_directories(dir_ + "/samples");
  write(dir_ + "/samples/r0012.csv", "t\n");
  EXPECT_EQ(next_run_number(*runs, dir_), 13);
}

// Item 6: --out on someone's directory overwrote their report.md and manifest.json.
TEST_F(ResultsDir, OutMustBeNewOrEmpty) {
  EXPECT_TRUE(check_fresh_out_dir(dir_ + "/new").ok());
  EXPECT_TRUE(check_fresh_out_dir(dir_).ok());  // empty

  write(dir_ + "/report.md", "someone's notes\n");
  auto foreign = check_fresh_out_dir(dir_);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().message.find("holds no memplace results"), std::string::npos);

  write(dir_ + "/manifest.json", "{}");
  auto results = check_fresh_out_dir(dir_);
  ASSERT_FALSE(results.ok());
  EXPECT_NE(results.error().message.find("pass --resume"), std::string::npos);

  auto file = check_fresh_out_dir(dir_ + "/report.md");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message.find("is not a directory"), std::string::npos);
  EXPECT_EQ(read(dir_ + "/report.md"), "someone's notes\n");
}

// Item 5: a --resume next to a running run made 33 records of 18 cells. One holder at a time.
TEST_F(ResultsDir, SecondWriterIsToldWhoHoldsTheDir) {
  auto first = DirLock::acquire(dir_);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_EQ(read(dir_ + "/" + kDirLockName), std::to_string(::getpid()) + "\n");
  // flock is per open file: a second acquire conflicts even in this process, as another
  // memplace would.
  auto second = DirLock::acquire(dir_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, ErrorKind::kBadInput);
  EXPECT_EQ(second.error().message, dir_ + " is in use by pid " + std::to_string(::getpid()));
  // Released with its holder.
  { DirLock gone = std::move(*first); }
  EXPECT_TRUE(DirLock::acquire(dir_).ok());
}

}  // namespace
}  // namespace memplace
