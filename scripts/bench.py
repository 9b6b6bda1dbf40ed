#!/usr/bin/env python3
"""memplace's populate against memhog and stress-ng, on the same size, policy and CPU.

Each tool is timed the way it can be timed without counting work the others do not do:
  memhog    its progress dots: it prints one after each 10 MiB memset, so the time from the
            first dot to the last covers (size - 10 MiB) of pure populate, without exec,
            startup or the munmap at exit;
  stress-ng strace -T of its one mmap(MAP_POPULATE) of the whole size (--vm-populate), the
            kernel's own populate, without startup, the write pass or teardown;
  memplace  the record's populate_seconds (the toucher's own clock around the populate) and
            its populate_method.
All run pinned to the same CPU(s) (taskset / --cpu-node), with the same mbind policy, in a
random order per run so drift on a noisy machine hits every tool alike. Medians of --runs runs.
memplace --thp (transparent huge pages, a different thing to measure) is reported separately.

Then the background meminfo sampler's CPU cost at 100 Hz against spawning `numastat -m` at the
same rate (workloads/sampler_bench).
"""
import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MEMHOG_UNIT = 10 << 20  # memhog prints a '.' after each 10 MiB


def parse_size(text):
    m = re.fullmatch(r"(\d+)([kKmMgG]?)(i?B)?", text)
    if not m:
        sys.exit(f"bench: bad size {text!r}")
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]


def memhog_rate(size, node, cpu):
    cmd = ["taskset", "-c", str(cpu), "memhog", f"{size >> 10}k", "membind", str(node)]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    dots = []
    while True:
        c = p.stdout.read(1)
        if not c:
            break
        if c == b".":
            dots.append(time.monotonic())
    p.wait()
    wall = time.monotonic() - t0
    if p.returncode != 0 or len(dots) < 2:
        raise RuntimeError(f"memhog failed (exit {p.returncode}, {len(dots)} dots)")
    return (size - MEMHOG_UNIT) / (dots[-1] - dots[0]), wall, "memset"


def stress_ng_rate(size, node, cpu):
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as trace:
        cmd = ["strace", "-f", "-T", "-e", "trace=mmap", "-o", trace.name,
               "stress-ng", "--vm", "1", "--vm-keep", "--vm-populate", "--vm-bytes", f"{size >> 10}k",
               "--vm-ops", "1", "--vm-method", "write64", "--mbind", str(node), "--taskset", str(cpu)]
        t0 = time.monotonic()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.monotonic() - t0
        if r.returncode != 0:
            raise RuntimeError(f"stress-ng failed (exit {r.returncode})")
        pattern = re.compile(rf"mmap\(NULL, {size},.*MAP_POPULATE.*<([0-9.]+)>")
        secs = [float(m.group(1)) for m in map(pattern.search, trace.read().splitlines()) if m]
        if not secs:
            raise RuntimeError("stress-ng: no mmap(MAP_POPULATE) of the full size in its trace")
        return size / secs[-1], wall, "mmap_populate"


def memplace_rate(memplace, size, node, threads, thp):
    with tempfile.TemporaryDirectory(prefix="memplace-bench-") as d:
        out = os.path.join(d, "out")
        cmd = [memplace, "run", "--policy", "bind", "--nodes", str(node), "--size", f"{size >> 20}MiB",
               "--threads", str(threads), "--cpu-node", str(node), "--out", out, "-q"]
        if thp:
            cmd.append("--thp")
        t0 = time.monotonic()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.monotonic() - t0
        with open(os.path.join(out, "runs.jsonl")) as f:
            rec = json.loads(f.readline())
        if rec["status"] != "ok":
            raise RuntimeError(f"memplace run: {rec['status']}: {rec['message']} {r.stderr}")
        return size / rec["populate_seconds"], wall, rec["populate_method"]


