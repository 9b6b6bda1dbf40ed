// SPDX-License-Identifier: GPL-2.0-only
// The vcpu toucher: a minimal in-process VMM whose vCPUs fault the measured range in, so pages
// are allocated by KVM's own fault path (for guest_memfd, the path SEV-SNP guest memory takes)
// rather than by host threads storing through the VMM's mapping.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "base/text.h"
#include "host/kvm_uapi.h"
#include "touchers/toucher.h"
#include "touchers/vmm.h"

namespace memplace {
namespace vmm {
namespace {

using Clock = std::chrono::steady_clock;

// A mapping this file owns (boot slot memory, a vCPU's kvm_run page).
class OwnedMap {
 public:
  OwnedMap() = default;
  OwnedMap(void* p, size_t n) : p_(p), n_(n) {}
  OwnedMap(OwnedMap&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(o.n_) {}
  OwnedMap& operator=(OwnedMap&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  ~OwnedMap() {
    if (p_) ::munmap(p_, n_);
  }
  void* get() const { return p_; }

 private:
  void* p_ = nullptr;
  size_t n_ = 0;
};

struct Vcpu {
  int index = 0;
  UniqueFd fd;
  OwnedMap run_map;
  kvm_run* run() const { return static_cast<kvm_run*>(run_map.get()); }
};

// Outcome of one vCPU's run, written by its thread only.
struct VcpuOutcome {
  std::optional<Error> error;
  Clock::time_point start, done;
  uint64_t pages_written = 0;
  bool stopped = false;  // the watchdog stopped it before it finished
};

// The signal that kicks a vCPU thread out of KVM_RUN when the touch times out. Its handler does
// nothing and is installed without SA_RESTART, so KVM_RUN returns EINTR and the thread looks at
// the stop flag. A real-time signal nobody else in memplace uses, so it cannot be mistaken for
// SIGINT/SIGTERM or clash with what a library expects of SIGUSR1/2.
int kick_signal() {
  return SIGRTMIN + 5;
}

void on_kick(int) {}

// Installed once and left in place: a stray kick then does nothing, where the default action of
// a real-time signal would end the process.
Status install_kick_handler() {
  static const int rc = [] {
    struct sigaction sa {};
    sa.sa_handler = on_kick;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must come back with EINTR
    return ::sigaction(kick_signal(), &sa, nullptr) == 0 ? 0 : errno;
  }();
  if (rc != 0) return system_error(rc, "sigaction for the vCPU kick signal");
  return {};
}

// Threads inherit the creator's signal mask; a vCPU thread must be able to take the kick.
void unblock_kick_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, kick_signal());
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

// Deletes the memslots it was told about when the run ends. Matters for guest_memfd, whose VM
// outlives the toucher (the Mapping owns it); a VM we created ourselves takes its slots along.
class SlotGuard {
 public:
  explicit SlotGuard(int vm_fd) : vm_fd_(vm_fd) {}
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;
  void add(uint32_t slot) { slots_.push_back(slot); }
  ~SlotGuard() {
    for (uint32_t slot : slots_) {
      kvm_userspace_memory_region r{};
      r.slot = slot;  // memory_size 0 deletes the slot
      ::ioctl(vm_fd_, KVM_SET_USER_MEMORY_REGION, &r);
    }
  }

