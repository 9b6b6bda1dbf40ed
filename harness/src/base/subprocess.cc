// SPDX-License-Identifier: GPL-2.0-only
#include "base/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <utility>

namespace memplace {
namespace {

constexpr int kMaxMempolicyNodes = 1024;

// Everything the child needs, prepared before fork(): between fork and exec a multi-threaded
// parent's child may only make async-signal-safe calls, so nothing there allocates.
struct ChildSetup {
  std::vector<char*> argv;
  const char* file = nullptr;   // ChildOutput::file, or nullptr
  const char* input = nullptr;  // SpawnOptions::stdin_file, or nullptr for /dev/null
  int out_pipe = -1, err_pipe = -1;
  ChildOutput::To out_to, err_to;
  bool pin = false;
  cpu_set_t cpus;
  pid_t parent = 0;
  int gate = -1;
  int mpol_mode = -1;
  unsigned long mpol_mask[kMaxMempolicyNodes / (8 * sizeof(unsigned long))] = {};
};

// Puts `to` on `target_fd` (1 or 2).
void redirect(ChildOutput::To to, int pipe_fd, int file_fd, int null_fd, int target_fd) {
  switch (to) {
    case ChildOutput::To::kInherit:
      return;
    case ChildOutput::To::kNull:
      if (null_fd >= 0) dup2(null_fd, target_fd);
      return;
    case ChildOutput::To::kPipe:
      dup2(pipe_fd, target_fd);
      return;
    case ChildOutput::To::kFile:
      if (file_fd >= 0) dup2(file_fd, target_fd);
      return;
  }
}

// A handler the parent installed would otherwise run in the child until exec resets it.
void default_stop_signals() {
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler != SIG_IGN) signal(sig, SIG_DFL);
  }
}

[[noreturn]] void exec_child(const ChildSetup& c) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != c.parent) _exit(126);  // the parent died before prctl
  default_stop_signals();
  if (c.pin) sched_setaffinity(0, sizeof c.cpus, &c.cpus);
  if (c.mpol_mode >= 0 &&
      syscall(SYS_set_mempolicy, c.mpol_mode, c.mpol_mask, kMaxMempolicyNodes + 1) != 0) {
    static const char msg[] = "memplace: set_mempolicy before exec failed\n";
    [[maybe_unused]] ssize_t said = write(2, msg, sizeof msg - 1);
    _exit(126);
  }
  int null_fd = open("/dev/null", O_RDWR);
  int in_fd = c.input ? open(c.input, O_RDONLY) : -1;
  if (in_fd < 0) in_fd = null_fd;  // never the parent's stdin
  if (in_fd >= 0) dup2(in_fd, 0);
  int file_fd = c.file ? open(c.file, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
  redirect(c.out_to, c.out_pipe, file_fd, null_fd, 1);
  redirect(c.err_to, c.err_pipe, file_fd, null_fd, 2);
  if (c.gate >= 0) {
    char go = 0;
    while (read(c.gate, &go, 1) < 0 && errno == EINTR) {
    }
  }
  execvp(c.argv[0], c.argv.data());
  _exit(127);
}

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

Result<Child> Child::spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) return make_error("spawn: empty argv");
  using To = ChildOutput::To;
  const ChildOutput& o = options.output;
  Pipe out, err;
  if (o.stdout_to == To::kPipe) {
    auto p = make_pipe();
    if (!p) return p.error();
    out = std::move(*p);
  }
  if (o.stderr_to == To::kPipe) {
    auto p = make_pipe();
    if (!p) return p.error();
    err = std::move(*p);
  }
  ChildSetup c;
  for (const auto& a : argv) c.argv.push_back(const_cast<char*>(a.c_str()));
  c.argv.push_back(nullptr);
  bool to_file = o.stdout_to == To::kFile || o.stderr_to == To::kFile;
  c.file = to_file ? (o.file.empty() ? "/dev/null" : o.file.c_str()) : nullptr;
  c.input = options.stdin_file.empty() ? nullptr : options.stdin_file.c_str();
  c.out_pipe = out.write.get();
  c.err_pipe = err.write.get();
  c.out_to = o.stdout_to;
  c.err_to = o.stderr_to;
  c.pin = !options.cpus.empty();
  CPU_ZERO(&c.cpus);
  for (int cpu : options.cpus)
    if (cpu >= 0 && cpu < CPU_SETSIZE) CPU_SET(cpu, &c.cpus);
  c.parent = getpid();
  c.mpol_mode = options.mempolicy.mode;
  c.gate = options.start_gate;
  for (int node : options.mempolicy.nodes) {
    if (node < 0 || node >= kMaxMempolicyNodes)
      return make_error("spawn: node " + std::to_string(node) + " is beyond the nodemask");
    c.mpol_mask[node / (8 * sizeof(unsigned long))] |= 1ul << (node % (8 * sizeof(unsigned long)));
  }

  pid_t pid = fork();
  if (pid < 0) return errno_error("fork for " + argv[0]);
  if (pid == 0) exec_child(c);
  Child child;
  child.pid_ = pid;
  child.out_ = std::move(out.read);
  child.err_ = std::move(err.read);
  return child;
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      exited_(o.exited_),
      exit_code_(o.exit_code_),
      term_signal_(o.term_signal_),
      out_(std::move(o.out_)),
      err_(std::move(o.err_)) {}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    kill();
    pid_ = std::exchange(o.pid_, -1);
    exited_ = o.exited_;
    exit_code_ = o.exit_code_;
    term_signal_ = o.term_signal_;
    out_ = std::move(o.out_);
    err_ = std::move(o.err_);
  }
  return *this;
}

