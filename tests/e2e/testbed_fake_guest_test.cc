// SPDX-License-Identifier: GPL-2.0-only
// Issue 14's testbed reproducers through the real binary, with a fake QEMU in PATH: it connects
// to the records socket memplace listens on and sends what a hostile guest sent (a line nested
// 300,000 deep, records nobody asked for, 8 MiB log lines, numbers near 2^63), or hangs so the
// run can be interrupted and resumed. No kernel boots, so this runs wherever python3 does.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "memplace_exec.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;
using memplace::testing::fresh_temp_path;
using memplace::testing::run_memplace;
using memplace::testing::slurp;
using nlohmann::json;

// Sends FAKE_GUEST_LINES line by line. "@LOG BYTES COUNT" sends COUNT log lines of BYTES; "@HANG"
// touches FILE.hung and sleeps until killed. Writes its argv to FILE.argv.
constexpr const char* kFakeQemu = R"PY(#!/usr/bin/python3
import os, socket, sys, time
argv = sys.argv[1:]
if "-version" in argv:
    print("QEMU emulator version 9.2.0 (fake)")
    sys.exit(0)
lines_file = os.environ["FAKE_GUEST_LINES"]
open(lines_file + ".argv", "w").write("\n".join(argv))
path = next(p[5:] for a in argv for p in a.split(",") if p.startswith("path="))
s = socket.socket(socket.AF_UNIX)
s.connect(path)
for line in open(lines_file):
    if line.startswith("@LOG "):
        size, count = map(int, line.split()[1:])
        for _ in range(count):
            s.sendall(b'{"type":"log","message":"' + b"x" * size + b'"}\n')
    elif line.startswith("@HANG"):
        open(lines_file + ".hung", "w").close()
        time.sleep(600)
    else:
        s.sendall(line.encode())
s.close()
)PY";

std::vector<json> records_in(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) out.push_back(json::parse(l));
  return out;
}

class FakeGuest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 is absent";
    if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "/bin/busybox (the initramfs) is absent";
    dir_ = fresh_temp_path("fakeguest");
    fs::create_directories(dir_ + "/bin");
    std::ofstream(dir_ + "/bin/qemu-system-x86_64") << kFakeQemu;
    fs::permissions(dir_ + "/bin/qemu-system-x86_64", fs::perms::owner_all);
    for (const char* k : {"/kA", "/kB"}) std::ofstream(dir_ + k) << std::string(4096, '\0');
    lines_ = dir_ + "/lines";
    out_ = dir_ + "/out";
    // One real record of the cell every test asks for, to send back in the guest's name.
    auto local = run_memplace("run -q --backing anon --size 4MiB --no-plots --out " + dir_ + "/l");
    ASSERT_EQ(local.status, 0) << local.output;
    std::string runs = slurp(dir_ + "/l/runs.jsonl");
    record_ = json::parse(runs.substr(0, runs.find('\n')));
  }
  void TearDown() override {
    if (!HasFailure() && !dir_.empty()) fs::remove_all(dir_);
  }
  std::string env() const { return "PATH=" + dir_ + "/bin:$PATH FAKE_GUEST_LINES=" + lines_; }
  std::string record(int repeat, const std::string& id) const {
    json r = record_;
    r["repeat"] = repeat;
    r["run_id"] = id;
    return r.dump();
  }
  void send(const std::vector<std::string>& lines) const {
    std::ofstream f(lines_, std::ios::trunc);
    f << R"({"type":"hello","kernel":"fake"})"
      << "\n";
    for (const auto& l : lines) f << l << "\n";
  }
  memplace::testing::Exec run(const std::string& flags = "") const {
    return run_memplace("run --testbed --kernel " + dir_ + "/kA --backing anon --size 4MiB " +
                            "--no-plots --out " + out_ + " " + flags,
                        env());
  }
  json manifest(const std::string& kernel = "kA") const {
    return json::parse(slurp(out_ + "/" + kernel + "/manifest.json"));
  }
  std::string dir_, lines_, out_;
  json record_;
};

constexpr const char* kEnd = R"({"type":"end","exit_code":0})";