 private:
  int vm_fd_;
  std::vector<uint32_t> slots_;
};

Result<std::vector<uint8_t>> supported_cpuid(const KvmSystem& sys) {
  for (uint32_t n = 128;; n *= 2) {
    std::vector<uint8_t> buf(sizeof(kvm::Cpuid2Header) + n * sizeof(kvm_cpuid_entry2), 0);
    auto* c = reinterpret_cast<kvm::Cpuid2Header*>(buf.data());
    c->nent = n;
    if (::ioctl(sys.fd(), kvm::kIoctlGetSupportedCpuid, c) == 0) return buf;
    if (errno != E2BIG || n >= 4096) return errno_error("KVM_GET_SUPPORTED_CPUID");
  }
}

// Register state for an error message: enough to tell a page-table bug (CR2, CR3), a mode bug
// (CR0/CR4/EFER) and where the guest was (RIP and the payload's registers).
std::string vcpu_state(const Vcpu& v) {
  std::string s;
  kvm_regs r{};
  if (::ioctl(v.fd.get(), KVM_GET_REGS, &r) == 0) {
    s += "RIP=" + hex_string(r.rip) + " RSP=" + hex_string(r.rsp) +
         " RFLAGS=" + hex_string(r.rflags) + " RAX=" + hex_string(r.rax) +
         " RBX=" + hex_string(r.rbx) + " RCX=" + hex_string(r.rcx) + " RDI=" + hex_string(r.rdi) +
         " RSI=" + hex_string(r.rsi);
  } else {
    s += std::string("KVM_GET_REGS failed: ") + std::strerror(errno);
  }
  kvm_sregs sr{};
  if (::ioctl(v.fd.get(), KVM_GET_SREGS, &sr) == 0) {
    s += " CR0=" + hex_string(sr.cr0) + " CR2=" + hex_string(sr.cr2) +
         " CR3=" + hex_string(sr.cr3) + " CR4=" + hex_string(sr.cr4) +
         " EFER=" + hex_string(sr.efer);
  } else {
    s += std::string(" KVM_GET_SREGS failed: ") + std::strerror(errno);
  }
  return s;
}

// What the exit itself says, beyond its reason.
std::string exit_details(const kvm_run& run) {
  switch (run.exit_reason) {
    case KVM_EXIT_MMIO:
      return std::string("MMIO ") + (run.mmio.is_write ? "write" : "read") + " of " +
             std::to_string(run.mmio.len) + " bytes at GPA " + hex_string(run.mmio.phys_addr);
    case KVM_EXIT_IO:
      return std::string("port I/O ") + (run.io.direction == KVM_EXIT_IO_OUT ? "out" : "in") +
             " port " + hex_string(run.io.port) + " size " + std::to_string(run.io.size) +
             " count " + std::to_string(run.io.count);
    case KVM_EXIT_FAIL_ENTRY:
      return "hardware entry failure reason " +
             hex_string(run.fail_entry.hardware_entry_failure_reason) + " on CPU " +
             std::to_string(run.fail_entry.cpu);
    case KVM_EXIT_INTERNAL_ERROR: {
      std::string s = "suberror " + std::to_string(run.internal.suberror);
      for (uint32_t i = 0; i < run.internal.ndata && i < 16; ++i)
        s += (i ? " " : " data ") + hex_string(run.internal.data[i]);
      return s;
    }
    case KVM_EXIT_SHUTDOWN:
      return "triple fault (an exception the guest had no IDT for)";
    case KVM_EXIT_SYSTEM_EVENT:
      return "event type " + std::to_string(run.system_event.type);
    default:
      return "";
  }
}

Error unexpected_exit(const Vcpu& v, const std::string& why) {
  const kvm_run& run = *v.run();
  std::string msg =
      "vCPU " + std::to_string(v.index) + ": " + why + " " + exit_reason_name(run.exit_reason);
  std::string details = exit_details(run);
  if (!details.empty()) msg += ": " + details;
  return make_error(msg + "; " + vcpu_state(v));
}

Status pin_self(int cpu) {
  if (cpu < 0) return {};
  if (cpu >= CPU_SETSIZE) return make_error("CPU " + std::to_string(cpu) + " beyond CPU_SETSIZE");
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int rc = ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
  if (rc != 0) return system_error(rc, "pin vCPU thread to CPU " + std::to_string(cpu));
  return {};
}

// Runs one vCPU until its done signal and the HLT after it. Any other exit is an error. Returns
// early, with out.stopped set, once `stop` is set (the watchdog also kicks it out of KVM_RUN).
void run_one(Vcpu& v, const Slice& slice, VcpuOutcome& out, const std::atomic<bool>& stop) {
  bool signalled = false;
  out.start = Clock::now();
  for (;;) {
    if (stop.load()) {
      out.stopped = true;
      return;
    }
    if (::ioctl(v.fd.get(), KVM_RUN, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;  // a kick, or a signal for someone else
      out.error = errno_error("vCPU " + std::to_string(v.index) + ": KVM_RUN");
      return;
    }
    const kvm_run& run = *v.run();
    if (run.exit_reason == KVM_EXIT_INTR) continue;
    if (!signalled && run.exit_reason == KVM_EXIT_IO && run.io.direction == KVM_EXIT_IO_OUT &&
        run.io.port == kDonePort && run.io.size == 4 && run.io.count == 1) {
      out.done = Clock::now();
      uint32_t said;
      std::memcpy(&said, reinterpret_cast<const char*>(&run) + run.io.data_offset, sizeof said);
      kvm_regs r{};
      if (::ioctl(v.fd.get(), KVM_GET_REGS, &r) != 0) {
        out.error = errno_error("vCPU " + std::to_string(v.index) + ": KVM_GET_REGS");
        return;
      }
      if (said != static_cast<uint32_t>(v.index)) {
        out.error = unexpected_exit(v, "done signal carries index " + std::to_string(said) + ",");
        return;
      }
      out.pages_written = r.rcx;
      if (r.rcx != slice.bytes / kGuestPageSize || r.rdi != r.rsi) {
        out.error =
            unexpected_exit(v, "wrote " + std::to_string(r.rcx) + " of its " +
                                   std::to_string(slice.bytes / kGuestPageSize) + " pages before");
        return;
      }
      signalled = true;
      continue;
    }
    if (signalled && run.exit_reason == KVM_EXIT_HLT) return;
    out.error =
        unexpected_exit(v, signalled ? "after its done signal," : "before its done signal,");
    return;
  }
}

// `uaddr` is mapping.addr() except when probing which path KVM faults guest_memfd through.
Status set_ram_slot(const KvmSystem& sys, int vm_fd, Mapping& mapping, uint64_t uaddr) {
  const uint64_t size = mapping.size();
  if (!is_guest_memfd(mapping.kind())) {
    kvm_userspace_memory_region r{};
    r.slot = kRamSlot;
    r.guest_phys_addr = kRamGpa;
    r.memory_size = size;
    r.userspace_addr = uaddr;
    if (::ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) != 0)
      return errno_error("KVM_SET_USER_MEMORY_REGION for " + backing_name(mapping.kind()) +
                         " at GPA " + hex_string(kRamGpa) + " size " + std::to_string(size));
    return {};
  }
  if (sys.check_extension(kvm::kCapUserMemory2) <= 0)
    return unsupported_error("KVM_CAP_USER_MEMORY2 absent, so no guest_memfd memslot can be made");
  // userspace_addr is the guest_memfd's own mmap, not just any legal address. KVM's selftests
  // pass NULL for an MMAP guest_memfd, expecting every fault to be served from the file, but
  // this host's KVM (6.18.44, PVM) faults guest accesses through userspace_addr: with an
  // unrelated anon mapping there, the guest's 4096 stores all landed in it and the guest_memfd
  // stayed empty. With its own mmap the pages come from the file on either kind of kernel.
  // Private memory is never faulted through userspace_addr; without a mapping of its own it
  // gets an inaccessible reservation, so a fault that went that way would fail, not land
  // elsewhere.
  kvm::UserspaceMemoryRegion2 r{};
  r.slot = kRamSlot;
  r.flags = kvm::kMemGuestMemfd;
  r.guest_phys_addr = kRamGpa;
  r.memory_size = size;
  r.userspace_addr = uaddr;
  r.guest_memfd_offset = 0;
  r.guest_memfd = static_cast<uint32_t>(mapping.fd());
  const bool is_private = mapping.kind() == BackingKind::kGuestMemfdPrivate;
  if (::ioctl(vm_fd, kvm::kIoctlSetUserMemoryRegion2, &r) != 0) {
    const int err = errno;
    const std::string what = "KVM_SET_USER_MEMORY_REGION2 with KVM_MEM_GUEST_MEMFD on a " +
                             std::string(is_private ? "SW_PROTECTED VM" : "default-type VM");
    if (err == EINVAL || err == EOPNOTSUPP || err == ENOTTY)
      return unsupported_error("this kernel refuses " + what, err);
    return system_error(err, what);
  }
  if (!is_private) return {};
  kvm::MemoryAttributes attrs{};
  attrs.address = kRamGpa;
  attrs.size = size;
  attrs.attributes = kvm::kMemoryAttributePrivate;
  if (::ioctl(vm_fd, kvm::kIoctlSetMemoryAttributes, &attrs) != 0)
    return errno_error("KVM_SET_MEMORY_ATTRIBUTES private at GPA " + hex_string(kRamGpa) +
                       " size " + std::to_string(size));
  return {};
}

// Waits for every vCPU thread to finish, or until `deadline`; then sets `stop`, asks KVM to
// return at once from any later KVM_RUN (immediate_exit) and kicks the unfinished threads with
// kick_signal() every 50 ms until all have finished. immediate_exit already covers a kick that
// lands just before a thread's next KVM_RUN; the repeats are a safety net.
class Watchdog {
 public:
  explicit Watchdog(int n) : finished_(n, false) {}
  void finished(int i) {
    std::lock_guard lock(mu_);
    finished_[i] = true;
    cv_.notify_all();
  }
  void wait(Clock::time_point deadline, std::vector<Vcpu>& vcpus, std::vector<std::thread>& threads,
            std::atomic<bool>& stop) {
    std::unique_lock lock(mu_);
    if (cv_.wait_until(lock, deadline, [&] { return all_finished(); })) return;
    stop.store(true);
    for (size_t i = 0; i < vcpus.size(); ++i)
      std::atomic_ref<uint8_t>(vcpus[i].run()->immediate_exit).store(1);
    do {
      for (size_t i = 0; i < threads.size(); ++i)
        if (!finished_[i]) ::pthread_kill(threads[i].native_handle(), kick_signal());
    } while (!cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return all_finished(); }));
  }

