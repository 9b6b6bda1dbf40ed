# SPDX-License-Identifier: GPL-2.0-only
# The steps of scripts/kernel-build.sh (sourced by it): trees, patches, config, make.
# shellcheck shell=bash

declare -A PHASE_SECS=()
PHASE_T0=0

end_phase() {
  [[ -n "$PHASE" ]] && PHASE_SECS[$PHASE]=$((${PHASE_SECS[$PHASE]:-0} + SECONDS - PHASE_T0))
  PHASE=""
}
phase() { end_phase; PHASE=$1 PHASE_T0=$SECONDS; say "$1: ${2:-}"; }

# Runs a command in its own process group, so a signal to this script can stop all of it
# (make and its compilers) and nothing the command started outlives the build.
interruptible() {
  local rc=0
  # The child must hold neither lock: an orphan of a killed build would keep it.
  setsid "$@" >>"$LOG" 2>&1 {LOCK_FD}>&- {BASE_LOCK_FD}>&- &
  MAKE_PID=$!
  wait "$MAKE_PID" || rc=$?
  MAKE_PID=""
  return "$rc"
}

start_ticker() {  # a progress line a minute while make runs
  (
    # The sleep outlives a killed ticker: it must hold neither a lock nor our output.
    while sleep 60 >/dev/null 2>&1 {LOCK_FD}>&- {BASE_LOCK_FD}>&-; do
      say "$PHASE: $(grep -c '^  CC' "$LOG" || true) files compiled so far"
    done
  ) &
  TICKER_PID=$!
}

make_or_die() {  # make_or_die TREE TARGET...: a compiler failure exits 3 with the log's tail
  local tree=$1 rc=0
  shift
  start_ticker
  interruptible make -C "$tree" -j"$JOBS" "$@" || rc=$?
  stop_ticker
  if ((rc != 0)); then
    tail -n 20 "$LOG" >&2
    kb_die 3 "make $* failed (exit $rc) in $tree; last 20 lines above, full log: $LOG"
  fi
}

# Each patch is tried with --dry-run first, so a tree is never left half-patched. No fuzz: a
# hunk that only applies by ignoring context may be applied in the wrong place. With RECORD set
# (a variant in its base's tree), each patch is copied there just before it is applied.
apply_patches() {  # apply_patches TREE PATCH...
  local tree=$1 p file out n=0
  shift
  for p in "$@"; do
    phase patch "$p"
    file=$(input_file patch "$p")
    if ! out=$(cd "$tree" && patch -p1 -N --fuzz=0 --dry-run <"$file" 2>&1); then
      sed 's/^/  /' <<<"$out" >&2
      kb_die 2 "kernels/patches/$p does not apply to $R_SOURCE: $(failed_hunks "$out")"
    fi
    [[ -z "${RECORD:-}" ]] || cp "$file" "$RECORD/$((n++))-$p"
    (cd "$tree" && patch -p1 -N --fuzz=0 -s <"$file") >>"$LOG" 2>&1 ||
      kb_die 2 "kernels/patches/$p failed after its dry run succeeded"
  done
}

failed_hunks() {  # "FILE hunk #N (at line L)" for each hunk patch(1) rejected
  awk '/^(patching|checking) file / { f = $3 }
       /^Hunk #[0-9]+ FAILED/ { sub(/\.$/, "", $NF); printf "%s%s hunk %s (at line %s)", sep, f, $2, $NF; sep = "; " }
       /can.t find file to patch|Reversed \(or previously applied\)/ && !done { printf "%s%s", sep, $0; sep = "; "; done = 1 }
       END { if (sep == "") printf "see the output above" }' <<<"$1"
}

configure() {  # configure TREE FRESH: defconfig + fragment, then check every fragment line held
  local tree=$1 fresh=$2 frag out
  frag=$(input_file fragment "$R_FRAGMENT")
  phase configure "defconfig + kernels/$R_FRAGMENT"
  if [[ "$fresh" == 1 ]]; then
    interruptible make -C "$tree" defconfig || kb_die 3 "make defconfig failed; log: $LOG"
    (cd "$tree" && scripts/kconfig/merge_config.sh -m .config "$frag") >>"$LOG" 2>&1 ||
      kb_die 3 "merge_config.sh failed; log: $LOG"
  fi
  interruptible make -C "$tree" olddefconfig || kb_die 3 "make olddefconfig failed; log: $LOG"
  out=$(kb_fragment_verify "$frag" "$tree/.config") ||
    kb_die 2 "kernels/$R_FRAGMENT: options $R_SOURCE does not take:"$'\n'"$out"
}

