#include "touchers/noise_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "experiment/spec.h"

namespace memplace {

namespace {

struct ChildArgs {
  uint64_t bytes;
  int node;
  int go_fd;    // read end: one byte means start
  int done_fd;  // write end: one byte when every page is touched
};

constexpr int kMpolBind = 2;

// Runs in the forked child: system calls only.
int noise_body(void* p) {
  const ChildArgs& a = *static_cast<const ChildArgs*>(p);
  void* mem = ::mmap(nullptr, a.bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return 2;
  unsigned long mask[16] = {};
  if (a.node < 0 || a.node >= 1024) return 3;
  mask[a.node / 64] = 1ul << (a.node % 64);
  if (::syscall(SYS_mbind, mem, a.bytes, kMpolBind, mask, 1024ul, 0u) != 0) return 4;
  ::madvise(mem, a.bytes, MADV_NOHUGEPAGE);
  char c;
  if (::read(a.go_fd, &c, 1) != 1) return 5;
  for (uint64_t off = 0; off < a.bytes; off += 4096) static_cast<volatile char*>(mem)[off] = 1;
  if (::write(a.done_fd, "d", 1) != 1) return 6;
  ::pause();
  return 0;
}

}  // namespace

Result<NoiseSpec> parse_noise_spec(const std::string& text) {
  auto at = text.find('@');
  if (at == std::string::npos) return make_error("MEMPLACE_TEST_NOISE: expected SIZE@NODE");
  auto bytes = parse_size(text.substr(0, at));
  if (!bytes || *bytes == 0 || *bytes % 4096)
    return make_error("MEMPLACE_TEST_NOISE: bad size '" + text.substr(0, at) + "'");
  char* end = nullptr;
  long node = std::strtol(text.c_str() + at + 1, &end, 10);
  if (end == text.c_str() + at + 1 || *end || node < 0 || node > 1023)
    return make_error("MEMPLACE_TEST_NOISE: bad node in '" + text + "'");
  return NoiseSpec{*bytes, static_cast<int>(node)};
}

Result<std::optional<NoiseSpec>> noise_from_env() {
  const char* v = std::getenv("MEMPLACE_TEST_NOISE");
  if (!v || !*v) return std::optional<NoiseSpec>();
  auto spec = parse_noise_spec(v);
  if (!spec) return spec.error();
  return std::optional<NoiseSpec>(*spec);
}

Result<NoiseProcess> NoiseProcess::start(const NoiseSpec& spec) {
  int go[2], done[2];
  if (::pipe2(go, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd go_r(go[0]), go_w(go[1]);
  if (::pipe2(done, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd done_r(done[0]), done_w(done[1]);
  ChildArgs args{spec.bytes, spec.node, go_r.get(), done_w.get()};
  auto child = ForkedChild::start(&noise_body, &args);
  if (!child) return child.error();
  return NoiseProcess(std::move(*child), std::move(go_w), std::move(done_r));
}

Status NoiseProcess::go() {
  if (::write(go_.get(), "g", 1) != 1) return errno_error("starting the noise process");
  return {};
}

Status NoiseProcess::wait_done(int timeout_ms) {
  pollfd p{done_.get(), POLLIN, 0};
  int rc;
  while ((rc = ::poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  if (rc == 0) return make_error("the noise process did not finish within " +
                                 std::to_string(timeout_ms) + " ms");
  char c;
  if (rc < 0 || ::read(done_.get(), &c, 1) != 1)
    return make_error("the noise process ended before touching its memory");
  return {};
}

}  // namespace memplace
