// SPDX-License-Identifier: GPL-2.0-only
#include "testbed/record_stream.h"

#include <fcntl.h>

#include <cstdio>

#include "agent/agent_protocol.h"
#include "base/files.h"
#include "base/json_bounded.h"
#include "experiment/placement_choice.h"

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
  const nlohmann::json* locality_file = nullptr;
  if (r.extra.contains("locality") && r.extra["locality"].contains("file"))
    locality_file = &r.extra["locality"]["file"];
  if (locality_file && locality_file->is_string()) {
    const std::string file = locality_file->get<std::string>();
    if (auto s = write_file_line(fd_.get(), r, out_dir, "locality", file, "text"); !s) return s;
  }
  return write_all(fd_.get(), to_json(r).dump() + "\n", "stream");
}

GuestLine classify_guest_line(std::string_view line) {
  GuestLine g;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  auto parsed = parse_json_bounded(line);
  if (!parsed || !parsed->is_object()) {
    g.kind = GuestLine::Kind::kMalformed;
    g.error = parsed ? "not a JSON object" : parsed.error().message;
    return g;
  }
  g.json = std::move(*parsed);
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
      {"locality", GuestLine::Kind::kLocality}};
  g.kind = GuestLine::Kind::kOther;
  for (const auto& [name, kind] : kTypes)
    if (type == name) g.kind = kind;
  return g;
}

namespace {

// A file the guest sent as one JSON line ({"file": ..., <text_key>: ...}): a name under `subdir`
// that safe_result_file accepted, at most `max_bytes`, `check` passed; written atomically.
template <class Check>
Result<std::string> store_guest_file(const std::string& kernel_dir, const nlohmann::json& line,
                                     const char* kind, const char* text_key,
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
  // safe() allows one folder level: the file's own folder ("samples", "locality", ...).
  if (auto s = make_dirs(kernel_dir + "/" + file.substr(0, file.find('/'))); !s) return s.error();
  if (auto s = write_file_atomic(kernel_dir + "/" + file, text); !s) return s.error();
  return file;
}

// A record never names a locality file the host does not hold: without it the record keeps the
// benchmarks it carries and says why.
void unlink_missing_locality(nlohmann::json& record, const std::set<std::string>& stored) {
  auto extra = record.find("extra");
  if (extra == record.end() || !extra->is_object()) return;
  auto w = extra->find("locality");
  if (w == extra->end() || !w->is_object()) return;
  auto file = w->find("file");
  if (file == w->end()) return;
  if (file->is_string() && stored.count(file->get<std::string>())) return;
  (*w)["file_error"] = "the guest's locality JSON did not reach the host";
  w->erase("file");
}

// What a record says about its kernel's build is the host's to say: the guest cannot know it,
// and must not be able to claim one.
void stamp_kernel_build(nlohmann::json& record, const nlohmann::json& build_info) {
  auto env = record.find("environment");
  if (env == record.end() || !env->is_object()) return;
  if (build_info.is_null()) {
    env->erase("kernel_build");
  } else {
    (*env)["kernel_build"] = build_info;
  }
}

// Whether a guest line names a file an earlier session left (`earlier`, "samples/r0001.csv"):
// those belong to runs already recorded, and no guest may replace them.
bool earlier_file(const std::set<std::string>& earlier, const nlohmann::json& line) {
  auto f = line.find("file");
  return f != line.end() && f->is_string() && earlier.count(f->get<std::string>());
}

}  // namespace

Result<std::string> store_guest_samples(const std::string& kernel_dir, const nlohmann::json& line) {
  return store_guest_file(kernel_dir, line, "samples", "csv", &safe_samples_path,
                          kMaxGuestSamplesBytes,
                          [](const std::string&, const std::string&) { return Status{}; });
}

Result<std::string> store_guest_locality(const std::string& kernel_dir,
                                         const nlohmann::json& line) {
  return store_guest_file(kernel_dir, line, "locality", "text", &safe_locality_path,
                          kMaxGuestLocalityBytes,
                          [](const std::string& file, const std::string& text) -> Status {
                            auto j = parse_json_bounded(text);
                            if (!j) return j.error().prefixed(file + ": ");
                            if (auto s = check_benchmark_json(*j); !s)
                              return s.error().prefixed(file + " is not Google Benchmark JSON: ");
                            return {};
                          });
}

RecordStreamReader::RecordStreamReader(Session session, RunsWriter& runs,
                                       std::function<void(const std::string&)> say)
    : session_(std::move(session)), runs_(runs), say_(std::move(say)), gate_(session_.expected) {}

void RecordStreamReader::note(const std::string& text) {
  std::string kept = notes_.add(text);
  if (!kept.empty()) say_(kept);
}

template <class Store>
void RecordStreamReader::on_file(const GuestLine& g, Store store, std::set<std::string>& stored,
                                 const char* what) {
  auto file = earlier_file(session_.earlier_files, g.json)
                  ? Result<std::string>(make_error("it names an earlier run's file"))
                  : store(session_.kernel_dir, g.json);
  if (file)
    stored.insert(*file);
  else
    note(std::string(what) + " from the guest skipped: " + file.error().describe());
}

void RecordStreamReader::on_record(std::string_view line, GuestLine& g) {
  if (line.size() > kMaxGuestRecordBytes) {
    gate_.drop();
    return note("record from the guest dropped: " + std::to_string(line.size()) + " bytes");
  }
  auto rec = record_from_json(g.json);
  if (!rec) {
    gate_.drop();
    return note("record from the guest skipped: " + rec.error().describe());
  }
  if (std::string why = gate_.admit(*rec); !why.empty()) {
    return note("record from the guest dropped (" + why + "): " + cut_text(rec->cell_key, 200) +
                " #" + std::to_string(rec->repeat));
  }
  // A record never names a samples file the host does not hold.
  if (!rec->samples_file.empty() && !samples_stored_.count(rec->samples_file))
    g.json["samples_file"] = "";
  unlink_missing_locality(g.json, localities_stored_);
  stamp_kernel_build(g.json, session_.kernel_build);
  if (auto s = runs_.append_json(g.json); !s) say_("writing runs.jsonl: " + s.error().describe());
  ++records_;
  summary_.count(*rec);
  say_(std::to_string(records_) + "/" + std::to_string(session_.expected.size()) + " runs");
  if (std::string w = disagreement_warning(*rec); !w.empty()) say_("warning: " + w);
}

void RecordStreamReader::on_line(std::string_view line) {
  GuestLine g = classify_guest_line(line);
  switch (g.kind) {
    case GuestLine::Kind::kMalformed:
      return note("malformed line from the guest (" + g.error + "): " + cut_text(line, 200));
    case GuestLine::Kind::kHello: {
      boot_seconds_ = std::chrono::duration<double>(Clock::now() - session_.t0).count();
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
    case GuestLine::Kind::kLocality:
      return on_file(g, store_guest_locality, localities_stored_, "locality JSON");
    case GuestLine::Kind::kLog:
    case GuestLine::Kind::kOther: {
      auto m = g.json.find("message");
      return note("guest: " + (m != g.json.end() && m->is_string() ? m->get<std::string>()
                                                                   : cut_text(line, 200)));
    }
    case GuestLine::Kind::kRecord:
      return on_record(line, g);
  }
}

}  // namespace memplace
