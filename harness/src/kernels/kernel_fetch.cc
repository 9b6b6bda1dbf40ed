// SPDX-License-Identifier: GPL-2.0-only
#include "kernels/kernel_fetch.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "base/files.h"
#include "base/subprocess.h"
#include "base/unique_fd.h"
#include "kernels/kernel_build.h"
#include "kernels/kernel_ref.h"

namespace memplace {

namespace fs = std::filesystem;

Result<std::string> memplace_cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg) return std::string(xdg) + "/memplace";
  const char* home = std::getenv("HOME");
  if (home && *home) return std::string(home) + "/.cache/memplace";
  // Not /tmp: a world-writable place someone else could have prepared for us.
  return make_error("no cache directory for kernels: set XDG_CACHE_HOME or HOME");
}

// The archive the private apt configuration reads, and pool files are fetched from.
constexpr const char* kDebianMirror = "http://deb.debian.org/debian";

std::string debian_sources_list() {
  const std::string m = kDebianMirror;
  return "deb " + m + " trixie main\ndeb " + m + " trixie-backports main\ndeb " + m + " sid main\n";
}

std::vector<std::string> private_apt_options(const std::string& apt_dir) {
  return {"-o", "Dir::Etc::SourceList=" + apt_dir + "/sources.list", "-o",
          "Dir::Etc::SourceParts=/dev/null", "-o", "Dir::Etc::Preferences=/dev/null", "-o",
          "Dir::Etc::PreferencesParts=/dev/null", "-o", "Dir::State=" + apt_dir + "/state", "-o",
          "Dir::State::status=" + apt_dir + "/state/status", "-o",
          "Dir::Cache=" + apt_dir + "/cache", "-o", "APT::Architecture=amd64", "-o",
          "APT::Architectures=amd64", "-o", "Acquire::Languages=none",
          // Downloads land in our own directories, which the _apt user may not be able to write.
          "-o", "APT::Sandbox::User=root",
          // A suite's Release file carries a Valid-Until date; a mirror or stored archive older
          // than that (sid's, seen 31 days past it on 2026-12-08) fails `apt-get update`, and
          // with it every kernel fetch, as does a clock behind the file's Date. This machine's
          // own apt is configured so; a fresh Debian root is not. Signatures are still checked.
          "-o", "Acquire::Check-Valid-Until=false", "-o", "Acquire::Check-Date=false", "-qq"};
}

namespace {

Result<std::string> cache_root(const KernelFetchOptions& o) {
  if (!o.cache_dir.empty()) return o.cache_dir;
  return memplace_cache_dir();
}

void say(const KernelFetchOptions& o, const std::string& line) {
  if (o.progress) std::fprintf(stderr, "[testbed] %s\n", line.c_str());
}

Status prepare_apt_dir(const std::string& apt_dir) {
  std::error_code ec;
  for (const char* d : {"state/lists/partial", "cache/archives/partial", "debs"}) {
    fs::create_directories(apt_dir + "/" + d, ec);
    if (ec) return make_error("mkdir " + apt_dir + "/" + d + ": " + ec.message());
  }
  if (!fs::exists(apt_dir + "/state/status")) {
    if (auto s = write_file(apt_dir + "/state/status", ""); !s) return s;
  }
  return write_file(apt_dir + "/sources.list", debian_sources_list());
}

struct IndexFile {
  std::string path, suite;
};

// `apt-get indextargets` names each index file and its codename:
//   /root/.cache/memplace/apt/state/lists/deb.debian.org_..._Packages.lz4 trixie-backports
Result<std::vector<IndexFile>> index_files(const std::string& apt_dir) {
  std::vector<std::string> argv = {"apt-get"};
  auto opts = private_apt_options(apt_dir);
  argv.insert(argv.end(), opts.begin(), opts.end());
  argv.insert(argv.end(),
              {"indextargets", "--format", "$(FILENAME) $(CODENAME)", "Identifier: Packages"});
  auto out = run_command_ok(argv);
  if (!out) return out.error();
  std::vector<IndexFile> files;
  std::istringstream in(*out);
  std::string path, suite;
  while (in >> path >> suite) {
    if (fs::exists(path)) files.push_back({path, suite});
  }
  return files;
}

bool indices_fresh(const std::vector<IndexFile>& files, int max_age_hours) {
  if (files.size() < 3) return false;
  auto now = fs::file_time_type::clock::now();
  for (const auto& f : files) {
    std::error_code ec;
    auto t = fs::last_write_time(f.path, ec);
    if (ec || now - t > std::chrono::hours(max_age_hours)) return false;
  }
  return true;
}

Status apt_update(const std::string& apt_dir) {
  std::vector<std::string> argv = {"apt-get"};
  auto opts = private_apt_options(apt_dir);
  argv.insert(argv.end(), opts.begin(), opts.end());
  argv.push_back("update");
  auto out = run_command_ok(argv);
  if (!out) return out.error();
  return {};
}

}  // namespace