def sampler_cost(sampler_bench, seconds):
    r = subprocess.run([sampler_bench, f"--seconds={seconds}", "--benchmark_format=json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"sampler_bench failed: {r.stderr}")
    return json.loads(r.stdout)["benchmarks"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default=os.path.join(here, "..", "build"))
    ap.add_argument("--size", default="2g")
    ap.add_argument("--node", type=int, default=0)
    ap.add_argument("--cpu", type=int, default=0, help="CPU for the single-threaded runs")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sampler-seconds", type=float, default=3.0)
    ap.add_argument("--no-thp", action="store_true", help="skip the memplace --thp rows")
    ap.add_argument("--seed", type=int, default=1, help="seed of the per-run tool order")
    a = ap.parse_args()
    size = parse_size(a.size)
    memplace = os.path.join(a.build, "memplace")
    sampler_bench = os.path.join(a.build, "workloads", "sampler_bench")
    for tool in ("memhog", "stress-ng", "strace", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} not found (apt-get install numactl stress-ng strace util-linux)")
    if not os.access(memplace, os.X_OK):
        sys.exit(f"bench: {memplace} not built (make build)")

    thp_mode = open("/sys/kernel/mm/transparent_hugepage/enabled").read().strip()
    print(f"# populate {size >> 20} MiB, mbind bind:{a.node}, {a.runs} runs each, kernel "
          f"{os.uname().release}, THP {thp_mode}, load {os.getloadavg()[0]:.1f}")

    four_k = [
        ("memhog (1 thread)", lambda: memhog_rate(size, a.node, a.cpu)),
        ("stress-ng --vm 1 --vm-populate", lambda: stress_ng_rate(size, a.node, a.cpu)),
        ("memplace --threads 1", lambda: memplace_rate(memplace, size, a.node, 1, False)),
        ("memplace --threads 2", lambda: memplace_rate(memplace, size, a.node, 2, False)),
    ]
    # A THP populate right after a 4 KiB one is slow (the freed 4 KiB pages must be compacted
    # back into 2 MiB blocks first); right after another THP run it is fast. So the THP rows are
    # split by what ran before them, instead of letting the order decide silently.
    thp = [(1, lambda: memplace_rate(memplace, size, a.node, 1, True)),
           (2, lambda: memplace_rate(memplace, size, a.node, 2, True))]
    rng = random.Random(a.seed)
    rates, walls, methods, order = {}, {}, {}, []

    def measure(name, fn):
        if name not in rates:
            rates[name], walls[name], methods[name] = [], [], set()
            order.append(name)
        rate, wall, method = fn()
        rates[name].append(rate)
        walls[name].append(wall)
        methods[name].add(method)

    for i in range(a.runs):
        # A fresh random order each run: no tool always follows the one that just freed memory.
        for name, fn in rng.sample(four_k, len(four_k)):
            measure(name, fn)
        if not a.no_thp:
            pair = thp if i % 2 == 0 else thp[::-1]
            for k, (threads, fn) in enumerate(pair + pair):
                state = "after a 4 KiB run" if k == 0 else "after a THP run"
                measure(f"memplace --threads {threads} --thp ({state})", fn)
        print(f"# run {i + 1}/{a.runs} done", file=sys.stderr)

    base = statistics.median(rates["memhog (1 thread)"])
    print(f"\n{'tool':46} {'method':24} {'n':>2} {'median GiB/s':>12} {'min..max':>13} "
          f"{'wall s':>7} {'x memhog':>8}")
    for name in sorted(order, key=lambda n: (n.startswith("memplace") + ("thp" in n), n)):
        med = statistics.median(rates[name])
        print(f"{name:46} {','.join(sorted(methods[name])):24} {len(rates[name]):2} "
              f"{med / 2**30:12.2f} {min(rates[name]) / 2**30:6.2f}..{max(rates[name]) / 2**30:<6.2f} "
              f"{statistics.median(walls[name]):7.2f} {med / base:8.2f}")

    print("\n# targets (ratios of medians)")
    checks = [("1 thread  >= 1.5x memhog", "memplace --threads 1", 1.5),
              ("2 threads >= 1.8x memhog", "memplace --threads 2", 1.8)]
    if not a.no_thp:
        for state in ("after a THP run", "after a 4 KiB run"):
            checks += [(f"1 thread  >= 1.5x memhog, --thp {state}",
                        f"memplace --threads 1 --thp ({state})", 1.5),
                       (f"2 threads >= 1.8x memhog, --thp {state}",
                        f"memplace --threads 2 --thp ({state})", 1.8)]
    for label, name, want in checks:
        if name not in rates:
            continue
        got = statistics.median(rates[name]) / base
        print(f"{label:52} {got:6.2f}x  {'met' if got >= want else 'NOT met'}")

    if os.access(sampler_bench, os.X_OK):
        print(f"\n# meminfo sampling at 100 Hz, CPU time over {a.sampler_seconds:g} s of wall time")
        for b in sampler_cost(sampler_bench, a.sampler_seconds):
            print(f"{b['name']:40} {b['cpu_percent']:7.3f} % of one CPU "
                  f"({b['ticks']:.0f} ticks, {b['cpu_us_per_tick']:.1f} us CPU per tick)")
    else:
        print(f"\n# {sampler_bench} not built: sampler cost not measured")


if __name__ == "__main__":
    main()
