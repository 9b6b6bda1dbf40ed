// SPDX-License-Identifier: GPL-2.0-only
// The trace source's window: a tracefs instance of memplace's own, the kmem events filtered to
// user memory and to the named tasks, a thread draining the per-CPU raw buffers while the touch
// runs, and the net pages per node once the window closes.
#include "placement/page_trace.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "base/text.h"
#include "host/sysfs.h"
#include "placement/trace_drainer.h"

namespace memplace {

namespace fs = std::filesystem;

uint64_t trace_buffer_kib_for(uint64_t expected_bytes) {
  const uint64_t events = 2 * (expected_bytes / 4096) + 4096;
  const uint64_t kib = events * 48 * 5 / 4 / 1024;
  return std::clamp<uint64_t>(kib, 1024, 64 * 1024);
}

namespace {

std::atomic<int> g_instance_sequence{0};

// The events the window records (system, name): the kmem pair is required; the migrate pair
// bounds each migrate_pages() call, so that a page moved is not counted as memory allocated.
const std::pair<std::string, std::string> kEvents[] = {{"kmem", "mm_page_alloc"},
                                                       {"kmem", "mm_page_free"},
                                                       {"kmem", "mm_page_free_batched"},
                                                       {"migrate", "mm_migrate_pages_start"},
                                                       {"migrate", "mm_migrate_pages"}};

Status write_tracefs_file(const std::string& path, const std::string& text, int flags = O_TRUNC) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | flags));
  if (!fd.valid()) return errno_error("open " + path);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return errno_error("write '" + text + "' to " + path);
  return {};
}

}  // namespace

// The mounted tracefs, else one mounted now at /sys/kernel/tracing. Errors are the reason the
// source is unsupported.
Result<std::string> locate_tracefs(const PageTraceOptions& o) {
  if (!o.tracefs.empty()) return o.tracefs;
  auto mountinfo = read_text_file(sys_path(o.root, "proc/self/mountinfo"));
  if (mountinfo) {
    LineCursor lines(*mountinfo);
    for (std::string_view line; lines.next(line);) {
      size_t dash = line.find(" - tracefs ");
      if (dash == std::string_view::npos) continue;
      // Field 5 is the mount point.
      std::string_view rest = line;
      for (int i = 0; i < 4; ++i) rest = rest.substr(std::min(rest.size(), rest.find(' ') + 1));
      return std::string(rest.substr(0, rest.find(' ')));
    }
  }
  // Mounting is for the live system only; a fixture tree is read as it is.
  if (!o.root.empty() && o.root != "/") return make_error("tracefs is not mounted under " + o.root);
  const std::string at = "/sys/kernel/tracing";
  if (::mount("nodev", at.c_str(), "tracefs", 0, nullptr) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENODEV) return make_error("this kernel has no tracefs");
    if (err == EPERM || err == EACCES)
      return make_error("tracefs is not mounted and memplace may not mount it (run as root)");
    return system_error(err, "mounting tracefs at " + at);
  }
  return at;
}

Result<uint64_t> read_gfp_hardwall(const std::string& tracefs) {
  auto format = read_text_file(tracefs + "/events/kmem/mm_page_alloc/format");
  if (!format) {
    if (format.error().err == EACCES || format.error().err == EPERM)
      return make_error("no permission to read tracefs at " + tracefs + " (run as root)");
    return make_error("tracefs at " + tracefs + " has no kmem:mm_page_alloc event");
  }
  auto hardwall = gfp_flag_value(*format, "__GFP_HARDWALL");
  if (!hardwall) return make_error("the mm_page_alloc format does not spell out __GFP_HARDWALL");
  return *hardwall;
}

namespace {

class TraceSource : public PlacementSource {
 public:
  explicit TraceSource(PageTraceOptions o) : o_(std::move(o)) {}
  ~TraceSource() override {
    if (started_) (void)stop();
    remove_instance();
  }
  std::string name() const override { return "trace"; }

  Status start() override {
    if (auto s = prepare(); !s) {
      unsupported_ = s.error().message;
      remove_instance();
      return s;
    }
    prefault_event_storage(events_, o_.expected_bytes);
    started_ = true;
    drainer_.start([this] { drain_all(); }, std::chrono::milliseconds(o_.drain_interval_ms));
    return {};
  }

  Status add_task(pid_t tid) override {
    std::lock_guard lock(mu_);
    if (!started_) return make_error("the trace window is not open");
    if (auto s = write_tracefs_file(dir_ + "/set_event_pid", std::to_string(tid) + "\n", O_APPEND);
        !s)
      return record_error(s.error());
    ++tasks_;
    // Only now, with a pid in set_event_pid: an empty list would trace every task.
    if (!tracing_) {
      if (auto s = write_tracefs_file(dir_ + "/tracing_on", "1"); !s)
        return record_error(s.error());
      tracing_ = true;
    }
    return {};
  }

