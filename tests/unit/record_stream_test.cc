// SPDX-License-Identifier: GPL-2.0-only
// The testbed's guest->host record stream: what the host accepts from an untrusted guest, and
// that what the guest end writes the host end turns back into the same results.
#include "testbed/record_stream.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/files.h"
#include "golden.h"
#include "test_support.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

using memplace::testing::slurp;

std::string temp_out(const std::string& name) {
  return testing::fresh_temp_dir("record-stream-test-" + name);
}

TEST(RecordStream, ClassifiesGuestLines) {
  EXPECT_EQ(classify_guest_line("{\"type\":\"hello\",\"kernel\":\"7.3.4\"}").kind,
            GuestLine::Kind::kHello);
  EXPECT_EQ(classify_guest_line("{\"type\":\"end\",\"exit_code\":0}\r").kind,
            GuestLine::Kind::kEnd);
  EXPECT_EQ(classify_guest_line("{\"type\":\"log\",\"message\":\"x\"}").kind,
            GuestLine::Kind::kLog);
  EXPECT_EQ(classify_guest_line("{\"run_id\":\"r0001\",\"status\":\"ok\"}").kind,
            GuestLine::Kind::kRecord);
  auto bad = classify_guest_line("{\"run_id\": ");
  EXPECT_EQ(bad.kind, GuestLine::Kind::kMalformed);
  EXPECT_EQ(bad.error, "malformed JSON");
  EXPECT_EQ(classify_guest_line("[1,2]").kind, GuestLine::Kind::kMalformed);
  EXPECT_EQ(classify_guest_line("").kind, GuestLine::Kind::kMalformed);
}

TEST(RecordStream, SamplesPathRefusesHostileNames) {
  EXPECT_TRUE(safe_samples_path("samples/r0001.csv"));
  EXPECT_TRUE(safe_samples_path("samples/run_2-b.v1.csv"));
  for (const char* bad :
       {"", "samples/", "samples/.csv", "samples/r0001.txt", "r0001.csv", "/etc/passwd",
        "/tmp/out/samples/r0001.csv", "samples/../runs.jsonl", "samples/../../x.csv",
        "samples/../x.csv", "samples/a/b.csv", "samples/.hidden.csv", "samples/a\\b.csv",
        "samples/a b.csv", "samples//a.csv", "SAMPLES/a.csv", "samples/a.csv/", "../samples/a.csv",
        "samples/a\n.csv"}) {
    EXPECT_FALSE(safe_samples_path(bad)) << bad;
  }
  EXPECT_FALSE(safe_samples_path(std::string("samples/a\0b.csv", 15)));
  EXPECT_FALSE(safe_samples_path("samples/" + std::string(200, 'a') + ".csv"));
}

TEST(RecordStream, StoresGuestSamplesOnlyUnderSamples) {
  std::string dir = temp_out("store-samples");
  auto ok = store_guest_samples(
      dir, {{"type", "samples"}, {"file", "samples/r0001.csv"}, {"csv", "t_seconds,node\n"}});
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(*ok, "samples/r0001.csv");
  EXPECT_EQ(slurp(dir + "/samples/r0001.csv"), "t_seconds,node\n");

  auto escape = store_guest_samples(
      dir, {{"type", "samples"}, {"file", "samples/../escape.csv"}, {"csv", "x"}});
  EXPECT_FALSE(escape.ok());
  EXPECT_FALSE(fs::exists(dir + "/escape.csv"));
  EXPECT_FALSE(store_guest_samples(dir, {{"type", "samples"}, {"file", 7}, {"csv", "x"}}).ok());
  EXPECT_FALSE(store_guest_samples(dir, {{"type", "samples"}, {"file", "samples/a.csv"}}).ok());
  auto big = store_guest_samples(dir, {{"type", "samples"},
                                       {"file", "samples/big.csv"},
                                       {"csv", std::string(kMaxGuestSamplesBytes + 1, 'x')}});
  EXPECT_FALSE(big.ok());
  EXPECT_FALSE(fs::exists(dir + "/samples/big.csv"));
  EXPECT_EQ(classify_guest_line(R"({"type":"samples","file":"samples/r1.csv","csv":""})").kind,
            GuestLine::Kind::kSamples);
  fs::remove_all(dir);
}

TEST(RecordStream, LocalityPathRefusesHostileNames) {
  EXPECT_TRUE(safe_locality_path("locality/r0001-triad.json"));
  EXPECT_TRUE(safe_locality_path("workloads/r0001-triad.json"));  // dirs from before the rename
  for (const char* bad :
       {"", "workloads/", "workloads/.json", "workloads/r1.csv", "samples/r1.json",
        "locality/../runs.jsonl", "workloads/../runs.jsonl", "workloads/../x.json",
        "workloads/a/b.json", "/tmp/out/workloads/r1.json", "r1.json"}) {
    EXPECT_FALSE(safe_locality_path(bad)) << bad;
  }
}

