// Runs one QEMU guest to completion: listens on the record channel's unix socket, starts QEMU
// (which dies with us: PR_SET_PDEATHSIG), hands every line the guest sends to a callback, and
// kills and reaps QEMU at the deadline. No QEMU outlives the call.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/stop_signals.h"

namespace memplace {

struct GuestSessionConfig {
  std::vector<std::string> argv;  // the QEMU command line
  std::string socket_path;        // the path the command line's chardev connects to
  std::string qemu_log;           // QEMU's own stdout/stderr
  int timeout_seconds = 600;
};

struct GuestSessionResult {
  bool timed_out = false;
  bool connected = false;          // QEMU opened the record channel
  int exit_status = -1;            // QEMU's exit code, or 128 + signal
  double first_line_seconds = -1;  // first line from the guest, i.e. the guest is up
  double wall_seconds = 0;
  int lines = 0;
  int interrupted_by = 0;  // SIGINT/SIGTERM seen by a StopSignalGuard; QEMU was killed
};

// Called for each complete line (without '\n'). A non-empty return is sent back to the guest
// (the qemu toucher's "go"); the testbed returns "".
using GuestLineHandler = std::function<std::string(std::string_view line)>;

Result<GuestSessionResult> run_guest_session(const GuestSessionConfig& config,
                                             const GuestLineHandler& on_line);

// Splits a byte stream into lines across reads; a partial last line waits for the next chunk.
class LineSplitter {
 public:
  // A guest is untrusted: a line longer than this is dropped (the consumer sees a placeholder it
  // will reject as malformed) instead of growing the buffer without bound.
  static constexpr size_t kMaxLineBytes = 32u << 20;

  template <class F>
  void feed(std::string_view chunk, F&& emit) {
    buf_.append(chunk);
    // Only the new bytes are searched: a long samples line arrives in many chunks.
    size_t start = 0, nl;
    while ((nl = buf_.find('\n', scanned_)) != std::string::npos) {
      if (dropping_) {
        dropping_ = false;
      } else {
        emit(std::string_view(buf_).substr(start, nl - start));
      }
      start = scanned_ = nl + 1;
    }
    buf_.erase(0, start);
    scanned_ = buf_.size();
    if (buf_.size() > kMaxLineBytes) {
      if (!dropping_) emit(std::string_view("<guest line over 32 MiB dropped>"));
      dropping_ = true;
      buf_.clear();
      scanned_ = 0;
    }
  }
  const std::string& pending() const { return buf_; }

 private:
  std::string buf_;
  size_t scanned_ = 0;
  bool dropping_ = false;  // inside an over-long line: skip up to its newline
};

}  // namespace memplace