// Item 1: a 600 KB guest line nested 300,000 deep killed the host with SIGSEGV, leaving the
// manifest `running` and /tmp/memplace-testbed-* behind.
TEST_F(FakeGuest, LineNested300000DeepIsRefusedAndTheRunEndsCleanly) {
  json r = record_;
  r["extra"] = "DEEP";
  std::string deep = r.dump();
  deep.replace(deep.find("\"DEEP\""), 6, std::string(300000, '[') + std::string(300000, ']'));
  send({deep, kEnd});
  auto e = run();
  ASSERT_EQ(e.status, 0) << e.output.substr(0, 2000);
  EXPECT_NE(e.output.find("nested deeper than 64 levels"), std::string::npos);
  EXPECT_EQ(manifest()["status"], "complete");
  auto runs = records_in(out_ + "/kA/runs.jsonl");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["status"], "failed");  // never reported, so failed with the reason
  std::string argv = slurp(lines_ + ".argv");
  size_t at = argv.find("path=/tmp/memplace-testbed-");
  ASSERT_NE(at, std::string::npos) << argv;
  std::string sock = argv.substr(at + 5, argv.find_first_of(",\n", at) - at - 5);
  EXPECT_FALSE(fs::exists(fs::path(sock).parent_path())) << "temporary dir left behind";
}

// The guest's two time limits: testbed.boot_timeout_s until its hello, testbed.timeout_s from the
// hello on. A guest that never says hello fails after the first; one that hangs after it, after
// the second, and each message names the limit that ran out.
TEST_F(FakeGuest, BootAndRunTimeoutsAreSeparateAndNamed) {
  const std::string spec = dir_ + "/spec.toml";
  std::ofstream(spec) << "[matrix]\nbacking = [\"anon\"]\nsize = [\"4MiB\"]\n"
                      << "[testbed]\nkernels = [\"" << dir_ << "/kA\"]\nboot_timeout = 2\n"
                      << "timeout = 3\n";
  std::ofstream(lines_, std::ios::trunc) << "@HANG\n";  // no hello: the kernel never came up
  auto silent = run_memplace("run " + spec + " --no-plots --out " + out_, env());
  EXPECT_EQ(silent.status, 0) << silent.output;
  auto runs = records_in(out_ + "/kA/runs.jsonl");
  ASSERT_EQ(runs.size(), 1u) << silent.output;
  EXPECT_EQ(runs[0]["status"], "failed");
  EXPECT_NE(runs[0]["message"].get<std::string>().find("did not boot within 2 s"),
            std::string::npos)
      << runs[0]["message"];

  send({"@HANG"});  // hello, then nothing
  fs::remove_all(out_);
  auto hung = run_memplace("run " + spec + " --no-plots --out " + out_, env());
  EXPECT_EQ(hung.status, 0) << hung.output;
  runs = records_in(out_ + "/kA/runs.jsonl");
  ASSERT_EQ(runs.size(), 1u) << hung.output;
  EXPECT_NE(runs[0]["message"].get<std::string>().find("timed out after 3 s of running"),
            std::string::npos)
      << runs[0]["message"];
}

// Item 11: 3003 records for a one-run matrix were reported as "3004 ok".
TEST_F(FakeGuest, OneRecordPerExpectedRunAndTheRestAreCounted) {
  std::vector<std::string> lines = {record(0, "r0001"), record(0, "r0001")};
  json bogus = record_;
  for (int i = 0; i < 3001; ++i) {
    bogus["cell_key"] = "bogus/" + std::to_string(i);
    lines.push_back(bogus.dump());
  }
  lines.push_back(kEnd);
  send(lines);
  auto e = run();
  ASSERT_EQ(e.status, 0) << e.output.substr(0, 2000);
  EXPECT_NE(e.output.find("testbed: 1 ok"), std::string::npos);
  EXPECT_EQ(records_in(out_ + "/kA/runs.jsonl").size(), 1u);
  EXPECT_EQ(manifest()["records_received"], 1);
  EXPECT_EQ(manifest()["records_dropped"], 3002);
}

