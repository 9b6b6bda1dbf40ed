// SPDX-License-Identifier: GPL-2.0-only
// memplace-agent: runs inside a guest (started by the initramfs's /init, or as init= itself),
// says hello over the virtio-serial port, waits for "go", faults in the requested memory with
// T threads (optionally bound to a guest NUMA node), reports progress and done, times a locality
// locality on that memory if "go" asked for one, holds the memory until the host has read its
// numbers, then powers the guest off. Messages: agent_protocol.h.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <termios.h>
#include <unistd.h>

#ifdef MEMPLACE_AGENT_LIBNUMA
#include <numaif.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent_protocol.h"
#include "agent/locality_timing.h"
#include "base/clock.h"
#include "base/nodelist.h"
#include "host/populate.h"

namespace memplace {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kPortName = "memplace.agent";
constexpr uint64_t kPage = 4096;
constexpr uint64_t kStep = 8ull << 20;  // populate in steps so progress can be reported
constexpr int kMpolBind = 2;

void console(const std::string& s) {
  std::fprintf(stderr, "memplace-agent: %s\n", s.c_str());
}

struct Options {
  std::string port;      // explicit device path
  int fd = -1;           // an already open channel (tests on the host)
  bool poweroff = true;  // only as PID 1 unless forced
  int poweroff_wait_seconds = 120;
  int port_wait_seconds = 20;
};

class Channel {
 public:
  explicit Channel(int fd) : fd_(fd) {}
  bool send(const std::string& line) {
    std::string data = line + "\n";
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        pollfd pf{fd_, POLLOUT, 0};
        poll(&pf, 1, 1000);
        continue;
      }
      if (n <= 0) return false;
      p += n;
      left -= static_cast<size_t>(n);
    }
    return true;
  }
  bool send(const GuestMessage& m) { return send(encode_guest_message(m)); }

  // The next line, or "" with *eof/timeout set. Lines above the protocol limit are dropped.
  bool read_line(std::string* line, int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        *line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return true;
      }
      if (buf_.size() > kAgentMaxLineBytes) buf_.clear();
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      if (timeout_ms >= 0 && left <= 0) return false;
      pollfd pf{fd_, POLLIN, 0};
      int r = poll(&pf, 1, timeout_ms < 0 ? 1000 : std::min(left, 1000));
      if (r < 0 && errno != EINTR) return false;
      if (r <= 0) continue;
      char tmp[4096];
      ssize_t n = read(fd_, tmp, sizeof tmp);
      if (n == 0) {
        eof_ = true;
        return false;
      }
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        // A virtio port whose host side is not open reads as an error; wait and retry.
        usleep(100 * 1000);
        continue;
      }
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }
  bool eof() const { return eof_; }

 private:
  int fd_;
  std::string buf_;
  bool eof_ = false;
};

void mount_basics() {
  mkdir("/proc", 0555);
  mkdir("/sys", 0555);
  mkdir("/dev", 0755);
  mount("proc", "/proc", "proc", 0, nullptr);
  mount("sysfs", "/sys", "sysfs", 0, nullptr);
  mount("devtmpfs", "/dev", "devtmpfs", 0, nullptr);
}

std::string read_small(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// devtmpfs has no /dev/virtio-ports/<name> links (udev makes those): find the vportNpM whose
// sysfs name matches.
std::string find_virtio_port() {
  std::string link = std::string("/dev/virtio-ports/") + kPortName;
  if (access(link.c_str(), F_OK) == 0) return link;
  DIR* d = opendir("/sys/class/virtio-ports");
  if (!d) return "";
  std::string found;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string dev = e->d_name;
    if (read_small("/sys/class/virtio-ports/" + dev + "/name") == kPortName) found = "/dev/" + dev;
  }
  closedir(d);
  return found;
}

void make_raw(int fd) {
  termios t{};
  if (tcgetattr(fd, &t) != 0) return;  // not a tty
  cfmakeraw(&t);
  tcsetattr(fd, TCSANOW, &t);
}

