// SPDX-License-Identifier: GPL-2.0-only
// `memplace merge OUT DIR...`: every input is read and checked before OUT is touched. A testbed
// run's OUT holds one results dir per kernel; such dirs merge kernel by kernel into OUT/<kernel>.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "base/bounded_read.h"
#include "base/text.h"
#include "cli/commands_internal.h"
#include "memplace/commands.h"
#include "report/report.h"
#include "report/testbed_report.h"
#include "results/merge.h"

namespace memplace {
namespace {

constexpr size_t kMissingShown = 50;
constexpr size_t kMaxMergedKernelDirs = 1000;

bool has_file(int dir, const char* name) {
  struct stat st;
  return ::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

// The kernel dirs of a testbed run's top dir (subdirs holding a spec.toml, links ignored);
// empty when `dir` is itself a results dir.
Result<std::vector<std::string>> kernel_dirs(const std::string& dir) {
  auto fd = open_dir(dir);
  if (!fd) return fd.error();
  if (has_file(fd->get(), "spec.toml")) return std::vector<std::string>{};
  DIR* d = ::fdopendir(::dup(fd->get()));
  if (!d) return errno_error("opendir " + dir);
  std::vector<std::string> labels;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (!is_plain_name(name) || name[0] == '.') continue;
    auto sub = open_subdir(fd->get(), name, dir + "/" + name);
    if (sub && has_file(sub->get(), "spec.toml")) labels.push_back(name);
    if (labels.size() > kMaxMergedKernelDirs) break;
  }
  ::closedir(d);
  std::sort(labels.begin(), labels.end());
  return labels;
}

// {} for plain results dirs; the union of kernel labels when every dir is a testbed top.
Result<std::vector<std::string>> testbed_labels(const std::vector<std::string>& dirs) {
  std::vector<std::string> labels;
  std::string plain, tops;
  for (const auto& dir : dirs) {
    auto mine = kernel_dirs(dir);
    if (!mine) return mine.error();
    (mine->empty() ? plain : tops) += " " + dir;
    for (const auto& l : *mine)
      if (std::find(labels.begin(), labels.end(), l) == labels.end()) labels.push_back(l);
  }
  if (!plain.empty() && !tops.empty())
    return make_error(
        "testbed runs (one dir per kernel) and plain results dirs cannot be merged "
        "together; testbed:" +
        tops + "; plain:" + plain);
  return labels;
}

struct MergeJob {
  std::string out;
  std::vector<MergeInput> inputs;
  MergePlan plan;
};

Result<MergeJob> plan_job(const std::string& out, const std::vector<std::string>& dirs) {
  MergeJob job;
  job.out = out;
  if (auto s = check_merge_out(out); !s) return s.error();
  for (const auto& dir : dirs) {
    auto in = read_merge_input(dir);
    if (!in) return in.error();
    job.inputs.push_back(std::move(*in));
  }
  auto plan = plan_merge(job.inputs);
  if (!plan) return plan.error();
  job.plan = std::move(*plan);
  return job;
}

Result<std::vector<MergeJob>> plan_jobs(const MergeArgs& args,
                                        const std::vector<std::string>& labels) {
  std::vector<MergeJob> jobs;
  if (labels.empty()) {
    auto job = plan_job(args.out_dir, args.dirs);
    if (!job) return job.error();
    jobs.push_back(std::move(*job));
  }
  for (const auto& label : labels) {
    std::vector<std::string> dirs;
    for (const auto& d : args.dirs) {
      struct stat st;
      if (::lstat((d + "/" + label).c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        dirs.push_back(d + "/" + label);
    }
    auto job = plan_job(args.out_dir + "/" + label, dirs);
    if (!job) return job.error().prefixed(label + ": ");
    jobs.push_back(std::move(*job));
  }
  return jobs;
}

void print_missing(const MergeJob& job) {
  const MergePlan& plan = job.plan;
  std::fprintf(stderr, "memplace: %s: %zu of %zu run(s) missing, no dir holds them:\n",
               job.out.c_str(), plan.missing.size(), plan.expected_runs);
  for (size_t i = 0; i < plan.missing.size() && i < kMissingShown; ++i)
    std::fprintf(stderr, "  %s\n", plan.missing[i].c_str());
  if (plan.missing.size() > kMissingShown)
    std::fprintf(stderr, "  ... and %zu more (manifest.json lists them)\n",
                 plan.missing.size() - kMissingShown);
  std::fprintf(stderr, "memplace: `memplace run --resume %s` runs just those%s\n", job.out.c_str(),
               plan.mode == "hosts" ? " (on the host it is started on)" : "");
}

}  // namespace

int command_merge(const MergeArgs& given) {
  MergeArgs args = given;
  if (args.out_dir.empty() && args.dirs.size() >= 2) {
    // The form before --out, kept for one release.
    std::fprintf(stderr,
                 "memplace: warning: `merge OUT DIR...` is the old form; write `merge --out OUT "
                 "DIR...`\n");
    args.out_dir = args.dirs.front();
    args.dirs.erase(args.dirs.begin());
  }
  if (args.out_dir.empty() || args.dirs.empty())
    return fail(kExitBadInput, "merge needs --out OUT and at least one results dir");
  for (const std::string& dir : args.dirs) {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return fail(kExitBadInput, dir + ": not a results directory");
  }
  auto labels = testbed_labels(args.dirs);
  if (!labels) return fail(kExitBadInput, labels.error().describe());
  auto jobs = plan_jobs(args, *labels);
  if (!jobs) return fail(kExitBadInput, jobs.error().describe());
  bool missing = false;
  for (MergeJob& job : *jobs) {
    if (auto s = write_merged_dir(job.out, job.inputs, job.plan, args.invocation); !s)
      return fail(exit_code_for(s.error()), s.error().describe());
    for (const auto& w : job.plan.warnings)
      std::fprintf(stderr, "memplace: warning: %s\n", terminal_safe(w).c_str());
    if (auto s = write_report(job.out); !s)
      std::fprintf(stderr, "memplace: warning: report: %s\n", s.error().describe().c_str());
    std::fprintf(stderr, "memplace: merged %zu runs from %zu dirs (%s, %zu host(s)) into %s\n",
                 job.plan.records.size(), job.inputs.size(), job.plan.mode.c_str(),
                 job.plan.hosts.size(), job.out.c_str());
    if (!job.plan.missing.empty()) print_missing(job);
    missing = missing || !job.plan.missing.empty();
  }
  if (!labels->empty()) {
    if (auto s = write_testbed_report(args.out_dir, *labels); !s)
      std::fprintf(stderr, "memplace: warning: testbed report: %s\n", s.error().describe().c_str());
  }
  std::printf("%s/report.md\n", args.out_dir.c_str());
  return missing ? kExitCheckFailed : kExitOk;
}

}  // namespace memplace
