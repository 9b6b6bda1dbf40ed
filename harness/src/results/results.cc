// SPDX-License-Identifier: GPL-2.0-only
// RunRecord <-> JSON and the results-dir file primitives. Readers never throw: a results dir
// written by a crashed or killed run must still be readable up to its last complete line.
#include "results/results.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>

#include "base/bounded_read.h"
#include "base/dir_lock.h"
#include "base/enum_names.h"
#include "base/files.h"
#include "base/json_bounded.h"
#include "host/sysfs.h"
#include "results/run_record.h"

namespace memplace {
namespace {

using nlohmann::json;

// JSON objects only take string keys, so node ids become "0", "2".
template <class V>
json node_map_to_json(const std::map<int, V>& m) {
  json out = json::object();
  for (const auto& [node, v] : m) out[std::to_string(node)] = v;
  return out;
}

Result<int> parse_node_key(const std::string& key, const std::string& field) {
  int node = -1;
  auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), node);
  if (ec != std::errc() || p != key.data() + key.size() || node < 0)
    return make_error(field + ": node key '" + key + "' is not a node id");
  return node;
}

bool is_count(const json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
}

// A page or kB count no machine can hold (2^50 is a pebibyte of kB, 4 EiB of pages) is garbage:
// two counts near 2^63 would wrap their sum and print as a 100/0 split.
constexpr uint64_t kMaxCount = 1ull << 50;
bool is_sane_count(const json& v) {
  return is_count(v) && v.get<uint64_t>() <= kMaxCount;
}

// JSON numbers parse to +-inf when they overflow a double ("1e400").
bool is_finite_number(const json& v) {
  return v.is_number() && std::isfinite(v.get<double>());
}

// An integer that fits N: 1e20 is a float and 2^40 does not fit an int; either would come back
// as a different number (INT_MIN) if converted.
template <class N>
bool fits(const json& v) {
  if constexpr (std::is_floating_point_v<N>) {
    return is_finite_number(v);
  } else if constexpr (std::is_unsigned_v<N>) {
    return is_count(v) && v.get<uint64_t>() <= std::numeric_limits<N>::max();
  } else {
    if (!v.is_number_integer()) return false;
    if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t(std::numeric_limits<N>::max());
    int64_t i = v.get<int64_t>();
    return i >= std::numeric_limits<N>::min() && i <= std::numeric_limits<N>::max();
  }
}

// Parses {"0": number, "2": number}; `V` is uint64_t or double.
template <class V>
Result<std::map<int, V>> node_map_from_json(const json& j, const std::string& field) {
  std::map<int, V> out;
  if (j.is_null()) return out;
  if (!j.is_object()) return make_error(field + ": expected an object keyed by node id");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    auto node = parse_node_key(key, field);
    if (!node) return node.error();
    if (!is_finite_number(v)) return make_error(field + "." + key + ": expected a number");
    if (std::is_same_v<V, uint64_t> && !is_sane_count(v))
      return make_error(field + "." + key + ": expected a non-negative integer below 2^50");
    out[*node] = v.template get<V>();
  }
  return out;
}

// Field readers that report the field by name instead of throwing.
struct Reader {
  explicit Reader(const json& object) : j(object) {}
  const json& j;
  std::string missing;  // first required field absent or of the wrong type

  const json* find(const char* key) const {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  }
  void need(const char* key) {
    if (missing.empty()) missing = key;
  }
  void str(const char* key, std::string& out, bool required = false) {
    const json* v = find(key);
    if (v && v->is_string())
      out = v->get<std::string>();
    else if (required || v)
      need(key);
  }
  template <class N>
  void num(const char* key, N& out, bool required = false) {
    const json* v = find(key);
    if (v && fits<N>(*v))
      out = v->get<N>();
    else if (required || v)
      need(key);
  }
  void boolean(const char* key, bool& out) {
    const json* v = find(key);
    if (v && v->is_boolean())
      out = v->get<bool>();
    else if (v)
      need(key);
  }
};

