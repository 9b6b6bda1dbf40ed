#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Builds the test kernels defined in kernels/NAME.conf from a named Debian source package into
# the cache, where `--kernel build:NAME` finds them:
#   <cache>/builds/NAME/{bzImage, modules/lib/modules/R/, config, patches/, build.log, build.json}
# <cache> is $XDG_CACHE_HOME/memplace, else ~/.cache/memplace.
#
#   scripts/kernel-build.sh [--jobs N] [NAME...]   build (default: every kernels/*.conf)
#   scripts/kernel-build.sh --list                 the builds in the cache, and whether current
#
# A build whose build.json records the same inputs (source version, the fragment's config lines,
# the patches' diffs, compiler) is reused. A variant (`base = NAME`) is built in its base's
# compiled tree with its patches applied for the time of the build, so a patch to a module's
# source rebuilds only that module; the tree is restored afterwards.
# Exit: 0 built or reused; 2 bad input (unknown NAME, bad definition, a patch that does not
# apply, a fragment option the source will not take); 3 environment (no disk, fetch or compiler
# failure); 128+N interrupted (make is stopped; no entry is left half-built).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/kernel-common.sh
source "$here/scripts/kernel-common.sh"
# Tests point this at a scratch copy to try broken definitions and patches.
KERNELS=${MEMPLACE_KERNELS_DIR:-$here/kernels}
CACHE=$(kb_cache_dir)
BUILDS=$CACHE/builds
JOBS=$(nproc)
# Bump when the way a build is made changes, so older entries stop matching.
RECIPE=1
# Measured on 7.2.13 with kernels/testbed.config: the compiled tree is 2378 MiB, the .deb 157 MiB,
# the entry 18 MiB. A variant built in its base's tree needs only its entry.
NEED_FRESH_MB=3000
NEED_VARIANT_MB=100
NEED_MARGIN_MB=1024

START=$SECONDS
NAME="" PHASE="" MAKE_PID="" TICKER_PID=""
# The lock descriptors; until taken, a number never open, so closing them for a child is harmless.
NO_FD=249 LOCK_FD=249 BASE_LOCK_FD=249
INPUTS=""        # this build's snapshot of its fragment and patches (see snapshot_inputs)
CLEANUP=()       # directories removed when the script ends, whichever way
RESTORE_TREE=""  # a base tree holding a variant's patches until restore_tree runs

say() { printf '[kernel-build %s %s] %s\n' "$NAME" "$(elapsed)" "$*" >&2; }
elapsed() { printf '%02d:%02d' $(((SECONDS - START) / 60)) $(((SECONDS - START) % 60)); }
sha() { sha256sum "$1" | cut -d' ' -f1; }

on_signal() {  # stop make, then die of the signal's code; on_exit removes what is half made
  local sig=$1 code=$2
  trap - INT TERM
  if [[ -n "$MAKE_PID" ]]; then
    kill -TERM -- "-$MAKE_PID" 2>/dev/null || true
    wait "$MAKE_PID" 2>/dev/null || true  # under set -e a failing wait would end the handler
  fi
  echo "kernel-build: interrupted by SIG$sig during ${PHASE:-startup}; no build was recorded" >&2
  exit "$code"
}

on_exit() {  # every way out: success, kb_die, a signal
  stop_ticker
  if [[ -n "$RESTORE_TREE" ]]; then restore_tree; fi
  local d
  for d in "${CLEANUP[@]}"; do
    if [[ -n "$d" ]]; then rm -rf "$d"; fi
  done
}
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_exit' EXIT

stop_ticker() {
  if [[ -n "$TICKER_PID" ]]; then
    kill "$TICKER_PID" 2>/dev/null || true
    wait "$TICKER_PID" 2>/dev/null || true
    TICKER_PID=""
  fi
}

# Resolves NAME's definition through its bases: R_SOURCE, R_FRAGMENT, R_BASE, R_OWN (this
# variant's patches), R_DESCRIPTION and R_PATCHES (every patch, base's first).
resolve() {  # resolve NAME [DEPTH]
  local name=$1 depth=${2:-0}
  ((depth < 8)) || kb_die 2 "$name: bases nest deeper than 8 (a cycle?)"
  kb_read_conf "$KERNELS" "$name"
  local own=("${KB_PATCHES[@]}") base=$KB_BASE description=$KB_DESCRIPTION
  if [[ -n "$base" ]]; then
    resolve "$base" $((depth + 1))
    R_PATCHES+=("${own[@]}")
  else
    R_SOURCE=$KB_SOURCE R_FRAGMENT=$KB_FRAGMENT R_PATCHES=("${own[@]}")
  fi
  R_BASE=$base R_OWN=("${own[@]}") R_DESCRIPTION=$description
}

