// SPDX-License-Identifier: GPL-2.0-only
#include "results/manifest.h"

#include "results/results.h"

namespace memplace {

void MatrixSummary::count(const RunRecord& r) {
  switch (r.status) {
    case RunStatus::kOk:
      ++ok;
      if (r.verdict && !r.verdict->honored) ++not_honored;
      return;
    case RunStatus::kUnsupported:
      ++unsupported;
      return;
    case RunStatus::kFailed:
      ++failed;
      return;
  }
}

void MatrixSummary::add(const MatrixSummary& other) {
  ok += other.ok;
  unsupported += other.unsupported;
  failed += other.failed;
  not_honored += other.not_honored;
  skipped += other.skipped;
}

std::string memplace_revision() {
#ifdef MEMPLACE_GIT_REV
  return MEMPLACE_GIT_REV;
#else
  return "unknown";
#endif
}

Manifest::Manifest(std::string dir, const std::string& invocation, size_t cells)
    : dir_(std::move(dir)),
      json_({{"schema_version", kSchemaVersion},
             {"memplace_revision", memplace_revision()},
             {"invocation", invocation},
             {"cells", cells},
             {"status", "running"}}) {}

void Manifest::finish(const std::string& status, const MatrixSummary& summary) {
  json_["status"] = status;
  json_["summary"] = {{"ok", summary.ok},
                      {"unsupported", summary.unsupported},
                      {"failed", summary.failed},
                      {"not_honored", summary.not_honored}};
}

Status Manifest::write() const {
  return write_json_atomic(dir_ + "/manifest.json", json_);
}

}  // namespace memplace
