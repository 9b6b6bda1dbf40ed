// SPDX-License-Identifier: GPL-2.0-only
// Lines from the guest agent (and the host's lines as the agent reads them): a hung, broken or
// hostile guest can write anything to its virtio-serial port, including a locality report the host
// then writes to disk.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/agent_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  if (auto m = memplace::decode_guest_message(line)) {
    // What decodes must encode and decode again to the same kind of message.
    auto again = memplace::decode_guest_message(memplace::encode_guest_message(*m));
    if (!again || again->index() != m->index()) __builtin_trap();
    // A locality report is stored as sent: it must survive the trip unchanged and still pass
    // the shape check the host relies on before writing it to disk.
    if (const auto* w = std::get_if<memplace::AgentLocality>(&*m)) {
      const auto& back = std::get<memplace::AgentLocality>(*again);
      if (back.kind != w->kind || back.report != w->report) __builtin_trap();
      if (!memplace::check_benchmark_json(w->report)) __builtin_trap();
    }
  }
  if (auto m = memplace::decode_host_message(line)) {
    auto again = memplace::decode_host_message(memplace::encode_host_message(*m));
    if (!again || again->index() != m->index()) __builtin_trap();
    if (const auto* go = std::get_if<memplace::AgentGo>(&*m)) {
      const auto& back = std::get<memplace::AgentGo>(*again);
      if (back.locality != go->locality) __builtin_trap();
      if (!memplace::check_go(back)) __builtin_trap();
    }
  }
  return 0;
}
