// SPDX-License-Identifier: GPL-2.0-only
#include "cluster/slurm_job.h"

#include <gtest/gtest.h>

namespace memplace {
namespace {

SlurmJob job() {
  SlurmJob j;
  j.memplace = "/usr/local/bin/memplace";
  j.out_dir = "/shared/it's here";
  j.spec_name = "cover letter";
  j.shards = 4;
  return j;
}

TEST(SlurmScripts, ArrayTaskRunsItsShardIntoItsOwnDir) {
  SlurmJob j = job();
  j.partition = "numa";
  j.constraint = "snp&zen4";
  std::string s = slurm_array_script(j);
  EXPECT_EQ(s.rfind("#!/bin/sh\n", 0), 0u);
  EXPECT_NE(s.find("#SBATCH --array=1-4\n"), std::string::npos) << s;
  EXPECT_NE(s.find("#SBATCH --partition=numa\n"), std::string::npos);
  EXPECT_NE(s.find("#SBATCH --constraint=snp&zen4\n"), std::string::npos);
  EXPECT_NE(s.find("#SBATCH --exclusive\n"), std::string::npos);
  EXPECT_NE(s.find("#SBATCH --job-name=memplace-cover_letter\n"), std::string::npos) << s;
  // Paths are shell-quoted where the shell reads them.
  EXPECT_NE(s.find("exec '/usr/local/bin/memplace' run '/shared/it'\\''s here/slurm/spec.toml' "
                   "--shard \"$k/4\" --out '/shared/it'\\''s here/shards'/\"$k\""),
            std::string::npos)
      << s;
}

TEST(SlurmScripts, NoPartitionOrConstraintLinesWhenUnset) {
  std::string s = slurm_array_script(job());
  EXPECT_EQ(s.find("--partition"), std::string::npos);
  EXPECT_EQ(s.find("--constraint"), std::string::npos);
}

TEST(SlurmScripts, PerHostJobRunsTheWholeMatrixUnderItsNodeName) {
  SlurmJob j = job();
  j.hosts = {"numa1", "numa2"};
  std::string s = slurm_host_script(j);
  EXPECT_EQ(s.find("--array"), std::string::npos);
  EXPECT_EQ(s.find("--shard"), std::string::npos);
  EXPECT_NE(s.find("--out '/shared/it'\\''s here/hosts'/\"$node\""), std::string::npos) << s;
  std::string m = slurm_merge_script(j);
  EXPECT_NE(m.find("'/shared/it'\\''s here/hosts/numa1'"), std::string::npos) << m;
  EXPECT_NE(m.find("compare --by host"), std::string::npos) << m;
}

TEST(SlurmScripts, MergeRecordsItsExitStatusLast) {
  std::string m = slurm_merge_script(job());
  EXPECT_NE(m.find("merge '/shared/it'\\''s here/merged' \"$@\""), std::string::npos) << m;
  EXPECT_NE(m.find("-le 4 ]"), std::string::npos) << m;
  size_t exit_file = m.find("> '/shared/it'\\''s here/slurm/merge.exit'");
  ASSERT_NE(exit_file, std::string::npos) << m;
  EXPECT_GT(exit_file, m.find(" merge "));
}

TEST(SlurmScripts, ASpecNameCannotAddLinesToTheScripts) {
  SlurmJob j = job();
  j.spec_name = "x\n#SBATCH --wrap=evil\nrm -rf /";
  j.hosts = {"n1"};
  for (const std::string& s :
       {slurm_array_script(j), slurm_host_script(j), slurm_merge_script(j)}) {
    EXPECT_EQ(s.find("\n#SBATCH --wrap"), std::string::npos) << s;
    EXPECT_EQ(s.find("\nrm -rf"), std::string::npos) << s;
  }
}

TEST(SlurmScripts, ValuesOnSbatchLinesAndNodeNamesAreChecked) {
  EXPECT_TRUE(check_sbatch_value("snp&zen4", "--constraint").ok());
  EXPECT_FALSE(check_sbatch_value("a b", "--constraint").ok());
  EXPECT_FALSE(check_sbatch_value("a\n#SBATCH --x", "--partition").ok());
  EXPECT_TRUE(check_node_name("numa-01.lab").ok());
  for (const char* bad : {"", "node[1-4]", "a b", "../x", "x;rm"})
    EXPECT_FALSE(check_node_name(bad).ok()) << bad;
}

TEST(ParseSbatchJobId, TakesTheIdWithOrWithoutCluster) {
  EXPECT_EQ(*parse_sbatch_job_id("1234\n"), "1234");
  EXPECT_EQ(*parse_sbatch_job_id("77;cluster\n"), "77");
  for (const char* bad : {"", "Submitted batch job 5", "12a", "\n"})
    EXPECT_FALSE(parse_sbatch_job_id(bad).ok()) << bad;
}

}  // namespace
}  // namespace memplace
