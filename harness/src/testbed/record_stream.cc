#include "testbed/record_stream.h"

#include <fcntl.h>

#include <cstdio>

#include "agent/agent_protocol.h"
#include "base/files.h"

namespace memplace {

Result<RecordStreamWriter> RecordStreamWriter::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return errno_error("open stream " + path);
  return RecordStreamWriter(UniqueFd(fd));
}

namespace {

// A file of the run as one stream line, {"type", "run_id", "file", <key>: its text}; nothing
// when it cannot be read (the host then unlinks it from the record).
Status write_file_line(int fd, const RunRecord& r, const std::string& out_dir, const char* type,
                       const std::string& file, const char* key) {
  auto text = read_text_file(out_dir + "/" + file);
  if (!text) return {};
  nlohmann::json line = {{"type", type}, {"run_id", r.run_id}, {"file", file}, {key, *text}};
  return write_all(fd, line.dump() + "\n", "stream");
}

}  // namespace

Status RecordStreamWriter::write(const RunRecord& r, const std::string& out_dir) {
  if (!r.samples_file.empty()) {
    if (auto s = write_file_line(fd_.get(), r, out_dir, "samples", r.samples_file, "csv"); !s)
      return s;
  }
  const nlohmann::json* workload_file = nullptr;
  if (r.extra.contains("workload") && r.extra["workload"].contains("file"))
    workload_file = &r.extra["workload"]["file"];
  if (workload_file && workload_file->is_string()) {
    const std::string file = workload_file->get<std::string>();
    if (auto s = write_file_line(fd_.get(), r, out_dir, "workload", file, "text"); !s) return s;
  }
  return write_all(fd_.get(), to_json(r).dump() + "\n", "stream");
}

GuestLine classify_guest_line(std::string_view line) {
  GuestLine g;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  g.json = nlohmann::json::parse(line, nullptr, false);
  if (g.json.is_discarded() || !g.json.is_object()) {
    g.kind = GuestLine::Kind::kMalformed;
    g.error = g.json.is_discarded() ? "not JSON" : "not a JSON object";
    g.json = nullptr;
    return g;
  }
  if (!g.json.contains("type")) {
    g.kind = GuestLine::Kind::kRecord;
    return g;
  }
  const auto& t = g.json["type"];
  const std::string type = t.is_string() ? t.get<std::string>() : "";
  static const std::pair<const char*, GuestLine::Kind> kTypes[] = {
      {"hello", GuestLine::Kind::kHello},
      {"end", GuestLine::Kind::kEnd},
      {"log", GuestLine::Kind::kLog},
      {"samples", GuestLine::Kind::kSamples},
      {"workload", GuestLine::Kind::kWorkload}};
  g.kind = GuestLine::Kind::kOther;
  for (const auto& [name, kind] : kTypes)
    if (type == name) g.kind = kind;
  return g;
}

