// SPDX-License-Identifier: GPL-2.0-only
// The third reliability round's reproducers through the real binary: merge, report, resume and
// slurm write only into what they own, never through a planted symlink; hostile manifests and
// files in a results dir neither crash nor hang a reader; the CI gates fail closed.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>

#include "base/stop_signals.h"
#include "memplace_exec.h"
#include "results/merge.h"
#include "results/results.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;
using testing::fresh_temp_dir;
using testing::run_memplace;
using testing::slurp;
using testing::write_text;

// A finished two-run results dir of small anon cells.
std::string small_dir(const std::string& root, const std::string& name) {
  const std::string out = root + "/" + name;
  auto e = run_memplace("run -q --no-plots --backing anon --size 4MiB --repeats 2 --out " + out);
  EXPECT_EQ(e.status, 0) << e.output;
  return out;
}

struct Work {
  std::string root = fresh_temp_dir("ownership");
  Work() { fs::create_directories(root); }
  ~Work() { fs::remove_all(root); }
};

// Item 1: merge wrote into any existing directory, a user's notes/ or /.
TEST(ResultsOwnership, MergeWritesOnlyIntoANewOrEmptyDir) {
  Work w;
  const std::string base = small_dir(w.root, "base");
  fs::create_directories(w.root + "/notes");
  write_text(w.root + "/notes/report.md", "mine\n");
  auto e = run_memplace("merge " + w.root + "/notes " + base);
  EXPECT_EQ(e.status, 2) << e.output;
  EXPECT_NE(e.output.find("is not empty"), std::string::npos) << e.output;
  EXPECT_EQ(slurp(w.root + "/notes/report.md"), "mine\n");
  EXPECT_EQ(fs::directory_iterator(w.root + "/notes")->path().filename(), "report.md");
  // A directory with only a hidden file is not empty either (the issue's `merge / DIR` wrote
  // into /; this stands in for it without risking the host's root).
  fs::create_directories(w.root + "/hidden");
  write_text(w.root + "/hidden/.keep", "");
  EXPECT_EQ(run_memplace("merge " + w.root + "/hidden " + base).status, 2);
  EXPECT_FALSE(fs::exists(w.root + "/hidden/runs.jsonl"));
  auto fresh = run_memplace("merge " + w.root + "/merged " + base);
  EXPECT_EQ(fresh.status, 0) << fresh.output;
}

// Item 5: two merges into one new OUT both said success; the second replaced the first.
TEST(ResultsOwnership, OfTwoConcurrentMergesIntoOneOutOneIsRefused) {
  Work w;
  const std::string base = small_dir(w.root, "base");
  const std::string out = w.root + "/m";
  auto a =
      std::async(std::launch::async, [&] { return run_memplace("merge " + out + " " + base); });
  auto b =
      std::async(std::launch::async, [&] { return run_memplace("merge " + out + " " + base); });
  const int sa = a.get().status, sb = b.get().status;
  EXPECT_TRUE((sa == 0) != (sb == 0)) << "statuses " << sa << " and " << sb;
  EXPECT_EQ(sa + sb, 2) << "the loser exits 2";
}

// Item 2: report over a folder that merely holds results dirs overwrote the user's report.md.
TEST(ResultsOwnership, ReportRefusesAFolderThatIsNotAResultsDir) {
  Work w;
  small_dir(w.root, "base");
  write_text(w.root + "/report.md", "mine\n");
  write_text(w.root + "/compare.md", "mine too\n");
  auto e = run_memplace("report " + w.root);
  EXPECT_EQ(e.status, 2) << e.output;
  EXPECT_EQ(slurp(w.root + "/report.md"), "mine\n");
  EXPECT_EQ(slurp(w.root + "/compare.md"), "mine too\n");
  EXPECT_FALSE(fs::exists(w.root + "/memplace.lock"));
  EXPECT_FALSE(fs::exists(w.root + "/report.html"));
}

// Item 3: a planted plots/ or samples/ symlink sent charts or samples out of the dir.
TEST(ResultsOwnership, PlantedPlotsAndSamplesSymlinksAreRefused) {
  Work w;
  const std::string base = small_dir(w.root, "base");
  fs::create_directories(w.root + "/elsewhere");
  fs::remove_all(base + "/plots");
  fs::create_directory_symlink(w.root + "/elsewhere", base + "/plots");
  auto report = run_memplace("report " + base);
  EXPECT_EQ(report.status, 2) << report.output;
  EXPECT_TRUE(fs::is_empty(w.root + "/elsewhere"));

  const std::string again = small_dir(w.root, "again");
  fs::remove_all(again + "/samples");
  fs::create_directory_symlink(w.root + "/elsewhere", again + "/samples");
  auto resume = run_memplace("run -q --resume " + again);
  EXPECT_EQ(resume.status, 2) << resume.output;
  EXPECT_TRUE(fs::is_empty(w.root + "/elsewhere"));
}

