// SPDX-License-Identifier: GPL-2.0-only
// `memplace merge`: results dirs made from one spec (shards of it, or the whole matrix on
// several hosts) joined into one results dir that report, compare and plot read like any other.
// Input dirs are untrusted: every file is read bounded, relative to the dir, never through a
// symlink, and only the file names results.h allows are copied.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "results/results.h"
#include "results/run_record.h"
#include "spec/spec.h"

namespace memplace {

struct MergeInput {
  std::string dir;
  Spec spec;                  // its spec.toml, shard included
  std::string spec_identity;  // spec.toml as rendered without the shard: one matrix, one text
  nlohmann::json manifest = nlohmann::json::object();  // {} when it has none
  std::vector<RunRecord> records;
  std::vector<std::string> warnings;  // runs.jsonl lines skipped
};
// Fails when the dir has no readable spec.toml or runs.jsonl (not a results dir).
Result<MergeInput> read_merge_input(const std::string& dir);

struct MergeFileCopy {
  size_t input = 0;   // index into the inputs
  std::string from;   // relative to that input dir, safe per results.h
  std::string to;     // relative to the merged dir
  size_t record = 0;  // index into MergePlan::records, whose file name it is
  bool locality = false;
};

struct MergePlan {
  // "shards": every input is one shard of the matrix and a run key may appear once overall;
  // "hosts": every input ran the whole matrix on some host and a run key may appear once per
  // hostname.
  std::string mode;
  std::vector<RunRecord> records;  // in matrix order (per host), renumbered r0001...
  std::vector<MergeFileCopy> copies;
  std::vector<std::string> missing;  // run keys no input holds ("host|key" in hosts mode)
  size_t expected_runs = 0;
  nlohmann::json hosts = nlohmann::json::array();    // manifest "hosts"
  nlohmann::json sources = nlohmann::json::array();  // manifest "merged_from"
  std::vector<std::string> warnings;
};
// Pure. Every error is bad input: dirs from different specs, shards mixed with whole-matrix
// dirs or of different counts, a run twice (naming the run keys and dirs), a run the spec's
// matrix does not have.
Result<MergePlan> plan_merge(const std::vector<MergeInput>& inputs);

// Bad input when `out` already holds a results dir's files.
Status check_merge_out(const std::string& out);

// Writes the plan into `out` (new or empty): samples/ and locality/ copied under their new run
// ids, runs.jsonl, spec.toml (without shard), manifest.json. A file that cannot be copied safely
// is dropped from its record with a warning, never followed.
Status write_merged_dir(const std::string& out, const std::vector<MergeInput>& inputs,
                        MergePlan& plan, const std::string& invocation);

}  // namespace memplace