 private:
  bool all_finished() const {
    return std::all_of(finished_.begin(), finished_.end(), [](bool f) { return f; });
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<bool> finished_;
};

Status check_run_inputs(const Cell& cell, const Mapping& mapping,
                        const std::vector<uint8_t>& payload) {
  const int n = cell.threads;
  if (n < 1) return make_error("vcpu toucher needs at least one vCPU, got " + std::to_string(n));
  const bool is_private = mapping.kind() == BackingKind::kGuestMemfdPrivate;
  if ((!mapping.addr() && !is_private) || mapping.size() == 0)
    return make_error("vcpu toucher: empty mapping");
  if (mapping.size() % kGuestPageSize != 0)
    return make_error("vcpu toucher: size " + std::to_string(mapping.size()) +
                      " is not a multiple of 4 KiB");
  if (payload.empty() || payload.size() > kPageTablesGpa - kPayloadGpa)
    return make_error("guest payload of " + std::to_string(payload.size()) +
                      " bytes does not fit its page");
  return {};
}

// The VM a run's vCPUs live in: KVM, the VM (the guest_memfd's own, or one made here), the boot
// slot holding the payload and page tables, and the RAM slot over the mapping. Members go in
// reverse order: memslots are deleted before the boot memory and the VM they belong to.
struct MicroVm {
  explicit MicroVm(KvmSystem s) : sys(std::move(s)) {}
  KvmSystem sys;
  std::optional<KvmVm> own_vm;
  int vm_fd = -1;
  int run_size = 0;         // KVM_GET_VCPU_MMAP_SIZE
  uint64_t tables_gpa = 0;  // CR3
  OwnedMap boot;
  OwnedMap reservation;  // userspace_addr of private memory that has no mapping of its own
  std::unique_ptr<SlotGuard> slots;
  std::vector<uint8_t> cpuid;
};

Result<std::unique_ptr<MicroVm>> open_vm(const Mapping& mapping) {
  auto sys = KvmSystem::open();
  if (!sys) {
    return sys.error().prefixed("no KVM: ");  // open() says whether KVM is absent here
  }
  auto vm = std::make_unique<MicroVm>(std::move(*sys));
  vm->run_size = ::ioctl(vm->sys.fd(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (vm->run_size <= 0) return errno_error("KVM_GET_VCPU_MMAP_SIZE");
  // A guest_memfd can only back a memslot of the VM it was created on.
  if (is_guest_memfd(mapping.kind())) {
    if (!mapping.vm()) return make_error("guest_memfd mapping carries no VM");
    vm->vm_fd = mapping.vm()->fd();
  } else {
    auto own = KvmVm::create(vm->sys);
    if (!own) return own.error();
    vm->own_vm.emplace(std::move(*own));
    vm->vm_fd = vm->own_vm->fd();
  }
  vm->slots = std::make_unique<SlotGuard>(vm->vm_fd);
  return vm;
}

// The boot slot (payload and identity page tables) and the RAM slot at kRamGpa over `mapping`.
Status set_memory(MicroVm& vm, Mapping& mapping, const std::vector<uint8_t>& payload,
                  uint64_t ram_uaddr) {
  auto tables = build_identity_page_tables(kPageTablesGpa, kRamGpa + mapping.size());
  if (!tables) return tables.error();
  vm.tables_gpa = tables->base_gpa;
  const uint64_t boot_size = (kPageTablesGpa + tables->bytes.size() + kGuestPageSize - 1) /
                             kGuestPageSize * kGuestPageSize;
  void* boot_addr =
      ::mmap(nullptr, boot_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (boot_addr == MAP_FAILED) return errno_error("mmap boot slot");
  vm.boot = OwnedMap(boot_addr, boot_size);
  std::memcpy(static_cast<char*>(boot_addr) + kPayloadGpa, payload.data(), payload.size());
  std::memcpy(static_cast<char*>(boot_addr) + kPageTablesGpa, tables->bytes.data(),
              tables->bytes.size());
  // Private memory without a mapping of its own: userspace_addr points at a reservation no
  // access can fault in (set_ram_slot).
  if (ram_uaddr == 0) {
    void* p = ::mmap(nullptr, mapping.size(), PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return errno_error("reserving the private range's userspace_addr");
    vm.reservation = OwnedMap(p, mapping.size());
    ram_uaddr = reinterpret_cast<uint64_t>(p);
  }
  kvm_userspace_memory_region boot_region{};
  boot_region.slot = kBootSlot;
  boot_region.guest_phys_addr = kBootSlotGpa;
  boot_region.memory_size = boot_size;
  boot_region.userspace_addr = reinterpret_cast<uint64_t>(boot_addr);
  if (::ioctl(vm.vm_fd, KVM_SET_USER_MEMORY_REGION, &boot_region) != 0)
    return errno_error("KVM_SET_USER_MEMORY_REGION for the boot slot");
  vm.slots->add(kBootSlot);
  if (auto s = set_ram_slot(vm.sys, vm.vm_fd, mapping, ram_uaddr); !s) return s.error();
  vm.slots->add(kRamSlot);
  auto cpuid = supported_cpuid(vm.sys);
  if (!cpuid) return cpuid.error();
  vm.cpuid = std::move(*cpuid);
  return {};
}

// vCPU `i` in long mode, its registers pointing the payload at its slice.
Status setup_vcpu(const MicroVm& vm, Vcpu& v, int i, const Slice& slice, int& next_id) {
  v.index = i;
  const std::string who = "vCPU " + std::to_string(i) + ": ";
  // A guest_memfd's VM outlives this call and KVM cannot destroy a vCPU, so a second touch of
  // the same mapping finds its ids taken; it skips to the next free ones.
  int fd;
  while ((fd = ::ioctl(vm.vm_fd, KVM_CREATE_VCPU, next_id)) < 0 && errno == EEXIST) ++next_id;
  if (fd < 0) return errno_error(who + "KVM_CREATE_VCPU id " + std::to_string(next_id));
  ++next_id;
  v.fd.reset(fd);
  void* run = ::mmap(nullptr, vm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (run == MAP_FAILED) return errno_error(who + "mmap kvm_run");
  v.run_map = OwnedMap(run, vm.run_size);
  if (::ioctl(fd, kvm::kIoctlSetCpuid2, vm.cpuid.data()) != 0)
    return errno_error(who + "KVM_SET_CPUID2");
  kvm_sregs sregs{};
  if (::ioctl(fd, KVM_GET_SREGS, &sregs) != 0) return errno_error(who + "KVM_GET_SREGS");
  set_long_mode(sregs, vm.tables_gpa);
  if (::ioctl(fd, KVM_SET_SREGS, &sregs) != 0) return errno_error(who + "KVM_SET_SREGS");
  VcpuStart start;
  start.first_gpa = kRamGpa + slice.offset;
  start.end_gpa = start.first_gpa + slice.bytes;
  start.word = static_cast<uint64_t>(i) + 1;
  start.index = static_cast<uint64_t>(i);
  kvm_regs regs = payload_regs(start);
  if (::ioctl(fd, KVM_SET_REGS, &regs) != 0) return errno_error(who + "KVM_SET_REGS");
  return {};
}

// What the vCPU threads came to.
struct VcpuRun {
  std::vector<VcpuOutcome> outcomes;
  Clock::time_point t0;  // when all were pinned and let go
};

// Every thread pins itself and reports ready; the clock starts when all are, so vCPU creation
// and thread start-up stay out of the populate time. The watchdog stops them at the deadline.
Result<VcpuRun> run_vcpu_threads(std::vector<Vcpu>& vcpus, const std::vector<Slice>& slices,
                                 const std::vector<int>& cpus, std::chrono::milliseconds timeout,
                                 const ThreadHook& hook) {
  const int n = static_cast<int>(vcpus.size());
  VcpuRun run;
  run.outcomes.resize(n);
  std::vector<std::optional<Error>> pin_errors(n);
  std::latch ready(n), go(1);
  std::atomic<bool> abort{false}, stop{false};
  Watchdog watchdog(n);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      unblock_kick_signal();
      if (auto s = pin_self(cpus[i]); !s) pin_errors[i] = s.error();
      if (!pin_errors[i])
        if (auto s = run_thread_hook(hook); !s) pin_errors[i] = s.error();
      ready.count_down();
      go.wait();
      if (!abort.load() && !pin_errors[i]) run_one(vcpus[i], slices[i], run.outcomes[i], stop);
      watchdog.finished(i);
    });
  }
  ready.wait();
  abort = std::any_of(pin_errors.begin(), pin_errors.end(), [](auto& e) { return e.has_value(); });
  run.t0 = Clock::now();
  go.count_down();
  watchdog.wait(run.t0 + timeout, vcpus, threads, stop);
  for (auto& t : threads) t.join();
  for (auto& e : pin_errors)
    if (e) return *e;
  for (auto& o : run.outcomes)
    if (o.error) return *o.error;
  return run;
}

// A vCPU that got to its HLT as the deadline passed was not stopped; only stopped ones count.
// The message says where each unfinished guest was when it was stopped: a loop shows as a RIP
// inside it.
std::optional<Error> timed_out(const VcpuRun& run, const std::vector<Vcpu>& vcpus,
                               std::chrono::milliseconds timeout) {
  const auto& o = run.outcomes;
  if (std::none_of(o.begin(), o.end(), [](auto& x) { return x.stopped; })) return std::nullopt;
  std::string msg = timed_out_message("vcpu", timeout);
  for (size_t i = 0; i < o.size(); ++i)
    if (o[i].stopped)
      msg += "; vCPU " + std::to_string(i) + " had not finished: " + vcpu_state(vcpus[i]);
  return make_error(msg, ErrorKind::kTimeout);
}

// Where the guest saw the range, and what each vCPU did with its slice (pages_written is the
// guest's own count, read from RCX at its done signal).
TouchStats touch_stats(const VcpuRun& run, const std::vector<Slice>& slices,
                       const std::vector<int>& cpus) {
  const int n = static_cast<int>(run.outcomes.size());
  TouchStats stats;
  stats.method = "vcpu_store";
  stats.cpus = cpus;
  Clock::time_point last = run.t0;
  nlohmann::json per_vcpu = nlohmann::json::array();
  double rate_sum = 0;
  for (int i = 0; i < n; ++i) {
    const VcpuOutcome& o = run.outcomes[i];
    last = std::max(last, o.done);
    const double secs = std::chrono::duration<double>(o.done - o.start).count();
    stats.per_thread_seconds.push_back(secs);
    const double rate = secs > 0 ? slices[i].bytes / secs : 0;
    rate_sum += rate;
    per_vcpu.push_back({{"index", i},
                        {"cpu", cpus[i]},
                        {"offset", slices[i].offset},
                        {"bytes", slices[i].bytes},
                        {"pages_written", o.pages_written},
                        {"seconds", secs},
                        {"bytes_per_second", rate}});
  }
  stats.extra = {
      {"ram_gpa", kRamGpa}, {"vcpus", per_vcpu}, {"per_vcpu_bytes_per_second", rate_sum / n}};
  stats.seconds = std::chrono::duration<double>(last - run.t0).count();
  return stats;
}

Result<TouchStats> run_vcpus_at(const Cell& cell, Mapping& mapping,
                                const std::vector<uint8_t>& payload, const std::string& sysfs_root,
                                uint64_t ram_uaddr,
                                std::optional<std::chrono::milliseconds> timeout_opt,
                                const ThreadHook& hook) {
  if (auto s = check_run_inputs(cell, mapping, payload); !s) return s.error();
  const int n = cell.threads;
  const std::chrono::milliseconds timeout = toucher_timeout_for(cell, timeout_opt);
  if (auto s = install_kick_handler(); !s) return s.error();
  auto cpus = choose_cpus(sysfs_root, cell.cpu_node, n);
  if (!cpus) return cpus.error();
  if (cpus->size() != static_cast<size_t>(n))
    return make_error("choose_cpus gave " + std::to_string(cpus->size()) + " CPUs for " +
                      std::to_string(n) + " vCPUs");
  auto vm = open_vm(mapping);
  if (!vm) return vm.error();
  if (auto s = set_memory(**vm, mapping, payload, ram_uaddr); !s) return s.error();
  const std::vector<Slice> slices = split_slices(mapping.size(), n);
  std::vector<Vcpu> vcpus(n);
  int next_id = 0;
  for (int i = 0; i < n; ++i)
    if (auto s = setup_vcpu(**vm, vcpus[i], i, slices[i], next_id); !s) return s.error();
  auto run = run_vcpu_threads(vcpus, slices, *cpus, timeout, hook);
  if (!run) return run.error();
  if (auto e = timed_out(*run, vcpus, timeout)) return *e;
  return touch_stats(*run, slices, *cpus);
}

}  // namespace

Result<TouchStats> run_vcpus(const Cell& cell, Mapping& mapping,
                             const std::vector<uint8_t>& payload, const std::string& sysfs_root,
                             std::optional<std::chrono::milliseconds> timeout,
                             const ThreadHook& hook) {
  return run_vcpus_at(cell, mapping, payload, sysfs_root,
                      reinterpret_cast<uint64_t>(mapping.addr()), timeout, hook);
}

std::vector<uint8_t> hang_payload() {
  return {0xeb, 0xfe};  // jmp $ (rel8 -2: back to itself)
}

Result<std::string> guest_memfd_fault_path() {
  auto gmem = create_backing(BackingKind::kGuestMemfd, kGuestPageSize);
  if (!gmem) return gmem.error();
  void* decoy_addr =
      ::mmap(nullptr, kGuestPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (decoy_addr == MAP_FAILED) return errno_error("mmap decoy page");
  OwnedMap decoy(decoy_addr, kGuestPageSize);
  Cell cell;
  cell.backing = BackingKind::kGuestMemfd;
  cell.size_bytes = kGuestPageSize;
  cell.threads = 1;
  auto stats = run_vcpus_at(cell, *gmem, touch_payload(), "",
                            reinterpret_cast<uint64_t>(decoy_addr), std::nullopt, {});
  if (!stats) return stats.error();
  // vCPU 0 stores 1. Reading the file's page afterwards may fault in a zero page; it is a
  // throwaway guest_memfd.
  auto view = gmem->map_again();
  if (!view) return view.error();
  uint64_t in_decoy, in_file;
  std::memcpy(&in_decoy, decoy_addr, sizeof in_decoy);
  std::memcpy(&in_file, view->addr(), sizeof in_file);
  if (in_file == 1 && in_decoy == 0) return std::string("guest_memfd");
  if (in_decoy == 1 && in_file == 0) return std::string("userspace_addr");
  return make_error("guest store landed in neither or both: file word " + hex_string(in_file) +
                    ", userspace_addr word " + hex_string(in_decoy));
}

namespace {

// For tests of the whole run path only: MEMPLACE_TEST_VCPU_GUEST=hang replaces the guest with
// hang_payload(), so a cell's vCPUs spin until the toucher's time limit. The resulting error names
// the variable, so a record it produced cannot pass for a real hang.
constexpr const char* kTestGuestVar = "MEMPLACE_TEST_VCPU_GUEST";

class VcpuToucher : public Toucher {
 public:
  VcpuToucher(std::string sysfs_root, std::optional<std::chrono::milliseconds> timeout)
      : sysfs_root_(std::move(sysfs_root)), timeout_(timeout) {}
  std::string name() const override { return "vcpu"; }
  Result<TouchStats> touch(const Cell& cell, Mapping& mapping) override {
    const char* test_guest = std::getenv(kTestGuestVar);
    if (test_guest && std::string(test_guest) == "hang") {
      auto stats = run_vcpus(cell, mapping, hang_payload(), sysfs_root_, timeout_, hook_);
      if (stats) return make_error(std::string(kTestGuestVar) + "=hang, yet the guest finished");
      Error e = stats.error();
      e.message += " (guest replaced by " + std::string(kTestGuestVar) + "=hang)";
      return e;
    }
    auto stats = run_vcpus(cell, mapping, touch_payload(), sysfs_root_, timeout_, hook_);
    if (stats && mapping.kind() == BackingKind::kGuestMemfd) {
      // Which allocation path the pages took: KVM's guest_memfd fault path, or the
      // guest_memfd's own mmap fault handler reached through userspace_addr.
      auto path = guest_memfd_fault_path();
      stats->extra["guest_memfd_fault_path"] = path ? *path : "unknown: " + path.error().describe();
    }
    return stats;
  }

 private:
  std::string sysfs_root_;
  std::optional<std::chrono::milliseconds> timeout_;
};

}  // namespace
}  // namespace vmm

std::unique_ptr<Toucher> make_vcpu_toucher(const std::string& sysfs_root,
                                           std::optional<std::chrono::milliseconds> timeout) {
  return std::make_unique<vmm::VcpuToucher>(sysfs_root, timeout);
}

}  // namespace memplace
