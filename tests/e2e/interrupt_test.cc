// SPDX-License-Identifier: GPL-2.0-only
// SIGINT mid-matrix: finished runs stay intact, the manifest says "interrupted", nothing is left
// running, and --resume finishes exactly the remaining cells.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "results/results.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  std::string line;
  while (std::getline(in, line)) n += !line.empty();
  return n;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.push_back(std::stoi(name));
  }
  return out;
}

TEST(Interrupt, SigintKeepsFinishedRunsAndResumeCompletes) {
  std::string out =
      (fs::temp_directory_path() / ("memplace-int-" + std::to_string(getpid()))).string();
  fs::remove_all(out);
  constexpr int kRepeats = 40;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    std::string repeats = std::to_string(kRepeats);
    execl(MEMPLACE_BINARY, MEMPLACE_BINARY, "run", "--backing", "anon,shmem", "--size", "32MiB",
          "--repeats", repeats.c_str(), "--out", out.c_str(), (char*)nullptr);
    _exit(127);
  }
  // Wait until a few runs are on disk, then interrupt mid-matrix.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (count_lines(out + "/runs.jsonl") < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_GE(count_lines(out + "/runs.jsonl"), 3u) << "memplace never produced runs";
  ASSERT_EQ(kill(pid, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT);
  EXPECT_TRUE(children_of(pid).empty());

  auto runs = read_runs(out + "/runs.jsonl");
  ASSERT_TRUE(runs.ok()) << runs.error().describe();
  EXPECT_TRUE(runs->warnings.empty()) << runs->warnings.front();
  size_t finished = runs->records.size();
  EXPECT_GE(finished, 3u);
  EXPECT_LT(finished, 2u * kRepeats) << "the interrupt came too late to test anything";
  for (const auto& r : runs->records) EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
  auto manifest = read_json_file(out + "/manifest.json");
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ((*manifest)["status"], "interrupted");

  std::string resume = std::string(MEMPLACE_BINARY) + " run -q --resume " + out + " 2>&1";
  ASSERT_EQ(system(resume.c_str()), 0);
  auto all = read_runs(out + "/runs.jsonl");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->records.size(), 2u * kRepeats);
  std::set<std::string> keys;
  for (const auto& r : all->records) keys.insert(r.cell_key + "#" + std::to_string(r.repeat));
  EXPECT_EQ(keys.size(), 2u * kRepeats) << "resume duplicated a finished run";
  for (size_t i = 0; i < finished; ++i)
    EXPECT_EQ(all->records[i].run_id, runs->records[i].run_id) << "resume rewrote finished runs";
  auto resumed_manifest = read_json_file(out + "/manifest.json");
  ASSERT_TRUE(resumed_manifest.ok());
  EXPECT_EQ((*resumed_manifest)["status"], "complete");
  fs::remove_all(out);
}

}  // namespace
}  // namespace memplace
