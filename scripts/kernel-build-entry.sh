# SPDX-License-Identifier: GPL-2.0-only
# The cache entry of scripts/kernel-build.sh (sourced by it): build(), packaging, build.json and
# --list. An entry appears only by rename, complete, so a half-built one never exists.
# shellcheck shell=bash

json_str() {  # a JSON string literal for $1 (inputs here are versions, names and hex)
  local s=$1
  s=${s//\\/\\\\} s=${s//\"/\\\"} s=${s//$'\t'/\\t} s=${s//$'\n'/\\n}
  printf '"%s"' "$s"
}

# User + system seconds of every finished child so far, from bash's `times`, which must run in
# this shell: in a $(...) subshell it would count that subshell's children only.
cpu_seconds_into() {  # cpu_seconds_into VAR
  local f=$BUILDS/.times.$$ u s
  mkdir -p "$BUILDS"
  times >"$f"
  { read -r _ && read -r u s; } <"$f"
  rm -f "$f"
  printf -v "$1" '%s' "$(awk -v u="$u" -v s="$s" 'BEGIN {
    split(u, a, /[ms]/); split(s, b, /[ms]/); printf "%d", a[1] * 60 + a[2] + b[1] * 60 + b[2] }')"
}

phase_json() {
  local k sep="" out="{"
  for k in fetch extract patch configure compile modules package; do
    [[ -n "${PHASE_SECS[$k]:-}" ]] && out+="$sep$(json_str "$k"): ${PHASE_SECS[$k]}" && sep=", "
  done
  echo "$out}"
}

patches_json() {
  local p sep="" out="["
  for p in "${R_PATCHES[@]}"; do
    out+="$sep{\"file\": $(json_str "$p"), \"sha256\": \"$(patch_sha "$(input_file patch "$p")")\"}"
    sep=", "
  done
  echo "$out]"
}

write_build_json() {  # write_build_json STAGING RELEASE HASH
  local st=$1 release=$2 hash=$3 deb same=null base=null deb_sha=""
  deb=$(kb_deb_path "$CACHE" "$R_SOURCE")
  [[ -f "$deb" ]] && deb_sha=$(sha "$deb")
  if [[ -n "$R_BASE" ]]; then
    base=$(json_str "$R_BASE")
    cmp -s "$st/bzImage" "$BUILDS/$R_BASE/bzImage" && same=true || same=false
  fi
  cat >"$st/build.json" <<EOF
{
  "schema_version": 1,
  "name": $(json_str "$NAME"),
  "description": $(json_str "$R_DESCRIPTION"),
  "release": $(json_str "$release"),
  "source": {"package": $(json_str "${R_SOURCE%%=*}"), "version": $(json_str "${R_SOURCE#*=}"), "deb_sha256": "$deb_sha"},
  "base": $base,
  "fragment": {"file": $(json_str "$R_FRAGMENT"), "config_lines_sha256": "$(fragment_sha "$(input_file fragment "$R_FRAGMENT")")"},
  "config_sha256": "$(sha "$st/config")",
  "patches": $(patches_json),
  "compiler": $(json_str "$(compiler_version)"),
  "make_jobs": $JOBS,
  "build_seconds": $((SECONDS - START)),
  "cpu_seconds": $((END_CPU - START_CPU)),
  "phase_seconds": $(phase_json),
  "built_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "files": {"bzImage": "bzImage", "modules": "modules/lib/modules/$release", "config": "config"},
  "bzimage_sha256": "$(sha "$st/bzImage")",
  "image_same_as_base": $same,
  "inputs_sha256": "$hash"
}
EOF
}

# This build's fragment and patches, copied into its staging entry before anything reads them.
snapshot_inputs() {
  local st=$BUILDS/.$NAME.tmp.$$ p
  CLEANUP+=("$st")
  mkdir -p "$st/patches"
  cp "$KERNELS/$R_FRAGMENT" "$st/"
  for p in "${R_PATCHES[@]}"; do cp "$KERNELS/patches/$p" "$st/patches/"; done
  INPUTS=$st
}

