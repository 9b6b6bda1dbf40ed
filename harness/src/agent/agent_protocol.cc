// SPDX-License-Identifier: GPL-2.0-only
// Encoding and total decoding of the agent's JSON lines. Also compiled into the static guest
// agent, so it depends on nothing but result.h, json_bounded.h, populate.h (libc only) and
// nlohmann/json.
#include "agent/agent_protocol.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "base/json_bounded.h"
#include "host/populate.h"

namespace memplace {
namespace {

using nlohmann::json;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// Invalid UTF-8 (a garbled kernel string, a strerror in another locale) must not throw.
std::string dump_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string_view trim_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) {
    line.remove_suffix(1);
  }
  return line;
}

// Field readers: each checks presence and type, and names the field in its error.
Error field_error(const std::string& type, const std::string& field, const std::string& what) {
  return make_error("agent message '" + type + "': field '" + field + "' " + what);
}

Result<std::string> get_string(const json& j, const std::string& type, const std::string& key) {
  auto it = j.find(key);
  if (it == j.end()) return field_error(type, key, "is missing");
  if (!it->is_string()) return field_error(type, key, "is not a string");
  return it->get<std::string>();
}

Result<uint64_t> get_u64(const json& j, const std::string& type, const std::string& key) {
  auto it = j.find(key);
  if (it == j.end()) return field_error(type, key, "is missing");
  if (!it->is_number_unsigned()) return field_error(type, key, "is not a non-negative integer");
  return it->get<uint64_t>();
}

