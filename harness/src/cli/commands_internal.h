// SPDX-License-Identifier: GPL-2.0-only
// Pieces of the subcommands shared between commands*.cc files, not part of the public API.
#pragma once

#include <vector>

#include "base/result.h"
#include "memplace/commands.h"
#include "spec/cell.h"
#include "spec/spec.h"

namespace memplace {

struct MatrixSummary;

// Prints "memplace: error: MESSAGE" and returns `code`: every subcommand's way to give up.
int fail(int code, const std::string& message);
// The line that ends a matrix (`what` says which kind, `where` where its results are) and the
// exit code: 128+signal when interrupted, 1 with --check when a verdict or run failed, else 0.
int finish_matrix(const char* what, const MatrixSummary& summary, const std::string& where,
                  bool check, bool allow_unsupported);

// Nodes and their MemFree under `root` (node meminfo, see host/preflight.h).
Result<HostFacts> host_facts(const std::string& root);
// --margin, or HostFacts' default.
Result<uint64_t> margin_bytes(const RunArgs& a);
// The memory figures the checks use, and a warning when node and /proc meminfo disagree.
void print_memory_figures(const std::string& root, bool quiet);

// --out must be new or empty unless resuming or dry-running; the error is bad input.
Status check_out_for(const RunArgs& a);
// The exit code for an error from running a matrix: 2 for bad input (a results dir another run
// holds), else 3.
int exit_code_for(const Error& e);

// `memplace run` when the spec has a [testbed] table or --testbed/--kernel was given.
int run_testbed_command(const Spec& spec, const std::vector<Cell>& cells, const RunArgs& args);

// Fills the [qemu] fields a spec leaves unset from MEMPLACE_QEMU* variables, for specs with qemu
// cells: `run` and `slurm` write the result into the spec every run reads back.
Status apply_qemu_env_fallbacks(Spec& spec);
// The spec-key flags given (run_key_flags()) into `spec`; an old flag name warns. Re-checks the
// spec's cross-key rules.
Status apply_key_flags(const RunArgs& a, Spec& spec);
// `format` "ktap" or "junit": the cells of results dir `dir` (a testbed's kernels too) as tests
// on stdout, named `suite`; anything else prints nothing.
Status print_test_report(const std::string& format, const std::string& dir);

}  // namespace memplace