Result<Verdict> verdict_from_json(const json& j) {
  if (!j.is_object()) return make_error("verdict: expected an object");
  Verdict v;
  Reader r(j);
  r.boolean("honored", v.honored);
  r.num("max_deviation", v.max_deviation);
  r.num("tolerance", v.tolerance);
  r.str("reason", v.reason);
  if (!r.missing.empty()) return make_error("verdict." + r.missing + ": missing or wrong type");
  auto expected = node_map_from_json<double>(j.value("expected", json()), "verdict.expected");
  if (!expected) return expected.error();
  auto measured = node_map_from_json<double>(j.value("measured", json()), "verdict.measured");
  if (!measured) return measured.error();
  v.expected = std::move(*expected);
  v.measured = std::move(*measured);
  // Shares of one cell's pages: anything outside [0, 1] was not measured.
  auto share = [](double f) { return f >= 0 && f <= 1 + 1e-9; };
  for (const auto* m : {&v.expected, &v.measured})
    for (const auto& [node, f] : *m)
      if (!share(f))
        return make_error("verdict: node " + std::to_string(node) + " share out of 0..1");
  if (!share(v.max_deviation) || !share(v.tolerance))
    return make_error("verdict: max_deviation or tolerance out of 0..1");
  return v;
}

Environment environment_from_json(const json& j) {
  Environment e;
  if (!j.is_object()) return e;
  Reader r(j);
  r.str("kind", e.kind);
  r.str("kernel", e.kernel);
  r.str("hostname", e.hostname);
  r.str("topology_digest", e.topology_digest);
  r.str("accel", e.accel);
  if (auto it = j.find("topology"); it != j.end()) e.topology = *it;
  // Anything else in a kernel_build that does not fit the bounds is dropped, not trusted.
  if (auto it = j.find("kernel_build"); it != j.end() && it->is_object() &&
                                        json_depth_at_most(*it, kMaxKernelBuildDepth) &&
                                        it->dump().size() <= kMaxKernelBuildBytes) {
    e.kernel_build = *it;
  }
  return e;
}

// Invalid UTF-8 in a kernel message must not make a record unwritable.
std::string dump_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string kernel_label(const Environment& e) {
  std::string label = e.kernel;
  auto name = e.kernel_build.is_object() ? e.kernel_build.find("name") : e.kernel_build.end();
  if (name != e.kernel_build.end() && name->is_string())
    label += (label.empty() ? "" : " ") + std::string("(build:") + name->get<std::string>() + ")";
  return label;
}

constexpr EnumNames<RunStatus, 3> kRunStatusNames{{"ok", "unsupported", "failed"}};

const char* run_status_name(RunStatus status) {
  // The names are literals, so a view's data is a C string (for printf's %s).
  auto i = static_cast<size_t>(status);
  return kRunStatusNames.names[i < kRunStatusNames.names.size() ? i : 2].data();
}

std::optional<RunStatus> parse_run_status(std::string_view name) {
  return value_named(kRunStatusNames, name);
}

RunStatus run_status_for(const Error& e) {
  return e.kind == ErrorKind::kUnsupported ? RunStatus::kUnsupported : RunStatus::kFailed;
}

json to_json(const MeminfoSnapshot& s) {
  json out = json::object();
  for (const auto& [node, fields] : s) out[std::to_string(node)] = fields;
  return out;
}

Result<MeminfoSnapshot> meminfo_from_json(const json& j) {
  MeminfoSnapshot out;
  if (j.is_null()) return out;
  if (!j.is_object()) return make_error("meminfo: expected an object keyed by node id");
  for (const auto& [key, fields] : j.items()) {
    auto node = parse_node_key(key, "meminfo");
    if (!node) return node.error();
    if (!fields.is_object()) return make_error("meminfo." + key + ": expected an object");
    NodeMeminfo& dst = out[*node];
    for (const auto& [name, v] : fields.items()) {
      if (!is_sane_count(v))
        return make_error("meminfo." + key + "." + name +
                          ": expected a non-negative integer below 2^50");
      dst[name] = v.get<uint64_t>();
    }
  }
  return out;
}

