// SPDX-License-Identifier: GPL-2.0-only
// `memplace slurm`: job scripts under OUT/slurm/, submitted with sbatch (base/subprocess). The
// scripts themselves are cluster/slurm_job.h's; this file checks the input, writes, submits.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "base/subprocess.h"
#include "cli/commands_internal.h"
#include "cluster/slurm_job.h"
#include "memplace/commands.h"
#include "results/results.h"
#include "spec/spec.h"

namespace memplace {
namespace {

// Every node resolves the same spec: [qemu] values from this environment are written in, as
// `memplace run` does for a results dir.
Result<Spec> load_slurm_spec(const std::string& path) {
  auto spec = load_spec(path);
  if (!spec) return spec.error();
  if (spec->shard)
    return make_error(path + ": run.shard is set; `memplace slurm --shards N` does the sharding");
  if (auto s = apply_qemu_env_fallbacks(*spec); !s) return s.error();
  return spec;
}

std::string absolute(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path.empty() || path.front() == '/') return path;
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd)) return path;
  return std::string(cwd) + "/" + path;
}

std::vector<std::string> split_nodes(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      std::string item = v.substr(start, comma == std::string::npos ? comma : comma - start);
      if (!item.empty()) out.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

Result<SlurmJob> make_job(const SlurmArgs& a, const Spec& spec, size_t runs) {
  SlurmJob job;
  job.out_dir = absolute(a.out_dir);
  job.memplace = a.memplace.empty() ? self_executable() : absolute(a.memplace);
  job.spec_name = spec.name;
  job.partition = a.partition;
  job.constraint = a.constraint;
  job.hosts = split_nodes(a.per_host);
  if (!a.per_host.empty() && job.hosts.empty()) return make_error("--per-host: no node named");
  std::set<std::string> seen;
  for (const auto& h : job.hosts) {
    if (auto s = check_node_name(h); !s) return s.error();
    // Two jobs on one host would both write hosts/NAME.
    if (!seen.insert(h).second) return make_error("--per-host: " + h + " is named twice");
  }
  job.shards = a.shards.value_or(1);
  if (job.shards < 1 || job.shards > kMaxShards)
    return make_error("--shards: must be 1.." + std::to_string(kMaxShards));
  if (static_cast<size_t>(job.shards) > runs)
    return make_error("--shards " + std::to_string(job.shards) + ": the matrix has only " +
                      std::to_string(runs) + " runs, so some shards would run nothing");
  // "" would put the job's dirs under / (slurm/, shards/).
  if (job.out_dir.empty()) return make_error("--out: an empty path names no directory");
  if (auto s = check_sbatch_value(job.out_dir, "--out"); !s) return s.error();
  if (auto s = check_sbatch_value(job.partition, "--partition"); !s) return s.error();
  if (auto s = check_sbatch_value(job.constraint, "--constraint"); !s) return s.error();
  if (job.memplace.empty()) return make_error("--memplace: cannot tell this executable's path");
  return job;
}

Status write_job_files(const SlurmJob& job, const Spec& spec, const std::string& main_name,
                       const std::string& main_script, const std::string& merge_script) {
  std::string slurm = job.out_dir + "/slurm";
  if (auto s = make_dirs(slurm + "/logs"); !s) return s;
  if (auto s = make_dirs(job.out_dir + (job.hosts.empty() ? "/shards" : "/hosts")); !s) return s;
  if (auto s = write_file_atomic(slurm_spec_path(job), render_spec_toml(spec)); !s) return s;
  if (auto s = write_file_atomic(slurm + "/" + main_name, main_script); !s) return s;
  if (auto s = write_file_atomic(slurm + "/merge.sh", merge_script); !s) return s;
  for (const auto& name : {main_name, std::string("merge.sh")})
    if (::chmod((slurm + "/" + name).c_str(), 0755) != 0) return errno_error("chmod " + name);
  return {};
}

Result<std::string> sbatch(std::vector<std::string> args) {
  args.insert(args.begin(), {"sbatch", "--parsable"});
  auto out = run_command_ok(args);
  if (!out) return out.error();
  return parse_sbatch_job_id(*out);
}

struct Submitted {
  std::vector<std::string> jobs;  // the array job, or one job per host
  std::string merge;
};

Result<Submitted> submit(const SlurmJob& job, const std::string& script) {
  Submitted out;
  std::vector<std::vector<std::string>> submissions;
  for (const auto& h : job.hosts) submissions.push_back({"--nodelist=" + h, script});
  if (job.hosts.empty()) submissions.push_back({script});
  for (const auto& s : submissions) {
    auto id = sbatch(s);
    if (!id) return id.error();
    out.jobs.push_back(*id);
  }
  std::string after = "--dependency=afterany";
  for (const auto& id : out.jobs) after += ":" + id;
  auto merge = sbatch({after, job.out_dir + "/slurm/merge.sh"});
  if (!merge) return merge.error();
  out.merge = *merge;
  return out;
}

// Job ids on stdout, one "what id" a line, for scripts; the explanation on stderr.
void print_submission(const SlurmJob& job, const Submitted& ids) {
  bool per_host = !job.hosts.empty();
  for (size_t i = 0; i < ids.jobs.size(); ++i) {
    if (per_host)
      std::printf("host_job %s %s\n", ids.jobs[i].c_str(), job.hosts[i].c_str());
    else
      std::printf("array_job %s\n", ids.jobs[i].c_str());
  }
  std::string merged = slurm_merged_dir(job);
  std::printf("merge_job %s\nreport %s/report.md\n", ids.merge.c_str(), merged.c_str());
  std::string what =
      per_host ? std::to_string(ids.jobs.size()) + " per-host job(s)"
               : "array job " + ids.jobs[0] + " (" + std::to_string(job.shards) + " shard(s))";
  std::fprintf(stderr,
               "memplace: submitted %s; merge job %s runs after them and writes %s/report.md "
               "(logs in %s/slurm/logs/, the merge's exit status in %s)\n",
               what.c_str(), ids.merge.c_str(), merged.c_str(), job.out_dir.c_str(),
               slurm_exit_file(job).c_str());
}

}  // namespace

