// SPDX-License-Identifier: GPL-2.0-only
#include "cluster/slurm_job.h"

#include "base/subprocess.h"
#include "base/text.h"

namespace memplace {
namespace {

std::string job_name(const SlurmJob& job) {
  std::string name = "memplace-";
  for (char c : job.spec_name.substr(0, 40))
    name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return name;
}

std::string directives(const SlurmJob& job, const std::string& name, const std::string& log) {
  std::string s = "#SBATCH --job-name=" + name + "\n#SBATCH --output=" + job.out_dir +
                  "/slurm/logs/" + log + "\n";
  if (!job.partition.empty()) s += "#SBATCH --partition=" + job.partition + "\n";
  return s;
}

// Placement is measured against the whole machine's free memory, so nothing else may share it.
std::string measuring_directives(const SlurmJob& job) {
  std::string s = "#SBATCH --nodes=1\n#SBATCH --exclusive\n";
  if (!job.constraint.empty()) s += "#SBATCH --constraint=" + job.constraint + "\n";
  return s;
}

std::string q(const std::string& s) {
  return shell_quote(s);
}

// The spec's name in a comment line: a newline in it must not start a line of the script.
std::string comment_text(const std::string& s) {
  std::string out;
  for (unsigned char c : s.substr(0, 200))
    out += (c < ' ' || c == 0x7f) ? '?' : static_cast<char>(c);
  return out;
}

}  // namespace

Status check_sbatch_value(std::string_view value, const std::string& field) {
  for (unsigned char c : value)
    if (c <= ' ' || c == 0x7f)
      return bad_input_error(field +
                             ": no spaces or control characters allowed (sbatch reads it from "
                             "an #SBATCH line), got '" +
                             std::string(value) + "'");
  return {};
}

Status check_node_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (ok) return {};
  return bad_input_error("--per-host: '" + std::string(name) +
                         "' is not a node name (letters, digits, '-', '_', '.'; list nodes with "
                         "commas, not host ranges)");
}

std::string slurm_spec_path(const SlurmJob& job) {
  return job.out_dir + "/slurm/spec.toml";
}
std::string slurm_merged_dir(const SlurmJob& job) {
  return job.out_dir + "/merged";
}
std::string slurm_exit_file(const SlurmJob& job) {
  return job.out_dir + "/slurm/merge.exit";
}

std::string slurm_array_script(const SlurmJob& job) {
  std::string n = std::to_string(job.shards);
  return "#!/bin/sh\n# memplace: shard K of " + n + " of spec '" + comment_text(job.spec_name) +
         "' per array task (memplace slurm).\n" + directives(job, job_name(job), "shard-%a.out") +
         "#SBATCH --array=1-" + n + "\n" + measuring_directives(job) +
         "set -u\nk=\"${SLURM_ARRAY_TASK_ID:?not run as a Slurm array task}\"\n"
         "exec " +
         q(job.memplace) + " run " + q(slurm_spec_path(job)) + " --shard \"$k/" + n + "\" --out " +
         q(job.out_dir + "/shards") + "/\"$k\"\n";
}

std::string slurm_host_script(const SlurmJob& job) {
  return "#!/bin/sh\n# memplace: the whole matrix of spec '" + comment_text(job.spec_name) +
         "' on the node this job was pinned to (memplace slurm --per-host).\n" +
         directives(job, job_name(job), "host-%N-%j.out") + measuring_directives(job) +
         "set -u\nnode=\"${SLURMD_NODENAME:?not run by Slurm}\"\n"
         "exec " +
         q(job.memplace) + " run " + q(slurm_spec_path(job)) + " --out " +
         q(job.out_dir + "/hosts") + "/\"$node\"\n";
}

std::string slurm_merge_script(const SlurmJob& job) {
  std::string s = "#!/bin/sh\n# memplace: merge and report spec '" + comment_text(job.spec_name) +
                  "' once its jobs ended, however they ended (memplace slurm).\n" +
                  directives(job, job_name(job) + "-merge", "merge.out") + "set -u\nset --\n";
  // A task that failed before writing anything leaves no dir; merge then reports its runs missing.
  auto add = [&](const std::string& dir, const std::string& what) {
    s += "if [ -d " + q(dir) + " ]; then set -- \"$@\" " + q(dir) + "; else echo " +
         q("memplace: " + what + " left no results dir") + "; fi\n";
  };
  if (job.hosts.empty()) {
    s += "k=1\nwhile [ \"$k\" -le " + std::to_string(job.shards) + " ]; do\n  if [ -d " +
         q(job.out_dir + "/shards") + "/\"$k\" ]; then set -- \"$@\" " +
         q(job.out_dir + "/shards") +
         "/\"$k\"; else echo \"memplace: shard $k left no results "
         "dir\"; fi\n  k=$((k + 1))\ndone\n";
  } else {
    for (const auto& h : job.hosts) add(job.out_dir + "/hosts/" + h, "node " + h);
  }
  s += "if [ $# -eq 0 ]; then\n  echo 'memplace: no job left a results dir'; rc=3\nelse\n  " +
       q(job.memplace) + " merge " + q(slurm_merged_dir(job)) + " \"$@\"; rc=$?\n";
  if (!job.hosts.empty() && job.hosts.size() > 1)
    s += "  [ $rc -le 1 ] && " + q(job.memplace) + " compare --by host " +
         q(slurm_merged_dir(job)) + " --out " + q(slurm_merged_dir(job)) + " >/dev/null\n";
  s += "fi\necho \"$rc\" > " + q(slurm_exit_file(job)) + "\nexit \"$rc\"\n";
  return s;
}

Result<std::string> parse_sbatch_job_id(std::string_view out) {
  std::string_view id = trim(out);
  id = id.substr(0, id.find(';'));
  bool digits = !id.empty() && id.size() <= 20;
  for (char c : id) digits = digits && c >= '0' && c <= '9';
  if (!digits)
    return make_error("sbatch printed no job id: '" + std::string(out.substr(0, 200)) + "'");
  return std::string(id);
}

}  // namespace memplace