json to_json(const Verdict& v) {
  return json{{"expected", node_map_to_json(v.expected)},
              {"measured", node_map_to_json(v.measured)},
              {"honored", v.honored},
              {"max_deviation", v.max_deviation},
              {"tolerance", v.tolerance},
              {"reason", v.reason}};
}

json cell_fields_json(const RunRecord& r) {
  return json{{"policy", r.policy},
              {"nodes", r.nodes},
              {"backing", r.backing},
              {"toucher", r.toucher},
              {"size_bytes", r.size_bytes},
              {"threads", r.threads},
              {"cpu_node", r.cpu_node ? json(*r.cpu_node) : json()}};
}

json to_json(const RunRecord& r) {
  json env{{"kind", r.environment.kind},
           {"kernel", r.environment.kernel},
           {"hostname", r.environment.hostname}};
  if (!r.environment.topology_digest.empty())
    env["topology_digest"] = r.environment.topology_digest;
  if (!r.environment.accel.empty()) env["accel"] = r.environment.accel;
  if (!r.environment.topology.is_null()) env["topology"] = r.environment.topology;
  if (!r.environment.kernel_build.is_null()) env["kernel_build"] = r.environment.kernel_build;
  json j = cell_fields_json(r);
  j.update(json{
      {"schema_version", kSchemaVersion},
      {"run_id", r.run_id},
      {"cell_key", r.cell_key},
      {"repeat", r.repeat},
      {"status", run_status_name(r.status)},
      {"message", r.message},
      {"environment", env},
      {"policy_channel", r.policy_channel},
      {"placement_pages", node_map_to_json(r.placement_pages)},
      {"placement_source", r.placement_source},
      {"placement_sources", placement_sources_json(r.placement_sources)},
      {"pages_absent", r.pages_absent},
      {"meminfo_before", to_json(r.meminfo_before)},
      {"meminfo_after", to_json(r.meminfo_after)},
      {"delta_used_mib", node_map_to_json(r.delta_used_mib)},
      {"backing_counter", r.backing_counter},
      {"delta_backing_mib", node_map_to_json(r.delta_backing_mib)},
      {"populate_seconds", r.populate_seconds},
      {"populate_method", r.populate_method},
      {"verdict", r.verdict ? to_json(*r.verdict) : json()},
      {"policy_readback", r.policy_readback},
      {"samples_file", r.samples_file},
      {"started_at", r.started_at},
      {"wall_seconds", r.wall_seconds},
      {"extra", r.extra},
  });
  return j;
}

json placement_sources_json(const std::map<std::string, SourceReading>& sources) {
  json j = json::object();
  for (const auto& [name, reading] : sources) j[name] = to_json(reading);
  return j;
}

// Untrusted (a guest's records): a handful of named sources, each a valid reading.
Result<std::map<std::string, SourceReading>> placement_sources_from_json(const json& j) {
  if (!j.is_object() || j.size() > 16) return make_error("placement_sources: not a small object");
  std::map<std::string, SourceReading> out;
  for (const auto& [name, value] : j.items()) {
    if (name.empty() || name.size() > 32) return make_error("placement_sources: bad source name");
    auto reading = source_reading_from_json(value);
    if (!reading) return reading.error().prefixed("placement_sources." + name + ": ");
    out[name] = std::move(*reading);
  }
  return out;
}

