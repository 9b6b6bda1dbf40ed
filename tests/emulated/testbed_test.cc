// SPDX-License-Identifier: GPL-2.0-only
// The testbed for real: QEMU (TCG here) boots Debian cloud kernels with 2 emulated nodes. The
// kernels are fetched once into the user's cache and reused by later runs.
#include "testbed/testbed.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "base/subprocess.h"
#include "experiment/record_builder.h"
#include "memplace/commands.h"
#include "memplace_exec.h"
#include "qemu/initramfs.h"
#include "report/report_hooks.h"
#include "results/results.h"
#include "testbed/record_stream.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

using memplace::testing::slurp;

std::string temp_out(const std::string& name) {
  return testing::fresh_temp_dir("testbed-test-" + name);
}

using testing::have_testbed_tools;

#define REQUIRE_TOOLS()                                                  \
  do {                                                                   \
    std::string missing;                                                 \
    if (!have_testbed_tools(&missing)) GTEST_SKIP() << "no " << missing; \
  } while (0)

Spec small_spec(const std::string& kernel, const std::string& matrix) {
  std::string toml = "name = \"testbed-test\"\n[matrix]\n" + matrix +
                     "\n[testbed]\nnodes = 2\nmem_per_node = \"768MiB\"\ncpus_per_node = 1\n"
                     "kernels = [\"" +
                     kernel + "\"]\ntimeout = 240\n";
  auto spec = parse_spec(toml, "testbed_test");
  EXPECT_TRUE(spec.ok()) << (spec.ok() ? "" : spec.error().describe());
  spec->source_text = toml;
  return *spec;
}

// The testbed as `memplace run` wires it: reports written when each results dir is done. No
// charts (report_command_test covers them), to keep the guests' CPU time to themselves.
Result<MatrixSummary> run_testbed_reported(const Spec& spec, const TestbedSpec& tb,
                                           RunOptions options, TestbedHostConfig host) {
  attach_testbed_report(options, host, ReportSettings{/*plots=*/false, /*html=*/true});
  return run_testbed(spec, tb, options, host);
}

TestbedHostConfig host_config() {
  TestbedHostConfig host;
  host.memplace_binary = MEMPLACE_BINARY;
  return host;
}

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(TestbedPure, FindsCellsWithoutRecordsByKeyAndRepeat) {
  Cell a;
  a.size_bytes = 4 << 20;
  Cell a1 = a;
  a1.repeat = 1;
  Cell b = a;
  b.backing = BackingKind::kShmem;
  std::set<std::pair<std::string, int>> got = {{cell_key(a), 0}, {cell_key(b), 0}};
  EXPECT_EQ(cells_without_records({a, a1, b}, got), (std::vector<size_t>{1}));
}

TEST(TestbedPure, FailedRecordDescribesTheCell) {
  Cell c;
  c.policy = PolicyMode::kInterleave;
  c.nodes = {0, 1};
  c.backing = BackingKind::kGuestMemfd;
  c.size_bytes = 64 << 20;
  Environment env;
  env.kind = "testbed";
  env.kernel = "7.3.4+deb13-cloud-amd64";
  RunRecord r = testbed_failed_record(c, "f0001", "guest timed out", env);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_EQ(r.cell_key, cell_key(c));
  EXPECT_EQ(r.policy, "interleave");
  EXPECT_EQ(r.backing, "guest_memfd");
  EXPECT_EQ(r.environment.kernel, "7.3.4+deb13-cloud-amd64");
  auto back = record_from_json(to_json(r));
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(back->message, "guest timed out");
}

TEST(TestbedPure, ConsoleTailAndFailureReason) {
  EXPECT_EQ(last_lines("a\nb\nc\n", 2), "b\nc");
  EXPECT_EQ(last_lines("a\r\nb\r\n", 5), "a\nb");
  EXPECT_EQ(last_lines("", 3), "");
  EXPECT_EQ(guest_failure_reason("...\nKernel panic - not syncing: VFS\n", false, 0), "panic");
  EXPECT_EQ(guest_failure_reason("booting", true, 137), "timeout");
  EXPECT_EQ(guest_failure_reason("booting", false, 1), "exit");
  EXPECT_EQ(panic_line("[ 9.0] a\r\n[ 9.1] Kernel panic - not syncing: sysrq\r\n[ 9.2] b\n"),
            "[ 9.1] Kernel panic - not syncing: sysrq");
  EXPECT_EQ(panic_line("all good\n"), "");
}

TEST(TestbedPure, GuestCommandCarriesAccelAndTopology) {
  TestbedSpec tb;
  auto topo = testbed_topology_json(tb);
  EXPECT_EQ(topo["nodes"].size(), 2u);
  EXPECT_EQ(topo["nodes"][1]["cpus"], nlohmann::json::array({1}));
  EXPECT_EQ(topo["nodes"][0]["mem_bytes"], 1ull << 30);
  std::string line = guest_memplace_line("tcg", topo);
  EXPECT_EQ(line.rfind("/memplace run /spec.toml --out /tmp/out --stream \"$PORT\" --env-kind "
                       "testbed --env-accel 'tcg' --env-topology '{",
                       0),
            0u)
      << line;
}

