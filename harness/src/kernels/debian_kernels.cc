// SPDX-License-Identifier: GPL-2.0-only
#include "kernels/debian_kernels.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace memplace {

// Sample stanza:
//   Package: linux-binary-7.3.4+deb13-cloud-amd64
//   Version: 7.3.4-1~bpo13+1
//   Depends: linux-base-7.3.4+deb13-cloud-amd64 (= 7.3.4-1~bpo13+1)
//   Filename: pool/main/l/linux-signed-amd64/linux-binary-7.3.4+deb13-cloud-amd64_....deb
std::vector<DebPackage> parse_packages_index(std::string_view text, const std::string& suite) {
  std::vector<DebPackage> out;
  DebPackage cur;
  cur.suite = suite;
  auto flush = [&] {
    if (!cur.name.empty()) out.push_back(cur);
    cur = DebPackage{};
    cur.suite = suite;
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      flush();
      if (eol == text.size()) break;
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t') continue;  // continuation of a multi-line field
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (key == "Package")
      cur.name = value;
    else if (key == "Version")
      cur.version = value;
    else if (key == "Depends")
      cur.depends = value;
    else if (key == "Filename")
      cur.filename = value;
    if (eol == text.size()) break;
  }
  flush();
  return out;
}

namespace {

int order(char c) {
  if (std::isdigit(static_cast<unsigned char>(c))) return 0;
  if (std::isalpha(static_cast<unsigned char>(c))) return c;
  if (c == '~') return -1;
  if (c) return c + 256;
  return 0;
}

// The upstream/revision comparison of dpkg's verrevcmp.
int compare_fragment(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    int first_diff = 0;
    while ((i < a.size() && !std::isdigit(static_cast<unsigned char>(a[i]))) ||
           (j < b.size() && !std::isdigit(static_cast<unsigned char>(b[j])))) {
      int ac = i < a.size() ? order(a[i]) : 0;
      int bc = j < b.size() ? order(b[j]) : 0;
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    while (i < a.size() && j < b.size() && std::isdigit(static_cast<unsigned char>(a[i])) &&
           std::isdigit(static_cast<unsigned char>(b[j]))) {
      if (!first_diff) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    if (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i]))) return 1;
    if (j < b.size() && std::isdigit(static_cast<unsigned char>(b[j]))) return -1;
    if (first_diff) return first_diff;
  }
  return 0;
}

struct Split {
  long epoch = 0;
  std::string_view upstream, revision;
};

Split split_version(std::string_view v) {
  Split s;
  size_t colon = v.find(':');
  if (colon != std::string_view::npos) {
    s.epoch = std::strtol(std::string(v.substr(0, colon)).c_str(), nullptr, 10);
    v.remove_prefix(colon + 1);
  }
  size_t dash = v.rfind('-');
  if (dash != std::string_view::npos) {
    s.upstream = v.substr(0, dash);
    s.revision = v.substr(dash + 1);
  } else {
    s.upstream = v;
  }
  return s;
}

}  // namespace