// Item 4: --out "" targeted /.
TEST(ResultsOwnership, SlurmRefusesAnEmptyOut) {
  auto e = run_memplace("slurm " + std::string(MEMPLACE_SOURCE_DIR) +
                        "/specs/local-node0.toml --dry-run --out ''");
  EXPECT_EQ(e.status, 2) << e.output;
  EXPECT_NE(e.output.find("--out: an empty path"), std::string::npos) << e.output;
  auto twice = run_memplace("slurm " + std::string(MEMPLACE_SOURCE_DIR) +
                            "/specs/local-node0.toml --dry-run --per-host n1,n1 --out " +
                            fresh_temp_dir("slurm-twice"));
  EXPECT_EQ(twice.status, 2) << twice.output;
}

// Items 6 and 7: a manifest 100,000 arrays deep segfaulted merge; wrong types aborted it.
TEST(ResultsOwnership, HostileManifestsNeitherCrashMergeNorResume) {
  Work w;
  const std::string deep = small_dir(w.root, "deep");
  std::string m = slurp(deep + "/manifest.json");
  m.replace(m.find("\"environment\""), 13, "\"x\": " + testing::nested(100000) + ", \"old_env\"");
  write_text(deep + "/manifest.json", m);
  EXPECT_EQ(run_memplace("merge " + w.root + "/out-deep " + deep).status, 0);
  auto resume = run_memplace("run -q --resume " + deep);  // refused by name, never a crash
  EXPECT_EQ(resume.status, 2) << resume.output;
  EXPECT_NE(resume.output.find("manifest.json"), std::string::npos) << resume.output;

  const std::string typed = small_dir(w.root, "typed");
  auto j = read_json_file(typed + "/manifest.json");
  ASSERT_TRUE(j.ok());
  (*j)["merged_from"] = {"a"};
  (*j)["hosts"] = nlohmann::json::array({{{"hostname", 5}, {"topology_digest", {"x"}}}});
  (*j)["topology_digest"] = {"x"};
  write_text(typed + "/manifest.json", j->dump());
  auto merge = run_memplace("merge " + w.root + "/out-typed " + typed);
  EXPECT_TRUE(merge.status == 0 || merge.status == 2) << merge.status << merge.output;
  auto typed_resume = run_memplace("run -q --resume " + typed);
  EXPECT_TRUE(typed_resume.status == 0 || typed_resume.status == 2)
      << typed_resume.status << typed_resume.output;
}

// Items 8 and 9: a FIFO in place of runs.jsonl or spec.toml hung compare and resume; a runs.jsonl
// linked to /dev/zero or out of the dir was read.
TEST(ResultsOwnership, FifosAndLinkedRunsAreRefusedNotWaitedOnOrFollowed) {
  Work w;
  const std::string base = small_dir(w.root, "base");
  for (const char* name : {"runs.jsonl", "spec.toml"}) {
    const std::string dir = small_dir(w.root, std::string("fifo-") + name);
    fs::remove(dir + "/" + name);
    ASSERT_EQ(::mkfifo((dir + "/" + name).c_str(), 0600), 0);
    EXPECT_EQ(run_memplace("run -q --resume " + dir).status, 2) << name;
    if (std::string(name) == "runs.jsonl") {
      EXPECT_EQ(run_memplace("compare " + base + " " + dir).status, 2);
    }
  }
  for (const char* target : {"/dev/zero", "/etc/passwd"}) {
    const std::string dir = small_dir(w.root, std::string("link") + (target[1] == 'd' ? "0" : "1"));
    fs::remove(dir + "/runs.jsonl");
    fs::create_symlink(target, dir + "/runs.jsonl");
    auto e = run_memplace("compare " + base + " " + dir);
    EXPECT_EQ(e.status, 2) << target << ": " << e.output;
    EXPECT_NE(e.output.find("a symlink, not followed"), std::string::npos) << e.output;
    EXPECT_EQ(run_memplace("report " + dir).status, 2) << target;
  }
}

