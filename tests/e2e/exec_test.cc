// SPDX-License-Identifier: GPL-2.0-only
// memplace exec and --attach through the real binary: a command's memory per node from its own
// memory cgroup, its marker, its verdict; bad input leaves nothing behind; a stop signal reaches
// the command and the record is kept. Without a usable memory cgroup exec is unsupported for the
// probe's own reason.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "exec/exec_run.h"
#include "host_features.h"
#include "memplace_exec.h"
#include "results/results.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;
using testing::fresh_temp_dir;
using testing::run_memplace;
using namespace testing;  // host_feature, feature::, expect_unsupported_for

// memplace's exec cgroups are named for the memplace that made them (memplace-exec-PID-N);
// one whose memplace has exited was left behind. Other tests' live ones do not count.
int leftover_exec_cgroups() {
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator("/sys/fs/cgroup", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("memplace-exec-", 0) != 0) continue;
    const pid_t owner = static_cast<pid_t>(std::atol(name.c_str() + 14));
    n += ::kill(owner, 0) != 0;
  }
  return n;
}

bool memcg_or_unsupported() {
  if (host_feature(feature::memcg).available) return true;
  ExecOptions o;
  o.argv = {"true"};
  auto out = watch_exec(o);
  EXPECT_FALSE(out.ok());
  if (!out.ok()) expect_unsupported_for(out.error(), feature::memcg);
  return false;
}

TEST(Exec, ACommandsMemoryIsPlacedFromItsOwnCgroup) {
  if (!memcg_or_unsupported()) return;
  const std::string out = fresh_temp_dir("exec");
  // 48 MiB touched, said on stdout, then held a moment: the marker catches the whole of it.
  const std::string script = out + ".py";
  testing::write_text(script,
                      "import time\nb = bytearray(48 << 20)\nprint('touched', flush=True)\n"
                      "time.sleep(0.3)\n");
  auto e = run_memplace("exec --policy bind:0 --mark '^touched' --check --no-plots --out " + out +
                        " -- /usr/bin/python3 " + script);
  fs::remove(script);
  ASSERT_EQ(e.status, 0) << e.output;
  auto runs = read_runs(out + "/runs.jsonl");
  ASSERT_TRUE(runs.ok() && runs->records.size() == 1u);
  const RunRecord& r = runs->records[0];
  EXPECT_EQ(r.status, RunStatus::kOk);
  EXPECT_EQ(r.placement_source, "cgroup");
  EXPECT_GE(r.placement_pages.at(0), 12288u) << "the 48 MiB the command touched, and its heap";
  uint64_t marked = 0;
  for (const auto& [node, pages] : r.extra["exec"]["mark"]["total"].items())
    marked += pages.get<uint64_t>();
  EXPECT_GE(marked, 12288u) << r.extra["exec"].dump();
  ASSERT_TRUE(r.verdict.has_value());
  EXPECT_TRUE(r.verdict->honored) << r.verdict->reason;
  EXPECT_EQ(r.extra["exec"]["exit_status"], 0);
  EXPECT_EQ(r.extra["exec"]["mark"]["line"], "touched");
  EXPECT_TRUE(fs::exists(out + "/report.md"));
  EXPECT_EQ(leftover_exec_cgroups(), 0);
  fs::remove_all(out);
}

TEST(Exec, BadInputLeavesNothingBehind) {
  const std::string out = fresh_temp_dir("exec-bad");
  auto missing = run_memplace("exec --out " + out + " -- /nonexistent/command");
  EXPECT_EQ(missing.status, 2) << missing.output;
  EXPECT_NE(missing.output.find("/nonexistent/command: no such command"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));
  auto regex = run_memplace("exec --mark '(' --out " + out + " -- true");
  EXPECT_EQ(regex.status, 2) << regex.output;
  EXPECT_FALSE(fs::exists(out));
  auto gone = run_memplace("exec --attach 999999999 --out " + out);
  EXPECT_EQ(gone.status, 2) << gone.output;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(leftover_exec_cgroups(), 0);
}

TEST(Exec, AStopSignalReachesTheCommandAndTheRecordIsKept) {
  if (!memcg_or_unsupported()) return;
  const std::string out = fresh_temp_dir("exec-int");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(MEMPLACE_BINARY, MEMPLACE_BINARY, "exec", "--no-plots", "--out", out.c_str(), "--",
            "sleep", "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::usleep(500000);
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  auto runs = read_runs(out + "/runs.jsonl");
  ASSERT_TRUE(runs.ok() && runs->records.size() == 1u);
  EXPECT_EQ(runs->records[0].extra["exec"]["forwarded_signal"], SIGINT);
  EXPECT_EQ(runs->records[0].extra["exec"]["exit_status"], 128 + SIGINT);
  EXPECT_EQ(leftover_exec_cgroups(), 0);
  fs::remove_all(out);
}

TEST(Exec, AttachReadsARunningProcess) {
  if (!memcg_or_unsupported()) return;
  const pid_t holder = ::fork();
  if (holder == 0) {
    ::execl("/usr/bin/python3", "python3", "-c",
            "import time\nb = bytearray(48 << 20)\ntime.sleep(8)", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::usleep(700000);
  const std::string out = fresh_temp_dir("attach");
  auto e =
      run_memplace("exec --attach " + std::to_string(holder) + " --for 1 --no-plots --out " + out);
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  ASSERT_EQ(e.status, 0) << e.output;
  auto runs = read_runs(out + "/runs.jsonl");
  ASSERT_TRUE(runs.ok() && runs->records.size() == 1u);
  uint64_t pages = 0;
  for (const auto& [node, n] : runs->records[0].placement_pages) pages += n;
  EXPECT_GE(pages, 12000u) << "the holder's 48 MiB (the cgroup may hold more)";
  EXPECT_EQ(runs->records[0].toucher, "attach");
  fs::remove_all(out);
}

}  // namespace
}  // namespace memplace
