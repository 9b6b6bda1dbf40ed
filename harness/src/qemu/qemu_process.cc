#include "qemu/qemu_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "agent/agent_protocol.h"

namespace memplace {
namespace {

std::atomic<int> g_signal{0};
struct sigaction g_old_int, g_old_term;

void chain(int sig, const struct sigaction& old) {
  if (old.sa_flags & SA_SIGINFO) {
    if (old.sa_sigaction) old.sa_sigaction(sig, nullptr, nullptr);
  } else if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) {
    old.sa_handler(sig);
  }
}

void on_signal(int sig) {
  g_signal.store(sig);
  chain(sig, sig == SIGINT ? g_old_int : g_old_term);
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

ChainedStopSignals::ChainedStopSignals() {
  g_signal.store(0);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  // No SA_RESTART: poll() returns EINTR so the wait notices at once.
  active_ = sigaction(SIGINT, &sa, &g_old_int) == 0 && sigaction(SIGTERM, &sa, &g_old_term) == 0;
}

ChainedStopSignals::~ChainedStopSignals() {
  if (!active_) return;
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  int sig = g_signal.load();
  const struct sigaction& old = sig == SIGINT ? g_old_int : g_old_term;
  if (sig != 0 && !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL) raise(sig);
}

int ChainedStopSignals::received() {
  return g_signal.load();
}

QemuProcess::~QemuProcess() {
  stop(std::chrono::milliseconds(0));
}

Status QemuProcess::start(const std::vector<std::string>& argv, const std::string& socket_path,
                          const std::string& qemu_log, const std::vector<int>& cpus) {
  if (argv.empty()) return make_error("empty QEMU command line");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    return make_error("socket path too long: " + socket_path);
  }
  std::copy(socket_path.begin(), socket_path.end(), addr.sun_path);
  listener_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener_.valid()) return errno_error("socket");
  unlink(socket_path.c_str());
  if (bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return errno_error("bind " + socket_path);
  }
  if (listen(listener_.get(), 1) != 0) return errno_error("listen " + socket_path);
  socket_path_ = socket_path;

  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return errno_error("fork for QEMU");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);  // the parent died before prctl
    // The parent's handlers would run here too; QEMU sets its own.
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (!cpus.empty()) sched_setaffinity(0, sizeof set, &set);
    int in = open("/dev/null", O_RDONLY);
    int out =
        open(qemu_log.empty() ? "/dev/null" : qemu_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in >= 0) dup2(in, 0);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
  pid_ = pid;
  return {};
}

bool QemuProcess::reap(bool block) {
  if (pid_ <= 0 || exited_) return exited_;
  int status = 0;
  pid_t w;
  do {
    w = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (w < 0 && errno == EINTR);
  if (w == pid_) {
    exited_ = true;
    exit_status_ = decode_status(status);
  } else if (w < 0 && errno == ECHILD) {
    exited_ = true;  // reaped elsewhere; nothing left to kill
  }
  return exited_;
}

QemuProcess::Wait QemuProcess::next_line(Clock::time_point deadline, std::string* line) {
  while (true) {
    size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      *line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return Wait::kLine;
    }
    if (buf_.size() > kAgentMaxLineBytes) {
      *line = std::move(buf_);
      buf_.clear();
      return Wait::kLine;
    }
    if (ChainedStopSignals::received()) return Wait::kSignal;
    if (conn_closed_) return Wait::kClosed;
    // Only after the channel is drained: QEMU may exit right after the guest's last line.
    if (reap(false) && !conn_.valid()) return Wait::kExited;
    auto now = Clock::now();
    if (now >= deadline) return Wait::kTimeout;
    int ms = static_cast<int>(std::min<int64_t>(
        200, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1));
    pollfd p{conn_.valid() ? conn_.get() : listener_.get(), POLLIN, 0};
    int r = poll(&p, 1, ms);
    if (r <= 0) {
      if (exited_ && conn_.valid()) conn_closed_ = true;  // nothing more will come
      continue;
    }
    if (!conn_.valid()) {
      conn_.reset(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      continue;
    }
    char buf[16384];
    ssize_t n = read(conn_.get(), buf, sizeof buf);
    if (n > 0) {
      buf_.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      conn_closed_ = true;
    }
  }
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
  if (pid_ > 0 && !exited_) {
    auto deadline = Clock::now() + grace;
    while (!reap(false) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!exited_) {
      kill(pid_, SIGKILL);
      reap(true);
    }
  }
  conn_.reset();
  listener_.reset();
  if (!socket_path_.empty()) {
    unlink(socket_path_.c_str());
    socket_path_.clear();
  }
}

}  // namespace memplace
