// SPDX-License-Identifier: GPL-2.0-only
// Experiment specs: a TOML matrix (plus CLI overrides) expanded into cells and validated
// against the host before anything runs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "host/populate.h"
#include "placement/trace_transport.h"
#include "spec/cell.h"
#include "spec/shard.h"

namespace memplace {

// A policy axis entry, optionally carrying its own nodes ("bind:1", "interleave:0-1").
struct PolicyEntry {
  PolicyMode mode = PolicyMode::kDefault;
  std::optional<std::vector<int>> nodes;
};

struct TestbedSpec {
  int nodes = 2;
  uint64_t mem_per_node_bytes = 1ull << 30;
  int cpus_per_node = 1;
  std::vector<int> memory_only_nodes;
  std::vector<std::vector<int>> distances;  // empty = QEMU default
  std::vector<std::string> kernels;         // "debian:6.18", "/path/to/bzImage"
  std::string modules_dir;                  // for a path kernel
  std::string accel = "auto";               // "auto" | "kvm" | "tcg"
  int boot_timeout_seconds = 300;           // QEMU start to the guest's hello (its kernel is up)
  int timeout_seconds = 600;                // hello to the guest's end: the matrix inside
  std::string extra_append;                 // added to the guest kernel's command line
  bool operator==(const TestbedSpec&) const = default;
};

// [qemu]: how toucher = "qemu" cells build and boot their guest (qemu/qemu_cell_options.h); the
// keys are described in spec_keys.cc. Every field is optional: an unset one falls back to its
// MEMPLACE_QEMU* environment variable when `memplace run` loads the spec, then to
// QemuToucherOptions' default. The results dir's spec copy holds the values actually used, so
// --resume needs no environment.
struct QemuSpec {
  std::optional<std::string> binary;  // the QEMU to run (SNP NUMA placement needs a patched one)
  std::optional<std::string> kernel;  // "debian:", "debian:VERSION" or a bzImage path
  std::optional<std::string> disk_image;  // raw image with the agent installed; boot from it
  std::optional<std::string> disk_agent;  // the agent's absolute path inside disk_image
  std::optional<std::string> agent;       // host path of memplace-agent for the initramfs
  std::optional<std::string> busybox;     // static busybox for the initramfs
  std::optional<std::string> accel;       // "auto" | "kvm" | "tcg"
  std::optional<bool> snp;                // guest_memfd cells run as SEV-SNP guests
  std::optional<std::string> ovmf;        // SNP firmware
  std::optional<int> cbitpos;
  std::optional<int> reduced_phys_bits;
  std::optional<bool> kernel_hashes;
  std::optional<int> boot_timeout_s;             // QEMU start to the agent's hello
  std::optional<int> agent_timeout_s;            // go to done
  std::optional<int> poweroff_timeout_s;         // poweroff to QEMU's exit
  std::optional<uint64_t> guest_overhead_bytes;  // guest RAM beyond the touch
  std::optional<std::string> extra_append;       // added to the guest kernel command line
  bool operator==(const QemuSpec&) const = default;
};

// The [qemu] rules beyond each key's own (spec_keys.cc checks those as they are read).
Status check_qemu_spec(const QemuSpec& q);

struct Spec {
  std::string name = "adhoc";
  std::string description;
  std::vector<PolicyEntry> policies;
  std::vector<std::vector<int>> node_lists;  // crossed with policies lacking their own nodes
  std::vector<BackingKind> backings;
  std::vector<ToucherKind> touchers;
  std::vector<uint64_t> sizes;
  std::vector<int> threads;
  std::vector<std::optional<int>> cpu_nodes;
  // How each cell's policy reaches the kernel (policy.h); the default is mbind alone.
  std::vector<PolicyChannel> channels = {PolicyChannel::kMbind};
  int repeats = 1;
  int sample_interval_ms = 10;
  double tolerance = 0.05;
  // [run] settings for every cell (not axes): how the host toucher populates, and the locality
  // loop timed on the placed memory afterwards (experiment/locality_run.h).
  std::string populate_method = "auto";  // "auto" (populate_order) or a populate.h method name
  ThpMode thp = ThpMode::kAuto;          // the host toucher's huge page advice (populate.h)
  std::string locality = "none";         // "none" | "triad" | "chase"
  // Seconds one cell's touch may take before it is stopped and recorded as failed; none = "auto"
  // (default_toucher_timeout in toucher.h: 120 s + 60 s per GiB). The qemu toucher uses it for
  // its go-to-done phase unless [qemu] agent_timeout_s (or its environment fallback) is set.
  std::optional<int> toucher_timeout_s;
  // [run] shard = "K/N": only this slice of the expanded matrix runs here (shard.h); the other
  // slices run elsewhere and `memplace merge` joins them.
  std::optional<Shard> shard;
  // Placement sources run beside move_pages and meminfo: "trace" and/or "cgroup" (both by
  // default). The trace source's per-CPU ring buffer in KiB; 0 = sized by the cell.
  std::vector<std::string> placement_sources = {"trace", "cgroup"};
  uint64_t trace_buffer_kib = 0;
  TraceTransport trace_transport = TraceTransport::kAuto;  // run.trace_transport
  std::optional<TestbedSpec> testbed;
  QemuSpec qemu;
  std::string source_text;  // the TOML as given, copied into the results dir
  // The nodes that exist where the cells run, for numactl's "all", "!LIST" and "+LIST" in node
  // lists (nodelist.h). The CLI sets it before applying flags; a spec file gives numbers.
  std::vector<int> node_universe;
  // What reading it found worth saying: an old key name read as its new one. Never rendered.
  std::vector<std::string> warnings;
};

// "64MiB", "1G", "4096", "1.5GiB". Binary units; "k"/"K"/"KiB" all mean 1024.
Result<uint64_t> parse_size(std::string_view text);
std::string format_size(uint64_t bytes);  // "64MiB", "1GiB", "4097B"

// Syntax and vocabulary only: unknown keys, unknown policies, malformed lists. Errors name the
// field: "matrix.policy[2]: unknown policy 'interleaved'".
Result<Spec> parse_spec(std::string_view toml_text, const std::string& origin);
// A spec file: a regular file of at most kMaxSpecBytes. The user's own file may be a symlink; a
// results dir's spec.toml (`in_results_dir`) may not.
inline constexpr size_t kMaxSpecBytes = 1u << 20;
Result<Spec> load_spec(const std::string& path, bool in_results_dir = false);

// A spec with one cell's worth of defaults: default policy, anon, host toucher, 64MiB, 1 thread.
Spec default_spec();
// Cross-field checks that parse_spec runs and CLI overrides must run again.
Status check_spec(const Spec& spec);
// "host" | "vcpu" | "qemu"; anything else is an error listing those.
Result<ToucherKind> parse_toucher(const std::string& name);
// "bind:0-1" -> {bind, {0,1}}; errors name `field`.
// `allowed`: the nodes numactl's symbolic lists range over (Spec::node_universe).
Result<PolicyEntry> parse_policy_entry(const std::string& text, const std::string& field,
                                       const std::vector<int>& allowed = {});
Result<BackingKind> parse_backing(const std::string& name, const std::string& field);
// "trace" | "cgroup"; errors name `field`.
Status check_placement_source_name(const std::string& name, const std::string& field);
// A toucher timeout: whole seconds 1..kMaxToucherTimeoutSeconds, or "auto" (none). Errors name
// `field`.
inline constexpr int kMaxToucherTimeoutSeconds = 7 * 24 * 3600;
Result<std::optional<int>> parse_toucher_timeout(const std::string& text, const std::string& field);

// The spec as TOML that parse_spec reads back to the same cells. The [testbed] table and the
// shard are left out when `with_testbed` is false: that is the spec the testbed runs inside its
// guest, which is told its runs one by one.
std::string render_spec_toml(const Spec& spec, bool with_testbed = true);

// The matrix in a stable order; repeats of one cell are adjacent.
std::vector<Cell> expand(const Spec& spec);

// Host-dependent checks: nodes the host lacks, sizes above free memory on the target nodes.
struct HostFacts {
  std::vector<int> nodes;
  std::map<int, uint64_t> free_bytes;    // MemFree per node
  uint64_t margin_bytes = 256ull << 20;  // kept free on every node
};
// Nodes and CPU nodes the host has, page-multiple sizes. Never skippable.
Status validate_cells(const std::vector<Cell>& cells, const HostFacts& host);
// Free memory on each cell's target nodes, keeping host.margin_bytes free per node so a cell
// cannot push the host into OOM. Strict policies (bind, interleave) must fit their nodes; the
// others may spill, so the host as a whole must hold them. `--force` skips this check.
Status check_free_memory(const std::vector<Cell>& cells, const HostFacts& host);

// A whole VM (the testbed's guest RAM plus QEMU's own overhead) against the host's free memory,
// keeping host.margin_bytes free on every node. QEMU's guest RAM is bound to no host node.
Status check_vm_fits_host(uint64_t vm_bytes, const HostFacts& host);

// Cells that need /dev/kvm (guest_memfd backing, vcpu toucher) when it is not usable: they will
// be recorded "unsupported", which the user should hear about before the matrix starts.
std::vector<std::string> kvm_warnings(const std::vector<Cell>& cells,
                                      const std::string& kvm_dev = "/dev/kvm");

}  // namespace memplace
