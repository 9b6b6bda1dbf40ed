#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run by every `make test` (ctest kernel_inputs): the kernel build definitions in kernels/ are
# well-formed, and each patch still applies to its pinned Debian source. Only the files a patch
# touches are taken from the source tarball, so a source update that breaks a patch shows up in
# seconds instead of half an hour into a build.
# Exit 0 all good, 1 a check failed, 77 skipped (the source package is neither cached nor
# fetchable here; the reason is printed).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/kernel-common.sh
source "$here/scripts/kernel-common.sh"
kernels=${MEMPLACE_KERNELS_DIR:-$here/kernels}
cache=$(kb_cache_dir)
failed=0
fail() { echo "FAIL: $*"; failed=1; }

# Definitions and fragments. kb_read_conf exits on a bad one, so each runs in a subshell.
for conf in "$kernels"/*.conf; do
  name=$(basename "$conf" .conf)
  if out=$( (kb_read_conf "$kernels" "$name") 2>&1); then
    echo "ok: kernels/$name.conf"
  else
    fail "kernels/$name.conf: $out"
  fi
done
for frag in "$kernels"/*.config; do
  if out=$(kb_fragment_lint "$frag"); then
    echo "ok: ${frag#"$kernels"/} is a well-formed fragment"
  else
    fail "${frag#"$kernels"/}: $out"
  fi
done

# The pinned source of a definition, following its bases.
source_of() {
  local name=$1 depth=0
  while ((depth++ < 8)); do
    kb_read_conf "$kernels" "$name"
    [[ -z "$KB_BASE" ]] && { echo "$KB_SOURCE"; return; }
    name=$KB_BASE
  done
}

# The touched files of DEB, extracted once into <cache>/sources/<deb>.files/ and reused.
source_files() {  # source_files DEB FILE...
  local deb=$1 dir="$1.files" missing=()
  shift
  for f in "$@"; do [[ -f "$dir/$f" ]] || missing+=("$f"); done
  [[ ${#missing[@]} -eq 0 ]] || kb_extract_files "$deb" "$dir" "${missing[@]}"
}

check_patch() {  # check_patch NAME PATCH: dry-run the patch against the pinned source's files
  local name=$1 p=$2 src deb files scratch out
  src=$( (source_of "$name") 2>&1) || { fail "$name: $src"; return; }
  local err
  err=$(mktemp)
  if ! deb=$(kb_fetch_deb "$cache" "$src" 2>"$err"); then
    echo "SKIP: $src is not in $cache/sources and apt could not fetch it, so $p is unchecked:"
    sed 's/^/  /' "$err" | tail -n 5
    rm -f "$err"
    return 77
  fi
  rm -f "$err"
  mapfile -t files < <(kb_patch_files "$kernels/patches/$p")
  [[ ${#files[@]} -gt 0 ]] || { fail "patches/$p changes no file"; return; }
  source_files "$deb" "${files[@]}" || { fail "$p: ${files[*]} not all in $src"; return; }
  scratch=$(mktemp -d)
  for f in "${files[@]}"; do mkdir -p "$scratch/$(dirname "$f")" && cp "$deb.files/$f" "$scratch/$f"; done
  if out=$(cd "$scratch" && patch -p1 -N --fuzz=0 --dry-run <"$kernels/patches/$p" 2>&1); then
    echo "ok: patches/$p applies to $src (${files[*]})"
  else
    fail "patches/$p does not apply to $src:"$'\n'"$out"
  fi
  rm -rf "$scratch"
}

skipped=0
for conf in "$kernels"/*.conf; do
  name=$(basename "$conf" .conf)
  (kb_read_conf "$kernels" "$name") >/dev/null 2>&1 || continue
  kb_read_conf "$kernels" "$name"
  for p in "${KB_PATCHES[@]}"; do
    check_patch "$name" "$p"
    [[ $? -eq 77 ]] && skipped=1
  done
done
((failed)) && exit 1
((skipped)) && exit 77
exit 0
