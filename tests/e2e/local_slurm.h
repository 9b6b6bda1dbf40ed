// SPDX-License-Identifier: GPL-2.0-only
// A one-node Slurm cluster on this machine for the tests: munged, slurmctld and slurmd started in
// a temporary directory with generated configs, 127.0.0.1 and free ports only. Every daemon is
// stopped by its pid when the object goes away, whatever the test did. start() says why when a
// daemon cannot start, so the test can skip with that reason.
#pragma once

#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/subprocess.h"
#include "golden.h"

namespace memplace::e2e {

class LocalSlurm {
 public:
  LocalSlurm() = default;
  LocalSlurm(const LocalSlurm&) = delete;
  LocalSlurm& operator=(const LocalSlurm&) = delete;
  ~LocalSlurm() { stop(); }

  // "" when the cluster is up (the node idle); otherwise why not.
  std::string start() {
    if (::geteuid() != 0) return "needs root to run slurmd and munged";
    for (const char* p : {"munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo"}) {
      // The daemons live in /usr/sbin, which a test's PATH may lack.
      std::string path = find_on_path(p);
      if (path.empty()) path = find_on_path(std::string("/usr/sbin/") + p);
      if (path.empty())
        return std::string(p) +
               " is not installed (scripts/install-deps.sh installs slurmctld, "
               "slurmd, slurm-client and munge)";
      programs_[p] = path;
    }
    // The daemons fork away from us; as their subreaper we can reap them when they stop.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (std::string why = make_dirs(); !why.empty()) return why;
    if (!pick_ports()) return "no two free TCP ports for slurmctld and slurmd";
    if (std::string why = start_munge(); !why.empty()) return why;
    write_conf();
    ::setenv("SLURM_CONF", conf().c_str(), 1);
    if (std::string why = start_daemon("slurmctld", ctld_pid_); !why.empty()) return why;
    if (std::string why = start_daemon("slurmd", slurmd_pid_); !why.empty()) return why;
    return wait_idle();
  }

  const std::string& dir() const { return dir_; }
  std::vector<pid_t> pids() const { return {munged_pid_, ctld_pid_, slurmd_pid_}; }
  // Stops every daemon by pid (also done on destruction); true when none is left.
  bool stop_all() {
    std::vector<pid_t> started = pids();
    stop();
    for (pid_t p : started)
      if (p > 0 && alive(p)) return false;
    return true;
  }
  std::string conf() const { return dir_ + "/slurm.conf"; }
  std::string node() const { return node_; }