// Item 14: the gates passed when nothing was measured. A cell the kernel cannot run (here a
// QEMU that cannot be probed, on every host) fails --check and --fail-on-regression unless
// --allow-unsupported says otherwise.
TEST(ResultsOwnership, GatesFailClosedOnUnsupportedCells) {
  Work w;
  const std::string base = small_dir(w.root, "base");
  const std::string cell = " --backing anon --size 4MiB --repeats 2 --toucher qemu";
  auto check = run_memplace("run -q --no-plots --check" + cell + " --out " + w.root + "/u1",
                            "MEMPLACE_QEMU=/nonexistent/qemu");
  EXPECT_EQ(check.status, 1) << check.output;
  EXPECT_NE(check.output.find("--check: unsupported cells"), std::string::npos) << check.output;
  auto allowed = run_memplace(
      "run -q --no-plots --check --allow-unsupported" + cell + " --out " + w.root + "/u2",
      "MEMPLACE_QEMU=/nonexistent/qemu");
  EXPECT_EQ(allowed.status, 0) << allowed.output;

  // The same cells, host toucher in the baseline and unsupported in the candidate.
  auto runs = read_runs(w.root + "/u2/runs.jsonl");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->records.size(), 2u);
  EXPECT_EQ(runs->records[0].status, RunStatus::kUnsupported);
  std::string lines;
  for (auto r : runs->records) {
    r.toucher = "host";
    r.cell_key = "default/anon/host/4MiB/t1/cpuany";
    lines += to_json(r).dump() + "\n";
  }
  write_text(w.root + "/u2/runs.jsonl", lines);
  auto gate = run_memplace("compare " + base + " " + w.root + "/u2 --fail-on-regression");
  EXPECT_EQ(gate.status, 1) << gate.output;
  EXPECT_NE(gate.output.find("unsupported here"), std::string::npos) << gate.output;
  EXPECT_EQ(run_memplace("compare " + base + " " + w.root +
                         "/u2 --fail-on-regression --allow-unsupported")
                .status,
            0);
}

// Item 11: --resume ran whatever spec.toml held: an empty one, another spec, a directory, under a
// manifest of a schema this memplace does not write.
TEST(ResultsOwnership, ResumeRunsOnlyTheSpecTheManifestRecorded) {
  Work w;
  const std::string base = small_dir(w.root, "base");
  auto manifest = read_json_file(base + "/manifest.json");
  ASSERT_TRUE(manifest.ok());
  ASSERT_TRUE((*manifest)["spec_digest"].is_string()) << manifest->dump();
  const std::string spec = slurp(base + "/spec.toml");
  for (const std::string& text : {std::string(), spec + "\n[run]\ntolerance = 0.2\n"}) {
    write_text(base + "/spec.toml", text);
    auto e = run_memplace("run -q --resume " + base);
    EXPECT_EQ(e.status, 2) << e.output;
    EXPECT_NE(e.output.find("is not the spec this dir ran"), std::string::npos) << e.output;
  }
  fs::remove(base + "/spec.toml");
  fs::create_directory(base + "/spec.toml");
  EXPECT_EQ(run_memplace("run -q --resume " + base).status, 2);
  fs::remove(base + "/spec.toml");
  write_text(base + "/spec.toml", spec);
  (*manifest)["schema_version"] = 99;
  write_text(base + "/manifest.json", manifest->dump());
  auto newer = run_memplace("run -q --resume " + base);
  EXPECT_EQ(newer.status, 2) << newer.output;
  EXPECT_NE(newer.output.find("schema_version 99"), std::string::npos) << newer.output;
}

// Item 12: run ids were reused after r999999999; item 13: a no-op --resume rewrote the summary
// as ok 0, skipped N.
TEST(ResultsOwnership, RunIdsGrowPastNineDigitsAndTheSummaryIsTheDirs) {
  Work w;
  const std::string base = small_dir(w.root, "base");
  write_text(base + "/samples/r999999999.csv", "planted\n");
  for (int round = 0; round < 2; ++round) {
    auto runs = read_runs(base + "/runs.jsonl");
    ASSERT_TRUE(runs.ok());
    std::string kept;
    for (size_t i = 0; i + 1 < runs->records.size(); ++i)
      kept += to_json(runs->records[i]).dump() + "\n";
    write_text(base + "/runs.jsonl", kept);  // the last run is to be done again
    ASSERT_EQ(run_memplace("run -q --resume " + base).status, 0);
  }
  auto runs = read_runs(base + "/runs.jsonl");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->records.size(), 2u);
  EXPECT_EQ(runs->records[1].run_id, "r1000000001");
  EXPECT_EQ(slurp(base + "/samples/r999999999.csv"), "planted\n");

  ASSERT_EQ(run_memplace("run -q --resume " + base).status, 0);  // nothing left to run
  auto manifest = read_json_file(base + "/manifest.json");
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ((*manifest)["summary"]["ok"], 2) << manifest->dump();
  EXPECT_EQ((*manifest)["status"], "complete");
}