// A guest whose init only reports what it sees: proves the boot image, the module loading, the
// NUMA topology and the channel, without depending on memplace's matrix inside.
TEST(Testbed, ShellGuestSeesTwoNodesAndKvmAndStreamsLines) {
  REQUIRE_TOOLS();
  Spec spec =
      small_spec("debian:7", "policy = [\"default\"]\nbacking = [\"anon\"]\nsize = [\"4MiB\"]");
  TestbedHostConfig host = host_config();
  host.guest_run_line =
      "echo init-reached-run-line; "
      "say \"{\\\"type\\\":\\\"log\\\",\\\"message\\\":\\\"nodes=$(echo "
      "/sys/devices/system/node/node*) "
      "kvm=$(ls /dev/kvm)\\\"}\"; echo 'this is not json' > $PORT; "
      "echo '{\"truncated\": ' > $PORT";
  RunOptions options;
  options.out_dir = temp_out("shell");
  options.progress = true;
  auto summary = run_testbed_reported(spec, *spec.testbed, options, host);
  ASSERT_TRUE(summary.ok()) << summary.error().describe();

  // One kernel directory, named by release.
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(options.out_dir)) {
    if (e.is_directory()) dirs.push_back(e.path());
  }
  EXPECT_TRUE(fs::exists(options.out_dir + "/report.md"));
  EXPECT_TRUE(fs::exists(options.out_dir + "/report.html"));
  ASSERT_EQ(dirs.size(), 1u);
  std::string dir = dirs[0].string();
  EXPECT_EQ(dirs[0].filename().string().rfind("7.", 0), 0u) << dir;
  EXPECT_NE(dirs[0].filename().string().find("-cloud-amd64"), std::string::npos);

  auto manifest = nlohmann::json::parse(slurp(dir + "/manifest.json"));
  EXPECT_EQ(manifest["accel"], detect_accel("auto"));
  EXPECT_EQ(manifest["status"], "complete");
  EXPECT_GT(manifest["boot_seconds"].get<double>(), 0);
  std::string notes = manifest["guest_notes"].dump();
  EXPECT_NE(notes.find("node0"), std::string::npos) << notes;
  EXPECT_NE(notes.find("node1"), std::string::npos) << notes;
  EXPECT_NE(notes.find("kvm=/dev/kvm"), std::string::npos) << notes;
  EXPECT_NE(notes.find("malformed line from the guest (malformed JSON): this is not json"),
            std::string::npos)
      << notes;
  EXPECT_NE(slurp(dir + "/console.log").find("init-reached-run-line"), std::string::npos);
  EXPECT_FALSE(slurp(dir + "/spec.toml").empty());

  // The guest ran no matrix, so the one cell is a failed record that says so.
  auto lines = read_lines(dir + "/runs.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["status"], "failed");
  EXPECT_NE(lines[0]["message"].get<std::string>().find("without reporting this run"),
            std::string::npos);
  EXPECT_EQ(summary->failed, 1);
  if (!HasFailure()) fs::remove_all(options.out_dir);
}

// A user's own build is a kernel image plus a module tree; here the cached Debian 7.x files stand
// in for one. Also checks that a memory-only node and the distance matrix reach the guest.
TEST(Testbed, PathKernelWithModulesAndMemoryOnlyNodeWithDistances) {
  REQUIRE_TOOLS();
  auto debian = fetch_kernel("debian:7", "", KernelFetchOptions{});
  ASSERT_TRUE(debian.ok()) << debian.error().describe();
  Spec spec = small_spec(debian->vmlinuz,
                         "policy = [\"default\"]\nbacking = [\"anon\"]\nsize = [\"4MiB\"]");
  spec.testbed->modules_dir = debian->modules_dir;
  spec.testbed->nodes = 3;
  spec.testbed->mem_per_node_bytes = 512ull << 20;
  spec.testbed->memory_only_nodes = {2};
  spec.testbed->distances = {{10, 21, 31}, {21, 10, 21}, {31, 21, 10}};
  TestbedHostConfig host = host_config();
  host.guest_run_line =
      "say \"{\\\"type\\\":\\\"log\\\",\\\"message\\\":\\\"cpus2=[$(cat "
      "/sys/devices/system/node/node2/cpulist)] "
      "dist0=[$(cat /sys/devices/system/node/node0/distance)] kvm=$(ls /dev/kvm)\\\"}\"";
  RunOptions options;
  options.out_dir = temp_out("path");
  auto summary = run_testbed_reported(spec, *spec.testbed, options, host);
  ASSERT_TRUE(summary.ok()) << summary.error().describe();
  std::string dir = options.out_dir + "/vmlinuz";  // a path kernel is labelled by its file name
  ASSERT_TRUE(fs::exists(dir + "/manifest.json"));
  auto manifest = nlohmann::json::parse(slurp(dir + "/manifest.json"));
  EXPECT_EQ(manifest["kernel"]["requested"], debian->vmlinuz);
  EXPECT_NE(manifest["kernel"]["modules_included"].dump().find("\"kvm\""), std::string::npos);
  std::string notes = manifest["guest_notes"].dump();
  EXPECT_NE(notes.find("cpus2=[]"), std::string::npos) << notes;
  EXPECT_NE(notes.find("dist0=[10 21 31]"), std::string::npos) << notes;
  EXPECT_NE(notes.find("kvm=/dev/kvm"), std::string::npos) << notes;
  std::string cmd = manifest["qemu_command_line"];
  EXPECT_NE(cmd.find("-numa dist,src=0,dst=2,val=31"), std::string::npos) << cmd;
  if (!HasFailure()) fs::remove_all(options.out_dir);
}

