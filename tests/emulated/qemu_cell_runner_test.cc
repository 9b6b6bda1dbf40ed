// SPDX-License-Identifier: GPL-2.0-only
// End to end on this machine: a real TCG guest with the static agent, a memfd backend bound to
// host node 0, and the host's meminfo and QEMU's numa_maps around the touch. Plus the failure
// paths: a guest that never reports and a guest that sends garbage.
#include "qemu/qemu_cell_runner.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "agent/agent_protocol.h"
#include "base/subprocess.h"
#include "kernels/kernel_fetch.h"
#include "results/results.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

std::string agent_path() {
  return (fs::path(MEMPLACE_BINARY).parent_path() / "guest-agent" / "memplace-agent").string();
}

// Children of this process that are still alive (zombies included): QEMU must not be one.
std::vector<int> live_children() {
  std::vector<int> kids;
  DIR* d = opendir("/proc");
  if (!d) return kids;
  while (dirent* e = readdir(d)) {
    int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream f("/proc/" + std::string(e->d_name) + "/stat");
    std::string stat;
    std::getline(f, stat);
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(stat.c_str() + paren + 1, " %c %d", &state, &ppid) == 2 && ppid == getpid()) {
      kids.push_back(pid);
    }
  }
  closedir(d);
  return kids;
}

class QemuRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/qemu-system-x86_64", X_OK) != 0) {
      GTEST_SKIP() << "qemu-system-x86_64 is not installed";
    }
    ASSERT_EQ(access(agent_path().c_str(), X_OK), 0) << "build guest-agent first: " << agent_path();
    out_ = fs::temp_directory_path() / ("memplace-qemu-test-" + std::to_string(getpid()));
    fs::create_directories(out_ / "samples");
    ctx_.out_dir = out_.string();
    ctx_.sample_interval_ms = 20;
    ctx_.environment.kind = "local";
    options_.agent_binary = agent_path();
    options_.accel = "tcg";
    // The testbed's Debian kernel, from the shared cache (~/.cache/memplace).
    options_.kernel = "debian:7";
    options_.fetch.progress = false;
    cell_.policy = PolicyMode::kBind;
    cell_.nodes = {0};
    cell_.backing = BackingKind::kShmem;
    cell_.toucher = ToucherKind::kQemu;
    cell_.size_bytes = 256ull << 20;
    cell_.threads = 1;
  }
  void TearDown() override {
    std::error_code ec;
    if (!out_.empty() && !std::getenv("MEMPLACE_KEEP")) fs::remove_all(out_, ec);
  }

  fs::path out_;
  RunContext ctx_;
  QemuToucherOptions options_;
  Cell cell_;
};

