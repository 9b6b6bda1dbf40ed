// SPDX-License-Identifier: GPL-2.0-only
// Loading, attaching and reading the trace source's BPF programs (page_events_bpf.h).
#include "placement/page_events_bpf.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "placement/bpf/page_events_record.h"

// The BPF object, compiled from bpf/page_events.bpf.c at build time (page_events_object.cc).
extern "C" const char memplace_page_events_bpf[];
extern "C" const char memplace_page_events_bpf_end[];

namespace memplace {

namespace {

static_assert(sizeof(memplace_page_event) == 32, "the record is laid out alike on both sides");

// libbpf reports why a load failed through its print callback only. The messages of the
// calling thread are kept (the tail of them), to become the error's text.
thread_local std::string t_libbpf_log;

int keep_libbpf_message(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[512];
  int n = std::vsnprintf(line, sizeof line, format, args);
  t_libbpf_log += line;
  if (t_libbpf_log.size() > 2048) t_libbpf_log.erase(0, t_libbpf_log.size() - 2048);
  return n;
}

std::string libbpf_log_tail() {
  std::string s = t_libbpf_log;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.size() > 400) s = "..." + s.substr(s.size() - 400);
  return s.empty() ? "" : " (libbpf: " + s + ")";
}

Error load_error(int err, const std::string& what) {
  if (err == EPERM || err == EACCES)
    return unsupported_error("no permission to load BPF programs (run as root)", err);
  if (err == ENOSYS) return unsupported_error("this kernel has no bpf()", err);
  return unsupported_error(what + libbpf_log_tail(), err);
}

PageEvent::Kind event_kind(uint32_t kind) {
  switch (kind) {
    case MEMPLACE_PAGE_FREE:
      return PageEvent::Kind::kFree;
    case MEMPLACE_MIGRATE_START:
      return PageEvent::Kind::kMigrateStart;
    case MEMPLACE_MIGRATE_END:
      return PageEvent::Kind::kMigrateEnd;
    default:
      return PageEvent::Kind::kAlloc;
  }
}

}  // namespace

std::optional<uint64_t> pfn_of_struct_page(uint64_t page, const StructPageLayout& layout) {
  if (layout.page_size == 0 || page < layout.vmemmap_base) return std::nullopt;
  const uint64_t offset = page - layout.vmemmap_base;
  if (offset % layout.page_size != 0) return std::nullopt;
  return offset / layout.page_size;
}

uint64_t bpf_ring_bytes(uint64_t kib) {
  // At least two batches' records (4 KiB and a header each): the ring must take one to work.
  uint64_t bytes = 8192;
  while (bytes < kib * 1024 && bytes < (uint64_t{256} << 20)) bytes <<= 1;
  return bytes;
}

uint64_t bpf_ring_bytes_for(uint64_t expected_bytes) {
  const uint64_t want = (2 * (expected_bytes / 4096) + 4096) * sizeof(memplace_page_event);
  return bpf_ring_bytes(std::max<uint64_t>(want / 1024, 1024));
}

struct BpfPageEvents::Impl {
  bpf_object* object = nullptr;
  std::vector<bpf_link*> links;
  ring_buffer* ring = nullptr;
  int tasks_fd = -1, batches_fd = -1, state_fd = -1;
  ~Impl() {
    for (bpf_link* l : links) bpf_link__destroy(l);
    if (ring) ring_buffer__free(ring);
    if (object) bpf_object__close(object);
  }
  void detach() {
    for (bpf_link* l : links) bpf_link__destroy(l);
    links.clear();
  }
  Result<memplace_page_events_state> state() const {
    memplace_page_events_state s{};
    const uint32_t zero = 0;
    if (bpf_map_lookup_elem(state_fd, &zero, &s) != 0) return errno_error("reading the BPF state");
    return s;
  }
};

BpfPageEvents::BpfPageEvents(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpfPageEvents::~BpfPageEvents() = default;

namespace {

// The maps the reader uses, found by name; the .bss map's name carries the object's as prefix.
Status find_maps(bpf_object* object, int& tasks, int& batches, int& state) {
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, object) {
    std::string name = bpf_map__name(map);
    if (name == "tasks") tasks = bpf_map__fd(map);
    if (name == "batches") batches = bpf_map__fd(map);
    if (name.size() >= 4 && name.compare(name.size() - 4, 4, ".bss") == 0) state = bpf_map__fd(map);
  }
  if (tasks < 0 || batches < 0 || state < 0)
    return make_error("the BPF object lacks one of its maps (tasks, batches, .bss)");
  return {};
}

}  // namespace