// A guest kernel that panics ends QEMU at once (panic=1, -no-reboot); its runs say so.
TEST(Testbed, PanickingGuestMarksRunsFailedWithTheConsoleTail) {
  REQUIRE_TOOLS();
  Spec spec =
      small_spec("debian:7", "policy = [\"default\"]\nbacking = [\"anon\"]\nsize = [\"4MiB\"]");
  TestbedHostConfig host = host_config();
  host.guest_run_line = "echo c > /proc/sysrq-trigger; sleep 100000";
  RunOptions options;
  options.out_dir = temp_out("panic");
  auto summary = run_testbed_reported(spec, *spec.testbed, options, host);
  ASSERT_TRUE(summary.ok()) << summary.error().describe();
  EXPECT_EQ(summary->failed, 1);
  std::string dir;
  for (const auto& e : fs::directory_iterator(options.out_dir)) {
    if (e.is_directory()) dir = e.path().string();
  }
  auto lines = read_lines(dir + "/runs.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  std::string msg = lines[0]["message"];
  EXPECT_NE(msg.find("testbed guest kernel panicked"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Kernel panic - not syncing"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Rebooting in 1 seconds"), std::string::npos)
      << "console tail missing: " << msg;
  auto manifest = nlohmann::json::parse(slurp(dir + "/manifest.json"));
  EXPECT_EQ(manifest["status"], "panic");
  if (!HasFailure()) fs::remove_all(options.out_dir);
}

// Ctrl-C or SIGTERM during a run: QEMU is killed and reaped, and the unfinished runs are left
// without a record for --resume to run (as a local run leaves them), counted in the manifest.
TEST(Testbed, StopSignalKillsQemuAndRecordsTheInterruption) {
  REQUIRE_TOOLS();
  Spec spec =
      small_spec("debian:7", "policy = [\"default\"]\nbacking = [\"anon\"]\nsize = [\"4MiB\"]");
  spec.testbed->timeout_seconds = 120;
  TestbedHostConfig host = host_config();
  host.guest_run_line = "echo waiting-for-signal; sleep 100000";
  RunOptions options;
  options.out_dir = temp_out("signal");
  std::atomic<bool> finished{false};
  // Sends SIGTERM once the guest is up, and only while run_testbed is still running (its guard
  // turns the signal into a note instead of the default death).
  std::thread sender([&] {
    for (int i = 0; i < 1000 && !finished; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::error_code ec;  // the results dir appears only once the kernel is resolved
      for (const auto& e : fs::directory_iterator(options.out_dir, ec)) {
        if (slurp(e.path().string() + "/console.log").find("waiting-for-signal") !=
                std::string::npos &&
            !finished) {
          kill(getpid(), SIGTERM);
          return;
        }
      }
    }
  });
  auto summary = run_testbed_reported(spec, *spec.testbed, options, host);
  finished = true;
  sender.join();
  ASSERT_TRUE(summary.ok()) << summary.error().describe();
  EXPECT_EQ(summary->interrupted_by, SIGTERM);
  EXPECT_EQ(summary->failed, 0);
  std::string dir;
  for (const auto& e : fs::directory_iterator(options.out_dir)) {
    if (e.is_directory()) dir = e.path().string();
  }
  EXPECT_TRUE(read_lines(dir + "/runs.jsonl").empty());
  auto manifest = nlohmann::json::parse(slurp(dir + "/manifest.json"));
  EXPECT_EQ(manifest["status"], "interrupted");
  EXPECT_EQ(manifest["runs_unfinished"], 1);
  auto top = nlohmann::json::parse(slurp(options.out_dir + "/manifest.json"));
  EXPECT_EQ(top["kind"], "testbed-run");
  EXPECT_EQ(top["status"], "interrupted");
  for (const auto& p : fs::directory_iterator("/proc")) {
    std::string cmdline = slurp(p.path().string() + "/cmdline");
    EXPECT_EQ(cmdline.find(options.out_dir), std::string::npos) << p.path() << " outlived the run";
  }
  if (!HasFailure()) fs::remove_all(options.out_dir);
}

TEST(Testbed, HungGuestTimesOutAndEveryRunIsFailed) {
  REQUIRE_TOOLS();
  Spec spec = small_spec("debian:7",
                         "policy = [\"default\", \"bind:0\"]\nbacking = [\"anon\"]\n"
                         "size = [\"4MiB\"]");
  // The run timeout counts from the guest's hello, so a short one is safe on a slow, loaded
  // host: the boot has its own (testbed.boot_timeout_s, default 300 s).
  spec.testbed->timeout_seconds = 4;
  TestbedHostConfig host = host_config();
  host.guest_run_line = "echo hanging; sleep 100000";
  RunOptions options;
  options.out_dir = temp_out("hang");
  auto summary = run_testbed_reported(spec, *spec.testbed, options, host);
  ASSERT_TRUE(summary.ok()) << summary.error().describe();
  EXPECT_EQ(summary->failed, 2);
  std::string dir;
  for (const auto& e : fs::directory_iterator(options.out_dir)) {
    if (e.is_directory()) dir = e.path().string();
  }
  auto lines = read_lines(dir + "/runs.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& l : lines) {
    EXPECT_EQ(l["status"], "failed");
    std::string msg = l["message"];
    EXPECT_NE(msg.find("timed out after 4 s of running"), std::string::npos) << msg;
    EXPECT_NE(msg.find("hanging"), std::string::npos) << "console tail missing: " << msg;
  }
  auto manifest = nlohmann::json::parse(slurp(dir + "/manifest.json"));
  EXPECT_EQ(manifest["status"], "timeout");
  // The killed QEMU was reaped: no process still names this results dir on its command line.
  for (const auto& p : fs::directory_iterator("/proc")) {
    std::string cmdline = slurp(p.path().string() + "/cmdline");
    EXPECT_EQ(cmdline.find(options.out_dir), std::string::npos) << p.path() << " outlived the run";
  }
  if (!HasFailure()) fs::remove_all(options.out_dir);
}

}  // namespace
}  // namespace memplace

