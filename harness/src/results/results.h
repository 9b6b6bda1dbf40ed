// SPDX-License-Identifier: GPL-2.0-only
// Results directories: runs.jsonl (append + fsync per run), manifest.json and reports (temp file
// + rename), samples/. Readers skip a truncated last line with a warning instead of failing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/files.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "results/run_record.h"

namespace memplace {

class RunsWriter {
 public:
  static Result<RunsWriter> open(const std::string& path);  // O_APPEND, created if missing
  Status append(const RunRecord& record);                   // one line, then fsync
  Status append_json(const nlohmann::json& line);           // a line received verbatim

 private:
  explicit RunsWriter(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

struct RunsFile {
  std::vector<RunRecord> records;
  std::vector<std::string> warnings;  // skipped lines, with line numbers and reasons
  // The highest number of any run id in the file ("r0012" -> 12), skipped lines included.
  int64_t highest_run_number = 0;
};
// Every line goes through the bounded JSON parser (base/json_bounded.h) and record_from_json;
// what fails either is a warning, never a crash.
// The caps on every file memplace reads from a results dir, stated once: anything larger is an
// error, never an allocation (spec.toml's cap is kMaxSpecBytes, spec.h).
inline constexpr size_t kMaxRunsBytes = 512u << 20;
inline constexpr size_t kMaxManifestBytes = 64u << 20;
inline constexpr size_t kMaxSamplesBytes = 16u << 20;
inline constexpr size_t kMaxLocalityBytes = 1u << 20;

// runs.jsonl at `path`: a regular file, not through a symlink, at most kMaxRunsBytes.
Result<RunsFile> read_runs(const std::string& path);
// The same for text already read; `path` names it in warnings.
RunsFile parse_runs_text(std::string_view text, const std::string& path);
// The number for the next run id in results dir `dir`: one past the highest in use in its
// runs.jsonl (skipped lines too) and in its samples/ and locality/ file names, so that no id and
// no file of an earlier run is ever reused.
int64_t next_run_number(const RunsFile& runs, const std::string& dir);

// Before appending to a runs.jsonl a crash left without its final newline: a torn last line is
// moved to runs.jsonl.torn-N and cut off, so the next record starts on a line of its own. Returns
// what was done, for stderr ("" when the file was intact).
Result<std::string> repair_runs_tail(const std::string& path);

// JSON through write_file_atomic (base/files.h), pretty-printed, invalid UTF-8 replaced.
Status write_json_atomic(const std::string& path, const nlohmann::json& j);
// A JSON file of a results dir (manifest.json): as read_runs, at most kMaxManifestBytes, nested
// at most kMaxJsonDepth deep.
Result<nlohmann::json> read_json_file(const std::string& path);

// The results dir's subfolder for the locality timing's JSON (the in-run triad/chase; not the
// Google Benchmark programs of workloads/ in the source tree). Dirs written before it had its
// own word used "workloads/", which readers still accept.
inline constexpr std::string_view kLocalityDir = "locality/";
inline constexpr std::string_view kLegacyLocalityDir = "workloads/";

// The file names a record may carry, relative to its results dir: "samples/<name>.csv" and
// "locality/<name>.json" (or the legacy "workloads/<name>.json"), the name of [A-Za-z0-9_.-]
// and not starting with '.'. Records come from guests and other hosts, so nothing else is ever
// opened on their word.
bool safe_samples_path(std::string_view file);
bool safe_locality_path(std::string_view file);
// What `--out DIR` may name: nothing yet, or an empty directory. A memplace results dir needs
// --resume, and a directory of someone else's files is never written into.
Status check_fresh_out_dir(const std::string& dir);

}  // namespace memplace