// Node MemUsed is a whole-node figure, and this machine is shared with other builds and tests
// that allocate and free hundreds of MiB a second. The guest's own share is measured exactly by
// the guest RAM mapping's resident pages between go and done (asserted on every attempt); the
// MemUsed condition is retried on a few fresh guests and must hold on one of them, with every
// attempt's figures printed.
TEST_F(QemuRunTest, BindToNode0TouchesExactlyTheRequestedMemory) {
  constexpr int kAttempts = 4;
  bool memused_ok = false;
  for (int attempt = 1; attempt <= kAttempts && !memused_ok; ++attempt) {
    RunRecord r = run_qemu_cell(cell_, ctx_, "r000" + std::to_string(attempt), options_);
    ASSERT_EQ(r.status, RunStatus::kOk) << r.message << "\n" << to_json(r).dump(2);
    ASSERT_TRUE(r.delta_used_mib.count(0));
    ASSERT_TRUE(r.placement_pages.count(0));
    double delta = r.delta_used_mib.at(0);
    double guest_delta = r.extra["guest_ram_delta_mib"]["0"].get<double>();
    uint64_t n0 = r.placement_pages.at(0);
    std::printf(
        "attempt %d: boot %.2f s, agent touch %.3f s (%s), wall %.2f s; node 0 MemUsed delta "
        "%.1f MiB; guest RAM N0 delta %.1f MiB; numa_maps N0 %llu pages (%.1f MiB)\n",
        attempt, r.extra["boot_seconds"].get<double>(), r.populate_seconds,
        r.populate_method.c_str(), r.wall_seconds, delta, guest_delta,
        static_cast<unsigned long long>(n0), n0 * 4096.0 / (1 << 20));
    if (r.extra.contains("settle")) std::printf("  settle: %s\n", r.extra["settle"].dump().c_str());

    // QEMU's guest RAM mapping: the touch added 256 MiB on node 0 and nothing elsewhere.
    EXPECT_NEAR(guest_delta, 256.0, 25.6);
    EXPECT_GE(n0 * 4096, 256ull << 20);
    for (const auto& [node, pages] : r.placement_pages) {
      if (node != 0) {
        EXPECT_EQ(pages, 0u) << "node " << node;
      }
    }
    // The record is complete.
    ASSERT_TRUE(r.verdict.has_value());
    EXPECT_TRUE(r.verdict->honored) << r.verdict->reason;
    EXPECT_EQ(r.toucher, "qemu");
    EXPECT_FALSE(r.meminfo_before.empty());
    EXPECT_FALSE(r.meminfo_after.empty());
    EXPECT_GT(r.populate_seconds, 0);
    EXPECT_FALSE(r.populate_method.empty());
    EXPECT_EQ(r.extra["agent"]["bytes"].get<uint64_t>(), 256ull << 20);
    EXPECT_EQ(r.extra["qemu_version"].get<std::string>().substr(0, 1), "7");
    EXPECT_NE(r.extra["qemu_command"].get<std::string>().find("host-nodes=0,policy=bind"),
              std::string::npos);
    EXPECT_FALSE(r.extra["guest"]["kernel"].get<std::string>().empty());
    EXPECT_TRUE(fs::exists(out_ / r.samples_file));
    auto back = record_from_json(to_json(r));
    ASSERT_TRUE(back.ok()) << back.error().describe();
    EXPECT_EQ(back->status, RunStatus::kOk);
    EXPECT_TRUE(live_children().empty());

    // Less the per-CPU free lists' churn (the kernel's MemFree leaves them out), where known.
    const auto& less_pcp = r.extra["delta_used_less_pcp_mib"];
    double real = less_pcp.contains("0") ? less_pcp["0"].get<double>() : delta;
    std::printf("  node 0 MemUsed delta less per-CPU free lists: %.1f MiB\n", real);
    memused_ok = real > 256.0 * 0.9 && real < 256.0 * 1.1;
  }
  EXPECT_TRUE(memused_ok)
      << "node 0 MemUsed (less per-CPU free lists) never rose by 256 MiB +-10% between go and done";
}

TEST_F(QemuRunTest, SilentGuestFailsWithinItsTimeoutAndLeavesNoQemu) {
  options_.guest_run_line = "sleep 1000";
  options_.boot_timeout_seconds = 15;
  auto t0 = std::chrono::steady_clock::now();
  RunRecord r = run_qemu_cell(cell_, ctx_, "r0002", options_);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_NE(r.message.find("no answer"), std::string::npos) << r.message;
  EXPECT_LT(took, 15 + 10) << "the boot timeout was not enforced";
  EXPECT_TRUE(live_children().empty()) << "a QEMU outlived its run";
  ASSERT_TRUE(r.extra.contains("serial_log")) << to_json(r).dump(2);
  EXPECT_TRUE(fs::exists(out_ / r.extra["serial_log"].get<std::string>()));
}

// memplace's matrix catches SIGINT/SIGTERM with a handler of its own; the run must end at once,
// kill QEMU, and leave the signal visible to that handler.
std::atomic<int> g_matrix_saw{0};
void matrix_handler(int sig) {
  g_matrix_saw.store(sig);
}

