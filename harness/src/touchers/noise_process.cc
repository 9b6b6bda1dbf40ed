// SPDX-License-Identifier: GPL-2.0-only
#include "touchers/noise_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "host/policy.h"
#include "spec/spec.h"

namespace memplace {

namespace {

// What the forked child needs to become the noise process: everything prepared before the fork,
// so the child makes system calls only.
struct ExecArgs {
  int go_fd;    // read end: one byte means start
  int done_fd;  // write end: "r" once mapped and bound, "d" when every page is touched
  std::vector<std::string> argv_text;
  std::vector<char*> argv;
};

// Runs in the forked child: the two pipe ends survive the exec, nothing else of memplace's
// memory does.
int exec_body(void* p) {
  ExecArgs& a = *static_cast<ExecArgs*>(p);
  if (::fcntl(a.go_fd, F_SETFD, 0) != 0 || ::fcntl(a.done_fd, F_SETFD, 0) != 0) return 7;
  ::execv("/proc/self/exe", a.argv.data());
  return 8;
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

// A fork alone would leave every private page of memplace shared copy-on-write with the child
// until the child exits: a touching thread that then writes one of them first gets a copy, an
// allocation the trace rightly counts as the toucher's and move_pages never sees. Hence the exec,
// and the wait for the child's "r", which it sends only after the exec.
Result<NoiseProcess> NoiseProcess::start(const NoiseSpec& spec) {
  int go[2], done[2];
  if (::pipe2(go, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd go_r(go[0]), go_w(go[1]);
  if (::pipe2(done, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd done_r(done[0]), done_w(done[1]);
  ExecArgs args{
      go_r.get(),
      done_w.get(),
      {"memplace", "noise-process", std::to_string(spec.bytes) + "@" + std::to_string(spec.node),
       std::to_string(go_r.get()), std::to_string(done_w.get())},
      {}};
  for (auto& t : args.argv_text) args.argv.push_back(t.data());
  args.argv.push_back(nullptr);
  auto child = ForkedChild::start(&exec_body, &args);
  if (!child) return child.error();
  go_r.reset();
  done_w.reset();
  NoiseProcess noise(std::move(*child), std::move(go_w), std::move(done_r));
  if (auto s = noise.wait_for('r', 30000); !s) return s.error();
  return noise;
}

Status NoiseProcess::go() {
  if (::write(go_.get(), "g", 1) != 1) return errno_error("starting the noise process");
  return {};
}

Status NoiseProcess::wait_done(int timeout_ms) {
  return wait_for('d', timeout_ms);
}

Status NoiseProcess::wait_for(char what, int timeout_ms) {
  pollfd p{done_.get(), POLLIN, 0};
  int rc;
  while ((rc = ::poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  const char* step = what == 'r' ? "be ready" : "finish";
  if (rc == 0)
    return make_error("the noise process did not " + std::string(step) + " within " +
                      std::to_string(timeout_ms) + " ms");
  char c;
  if (rc < 0 || ::read(done_.get(), &c, 1) != 1 || c != what)
    return make_error("the noise process ended before it could " + std::string(step));
  return {};
}

int noise_process_main(const std::string& spec_text, int go_fd, int done_fd) {
  auto spec = parse_noise_spec(spec_text);
  if (!spec || go_fd < 0 || done_fd < 0) return 2;
  // The parent's SIGKILL at exit was asked for before the exec; it holds across it.
  const uint64_t bytes = spec->bytes;
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return 3;
  unsigned long mask[16] = {};
  mask[spec->node / 64] = 1ul << (spec->node % 64);
  if (::syscall(SYS_mbind, mem, bytes, mpol_value(PolicyMode::kBind), mask, 1024ul, 0u) != 0)
    return 3;
  ::madvise(mem, bytes, MADV_NOHUGEPAGE);
  char c;
  if (::write(done_fd, "r", 1) != 1 || ::read(go_fd, &c, 1) != 1) return 3;
  for (uint64_t off = 0; off < bytes; off += 4096) static_cast<volatile char*>(mem)[off] = 1;
  if (::write(done_fd, "d", 1) != 1) return 3;
  ::pause();
  return 0;
}

}  // namespace memplace