Result<int> get_int(const json& j, const std::string& type, const std::string& key, int lo,
                    int hi) {
  auto it = j.find(key);
  if (it == j.end()) return field_error(type, key, "is missing");
  if (!it->is_number_integer()) return field_error(type, key, "is not an integer");
  int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) {
    return field_error(type, key,
                       "is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return static_cast<int>(v);
}

Result<double> get_seconds(const json& j, const std::string& type, const std::string& key) {
  auto it = j.find(key);
  if (it == j.end()) return field_error(type, key, "is missing");
  if (!it->is_number()) return field_error(type, key, "is not a number");
  double v = it->get<double>();
  if (!std::isfinite(v) || v < 0) return field_error(type, key, "is not a duration");
  return v;
}

Result<json> parse_object(std::string_view line) {
  line = trim_line(line);
  if (line.size() > kAgentMaxLineBytes) {
    return make_error("agent line of " + std::to_string(line.size()) + " bytes exceeds the " +
                      std::to_string(kAgentMaxLineBytes) + "-byte limit");
  }
  auto parsed = parse_json_bounded(line);
  if (!parsed) return parsed.error().prefixed("agent line: ");
  json j = std::move(*parsed);
  if (!j.is_object()) return make_error("agent line is not a JSON object");
  auto t = j.find("type");
  if (t == j.end() || !t->is_string()) return make_error("agent line has no string 'type'");
  return j;
}

bool finite_non_negative(const json& v) {
  return v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() >= 0;
}

Status check_benchmark_entry(const json& b, size_t index) {
  auto bad = [&](const std::string& what) {
    return make_error("benchmarks[" + std::to_string(index) + "] " + what);
  };
  if (!b.is_object()) return bad("is not an object");
  auto name = b.find("name");
  if (name == b.end() || !name->is_string()) return bad("has no string 'name'");
  auto run_type = b.find("run_type");
  if (run_type == b.end() || !run_type->is_string() ||
      (*run_type != "iteration" && *run_type != "aggregate")) {
    return bad("has no 'run_type' iteration or aggregate");
  }
  auto iterations = b.find("iterations");
  if (iterations == b.end() || !iterations->is_number_unsigned())
    return bad("has no non-negative integer 'iterations'");
  for (const char* key : {"real_time", "cpu_time"}) {
    auto t = b.find(key);
    if (t == b.end() || !finite_non_negative(*t))
      return bad(std::string("has no finite non-negative '") + key + "'");
  }
  auto unit = b.find("time_unit");
  if (unit == b.end() || !unit->is_string() ||
      (*unit != "ns" && *unit != "us" && *unit != "ms" && *unit != "s")) {
    return bad("has no 'time_unit' ns, us, ms or s");
  }
  for (const auto& [key, v] : b.items()) {
    if (v.is_structured() || v.is_null()) return bad("member '" + key + "' is not a scalar");
    if (v.is_number() && !std::isfinite(v.get<double>()))
      return bad("member '" + key + "' is not finite");
  }
  return {};
}

Result<GuestMessage> decode_hello(const json& j, const std::string& type) {
  AgentHello h;
  auto protocol = get_int(j, type, "protocol", 1, 1 << 20);
  if (!protocol) return protocol.error();
  if (*protocol != kAgentProtocolVersion) {
    return make_error("agent speaks protocol " + std::to_string(*protocol) + ", harness " +
                      std::to_string(kAgentProtocolVersion));
  }
  h.protocol = *protocol;
  auto kernel = get_string(j, type, "kernel");
  if (!kernel) return kernel.error();
  h.kernel = *kernel;
  auto nodes = j.find("nodes");
  if (nodes == j.end() || !nodes->is_array()) return field_error(type, "nodes", "is not a list");
  for (const auto& n : *nodes) {
    if (!n.is_number_unsigned() || n.get<uint64_t>() > 1 << 20) {
      return field_error(type, "nodes", "holds something other than a node id");
    }
    h.nodes.push_back(static_cast<int>(n.get<uint64_t>()));
  }
  auto cpus = get_int(j, type, "cpus", 1, 1 << 20);
  if (!cpus) return cpus.error();
  h.cpus = *cpus;
  auto mem = get_u64(j, type, "mem_bytes");
  if (!mem) return mem.error();
  h.mem_bytes = *mem;
  if (auto w = j.find("localities"); w != j.end()) {
    if (!w->is_array() || w->size() > 16) return field_error(type, "localities", "is not a list");
    for (const auto& name : *w) {
      if (!name.is_string() || name.get_ref<const std::string&>().size() > 32)
        return field_error(type, "localities", "holds something other than a locality name");
      h.localities.push_back(name.get<std::string>());
    }
  }
  return GuestMessage{h};
}

Result<GuestMessage> decode_done(const json& j, const std::string& type) {
  AgentDone d;
  auto seconds = get_seconds(j, type, "seconds");
  if (!seconds) return seconds.error();
  d.seconds = *seconds;
  auto method = get_string(j, type, "method");
  if (!method) return method.error();
  d.method = *method;
  auto bytes = get_u64(j, type, "bytes");
  if (!bytes) return bytes.error();
  d.bytes = *bytes;
  auto per = j.find("per_thread_seconds");
  if (per == j.end() || !per->is_array()) {
    return field_error(type, "per_thread_seconds", "is not a list");
  }
  for (const auto& s : *per) {
    if (!s.is_number() || !std::isfinite(s.get<double>()) || s.get<double>() < 0) {
      return field_error(type, "per_thread_seconds", "holds something other than a duration");
    }
    d.per_thread_seconds.push_back(s.get<double>());
  }
  return GuestMessage{d};
}

Result<GuestMessage> decode_guest_object(const json& j) {
  const std::string type = j["type"].get<std::string>();
  if (type == "hello") return decode_hello(j, type);
  if (type == "progress") {
    auto bytes = get_u64(j, type, "bytes");
    if (!bytes) return bytes.error();
    return GuestMessage{AgentProgress{*bytes}};
  }
  if (type == "done") return decode_done(j, type);
  if (type == "locality") {
    AgentLocality w;
    auto kind = get_string(j, type, "kind");
    if (!kind) return kind.error();
    if (*kind != "triad" && *kind != "chase")
      return field_error(type, "kind", "is not triad or chase");
    w.kind = *kind;
    auto report = j.find("report");
    if (report == j.end()) return field_error(type, "report", "is missing");
    if (auto s = check_benchmark_json(*report); !s)
      return field_error(type, "report", "is not Google Benchmark JSON: " + s.error().message);
    w.report = *report;
    return GuestMessage{w};
  }
  if (type == "error" || type == "log") {
    auto message = get_string(j, type, "message");
    if (!message) return message.error();
    if (type == "error") return GuestMessage{AgentError{*message}};
    return GuestMessage{AgentLog{*message}};
  }
  return make_error("unknown agent message type '" + type + "'");
}

Result<HostMessage> decode_host_object(const json& j) {
  const std::string type = j["type"].get<std::string>();
  if (type == "poweroff") return HostMessage{AgentPoweroff{}};
  if (type != "go") return make_error("unknown host message type '" + type + "'");
  AgentGo go;
  auto size = get_u64(j, type, "size_bytes");
  if (!size) return size.error();
  go.size_bytes = *size;
  auto threads = get_int(j, type, "threads", 1, 1024);
  if (!threads) return threads.error();
  go.threads = *threads;
  if (j.contains("node") && !j["node"].is_null()) {
    auto node = get_int(j, type, "node", 0, 1 << 20);
    if (!node) return node.error();
    go.node = *node;
  }
  if (j.contains("method") && !j["method"].is_null()) {
    auto method = get_string(j, type, "method");
    if (!method) return method.error();
    go.method = *method;
  }
  if (j.contains("thp") && !j["thp"].is_null()) {
    auto thp = get_string(j, type, "thp");
    if (!thp) return thp.error();
    go.thp = *thp;
  }
  if (j.contains("locality") && !j["locality"].is_null()) {
    auto locality = get_string(j, type, "locality");
    if (!locality) return locality.error();
    go.locality = *locality;
    if (j.contains("locality_repetitions")) {
      auto reps = get_int(j, type, "locality_repetitions", 1, kMaxLocalityRepetitions);
      if (!reps) return reps.error();
      go.locality_repetitions = *reps;
    }
    if (j.contains("locality_min_time")) {
      auto min_time = get_seconds(j, type, "locality_min_time");
      if (!min_time) return min_time.error();
      go.locality_min_time_seconds = *min_time;
    }
  }
  if (auto s = check_go(go); !s) return s.error();
  return HostMessage{go};
}

}  // namespace