namespace {

// Two memplace processes (or parallel tests) share the cache: one fetches, the other waits.
Result<UniqueFd> lock_cache(const std::string& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  UniqueFd fd(::open((root + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("open " + root + "/lock");
  while (flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return errno_error("flock " + root + "/lock");
  }
  return fd;
}

Result<std::vector<DebianKernel>> read_kernel_index(const std::string& root,
                                                    const KernelFetchOptions& options) {
  std::string apt_dir = root + "/apt";
  if (!options.offline) {
    if (auto s = prepare_apt_dir(apt_dir); !s) return s.error();
  } else if (!fs::exists(apt_dir + "/sources.list")) {
    return make_error("no Debian package index cached in " + apt_dir + " (offline)");
  }
  auto files = index_files(apt_dir);
  if (!files) return files.error();
  if (options.offline && files->empty()) {
    return make_error("no Debian package index cached in " + apt_dir + " (offline)");
  }
  if (!options.offline && !indices_fresh(*files, options.index_max_age_hours)) {
    say(options, "apt-get update (private configuration in " + apt_dir + ")");
    if (auto s = apt_update(apt_dir); !s) {
      // Offline with indices from an earlier run: they still name the cached kernels.
      if (files->empty()) return s.error();
      say(options,
          "apt-get update failed, using the indices already cached: " + s.error().describe());
    }
    files = index_files(apt_dir);
    if (!files) return files.error();
  }
  std::vector<DebPackage> packages;
  for (const auto& f : *files) {
    // apt keeps indices compressed (lz4 here); its helper decompresses whatever it chose.
    auto text = run_command_ok({"/usr/lib/apt/apt-helper", "cat-file", f.path});
    if (!text) return text.error();
    auto parsed = parse_packages_index(*text, f.suite);
    packages.insert(packages.end(), parsed.begin(), parsed.end());
  }
  return list_debian_kernels(packages);
}

// Offline (a dry run) creates nothing: no cache directory, no lock file.
Result<UniqueFd> lock_unless_offline(const std::string& root, const KernelFetchOptions& options) {
  if (options.offline) return UniqueFd();
  return lock_cache(root);
}

}  // namespace

Result<std::vector<DebianKernel>> debian_kernel_index(const KernelFetchOptions& options) {
  auto root = cache_root(options);
  if (!root) return root.error();
  auto lock = lock_unless_offline(*root, options);
  if (!lock) return lock.error();
  return read_kernel_index(*root, options);
}

namespace {

// After dpkg-deb -x, the image is /boot/vmlinuz-R (old layout) or /usr/lib/modules/R/vmlinuz.
std::string find_vmlinuz(const std::string& root, const std::string& release) {
  for (std::string p :
       {root + "/boot/vmlinuz-" + release, root + "/usr/lib/modules/" + release + "/vmlinuz",
        root + "/lib/modules/" + release + "/vmlinuz"}) {
    if (fs::exists(p)) return p;
  }
  return "";
}

std::string find_modules(const std::string& root, const std::string& release) {
  for (std::string p : {root + "/usr/lib/modules/" + release, root + "/lib/modules/" + release}) {
    if (fs::exists(p + "/kernel")) return p;
  }
  return "";
}

Result<KernelFiles> fetch_debian(const std::string& wanted, const KernelFetchOptions& options) {
  auto cache = cache_root(options);
  if (!cache) return cache.error();
  const std::string& root = *cache;
  auto lock = lock_unless_offline(root, options);
  if (!lock) return lock.error();
  auto index = read_kernel_index(root, options);
  if (!index) return index.error();
  auto kernel = resolve_debian_kernel(*index, wanted);
  if (!kernel) return kernel.error();

  std::string dir = root + "/kernels/" + kernel->release;
  std::string marker = dir + "/.complete-" + kernel->version;
  KernelFiles files;
  files.label = kernel->release;
  files.release = kernel->release;
  files.origin = "debian:" + kernel->release + " " + kernel->version + " (" + kernel->suite + ")";
  if (fs::exists(marker)) {
    files.vmlinuz = find_vmlinuz(dir + "/root", kernel->release);
    files.modules_dir = find_modules(dir + "/root", kernel->release);
    if (!files.vmlinuz.empty() && !files.modules_dir.empty()) return files;
  }

  if (options.offline) return make_error(files.origin + " is not in the cache (offline)");
  say(options, "fetching " + files.origin);
  std::string apt_dir = root + "/apt";
  std::string debs = apt_dir + "/debs";
  std::vector<std::string> argv = {"apt-get"};
  auto opts = private_apt_options(apt_dir);
  argv.insert(argv.end(), opts.begin(), opts.end());
  argv.push_back("download");
  argv.insert(argv.end(), kernel->packages.begin(), kernel->packages.end());
  // apt-get download writes into the current directory; run it through a shell-free chdir.
  std::vector<std::string> in_dir = {"env", "-C", debs};
  in_dir.insert(in_dir.end(), argv.begin(), argv.end());
  if (auto out = run_command_ok(in_dir); !out) return out.error();
  for (const std::string& pool : kernel->pool_files) {
    const std::string url = std::string(kDebianMirror) + "/" + pool;
    const std::string to = debs + "/" + pool.substr(pool.rfind('/') + 1);
    say(options, "fetching " + url + " (not in the index; the archive's pool still has it)");
    if (auto out = run_command_ok({"/usr/lib/apt/apt-helper", "download-file", url, to}); !out)
      return out.error().prefixed(files.origin + ": ");
  }

  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir + "/root", ec);
  if (ec) return make_error("mkdir " + dir + ": " + ec.message());
  std::vector<std::string> names;
  for (const auto& pkg : kernel->packages) names.push_back(pkg.substr(0, pkg.find('=')));
  for (const auto& pool : kernel->pool_files) {
    const std::string file = pool.substr(pool.rfind('/') + 1);
    names.push_back(file.substr(0, file.find('_')));
  }
  for (const std::string& name : names) {
    std::string deb;
    for (const auto& e : fs::directory_iterator(debs)) {
      std::string f = e.path().filename().string();
      if (f.rfind(name + "_", 0) == 0 && f.size() > 4 && f.substr(f.size() - 4) == ".deb") {
        deb = e.path().string();
      }
    }
    if (deb.empty()) return make_error("apt-get download produced no .deb for " + name);
    if (auto out = run_command_ok({"dpkg-deb", "-x", deb, dir + "/root"}); !out) {
      return out.error();
    }
    fs::remove(deb, ec);  // the extracted tree is the cache; the .deb is not needed again
  }
  files.vmlinuz = find_vmlinuz(dir + "/root", kernel->release);
  files.modules_dir = find_modules(dir + "/root", kernel->release);
  if (files.vmlinuz.empty()) return make_error("no vmlinuz in the packages of " + files.origin);
  if (files.modules_dir.empty()) return make_error("no modules in the packages of " + files.origin);
  if (auto s = write_file(marker, files.origin + "\n"); !s) return s.error();
  return files;
}

}  // namespace

namespace {

// "build:7.2 (linux-source-7.2 7.2.13-1 + no-gmem-policy.patch)", from what build.json says.
std::string build_origin(const KernelBuild& b) {
  auto str = [](const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string("?");
  };
  std::string s = "build:" + b.name + " (";
  auto src = b.info.find("source");
  if (src != b.info.end() && src->is_object())
    s += str(*src, "package") + " " + str(*src, "version");
  auto patches = b.info.find("patches");
  if (patches != b.info.end() && patches->is_array())
    for (const auto& p : *patches)
      if (p.is_object()) s += " + " + str(p, "file");
  return s + ")";
}

Result<KernelFiles> build_kernel(const std::string& name, const KernelFetchOptions& options) {
  auto cache = cache_root(options);
  if (!cache) return cache.error();
  auto b = load_kernel_build(*cache, name);
  if (!b) return b.error();
  KernelFiles files;
  files.label = b->name;
  files.release = b->release;
  files.vmlinuz = b->vmlinuz;
  files.modules_dir = b->modules_dir;
  files.origin = build_origin(*b);
  files.build_info = b->info;
  return files;
}

Result<KernelFiles> path_kernel(const std::string& path, const std::string& modules_dir) {
  std::error_code ec;
  fs::path image = fs::absolute(path, ec);
  if (ec || !fs::is_regular_file(image)) return make_error("kernel image not found: " + path);
  KernelFiles files;
  files.vmlinuz = image.string();
  files.label = image.filename().string();
  files.origin = image.string();
  if (!modules_dir.empty()) {
    fs::path m = fs::absolute(modules_dir, ec);
    if (ec || !fs::is_directory(m))
      return make_error("modules directory not found: " + modules_dir);
    files.modules_dir = m.string();
  }
  return files;
}

}  // namespace

Result<KernelFiles> fetch_kernel(const std::string& spec, const std::string& modules_dir,
                                 const KernelFetchOptions& options) {
  auto ref = parse_kernel_ref(spec);
  if (!ref) return ref.error();
  if (ref->kind == KernelRef::Kind::kPath) return path_kernel(ref->value, modules_dir);
  if (!modules_dir.empty())
    return make_error(spec + ": --modules applies only to a kernel given by path");
  if (ref->kind == KernelRef::Kind::kBuild) return build_kernel(ref->value, options);
  return fetch_debian(ref->value, options);
}

}  // namespace memplace