namespace {

// "<dir><name><ext>" with a plain file name: nothing a hostile guest could aim elsewhere.
bool safe_result_file(std::string_view file, std::string_view dir, std::string_view ext) {
  if (file.size() <= dir.size() + ext.size() || file.size() > 128) return false;
  if (file.substr(0, dir.size()) != dir) return false;
  if (file.substr(file.size() - ext.size()) != ext) return false;
  std::string_view name = file.substr(dir.size());
  if (name.front() == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// A file the guest sent as one JSON line ({"file": ..., <text_key>: ...}): a name under `subdir`
// that safe_result_file accepted, at most `max_bytes`, `check` passed; written atomically.
template <class Check>
Result<std::string> store_guest_file(const std::string& kernel_dir, const nlohmann::json& line,
                                     const char* kind, const char* text_key, const char* subdir,
                                     bool (*safe)(std::string_view), size_t max_bytes,
                                     Check check) {
  if (!line.contains("file") || !line["file"].is_string())
    return make_error(std::string(kind) + " line without a file name");
  if (!line.contains(text_key) || !line[text_key].is_string())
    return make_error(std::string(kind) + " line without its " + text_key + " text");
  std::string file = line["file"].get<std::string>();
  if (!safe(file))
    return make_error(std::string(kind) + " file name refused: " + file.substr(0, 200));
  const auto& text = line[text_key].get_ref<const std::string&>();
  if (text.size() > max_bytes)
    return make_error(file + ": " + std::to_string(text.size()) + " bytes of " + kind +
                      ", more than " + std::to_string(max_bytes));
  if (auto s = check(file, text); !s) return s.error();
  if (auto s = make_dirs(kernel_dir + "/" + subdir); !s) return s.error();
  if (auto s = write_file_atomic(kernel_dir + "/" + file, text); !s) return s.error();
  return file;
}

// A record never names a workload file the host does not hold: without it the record keeps the
// benchmarks it carries and says why.
void unlink_missing_workload(nlohmann::json& record, const std::set<std::string>& stored) {
  auto extra = record.find("extra");
  if (extra == record.end() || !extra->is_object()) return;
  auto w = extra->find("workload");
  if (w == extra->end() || !w->is_object()) return;
  auto file = w->find("file");
  if (file == w->end()) return;
  if (file->is_string() && stored.count(file->get<std::string>())) return;
  (*w)["file_error"] = "the guest's workload JSON did not reach the host";
  w->erase("file");
}

}  // namespace

bool safe_samples_path(std::string_view file) {
  return safe_result_file(file, "samples/", ".csv");
}

bool safe_workload_path(std::string_view file) {
  return safe_result_file(file, "workloads/", ".json");
}

Result<std::string> store_guest_samples(const std::string& kernel_dir, const nlohmann::json& line) {
  return store_guest_file(kernel_dir, line, "samples", "csv", "samples", &safe_samples_path,
                          kMaxGuestSamplesBytes,
                          [](const std::string&, const std::string&) { return Status{}; });
}

Result<std::string> store_guest_workload(const std::string& kernel_dir,
                                         const nlohmann::json& line) {
  return store_guest_file(
      kernel_dir, line, "workload", "text", "workloads", &safe_workload_path,
      kMaxGuestWorkloadBytes, [](const std::string& file, const std::string& text) -> Status {
        auto j = nlohmann::json::parse(text, nullptr, false);
        if (auto s = check_benchmark_json(j); !s)
          return make_error(file + " is not Google Benchmark JSON: " + s.error().message);
        return {};
      });
}

RecordStreamReader::RecordStreamReader(std::string kernel_dir, RunsWriter& runs, size_t cells,
                                       Clock::time_point t0,
                                       std::function<void(const std::string&)> say)
    : dir_(std::move(kernel_dir)), runs_(runs), cells_(cells), t0_(t0), say_(std::move(say)) {}

void RecordStreamReader::note(const std::string& text) {
  notes_.push_back(text);
  say_(text);
}

template <class Store>
void RecordStreamReader::on_file(const GuestLine& g, Store store, std::set<std::string>& stored,
                                 const char* what) {
  auto file = store(dir_, g.json);
  if (file)
    stored.insert(*file);
  else
    note(std::string(what) + " from the guest skipped: " + file.error().describe());
}

void RecordStreamReader::on_record(GuestLine& g) {
  auto rec = record_from_json(g.json);
  if (!rec) return note("record from the guest skipped: " + rec.error().describe());
  // A record never names a samples file the host does not hold.
  if (!rec->samples_file.empty() && !samples_stored_.count(rec->samples_file))
    g.json["samples_file"] = "";
  unlink_missing_workload(g.json, workloads_stored_);
  if (auto s = runs_.append_json(g.json); !s) say_("writing runs.jsonl: " + s.error().describe());
  received_.insert({rec->cell_key, rec->repeat});
  ++records_;
  summary_.count(*rec);
  say_(std::to_string(records_) + "/" + std::to_string(cells_) + " runs");
}

void RecordStreamReader::on_line(std::string_view line) {
  GuestLine g = classify_guest_line(line);
  switch (g.kind) {
    case GuestLine::Kind::kMalformed:
      return note("malformed line from the guest (" + g.error +
                  "): " + std::string(line.substr(0, 200)));
    case GuestLine::Kind::kHello: {
      boot_seconds_ = std::chrono::duration<double>(Clock::now() - t0_).count();
      char buf[64];
      std::snprintf(buf, sizeof buf, "booted in %.1f s", boot_seconds_);
      return say_(buf);
    }
    case GuestLine::Kind::kEnd:
      saw_end_ = true;
      if (g.json.contains("exit_code") && g.json["exit_code"].is_number_integer())
        guest_exit_ = g.json["exit_code"].get<int>();
      return;
    case GuestLine::Kind::kSamples:
      return on_file(g, store_guest_samples, samples_stored_, "samples");
    case GuestLine::Kind::kWorkload:
      return on_file(g, store_guest_workload, workloads_stored_, "workload JSON");
    case GuestLine::Kind::kLog:
    case GuestLine::Kind::kOther:
      notes_.push_back(g.json.dump());
      if (auto m = g.json.find("message"); m != g.json.end() && m->is_string())
        return say_("guest: " + m->get<std::string>());
      return say_("guest: " + g.json.dump());
    case GuestLine::Kind::kRecord:
      return on_record(g);
  }
}

}  // namespace memplace