// Where struct pages sit, read by a program run once (BPF_PROG_TEST_RUN) and never attached.
Result<StructPageLayout> BpfPageEvents::read_struct_page_layout(const Impl& impl) {
  bpf_program* reader = bpf_object__find_program_by_name(impl.object, "read_layout");
  LIBBPF_OPTS(bpf_test_run_opts, run);
  if (!reader || bpf_prog_test_run_opts(bpf_program__fd(reader), &run) != 0)
    return load_error(errno, "running the layout program");
  auto state = impl.state();
  if (!state) return state.error();
  StructPageLayout layout{state->vmemmap_base, state->page_size, "kallsyms"};
  if (layout.vmemmap_base == 0) {
    // No such symbol: a kernel without the dynamic memory layout (no KASLR of the memory map,
    // no 5-level paging), whose struct pages start where x86-64's 4-level map puts them.
#if defined(__x86_64__)
    layout.vmemmap_base = 0xffffea0000000000ull;
    layout.vmemmap_base_from = "the x86-64 4-level default (no vmemmap_base in kallsyms)";
#else
    return unsupported_error("the kernel's vmemmap_base is not in /proc/kallsyms");
#endif
  }
  if (layout.page_size < 32 || layout.page_size > 512)
    return make_error("implausible sizeof(struct page) from BTF: " +
                      std::to_string(layout.page_size));
  return layout;
}

Result<std::unique_ptr<BpfPageEvents>> BpfPageEvents::load(uint64_t ring_bytes) {
  static std::once_flag print_once;
  std::call_once(print_once, [] { libbpf_set_print(keep_libbpf_message); });
  t_libbpf_log.clear();
  auto impl = std::make_unique<Impl>();
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .object_name = "memplace_pages");
  impl->object =
      bpf_object__open_mem(memplace_page_events_bpf,
                           memplace_page_events_bpf_end - memplace_page_events_bpf, &open_opts);
  if (!impl->object) return load_error(errno, "opening the BPF object");
  bpf_map* ring = bpf_object__find_map_by_name(impl->object, "events");
  if (!ring || bpf_map__set_max_entries(ring, static_cast<uint32_t>(ring_bytes)) != 0)
    return load_error(errno, "sizing the BPF ring buffer");
  if (int err = bpf_object__load(impl->object); err != 0)
    return load_error(-err, "loading the BPF programs");
  if (auto s = find_maps(impl->object, impl->tasks_fd, impl->batches_fd, impl->state_fd); !s)
    return s.error();
  auto layout = read_struct_page_layout(*impl);
  if (!layout) return layout.error();
  const int ring_fd = bpf_map__fd(ring);
  std::unique_ptr<BpfPageEvents> events(new BpfPageEvents(std::move(impl)));
  events->layout_ = *layout;
  events->ring_bytes_ = ring_bytes;
  auto on_record = [](void* self, void* data, size_t bytes) {
    static_cast<BpfPageEvents*>(self)->append(data, bytes);
    return 0;
  };
  events->impl_->ring = ring_buffer__new(ring_fd, on_record, events.get(), nullptr);
  if (!events->impl_->ring) return load_error(errno, "opening the BPF ring buffer");
  return events;
}

bpf_link* BpfPageEvents::attach_program(const char* program, const char* tracepoint) {
  bpf_program* p = bpf_object__find_program_by_name(impl_->object, program);
  if (!p) {
    errno = ENOENT;
    return nullptr;
  }
  return bpf_program__attach_raw_tracepoint(p, tracepoint);
}

namespace {

// A per-CPU map's value as bpf() reads and writes it: one copy per possible CPU, each padded to
// 8 bytes. Zeroed.
constexpr size_t kBatchStride = (sizeof(memplace_page_event_batch) + 7) / 8 * 8;
Result<std::vector<char>> per_cpu_batches() {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return system_error(-cpus, "counting the possible CPUs");
  return std::vector<char>(kBatchStride * static_cast<size_t>(cpus));
}

}  // namespace

// What a window before this one left in the maps: its tasks, partial batches and counters.
Status BpfPageEvents::clear_maps() {
  uint32_t key = 0;
  while (bpf_map_get_next_key(impl_->tasks_fd, nullptr, &key) == 0)
    if (bpf_map_delete_elem(impl_->tasks_fd, &key) != 0)
      return errno_error("clearing the BPF task map");
  auto zeros = per_cpu_batches();
  if (!zeros) return zeros.error();
  const uint32_t zero = 0;
  if (bpf_map_update_elem(impl_->batches_fd, &zero, zeros->data(), BPF_ANY) != 0)
    return errno_error("clearing the per-CPU BPF batches");
  auto state = impl_->state();
  if (!state) return state.error();
  state->sequence = state->lost = 0;
  if (bpf_map_update_elem(impl_->state_fd, &zero, &*state, BPF_ANY) != 0)
    return errno_error("clearing the BPF state");
  missed_before_ = cumulative_missed_runs();
  bad_pointers_ = 0;
  return {};
}