// Item 16: a results dir named like an option reached the chart script as one.
TEST(ResultsOwnership, ADirNamedLikeAnOptionIsADir) {
  Work w;
  small_dir(w.root, "-h");
  auto e = run_memplace("plot -- " + w.root + "/-h");
  EXPECT_EQ(e.output.find("usage:"), std::string::npos) << e.output;
  if (e.status == 0) {
    EXPECT_TRUE(fs::exists(w.root + "/-h/plots/charts.json")) << e.output;
  } else {
    EXPECT_NE(e.output.find("matplotlib"), std::string::npos) << e.output;  // no charts here
  }
}

// Item 15: source names, run ids in warnings and hostnames reached report.md, compare.md and the
// terminal raw: a newline broke the table, an escape sequence reached stderr as one.
TEST(ResultsOwnership, RecordTextIsEscapedInMarkdownAndOnTheTerminal) {
  Work w;
  const std::string base = small_dir(w.root, "base");
  auto runs = read_runs(base + "/runs.jsonl");
  ASSERT_TRUE(runs.ok());
  std::string lines;
  for (RunRecord r : runs->records) {
    r.run_id += "\x1b]0;owned\x07";
    r.environment.hostname = "h|x\n# injected";
    SourceReading odd = r.placement_sources.at("move_pages");
    for (auto& [node, pages] : odd.pages) pages += 4000;  // disagrees: a warning names the run
    r.placement_sources["src|x\n# injected\x1b[31m"] = odd;
    lines += to_json(r).dump() + "\n";
  }
  write_text(base + "/runs.jsonl", lines);
  auto report = run_memplace("report --no-plots " + base);
  EXPECT_EQ(report.status, 0) << report.output;
  const std::string other = small_dir(w.root, "other");
  auto cmp = run_memplace("compare --by host " + base + " " + other + " --out " + w.root + "/cmp");
  EXPECT_EQ(cmp.status, 0) << cmp.output;
  for (const std::string& text :
       {report.output, cmp.output, slurp(base + "/report.md"), slurp(w.root + "/cmp/compare.md")}) {
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    EXPECT_EQ(text.find("\n# injected"), std::string::npos) << text;
  }
  EXPECT_NE(slurp(base + "/report.md").find("\\x1b"), std::string::npos) << "shown, escaped";
}

// Item 17's smaller ones: two dirs claiming one shard, a misspelt command.
TEST(ResultsOwnership, TwoDirsClaimingOneShardAndAnUnknownCommandAreNamed) {
  Work w;
  // Shard 2/2's runs in a dir whose spec claims 1/2: no run overlaps, yet both say 1/2.
  for (const char* shard : {"1/2", "2/2"}) {
    auto e = run_memplace("run -q --no-plots --backing anon,shmem --size 4MiB --shard " +
                          std::string(shard) + " --out " + w.root + "/s" + shard[0]);
    ASSERT_EQ(e.status, 0) << e.output;
  }
  std::string spec = slurp(w.root + "/s2/spec.toml");
  ASSERT_NE(spec.find("shard = \"2/2\""), std::string::npos) << spec;
  spec.replace(spec.find("shard = \"2/2\""), 13, "shard = \"1/2\"");
  write_text(w.root + "/s2/spec.toml", spec);
  auto merge = run_memplace("merge " + w.root + "/m " + w.root + "/s1 " + w.root + "/s2");
  EXPECT_EQ(merge.status, 2) << merge.output;
  EXPECT_NE(merge.output.find("both claim shard 1/2"), std::string::npos) << merge.output;
  EXPECT_FALSE(fs::exists(w.root + "/m/runs.jsonl"));
  auto bogus = run_memplace("bogus");
  EXPECT_EQ(bogus.status, 2);
  EXPECT_NE(bogus.output.find("unknown command 'bogus' (commands: probe, run,"), std::string::npos)
      << bogus.output;
}

}  // namespace
}  // namespace memplace