int command_slurm(const SlurmArgs& args) {
  auto spec = load_slurm_spec(args.spec_path);
  if (!spec) return fail(kExitBadInput, spec.error().describe());
  size_t runs = expand(*spec).size();
  if (runs == 0) return fail(kExitBadInput, "the matrix is empty");
  auto job = make_job(args, *spec, runs);
  if (!job) return fail(kExitBadInput, job.error().describe());
  bool per_host = !job->hosts.empty();
  std::string main_name = per_host ? "host.sh" : "array.sh";
  std::string main_script = per_host ? slurm_host_script(*job) : slurm_array_script(*job);
  std::string merge_script = slurm_merge_script(*job);
  if (args.dry_run) {
    std::printf("# %s/slurm/%s\n%s\n# %s/slurm/merge.sh\n%s", job->out_dir.c_str(),
                main_name.c_str(), main_script.c_str(), job->out_dir.c_str(), merge_script.c_str());
    return kExitOk;
  }
  if (find_on_path("sbatch").empty())
    return fail(kExitEnvironment,
                "sbatch not found on PATH: install the slurm-client package "
                "(apt-get install slurm-client) on this submit host");
  struct stat st;
  if (::lstat((job->out_dir + "/slurm").c_str(), &st) == 0)
    return fail(kExitBadInput, job->out_dir + " already holds a submission; choose a new --out");
  if (auto s = write_job_files(*job, *spec, main_name, main_script, merge_script); !s)
    return fail(kExitEnvironment, s.error().describe());

  auto ids = submit(*job, job->out_dir + "/slurm/" + main_name);
  if (!ids) return fail(kExitEnvironment, ids.error().describe());
  print_submission(*job, *ids);
  return kExitOk;
}

}  // namespace memplace
