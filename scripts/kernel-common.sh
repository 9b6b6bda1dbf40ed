# SPDX-License-Identifier: GPL-2.0-only
# Shared by scripts/kernel-build.sh and tests/kernels/inputs_check.sh (sourced, not run):
# where the cache lives, how a kernel definition (kernels/NAME.conf) reads, and how a source
# package is fetched through memplace's private apt configuration.
# shellcheck shell=bash

# $XDG_CACHE_HOME/memplace, else ~/.cache/memplace: the same place memplace_cache_dir() uses.
kb_cache_dir() {
  if [[ -n "${XDG_CACHE_HOME:-}" ]]; then
    echo "$XDG_CACHE_HOME/memplace"
  else
    echo "${HOME:-/tmp}/.cache/memplace"
  fi
}

kb_die() {  # kb_die CODE MESSAGE...
  local code=$1
  shift
  echo "kernel-build: $*" >&2
  exit "$code"
}

# Reads kernels/NAME.conf into KB_SOURCE, KB_FRAGMENT, KB_BASE, KB_PATCHES (array) and
# KB_DESCRIPTION. A definition is data, never sourced: only these keys, each value checked.
kb_read_conf() {  # kb_read_conf KERNELS_DIR NAME
  local dir=$1 name=$2 file line key value
  [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] || kb_die 2 "bad build name '$name'"
  file="$dir/$name.conf"
  [[ -f "$file" ]] || kb_die 2 "no build named '$name' (no $file); defined: $(kb_defined "$dir")"
  KB_SOURCE="" KB_FRAGMENT="" KB_BASE="" KB_DESCRIPTION="" KB_PATCHES=()
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
    [[ "$line" =~ ^([a-z]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])?[[:space:]]*$ ]] ||
      kb_die 2 "$file: not 'key = value': $line"
    key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    case "$key" in
      description) KB_DESCRIPTION=$value ;;
      source) KB_SOURCE=$value ;;
      fragment) KB_FRAGMENT=$value ;;
      base) KB_BASE=$value ;;
      patches) read -r -a KB_PATCHES <<<"$value" ;;
      *) kb_die 2 "$file: unknown key '$key'" ;;
    esac
  done <"$file"
  kb_check_conf "$dir" "$file"
}