namespace {

// The per-node measurements of a record: placement, MemUsed and backing-counter deltas, and
// the meminfo snapshots around the touch.
Status read_measurements(const json& j, RunRecord& r) {
  auto placement =
      node_map_from_json<uint64_t>(j.value("placement_pages", json()), "placement_pages");
  if (!placement) return placement.error();
  r.placement_pages = std::move(*placement);
  auto delta = node_map_from_json<double>(j.value("delta_used_mib", json()), "delta_used_mib");
  if (!delta) return delta.error();
  r.delta_used_mib = std::move(*delta);
  auto backing_delta =
      node_map_from_json<double>(j.value("delta_backing_mib", json()), "delta_backing_mib");
  if (!backing_delta) return backing_delta.error();
  r.delta_backing_mib = std::move(*backing_delta);
  auto before = meminfo_from_json(j.value("meminfo_before", json()));
  if (!before) return before.error().prefixed("meminfo_before: ");
  r.meminfo_before = std::move(*before);
  auto after = meminfo_from_json(j.value("meminfo_after", json()));
  if (!after) return after.error().prefixed("meminfo_after: ");
  r.meminfo_after = std::move(*after);
  return {};
}

}  // namespace

Result<RunRecord> record_from_json(const json& j) {
  if (!j.is_object()) return make_error("record: expected a JSON object");
  try {
    if (auto it = j.find("schema_version"); it != j.end()) {
      if (!fits<int>(*it)) return make_error("schema_version: expected an integer");
      if (it->get<int>() > kSchemaVersion)
        return make_error("schema_version " + std::to_string(it->get<int>()) +
                          " is newer than this memplace understands (" +
                          std::to_string(kSchemaVersion) + ")");
    }
    RunRecord r;
    Reader rd(j);
    rd.str("policy", r.policy, true);
    rd.str("backing", r.backing, true);
    rd.str("toucher", r.toucher, true);
    rd.num("size_bytes", r.size_bytes, true);
    std::string status;
    rd.str("status", status, true);
    // The optional text fields, each read the same way.
    for (auto [name, field] : {std::pair{"message", &RunRecord::message},
                               {"run_id", &RunRecord::run_id},
                               {"cell_key", &RunRecord::cell_key},
                               {"populate_method", &RunRecord::populate_method},
                               {"policy_readback", &RunRecord::policy_readback},
                               {"samples_file", &RunRecord::samples_file},
                               {"started_at", &RunRecord::started_at}})
      rd.str(name, r.*field);
    rd.num("repeat", r.repeat);
    rd.num("threads", r.threads);
    rd.num("pages_absent", r.pages_absent);
    rd.num("populate_seconds", r.populate_seconds);
    rd.num("wall_seconds", r.wall_seconds);
    if (!rd.missing.empty()) return make_error(rd.missing + ": missing or wrong type");
    if (r.repeat < 0) return make_error("repeat: must not be negative");
    if (r.pages_absent > kMaxCount) return make_error("pages_absent: more pages than any machine");
    auto known_status = parse_run_status(status);
    if (!known_status)
      return make_error("status: expected ok, unsupported or failed, got '" + status.substr(0, 40) +
                        "'");
    r.status = *known_status;

    const json* nodes = rd.find("nodes");
    if (!nodes || !nodes->is_array()) return make_error("nodes: missing or not an array");
    for (const auto& n : *nodes) {
      if (!fits<int>(n) || n.get<int>() < 0) return make_error("nodes: expected node ids");
      r.nodes.push_back(n.get<int>());
    }
    if (const json* c = rd.find("cpu_node")) {
      if (!fits<int>(*c) || c->get<int>() < 0)
        return make_error("cpu_node: expected a node id or null");
      r.cpu_node = c->get<int>();
    }
    if (const json* e = rd.find("environment")) r.environment = environment_from_json(*e);

    if (auto maps = read_measurements(j, r); !maps) return maps.error();
    rd.str("backing_counter", r.backing_counter);
    if (const json* v = rd.find("verdict")) {
      auto verdict = verdict_from_json(*v);
      if (!verdict) return verdict.error();
      r.verdict = std::move(*verdict);
    }
    rd.str("policy_channel", r.policy_channel);
    rd.str("placement_source", r.placement_source);
    if (const json* ps = rd.find("placement_sources"); ps && !ps->is_null()) {
      auto sources = placement_sources_from_json(*ps);
      if (!sources) return sources.error();
      r.placement_sources = std::move(*sources);
    }
    if (const json* x = rd.find("extra")) r.extra = *x;
    // Schema 1 named the locality loop's results "workload"; every reader sees one name.
    if (r.extra.is_object() && r.extra.contains("workload") && !r.extra.contains("locality")) {
      r.extra["locality"] = std::move(r.extra["workload"]);
      r.extra.erase("workload");
    }
    return r;
  } catch (const json::exception& e) {
    // A number out of range for its C++ type; report rather than propagate.
    return make_error(std::string("record: ") + e.what());
  }
}

