// SPDX-License-Identifier: GPL-2.0-only
// The static guest agent run on the host over a socketpair: the protocol as the guest speaks
// it, without booting anything.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "agent/agent_protocol.h"
#include "host/sysfs.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

std::string agent_path() {
  return (fs::path(MEMPLACE_BINARY).parent_path() / "guest-agent" / "memplace-agent").string();
}

class AgentOnHost : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(agent_path().c_str(), X_OK), 0) << "build guest-agent first";
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      int fd = dup(sv[1]);  // without CLOEXEC
      std::string fds = std::to_string(fd);
      std::string path = agent_path();
      execl(path.c_str(), path.c_str(), "--fd", fds.c_str(), "--poweroff-wait", "10",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(sv[1]);
    fd_ = sv[0];
  }
  void TearDown() override {
    if (fd_ >= 0) close(fd_);
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // The next line, or "" after 20 s.
  std::string read_line() {
    while (true) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20000) <= 0) return "";
      char tmp[4096];
      ssize_t n = read(fd_, tmp, sizeof tmp);
      if (n <= 0) return "";
      buf_.append(tmp, n);
    }
  }
  void send(const std::string& line) {
    std::string data = line + "\n";
    ASSERT_EQ(write(fd_, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  }
  int wait_exit() {
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  // Skips logs and progress; returns the first other message.
  Result<GuestMessage> next_message() {
    while (true) {
      std::string line = read_line();
      if (line.empty()) return make_error("no line from the agent");
      auto m = decode_guest_message(line);
      if (!m) return m;
      if (std::holds_alternative<AgentLog>(*m) || std::holds_alternative<AgentProgress>(*m))
        continue;
      return m;
    }
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  bool reaped_ = false;
  std::string buf_;
};

TEST_F(AgentOnHost, HelloGoDonePoweroff) {
  auto hello = next_message();
  ASSERT_TRUE(hello.ok()) << hello.error().describe();
  auto* h = std::get_if<AgentHello>(&*hello);
  ASSERT_NE(h, nullptr);
  EXPECT_FALSE(h->kernel.empty());
  EXPECT_FALSE(h->nodes.empty());
  EXPECT_GE(h->cpus, 1);
  EXPECT_GT(h->mem_bytes, 0u);
  EXPECT_EQ(h->localities, (std::vector<std::string>{"triad", "chase"}));

  AgentGo go;
  go.size_bytes = 32ull << 20;
  go.threads = 2;
  go.node = h->nodes.front();
  send(encode_host_message(go));
  auto done = next_message();
  ASSERT_TRUE(done.ok()) << done.error().describe();
  auto* d = std::get_if<AgentDone>(&*done);
  ASSERT_NE(d, nullptr) << "expected done";
  EXPECT_EQ(d->bytes, 32ull << 20);
  EXPECT_EQ(d->per_thread_seconds.size(), 2u);
  // The host kernel is 6.18 (MADV_POPULATE_WRITE); no thp in go means auto, which madvise
  // accepts wherever the kernel has THP at all.
  auto thp = read_thp_setting("", "enabled");
  EXPECT_EQ(d->method, thp.ok() ? "madv_populate_write+thp" : "madv_populate_write");
  send(encode_host_message(AgentPoweroff{}));
  EXPECT_EQ(wait_exit(), 0);  // not PID 1: it exits instead of powering off
}

TEST_F(AgentOnHost, ForcedStorePerPageAndGarbageFromTheHost) {
  ASSERT_TRUE(next_message().ok());
  send("this is not a host message");
  auto log = read_line();
  auto m = decode_guest_message(log);
  ASSERT_TRUE(m.ok()) << log;
  ASSERT_TRUE(std::holds_alternative<AgentLog>(*m)) << log;
  AgentGo go;
  go.size_bytes = 8ull << 20;
  go.threads = 1;
  go.method = "store_per_page";
  go.thp = "off";  // 4 KiB pages: the method name carries no +thp
  send(encode_host_message(go));
  auto done = next_message();
  ASSERT_TRUE(done.ok()) << done.error().describe();
  ASSERT_TRUE(std::holds_alternative<AgentDone>(*done));
  EXPECT_EQ(std::get<AgentDone>(*done).method, "store_per_page");
  send(encode_host_message(AgentPoweroff{}));
  EXPECT_EQ(wait_exit(), 0);
}

TEST_F(AgentOnHost, BindingToAMissingNodeIsAnError) {
  ASSERT_TRUE(next_message().ok());
  AgentGo go;
  go.size_bytes = 4ull << 20;
  go.threads = 1;
  go.node = 63;
  send(encode_host_message(go));
  auto err = next_message();
  ASSERT_TRUE(err.ok()) << err.error().describe();
  ASSERT_TRUE(std::holds_alternative<AgentError>(*err));
  EXPECT_NE(std::get<AgentError>(*err).message.find("mbind"), std::string::npos);
  send(encode_host_message(AgentPoweroff{}));
  EXPECT_EQ(wait_exit(), 1);
}

// After done, the agent times the locality on the memory it holds, its workers pinned to the
// node's CPUs, and reports it in Google Benchmark's shape, marked as its own timing.
TEST_F(AgentOnHost, LocalityAfterDoneIsReportedAsGoogleBenchmarkJson) {
  auto hello = next_message();
  ASSERT_TRUE(hello.ok()) << hello.error().describe();
  const auto& h = std::get<AgentHello>(*hello);
  AgentGo go;
  go.size_bytes = 16ull << 20;
  go.threads = 2;
  go.node = h.nodes.front();
  go.locality = "triad";
  go.locality_repetitions = 3;
  go.locality_min_time_seconds = 0.01;
  send(encode_host_message(go));
  auto done = next_message();
  ASSERT_TRUE(done.ok()) << done.error().describe();
  ASSERT_TRUE(std::holds_alternative<AgentDone>(*done));
  auto report = next_message();
  ASSERT_TRUE(report.ok()) << report.error().describe();
  auto* w = std::get_if<AgentLocality>(&*report);
  ASSERT_NE(w, nullptr) << encode_guest_message(*report);
  EXPECT_EQ(w->kind, "triad");
  const auto& context = w->report["context"];
  EXPECT_EQ(context["timed_by"], "memplace-agent");
  EXPECT_NE(context["timer"].get<std::string>().find("not libbenchmark"), std::string::npos);
  EXPECT_EQ(context["guest_node"], h.nodes.front());
  // Pinned: two workers, each on a CPU of the node (not -1).
  ASSERT_EQ(context["cpus"].size(), 2u);
  for (const auto& c : context["cpus"]) EXPECT_GE(c.get<int>(), 0);
  const auto& b = w->report["benchmarks"];
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b.back()["aggregate_name"], "median");
  EXPECT_EQ(b.back()["name"].get<std::string>().rfind("triad/threads:2/", 0), 0u);
  EXPECT_GT(b.back()["bytes_per_second"].get<double>(), 0);
  send(encode_host_message(AgentPoweroff{}));
  EXPECT_EQ(wait_exit(), 0);
}

}  // namespace
}  // namespace memplace
