// SPDX-License-Identifier: GPL-2.0-only
#include "qemu/qemu_qmp.h"

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/json_bounded.h"
#include "base/subprocess.h"

namespace memplace {
namespace {

using nlohmann::json;

constexpr size_t kMaxReplyLines = 64;

// The names in a qom-list-types or qom-list-properties reply.
std::set<std::string> names_in(const json& reply) {
  std::set<std::string> out;
  for (const auto& item : reply)
    if (item.is_object() && item.contains("name") && item["name"].is_string())
      out.insert(item["name"].get<std::string>());
  return out;
}

}  // namespace

const std::vector<std::string>& qmp_asked_backend_types() {
  static const std::vector<std::string> types = {"memory-backend-memfd",
                                                 "memory-backend-guest-memfd"};
  return types;
}

std::string qmp_script() {
  std::string s = R"({"execute":"qmp_capabilities"})"
                  "\n"
                  R"({"execute":"qom-list-types","arguments":{"implements":"memory-backend"}})"
                  "\n";
  for (const std::string& type : qmp_asked_backend_types())
    s +=
        json{{"execute", "qom-list-properties"}, {"arguments", {{"typename", type}}}}.dump() + "\n";
  return s + R"({"execute":"quit"})"
             "\n";
}

Result<QmpMemoryBackends> parse_qmp_memory_backends(std::string_view replies) {
  // Replies to commands come in order, each a "return" or an "error"; events are interleaved.
  std::vector<const json*> answers;
  std::vector<json> lines;
  size_t start = 0;
  while (start < replies.size() && lines.size() < kMaxReplyLines) {
    size_t nl = replies.find('\n', start);
    std::string_view line = replies.substr(start, nl == std::string_view::npos ? nl : nl - start);
    start = nl == std::string_view::npos ? replies.size() : nl + 1;
    auto j = parse_json_bounded(line);
    if (j && j->is_object() && (j->contains("return") || j->contains("error")))
      lines.push_back(std::move(*j));
  }
  // qmp_capabilities, qom-list-types, then one qom-list-properties per asked type.
  const size_t asked = qmp_asked_backend_types().size();
  if (lines.size() < 2 + asked)
    return make_error("QEMU's QMP answered " + std::to_string(lines.size()) + " of " +
                      std::to_string(2 + asked) + " questions");
  if (!lines[1].contains("return"))
    return make_error("QEMU's QMP refused qom-list-types: " + lines[1].dump().substr(0, 200));
  QmpMemoryBackends out;
  out.types = names_in(lines[1]["return"]);
  for (size_t i = 0; i < asked; ++i)
    if (lines[2 + i].contains("return"))
      out.properties[qmp_asked_backend_types()[i]] = names_in(lines[2 + i]["return"]);
  return out;
}

Result<QmpMemoryBackends> ask_qmp_memory_backends(const std::string& binary) {
  auto dir = TempDir::create("/tmp/memplace-qmp-");
  if (!dir) return dir.error();
  const std::string script = dir->path() + "/questions";
  if (auto s = write_file_atomic(script, qmp_script()); !s) return s.error();
  auto run = run_command(
      {binary, "-machine", "none", "-nodefaults", "-display", "none", "-S", "-qmp", "stdio"},
      script);
  if (!run) return run.error();
  if (run->exit_code != 0)
    return make_error(binary + " -qmp stdio exited with " + std::to_string(run->exit_code));
  return parse_qmp_memory_backends(run->out);
}

}  // namespace memplace
