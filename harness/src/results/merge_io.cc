// SPDX-License-Identifier: GPL-2.0-only
// Reading merge inputs from disk and writing a merged results dir (merge.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "base/bounded_read.h"
#include "base/clock.h"
#include "base/dir_lock.h"
#include "base/json_bounded.h"
#include "base/stop_signals.h"
#include "results/manifest.h"
#include "results/merge.h"
#include "results/results.h"
#include "results/results_dir.h"

namespace memplace {
namespace {

using nlohmann::json;

// "samples/r0001.csv" -> ("samples", "r0001.csv"); the name was checked by results.h.
std::pair<std::string, std::string> split_relative(const std::string& file) {
  size_t slash = file.find('/');
  return {file.substr(0, slash), file.substr(slash + 1)};
}

Result<std::string> read_input_file(int dir, const std::string& shown_dir,
                                    const std::string& relative, size_t max_bytes) {
  auto [sub, name] = split_relative(relative);
  auto sub_fd = open_subdir(dir, sub, shown_dir + "/" + sub);
  if (!sub_fd) return sub_fd.error();
  return read_file_at(sub_fd->get(), name, max_bytes, shown_dir + "/" + relative);
}

}  // namespace

Result<MergeInput> read_merge_input(const std::string& dir) {
  MergeInput in;
  in.dir = dir;
  auto fd = open_dir(dir);
  if (!fd) return fd.error();
  auto spec_text = read_file_at(fd->get(), "spec.toml", kMaxSpecBytes, dir + "/spec.toml");
  if (!spec_text)
    return spec_text.error()
        .prefixed(dir + " is not a memplace results dir: ")
        .as_kind(ErrorKind::kBadInput);
  auto spec = parse_spec(*spec_text, dir + "/spec.toml");
  if (!spec) return spec.error();
  in.spec = std::move(*spec);
  Spec whole = in.spec;
  whole.shard.reset();
  in.spec_identity = render_spec_toml(whole);
  auto runs = read_file_at(fd->get(), "runs.jsonl", kMaxRunsBytes, dir + "/runs.jsonl");
  if (!runs && runs.error().err != ENOENT) return runs.error();
  if (runs) {
    RunsFile parsed = parse_runs_text(*runs, dir + "/runs.jsonl");
    in.records = std::move(parsed.records);
    in.warnings = std::move(parsed.warnings);
  }
  auto manifest =
      read_file_at(fd->get(), "manifest.json", kMaxManifestBytes, dir + "/manifest.json");
  if (manifest) {
    auto j = parse_json_bounded(*manifest);  // a 100,000-deep manifest crashed json::parse
    if (j && j->is_object()) in.manifest = std::move(*j);
  }
  return in;
}

namespace {

// Copies each planned file; one that cannot be read safely is dropped from its record.
void copy_files(const std::string& out, const std::vector<MergeInput>& inputs, MergePlan& plan) {
  std::vector<Result<UniqueFd>> dirs;
  for (const auto& in : inputs) dirs.push_back(open_dir(in.dir));
  for (const MergeFileCopy& c : plan.copies) {
    if (StopSignalGuard::received()) return;  // the caller removes what was copied
    RunRecord& r = plan.records[c.record];
    const std::string& shown = inputs[c.input].dir;
    size_t limit = c.locality ? kMaxLocalityBytes : kMaxSamplesBytes;
    Result<std::string> text = dirs[c.input]
                                   ? read_input_file(dirs[c.input]->get(), shown, c.from, limit)
                                   : Result<std::string>(dirs[c.input].error());
    Status written = text ? make_dirs(out + "/" + split_relative(c.to).first) : text.error();
    if (written) written = write_file_atomic(out + "/" + c.to, *text);
    if (written) continue;
    plan.warnings.push_back(r.run_id + ": " + c.from +
                            " not copied: " + written.error().describe());
    if (c.locality) {
      r.extra["locality"].erase("file");
      r.extra["locality"]["file_error"] = "not copied by merge: " + written.error().describe();
    } else {
      r.samples_file.clear();
    }
  }
}

json summary_json(const std::vector<RunRecord>& records) {
  MatrixSummary tally;
  for (const auto& r : records) tally.count(r);
  return {{"ok", tally.ok},
          {"unsupported", tally.unsupported},
          {"failed", tally.failed},
          {"not_honored", tally.not_honored}};
}

constexpr size_t kMaxMissingListed = 10000;

json merged_manifest(const std::vector<MergeInput>& inputs, const MergePlan& plan,
                     const std::string& invocation) {
  json missing = json::array();
  for (size_t i = 0; i < plan.missing.size() && i < kMaxMissingListed; ++i)
    missing.push_back(plan.missing[i]);
  return {{"schema_version", kSchemaVersion},
          {"kind", "merged"},
          {"memplace_revision", memplace_revision()},
          {"invocation", invocation},
          {"spec_name", inputs.front().spec.name},
          {"spec_file", "spec.toml"},
          {"mode", plan.mode},
          {"merged_from", plan.sources},
          {"hosts", plan.hosts},
          {"cells", plan.expected_runs},
          {"runs", plan.records.size()},
          {"missing_count", plan.missing.size()},
          {"missing_runs", missing},
          {"merged_at", utc_now()},
          {"status", plan.missing.empty() ? "complete" : "incomplete"},
          {"summary", summary_json(plan.records)}};
}

}  // namespace

Status check_merge_out(const std::string& out) {
  if (out.empty()) return bad_input_error("merge OUT: an empty path names no directory");
  struct stat st;
  if (::lstat(out.c_str(), &st) != 0) return {};  // made when the merge writes
  if (!S_ISDIR(st.st_mode)) return bad_input_error("merge OUT " + out + ": is not a directory");
  return claim_new_or_empty_dir(out, "merge OUT");
}

Status write_merged_dir(const std::string& out, const std::vector<MergeInput>& inputs,
                        MergePlan& plan, const std::string& invocation) {
  if (inputs.empty()) return make_error("merge: no inputs");
  // Claimed, then locked, then checked again: of two merges into one new OUT, one writes and
  // the other is refused, never silently replaced.
  if (auto s = claim_new_or_empty_dir(out, "merge OUT"); !s) return s;
  auto lock = DirLock::acquire(out);
  if (!lock) return lock.error();
  for (const char* name : {"runs.jsonl", "manifest.json", "spec.toml", "samples"}) {
    struct stat st;
    if (::lstat((out + "/" + name).c_str(), &st) == 0)
      return bad_input_error("merge OUT " + out + ": another merge wrote it first (" + name + ")");
  }
  if (auto s = ensure_owned_subdir(out, "samples"); !s) return s;
  // An interrupt ends the copy between two files (no temporary file is left half written), and
  // the merge takes back what it wrote: OUT is empty again, ready for the next merge.
  StopSignalGuard signals;
  copy_files(out, inputs, plan);
  if (int sig = StopSignalGuard::received()) {
    std::error_code ec;
    std::filesystem::remove_all(out + "/samples", ec);
    std::filesystem::remove_all(out + "/locality", ec);
    std::filesystem::remove(out + "/" + kDirLockName, ec);
    return make_error("merge interrupted by signal " + std::to_string(sig) + "; " + out +
                      " holds nothing of it");
  }
  std::string lines;
  for (const auto& r : plan.records)
    lines += to_json(r).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  if (auto s = write_file_atomic(out + "/runs.jsonl", lines); !s) return s;
  Spec whole = inputs.front().spec;
  whole.shard.reset();
  if (auto s = write_file_atomic(out + "/spec.toml", render_spec_toml(whole)); !s) return s;
  return write_json_atomic(out + "/manifest.json", merged_manifest(inputs, plan, invocation));
}

}  // namespace memplace