int compare_debian_versions(std::string_view a, std::string_view b) {
  Split x = split_version(a), y = split_version(b);
  if (x.epoch != y.epoch) return x.epoch < y.epoch ? -1 : 1;
  int c = compare_fragment(x.upstream, y.upstream);
  if (c) return c < 0 ? -1 : 1;
  c = compare_fragment(x.revision, y.revision);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

std::vector<DebianKernel> list_debian_kernels(const std::vector<DebPackage>& packages,
                                              const std::string& flavour) {
  // Newest version of each package name across suites.
  std::map<std::string, const DebPackage*> newest;
  for (const auto& p : packages) {
    auto it = newest.find(p.name);
    if (it == newest.end() || compare_debian_versions(p.version, it->second->version) > 0) {
      newest[p.name] = &p;
    }
  }
  const std::string suffix = "-" + flavour;
  auto release_of = [&](const std::string& name, const std::string& prefix) -> std::string {
    if (name.rfind(prefix, 0) != 0) return "";
    if (name.size() <= prefix.size() + suffix.size()) return "";
    if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return "";
    std::string release = name.substr(prefix.size());
    if (!std::isdigit(static_cast<unsigned char>(release[0]))) return "";
    return release;
  };
  std::map<std::string, bool> releases;  // release -> seen
  for (const auto& [name, p] : newest) {
    for (const char* prefix : {"linux-image-", "linux-binary-"}) {
      std::string r = release_of(name, prefix);
      if (!r.empty()) releases[r] = true;
    }
  }

  std::vector<DebianKernel> out;
  for (const auto& [release, unused] : releases) {
    DebianKernel k;
    k.release = release;
    size_t cut = release.find_first_of("+-");
    k.upstream = release.substr(0, cut);
    auto find = [&](const std::string& name) -> const DebPackage* {
      auto it = newest.find(name);
      return it == newest.end() ? nullptr : it->second;
    };
    const DebPackage* image = find("linux-image-" + release);
    const DebPackage* binary = find("linux-binary-" + release);
    const DebPackage* modules = find("linux-modules-" + release);
    bool image_is_meta =
        image && image->depends.find("linux-binary-" + release) != std::string::npos;
    if (binary || image_is_meta) {
      k.split_layout = true;
      const DebPackage* any = binary ? binary : image;
      k.version = any->version;
      k.suite = any->suite;
      if (!binary) {
        k.unusable_reason = "linux-binary-" + release + " is not in the archive";
      } else if (!modules) {
        // Measured for 6.19-7.1: the index dropped linux-modules-R, the pool still has it.
        k.usable = true;
        k.packages = {binary->name + "=" + binary->version};
        k.pool_files = {pool_path("linux-modules-" + release, binary->version)};
      } else {
        k.usable = true;
        k.packages = {binary->name + "=" + binary->version, modules->name + "=" + modules->version};
      }
    } else {
      k.version = image->version;
      k.suite = image->suite;
      k.usable = true;
      k.packages = {image->name + "=" + image->version};
    }
    out.push_back(std::move(k));
  }
  std::sort(out.begin(), out.end(), [](const DebianKernel& a, const DebianKernel& b) {
    int c = compare_debian_versions(a.upstream, b.upstream);
    if (c != 0) return c > 0;
    return compare_debian_versions(a.version, b.version) > 0;
  });
  return out;
}

std::string pool_path(const std::string& name, const std::string& version) {
  const size_t colon = version.find(':');
  const std::string file_version = colon == std::string::npos ? version : version.substr(colon + 1);
  return "pool/main/l/linux/" + name + "_" + file_version + "_amd64.deb";
}

namespace {

bool matches(const DebianKernel& k, std::string_view wanted) {
  if (k.release == wanted || k.upstream == wanted) return true;
  // A prefix must stop at a component boundary: "7.3" matches 7.3.4, never 7.30.1.
  if (k.upstream.size() > wanted.size() && k.upstream.compare(0, wanted.size(), wanted) == 0 &&
      k.upstream[wanted.size()] == '.') {
    return true;
  }
  return false;
}

std::string join_upstreams(const std::vector<const DebianKernel*>& ks) {
  std::string s;
  for (const auto* k : ks) {
    if (!s.empty()) s += ", ";
    s += k->upstream;
  }
  return s;
}

}  // namespace

Result<DebianKernel> resolve_debian_kernel(const std::vector<DebianKernel>& kernels,
                                           std::string_view wanted) {
  if (wanted.empty()) {  // "debian:" alone: the newest usable one (the index is newest first)
    for (const auto& k : kernels)
      if (k.usable) return k;
    return make_error("debian:: no usable Debian cloud kernel in the archive");
  }
  std::vector<const DebianKernel*> usable, matched;
  for (const auto& k : kernels) {
    if (k.usable) usable.push_back(&k);
    if (matches(k, wanted)) {
      if (k.usable) return k;  // kernels are newest first
      matched.push_back(&k);
    }
  }
  std::string avail = usable.empty() ? "none" : join_upstreams(usable);
  if (matched.empty()) {
    return make_error("debian:" + std::string(wanted) +
                      ": no Debian cloud kernel matches; usable versions: " + avail);
  }
  std::string why;
  for (const auto* k : matched) why += "\n  " + k->upstream + ": " + k->unusable_reason;
  return make_error("debian:" + std::string(wanted) + ": no usable kernel matches:" + why +
                    "\nusable versions: " + avail);
}

}  // namespace memplace
