// Results directories: runs.jsonl (append + fsync per run), manifest.json and reports (temp file
// + rename), samples/. Readers skip a truncated last line with a warning instead of failing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "experiment/run_record.h"
#include "base/unique_fd.h"

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
};
Result<RunsFile> read_runs(const std::string& path);

// Writes `content` to path.tmp, fsyncs, renames over `path`.
Status write_file_atomic(const std::string& path, const std::string& content);
Status write_json_atomic(const std::string& path, const nlohmann::json& j);
Result<nlohmann::json> read_json_file(const std::string& path);

Status make_dirs(const std::string& path);

}  // namespace memplace