  Status add_process(pid_t pid) override {
    // event-fork adds threads the listed ones create from now on; those that exist are listed
    // twice over, so one created between the two listings is not missed.
    if (auto s = add_task(pid); !s) return s;
    for (int pass = 0; pass < 2; ++pass) {
      std::error_code ec;
      for (const auto& e :
           fs::directory_iterator(sys_path(o_.root, "proc/" + std::to_string(pid) + "/task"), ec)) {
        long tid = std::strtol(e.path().filename().c_str(), nullptr, 10);
        if (tid > 0 && tid != pid) (void)add_task(static_cast<pid_t>(tid));
      }
    }
    return {};
  }

  SourceReading stop() override;

 private:
  Status prepare();
  Status open_cpu_buffers();
  void drain_all();
  SourceReading reading();
  void remove_instance();
  Status record_error(const Error& e) {
    if (error_.empty()) error_ = e.describe();
    return e;
  }

  PageTraceOptions o_;
  std::string tracefs_, dir_;
  std::string clock_;  // the instance's trace_clock: what orders the CPUs' events
  std::string unsupported_, error_;
  std::optional<PageEventDecoder> decoder_;
  std::optional<PfnNodeMap> pfn_map_;
  uint64_t hardwall_ = 0;
  uint64_t buffer_kib_ = 0;
  size_t read_size_ = 4096;
  std::vector<std::pair<int, UniqueFd>> cpus_;
  std::vector<char> page_;
  std::vector<PageEvent> events_;
  uint64_t other_events_ = 0, missed_pages_ = 0;
  int tasks_ = 0;
  bool started_ = false, tracing_ = false;
  std::mutex mu_;
  TraceDrainer drainer_;
};

Status TraceSource::prepare() {
  auto where = locate_tracefs(o_);
  if (!where) return where.error();
  tracefs_ = *where;
  std::map<std::string, std::string> formats;
  for (const auto& [system, ev] : kEvents) {
    auto text = read_text_file(tracefs_ + "/events/" + system + "/" + ev + "/format");
    if (text) {
      formats[ev] = *text;
    } else if (text.error().err == EACCES || text.error().err == EPERM) {
      // tracefs is root's (mode 0700): the events are there, memplace may not read them.
      return make_error("no permission to read tracefs at " + tracefs_ + " (run as root)");
    }
  }
  if (!formats.count("mm_page_alloc") || !formats.count("mm_page_free"))
    return make_error("tracefs at " + tracefs_ + " has no kmem:mm_page_alloc/mm_page_free events");
  auto header = read_text_file(tracefs_ + "/events/header_page");
  if (!header) return header.error().prefixed("reading events/header_page: ");
  auto decoder = PageEventDecoder::create(*header, formats);
  if (!decoder) return decoder.error();
  decoder_.emplace(std::move(*decoder));
  auto hardwall = gfp_flag_value(formats["mm_page_alloc"], "__GFP_HARDWALL");
  if (!hardwall) return make_error("the mm_page_alloc format does not spell out __GFP_HARDWALL");
  hardwall_ = *hardwall;
  auto map = read_pfn_node_map(o_.root);
  if (!map) return map.error().prefixed("mapping pfns to nodes: ");
  pfn_map_.emplace(std::move(*map));

  std::string dir = tracefs_ + "/instances/memplace-" + std::to_string(::getpid()) + "-" +
                    std::to_string(g_instance_sequence++);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EACCES || errno == EPERM)
      return make_error("no permission to create a tracefs instance (run as root)");
    return errno_error("creating tracefs instance " + dir);
  }
  dir_ = dir;
  buffer_kib_ = o_.buffer_kib ? o_.buffer_kib : trace_buffer_kib_for(o_.expected_bytes);
  // No event filter: the gfp test is made when tallying (page_tally.cc). A filtered event is
  // staged in a scratch buffer and copied, which cost more per page (3 % of a 1 GiB populate,
  // measured) than the page-table pages it would have kept out.
  for (auto [file, text] : std::initializer_list<std::pair<std::string, std::string>>{
           {"/tracing_on", "0"},
           {"/buffer_size_kb", std::to_string(buffer_kib_)},
           {"/options/overwrite", "0"},  // a full buffer drops new events and counts them
           {"/options/event-fork", "1"}}) {
    if (auto s = write_tracefs_file(dir_ + file, text); !s) return s;
  }
  // Events from several CPUs are merged by their stamps, so the stamp must be one for all CPUs.
  // "counter" is a global sequence: the exact order in which the events were written, and no
  // clock to read per event (in a VM that read was 4 % of a 1 GiB populate). Kernels without it
  // get a clock that is the same on every CPU.
  for (const char* clock : {"counter", "mono", "global"}) {
    if (clock_.empty() && write_tracefs_file(dir_ + "/trace_clock", clock)) clock_ = clock;
  }
  if (clock_.empty())
    return make_error("the tracefs instance takes none of the counter, mono and global clocks");
  for (const auto& [system, ev] : kEvents) {
    if (!formats.count(ev) || (system == "migrate" && !decoder_->decodes_migrations())) continue;
    if (auto s = write_tracefs_file(dir_ + "/events/" + system + "/" + ev + "/enable", "1"); !s)
      return s;
  }
  return open_cpu_buffers();
}