Status check_go(const AgentGo& go) {
  if (go.size_bytes == 0) return make_error("go: size_bytes must be positive");
  if (go.threads < 1 || go.threads > 1024) return make_error("go: threads must be 1..1024");
  if (go.method) {
    // The agent's memory is anonymous: every method but fallocate applies.
    auto m = parse_populate_method(*go.method);
    if (!m || !populate_method_applies(*m, false)) {
      return make_error("go: unknown method '" + *go.method +
                        "' (madv_populate_write, store_per_page or memset)");
    }
  }
  if (go.thp) {
    if (auto t = parse_thp_mode(*go.thp); !t) return t.error().prefixed("go: thp: ");
  }
  if (go.locality) {
    if (*go.locality != "triad" && *go.locality != "chase")
      return make_error("go: unknown locality '" + *go.locality + "' (triad or chase)");
    if (go.locality_repetitions < 1 || go.locality_repetitions > kMaxLocalityRepetitions) {
      return make_error("go: locality_repetitions must be 1.." +
                        std::to_string(kMaxLocalityRepetitions));
    }
    if (!std::isfinite(go.locality_min_time_seconds) || go.locality_min_time_seconds <= 0 ||
        go.locality_min_time_seconds > kMaxLocalityMinTimeSeconds) {
      return make_error("go: locality_min_time must be in (0, " +
                        std::to_string(static_cast<int>(kMaxLocalityMinTimeSeconds)) + "] seconds");
    }
  }
  return {};
}

Status check_benchmark_json(const json& j) {
  if (!j.is_object()) return make_error("not a JSON object");
  auto context = j.find("context");
  if (context == j.end() || !context->is_object()) return make_error("no 'context' object");
  if (!json_depth_at_most(*context, 3)) return make_error("'context' is nested too deeply");
  auto benchmarks = j.find("benchmarks");
  if (benchmarks == j.end() || !benchmarks->is_array()) return make_error("no 'benchmarks' list");
  if (benchmarks->empty()) return make_error("'benchmarks' is empty");
  if (benchmarks->size() > 1024) return make_error("more than 1024 'benchmarks'");
  for (size_t i = 0; i < benchmarks->size(); ++i)
    if (auto s = check_benchmark_entry((*benchmarks)[i], i); !s) return s;
  for (const auto& [key, v] : j.items()) {
    if (key != "context" && key != "benchmarks")
      return make_error("unexpected member '" + key + "'");
  }
  return {};
}

std::string encode_guest_message(const GuestMessage& m) {
  json j = std::visit(
      Overloaded{
          [](const AgentHello& h) {
            return json{
                {"type", "hello"},           {"protocol", h.protocol}, {"kernel", h.kernel},
                {"nodes", h.nodes},          {"cpus", h.cpus},         {"mem_bytes", h.mem_bytes},
                {"localities", h.localities}};
          },
          [](const AgentProgress& p) {
            return json{{"type", "progress"}, {"bytes", p.bytes}};
          },
          [](const AgentDone& d) {
            return json{{"type", "done"},
                        {"seconds", d.seconds},
                        {"method", d.method},
                        {"bytes", d.bytes},
                        {"per_thread_seconds", d.per_thread_seconds}};
          },
          [](const AgentError& e) {
            return json{{"type", "error"}, {"message", e.message}};
          },
          [](const AgentLog& l) {
            return json{{"type", "log"}, {"message", l.message}};
          },
          [](const AgentLocality& w) {
            return json{{"type", "locality"}, {"kind", w.kind}, {"report", w.report}};
          },
      },
      m);
  return dump_line(j);
}

std::string encode_host_message(const HostMessage& m) {
  json j =
      std::visit(Overloaded{
                     [](const AgentGo& g) {
                       json o{{"type", "go"}, {"size_bytes", g.size_bytes}, {"threads", g.threads}};
                       if (g.node) o["node"] = *g.node;
                       if (g.method) o["method"] = *g.method;
                       if (g.thp) o["thp"] = *g.thp;
                       if (g.locality) {
                         o["locality"] = *g.locality;
                         o["locality_repetitions"] = g.locality_repetitions;
                         o["locality_min_time"] = g.locality_min_time_seconds;
                       }
                       return o;
                     },
                     [](const AgentPoweroff&) {
                       return json{{"type", "poweroff"}};
                     },
                 },
                 m);
  return dump_line(j);
}

namespace {

// The checks in parse_object and the decoders keep nlohmann from throwing; the catch is a last
// fence, not control flow.
template <class Message, class Decode>
Result<Message> decode_line(std::string_view line, Decode decode, const char* who) {
  try {
    auto j = parse_object(line);
    if (!j) return j.error();
    return decode(*j);
  } catch (const std::exception& e) {
    return make_error(std::string(who) + " line rejected: " + e.what());
  }
}

}  // namespace

Result<GuestMessage> decode_guest_message(std::string_view line) {
  return decode_line<GuestMessage>(line, decode_guest_object, "agent");
}

Result<HostMessage> decode_host_message(std::string_view line) {
  return decode_line<HostMessage>(line, decode_host_object, "host");
}

}  // namespace memplace