package() {  # package TREE HASH: the staged entry (holding the inputs already), then renamed
  local tree=$1 hash=$2 st=$INPUTS release entry=$BUILDS/$NAME
  phase package "$entry"
  release=$(make -s -C "$tree" kernelrelease)
  [[ "$release" =~ ^[A-Za-z0-9._+-]+$ ]] || kb_die 3 "odd kernel release '$release'"
  cp "$tree/arch/x86/boot/bzImage" "$tree/System.map" "$st/"
  cp "$tree/.config" "$st/config"
  interruptible make -C "$tree" INSTALL_MOD_PATH="$st/modules" INSTALL_MOD_STRIP=1 modules_install ||
    kb_die 3 "make modules_install failed; log: $LOG"
  rm -f "$st/modules/lib/modules/$release/build" "$st/modules/lib/modules/$release/source"
  end_phase
  cpu_seconds_into END_CPU
  write_build_json "$st" "$release" "$hash"
  cp "$LOG" "$st/build.log"
  if [[ -e "$entry" ]]; then mv "$entry" "$BUILDS/.$NAME.old.$$" && rm -rf "$BUILDS/.$NAME.old.$$"; fi
  mv "$st" "$entry"
  CLEANUP=("${CLEANUP[@]/$st/}")
  INPUTS=""
}

take_lock() {  # take_lock VAR NAME: one builder per name (a variant also holds its base's)
  local -n fd=$1
  exec {fd}>"$BUILDS/.$2.lock"
  flock "$fd"
}

release_lock() {  # release_lock VAR
  local -n fd=$1
  exec {fd}>&-
  fd=$NO_FD
}

build() {  # build NAME: its base first, then itself unless its entry matches its inputs
  local name=$1 hash tree base_tree
  NAME=$name
  resolve "$name"
  if [[ -n "$R_BASE" ]]; then
    build "$R_BASE"
    NAME=$name
    resolve "$name"
  fi
  START=$SECONDS PHASE_SECS=()
  cpu_seconds_into START_CPU
  if entry_current "$BUILDS/$name" "$(inputs_hash_of "$name")"; then
    say "up to date: $BUILDS/$name"
    return
  fi
  check_tools
  mkdir -p "$BUILDS" "$CACHE/build-logs"
  take_lock LOCK_FD "$name"
  # Leftovers of a build that was killed outright (SIGKILL, power loss); the lock is ours.
  rm -rf "$BUILDS/.$name.tmp."* "$CACHE/kernel-trees/.$name.tmp."*
  snapshot_inputs
  hash=$(inputs_text | sha256sum | cut -c1-64)
  LOG=$CACHE/build-logs/$name.log
  : >"$LOG"
  say "building from $R_SOURCE${R_BASE:+ on $R_BASE} with ${#R_PATCHES[@]} patch(es), make -j$JOBS; log: $LOG"
  tree=$CACHE/kernel-trees/$name
  if [[ -n "$R_BASE" ]]; then
    base_tree=$CACHE/kernel-trees/$R_BASE
    take_lock BASE_LOCK_FD "$R_BASE"
    if tree_current "$base_tree" "$(inputs_hash_of "$R_BASE")"; then
      tree=$base_tree
      apply_variant "$tree"
    else
      say "no compiled tree of $R_BASE to build in: a tree of its own, every patch applied"
      release_lock BASE_LOCK_FD
    fi
  fi
  [[ -n "$RESTORE_TREE" ]] || prepare_tree "$tree" "$hash"
  phase compile "make -j$JOBS bzImage"
  make_or_die "$tree" bzImage
  phase modules "make -j$JOBS modules"
  make_or_die "$tree" modules
  package "$tree" "$hash"
  if [[ -n "$RESTORE_TREE" ]]; then restore_tree; fi
  say "done in $((SECONDS - START)) s: $BUILDS/$name"
  release_lock BASE_LOCK_FD
  release_lock LOCK_FD
}

list_builds() {
  local d name state any=0
  for d in "$BUILDS"/*/; do
    [[ -f "$d/build.json" ]] || continue
    any=1 name=$(basename "$d") state="no definition in kernels/"
    if [[ -f "$KERNELS/$name.conf" ]]; then
      entry_current "$d" "$(inputs_hash_of "$name")" && state=current || state="stale (inputs changed)"
    fi
    printf '%-28s %-10s %6s s  %s\n' "$name" \
      "$(sed -n 's/^  "release": "\(.*\)",$/\1/p' "$d/build.json")" \
      "$(sed -n 's/^  "build_seconds": \([0-9]*\),$/\1/p' "$d/build.json")" "$state"
  done
  ((any)) || echo "no kernel builds in $BUILDS (make kernels builds them)"
}
