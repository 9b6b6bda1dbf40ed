// SPDX-License-Identifier: GPL-2.0-only
#include "qemu/qemu_process.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "agent/agent_protocol.h"
#include "base/stop_signals.h"

namespace memplace {
namespace {

using Clock = QemuProcess::Clock;

Result<UniqueFd> listen_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return make_error("socket path too long: " + path);
  std::copy(path.begin(), path.end(), addr.sun_path);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return errno_error("socket");
  unlink(path.c_str());
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return errno_error("bind " + path);
  }
  if (listen(fd.get(), 1) != 0) return errno_error("listen " + path);
  return fd;
}

// Poll timeout towards `deadline`, in slices short enough to notice QEMU's exit.
int poll_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count() + 1, 0, 200));
}

}  // namespace

QemuProcess::QemuProcess(size_t max_line_bytes)
    : splitter_(max_line_bytes ? max_line_bytes : kAgentMaxLineBytes) {}

QemuProcess::~QemuProcess() {
  stop(std::chrono::milliseconds(0));
}

Status QemuProcess::start(const std::vector<std::string>& argv, const std::string& socket_path,
                          const std::string& qemu_log, const std::vector<int>& cpus,
                          const TaskMempolicy& mempolicy) {
  if (argv.empty()) return make_error("empty QEMU command line");
  auto listener = listen_unix(socket_path);
  if (!listener) return listener.error();
  listener_ = std::move(*listener);
  socket_path_ = socket_path;
  SpawnOptions options;
  options.output = {ChildOutput::To::kFile, ChildOutput::To::kFile, qemu_log};
  options.cpus = cpus;
  options.mempolicy = mempolicy;
  auto child = Child::spawn(argv, options);
  if (!child) return child.error();
  child_.emplace(std::move(*child));
  return {};
}

// Accepts QEMU's connection, or reads what it sent into lines_.
void QemuProcess::read_channel() {
  if (!conn_.valid()) {
    conn_.reset(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    ever_connected_ |= conn_.valid();
    return;
  }
  char buf[65536];
  ssize_t n = read(conn_.get(), buf, sizeof buf);
  if (n > 0) {
    splitter_.feed(std::string_view(buf, static_cast<size_t>(n)),
                   [this](std::string_view l) { lines_.emplace_back(l); });
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    conn_closed_ = true;
  }
}

QemuProcess::Wait QemuProcess::next_line(Clock::time_point deadline, std::string* line) {
  while (true) {
    if (!lines_.empty()) {
      *line = std::move(lines_.front());
      lines_.pop_front();
      return Wait::kLine;
    }
    if (StopSignalGuard::received()) return Wait::kSignal;
    if (conn_closed_) return Wait::kClosed;
    // Only after the channel is drained: QEMU may exit right after the guest's last line.
    if ((!child_ || child_->poll_exit()) && !conn_.valid()) return Wait::kExited;
    if (Clock::now() >= deadline) return Wait::kTimeout;
    pollfd p{conn_.valid() ? conn_.get() : listener_.get(), POLLIN, 0};
    if (poll(&p, 1, poll_ms(deadline)) <= 0) {
      if (child_ && child_->exited() && conn_.valid()) conn_closed_ = true;  // nothing more
      continue;
    }
    read_channel();
  }
}

QemuProcess::Wait QemuProcess::wait_exit(Clock::time_point deadline) {
  while (child_ && !child_->poll_exit()) {
    if (StopSignalGuard::received()) return Wait::kSignal;
    if (Clock::now() >= deadline) return Wait::kTimeout;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Wait::kExited;
}

Status QemuProcess::send(const std::string& line) {
  if (!conn_.valid()) return make_error("the guest channel is not connected");
  std::string data = line + "\n";
  std::string_view left = data;
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (!left.empty()) {
    ssize_t n = write(conn_.get(), left.data(), left.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (Clock::now() > deadline) return make_error("the guest channel does not drain");
      pollfd p{conn_.get(), POLLOUT, 0};
      poll(&p, 1, 100);
      continue;
    }
    if (n <= 0) return errno_error("writing to the guest channel");
    left.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

void QemuProcess::stop(std::chrono::milliseconds grace) {
  if (child_) {
    auto deadline = Clock::now() + grace;
    while (!child_->poll_exit() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    child_->kill();
  }
  conn_.reset();
  listener_.reset();
  if (!socket_path_.empty()) {
    unlink(socket_path_.c_str());
    socket_path_.clear();
  }
}

Result<GuestSessionResult> run_guest_session(const GuestSessionConfig& config,
                                             const GuestLineHandler& on_line) {
  QemuProcess qemu(LineSplitter::kMaxLineBytes);
  GuestSessionResult result;
  const Clock::time_point t0 = Clock::now();
  auto since_start = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  auto handle = [&](std::string_view line) {
    if (result.first_line_seconds < 0) result.first_line_seconds = since_start();
    ++result.lines;
    on_line(line);
  };
  if (auto s = qemu.start(config.argv, config.socket_path, config.qemu_log); !s) return s.error();
  auto deadline = t0 + std::chrono::seconds(config.boot_timeout_seconds);
  QemuProcess::Wait w;
  std::string line;
  while ((w = qemu.next_line(deadline, &line)) == QemuProcess::Wait::kLine) {
    if (result.first_line_seconds < 0)
      deadline = Clock::now() + std::chrono::seconds(config.timeout_seconds);
    handle(line);
  }
  // The channel closes as QEMU goes down; let it finish rather than count it as killed.
  if (w == QemuProcess::Wait::kClosed) w = qemu.wait_exit(deadline);
  result.timed_out = w == QemuProcess::Wait::kTimeout;
  result.boot_timed_out = result.timed_out && result.first_line_seconds < 0;
  if (w == QemuProcess::Wait::kSignal) result.interrupted_by = StopSignalGuard::received();
  result.connected = qemu.ever_connected();
  qemu.stop(std::chrono::milliseconds(0));
  if (!qemu.partial_line().empty()) handle(qemu.partial_line());
  result.exit_status = qemu.exit_status();
  result.wall_seconds = since_start();
  return result;
}

}  // namespace memplace