int open_channel(const Options& o) {
  if (o.fd >= 0) return o.fd;
  if (!o.port.empty()) return open(o.port.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
  auto deadline = Clock::now() + std::chrono::seconds(o.port_wait_seconds);
  do {
    std::string p = find_virtio_port();
    if (!p.empty()) {
      int fd = open(p.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
      if (fd >= 0) return fd;
    }
    usleep(100 * 1000);
  } while (Clock::now() < deadline);
  for (const char* tty : {"/dev/ttyS1", "/dev/ttyS0"}) {
    int fd = open(tty, O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0) {
      console(std::string("no virtio port named ") + kPortName + "; falling back to " + tty);
      make_raw(fd);
      return fd;
    }
  }
  return -1;
}

std::vector<int> guest_nodes() {
  std::vector<int> nodes;
  DIR* d = opendir("/sys/devices/system/node");
  if (!d) return nodes;
  while (dirent* e = readdir(d)) {
    int id;
    char tail;
    if (std::sscanf(e->d_name, "node%d%c", &id, &tail) == 1) nodes.push_back(id);
  }
  closedir(d);
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

// What "/" is, from the last "/" entry in /proc/self/mounts: "/dev/vda ext4 rw" when booted
// from a disk image, "rootfs rootfs rw" from an initramfs. The host records it as the boot path.
//   /dev/vda / ext4 rw,relatime 0 0
std::string root_mount() {
  FILE* f = std::fopen("/proc/self/mounts", "re");
  if (!f) return "unknown (no /proc/self/mounts)";
  std::string found = "unknown (no / in /proc/self/mounts)";
  char dev[256], dir[256], type[64], opts[512];
  while (std::fscanf(f, "%255s %255s %63s %511s %*d %*d", dev, dir, type, opts) == 4) {
    if (std::strcmp(dir, "/") == 0) {
      std::string o = opts;
      found = std::string(dev) + " " + type + " " + o.substr(0, o.find(','));
    }
  }
  std::fclose(f);
  return found;
}

AgentHello make_hello() {
  AgentHello h;
  utsname u{};
  if (uname(&u) == 0) h.kernel = u.release;
  h.nodes = guest_nodes();
  h.cpus = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  struct sysinfo si {};
  if (sysinfo(&si) == 0) h.mem_bytes = static_cast<uint64_t>(si.totalram) * si.mem_unit;
  h.localities = {locality_name(LocalityKind::kTriad), locality_name(LocalityKind::kChase)};
  return h;
}

long bind_to_node(void* addr, uint64_t len, int node) {
  std::vector<unsigned long> mask(node / 64 + 1, 0);
  mask[node / 64] |= 1ul << (node % 64);
  unsigned long maxnode = mask.size() * 64 + 1;
#ifdef MEMPLACE_AGENT_LIBNUMA
  return mbind(addr, len, kMpolBind, mask.data(), maxnode, 0);
#else
  return syscall(SYS_mbind, addr, len, kMpolBind, mask.data(), maxnode, 0);
#endif
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Faults in [p, p+len) by `method` (the harness's populate.cc, compiled in), one step at a time.
void touch_range(char* p, uint64_t len, PopulateMethod method, std::atomic<uint64_t>* done,
                 std::atomic<int>* failed_errno) {
  for (uint64_t off = 0; off < len; off += kStep) {
    uint64_t n = std::min(kStep, len - off);
    if (auto s = populate_range(method, p + off, n); !s) {
      failed_errno->store(s.error().err ? s.error().err : EIO);
      return;
    }
    done->fetch_add(n);
  }
}

// The memory touched, held until poweroff.
struct Touched {
  char* base = nullptr;
  uint64_t size = 0;
};

// The touch itself; on failure an AgentError to send.
std::variant<AgentDone, AgentError> run_touch(const AgentGo& go, Channel& ch, Touched* touched) {
  uint64_t size = (go.size_bytes + kPage - 1) / kPage * kPage;
  void* mem = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return AgentError{std::string("mmap: ") + std::strerror(errno)};
  char* base = static_cast<char*>(mem);
  *touched = Touched{base, size};
  if (go.node) {
    if (bind_to_node(base, size, *go.node) != 0) {
      return AgentError{"mbind to guest node " + std::to_string(*go.node) + ": " +
                        std::strerror(errno)};
    }
  }
  // As the host toucher does: huge pages where the guest kernel's mode allows them (auto).
  ThpMode thp = ThpMode::kAuto;
  if (go.thp) {
    auto t = parse_thp_mode(*go.thp);
    if (!t) return AgentError{t.error().message};
    thp = *t;
  }
  auto thp_advised = apply_thp_mode(thp, base, size);
  if (!thp_advised) return AgentError{"THP on: " + thp_advised.error().describe()};
  // The forced method, or the first of populate_order() the kernel accepts, probed on one page
  // (kernels before 5.14 answer EINVAL to MADV_POPULATE_WRITE).
  PopulateMethod method = populate_order().back();
  if (go.method) {
    auto m = parse_populate_method(*go.method);
    if (!m) return AgentError{m.error().message};
    if (!populate_method_applies(*m, false))
      return AgentError{populate_method_name(*m) + " needs a backing file"};
    method = *m;
  } else {
    for (PopulateMethod m : populate_order()) {
      if (auto s = populate_range(m, base, kPage); s) {
        method = m;
        break;
      }
    }
  }

  int threads = go.threads;
  uint64_t pages = size / kPage;
  std::atomic<uint64_t> done{0};
  std::atomic<int> failed{0};  // errno of the first failed step
  std::vector<double> per_thread(threads, 0.0);
  std::vector<std::thread> pool;
  auto t0 = Clock::now();
  for (int t = 0; t < threads; ++t) {
    uint64_t first = pages * t / threads, last = pages * (t + 1) / threads;
    pool.emplace_back([&, t, first, last] {
      auto ts = Clock::now();
      touch_range(base + first * kPage, (last - first) * kPage, method, &done, &failed);
      per_thread[t] = seconds_since(ts);
    });
  }
  // Progress while the threads run; a slow TCG guest shows it is alive.
  uint64_t last_sent = 0;
  while (done.load() < size && !failed.load()) {
    usleep(250 * 1000);
    uint64_t now = done.load();
    if (now != last_sent && now < size) {
      ch.send(AgentProgress{now});
      last_sent = now;
    }
  }
  for (auto& th : pool) th.join();
  double seconds = seconds_since(t0);
  if (failed.load())
    return AgentError{populate_method_name(method) +
                      " failed mid-touch: " + std::strerror(failed.load())};
  AgentDone d;
  d.seconds = seconds;
  d.method = populate_method_name(method) + (*thp_advised ? "+thp" : "");
  d.bytes = size;
  d.per_thread_seconds = per_thread;
  return d;  // the mapping stays: the host reads placement before "poweroff"
}

// The CPUs of guest node `node` from its sysfs cpulist ("0-1"), parsed by the harness's own
// parser. (libnuma's numa_node_to_cpus would do, but its constructor sizes its masks from /proc
// and /sys, which an init= agent has not mounted yet when constructors run.)
Result<std::vector<int>> node_cpus(int node) {
  std::string path = "/sys/devices/system/node/node" + std::to_string(node) + "/cpulist";
  std::string text = read_small(path);
  if (text.empty()) return make_error("no CPUs listed in " + path);
  auto cpus = parse_id_list(text);
  if (!cpus) return cpus.error().prefixed(path + ": ");
  return cpus;
}

// The locality "go" asked for, on the memory just touched: one worker per touch thread, pinned
// round-robin to the guest node's CPUs (unpinned without a node).
std::variant<AgentLocality, AgentError> run_locality(const AgentGo& go, const Touched& mem) {
  auto kind = parse_locality(*go.locality);
  if (!kind) return AgentError{"locality: " + kind.error().message};
  std::vector<int> cpus(go.threads, -1);
  if (go.node) {
    auto node = node_cpus(*go.node);
    if (!node) return AgentError{"locality: " + node.error().message};
    for (size_t i = 0; i < cpus.size(); ++i) cpus[i] = (*node)[i % node->size()];
  }
  utsname u{};
  uname(&u);
  nlohmann::json context = {
      {"timed_by", "memplace-agent"},
      {"timer",
       "memplace's fixed-repetition timer (locality_timing.cc), not libbenchmark: the median of "
       "the repetitions, each at least min_time"},
      {"executable", "memplace-agent"},
      {"date", utc_now()},
      {"host_name", u.nodename},
      {"guest_kernel", u.release},
      {"num_cpus", static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)))},
      {"memory_bytes", mem.size}};
  if (go.node) context["guest_node"] = *go.node;
  RepetitionTiming timing{go.locality_repetitions, go.locality_min_time_seconds};
  auto report = time_locality_repeated(*kind, mem.base, mem.size, cpus, timing, context);
  if (!report) return AgentError{"locality " + *go.locality + ": " + report.error().message};
  return AgentLocality{*go.locality, *report};
}

// Waits for the host's "poweroff" (or the channel closing, or the timeout).
void wait_for_poweroff(Channel& ch, int seconds) {
  auto deadline = Clock::now() + std::chrono::seconds(seconds);
  std::string line;
  while (Clock::now() < deadline) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (!ch.read_line(&line, left)) return;
    auto m = decode_host_message(line);
    if (m && std::holds_alternative<AgentPoweroff>(*m)) return;
  }
}

[[noreturn]] void finish(const Options& o, int code) {
  sync();
  if (o.poweroff && getpid() == 1) {
    reboot(RB_POWER_OFF);
    // Unreachable unless reboot failed; PID 1 must not exit.
    while (true) pause();
  }
  std::exit(code);
}

int usage() {
  std::fprintf(stderr,
               "usage: memplace-agent [--port DEV] [--fd N] [--no-poweroff] "
               "[--poweroff-wait SECONDS]\n");
  return 2;
}

int agent_main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--port") {
      const char* v = next();
      if (!v) return usage();
      o.port = v;
    } else if (a == "--fd") {
      const char* v = next();
      if (!v) return usage();
      o.fd = std::atoi(v);
    } else if (a == "--no-poweroff") {
      o.poweroff = false;
    } else if (a == "--poweroff-wait") {
      const char* v = next();
      if (!v) return usage();
      o.poweroff_wait_seconds = std::atoi(v);
    } else {
      return usage();
    }
  }
  if (getpid() == 1) mount_basics();

  int fd = open_channel(o);
  if (fd < 0) {
    console("no channel to the host (virtio port, ttyS1, ttyS0)");
    finish(o, 1);
  }
  Channel ch(fd);
  ch.send(make_hello());
  if (getpid() == 1) ch.send(AgentLog{"root: " + root_mount()});

  std::string line;
  while (true) {
    if (!ch.read_line(&line, -1)) {
      console("channel closed before go");
      finish(o, 1);
    }
    auto m = decode_host_message(line);
    if (!m) {
      ch.send(AgentLog{"ignored a host line: " + m.error().message});
      continue;
    }
    if (std::holds_alternative<AgentPoweroff>(*m)) finish(o, 0);
    const AgentGo& go = std::get<AgentGo>(*m);
    Touched touched;
    auto result = run_touch(go, ch, &touched);
    bool ok = std::holds_alternative<AgentDone>(result);
    if (ok) {
      ch.send(std::get<AgentDone>(result));
    } else {
      ch.send(std::get<AgentError>(result));
    }
    if (ok && go.locality) {
      auto locality = run_locality(go, touched);
      if (auto* w = std::get_if<AgentLocality>(&locality)) {
        std::string line = encode_guest_message(*w);
        if (line.size() > kAgentMaxLineBytes) {
          ok = false;
          ch.send(AgentError{"locality report of " + std::to_string(line.size()) +
                             " bytes exceeds the line limit"});
        } else {
          ch.send(line);
        }
      } else {
        ok = false;
        ch.send(std::get<AgentError>(locality));
      }
    }
    wait_for_poweroff(ch, o.poweroff_wait_seconds);
    finish(o, ok ? 0 : 1);
  }
}

}  // namespace
}  // namespace memplace

int main(int argc, char** argv) {
  return memplace::agent_main(argc, argv);
}
