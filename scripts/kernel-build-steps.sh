# The steps of scripts/kernel-build.sh (sourced by it): tree, patches, config, make, entry.
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
  # The child must not hold the build's lock: an orphan of a killed build would keep it.
  setsid "$@" >>"$LOG" 2>&1 {LOCK_FD}>&- &
  MAKE_PID=$!
  wait "$MAKE_PID" || rc=$?
  MAKE_PID=""
  return "$rc"
}

start_ticker() {  # a progress line a minute while make runs
  (
    # The sleep outlives a killed ticker: it must hold neither the lock nor our output.
    while sleep 60 </dev/null >/dev/null 2>&1 {LOCK_FD}>&-; do
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
# hunk that only applies by ignoring context may be applied in the wrong place.
apply_patches() {  # apply_patches TREE PATCH...
  local tree=$1 p out
  shift
  for p in "$@"; do
    phase patch "$p"
    if ! out=$(cd "$tree" && patch -p1 -N --fuzz=0 --dry-run <"$KERNELS/patches/$p" 2>&1); then
      echo "$out" | sed 's/^/  /' >&2
      kb_die 2 "kernels/patches/$p does not apply to $R_SOURCE: $(failed_hunks "$out")"
    fi
    (cd "$tree" && patch -p1 -N --fuzz=0 -s <"$KERNELS/patches/$p") >>"$LOG" 2>&1 ||
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
  local tree=$1 fresh=$2 frag=$KERNELS/$R_FRAGMENT out
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
  interruptible bash -o pipefail -c 'dpkg-deb --fsys-tarfile "$1" | tar -xO "$2" |
    tar -xJ -C "$3" --strip-components=1' _ "$deb" "$tarball" "$dir" ||
    kb_die 3 "extracting $tarball from $deb failed; log: $LOG"
}

inputs_hash_of() {  # the inputs hash another build would have, computed in a subshell
  (resolve "$1" && inputs_text | sha256sum | cut -c1-64)
}

tree_current() { [[ -f "$1/.memplace-tree" && "$(cat "$1/.memplace-tree")" == "$2" ]]; }

# A fresh tree: fetch, extract, every patch, configure.
fresh_tree() {  # fresh_tree TMP
  local tmp=$1 deb
  check_disk "$NEED_FRESH_MB"
  phase fetch "$R_SOURCE (private apt configuration in $CACHE/apt)"
  deb=$(kb_fetch_deb "$CACHE" "$R_SOURCE") || kb_die 3 "cannot fetch $R_SOURCE through apt"
  phase extract "$(basename "$deb")"
  extract_source "$deb" "$tmp"
  apply_patches "$tmp" "${R_PATCHES[@]}"
  configure "$tmp" 1
}

# A variant's tree: its base's compiled tree, copied with timestamps, plus its own patches; make
# then rebuilds only what the patches touch.
variant_tree() {  # variant_tree BASE_TREE TMP
  local base_tree=$1 tmp=$2
  check_disk "$(du -sm "$base_tree" | cut -f1)"
  phase extract "copying $R_BASE's compiled tree"
  interruptible cp -a --reflink=auto "$base_tree" "$tmp" || kb_die 3 "copying $base_tree failed"
  rm -f "$tmp/.memplace-tree"
  apply_patches "$tmp" "${R_OWN[@]}"
  configure "$tmp" 0
}

prepare_tree() {  # prepare_tree TREE HASH
  local tree=$1 hash=$2 tmp base_tree
  if tree_current "$tree" "$hash"; then
    say "reusing the prepared tree $tree"
    return
  fi
  rm -rf "$tree"
  mkdir -p "$CACHE/kernel-trees"
  tmp=$CACHE/kernel-trees/.$NAME.tmp.$$
  CLEANUP+=("$tmp")
  base_tree=$CACHE/kernel-trees/$R_BASE
  if [[ -n "$R_BASE" ]] && tree_current "$base_tree" "$(inputs_hash_of "$R_BASE")"; then
    variant_tree "$base_tree" "$tmp"
  else
    fresh_tree "$tmp"
  fi
  echo "$hash" >"$tmp/.memplace-tree"
  mv "$tmp" "$tree"
  CLEANUP=("${CLEANUP[@]/$tmp/}")
}
