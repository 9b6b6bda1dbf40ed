// SPDX-License-Identifier: GPL-2.0-only
// The testbed: the matrix run inside a QEMU guest with N emulated NUMA nodes, once per kernel
// under test, records streamed back over virtio-serial (testbed/record_stream.h) into
// <out_dir>/<kernel-label>/.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "experiment/matrix.h"
#include "kernels/kernel_fetch.h"
#include "qemu/qemu_command.h"
#include "results/run_record.h"
#include "spec/cell.h"
#include "spec/spec.h"

namespace memplace {

// Host-side knobs that are not part of a spec.
struct TestbedHostConfig {
  std::string memplace_binary;  // copied into the guest; "" = this executable
  std::string qemu_binary = "qemu-system-x86_64";
  std::string busybox = "/bin/busybox";
  KernelFetchOptions fetch;
  // Replaces the in-guest `memplace run` line (shell; "$PORT" is the channel). Tests only.
  std::string guest_run_line;
  // The runs that guest_run_line makes beyond the spec's matrix (further `memplace run`s): the
  // host admits their records too, one each, as it does the matrix's. Tests only.
  std::vector<Cell> guest_extra_runs;
  // Called once every kernel has run (or the run was interrupted), with the labels of the
  // kernels that have a results dir: the testbed-wide report is written above this layer.
  std::function<void(const std::string& out_dir, const std::vector<std::string>& labels)>
      on_testbed_finished;
};

// Writes OUT/spec.toml, OUT/manifest.json ("kind": "testbed-run") and OUT/<kernel>/ per kernel,
// holding OUT's DirLock throughout. With options.resume, a kernel whose dir holds every run is
// skipped and the others boot again for their missing runs only.
Result<MatrixSummary> run_testbed(const Spec& spec, const TestbedSpec& tb,
                                  const RunOptions& options);
Result<MatrixSummary> run_testbed(const Spec& spec, const TestbedSpec& tb,
                                  const RunOptions& options, const TestbedHostConfig& host);

// The guest's QEMU settings; the caller fills in kernel, initrd, console_log and socket_path.
QemuTestbedConfig testbed_qemu_config(const TestbedSpec& tb, const std::string& accel,
                                      const TestbedHostConfig& host);

// {"nodes":[{"id":0,"mem_bytes":...,"cpus":[0]},...],"distances":[...],"memory_only_nodes":[]}
nlohmann::json testbed_topology_json(const TestbedSpec& tb);

// The `memplace run` line init executes in the guest. With `only_listed_runs`, it runs just the
// run keys in /runs.txt (a shard's slice); with `resume_dir` the guest resumes the copy of a
// results dir the initramfs carries there instead of starting a fresh matrix.
std::string guest_memplace_line(const std::string& accel, const nlohmann::json& topology,
                                bool only_listed_runs = false, const std::string& resume_dir = "");

// Cells (by index) with no received record; `received` holds (cell_key, repeat) pairs.
std::vector<size_t> cells_without_records(const std::vector<Cell>& cells,
                                          const std::set<std::pair<std::string, int>>& received);

// The record a cell gets when its guest never reported it.
RunRecord testbed_failed_record(const Cell& cell, const std::string& run_id,
                                const std::string& message, const Environment& env);

// Why a guest ended without its "end" line, from the console: "panic" or "timeout" or "exit".
std::string guest_failure_reason(const std::string& console, bool timed_out, int qemu_status);
std::string last_lines(const std::string& text, int n);
// The console's "Kernel panic - not syncing: ..." line, "" when there is none.
std::string panic_line(const std::string& console);

}  // namespace memplace
