// SPDX-License-Identifier: GPL-2.0-only
// The memory-cgroup source's window: create a child cgroup, move the named tasks in, read the
// per-node deltas of memory.numa_stat, move the tasks back, remove the child.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "host/sysfs.h"
#include "placement/memcg.h"

namespace memplace {

namespace fs = std::filesystem;

namespace {

Status write_id(const std::string& path, long id) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open " + path);
  std::string text = std::to_string(id);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return errno_error("write " + text + " to " + path);
  return {};
}

// Thread group of a thread, from /proc/<tid>/status.
Result<pid_t> tgid_of(const std::string& root, pid_t tid) {
  auto status = read_text_file(sys_path(root, "proc/" + std::to_string(tid) + "/status"));
  if (!status) return status.error();
  auto at = status->find("\nTgid:");
  if (at == std::string::npos) return make_error("no Tgid in /proc/" + std::to_string(tid));
  return static_cast<pid_t>(std::strtol(status->c_str() + at + 6, nullptr, 10));
}

// Directories this memplace made in an earlier run that died before removing them: the name
// carries the pid that made them. rmdir only succeeds on an empty cgroup.
void remove_stale_children(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind("memplace-", 0) != 0) continue;
    long pid = std::strtol(name.c_str() + 9, nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) ::rmdir(e.path().c_str());
  }
}

std::atomic<int> g_sequence{0};

class MemcgSource : public PlacementSource {
 public:
  MemcgSource(BackingKind backing, std::string root) : backing_(backing), root_(std::move(root)) {}
  ~MemcgSource() override {
    if (!dir_.empty()) (void)stop();
  }
  std::string name() const override { return "cgroup"; }

  Status start() override {
    auto mount = find_memcg(root_);
    if (!mount) return fail("no usable memory cgroup: " + mount.error().message);
    mount_ = *mount;
    if (mount_.version == MemcgVersion::kV2) {
      auto ctl = read_text_file(mount_.own_dir + "/cgroup.subtree_control");
      if (!ctl || ctl->find("memory") == std::string::npos)
        return fail("cgroup v2: memory is not enabled in " + mount_.own_dir +
                    "/cgroup.subtree_control, and memplace changes no cgroup it did not create");
    }
    remove_stale_children(mount_.own_dir);
    std::string dir = mount_.own_dir + "/memplace-" + std::to_string(::getpid()) + "-" +
                      std::to_string(g_sequence++);
    if (::mkdir(dir.c_str(), 0755) != 0)
      return fail(errno_error("creating the cell's memory cgroup " + dir).describe());
    dir_ = dir;
    auto before = read_stat();
    if (!before) return fail("reading " + dir_ + "/memory.numa_stat: " + before.error().describe());
    before_ = *before;
    return {};
  }

  Status add_task(pid_t tid) override {
    {
      // The whole thread group: memory is not a threaded controller in v2, and in both versions
      // anonymous and shmem faults are charged to the memcg of the mm's owner (the group
      // leader), not to the faulting thread's.
      auto pid = tgid_of(root_, tid);
      if (!pid) {
        std::lock_guard lock(mu_);
        return record_error(pid.error());
      }
      return add_process(*pid);
    }
  }

  Status add_process(pid_t pid) override { return move(pid, true); }

  SourceReading stop() override {
    std::lock_guard lock(mu_);
    if (dir_.empty())
      return source_unsupported(unsupported_.empty() ? "the window was never opened"
                                                     : unsupported_);
    auto after = read_stat();
    move_back();
    std::string left_behind = remove_dir();
    SourceReading r = reading(after);
    if (!left_behind.empty()) r.detail["left_behind"] = left_behind;
    return r;
  }

 private:
  struct Moved {
    pid_t id;
    bool process;
    std::string from;  // cgroup directory it came from
  };

  Status fail(std::string why) {
    unsupported_ = why;
    return make_error(std::move(why));
  }

  Result<NumaStat> read_stat() const {
    auto text = read_text_file(dir_ + "/memory.numa_stat");
    if (!text) return text.error();
    return parse_numa_stat(*text, mount_.version);
  }

  Status move(pid_t id, bool process) {
    std::lock_guard lock(mu_);
    if (dir_.empty()) return make_error("the cgroup window is not open");
    for (const auto& m : moved_)
      if (m.id == id && (m.process || !process)) return {};
    auto text = read_text_file(sys_path(root_, "proc/" + std::to_string(id) + "/cgroup"));
    auto path = text ? parse_proc_cgroup(*text, mount_.version) : Result<std::string>(text.error());
    if (!path) return record_error(path.error());
    std::string from = sys_path(mount_.mount_point, *path);
    auto s = write_id(dir_ + (process ? "/cgroup.procs" : "/tasks"), id);
    if (!s) return record_error(s.error());
    moved_.push_back({id, process, from});
    ++added_;
    return {};
  }
  Status record_error(const Error& e) {
    if (task_error_.empty()) task_error_ = e.describe();
    return e;
  }

  void move_back() {
    for (auto it = moved_.rbegin(); it != moved_.rend(); ++it)
      (void)write_id(it->from + (it->process ? "/cgroup.procs" : "/tasks"), it->id);
    moved_.clear();
  }

  // A thread that just exited can hold the cgroup for a moment; "" once it is gone.
  std::string remove_dir() {
    std::string dir = std::exchange(dir_, "");
    for (int i = 0; i < 100; ++i) {
      if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return dir + " (" + std::strerror(errno) + ")";
  }

  SourceReading reading(const Result<NumaStat>& after) const {
    const std::string counter = memcg_counter_for(backing_, mount_.version);
    nlohmann::json detail = {{"version", mount_.version == MemcgVersion::kV2 ? "v2" : "v1"},
                             {"counter", counter}};
    if (!after)
      return with(source_unsupported("reading memory.numa_stat: " + after.error().describe()),
                  detail);
    if (!task_error_.empty())
      return with(source_incomplete("a task could not be moved into the cgroup: " + task_error_),
                  detail);
    if (added_ == 0)
      return with(source_unsupported("no task was moved into the cgroup in the window"), detail);
    nlohmann::json deltas = nlohmann::json::object();
    std::map<int, uint64_t> pages;
    for (const auto& [name, nodes] : *after) {
      if (name.rfind("hierarchical_", 0) == 0) continue;
      nlohmann::json per_node = nlohmann::json::object();
      for (const auto& [node, now] : nodes) {
        uint64_t was = 0;
        if (auto c = before_.find(name); c != before_.end())
          if (auto n = c->second.find(node); n != c->second.end()) was = n->second;
        int64_t d = static_cast<int64_t>(now) - static_cast<int64_t>(was);
        per_node[std::to_string(node)] = d;
        if (name == counter) pages[node] = d > 0 ? static_cast<uint64_t>(d) : 0;
      }
      deltas[name] = per_node;
    }
    detail["deltas"] = deltas;
    if (!after->count(counter))
      return with(source_unsupported("memory.numa_stat has no '" + counter + "' counter"), detail);
    return with(source_ok(pages), detail);
  }
  static SourceReading with(SourceReading r, const nlohmann::json& detail) {
    r.detail = detail;
    return r;
  }

  BackingKind backing_;
  std::string root_;
  MemcgMount mount_;
  std::string dir_;
  std::string unsupported_;
  std::string task_error_;
  NumaStat before_;
  std::vector<Moved> moved_;
  int added_ = 0;
  std::mutex mu_;
};

}  // namespace

std::unique_ptr<PlacementSource> make_memcg_source(BackingKind backing, const std::string& root) {
  return std::make_unique<MemcgSource>(backing, root);
}

}  // namespace memplace