kb_check_conf() {  # kb_check_conf KERNELS_DIR FILE
  local dir=$1 file=$2 p
  if [[ -n "$KB_BASE" ]]; then
    # A variant inherits source and fragment from its base, so the two cannot disagree.
    [[ -z "$KB_SOURCE$KB_FRAGMENT" ]] || kb_die 2 "$file: a variant (base =) names no source or fragment"
    [[ -f "$dir/$KB_BASE.conf" ]] || kb_die 2 "$file: base '$KB_BASE' is not defined"
    [[ ${#KB_PATCHES[@]} -gt 0 ]] || kb_die 2 "$file: a variant without patches is its base"
  else
    [[ "$KB_SOURCE" =~ ^[a-z0-9][a-z0-9.+-]*=[0-9][A-Za-z0-9.+~:-]*$ ]] ||
      kb_die 2 "$file: source must be PACKAGE=VERSION, got '$KB_SOURCE'"
    [[ "$KB_FRAGMENT" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ && -f "$dir/$KB_FRAGMENT" ]] ||
      kb_die 2 "$file: fragment '$KB_FRAGMENT' is not a file in $dir"
  fi
  for p in "${KB_PATCHES[@]}"; do
    [[ "$p" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*\.patch$ && -f "$dir/patches/$p" ]] ||
      kb_die 2 "$file: patch '$p' is not a file in $dir/patches"
  done
}

kb_defined() {  # the names of kernels/*.conf, space separated
  local f names=()
  for f in "$1"/*.conf; do
    [[ -f "$f" ]] && names+=("$(basename "$f" .conf)")
  done
  echo "${names[*]:-none}"
}

# The private apt configuration of harness/src/kernels/kernel_fetch.cc: apt reads and writes only
# <cache>/apt, never the system's sources. Keep the two in step.
kb_apt_options() {  # fills KB_APT with apt-get options for the apt dir $1
  local a=$1
  KB_APT=(-o "Dir::Etc::SourceList=$a/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
    -o "Dir::State=$a/state" -o "Dir::State::status=$a/state/status" -o "Dir::Cache=$a/cache"
    -o APT::Architecture=amd64 -o APT::Architectures=amd64 -o Acquire::Languages=none
    -o APT::Sandbox::User=root -o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false
    -qq)
}

kb_prepare_apt() {  # kb_prepare_apt APT_DIR
  local a=$1
  mkdir -p "$a/state/lists/partial" "$a/cache/archives/partial" "$a/debs"
  [[ -e "$a/state/status" ]] || : >"$a/state/status"
  printf '%s\n' "deb http://deb.debian.org/debian trixie main" \
    "deb http://deb.debian.org/debian trixie-backports main" \
    "deb http://deb.debian.org/debian sid main" >"$a/sources.list"
}

kb_deb_path() {  # where apt-get download puts PACKAGE=VERSION (an epoch's ':' becomes %3a)
  local pkg=${2%%=*} ver=${2#*=}
  echo "$1/sources/${pkg}_${ver//:/%3a}_all.deb"
}

# Prints the path of PACKAGE=VERSION's .deb in <cache>/sources, downloading it when missing.
# Holds <cache>/lock, the lock memplace's own kernel fetches take, while apt runs.
kb_fetch_deb() {  # kb_fetch_deb CACHE PACKAGE=VERSION
  local cache=$1 pkgver=$2 deb
  deb=$(kb_deb_path "$cache" "$pkgver")
  if [[ -s "$deb" ]]; then
    echo "$deb"
    return 0
  fi
  mkdir -p "$cache/sources"
  kb_prepare_apt "$cache/apt"
  kb_apt_options "$cache/apt"
  (
    flock 9
    kb_indices_fresh "$cache/apt" || apt-get "${KB_APT[@]}" update >&2 ||
      echo "kernel-build: apt-get update failed; trying the cached indices" >&2
    cd "$cache/sources" && apt-get "${KB_APT[@]}" download "$pkgver" >&2
  ) 9>"$cache/lock" || return 3
  [[ -s "$deb" ]] || return 3
  echo "$deb"
}

kb_indices_fresh() {  # true when some Packages index exists and all are younger than 24 h
  local lists=$1/state/lists
  compgen -G "$lists/*_Packages*" >/dev/null || return 1
  [[ -z "$(find "$lists" -maxdepth 1 -name '*_Packages*' -mmin +1440 -print -quit)" ]]
}

# Writes the touched files (a list) of a source .deb's tarball into DIR, keeping their paths
# below the tarball's top directory. tar stops after the last requested member it finds.
kb_extract_files() {  # kb_extract_files DEB DIR FILE...
  local deb=$1 dir=$2 tarball top
  shift 2
  tarball=$(dpkg-deb -c "$deb" | awk '$NF ~ /^\.\/usr\/src\/linux-source-.*\.tar\.xz$/ {print $NF}')
  [[ -n "$tarball" ]] || return 1
  top=$(basename "$tarball" .tar.xz)
  local members=()
  for f in "$@"; do members+=("$top/$f"); done
  mkdir -p "$dir"
  # tar leaving early breaks the pipe upstream, so the files, not the status, say if it worked.
  dpkg-deb --fsys-tarfile "$deb" | tar -xO "$tarball" |
    tar -xJ -C "$dir" --strip-components=1 --occurrence=1 "${members[@]}" 2>/dev/null || true
  for f in "$@"; do [[ -f "$dir/$f" ]] || return 1; done
}

# The files a unified diff changes, one per line, from its "+++ b/PATH" lines.
kb_patch_files() {
  sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$1"
}

# A fragment line is blank, a comment, "CONFIG_X=VALUE" or "# CONFIG_X is not set"; each symbol
# appears once. Prints the offending lines and fails otherwise.
kb_fragment_lint() {  # kb_fragment_lint FRAGMENT
  awk '
    /^[[:space:]]*$/ { next }
    /^# CONFIG_[A-Z0-9_]+ is not set$/ { sym = $2; }
    /^CONFIG_[A-Z0-9_]+=(y|m|[0-9]+|0x[0-9a-fA-F]+|"[^"\\]*")$/ { sym = substr($0, 1, index($0, "=") - 1) }
    /^#/ && sym == "" { next }
    sym == "" { printf "line %d: not a config line: %s\n", NR, $0; bad = 1; next }
    seen[sym]++ { printf "line %d: %s given twice\n", NR, sym; bad = 1 }
    { sym = "" }
    END { exit bad }' "$1"
}

# After olddefconfig: every "CONFIG_X=v" holds exactly and no "is not set" symbol is enabled.
kb_fragment_verify() {  # kb_fragment_verify FRAGMENT DOTCONFIG
  awk '
    NR == FNR { have[substr($0, 1, index($0, "=") - 1)] = $0; next }
    /^CONFIG_[A-Z0-9_]+=/ {
      sym = substr($0, 1, index($0, "=") - 1)
      if (have[sym] != $0) { printf "  wanted %s, got %s\n", $0, (sym in have ? have[sym] : "unset"); bad = 1 }
    }
    /^# CONFIG_[A-Z0-9_]+ is not set$/ {
      if ($2 in have) { printf "  wanted %s unset, got %s\n", $2, have[$2]; bad = 1 }
    }
    END { exit bad }' <(grep '^CONFIG_' "$2") "$1"
}