TEST_F(QemuRunTest, SigtermKillsQemuAndReachesTheMatrixHandler) {
  struct sigaction sa {
  }, old{};
  sa.sa_handler = matrix_handler;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGTERM, &sa, &old), 0);
  options_.guest_run_line = "sleep 1000";
  options_.boot_timeout_seconds = 120;
  std::thread killer([] {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    kill(getpid(), SIGTERM);
  });
  RunRecord r = run_qemu_cell(cell_, ctx_, "r0006", options_);
  killer.join();
  sigaction(SIGTERM, &old, nullptr);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_NE(r.message.find("interrupted by signal 15"), std::string::npos) << r.message;
  EXPECT_LT(r.wall_seconds, 60);
  EXPECT_EQ(g_matrix_saw.load(), SIGTERM);
  EXPECT_TRUE(live_children().empty());
}

TEST_F(QemuRunTest, GarbageFromTheGuestFailsWithoutWaiting) {
  options_.guest_run_line =
      "for p in /sys/class/virtio-ports/*; do [ \"$(cat $p/name)\" = memplace.agent ] && "
      "echo 'this is not json' > /dev/${p##*/}; done; sleep 1000";
  options_.boot_timeout_seconds = 60;
  RunRecord r = run_qemu_cell(cell_, ctx_, "r0003", options_);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_NE(r.message.find("garbage"), std::string::npos) << r.message;
  EXPECT_LT(r.wall_seconds, 60) << "garbage should end the run before the timeout";
  EXPECT_TRUE(live_children().empty());
}

TEST_F(QemuRunTest, GuestMemfdOnThisQemuIsUnsupported) {
  cell_.backing = BackingKind::kGuestMemfd;
  RunRecord r = run_qemu_cell(cell_, ctx_, "r0004", options_);
  EXPECT_EQ(r.status, RunStatus::kUnsupported) << r.message;
  EXPECT_NE(r.message.find("guest-memfd"), std::string::npos) << r.message;
}

