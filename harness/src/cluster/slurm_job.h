// SPDX-License-Identifier: GPL-2.0-only
// The batch scripts `memplace slurm` submits, as pure functions of their settings, and the
// layout they agree on under the submission's OUT dir:
//   OUT/slurm/spec.toml          the effective spec every task runs
//   OUT/slurm/{array,host,merge}.sh, OUT/slurm/logs/
//   OUT/shards/K/                shard K's results dir   (--shards N)
//   OUT/hosts/NODE/              NODE's whole-matrix dir (--per-host)
//   OUT/merged/                  the merged results dir, report.md included
//   OUT/slurm/merge.exit         the merge's exit status, written last
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace memplace {

struct SlurmJob {
  std::string memplace;    // memplace on the compute nodes (absolute)
  std::string out_dir;     // absolute, on storage every node can write
  std::string spec_name;   // for job names
  std::string partition;   // "" = the cluster's default
  std::string constraint;  // node features, e.g. "snp&zen4"
  int shards = 1;
  std::vector<std::string> hosts;  // --per-host: one whole-matrix job per node
};

// Values that go on #SBATCH lines, which sbatch splits itself: no whitespace or control
// characters. Node names as Slurm spells them. Errors name `field`.
Status check_sbatch_value(std::string_view value, const std::string& field);
Status check_node_name(std::string_view name);

std::string slurm_spec_path(const SlurmJob& job);
std::string slurm_merged_dir(const SlurmJob& job);
std::string slurm_exit_file(const SlurmJob& job);

// Shards: one array job, task K runs shard K/N into OUT/shards/K.
std::string slurm_array_script(const SlurmJob& job);
// Per host: the same script submitted once per node (--nodelist), running the whole matrix into
// OUT/hosts/$SLURMD_NODENAME; an array's tasks cannot each be pinned to a node.
std::string slurm_host_script(const SlurmJob& job);
// After the others (afterany): merges whatever results dirs exist, which writes report.md, and
// records its exit status.
std::string slurm_merge_script(const SlurmJob& job);

// The job id from `sbatch --parsable` output: "123" or "123;cluster".
Result<std::string> parse_sbatch_job_id(std::string_view out);

}  // namespace memplace