namespace memplace {
namespace {

// The memplace binary runs the matrix inside the guest; it must know the guest-side flags.
bool memplace_streams(std::string* why) {
  auto dry = run_command({MEMPLACE_BINARY, "run", "--stream", "/dev/null", "--env-kind", "testbed",
                          "--env-accel", "tcg", "--env-topology", "{}", "--dry-run"});
  if (!dry.ok() || dry->exit_code != 0) {
    *why = std::string(MEMPLACE_BINARY) + " does not accept the guest-side flags of 'run' yet";
    return false;
  }
  return true;
}

struct KernelResults {
  std::string dir;
  std::map<std::string, nlohmann::json> by_cell;  // "interleave/guest_memfd" -> record
};

double share(const nlohmann::json& record, const std::string& node) {
  const auto& pages = record["placement_pages"];
  double total = 0;
  for (const auto& [n, count] : pages.items()) total += count.get<double>();
  return total > 0 && pages.contains(node) ? pages[node].get<double>() / total : 0.0;
}

// Each run's samples CSV crosses the channel with its record and lands next to runs.jsonl.
TEST(Testbed, SamplesFilesReachTheHost) {
  REQUIRE_TOOLS();
  std::string why;
  if (!memplace_streams(&why)) GTEST_SKIP() << why;
  Spec spec = small_spec("debian:7",
                         "policy = [\"bind:1\", \"interleave:0-1\"]\n"
                         "backing = [\"anon\"]\ntoucher = [\"host\"]\n"
                         "size = [\"16MiB\"]\ncpu_node = [0]");
  RunOptions options;
  options.out_dir = temp_out("samples");
  auto summary = run_testbed_reported(spec, *spec.testbed, options, host_config());
  ASSERT_TRUE(summary.ok()) << summary.error().describe();
  EXPECT_EQ(summary->ok, 2);
  int kernels = 0;
  for (const auto& e : fs::directory_iterator(options.out_dir)) {
    if (!e.is_directory()) continue;
    ++kernels;
    std::string dir = e.path().string();
    auto records = read_lines(dir + "/runs.jsonl");
    ASSERT_EQ(records.size(), 2u);
    for (const auto& r : records) {
      std::string file = r["samples_file"].get<std::string>();
      ASSERT_TRUE(safe_samples_path(file)) << r.dump();
      std::string csv = slurp(dir + "/" + file);
      EXPECT_EQ(csv.rfind("t_seconds,node,MemUsed_kB,", 0), 0u)
          << file << ": " << csv.substr(0, 80);
      // Two emulated nodes: at least one sample row per node after the header.
      EXPECT_NE(csv.find("\n"), csv.rfind("\n")) << file;
      EXPECT_NE(csv.find(",1,"), std::string::npos) << file;
    }
    size_t files = 0;
    for ([[maybe_unused]] const auto& f : fs::directory_iterator(dir + "/samples")) ++files;
    EXPECT_EQ(files, 2u);
  }
  EXPECT_EQ(kernels, 1);
  if (!HasFailure()) fs::remove_all(options.out_dir);
}

// `[run] locality` in the testbed: `memplace run` inside the guest times the triad with Google
// Benchmark after each placement; its JSON crosses the channel ahead of the record, lands in the
// kernel's results dir, and the record links it. Emulated nodes have no real distance: this checks
// the plumbing, the figures are printed only.
TEST(Testbed, LocalityJsonReachesTheHostAndIsLinkedFromTheRecord) {
  REQUIRE_TOOLS();
  std::string why;
  if (!memplace_streams(&why)) GTEST_SKIP() << why;
  std::string toml =
      "name = \"testbed-locality\"\n[run]\nlocality = \"triad\"\n[matrix]\n"
      "policy = [\"bind:1\", \"interleave:0-1\"]\nbacking = [\"anon\"]\ntoucher = [\"host\"]\n"
      "size = [\"16MiB\"]\ncpu_node = [0]\n"
      "[testbed]\nnodes = 2\nmem_per_node = \"768MiB\"\ncpus_per_node = 1\n"
      "kernels = [\"debian:7\"]\ntimeout = 240\n";
  auto spec = parse_spec(toml, "testbed_test");
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  spec->source_text = toml;
  RunOptions options;
  options.out_dir = temp_out("locality");
  auto summary = run_testbed_reported(*spec, *spec->testbed, options, host_config());
  ASSERT_TRUE(summary.ok()) << summary.error().describe();
  EXPECT_EQ(summary->ok, 2);
  int kernels = 0;
  for (const auto& e : fs::directory_iterator(options.out_dir)) {
    if (!e.is_directory()) continue;
    ++kernels;
    std::string dir = e.path().string();
    auto records = read_lines(dir + "/runs.jsonl");
    ASSERT_EQ(records.size(), 2u);
    for (const auto& r : records) {
      ASSERT_EQ(r["status"], "ok") << r.dump();
      EXPECT_EQ(r["environment"]["kind"], "testbed");
      const auto& w = r["extra"]["locality"];
      ASSERT_TRUE(w.contains("file")) << w.dump();
      std::string file = w["file"].get<std::string>();
      EXPECT_EQ(file, "locality/" + r["run_id"].get<std::string>() + "-triad.json");
      auto j = nlohmann::json::parse(slurp(dir + "/" + file), nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << dir + "/" + file << " is missing or not JSON";
      EXPECT_TRUE(j["context"].is_object());
      EXPECT_EQ(w["benchmarks"], j["benchmarks"]) << "the record carries the results too";
      ASSERT_FALSE(j["benchmarks"].empty());
      const auto& b = j["benchmarks"][0];
      EXPECT_EQ(b["name"].get<std::string>().rfind("triad/threads:1/", 0), 0u) << b["name"];
      EXPECT_GT(b["bytes_per_second"].get<double>(), 0);
      std::printf("[measured] testbed (%s, TCG guest) %s triad, 1 thread, 16 MiB: %.3f GB/s\n",
                  e.path().filename().c_str(), r["policy"].get<std::string>().c_str(),
                  b["bytes_per_second"].get<double>() / 1e9);
    }
  }
  EXPECT_EQ(kernels, 1);
  if (!HasFailure()) fs::remove_all(options.out_dir);
}

// The cover letter's experiment in miniature, on the generic 6.18 kernel and the newest 7.x.
TEST(Testbed, PlacementOnGenericAndNumaAwareKernels) {
  REQUIRE_TOOLS();
  std::string why;
  if (!memplace_streams(&why)) GTEST_SKIP() << why;
  Spec spec = small_spec("debian:6.18",
                         "policy = [\"bind:1\", \"interleave:0-1\"]\n"
                         "backing = [\"anon\", \"shmem\", \"guest_memfd\"]\n"
                         "toucher = [\"host\"]\nsize = [\"64MiB\"]\ncpu_node = [0]");
  spec.testbed->kernels = {"debian:6.18", "debian:7"};
  spec.testbed->mem_per_node_bytes = 1ull << 30;
  RunOptions options;
  options.out_dir = temp_out("matrix");
  auto summary = run_testbed_reported(spec, *spec.testbed, options, host_config());
  ASSERT_TRUE(summary.ok()) << summary.error().describe();
  EXPECT_EQ(summary->failed, 0);

  std::map<std::string, KernelResults> kernels;  // "6.18" / "7"
  for (const auto& e : fs::directory_iterator(options.out_dir)) {
    if (!e.is_directory()) continue;
    std::string label = e.path().filename().string();
    std::string key = label.rfind("6.18.", 0) == 0 ? "6.18" : label.substr(0, 1);
    KernelResults& k = kernels[key];
    k.dir = e.path().string();
    for (const auto& r : read_lines(k.dir + "/runs.jsonl")) {
      EXPECT_EQ(r["status"], "ok") << r.dump();
      EXPECT_EQ(r["environment"]["kind"], "testbed");
      EXPECT_EQ(r["environment"]["kernel"], label);
      EXPECT_EQ(r["environment"]["accel"], detect_accel("auto"));
      EXPECT_EQ(r["environment"]["topology"]["nodes"].size(), 2u);
      k.by_cell[r["policy"].get<std::string>() + "/" + r["backing"].get<std::string>()] = r;
    }
    EXPECT_EQ(k.by_cell.size(), 6u) << label;
    auto manifest = nlohmann::json::parse(slurp(k.dir + "/manifest.json"));
    EXPECT_EQ(manifest["status"], "complete");
    EXPECT_EQ(manifest["schema_version"], kSchemaVersion);
    std::printf("[measured] %s: booted in %.1f s, done in %.1f s\n", label.c_str(),
                manifest["boot_seconds"].get<double>(), manifest["wall_seconds"].get<double>());
    for (const auto& [cell, r] : k.by_cell) {
      std::printf("[measured] %s %-24s N0 %5.1f%% N1 %5.1f%% honored=%s\n", label.c_str(),
                  cell.c_str(), 100 * share(r, "0"), 100 * share(r, "1"),
                  r["verdict"].is_object() ? r["verdict"]["honored"].dump().c_str() : "-");
    }
  }
  ASSERT_EQ(kernels.size(), 2u);
  ASSERT_TRUE(kernels.count("6.18") && kernels.count("7"));

  // anon and shmem follow the policy on both kernels.
  for (const auto& [name, k] : kernels) {
    for (const char* cell : {"bind/anon", "bind/shmem", "interleave/anon", "interleave/shmem"}) {
      ASSERT_TRUE(k.by_cell.count(cell)) << name << " " << cell;
      EXPECT_TRUE(k.by_cell.at(cell)["verdict"]["honored"].get<bool>()) << name << " " << cell;
    }
  }
  // The NUMA-aware kernel: guest_memfd interleave within 5 % of 50/50, bind entirely on node 1.
  const auto& numa = kernels["7"].by_cell;
  EXPECT_NEAR(share(numa.at("interleave/guest_memfd"), "0"), 0.5, 0.05);
  EXPECT_NEAR(share(numa.at("interleave/guest_memfd"), "1"), 0.5, 0.05);
  EXPECT_DOUBLE_EQ(share(numa.at("bind/guest_memfd"), "1"), 1.0);
  EXPECT_TRUE(numa.at("bind/guest_memfd")["verdict"]["honored"].get<bool>());
  // The cover letter's MemUsed deltas agree with the page placement (32 + 32 MiB); the guest's
  // per-CPU free lists would otherwise hide part of them.
  const auto& delta = numa.at("interleave/guest_memfd")["delta_used_mib"];
  EXPECT_NEAR(delta["0"].get<double>(), 32.0, 8.0) << delta.dump();
  EXPECT_NEAR(delta["1"].get<double>(), 32.0, 8.0) << delta.dump();
  // The generic kernel ignores the policy on guest_memfd.
  const auto& generic = kernels["6.18"].by_cell;
  EXPECT_FALSE(generic.at("bind/guest_memfd")["verdict"]["honored"].get<bool>());
  EXPECT_LT(share(generic.at("bind/guest_memfd"), "1"), 0.95);
  if (!HasFailure()) fs::remove_all(options.out_dir);
}

}  // namespace
}  // namespace memplace

namespace memplace {
namespace {

TEST(TestbedCommand, UnusableDebianVersionIsBadInputAndWritesNothing) {
  REQUIRE_TOOLS();
  RunArgs args;
  args.testbed = true;
  args.key_flags["--kernel"] = {"debian:5.10"};  // no such Debian cloud kernel
  args.out_dir = temp_out("bad-version");
  EXPECT_EQ(command_run(args), kExitBadInput);
  EXPECT_FALSE(fs::exists(args.out_dir));
}

}  // namespace
}  // namespace memplace

namespace memplace {
namespace {

// The dry run shows the exact QEMU line per kernel without fetching anything: with an empty
// cache the Debian kernel is a placeholder, a path kernel is its real path.
TEST(TestbedCommand, DryRunPrintsTheQemuCommandPerKernelWithoutFetching) {
  std::string dir = temp_out("dry-run");
  fs::create_directories(dir + "/cache");
  std::string image = dir + "/bzImage-test";
  std::ofstream(image) << "not a kernel";
  std::string spec = dir + "/spec.toml";
  std::ofstream(spec) << "name = \"dry\"\n[matrix]\npolicy = [\"interleave:0-1\"]\n"
                         "backing = [\"guest_memfd\"]\ntoucher = [\"host\"]\nsize = [\"64MiB\"]\n"
                         "cpu_node = [0]\n[testbed]\nnodes = 2\nmem_per_node = \"1GiB\"\n"
                         "cpus_per_node = 1\naccel = \"tcg\"\nkernels = [\"debian:7\", \""
                      << image << "\"]\n";
  auto r = run_command({"env", "XDG_CACHE_HOME=" + dir + "/cache", MEMPLACE_BINARY, "run", spec,
                        "--dry-run", "--out", dir + "/out"});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->exit_code, 0) << r->err;
  const std::string& out = r->out;
  std::vector<std::string> qemu_lines;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  qemu: ", 0) == 0) qemu_lines.push_back(line.substr(8));
  }
  ASSERT_EQ(qemu_lines.size(), 2u) << out;
  for (const auto& q : qemu_lines) {
    EXPECT_EQ(q.rfind("qemu-system-x86_64 ", 0), 0u) << q;
    EXPECT_NE(q.find(" -accel tcg,thread=single -cpu max "), std::string::npos) << q;
    EXPECT_NE(q.find(" -object memory-backend-ram,id=m1,size=1024M "), std::string::npos) << q;
    EXPECT_NE(q.find(" -numa node,nodeid=1,memdev=m1,cpus=1 "), std::string::npos) << q;
    EXPECT_NE(q.find(" -initrd '<initramfs built at run time>' "), std::string::npos) << q;
    EXPECT_NE(q.find("name=memplace.0"), std::string::npos) << q;
  }
  EXPECT_NE(qemu_lines[0].find(" -kernel '<kernel debian:7 not fetched>' "), std::string::npos)
      << qemu_lines[0];
  EXPECT_NE(qemu_lines[1].find(" -kernel " + image + " "), std::string::npos) << qemu_lines[1];
  EXPECT_NE(qemu_lines[1].find("file:" + dir + "/out/bzImage-test/console.log"), std::string::npos)
      << qemu_lines[1];
  EXPECT_NE(out.find("  debian:7 interleave:0-1/guest_memfd/host/64MiB/t1/cpu0 #0\n"),
            std::string::npos)
      << out;
  // Nothing fetched, nothing written where results go.
  EXPECT_FALSE(fs::exists(dir + "/cache/memplace/kernels"));
  EXPECT_FALSE(fs::exists(dir + "/out"));
  if (fs::exists(dir + "/cache/memplace/apt/state/lists")) {
    for (const auto& e : fs::recursive_directory_iterator(dir + "/cache/memplace/apt/state/lists"))
      EXPECT_TRUE(e.is_directory()) << e.path() << " was downloaded";
  }
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace memplace

namespace memplace {
namespace {

// A record line for `cell` as a guest would send it.
std::string guest_record(const Cell& cell, const std::string& run_id) {
  Environment env;
  env.kind = "testbed";
  RunRecord r = testbed_failed_record(cell, run_id, "done in an earlier session", env);
  return to_json(r).dump();
}

// Issue 14 item 9: `--resume OUT/<kernel>` said "--out DIR is required". `--resume OUT` skips a
// kernel whose runs are all done, and boots the others for their missing runs only: the guest
// resumes a copy of the kernel's dir, so it numbers its runs after the ones already there.
TEST(Testbed, ResumeFinishesOnlyTheUnfinishedRunsThroughTheCli) {
  REQUIRE_TOOLS();
  std::string why;
  if (!memplace_streams(&why)) GTEST_SKIP() << why;
  Spec spec = small_spec("debian:7",
                         "policy = [\"default\", \"bind:0\"]\nbacking = "
                         "[\"anon\"]\nsize = [\"4MiB\"]");
  spec.testbed->kernels = {"debian:7", "debian:7"};  // two dirs: <release> and <release>-2
  auto files = fetch_kernel("debian:7", "", KernelFetchOptions{});
  ASSERT_TRUE(files.ok()) << files.error().describe();
  std::vector<Cell> cells = expand(spec);
  ASSERT_EQ(cells.size(), 2u);
  std::string out = temp_out("resume");
  std::string done = out + "/" + files->label, half = done + "-2";
  fs::create_directories(done);
  fs::create_directories(half);
  std::ofstream(out + "/spec.toml") << render_spec_toml(spec);
  std::ofstream(done + "/runs.jsonl") << guest_record(cells[0], "r0001") << "\n"
                                      << guest_record(cells[1], "r0002") << "\n";
  std::ofstream(half + "/runs.jsonl") << guest_record(cells[0], "r0007") << "\n";

  // A kernel's own dir is not what --resume takes.
  std::ofstream(half + "/manifest.json") << R"({"kind":"testbed","status":"interrupted"})";
  auto wrong = run_command({MEMPLACE_BINARY, "run", "--resume", half});
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->exit_code, kExitBadInput) << wrong->err;
  EXPECT_NE(wrong->err.find("resume the directory above it"), std::string::npos) << wrong->err;

