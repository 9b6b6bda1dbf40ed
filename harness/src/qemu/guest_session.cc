#include "qemu/guest_session.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

#include "base/unique_fd.h"

namespace memplace {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

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

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, 1000);
      continue;
    }
    if (n <= 0) return;
    data.remove_prefix(n);
  }
}

}  // namespace

Result<GuestSessionResult> run_guest_session(const GuestSessionConfig& config,
                                             const GuestLineHandler& on_line) {
  if (config.argv.empty()) return make_error("empty QEMU command line");
  auto listener = listen_unix(config.socket_path);
  if (!listener) return listener.error();

  std::vector<char*> cargv;
  for (const auto& a : config.argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::string log = config.qemu_log.empty() ? "/dev/null" : config.qemu_log;
  pid_t parent = getpid();

  Clock::time_point t0 = Clock::now();
  pid_t pid = fork();
  if (pid < 0) return errno_error("fork for QEMU");
  if (pid == 0) {
    // Dies with the thread that started it; checked once more in case the parent already died.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    int in = open("/dev/null", O_RDONLY);
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in >= 0) dup2(in, 0);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    execvp(cargv[0], cargv.data());
    _exit(127);
  }

  GuestSessionResult result;
  UniqueFd conn;
  LineSplitter splitter;
  bool exited = false;
  int status = 0;
  auto deadline = t0 + std::chrono::seconds(config.timeout_seconds);
  auto handle = [&](std::string_view line) {
    if (result.first_line_seconds < 0) result.first_line_seconds = since(t0);
    ++result.lines;
    std::string reply = on_line(line);
    if (!reply.empty() && conn.valid()) write_all(conn.get(), reply);
  };

  char buf[65536];
  bool conn_open = true;
  while (true) {
    if (!exited) {
      pid_t w = waitpid(pid, &status, WNOHANG);
      if (w == pid) exited = true;
    }
    // After QEMU exits, drain what the socket still holds, then stop.
    if (exited && (!conn.valid() || !conn_open)) break;
    if (Clock::now() >= deadline) {
      result.timed_out = true;
      break;
    }
    if (int sig = StopSignalGuard::received()) {
      result.interrupted_by = sig;
      break;
    }
    pollfd p{};
    p.fd = conn.valid() ? conn.get() : listener->get();
    p.events = POLLIN;
    int r = poll(&p, 1, exited ? 0 : 200);
    if (r < 0 && errno != EINTR) return errno_error("poll on the guest channel");
    if (r <= 0) {
      if (exited) break;
      continue;
    }
    if (!conn.valid()) {
      conn.reset(accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (conn.valid()) result.connected = true;
      continue;
    }
    ssize_t n = read(conn.get(), buf, sizeof buf);
    if (n > 0) {
      splitter.feed(std::string_view(buf, n), handle);
    } else if (n == 0) {
      conn_open = false;
    } else if (errno != EAGAIN && errno != EINTR) {
      conn_open = false;
    }
  }
  if (!exited) {
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (!splitter.pending().empty()) handle(splitter.pending());
  unlink(config.socket_path.c_str());
  result.exit_status = decode_status(status);
  result.wall_seconds = since(t0);
  return result;
}

}  // namespace memplace