Status BpfPageEvents::attach() {
  if (auto s = clear_maps(); !s) return s;
  for (auto [program, tracepoint] :
       {std::pair{"page_alloc", "mm_page_alloc"}, std::pair{"page_free", "mm_page_free"}}) {
    bpf_link* link = attach_program(program, tracepoint);
    if (!link)
      return load_error(errno, std::string("attaching to the raw tracepoint ") + tracepoint);
    impl_->links.push_back(link);
  }
  // Optional: older kernels free page lists without this event (their frees are mm_page_free).
  if (bpf_link* link = attach_program("page_free_batched", "mm_page_free_batched"))
    impl_->links.push_back(link);
  // Both ends of a migrate_pages() call, or neither: half a pair would misread every migration.
  bpf_link* start = attach_program("migrate_start", "mm_migrate_pages_start");
  bpf_link* end = start ? attach_program("migrate_end", "mm_migrate_pages") : nullptr;
  migrations_ = start && end;
  if (migrations_) {
    impl_->links.push_back(start);
    impl_->links.push_back(end);
  } else if (start) {
    bpf_link__destroy(start);
  }
  return {};
}

Status BpfPageEvents::add_thread(pid_t tid) {
  const uint32_t key = static_cast<uint32_t>(tid), kind = MEMPLACE_TRACED_THREAD;
  if (bpf_map_update_elem(impl_->tasks_fd, &key, &kind, BPF_ANY) != 0)
    return errno_error("adding thread " + std::to_string(tid) + " to the BPF task map");
  return {};
}

Status BpfPageEvents::add_process(pid_t pid) {
  const uint32_t key = static_cast<uint32_t>(pid), kind = MEMPLACE_TRACED_PROCESS;
  if (bpf_map_update_elem(impl_->tasks_fd, &key, &kind, BPF_ANY) != 0)
    return errno_error("adding process " + std::to_string(pid) + " to the BPF task map");
  return {};
}

void BpfPageEvents::append(const void* records, size_t bytes) {
  const auto* e = static_cast<const memplace_page_event*>(records);
  for (size_t i = 0; i < bytes / sizeof *e; ++i) {
    PageEvent ev;
    ev.kind = event_kind(e[i].kind);
    ev.order = e[i].order;
    ev.gfp = e[i].gfp;
    ev.ts = e[i].sequence;
    ev.pid = static_cast<int>(e[i].pid);
    if (ev.kind == PageEvent::Kind::kAlloc || ev.kind == PageEvent::Kind::kFree) {
      auto pfn = pfn_of_struct_page(e[i].page, layout_);
      if (!pfn) {
        ++bad_pointers_;
        continue;
      }
      ev.pfn = *pfn;
    }
    sink_->push_back(ev);
  }
}

Status BpfPageEvents::drain(std::vector<PageEvent>& out) {
  sink_ = &out;
  int n = ring_buffer__consume(impl_->ring);
  sink_ = nullptr;
  if (n < 0) return system_error(-n, "reading the BPF ring buffer");
  return {};
}

Status BpfPageEvents::finish(std::vector<PageEvent>& out) {
  impl_->detach();
  if (auto s = drain(out); !s) return s;
  // The batches no CPU filled: every CPU's copy of the one per-CPU array entry.
  auto values = per_cpu_batches();
  if (!values) return values.error();
  const uint32_t zero = 0;
  if (bpf_map_lookup_elem(impl_->batches_fd, &zero, values->data()) != 0)
    return errno_error("reading the per-CPU BPF batches");
  sink_ = &out;
  for (size_t at = 0; at < values->size(); at += kBatchStride) {
    const auto* b = reinterpret_cast<const memplace_page_event_batch*>(values->data() + at);
    const uint32_t n = std::min<uint32_t>(b->count, MEMPLACE_PAGE_EVENT_BATCH);
    append(b->events, n * sizeof b->events[0]);
  }
  sink_ = nullptr;
  return {};
}

Result<uint64_t> BpfPageEvents::lost_events() const {
  auto s = impl_->state();
  if (!s) return s.error();
  return s->lost;
}

uint64_t BpfPageEvents::missed_runs() const {
  return cumulative_missed_runs() - missed_before_;
}

uint64_t BpfPageEvents::cumulative_missed_runs() const {
  uint64_t missed = 0;
  bpf_program* p = nullptr;
  bpf_object__for_each_program(p, impl_->object) {
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) == 0)
      missed += info.recursion_misses;
  }
  return missed;
}

}  // namespace memplace