Child::~Child() {
  kill();
}

int Child::exit_status() const {
  if (term_signal_ != 0) return 128 + term_signal_;
  return exit_code_;
}

bool Child::reap(bool block) {
  if (pid_ <= 0 || exited_) return exited_;
  int status = 0;
  pid_t w;
  do {
    w = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (w < 0 && errno == EINTR);
  if (w == pid_) {
    exited_ = true;
    if (WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) term_signal_ = WTERMSIG(status);
  } else if (w < 0 && errno == ECHILD) {
    exited_ = true;  // reaped elsewhere; nothing left to kill
  }
  return exited_;
}

bool Child::poll_exit() {
  return reap(false);
}

int Child::wait() {
  reap(true);
  return exit_status();
}

void Child::kill(int sig) {
  if (pid_ <= 0 || exited_) return;
  ::kill(pid_, sig);
  if (sig == SIGKILL) reap(true);
}

std::string shell_quote(std::string_view s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string join_command(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t\n\"'\\$`*?;&|<>()") == std::string::npos;
    s += plain ? a : shell_quote(a);
  }
  return s;
}

std::string find_on_path(const std::string& name) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    size_t colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) return "";
    rest.remove_prefix(colon + 1);
  }
}

std::string self_executable() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

std::string find_beside_self(std::initializer_list<std::string_view> relatives) {
  std::string self = self_executable();
  size_t slash = self.rfind('/');
  if (slash == std::string::npos) return "";
  const std::string dir = self.substr(0, slash + 1);
  for (std::string_view rel : relatives) {
    std::string candidate = dir + std::string(rel);
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return candidate;
  }
  return "";
}

Result<ForkedChild> ForkedChild::start(int (*body)(void*), void* arg) {
  pid_t pid = fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    _exit(body(arg));
  }
  return ForkedChild(pid);
}

ForkedChild::~ForkedChild() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

namespace {

// Reads both pipes until the child closes them, so neither can fill up and stall it.
void drain(UniqueFd& out_fd, UniqueFd& err_fd, CommandOutput& result) {
  pollfd fds[2] = {{out_fd.get(), POLLIN, 0}, {err_fd.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, n);
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
}

}  // namespace

Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  const std::string& stdin_file) {
  if (argv.empty()) return make_error("run_command: empty argv");
  SpawnOptions options;
  options.stdin_file = stdin_file;
  options.output.stdout_to = ChildOutput::To::kPipe;
  options.output.stderr_to = ChildOutput::To::kPipe;
  auto child = Child::spawn(argv, options);
  if (!child) return child.error();
  CommandOutput result;
  drain(child->stdout_pipe(), child->stderr_pipe(), result);
  result.exit_code = child->wait();
  if (result.exit_code == 127 && result.out.empty() && result.err.empty()) {
    return make_error("cannot run '" + argv[0] + "' (not installed?)", ErrorKind::kEnvironment);
  }
  return result;
}

Result<std::string> run_command_ok(const std::vector<std::string>& argv) {
  auto r = run_command(argv);
  if (!r) return r.error();
  if (r->exit_code != 0) {
    std::string tail = r->err.size() > 2000 ? r->err.substr(r->err.size() - 2000) : r->err;
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
    return make_error(join_command(argv) + " exited with " + std::to_string(r->exit_code) +
                      (tail.empty() ? "" : ": " + tail));
  }
  return std::move(r->out);
}

}  // namespace memplace