namespace memplace {
namespace {

// Starts `memplace run` on a new dir, signals it after `delay_us`, and returns its wait status.
int run_interrupted(const std::string& out, int signal, useconds_t delay_us) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(MEMPLACE_BINARY, MEMPLACE_BINARY, "run", "-q", "--no-plots", "--size", "4MiB", "--out",
            out.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::usleep(delay_us);
  ::kill(pid, signal);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

// Item 10: an interrupt in the first moments of `run --out NEW` left a dir that could be
// neither resumed nor reused. At every moment tried, the dir is either absent or resumes to
// exactly the one run it was asked for.
TEST(ResultsOwnership, AnInterruptAtAnyMomentLeavesNoDirOrAResumableOne) {
  Work w;
  int interrupted = 0;
  for (int signal : {SIGINT, SIGTERM}) {
    for (useconds_t delay : {0u, 500u, 1000u, 2000u, 3000u, 5000u, 8000u, 12000u, 20000u, 60000u}) {
      const std::string out =
          w.root + "/sig" + std::to_string(signal) + "-" + std::to_string(delay);
      const int status = run_interrupted(out, signal, delay);
      interrupted += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
      if (!fs::exists(out)) continue;
      auto resumed = run_memplace("run -q --no-plots --resume " + out);
      ASSERT_EQ(resumed.status, 0) << "signal " << signal << " after " << delay << " us\n"
                                   << resumed.output;
      auto runs = read_runs(out + "/runs.jsonl");
      ASSERT_TRUE(runs.ok()) << runs.error().describe();
      EXPECT_EQ(runs->records.size(), 1u) << out;
    }
  }
  EXPECT_GT(interrupted, 0) << "no run was interrupted: the test proved nothing";
}

// Item 13: a resume that fails on a planted runs.jsonl symlink left a complete dir "running",
// without its summary. The refusal now comes before the manifest is touched.
TEST(ResultsOwnership, AFailedResumeLeavesTheManifestAsItWas) {
  Work w;
  const std::string base = small_dir(w.root, "base");
  const std::string before = slurp(base + "/manifest.json");
  fs::copy_file(base + "/runs.jsonl", w.root + "/elsewhere.jsonl");
  fs::remove(base + "/runs.jsonl");
  fs::create_symlink(w.root + "/elsewhere.jsonl", base + "/runs.jsonl");
  auto e = run_memplace("run -q --no-plots --resume " + base);
  EXPECT_NE(e.status, 0) << e.output;
  EXPECT_NE(e.output.find("symlink"), std::string::npos) << e.output;
  EXPECT_EQ(slurp(base + "/manifest.json"), before);
}

}  // namespace
}  // namespace memplace

namespace memplace {
namespace {

// Item 17: an interrupted merge left samples/*.csv.tmp-* behind. An interrupt now ends the copy
// between two files and the merge takes back what it wrote: OUT is empty, ready for a merge.
TEST(ResultsOwnership, AnInterruptedMergeLeavesOutEmpty) {
  Work w;
  std::vector<MergeInput> inputs;
  for (const char* shard : {"shard-1-of-2", "shard-2-of-2"}) {
    auto in = read_merge_input(std::string(MEMPLACE_FIXTURES) + "/merge/" + shard);
    ASSERT_TRUE(in.ok()) << in.error().describe();
    inputs.push_back(std::move(*in));
  }
  auto plan = plan_merge(inputs);
  ASSERT_TRUE(plan.ok()) << plan.error().describe();
  ASSERT_FALSE(plan->copies.empty()) << "the fixture has samples files to copy";
  const std::string out = w.root + "/merged";
  {
    StopSignalGuard outer;  // the interrupt arrives as the merge starts
    ::raise(SIGINT);
    auto s = write_merged_dir(out, inputs, *plan, "test");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("interrupted by signal 2"), std::string::npos);
  }
  EXPECT_TRUE(fs::is_empty(out)) << "OUT keeps nothing of the interrupted merge";
  auto again =
      run_memplace("merge --out " + out + " " + std::string(MEMPLACE_FIXTURES) +
                   "/merge/shard-1-of-2 " + std::string(MEMPLACE_FIXTURES) + "/merge/shard-2-of-2");
  EXPECT_EQ(again.status, 0) << again.output;
}

}  // namespace
}  // namespace memplace