Result<RunsWriter> RunsWriter::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return errno_error("open " + path);
  return RunsWriter(UniqueFd(fd));
}

Status RunsWriter::append(const RunRecord& record) {
  return append_json(to_json(record));
}

// One write() per line: with O_APPEND a reader sees either the whole line or (after a crash
// mid-write) a truncated last line, which read_runs skips.
Status RunsWriter::append_json(const nlohmann::json& line) {
  if (auto s = write_all(fd_.get(), dump_line(line), "runs.jsonl"); !s) return s;
  if (::fsync(fd_.get()) != 0) return errno_error("fsync runs.jsonl");
  return {};
}

namespace {

// "r0007" -> 7, "f0012" -> 12: the number of any run id memplace writes (a letter, digits).
// Ids grow past r999999999 (r1000000000, ...): an id this reader ignored was handed out again.
int64_t run_id_number(std::string_view id) {
  if (id.size() < 2 || id.size() > 19 || id[0] < 'a' || id[0] > 'z') return 0;
  int64_t n = 0;
  auto [p, ec] = std::from_chars(id.data() + 1, id.data() + id.size(), n);
  return ec == std::errc() && p == id.data() + id.size() && n > 0 ? n : 0;
}

// A garbage line may still name its run id, and that id's samples file is on disk: new ids
// must not reuse it.
int64_t run_id_number_in_text(std::string_view line) {
  constexpr std::string_view kKey = "\"run_id\":\"";
  size_t at = line.find(kKey);
  if (at == std::string_view::npos) return 0;
  std::string_view rest = line.substr(at + kKey.size());
  return run_id_number(rest.substr(0, rest.find('"')));
}

}  // namespace

int64_t next_run_number(const RunsFile& runs, const std::string& dir) {
  int64_t highest = runs.highest_run_number;
  // A torn record moved aside left its samples and locality files behind.
  for (const char* sub : {"/samples", "/locality", "/workloads"}) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir + sub, ec)) {
      std::string name = e.path().filename().string();
      highest = std::max(highest, run_id_number(name.substr(0, name.find_first_of(".-"))));
    }
  }
  return highest + 1;
}

Result<RunsFile> read_runs(const std::string& path) {
  auto text = read_file_bounded(path, kMaxRunsBytes);
  if (!text) return text.error();
  return parse_runs_text(*text, path);
}

RunsFile parse_runs_text(std::string_view text, const std::string& path) {
  RunsFile out;
  // One record per run: a cell's repeat on one host and kernel. A second (a file appended to
  // twice, a hand-made dir) would be counted twice by every table, so it is skipped, said once.
  std::map<std::string, size_t> first_line;
  std::string_view rest = text;
  for (size_t line_no = 1; !rest.empty(); ++line_no) {
    size_t nl = rest.find('\n');
    bool complete = nl != std::string_view::npos;
    std::string_view line = rest.substr(0, complete ? nl : rest.size());
    rest.remove_prefix(complete ? nl + 1 : rest.size());
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    out.highest_run_number = std::max(out.highest_run_number, run_id_number_in_text(line));
    std::string where = path + ":" + std::to_string(line_no) + ": ";
    auto j = parse_json_bounded(line);
    if (!j) {
      out.warnings.push_back(where + (complete ? j.error().message + ", line skipped"
                                               : "truncated last line, skipped"));
      continue;
    }
    auto rec = record_from_json(*j);
    if (!rec) {
      out.warnings.push_back(where + rec.error().message + ", line skipped");
      continue;
    }
    out.highest_run_number = std::max(out.highest_run_number, run_id_number(rec->run_id));
    const std::string key = rec->environment.hostname + "\n" + kernel_label(rec->environment) +
                            "\n" + rec->cell_key + "#" + std::to_string(rec->repeat);
    if (auto [it, fresh] = first_line.emplace(key, line_no); !fresh && !rec->cell_key.empty()) {
      out.warnings.push_back(where + "run " + rec->run_id + " repeats " + rec->cell_key + " #" +
                             std::to_string(rec->repeat) + " of line " +
                             std::to_string(it->second) + ", line skipped");
      continue;
    }
    out.records.push_back(std::move(*rec));
  }
  return out;
}

