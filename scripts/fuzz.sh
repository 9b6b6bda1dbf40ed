#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for FUZZ_SECONDS, seeded
# from the repo's fixtures and specs. Prints executions, exec/s, coverage (edges and features) and
# corpus size per target; exits non-zero on the first finding (the crashing input is left in
# $FUZZ_DIR/TARGET/artifacts). Each finding becomes a regression test in tests/unit.
#   scripts/fuzz.sh [TARGET...]     FUZZ_SECONDS=600 FUZZ_DIR=build-fuzz/work
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
work=${FUZZ_DIR:-$build/work}

# A failed build says why (ninja reports errors on stdout, which is otherwise kept quiet).
mkdir -p "$build"
if ! { CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DMEMPLACE_FUZZ=ON \
         -DMEMPLACE_TESTS=OFF -DMEMPLACE_BENCHMARKS=OFF &&
       cmake --build "$build" -j "${JOBS:-$(nproc)}"; } >"$build/fuzz-build.log" 2>&1; then
  grep -E 'error|FAILED' "$build/fuzz-build.log" | head -20 >&2
  echo "fuzz: building the targets failed; see $build/fuzz-build.log" >&2
  exit 2
fi

seed() {  # seed TARGET DIR: copy representative inputs into the corpus
  local target=$1 dir=$2
  case $target in
    fuzz_spec | fuzz_resume_spec) cp specs/*.toml "$dir"/; find results -name spec.toml -exec sh -c 'cp "$1" "$2/$(echo "$1" | md5sum | cut -c1-12)"' _ {} "$dir" \; ;;
    fuzz_manifest) find results tests/fixtures -name manifest.json -exec sh -c 'cp "$1" "$2/$(echo "$1" | md5sum | cut -c1-12)"' _ {} "$dir" \; ;;
    fuzz_meminfo) find tests/fixtures -name meminfo -exec sh -c 'cp "$1" "$2/$(echo "$1" | md5sum | cut -c1-12)"' _ {} "$dir" \; ;;
    fuzz_numa_maps) find tests/fixtures -name numa_maps -exec sh -c 'cp "$1" "$2/$(echo "$1" | md5sum | cut -c1-12)"' _ {} "$dir" \; ;;
    fuzz_nodelist) printf '0-1' >"$dir/a"; printf '0,2' >"$dir/b"; printf '0-3,8-11\n' >"$dir/c" ;;
    fuzz_chart_data)  # a baseline and a candidate kernel's runs, apart at a NUL
      { cat tests/fixtures/results/k6.18/runs.jsonl; printf '\0'; cat tests/fixtures/results/k7.0/runs.jsonl; } >"$dir/two-kernels"
      cp results/reference-ab/7.2/runs.jsonl "$dir/ab" ;;
    fuzz_runs_jsonl) find tests/fixtures -name runs.jsonl -exec sh -c 'cp "$1" "$2/$(echo "$1" | md5sum | cut -c1-12)"' _ {} "$dir" \; ;;
    fuzz_guest_stream)  # the first byte picks the chunk size the stream arrives in
      find tests/fixtures -name runs.jsonl -exec sh -c '{ printf "\001"; cat "$1"; } >"$2/$(echo "$1" | md5sum | cut -c1-12)"' _ {} "$dir" \;
      printf '%s\n' $'\x07{"type":"hello","kernel":"7.3"}' '{"type":"log","message":"insmod failed"}' \
        '{"type":"samples","run_id":"r0001","file":"samples/r0001.csv","csv":"t_seconds,node\n0,0\n"}' \
        '{"type":"locality","run_id":"r0001","file":"locality/r0001-triad.json","text":"{}"}' \
        '{"type":"end","exit_code":0}' >"$dir/typed" ;;
    fuzz_agent_message) find tests/fixtures -name 'agent*.jsonl' -exec split -l 1 {} "$dir/msg-" \; ;;
  esac
}

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for bin in "$build"/tests/fuzz/fuzz_*; do targets+=("$(basename "$bin")"); done
fi
for target in "${targets[@]}"; do
  corpus=$work/$target/corpus
  mkdir -p "$corpus" "$work/$target/artifacts"
  seed "$target" "$corpus" 2>/dev/null || true
  log=$work/$target/log
  "$build/tests/fuzz/$target" "$corpus" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
    -artifact_prefix="$work/$target/artifacts/" >"$log" 2>&1 || {
    echo "$target: FINDING after fuzzing; see $log and $work/$target/artifacts/" >&2
    tail -30 "$log" >&2
    exit 1
  }
  # libFuzzer's last lines: "#N DONE cov: C ft: F corp: ..." and "Done N runs in S second(s)".
  runs=$(grep -oE 'Done [0-9]+ runs in [0-9]+' "$log" | awk '{print $2, $5}')
  execs=$(awk -v r="${runs% *}" -v s="${runs#* }" 'BEGIN { printf "%d", s ? r / s : 0 }')
  cov=$(grep -oE 'DONE +cov: [0-9]+ ft: [0-9]+' "$log" | awk '{print $3, $5}')
  echo "$target: ${seconds}s, ${runs% *} executions (${execs}/s), coverage ${cov% *} edges" \
    "${cov#* } features, $(ls "$corpus" | wc -l) corpus files, no findings"
done
