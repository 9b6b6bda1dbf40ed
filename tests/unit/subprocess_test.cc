// SPDX-License-Identifier: GPL-2.0-only
// The one spawner: exit codes and signals as memplace reports them, pipes, log files, and a child
// that cannot outlive the Child that owns it.
#include "base/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "base/files.h"

namespace memplace {
namespace {

TEST(RunCommand, CapturesBothStreamsAndTheExitCode) {
  auto r = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  auto ok = run_command_ok({"sh", "-c", "echo broken >&2; exit 1"});
  ASSERT_FALSE(ok.ok());
  EXPECT_NE(ok.error().message.find("exited with 1: broken"), std::string::npos)
      << ok.error().message;
}

TEST(RunCommand, AMissingProgramIsAnEnvironmentError) {
  auto r = run_command({"/nonexistent/memplace-no-such-tool"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kEnvironment);
  EXPECT_NE(r.error().message.find("not installed"), std::string::npos);
}

TEST(Child, ReportsASignalAs128PlusItAndWritesItsLog) {
  std::string log = std::filesystem::temp_directory_path() /
                    ("memplace-subprocess-test-" + std::to_string(getpid()) + ".log");
  SpawnOptions o;
  o.output = {ChildOutput::To::kFile, ChildOutput::To::kFile, log};
  auto child = Child::spawn({"sh", "-c", "echo to-log; echo err-to-log >&2; kill -TERM $$"}, o);
  ASSERT_TRUE(child.ok()) << child.error().describe();
  EXPECT_EQ(child->wait(), 128 + SIGTERM);
  EXPECT_EQ(child->term_signal(), SIGTERM);
  auto text = read_text_file(log);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "to-log\nerr-to-log\n");
  std::filesystem::remove(log);
}

TEST(Child, DestroyingItKillsAndReapsTheProgram) {
  pid_t pid;
  {
    auto child = Child::spawn({"sleep", "1000"}, SpawnOptions{});
    ASSERT_TRUE(child.ok());
    pid = child->pid();
    EXPECT_FALSE(child->poll_exit());
  }
  // Reaped, not a zombie: the pid is gone.
  EXPECT_NE(::kill(pid, 0), 0);
}

}  // namespace
}  // namespace memplace