Status TraceSource::open_cpu_buffers() {
  auto subbuf = read_text_file(dir_ + "/buffer_subbuf_size_kb");
  read_size_ = subbuf ? std::max<size_t>(4096, std::strtoul(subbuf->c_str(), nullptr, 10) * 1024)
                      : static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  page_.assign(read_size_, 0);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ + "/per_cpu", ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind("cpu", 0) != 0) continue;
    int cpu = std::atoi(name.c_str() + 3);
    std::string pipe = e.path().string() + "/trace_pipe_raw";
    UniqueFd fd(::open(pipe.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) return errno_error("open " + pipe);
    cpus_.emplace_back(cpu, std::move(fd));
  }
  if (cpus_.empty()) return make_error("the tracefs instance has no per_cpu buffers");
  return {};
}

// Reads every CPU's buffer until it has nothing more to give.
void TraceSource::drain_all() {
  for (auto& [cpu, fd] : cpus_) {
    while (true) {
      ssize_t n = ::read(fd.get(), page_.data(), page_.size());
      if (n <= 0) break;
      auto r = decoder_->decode(page_.data(), static_cast<size_t>(n), events_);
      if (!r) {
        std::lock_guard lock(mu_);
        (void)record_error(r.error());
        break;
      }
      other_events_ += r->other;
      if (r->missed) ++missed_pages_;
    }
  }
}

SourceReading TraceSource::stop() {
  if (!started_) {
    return source_unsupported(unsupported_.empty() ? "the window was never opened" : unsupported_);
  }
  started_ = false;
  (void)write_tracefs_file(dir_ + "/tracing_on", "0");
  drainer_.stop();
  drain_all();
  SourceReading r = reading();
  remove_instance();
  return r;
}

SourceReading TraceSource::reading() {
  TraceWindowEvents w;
  w.events = std::move(events_);
  w.hardwall = hardwall_;
  w.migrations_traced = decoder_->decodes_migrations();
  w.tasks = tasks_;
  w.other_events = other_events_;
  w.detail = {{"transport", "tracefs"},
              {"buffer_kib", buffer_kib_},
              {"clock", clock_},
              {"cpus", cpus_.size()}};
  uint64_t lost = 0;
  nlohmann::json lost_by_cpu = nlohmann::json::object();
  for (const auto& [cpu, fd] : cpus_) {
    auto text = read_text_file(dir_ + "/per_cpu/cpu" + std::to_string(cpu) + "/stats");
    auto stats = text ? parse_cpu_buffer_stats(*text) : Result<CpuBufferStats>(text.error());
    if (!stats) {
      (void)record_error(stats.error());
      continue;
    }
    lost += stats->lost();
    if (stats->lost()) lost_by_cpu[std::to_string(cpu)] = stats->lost();
  }
  if (lost || missed_pages_) {
    w.detail["lost_events"] = lost_by_cpu;
    w.lost = std::to_string(lost) + " trace events lost (buffer of " + std::to_string(buffer_kib_) +
             " KiB per CPU); " + std::to_string(missed_pages_) +
             " ring-buffer pages flagged missed events";
  }
  w.error = error_;
  return trace_window_reading(w, *pfn_map_);
}

void TraceSource::remove_instance() {
  cpus_.clear();  // an instance with open buffers cannot be removed
  if (dir_.empty()) return;
  for (const auto& [system, ev] : kEvents)
    (void)write_tracefs_file(dir_ + "/events/" + system + "/" + ev + "/enable", "0");
  ::rmdir(dir_.c_str());
  dir_.clear();
}

}  // namespace

std::unique_ptr<PlacementSource> make_tracefs_trace_source(const PageTraceOptions& options) {
  return std::make_unique<TraceSource>(options);
}

}  // namespace memplace