// Item 12: 20 log lines of 8 MiB made a 168 MB manifest.json.
// Each huge line is cut alone (GuestNotes keeps 1 KiB of a note; its count and total caps are
// unit-tested), so three such lines check what twenty did, at a seventh of the parsing.
TEST_F(FakeGuest, HugeLogLinesAreCutAndTheManifestStaysSmall) {
  std::ofstream(lines_) << R"({"type":"hello","kernel":"fake"})"
                        << "\n@LOG 8388608 3\n"
                        << record(0, "r0001") << "\n"
                        << kEnd << "\n";
  auto e = run();
  ASSERT_EQ(e.status, 0) << e.output.substr(0, 2000);
  EXPECT_LT(fs::file_size(out_ + "/kA/manifest.json"), 200u << 10);
  EXPECT_NE(manifest()["guest_notes"].dump().find("... (8388615 bytes)"), std::string::npos);
  EXPECT_EQ(records_in(out_ + "/kA/runs.jsonl").at(0)["status"], "ok");
}

// Item 13: page counts near 2^63 became a 100/0 split and `repeat: 1e20` became -2147483648.
TEST_F(FakeGuest, GarbageNumbersAreRefusedNotRecorded) {
  json huge = record_;
  huge["placement_pages"] = {{"0", 9223372036854775800ull}, {"1", 10}};
  std::string far = record(0, "r0001");
  far.replace(far.find("\"repeat\":0"), 10, "\"repeat\":1e20");
  send({huge.dump(), far, kEnd});
  auto e = run();
  ASSERT_EQ(e.status, 0) << e.output.substr(0, 2000);
  EXPECT_NE(e.output.find("placement_pages.0"), std::string::npos) << e.output;
  EXPECT_NE(e.output.find("skipped: repeat: missing or wrong type"), std::string::npos) << e.output;
  auto runs = records_in(out_ + "/kA/runs.jsonl");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["status"], "failed");
  EXPECT_EQ(runs[0]["repeat"], 0);
  EXPECT_EQ(runs[0]["placement_pages"].dump().find("9223372036854775800"), std::string::npos);
}

// Item 9: `--resume OUT` of a testbed run said "--out DIR is required". Interrupted during its
// first kernel, the run resumes: the first kernel boots for its missing run only, the second
// kernel runs in full.
TEST_F(FakeGuest, ResumeOutFinishesUnfinishedKernelsAndRuns) {
  send({record(0, "r0001"), "@HANG"});
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    std::string path = dir_ + "/bin:" + std::getenv("PATH");
    ::setenv("PATH", path.c_str(), 1);
    ::setenv("FAKE_GUEST_LINES", lines_.c_str(), 1);
    std::string ka = dir_ + "/kA", kb = dir_ + "/kB";
    ::execl(MEMPLACE_BINARY, MEMPLACE_BINARY, "run", "--testbed", "--kernel", ka.c_str(),
            "--kernel", kb.c_str(), "--backing", "anon", "--size", "4MiB", "--repeats", "2",
            "--no-plots", "--out", out_.c_str(), (char*)nullptr);
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!(fs::exists(lines_ + ".hung") &&
           slurp(out_ + "/kA/runs.jsonl").find('\n') != std::string::npos) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT);
  EXPECT_EQ(manifest()["status"], "interrupted");
  EXPECT_EQ(records_in(out_ + "/kA/runs.jsonl").size(), 1u);
  EXPECT_FALSE(fs::exists(out_ + "/kB/runs.jsonl"));

  // The guest answers for both repeats; kA asked for repeat 1 only and drops repeat 0.
  send({record(0, "r0001"), record(1, "r0002"), kEnd});
  auto one_kernel = run_memplace("run --resume " + out_ + "/kA", env());
  EXPECT_EQ(one_kernel.status, 2) << one_kernel.output;
  auto e = run_memplace("run --resume " + out_ + " --no-plots", env());
  ASSERT_EQ(e.status, 0) << e.output;
  for (const char* k : {"kA", "kB"}) {
    auto runs = records_in(out_ + "/" + k + "/runs.jsonl");
    ASSERT_EQ(runs.size(), 2u) << k;
    EXPECT_EQ(runs[0]["repeat"], 0) << k;
    EXPECT_EQ(runs[1]["repeat"], 1) << k;
    EXPECT_EQ(manifest(k)["status"], "complete") << k;
  }
  EXPECT_EQ(json::parse(slurp(out_ + "/manifest.json"))["status"], "complete");
  auto again = run_memplace("run --resume " + out_ + " --no-plots", env());
  EXPECT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("4 already done"), std::string::npos) << again.output;
}

}  // namespace
}  // namespace memplace
