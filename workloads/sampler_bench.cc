// SPDX-License-Identifier: GPL-2.0-only
// sampler_bench: what per-node meminfo sampling at 100 Hz costs in CPU time, memplace's Sampler
// thread against spawning `numastat -m` (and reading its output) at the same rate. Each runs for
// --seconds of wall time while the main thread sleeps; cpu_percent is the process's (and, for
// numastat, its children's) user+system CPU time over that wall time, in % of one CPU.
//   sampler_bench [--seconds=3] [google benchmark flags]
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "bench_main.h"
#include "host/sampler.h"

extern char** environ;

namespace memplace {
namespace {

using Clock = std::chrono::steady_clock;
double g_seconds = 3;
constexpr auto kInterval = std::chrono::milliseconds(10);

double cpu_seconds(int who) {
  rusage ru{};
  ::getrusage(who, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec * 1e-6;
}

void report(benchmark::State& state, double cpu, double wall, double ticks) {
  state.SetIterationTime(wall);
  state.counters["cpu_percent"] = 100.0 * cpu / wall;
  state.counters["ticks"] = ticks;
  state.counters["cpu_us_per_tick"] = ticks > 0 ? cpu / ticks * 1e6 : 0;
}

void sampler_thread(benchmark::State& state) {
  for (auto _ : state) {
    double cpu0 = cpu_seconds(RUSAGE_SELF);
    auto t0 = Clock::now();
    Sampler sampler("", kInterval);
    sampler.start();
    std::this_thread::sleep_for(std::chrono::duration<double>(g_seconds));
    auto samples = sampler.stop();
    double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!sampler.error().empty()) state.SkipWithError(sampler.error().c_str());
    report(state, cpu_seconds(RUSAGE_SELF) - cpu0, wall, static_cast<double>(samples.size()));
  }
}

// One `numastat -m`, its output read through a pipe as a sampler would read it.
bool spawn_numastat() {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  char arg0[] = "numastat", arg1[] = "-m";
  char* argv[] = {arg0, arg1, nullptr};
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, "numastat", &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  char buf[8192];
  while (rc == 0 && ::read(fds[0], buf, sizeof buf) > 0) {
  }
  ::close(fds[0]);
  int status = 0;
  return rc == 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

void numastat_spawn(benchmark::State& state) {
  for (auto _ : state) {
    double cpu0 = cpu_seconds(RUSAGE_SELF) + cpu_seconds(RUSAGE_CHILDREN);
    auto t0 = Clock::now();
    auto end = t0 + std::chrono::duration<double>(g_seconds);
    auto next = t0;
    int ticks = 0;
    // Same schedule as the Sampler: ticks at fixed times from t0, a late one taken at once.
    while (Clock::now() < end) {
      if (!spawn_numastat()) {
        state.SkipWithError("numastat -m failed (apt-get install numactl)");
        return;
      }
      ++ticks;
      next += kInterval;
      std::this_thread::sleep_until(next);
    }
    double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    report(state, cpu_seconds(RUSAGE_SELF) + cpu_seconds(RUSAGE_CHILDREN) - cpu0, wall, ticks);
  }
}

}  // namespace
}  // namespace memplace

int main(int argc, char** argv) {
  using memplace::bench::Flag;
  Flag seconds{"--seconds", [](const char* v) { return (memplace::g_seconds = std::atof(v)) > 0; },
               "a positive number of seconds"};
  return memplace::bench::bench_main(argc, argv, "sampler_bench", {seconds}, [] {
    for (auto [name, fn] : {std::pair{"meminfo_sampler/100Hz", &memplace::sampler_thread},
                            std::pair{"numastat_m_spawn/100Hz", &memplace::numastat_spawn}}) {
      benchmark::RegisterBenchmark(name, fn)->Iterations(1)->UseManualTime()->Unit(
          benchmark::kMillisecond);
    }
  });
}