extract_source() {  # extract_source DEB DIR: the tarball's tree, its top directory stripped
  local deb=$1 dir=$2 tarball
  tarball=$(dpkg-deb -c "$deb" | awk '$NF ~ /^\.\/usr\/src\/linux-source-.*\.tar\.xz$/ {print $NF}')
  [[ -n "$tarball" ]] || kb_die 3 "$deb holds no usr/src/linux-source-*.tar.xz"
  mkdir -p "$dir"
  # shellcheck disable=SC2016  # the inner shell expands its own arguments
  interruptible bash -o pipefail -c 'dpkg-deb --fsys-tarfile "$1" | tar -xO "$2" |
    tar -xJ -C "$3" --strip-components=1' _ "$deb" "$tarball" "$dir" ||
    kb_die 3 "extracting $tarball from $deb failed; log: $LOG"
}

inputs_hash_of() {  # the inputs hash another build would have (from kernels/), in a subshell
  (INPUTS="" && resolve "$1" && inputs_text | sha256sum | cut -c1-64)
}

tree_current() { [[ -f "$1/.memplace-tree" && "$(cat "$1/.memplace-tree")" == "$2" ]]; }

# A tree of its own: reused when prepared for the same inputs (an interrupted build resumes
# where make stopped), else fetched, extracted, patched and configured afresh.
prepare_tree() {  # prepare_tree TREE HASH
  local tree=$1 hash=$2 tmp deb
  unapply_leftovers "$tree"
  if tree_current "$tree" "$hash"; then
    say "reusing the prepared tree $tree"
    return
  fi
  rm -rf "$tree"
  mkdir -p "$CACHE/kernel-trees"
  tmp=$CACHE/kernel-trees/.$NAME.tmp.$$
  CLEANUP+=("$tmp")
  check_disk "$NEED_FRESH_MB"
  phase fetch "$R_SOURCE (private apt configuration in $CACHE/apt)"
  deb=$(kb_fetch_deb "$CACHE" "$R_SOURCE") || kb_die 3 "cannot fetch $R_SOURCE through apt"
  phase extract "$(basename "$deb")"
  extract_source "$deb" "$tmp"
  apply_patches "$tmp" "${R_PATCHES[@]}"
  configure "$tmp" 1
  echo "$hash" >"$tmp/.memplace-tree"
  mv "$tmp" "$tree"
}

# A variant in its base's tree: the base's objects stay valid, so make rebuilds only what the
# variant's patches touch (for a guest_memfd patch, kvm.ko). The patches are recorded in the tree
# as they are applied, so even a build killed outright is undone by the next one.
apply_variant() {  # apply_variant TREE
  local tree=$1
  unapply_leftovers "$tree"
  check_disk "$NEED_VARIANT_MB"
  mkdir -p "$tree/.memplace-applied"
  RESTORE_TREE=$tree
  RECORD=$tree/.memplace-applied apply_patches "$tree" "${R_OWN[@]}"
  if touches_kconfig "${R_OWN[@]}"; then configure "$tree" 0; fi
}

touches_kconfig() {  # whether any of the patches changes a Kconfig file
  local p
  for p in "$@"; do
    kb_patch_files "$(input_file patch "$p")" | grep -q '\(^\|/\)Kconfig' && return 0
  done
  return 1
}

restore_tree() {  # takes the variant's patches back out of its base's tree
  local tree=$RESTORE_TREE
  RESTORE_TREE=""
  unapply_leftovers "$tree"
}

# Reverses what .memplace-applied records, newest first; a recorded patch that is not in the
# tree (killed between recording and applying) is skipped. A tree that cannot be restored is no
# longer taken for its base's: its stamp goes, and the next base build starts afresh.
unapply_leftovers() {  # unapply_leftovers TREE
  local tree=$1 applied=$1/.memplace-applied f p kconfig=0 files=()
  [[ -d "$applied" ]] || return 0
  mapfile -t files < <(cd "$applied" && ls -1 | sort -t- -k1,1 -n -r)
  for f in "${files[@]}"; do
    p=$applied/$f
    kb_patch_files "$p" | grep -q '\(^\|/\)Kconfig' && kconfig=1
    if ! (cd "$tree" && patch -p1 -R --fuzz=0 --dry-run -s <"$p") >/dev/null 2>&1 &&
       (cd "$tree" && patch -p1 -N --fuzz=0 --dry-run -s <"$p") >/dev/null 2>&1; then
      continue  # never applied
    fi
    if ! (cd "$tree" && patch -p1 -R --fuzz=0 -s <"$p") >>"${LOG:-/dev/null}" 2>&1; then
      rm -f "$tree/.memplace-tree"
      echo "kernel-build: could not take $(basename "$p") back out of $tree; it will be rebuilt" >&2
      break
    fi
  done
  rm -rf "$applied"
  if ((kconfig)) && [[ -f "$tree/.memplace-tree" ]]; then
    make -C "$tree" olddefconfig >>"${LOG:-/dev/null}" 2>&1 || rm -f "$tree/.memplace-tree"
  fi
}
