// SPDX-License-Identifier: GPL-2.0-only
// The one message schema between the harness and the guest agent (guest-agent/): JSON objects,
// one per line, each with a "type". Compiled into both programs, so the two cannot drift.
//
// guest -> host
//   {"type":"hello","protocol":2,"kernel":"7.3.4+deb13-cloud-amd64","nodes":[0],"cpus":2,
//    "mem_bytes":536870912,"localities":["triad","chase"]}
//                                                 booted and idle; waiting for "go". localities
//                                                 is absent from agents that run none
//   {"type":"progress","bytes":134217728}         touched so far
//   {"type":"done","seconds":0.81,"method":"madv_populate_write","bytes":268435456,
//    "per_thread_seconds":[0.8,0.79]}             every byte touched; memory still held
//   {"type":"error","message":"mbind node 3: Invalid argument"}
//   {"type":"log","message":"..."}                a remark for the serial log, not a failure
//   {"type":"locality","kind":"triad","report":{"context":{...},"benchmarks":[...]}}
//                                                 after done, when go asked for a locality: the
//                                                 timings in Google Benchmark's JSON shape
// host -> guest
//   {"type":"go","size_bytes":268435456,"threads":2,"node":0,"method":"store_per_page",
//    "locality":"triad","locality_repetitions":5,"locality_min_time":0.1}
//                                                 node, method and locality are optional
//   {"type":"poweroff"}                           the host has its "after" numbers; the agent
//                                                 frees nothing, syncs and powers the guest off
//
// The agent holds the touched memory until "poweroff" so that the host's "after" snapshot and
// the QEMU numa_maps readout still see it. A locality runs on that memory after "done" (so it
// never disturbs the placement readout); a locality that fails is an "error" after "done". Decoding
// is total: any line, however malformed or long, yields an Error, never an exception or a crash.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"

namespace memplace {

inline constexpr int kAgentProtocolVersion = 2;  // 2: "workload" became "locality"
// Longer lines are rejected before parsing; a done line with 1024 thread timings fits.
inline constexpr size_t kAgentMaxLineBytes = 64 * 1024;
// A locality report with this many repetitions (one entry each, plus the median) still fits.
inline constexpr int kMaxLocalityRepetitions = 50;
inline constexpr double kMaxLocalityMinTimeSeconds = 60;

struct AgentHello {
  int protocol = kAgentProtocolVersion;
  std::string kernel;      // uname -r in the guest
  std::vector<int> nodes;  // guest NUMA node ids
  int cpus = 0;
  uint64_t mem_bytes = 0;  // MemTotal of the guest
  // The localities "go" may ask for: an older agent (say, installed on a user's disk image)
  // lists none, and the host then does not wait for a report that cannot come.
  std::vector<std::string> localities;
};

struct AgentProgress {
  uint64_t bytes = 0;
};

struct AgentDone {
  double seconds = 0;  // wall time of the touch, inside the guest
  std::string method;  // "madv_populate_write" | "store_per_page"
  uint64_t bytes = 0;
  std::vector<double> per_thread_seconds;
};

struct AgentError {
  std::string message;
};

struct AgentLog {
  std::string message;
};

// A locality locality's timings (locality_timing.h), as Google Benchmark would write them:
// {"context":{...},"benchmarks":[{"name","run_type","iterations","real_time","cpu_time",
// "time_unit", counters...}]}. check_benchmark_json() holds the shape both ends rely on.
struct AgentLocality {
  std::string kind;  // "triad" | "chase"
  nlohmann::json report;
};

struct AgentGo {
  uint64_t size_bytes = 0;
  int threads = 1;
  std::optional<int> node;            // guest node to bind the allocation to
  std::optional<std::string> method;  // force a method; default: the fastest available
  // Huge page advice on the touched memory, as run.thp: "auto" | "on" | "off"; absent = auto.
  std::optional<std::string> thp;
  // After done: time this locality ("triad" | "chase") on the touched memory, threads pinned to
  // the node's CPUs: the median of `locality_repetitions`, each at least the min time.
  std::optional<std::string> locality;
  int locality_repetitions = 5;            // 1..kMaxLocalityRepetitions
  double locality_min_time_seconds = 0.1;  // (0, kMaxLocalityMinTimeSeconds]
};

struct AgentPoweroff {};

using GuestMessage =
    std::variant<AgentHello, AgentProgress, AgentDone, AgentError, AgentLog, AgentLocality>;
using HostMessage = std::variant<AgentGo, AgentPoweroff>;

// One line of JSON, without the trailing newline.
std::string encode_guest_message(const GuestMessage& m);
std::string encode_host_message(const HostMessage& m);

// Trailing '\r', '\n' and spaces are ignored (serial lines may carry them).
Result<GuestMessage> decode_guest_message(std::string_view line);
Result<HostMessage> decode_host_message(std::string_view line);

// Validity beyond syntax, shared by both ends: "threads must be 1..1024", ...
Status check_go(const AgentGo& go);

// Google Benchmark's JSON shape, as far as memplace reads it: an object with a "context" object
// (nested at most a few levels) and a non-empty "benchmarks" array (at most 1024) of objects
// with a string "name", "run_type" "iteration" or "aggregate", an unsigned "iterations",
// finite non-negative "real_time" and "cpu_time", "time_unit" ns|us|ms|s, and otherwise only
// strings, booleans and finite numbers. For the agent's reports and a testbed guest's files.
Status check_benchmark_json(const nlohmann::json& j);

}  // namespace memplace
