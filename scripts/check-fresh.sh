#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2317  # functions run through `phase` and traps look unreachable to it
# `make check-fresh`: the test suite on a fresh Debian 12, where nothing but
# scripts/install-deps.sh has installed anything. A package the code or its tests need but the
# installer lacks then fails here, instead of on a new user's machine.
#
#   scripts/check-fresh.sh                  clone HEAD; install-deps.sh, `make build`, `make test`
#   scripts/check-fresh.sh --prebuilt DIR   install-deps.sh, a CMake configure, then the tests of
#                                           the build DIR (made on this host, inside the worktree)
#   scripts/check-fresh.sh --experiment     clone HEAD; `make experiment`, as a new user's first
#                                           command (its own packages, build, kernels, runs)
#   scripts/check-fresh.sh --deb FILE       `make check-deb`: apt installs the package FILE and
#                                           tests/install/deb_install_check.sh uses it (no clone,
#                                           no install-deps.sh: only the package's dependencies;
#                                           its qemu step fetches a Debian kernel)
#
# It debootstraps a minimal bookworm (cached as a tarball, so later runs skip debootstrap; every
# run unpacks a pristine copy) and runs the phases in a chroot with /proc, /sys and /dev bound.
# --prebuilt is the cheap CI guard: it builds nothing, so it catches what CMake looks for and
# what the chosen tests load or run (libraries, plugins, tools), not a header no CMake check
# names. Mounts, processes and the root are removed on exit, failure or signal.
# Environment:
#   FRESH_CTEST="args"  run `ctest ARGS` (e.g. "-R XmlTopology", "-LE emulated") instead of
#                       `make test`; a selection that matches no test fails
#   FRESH_TARGETS="a b" build only these targets
#   FRESH_CACHE=dir     base tarball cache (default ~/.cache/memplace/fresh)
#   FRESH_WORK=dir      where the root is unpacked (default /var/tmp)
#   FRESH_VARIANT=v     debootstrap variant (default minbase: only Essential and apt)
#   FRESH_REFRESH=1     debootstrap again even when the tarball is cached
#   FRESH_TMPFS=size    unpack the root into a tmpfs of this size (e.g. 10G): faster unpacking
#                       and removal, at the cost of that much memory at the end of a full run
#   JOBS=n              build and ctest parallelism inside (default nproc)
# Exit: 0 passed, 1 a phase failed inside the root, 2 bad usage, 3 environment failure,
# 128+N interrupted by signal N.
set -euo pipefail

suite=bookworm
variant=${FRESH_VARIANT:-minbase}
cache=${FRESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memplace/fresh}
work=${FRESH_WORK:-/var/tmp}
jobs=${JOBS:-$(nproc)}
ctest_args=${FRESH_CTEST:-}
targets=${FRESH_TARGETS:-}
repo=$(cd "$(dirname "$0")/.." && pwd)
src=/root/memplace  # the tree inside the root: a clone, or with --prebuilt $repo itself
prebuilt=""
experiment=0    # --experiment: `make experiment` instead of the tests
deb=""          # --deb FILE: the package to install and check instead of the tests

roots=()        # directories this run created and must dispose of
phase_pid=""    # process group of the running phase
phase_name="" phase_start=""
report=()       # "phase seconds status" lines for the summary
root=""

say() { echo "check-fresh: $*" >&2; }
die() { local code=$1; shift; say "$*"; exit "$code"; }