  // squeue's state of a job ("PENDING", "RUNNING", "COMPLETED"...), "" once it left the queue.
  std::string job_state(const std::string& id) const {
    auto out = run_command({"squeue", "-h", "-j", id, "-o", "%T"});
    if (!out || out->exit_code != 0) return "";
    std::string s = out->out;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  // The daemons' logs, for a failing test's output.
  std::string log_tails() const {
    std::string out;
    for (const char* f : {"log/slurmctld.log", "log/slurmd.log", "munge/munged.log"})
      out += "--- " + std::string(f) + "\n" + tail(dir_ + "/" + f, 15);
    return out;
  }

 private:
  static std::string tail(const std::string& path, int lines) {
    std::string text = testing::slurp(path);
    size_t pos = text.size();
    for (int i = 0; i <= lines && pos != std::string::npos && pos > 0; ++i)
      pos = text.rfind('\n', pos - 1);
    return pos == std::string::npos ? text : text.substr(pos + 1);
  }
  static bool port_free(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_ANY);  // slurmctld and slurmd bind every address
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }
  // 16817/16818 first (Slurm's usual ports are 6817/6818), then pairs above them.
  bool pick_ports() {
    for (int p = 16817; p < 16817 + 400; p += 2) {
      if (port_free(p) && port_free(p + 1)) {
        ctld_port_ = p;
        slurmd_port_ = p + 1;
        return true;
      }
    }
    return false;
  }
  std::string make_dirs() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "memplace-slurm-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return "mkdtemp failed";
    dir_ = tmpl;
    // munged wants every directory above its socket searchable by all, its key dir private.
    std::filesystem::permissions(dir_, std::filesystem::perms(0711));
    for (const char* d : {"munge", "run", "state", "spool", "log"})
      std::filesystem::create_directory(dir_ + "/" + d);
    std::filesystem::permissions(dir_ + "/munge", std::filesystem::perms(0700));
    std::filesystem::permissions(dir_ + "/run", std::filesystem::perms(0755));
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    node_ = std::string(host).substr(0, std::string(host).find('.'));
    return "";
  }
  std::string start_munge() {
    std::string key = dir_ + "/munge/munge.key";
    {
      std::ifstream rnd("/dev/urandom", std::ios::binary);
      std::string bytes(1024, '\0');
      rnd.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      std::ofstream(key, std::ios::binary) << bytes;
    }
    std::filesystem::permissions(key, std::filesystem::perms(0400));
    auto r = run_command(
        {programs_["munged"], "--key-file=" + key, "--socket=" + dir_ + "/run/munge.sock",
         "--pid-file=" + dir_ + "/run/munged.pid", "--log-file=" + dir_ + "/munge/munged.log",
         "--seed-file=" + dir_ + "/munge/munge.seed"});
    if (!r || r->exit_code != 0)
      return "munged did not start: " + (r ? r->err : r.error().describe()) +
             tail(dir_ + "/munge/munged.log", 3);
    return wait_pid_file("munged", munged_pid_);
  }
  void write_conf() {
    struct sysinfo si {};
    ::sysinfo(&si);
    uint64_t mem_mib = static_cast<uint64_t>(si.totalram) * si.mem_unit / (1 << 20) / 2;
    std::ofstream c(conf());
    c << "ClusterName=memplacetest\nSlurmctldHost=" << node_ << "(127.0.0.1)\n"
      << "SlurmctldPort=" << ctld_port_ << "\nSlurmdPort=" << slurmd_port_ << "\n"
      << "AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket=" << dir_ << "/run/munge.sock\n"
      << "SlurmUser=root\nSlurmdUser=root\nStateSaveLocation=" << dir_ << "/state\n"
      << "SlurmdSpoolDir=" << dir_ << "/spool\nSlurmctldPidFile=" << dir_ << "/run/slurmctld.pid\n"
      << "SlurmdPidFile=" << dir_ << "/run/slurmd.pid\nSlurmctldLogFile=" << dir_
      << "/log/slurmctld.log\nSlurmdLogFile=" << dir_ << "/log/slurmd.log\n"
      << "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
      << "SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\nMpiDefault=none\n"
      << "ReturnToService=2\nAccountingStorageType=accounting_storage/none\n"
      << "JobCompType=jobcomp/none\nJobAcctGatherType=jobacct_gather/none\n"
      << "NodeName=" << node_ << " NodeAddr=127.0.0.1 CPUs=" << ::sysconf(_SC_NPROCESSORS_ONLN)
      << " RealMemory=" << mem_mib << " State=UNKNOWN\n"
      << "PartitionName=main Nodes=" << node_ << " Default=YES MaxTime=INFINITE State=UP\n";
  }
  std::string start_daemon(const std::string& name, pid_t& pid) {
    auto r = run_command({programs_[name], "-f", conf()});
    if (!r || r->exit_code != 0)
      return name + " did not start: " + (r ? r->err : r.error().describe()) + log_tails();
    return wait_pid_file(name, pid);
  }
  std::string wait_pid_file(const std::string& name, pid_t& pid) {
    for (int i = 0; i < 100; ++i) {
      std::string text = testing::slurp(dir_ + "/run/" + name + ".pid");
      if (!text.empty() && std::atoi(text.c_str()) > 0) {
        pid = std::atoi(text.c_str());
        return "";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return name + " wrote no pid file within 10 s\n" + log_tails();
  }
  std::string wait_idle() {
    for (int i = 0; i < 60; ++i) {
      auto r = run_command({"sinfo", "-h", "-n", node_, "-o", "%t"});
      if (r && r->exit_code == 0 && r->out.rfind("idle", 0) == 0) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return "the node did not become idle within 30 s\n" + log_tails();
  }
  static bool alive(pid_t pid) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return false;
    if (::kill(pid, 0) != 0) return false;
    // Daemons are not our children; one its new parent has not reaped yet is gone all the same.
    std::string stat = testing::slurp("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
  }
  static void stop_pid(pid_t pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 100 && alive(pid); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (alive(pid)) ::kill(pid, SIGKILL);
  }
  void stop() {
    if (ctld_pid_ > 0)
      (void)run_command({"scancel", "--full", "-u", "root"});  // no job outlives us
    stop_pid(slurmd_pid_);
    stop_pid(ctld_pid_);
    stop_pid(munged_pid_);
    slurmd_pid_ = ctld_pid_ = munged_pid_ = 0;
    // Daemonizing leaves exited middle processes (of the daemons and of slurmstepd) with us,
    // their subreaper: reap them too.
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    if (!dir_.empty() && !std::getenv("MEMPLACE_KEEP_SLURM")) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  std::map<std::string, std::string> programs_;
  std::string dir_, node_;
  int ctld_port_ = 0, slurmd_port_ = 0;
  pid_t munged_pid_ = 0, ctld_pid_ = 0, slurmd_pid_ = 0;
};

}  // namespace memplace::e2e