Result<std::string> repair_runs_tail(const std::string& path) {
  auto text = read_file_bounded(path, kMaxRunsBytes);
  if (!text) return text.error();
  if (text->empty() || text->back() == '\n') return std::string();
  size_t keep = text->rfind('\n');
  keep = keep == std::string::npos ? 0 : keep + 1;
  std::string tail = text->substr(keep);
  // A complete record that only lacks its newline (an editor's doing, not a crash) stays.
  auto j = parse_json_bounded(tail);
  if (j && record_from_json(*j)) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return errno_error("open " + path);
    if (auto s = write_all(fd.get(), "\n", path); !s) return s.error();
    if (::fsync(fd.get()) != 0) return errno_error("fsync " + path);
    return path + " lacked the newline after its last record; added it";
  }
  std::string aside;
  for (int n = 1;; ++n) {
    aside = path + ".torn-" + std::to_string(n);
    if (::access(aside.c_str(), F_OK) != 0) break;
  }
  if (auto s = write_file_atomic(aside, tail); !s) return s.error();
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return errno_error("open " + path);
  if (::ftruncate(fd.get(), static_cast<off_t>(keep)) != 0) return errno_error("truncate " + path);
  if (::fsync(fd.get()) != 0) return errno_error("fsync " + path);
  return path + " ended in a torn line (" + std::to_string(tail.size()) + " bytes, no newline); " +
         "moved it to " + aside;
}

Status write_json_atomic(const std::string& path, const nlohmann::json& j) {
  return write_file_atomic(path, j.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

Result<nlohmann::json> read_json_file(const std::string& path) {
  auto text = read_file_bounded(path, kMaxManifestBytes);
  if (!text) return text.error();
  auto j = parse_json_bounded(*text);
  if (!j) return j.error().prefixed(path + ": ");
  return j;
}

Status check_fresh_out_dir(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return errno_error("--out " + dir);
  }
  if (!S_ISDIR(st.st_mode)) return make_error("--out " + dir + ": exists and is not a directory");
  std::error_code ec;
  bool empty = std::filesystem::is_empty(dir, ec);
  if (ec) return make_error("--out " + dir + ": " + ec.message());
  if (empty) return {};
  for (const char* mine : {"manifest.json", "spec.toml", "runs.jsonl", kDirLockName})
    if (::access((dir + "/" + mine).c_str(), F_OK) == 0)
      return make_error(dir + " already holds results; pass --resume " + dir +
                        " to finish it, or choose a new --out");
  return make_error(
      "--out " + dir +
      ": is not empty and holds no memplace results; choose a new or empty directory");
}

namespace {

// "<dir><name><ext>" with a plain file name: nothing a hostile guest could aim elsewhere.
bool safe_result_file(std::string_view file, std::string_view kDir, std::string_view kExt) {
  if (file.size() <= kDir.size() + kExt.size() || file.size() > 128) return false;
  if (file.substr(0, kDir.size()) != kDir) return false;
  if (file.substr(file.size() - kExt.size()) != kExt) return false;
  std::string_view name = file.substr(kDir.size());
  if (name.front() == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool safe_samples_path(std::string_view file) {
  return safe_result_file(file, "samples/", ".csv");
}

bool safe_locality_path(std::string_view file) {
  return safe_result_file(file, kLocalityDir, ".json") ||
         safe_result_file(file, kLegacyLocalityDir, ".json");
}

}  // namespace memplace
