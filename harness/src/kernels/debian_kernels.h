// SPDX-License-Identifier: GPL-2.0-only
// Choosing a Debian cloud kernel from the archive's Packages indices. Pure: the indices are
// fetched elsewhere (kernel_fetch.cc), so resolution is tested on saved excerpts.
//
// Two package layouts exist:
//   linux-image-R            carries /boot/vmlinuz-R and /usr/lib/modules/R (up to 6.18)
//   linux-binary-R + linux-modules-R   the image is split; linux-image-R is a metapackage
// where R is the release, e.g. "7.3.4+deb13-cloud-amd64".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace memplace {

struct DebPackage {
  std::string name;
  std::string version;   // Debian version: "7.3.4-1~bpo13+1"
  std::string depends;   // raw Depends field
  std::string filename;  // pool path
  std::string suite;     // which index it came from: "trixie-backports"
};

// Parses a Packages index (RFC 822 stanzas). Only the fields above are kept.
std::vector<DebPackage> parse_packages_index(std::string_view text, const std::string& suite);

// dpkg's ordering of version strings (epoch, upstream, revision; '~' sorts before anything).
int compare_debian_versions(std::string_view a, std::string_view b);

struct DebianKernel {
  std::string upstream;  // "7.3.4"
  std::string release;   // "7.3.4+deb13-cloud-amd64", what uname -r prints
  std::string version;   // Debian package version
  std::string suite;
  bool split_layout = false;          // linux-binary + linux-modules
  std::vector<std::string> packages;  // "name=version", what apt-get download needs
  // Archive paths of packages the index no longer lists but the pool still serves (6.19-7.1's
  // linux-modules-R): fetched by path.
  std::vector<std::string> pool_files;
  bool usable = false;
  std::string unusable_reason;
};

// Where the archive keeps a package of `version` named `name` (the epoch is not in file names).
std::string pool_path(const std::string& name, const std::string& version);

// Every kernel of the flavour found in the indices, newest first. When a package appears in
// several suites the highest version wins.
std::vector<DebianKernel> list_debian_kernels(const std::vector<DebPackage>& packages,
                                              const std::string& flavour = "cloud-amd64");

// `wanted` is an upstream prefix ("7", "7.3", "6.18"), an exact upstream version ("7.3.4") or
// a release ("7.3.4+deb13-cloud-amd64"); "" means the newest usable kernel. Picks the newest
// usable match; the error lists the versions that would work.
Result<DebianKernel> resolve_debian_kernel(const std::vector<DebianKernel>& kernels,
                                           std::string_view wanted);

}  // namespace memplace