usage_checks() {
  case "${1:-}" in
    "") ;;
    --prebuilt)
      [[ $# -eq 2 && -f $2/CTestTestfile.cmake ]] ||
        die 2 "usage: check-fresh.sh [--prebuilt BUILD_DIR] (a configured, built CMake tree)"
      prebuilt=$(realpath "$2") src=$repo
      [[ $prebuilt == "$repo"/* ]] || die 2 "--prebuilt: $prebuilt is not inside $repo"
      [[ -n $ctest_args ]] || ctest_args="-LE emulated" ;;
    --experiment) experiment=1 ;;
    --deb)
      [[ $# -eq 2 && -f $2 && $2 == *.deb ]] || die 2 "usage: check-fresh.sh --deb FILE.deb"
      # Not under /root: apt's _apt user must be able to read a local package.
      deb=$(realpath "$2") src=/srv/memplace-deb ;;
    *) die 2 "usage: check-fresh.sh [--prebuilt BUILD_DIR | --experiment | --deb FILE.deb]" ;;
  esac
  [[ $(id -u) -eq 0 ]] || die 3 "must run as root (debootstrap, chroot and mounts need it)"
  local tool
  for tool in debootstrap chroot git tar mount umount; do
    command -v "$tool" >/dev/null ||
      die 3 "$tool not found; install it (debootstrap: apt-get install debootstrap)"
  done
  [[ -d $work ]] || die 2 "FRESH_WORK=$work is not a directory"
}

# The mirror this machine's apt uses for bookworm: the first URI of a deb822 stanza (or a
# one-line entry) naming the suite. Falls back to Debian's own redirector.
host_mirror() {
  local f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    uri=$(awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
      { u = ""; hit = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { split($i, w, /[ \t]+/); u = w[2] }
          if ($i ~ /^Suites:/ && (" " $i " ") ~ (" " s " ")) hit = 1
        }
        if (hit && u != "") { print u; exit } }' "$f")
    [[ -n $uri ]] && break
  done
  if [[ -z $uri && -r /etc/apt/sources.list ]]; then
    uri=$(awk -v s="$suite" '$1 == "deb" { for (i = 2; i < NF; i++) if ($i !~ /^\[|\]$|=/ ) {
      if ($(i + 1) == s) { print $i; exit } break } }' /etc/apt/sources.list)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# The host's Debian source stanzas for this suite family (bookworm, -updates, -security), so
# the root installs the same versions a `apt-get install` here would.
host_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    awk -v s="$suite" 'BEGIN { RS = ""; ORS = "\n\n" } $0 ~ ("Suites:[^\n]*" s) { print }' "$f"
  done
}

now_us() { echo "${EPOCHREALTIME/./}"; }

# CPU seconds (user + system) of every child this shell has waited for: fields 16 and 17 of
# /proc/PID/stat. On a shared machine this says what a phase costs better than wall time does.
children_cpu() {
  local stat f
  read -r stat <"/proc/$$/stat"
  read -r -a f <<<"${stat##*) }"
  awk -v t="$(( f[13] + f[14] ))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }'
}

elapsed() {  # elapsed START_US: seconds since, one decimal
  awk -v a="$1" -v b="$(now_us)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'
}

# phase NAME CMD...: runs CMD timed, as a job in its own process group (main sets -m) that
# cleanup can end as a whole; `wait` returns early on a signal, so the traps act at once.
phase() {
  local name=$1; shift
  local start cpu0 rc=0 cpu
  start=$(now_us)
  cpu0=$(children_cpu)
  say "== $name"
  "$@" </dev/null &
  phase_pid=$! phase_name=$name phase_start=$start
  wait "$phase_pid" || rc=$?
  phase_pid=""
  cpu=$(awk -v a="$cpu0" -v b="$(children_cpu)" 'BEGIN { printf "%.1f", b - a }')
  report+=("$name $(elapsed "$start") $cpu $([[ $rc -eq 0 ]] && echo ok || echo "failed(exit=$rc)")")
  return "$rc"
}

# Everything mounted at or below DIR, deepest first.
mounts_under() {
  awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print length($5), $5 }' /proc/self/mountinfo |
    sort -rn | cut -d' ' -f2-
}

kill_processes_in() {
  local dir=$1 sig p pids
  for sig in TERM KILL; do
    pids=()
    for p in /proc/[0-9]*; do
      [[ $(readlink "$p/root" 2>/dev/null) == "$dir" ]] && pids+=("${p#/proc/}")
    done
    [[ ${#pids[@]} -eq 0 ]] && return 0
    say "sending SIG$sig to ${#pids[@]} process(es) left in $dir"
    kill -s "$sig" "${pids[@]}" 2>/dev/null || true
    sleep 2
  done
}

dispose_root() {
  local dir=$1 m
  [[ -d $dir ]] || return 0
  kill_processes_in "$dir"
  while read -r m; do
    [[ -n $m ]] && { umount "$m" 2>/dev/null || umount -l "$m" || true; }
  done < <(mounts_under "$dir")
  if [[ -n $(mounts_under "$dir") ]]; then
    say "NOT removing $dir: still mounted:"; mounts_under "$dir" >&2
    return 1
  fi
  rm -rf --one-file-system "$dir"
}

print_report() {
  local line name secs cpu status total=0 total_cpu=0
  [[ ${#report[@]} -eq 0 ]] && return 0
  say "phase timings (seconds; cpu = user + system of the phase's processes):"
  printf '  %-14s %8s %8s\n' phase wall cpu >&2
  for line in "${report[@]}"; do
    read -r name secs cpu status <<<"$line"
    printf '  %-14s %8s %8s  %s\n' "$name" "$secs" "$cpu" "$status" >&2
    total=$(awk -v a="$total" -v b="$secs" 'BEGIN { print a + b }')
    total_cpu=$(awk -v a="$total_cpu" -v b="$cpu" 'BEGIN { print a + b }')
  done
  printf '  %-14s %8s %8s\n' total "$total" "$total_cpu" >&2
}

cleanup() {
  local rc=$? dir start
  trap - EXIT INT TERM HUP
  set +e  # one failed step must not skip the rest of the cleanup
  if [[ -n $phase_pid ]]; then
    kill -TERM -- "-$phase_pid" 2>/dev/null
    report+=("$phase_name $(elapsed "$phase_start") - interrupted")
  fi
  start=$(now_us)
  for dir in "${roots[@]}"; do
    dispose_root "$dir" || { [[ $rc -ne 0 ]] || rc=3; }
  done
  [[ ${#roots[@]} -eq 0 ]] || report+=("cleanup $(elapsed "$start") - ok")
  print_report
  exit "$rc"
}

on_signal() { say "interrupted (signal $(($1 - 128))); cleaning up"; exit "$1"; }

new_dir() {  # new_dir PREFIX VAR: VAR = a fresh directory under $work that cleanup disposes of
  local d
  d=$(mktemp -d "$work/$1.XXXXXX") || die 3 "cannot create a directory in $work"
  d=$(realpath "$d")
  roots+=("$d")
  printf -v "$2" '%s' "$d"
}

debootstrap_base() {  # debootstrap_base DIR TARBALL
  local dir=$1 tarball=$2 mirror
  mirror=$(host_mirror)
  say "debootstrap --variant=$variant $suite from $mirror"
  debootstrap --variant="$variant" --arch=amd64 "$suite" "$dir" "$mirror" >&2 ||
    { say "debootstrap failed (log: $dir/debootstrap/debootstrap.log)"; return 3; }
  tar --numeric-owner --one-file-system -C "$dir" -cf "$tarball.part.$$" . &&
    mv "$tarball.part.$$" "$tarball"
}

# Base system: debootstrap once into the cache, then a pristine unpacked copy every run.
prepare_base() {
  local tarball=$cache/$suite-$variant-amd64.tar base
  mkdir -p "$cache"
  if [[ ! -s $tarball || ${FRESH_REFRESH:-0} == 1 ]]; then
    new_dir memplace-base base
    phase debootstrap debootstrap_base "$base" "$tarball" || exit 3
    dispose_root "$base" || exit 3
  else
    say "base: $tarball (cached; FRESH_REFRESH=1 debootstraps again)"
  fi
  new_dir memplace-fresh root
  if [[ -n ${FRESH_TMPFS:-} ]]; then
    mount -t tmpfs -o "size=$FRESH_TMPFS,mode=755" tmpfs "$root" || exit 3
  fi
  phase unpack tar --numeric-owner -C "$root" -xpf "$tarball" || exit 3
  # mktemp made both this directory and the tarball's "." 0700; users such as _apt and munge
  # must be able to reach / in the root.
  chmod 755 "$root"
}

# Apt in the root sees the host's Debian sources (the same mirror and suites) and DNS, and
# starts no services: a daemon a package's postinst started would outlive its phase. dpkg skips
# its fsyncs, which only protect against a crash, and a crashed root is thrown away anyway.
configure_root() {
  local sources
  sources=$(host_sources)
  if [[ -n $sources ]]; then  # else debootstrap's one-line sources.list (bookworm main) stays
    rm -f "$root/etc/apt/sources.list" &&
      printf '%s\n' "$sources" >"$root/etc/apt/sources.list.d/debian.sources" || return 1
  fi
  cp -L /etc/resolv.conf "$root/etc/resolv.conf" &&
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" &&
    chmod 755 "$root/usr/sbin/policy-rc.d" &&
    echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/memplace-fresh-unsafe-io"
}

mount_root() {
  mount -t proc proc "$root/proc" &&
    mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" &&
    mount --bind /dev "$root/dev" && mount --bind /dev/pts "$root/dev/pts" &&
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm" || return 1
  [[ -n $prebuilt ]] || return 0
  # The tree at its own path, since the build has absolute paths compiled in; read-only but for
  # the build dir, so nothing in the root can change the sources it checks.
  mkdir -p "$root$repo" && mount --bind "$repo" "$root$repo" &&
    mount -o remount,bind,ro "$root$repo" && mount --bind "$prebuilt" "$root$prebuilt"
}

# A clone, as a user would start from, checked out at this worktree's HEAD (even a detached
# one). Uncommitted changes are not part of the check.
copy_source() {
  local dest=$root$src
  git clone --quiet --no-hardlinks --no-checkout "$repo" "$dest"
  git -C "$dest" fetch --quiet "$repo" HEAD
  git -C "$dest" checkout --quiet --detach FETCH_HEAD
  say "source: $(git -C "$dest" log --oneline -1)"
  [[ -z $(git -C "$repo" status --porcelain --untracked-files=no) ]] ||
    say "note: uncommitted changes in $repo are not part of this check"
}

# The package and the script that checks it, from this worktree (uncommitted edits included).
copy_deb() {
  mkdir -p "$root$src" &&
    cp "$deb" "$repo/tests/install/deb_install_check.sh" "$root$src/" || return 1
  say "package: ${deb##*/} ($(dpkg-deb -f "$deb" Version), $(du -k "$deb" | cut -f1) KiB)"
}

in_root() {  # in_root SCRIPT: a login-like clean environment in the source tree
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    JOBS="$jobs" FRESH_CTEST="$ctest_args" FRESH_TARGETS="$targets" PREBUILT="$prebuilt" \
    /bin/bash -euo pipefail -c "cd '$src' && $1"
}

# shellcheck disable=SC2016  # the single-quoted scripts expand their variables in the root
build_and_test() {
  if [[ -n $targets ]]; then
    phase build in_root 'make configure && cmake --build build -j "$JOBS" --target $FRESH_TARGETS' ||
      return 1
  else
    phase build in_root 'make build JOBS="$JOBS"' || return 1
  fi
  if [[ -n $ctest_args ]]; then
    phase tests in_root 'ctest --test-dir build --output-on-failure --no-tests=error -j "$JOBS" $FRESH_CTEST' ||
      return 1
  else
    phase tests in_root 'make test JOBS="$JOBS"' || return 1
  fi
}

# shellcheck disable=SC2016
configure_and_test_prebuilt() {
  phase configure in_root 'cmake -S . -B /root/configure -G Ninja >/dev/null' || return 1
  phase tests in_root 'ctest --test-dir "$PREBUILT" --output-on-failure --no-tests=error -j "$JOBS" $FRESH_CTEST' ||
    return 1
}

run_inside() {
  if [[ -n $deb ]]; then
    local step
    for step in install probe run report qemu man remove; do
      phase "deb-$step" in_root "./deb_install_check.sh $step" || return 1
    done
    return 0
  fi
  if ((experiment)); then
    # A bare Debian has no make: the README's first step installs it (git is the host's here).
    phase make-tool in_root 'apt-get update -qq && apt-get install -y -qq --no-install-recommends make >/dev/null' ||
      return 1
    # Timed whole, packages included, as the README quotes it; it prints its own phases.
    phase experiment in_root 'make experiment' || return 1
    return 0
  fi
  phase install-deps in_root 'scripts/install-deps.sh' || return 1
  if [[ -n $prebuilt ]]; then configure_and_test_prebuilt; else build_and_test; fi
}

main() {
  usage_checks "$@"
  set -m
  trap cleanup EXIT
  trap 'on_signal 130' INT
  trap 'on_signal 143' TERM
  trap 'on_signal 129' HUP
  prepare_base
  configure_root || die 3 "cannot set up apt, DNS and dpkg in $root"
  mount_root || die 3 "cannot mount /proc, /sys, /dev (or the tree) in $root"
  if [[ -n $deb ]]; then
    phase source copy_deb || exit 3
  elif [[ -z $prebuilt ]]; then
    phase source copy_source || exit 3
  fi
  if ! run_inside; then
    [[ -z $deb ]] || { say "FAILED: the package did not install or work in a fresh root"; exit 1; }
    say "FAILED: a phase failed in the fresh root; if a package is missing, add it to scripts/install-deps.sh"
    exit 1
  fi
  if ((experiment)); then say "passed: make experiment ran on a fresh root"; return; fi
  if [[ -n $deb ]]; then say "passed: ${deb##*/} installed by apt and worked on a fresh root"; return; fi
  say "passed: install-deps.sh alone was enough${ctest_args:+ for ctest $ctest_args}"
}

# One line, so bash never reads past it: editing this file during a run cannot change the run.
{ main "$@"; exit; }
