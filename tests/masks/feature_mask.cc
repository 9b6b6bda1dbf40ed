// SPDX-License-Identifier: GPL-2.0-only
// feature_mask: runs a command on this host with one kernel feature hidden from outside the
// process, so the host suites can be run as they would on a machine that lacks it
// (tests/masks/run_masks.sh). Nothing in memplace knows about it: the probe and the product must
// find the feature missing the way they would anywhere else.
//   feature_mask --hide kvm|guest_memfd|guest_memfd_mmap|bpf|tracefs|memcg -- COMMAND [ARG...]
// kvm, tracefs and memcg are hidden in a private mount namespace (the host's mounts are not
// touched); the KVM capabilities and bpf() answer "no" through a seccomp filter. Needs root.
#include <dirent.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "host/kvm_uapi.h"  // the capability and ioctl numbers memplace asks

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "feature_mask: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(125);
}

// A private mount namespace in which `under` (and what is mounted below it) stops propagating to
// the host. In a chroot "/" is no mount point, so the tree the mask changes is made private.
void private_mounts(const char* under) {
  if (::unshare(CLONE_NEWNS) != 0) die("unshare(CLONE_NEWNS)");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0) return;
  if (::mount(nullptr, under, nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    die(std::string("make / and ") + under + " private");
}

// Lays a tmpfs over /dev holding everything the real /dev has but `hidden`: device nodes and
// files bound one by one, directories (pts, shm, ...) bound with their mounts, symlinks copied.
void hide_device(const char* hidden) {
  char real[] = "/tmp/memplace-mask-dev-XXXXXX";
  if (!::mkdtemp(real)) die("mkdtemp");
  if (::mount("/dev", real, nullptr, MS_BIND | MS_REC, nullptr) != 0) die("bind /dev");
  if (::mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=0755") != 0) die("tmpfs on /dev");
  DIR* d = ::opendir(real);
  if (!d) die("opendir");
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == ".." || name == hidden) continue;
    const std::string from = std::string(real) + "/" + name, to = "/dev/" + name;
    struct stat st;
    if (::lstat(from.c_str(), &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = ::readlink(from.c_str(), target, sizeof target - 1);
      if (n < 0) continue;
      target[n] = 0;
      if (::symlink(target, to.c_str()) != 0) die("symlink " + to);
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (::mkdir(to.c_str(), st.st_mode & 07777) != 0) die("mkdir " + to);
    } else {
      int fd = ::open(to.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
      if (fd < 0) die("create " + to);
      ::close(fd);
    }
    if (::mount(from.c_str(), to.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
      die("bind " + to);
  }
  ::closedir(d);
  if (::umount2(real, MNT_DETACH) != 0) die("umount the real /dev's copy");
  ::rmdir(real);
}

// Detaches every mount at or below `path` in this namespace (nothing if none is there).
void unmount_tree(const char* path) {
  if (::umount2(path, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    die(std::string("umount ") + path);
}

// The rules every filter starts from: whatever a rule does not name is allowed. Root keeps its
// setuid programs (no_new_privs off), which the tests that drop to nobody use.
scmp_filter_ctx new_filter() {
  scmp_filter_ctx ctx = ::seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) die("seccomp_init");
  if (::seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) != 0) die("seccomp no_new_privs off");
  return ctx;
}

void refuse(scmp_filter_ctx ctx, int err, int syscall) {
  if (::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), syscall, 0) != 0) die("seccomp rule");
}

// ioctl(fd, request, ...) answers -1/err for this request (the low 32 bits, as the kernel reads).
void refuse_ioctl(scmp_filter_ctx ctx, int err, unsigned long request) {
  if (::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), SCMP_SYS(ioctl), 1,
                         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, request & 0xffffffffu)) != 0)
    die("seccomp ioctl rule");
}

// KVM_CHECK_EXTENSION(cap) answers as a kernel without the capability: the product reads 0.
void refuse_capability(scmp_filter_ctx ctx, int cap) {
  if (::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(ioctl), 2,
                         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, KVM_CHECK_EXTENSION),
                         SCMP_A2(SCMP_CMP_EQ, static_cast<uint64_t>(cap))) != 0)
    die("seccomp capability rule");
}

namespace kvm = memplace::kvm;

void hide(const std::string& mask) {
  if (mask == "kvm") {
    private_mounts("/dev");
    hide_device("kvm");
    return;
  }
  if (mask == "tracefs" || mask == "memcg") {
    private_mounts("/sys");
    if (mask == "tracefs") {
      unmount_tree("/sys/kernel/tracing");
      unmount_tree("/sys/kernel/debug");
    } else {
      unmount_tree("/sys/fs/cgroup");
    }
  }
  scmp_filter_ctx ctx = new_filter();
  if (mask == "guest_memfd") {
    // A kernel before guest_memfd: no capability, no ioctl, no VM types beyond the default.
    for (int cap : {kvm::kCapGuestMemfd, kvm::kCapGuestMemfdFlags, kvm::kCapUserMemory2,
                    kvm::kCapMemoryAttributes, kvm::kCapVmTypes})
      refuse_capability(ctx, cap);
    refuse_ioctl(ctx, ENOTTY, kvm::kIoctlCreateGuestMemfd);
    refuse_ioctl(ctx, ENOTTY, kvm::kIoctlSetUserMemoryRegion2);
  } else if (mask == "guest_memfd_mmap") {
    refuse_capability(ctx, kvm::kCapGuestMemfdFlags);  // no GUEST_MEMFD_FLAG_MMAP, nor INIT_SHARED
  } else if (mask == "bpf") {
    refuse(ctx, EPERM, SCMP_SYS(bpf));
  } else if (mask == "tracefs" || mask == "memcg") {
    // Nothing in the command may mount it back.
    for (int sc : {SCMP_SYS(mount), SCMP_SYS(fsopen), SCMP_SYS(fsmount), SCMP_SYS(move_mount)})
      refuse(ctx, EPERM, sc);
  } else {
    std::fprintf(stderr,
                 "feature_mask: unknown mask '%s' (known: kvm, guest_memfd, "
                 "guest_memfd_mmap, bpf, tracefs, memcg)\n",
                 mask.c_str());
    std::exit(2);
  }
  if (::seccomp_load(ctx) != 0) die("seccomp_load");
  ::seccomp_release(ctx);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || std::strcmp(argv[1], "--hide") != 0 || std::strcmp(argv[3], "--") != 0) {
    std::fprintf(stderr, "usage: feature_mask --hide MASK -- COMMAND [ARG...]\n");
    return 2;
  }
  // No check of who we are: where a mount namespace or a seccomp filter cannot be made, the
  // call that fails says so and exits 125 (run_masks.sh: this host cannot mask; skipped).
  hide(argv[2]);
  ::execvp(argv[4], argv + 4);
  die(std::string("exec ") + argv[4]);
}