compiler_version() { gcc --version | head -1; }

# Where this build reads its fragment and patches: the snapshot taken when it started, so an
# edit during a long build can neither change nor mislabel it.
input_file() {  # input_file fragment|patch NAME
  local dir=${INPUTS:-$KERNELS}
  if [[ "$1" == fragment ]]; then echo "$dir/$2"; else echo "$dir/patches/$2"; fi
}

# What the build depends on, not the comments around it: a fragment's config lines and a
# patch's diff (from its first "--- " line). Editing an explanation rebuilds nothing.
fragment_sha() { grep -E '^(CONFIG_|# CONFIG_[A-Z0-9_]+ is not set$)' "$1" | sha256sum | cut -c1-64; }
patch_sha() { sed -n '/^--- /,$p' "$1" | sha256sum | cut -c1-64; }

# One line per input; its hash decides whether an entry (and a kept tree) can be reused.
inputs_text() {
  local p
  echo "recipe $RECIPE"
  echo "source $R_SOURCE"
  echo "fragment $(fragment_sha "$(input_file fragment "$R_FRAGMENT")")"
  for p in "${R_PATCHES[@]}"; do echo "patch $p $(patch_sha "$(input_file patch "$p")")"; done
  echo "compiler $(compiler_version)"
}

entry_current() {  # entry_current DIR INPUTS_SHA
  [[ -f "$1/build.json" ]] && grep -q "\"inputs_sha256\": \"$2\"" "$1/build.json"
}

check_tools() {
  local t missing=()
  for t in gcc make flex bison bc perl patch dpkg-deb xz; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  [[ -f /usr/include/gelf.h ]] || missing+=("libelf-dev")
  [[ -f /usr/include/openssl/ssl.h ]] || missing+=("libssl-dev")
  [[ ${#missing[@]} -eq 0 ]] ||
    kb_die 3 "missing build tools: ${missing[*]} (scripts/install-deps.sh installs them)"
}

check_disk() {  # check_disk NEED_MB: before anything is fetched or extracted
  local need=$(($1 + NEED_MARGIN_MB)) avail
  # Test hook: pretend the build needs this much, to reach the not-enough-disk path.
  [[ -n "${MEMPLACE_TEST_KERNEL_NEED_MB:-}" ]] && need=$MEMPLACE_TEST_KERNEL_NEED_MB
  mkdir -p "$BUILDS"
  avail=$(df -Pm "$CACHE" | awk 'NR == 2 {print $4}')
  ((avail >= need)) ||
    kb_die 3 "not enough disk in $CACHE: $avail MiB free, this build needs $need MiB"
  say "disk: $avail MiB free, need $need MiB"
}

main_usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

source "$here/scripts/kernel-build-steps.sh"
source "$here/scripts/kernel-build-entry.sh"

main() {
  local names=() list=0
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --jobs) [[ "${2:-}" =~ ^[1-9][0-9]{0,2}$ ]] || kb_die 2 "--jobs takes 1..999"; JOBS=$2; shift ;;
      --list) list=1 ;;
      # The hash an entry for NAME must record to be reused (tests and tools).
      --inputs-hash) [[ -n "${2:-}" ]] || kb_die 2 "--inputs-hash takes a NAME"; inputs_hash_of "$2"; return ;;
      -h|--help) main_usage ;;
      -*) kb_die 2 "unknown option $1" ;;
      *) names+=("$1") ;;
    esac
    shift
  done
  if ((list)); then list_builds; return; fi
  if [[ ${#names[@]} -eq 0 ]]; then read -r -a names <<<"$(kb_defined "$KERNELS")"; fi
  local n
  for n in "${names[@]}"; do build "$n"; done
}

# On one line, so that bash has read all of it before running: editing this file during a build
# cannot change what the running build does next.
main "$@"; exit $?