  auto r = run_command({MEMPLACE_BINARY, "run", "--resume", out});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->err;
  EXPECT_NE(r->err.find("3 already done"), std::string::npos) << r->err;  // 2 + 1 of 4
  EXPECT_FALSE(fs::exists(done + "/console.log")) << "a finished kernel booted again";
  auto lines = read_lines(half + "/runs.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["run_id"], "r0007");
  EXPECT_EQ(lines[1]["cell_key"], cell_key(cells[1]));
  EXPECT_EQ(lines[1]["status"], "ok") << lines[1].dump();
  EXPECT_EQ(lines[1]["run_id"], "r0008") << "the guest numbers after the ids in use";
  auto manifest = nlohmann::json::parse(slurp(half + "/manifest.json"));
  EXPECT_EQ(manifest["status"], "complete");
  EXPECT_EQ(manifest["runs_done_before"], 1);
  EXPECT_EQ(manifest["records_dropped"], 0);
  auto top = nlohmann::json::parse(slurp(out + "/manifest.json"));
  EXPECT_EQ(top["status"], "complete");
  if (!HasFailure()) fs::remove_all(out);
}

// Issue 14 items 1, 11 and 12 with a fake guest: records for runs nobody asked for, a duplicate,
// a line nested deeper than the host accepts, and megabytes of log text. The host keeps one
// record and a bounded manifest, and counts the rest.
TEST(Testbed, HostileGuestStreamIsCheckedAndBounded) {
  REQUIRE_TOOLS();
  Spec spec =
      small_spec("debian:7", "policy = [\"default\"]\nbacking = [\"anon\"]\nsize = [\"4MiB\"]");
  std::vector<Cell> cells = expand(spec);
  ASSERT_EQ(cells.size(), 1u);
  std::string ok = to_json(record_for_cell(cells[0], "r0001", Environment{})).dump();
  nlohmann::json bogus = nlohmann::json::parse(ok);
  bogus["cell_key"] = "bogus/cell";
  TestbedHostConfig host = host_config();
  host.guest_run_line = "R=" + shell_quote(ok) + "; B=" + shell_quote(bogus.dump()) + R"(
say "$R"; say "$R"
i=0; while [ $i -lt 100 ]; do say "$B"; i=$((i+1)); done
D=1; i=0; while [ $i -lt 200 ]; do D="[$D]"; i=$((i+1)); done
say "{\"extra\":$D}"
M=xxxxxxxx; i=0; while [ $i -lt 13 ]; do M=$M$M; i=$((i+1)); done
i=0; while [ $i -lt 100 ]; do say "{\"type\":\"log\",\"message\":\"$M\"}"; i=$((i+1)); done)";
  RunOptions options;
  options.out_dir = temp_out("hostile");
  auto summary = run_testbed(spec, *spec.testbed, options, host);
  ASSERT_TRUE(summary.ok()) << summary.error().describe();
  EXPECT_EQ(summary->ok + summary->failed + summary->unsupported, 1);
  std::string dir;
  for (const auto& e : fs::directory_iterator(options.out_dir))
    if (e.is_directory()) dir = e.path().string();
  auto lines = read_lines(dir + "/runs.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["cell_key"], cell_key(cells[0]));
  auto manifest = nlohmann::json::parse(slurp(dir + "/manifest.json"));
  EXPECT_EQ(manifest["records_received"], 1);
  EXPECT_EQ(manifest["records_dropped"], 101);  // 1 duplicate, 100 for runs never asked for
  std::string notes = manifest["guest_notes"].dump();
  EXPECT_NE(notes.find("nested deeper than 64 levels"), std::string::npos) << notes.substr(0, 500);
  EXPECT_NE(notes.find("a second record of one run"), std::string::npos);
  EXPECT_NE(notes.find("more notes from the guest dropped"), std::string::npos);
  // 100 log lines of 64 KiB: each note is cut to 1 KiB, the notes stop at 64 KiB, and the
  // manifest stays small.
  EXPECT_NE(notes.find("... (65543 bytes)"), std::string::npos) << notes.substr(0, 500);
  EXPECT_LT(fs::file_size(dir + "/manifest.json"), 200u << 10);
  if (!HasFailure()) fs::remove_all(options.out_dir);
}

}  // namespace
}  // namespace memplace