TEST(RecordStream, StoresOnlyGoogleBenchmarkJsonUnderLocalities) {
  std::string dir = temp_out("store-locality");
  std::string report = R"({"context":{"caches":[{"level":1}]},"benchmarks":[{"name":"chase/x",
      "run_type":"iteration","iterations":1,"real_time":1.5,"cpu_time":1.5,"time_unit":"us",
      "seconds_per_load":9e-8}]})";
  auto line = [&](const std::string& file, const std::string& text) {
    return nlohmann::json{{"type", "locality"}, {"file", file}, {"text", text}};
  };
  auto ok = store_guest_locality(dir, line("locality/r0001-chase.json", report));
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(*ok, "locality/r0001-chase.json");
  EXPECT_EQ(slurp(dir + "/locality/r0001-chase.json"), report);
  EXPECT_FALSE(store_guest_locality(dir, line("workloads/../escape.json", report)).ok());
  EXPECT_FALSE(fs::exists(dir + "/escape.json"));
  auto not_json = store_guest_locality(dir, line("workloads/r2.json", "{\"benchmarks\":"));
  EXPECT_FALSE(not_json.ok());
  auto no_benchmarks = store_guest_locality(dir, line("workloads/r3.json", R"({"context":{}})"));
  ASSERT_FALSE(no_benchmarks.ok());
  EXPECT_NE(no_benchmarks.error().message.find("benchmarks"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir + "/workloads/r2.json"));
  EXPECT_FALSE(fs::exists(dir + "/workloads/r3.json"));
  EXPECT_FALSE(
      store_guest_locality(dir, {{"type", "locality"}, {"file", "workloads/r4.json"}}).ok());
  EXPECT_FALSE(store_guest_locality(
                   dir, line("workloads/big.json", std::string(kMaxGuestLocalityBytes + 1, ' ')))
                   .ok());
  EXPECT_EQ(classify_guest_line(line("workloads/r1.json", "{}").dump()).kind,
            GuestLine::Kind::kLocality);
  fs::remove_all(dir);
}

// The guest end's lines, fed to the host end, give the host the same record and its samples
// file; a record naming a file the host never received is unlinked from it.
TEST(RecordStream, WriterLinesReadBackIntoTheKernelDir) {
  std::string guest = temp_out("guest"), host = temp_out("host");
  ASSERT_TRUE(make_dirs(guest + "/samples").ok());
  ASSERT_TRUE(make_dirs(host).ok());
  ASSERT_TRUE(write_file_atomic(guest + "/samples/r0001.csv", "t_seconds,node\n0,0\n").ok());
  RunRecord r;
  r.run_id = "r0001";
  r.cell_key = "default/anon/host/4MiB/t1/cpuany";
  r.policy = "default";
  r.backing = "anon";
  r.toucher = "host";
  r.size_bytes = 4 << 20;
  r.status = RunStatus::kOk;
  r.samples_file = "samples/r0001.csv";
  RunRecord lost = r;
  lost.run_id = "r0002";
  lost.repeat = 1;
  lost.samples_file = "samples/r0002.csv";  // never written, so never sent

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  auto writer = RecordStreamWriter::open("/proc/self/fd/" + std::to_string(fds[1]));
  ASSERT_TRUE(writer.ok()) << writer.error().describe();
  ASSERT_TRUE(writer->write(r, guest).ok());
  ASSERT_TRUE(writer->write(lost, guest).ok());
  close(fds[1]);
  writer = make_error("closed");  // the last write end goes
  std::string stream;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) stream.append(buf, n);
  close(fds[0]);

  auto runs = RunsWriter::open(host + "/runs.jsonl");
  ASSERT_TRUE(runs.ok());
  std::vector<std::string> said;
  Cell cell;  // the cell of r and lost, asked for twice
  cell.size_bytes = 4 << 20;
  Cell again = cell;
  again.repeat = 1;
  ASSERT_EQ(cell_key(cell), r.cell_key);
  RecordStreamReader reader({host, {cell, again}, {}, nullptr, RecordStreamReader::Clock::now()},
                            *runs, [&](const std::string& s) { said.push_back(s); });
  std::istringstream lines(stream);
  for (std::string line; std::getline(lines, line);) reader.on_line(line);
  EXPECT_EQ(reader.records(), 2);
  EXPECT_EQ(reader.summary().ok, 2);
  EXPECT_EQ(reader.received().size(), 2u);
  EXPECT_EQ(slurp(host + "/samples/r0001.csv"), "t_seconds,node\n0,0\n");
  auto back = read_runs(host + "/runs.jsonl");
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->records.size(), 2u);
  EXPECT_EQ(to_json(back->records[0]), to_json(r));
  EXPECT_EQ(back->records[1].samples_file, "");
  fs::remove_all(guest);
  fs::remove_all(host);
}

// Guest log lines are untrusted too: a message that is not a string is shown as the raw line.
TEST(RecordStream, LogLinesOfAnyShapeAreNotedNotFatal) {
  std::string host = temp_out("log");
  ASSERT_TRUE(make_dirs(host).ok());
  auto runs = RunsWriter::open(host + "/runs.jsonl");
  ASSERT_TRUE(runs.ok());
  std::vector<std::string> said;
  RecordStreamReader reader({host, {}, {}, nullptr, RecordStreamReader::Clock::now()}, *runs,
                            [&](const std::string& s) { said.push_back(s); });
  reader.on_line(R"({"type":"log","message":"modules loaded"})");
  reader.on_line(R"({"type":"log","message":7})");
  reader.on_line(R"({"type":"end","exit_code":0})");
  ASSERT_EQ(said.size(), 2u);
  EXPECT_EQ(said[0], "guest: modules loaded");
  EXPECT_EQ(said[1], R"(guest: {"type":"log","message":7})");
  EXPECT_EQ(reader.notes().size(), 2u);
  EXPECT_TRUE(reader.saw_end());
  EXPECT_EQ(reader.guest_exit_code(), 0);
  fs::remove_all(host);
}

}  // namespace
}  // namespace memplace