TEST_F(QemuRunTest, SnpPreflightRefusesClearly) {
  cell_.backing = BackingKind::kGuestMemfd;
  cell_.policy = PolicyMode::kInterleave;
  options_.snp = true;
  options_.snp_config.ovmf = "/nonexistent/OVMF.fd";
  RunRecord r = run_qemu_cell(cell_, ctx_, "r0005", options_);
  EXPECT_EQ(r.status, RunStatus::kUnsupported) << r.message;
  EXPECT_NE(r.message.find("SEV-SNP"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("/nonexistent/OVMF.fd"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("/dev/sev"), std::string::npos) << r.message;
  EXPECT_TRUE(live_children().empty());
}

// `--locality` on a qemu cell: the agent times the kernel on the memory it touched, and the
// host writes its report where the host toucher writes Google Benchmark's and links it the same
// way. TCG has no real memory timing: this checks the plumbing, the figures are printed only.
void expect_locality_linked(const RunRecord& r, const fs::path& out, const std::string& kind,
                            const std::string& figure) {
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message << "\n" << to_json(r).dump(2);
  ASSERT_TRUE(r.extra.contains("locality")) << to_json(r).dump(2);
  const auto& w = r.extra["locality"];
  ASSERT_FALSE(w.contains("error")) << w.dump();
  EXPECT_EQ(w["kind"], kind);
  EXPECT_EQ(w["timed_by"], "memplace-agent");
  ASSERT_TRUE(w.contains("file")) << w.dump();
  EXPECT_EQ(w["file"], "locality/" + r.run_id + "-" + kind + ".json");
  std::ifstream in(out / w["file"].get<std::string>());
  ASSERT_TRUE(in.good()) << "no file " << w["file"];
  auto j = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << "not JSON";
  EXPECT_TRUE(check_benchmark_json(j).ok());
  EXPECT_EQ(j["context"]["timed_by"], "memplace-agent");
  EXPECT_EQ(w["benchmarks"], j["benchmarks"]) << "the record carries the results too";
  const nlohmann::json* median = nullptr;
  for (const auto& b : j["benchmarks"]) {
    EXPECT_EQ(b["name"].get<std::string>().rfind(kind + "/threads:", 0), 0u) << b["name"];
    EXPECT_GT(b[figure].get<double>(), 0) << figure;
    if (b.value("aggregate_name", "") == "median") median = &b;
  }
  ASSERT_NE(median, nullptr) << j.dump(2);
  // The placement is still the touch's: the locality ran after done.
  EXPECT_TRUE(r.verdict && r.verdict->honored);
  if (figure == "bytes_per_second")
    std::printf("[measured] agent (TCG guest) triad, %d thread(s), 64 MiB: %.3f GB/s\n",
                std::max(1, r.threads), (*median)[figure].get<double>() / 1e9);
  else
    std::printf("[measured] agent (TCG guest) chase, 64 MiB: %.1f ns per load\n",
                (*median)[figure].get<double>() * 1e9);
}

TEST_F(QemuRunTest, TriadLocalityReportIsWrittenAndLinkedFromTheRecord) {
  cell_.size_bytes = 64ull << 20;
  cell_.threads = 2;
  ctx_.locality = "triad";
  options_.locality_repetitions = 3;
  options_.locality_min_time_seconds = 0.05;
  RunRecord r = run_qemu_cell(cell_, ctx_, "r0009", options_);
  expect_locality_linked(r, out_, "triad", "bytes_per_second");
  EXPECT_EQ(r.extra["locality"]["benchmarks"].size(), 4u);  // 3 repetitions and their median
  EXPECT_TRUE(live_children().empty());
}

TEST_F(QemuRunTest, ChaseLocalityReportIsWrittenAndLinkedFromTheRecord) {
  cell_.size_bytes = 64ull << 20;
  ctx_.locality = "chase";
  options_.locality_repetitions = 3;
  options_.locality_min_time_seconds = 0.05;
  RunRecord r = run_qemu_cell(cell_, ctx_, "r0010", options_);
  expect_locality_linked(r, out_, "chase", "seconds_per_load");
  EXPECT_TRUE(live_children().empty());
}

// A raw ext4 image built without root: mke2fs copies a directory tree into the new filesystem.
// It holds busybox, the agent at `agent_in_image` (none when empty) and a marker file.
std::string make_disk_image(const fs::path& dir, const std::string& agent_in_image) {
  fs::path tree = dir / "tree";
  for (const char* d : {"bin", "sbin", "proc", "sys", "dev", "tmp", "etc"})
    fs::create_directories(tree / d);
  fs::copy_file("/bin/busybox", tree / "bin/busybox");
  if (!agent_in_image.empty()) {
    fs::path dst = tree / agent_in_image.substr(1);
    fs::create_directories(dst.parent_path());
    fs::copy_file(agent_path(), dst);
  }
  std::ofstream(tree / "etc/memplace-disk") << "booted from the memplace test disk\n";
  std::string image = (dir / "guest.img").string();
  auto made = run_command({"mke2fs", "-q", "-F", "-t", "ext4", "-d", tree.string(), image, "32M"});
  if (!made || made->exit_code != 0) {
    ADD_FAILURE() << "mke2fs: " << (made ? made->err : made.error().describe());
    return "";
  }
  return image;
}

bool have_mke2fs() {
  for (const char* p : {"/usr/sbin/mke2fs", "/sbin/mke2fs"})
    if (access(p, X_OK) == 0) return true;
  return false;
}

// The spec's [qemu] table (through ctx.qemu, as `memplace run` passes it) boots a guest whose
// root is a user disk image: the initramfs carries no agent, only the virtio modules and a
// switch_root, so the hello and the touch can only come from the agent on the disk.
TEST_F(QemuRunTest, DiskImageWithThePreinstalledAgentBootsAndTouches) {
  if (!have_mke2fs()) GTEST_SKIP() << "mke2fs (e2fsprogs) is not installed";
  std::string image = make_disk_image(out_, "/usr/local/bin/memplace-agent");
  ASSERT_FALSE(image.empty());
  ctx_.qemu.kernel = "debian:7";
  ctx_.qemu.accel = "tcg";
  ctx_.qemu.disk_image = image;
  ctx_.qemu.disk_agent = "/usr/local/bin/memplace-agent";
  ctx_.qemu.boot_timeout_s = 120;
  ctx_.qemu.agent_timeout_s = 120;
  cell_.size_bytes = 64ull << 20;
  auto before = fs::last_write_time(image);
  RunRecord r = run_qemu_cell(cell_, ctx_, "r0007");
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message << "\n" << to_json(r).dump(2);
  std::printf("disk boot %.2f s, wall %.2f s, guest root %s, initramfs %llu bytes\n",
              r.extra["boot_seconds"].get<double>(), r.wall_seconds,
              r.extra["guest"].value("root", "?").c_str(),
              static_cast<unsigned long long>(r.extra["initramfs_bytes"].get<uint64_t>()));
  EXPECT_EQ(r.extra["guest_root"], "disk");
  // The agent, PID 1 after switch_root, found "/" on the virtio disk.
  EXPECT_EQ(r.extra["guest"]["root"].get<std::string>().rfind("/dev/vda ext4", 0), 0u)
      << to_json(r).dump(2);
  std::string cmd = r.extra["qemu_command"].get<std::string>();
  EXPECT_NE(cmd.find("file=" + image + ",if=virtio,format=raw,snapshot=on"), std::string::npos);
  EXPECT_NE(cmd.find("root=/dev/vda rw init=/usr/local/bin/memplace-agent"), std::string::npos);
  // The placement: bind to node 0, all of the 64 MiB there.
  EXPECT_EQ(r.extra["agent"]["bytes"].get<uint64_t>(), 64ull << 20);
  ASSERT_TRUE(r.placement_pages.count(0));
  EXPECT_GE(r.placement_pages.at(0) * 4096, 64ull << 20);
  for (const auto& [node, pages] : r.placement_pages)
    if (node != 0) {
      EXPECT_EQ(pages, 0u) << "node " << node;
    }
  ASSERT_TRUE(r.verdict.has_value());
  EXPECT_TRUE(r.verdict->honored) << r.verdict->reason;
  // snapshot=on: mounting ext4 read-write writes its superblock, but into QEMU's temporary
  // overlay, never into the user's file.
  EXPECT_EQ(fs::last_write_time(image), before);
  EXPECT_TRUE(live_children().empty());
}

// An image without the agent fails with the init's reason (its console line, read back once
// QEMU has powered off) instead of waiting out the boot timeout.
TEST_F(QemuRunTest, DiskImageWithoutTheAgentFailsWithTheReason) {
  if (!have_mke2fs()) GTEST_SKIP() << "mke2fs (e2fsprogs) is not installed";
  std::string image = make_disk_image(out_, "");
  ASSERT_FALSE(image.empty());
  ctx_.qemu.kernel = "debian:7";
  ctx_.qemu.accel = "tcg";
  ctx_.qemu.disk_image = image;
  ctx_.qemu.boot_timeout_s = 120;
  cell_.size_bytes = 64ull << 20;
  RunRecord r = run_qemu_cell(cell_, ctx_, "r0008");
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_NE(r.message.find("memplace-init: /sbin/memplace-agent is not in /dev/vda"),
            std::string::npos)
      << r.message;
  EXPECT_TRUE(r.extra.contains("serial_log"));
  EXPECT_TRUE(live_children().empty());
}

}  // namespace
}  // namespace memplace
