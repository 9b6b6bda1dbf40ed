#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""memplace's populate against memhog and stress-ng, on the same size, policy and CPU.

Each tool is timed the way it can be timed without counting work the others do not do:
  memhog    its progress dots: it prints one after each 10 MiB memset, so the time from the
            first dot to the last covers (size - 10 MiB) of pure populate, without exec,
            startup or the munmap at exit;
  stress-ng strace -T of its one mmap(MAP_POPULATE) of the whole size (--vm-populate), the
            kernel's own populate, without startup, the write pass or teardown;
  memplace  the record's populate_seconds (the toucher's own clock around the populate) and
            its populate_method. Its default advises transparent huge pages as QEMU does for
            guest RAM (run.thp = "auto"); the --no-thp rows are the same populate on 4 KiB pages.
All run pinned to the same CPU(s) (taskset / --cpu-node), with the same mbind policy, in a
random order per run so drift on a noisy machine hits every tool alike. Medians of --runs runs.

Each timed run follows a warm-up: the same size populated (with huge pages) and freed just
before. On a VM with free page reporting (virtio-balloon) memory left free for a couple of
seconds is handed back to the hypervisor in 2 MiB blocks, and the next tool to touch it pays the
hypervisor's faults: 0.4-0.7 GiB/s instead of 15-20 with huge pages. The warm-up gives every
tool memory the hypervisor already backs, so the ratios compare populate methods, not who ran
after a pause. --no-warmup shows the difference.

Then the trace placement source's cost: a 1 GiB cell (--trace-size) populated with and without
the page-allocation trace (`--placement-sources trace` against `none`), through each of its
transports (`--trace-transport tracefs` and `bpf`), on 4 KiB pages (one event per page, its
worst case) and with huge pages, the runs interleaved in one session; medians and their ratios
(goal: at most 10% more populate time, on the default transport before 7.0, BPF). Beside them, the same
runs under a bare tracefs instance that records mm_page_alloc and nothing else, read by nobody:
what the kernel charges per event whoever consumes it through tracefs, the floor the tracefs
transport cannot get under.

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


def warm_up(memplace, size, node):
    """Populates and frees `size` bytes so the timed run that follows finds them backed."""
    with tempfile.TemporaryDirectory(prefix="memplace-warmup-") as d:
        subprocess.run([memplace, "run", "--policy", "bind", "--nodes", str(node), "--size",
                        f"{size >> 20}MiB", "--threads", "2", "--out", os.path.join(d, "out"), "-q",
                        "--no-plots"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def memplace_rate(memplace, size, node, threads, thp, sources="none", preexec=None,
                  transport=None):
    """The populate rate of one memplace run; `sources` are its placement sources beside
    move_pages (the tool rows run without any, as memplace populated before they existed),
    `transport` the trace source's (--trace-transport). `preexec` runs in the child before exec
    (the bare trace's pid registration)."""
    with tempfile.TemporaryDirectory(prefix="memplace-bench-") as d:
        out = os.path.join(d, "out")
        cmd = [memplace, "run", "--policy", "bind", "--nodes", str(node), "--size", f"{size >> 20}MiB",
               "--threads", str(threads), "--cpu-node", str(node), "--out", out, "-q", "--no-plots",
               "--placement-sources", sources]
        if not thp:
            cmd.append("--no-thp")
        if transport:
            cmd += ["--trace-transport", transport]
        t0 = time.monotonic()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           preexec_fn=preexec)
        wall = time.monotonic() - t0
        with open(os.path.join(out, "runs.jsonl")) as f:
            rec = json.loads(f.readline())
        if rec["status"] != "ok":
            raise RuntimeError(f"memplace run: {rec['status']}: {rec['message']} {r.stderr}")
        if sources != "none":
            trace = rec.get("placement_sources", {}).get("trace", {})
            if "pages" not in trace:
                raise RuntimeError(f"memplace run: the trace source did not measure: {trace}")
            if transport and trace.get("transport") != transport:
                raise RuntimeError(f"memplace run: the trace came through {trace.get('transport')}, "
                                   f"not {transport}: {trace}")
        return size / rec["populate_seconds"], wall, rec["populate_method"]


class BareTrace:
    """The kernel's own price of the events, the floor under any tracefs consumer: an instance
    with only kmem:mm_page_alloc enabled for the run's tasks (its pid, and event-fork for its
    threads), no filter, the counter clock memplace uses, and no reader: the buffer holds the
    whole cell. The run itself traces nothing (--placement-sources none). The event is enabled
    only around the bare runs: an enabled event costs every allocation a probe call even while
    its instance records nothing, which made the untraced and traced runs pay for this one too
    (traced/bare read 1.05-1.08 with the event left on, 0.99-1.00 without, 1 GiB, this VM)."""

    def __init__(self, size):
        self.dir = f"/sys/kernel/tracing/instances/memplace-bench-{os.getpid()}"
        os.mkdir(self.dir, 0o700)
        # One ~32-byte event per 4 KiB page, with room for the run's own startup.
        kib = min(max(size // 4096 * 48 // 1024 + 4096, 1024), 256 * 1024)
        try:
            for name, text in (("tracing_on", "0"), ("buffer_size_kb", str(kib)),
                               ("options/overwrite", "0"), ("options/event-fork", "1"),
                               ("trace_clock", "counter")):
                self._write(name, text)
        except OSError:
            self.close()  # a half-made instance is not left behind
            raise

    def _write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def enable(self):
        """Before a bare run, in the parent."""
        self._write("events/kmem/mm_page_alloc/enable", "1")

    def register_self(self):
        """preexec_fn: the child lists itself before it execs memplace, then tracing starts."""
        self._write("set_event_pid", str(os.getpid()))
        self._write("tracing_on", "1")

    def finish(self):
        """Stops tracing; an event lost means the floor was not measured in full."""
        self._write("tracing_on", "0")
        self._write("events/kmem/mm_page_alloc/enable", "0")
        dropped = 0
        for cpu in os.listdir(os.path.join(self.dir, "per_cpu")):
            with open(os.path.join(self.dir, "per_cpu", cpu, "stats")) as f:
                dropped += sum(int(line.split()[-1]) for line in f
                               if line.startswith(("overrun", "dropped events")))
        self._write("set_event_pid", "")
        self._write("trace", "")
        if dropped:
            raise RuntimeError(f"bare trace: {dropped} events lost; the floor is not measured")

    def close(self):
        self._write("events/kmem/mm_page_alloc/enable", "0")
        os.rmdir(self.dir)


def trace_overhead(memplace, size, node, runs, warmup, rng):
    """Populate seconds untraced, under the bare trace (the tracefs floor), and with memplace's
    trace source through each transport, interleaved; medians and ratios. The goal is on the
    BPF transport, the default before 7.0 (trace_transport.h)."""
    print(f"\n# trace source: populate {size >> 20} MiB bound to node {node}, 1 thread, "
          f"{runs} runs each of: untraced, the bare trace (mm_page_alloc into a tracefs instance "
          f"nobody reads: the floor of any tracefs consumer), and --placement-sources trace "
          f"through tracefs and through BPF; interleaved. Kernel {os.uname().release}, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"{'pages':6} {'untraced s':>10} {'bare s':>7} {'tracefs s':>9} {'bpf s':>7} "
          f"{'bare/untr':>9} {'tracefs/untr':>12} {'bpf/untr':>8}  goal bpf/untr <= 1.10")
    bare = BareTrace(size)
    try:
        for thp in (False, True):
            secs = {"none": [], "bare": [], "tracefs": [], "bpf": []}
            for _ in range(runs):
                for mode in rng.sample(list(secs), len(secs)):
                    if warmup:
                        warm_up(memplace, size, node)
                    traced = mode in ("tracefs", "bpf")
                    hook = None
                    if mode == "bare":
                        bare.enable()
                        hook = bare.register_self
                    rate, _, _ = memplace_rate(memplace, size, node, 1, thp,
                                               "trace" if traced else "none", hook,
                                               mode if traced else None)
                    if mode == "bare":
                        bare.finish()
                    secs[mode].append(size / rate)
            m = {k: statistics.median(v) for k, v in secs.items()}
            r = {k: m[k] / m["none"] for k in m}
            print(f"{'huge' if thp else '4 KiB':6} {m['none']:10.3f} {m['bare']:7.3f} "
                  f"{m['tracefs']:9.3f} {m['bpf']:7.3f} {r['bare']:9.3f} {r['tracefs']:12.3f} "
                  f"{r['bpf']:8.3f}  {'met' if r['bpf'] <= 1.10 else 'NOT met'}")
            print("       min..max: " + "   ".join(
                f"{k} {min(v):.3f}..{max(v):.3f}" for k, v in secs.items()))
    finally:
        bare.close()


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
    ap.add_argument("--trace-size", default="1g", help="cell size for the trace source's cost")
    ap.add_argument("--no-warmup", action="store_true",
                    help="time each tool on whatever memory it gets (see the module docstring)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the per-run tool order")
    ap.add_argument("--only", choices=["tools", "trace", "sampler"],
                    help="run one part: the tools' populate, the trace source's cost, the sampler")
    a = ap.parse_args()
    size = parse_size(a.size)
    memplace = os.path.join(a.build, "memplace")
    sampler_bench = os.path.join(a.build, "workloads", "sampler_bench")
    for tool in ("memhog", "stress-ng", "strace", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} not found (apt-get install numactl stress-ng strace util-linux)")
    if not os.access(memplace, os.X_OK):
        sys.exit(f"bench: {memplace} not built (make build)")

    rng = random.Random(a.seed)
    if a.only in (None, "tools"):
        compare_tools(a, size, memplace, rng)
    if a.only in (None, "trace"):
        trace_overhead(memplace, parse_size(a.trace_size), a.node, a.runs, not a.no_warmup, rng)
    if a.only in (None, "sampler"):
        sampler_part(sampler_bench, a.sampler_seconds)


def compare_tools(a, size, memplace, rng):
    """memplace's populate rate against memhog's and stress-ng's; medians and ratios."""
    thp_mode = open("/sys/kernel/mm/transparent_hugepage/enabled").read().strip()
    print(f"# populate {size >> 20} MiB, mbind bind:{a.node}, {a.runs} runs each, kernel "
          f"{os.uname().release}, THP {thp_mode}, load {os.getloadavg()[0]:.1f}, "
          f"{'no warm-up' if a.no_warmup else 'warm-up before each run'}")

    tools = [
        ("memhog (1 thread)", lambda: memhog_rate(size, a.node, a.cpu)),
        ("stress-ng --vm 1 --vm-populate", lambda: stress_ng_rate(size, a.node, a.cpu)),
        ("memplace --threads 1", lambda: memplace_rate(memplace, size, a.node, 1, True)),
        ("memplace --threads 2", lambda: memplace_rate(memplace, size, a.node, 2, True)),
        ("memplace --threads 1 --no-thp", lambda: memplace_rate(memplace, size, a.node, 1, False)),
        ("memplace --threads 2 --no-thp", lambda: memplace_rate(memplace, size, a.node, 2, False)),
    ]
    rates, walls, methods, order = {}, {}, {}, []

    def measure(name, fn):
        if name not in rates:
            rates[name], walls[name], methods[name] = [], [], set()
            order.append(name)
        if not a.no_warmup:
            warm_up(memplace, size, a.node)
        rate, wall, method = fn()
        rates[name].append(rate)
        walls[name].append(wall)
        methods[name].add(method)

    for i in range(a.runs):
        # A fresh random order each run: no tool always follows the same one.
        for name, fn in rng.sample(tools, len(tools)):
            measure(name, fn)
        print(f"# run {i + 1}/{a.runs} done", file=sys.stderr)

    base = statistics.median(rates["memhog (1 thread)"])
    print(f"\n{'tool':46} {'method':24} {'n':>2} {'median GiB/s':>12} {'min..max':>13} "
          f"{'wall s':>7} {'x memhog':>8}")
    for name in sorted(order, key=lambda n: (n.startswith("memplace") + ("no-thp" in n), n)):
        med = statistics.median(rates[name])
        print(f"{name:46} {','.join(sorted(methods[name])):24} {len(rates[name]):2} "
              f"{med / 2**30:12.2f} {min(rates[name]) / 2**30:6.2f}..{max(rates[name]) / 2**30:<6.2f} "
              f"{statistics.median(walls[name]):7.2f} {med / base:8.2f}")

    print("\n# targets (ratios of medians)")
    checks = [("1 thread  >= 1.5x memhog", "memplace --threads 1", 1.5),
              ("2 threads >= 1.8x memhog", "memplace --threads 2", 1.8),
              ("1 thread  >= 1.5x memhog, 4 KiB pages (--no-thp)", "memplace --threads 1 --no-thp", 1.5),
              ("2 threads >= 1.8x memhog, 4 KiB pages (--no-thp)", "memplace --threads 2 --no-thp", 1.8)]
    for label, name, want in checks:
        got = statistics.median(rates[name]) / base
        print(f"{label:52} {got:6.2f}x  {'met' if got >= want else 'NOT met'}")
    print(f"(memhog's own pages are 4 KiB here unless THP is 'always': THP is {thp_mode})")


def sampler_part(sampler_bench, seconds):
    if os.access(sampler_bench, os.X_OK):
        print(f"\n# meminfo sampling at 100 Hz, CPU time over {seconds:g} s of wall time")
        for b in sampler_cost(sampler_bench, seconds):
            print(f"{b['name']:40} {b['cpu_percent']:7.3f} % of one CPU "
                  f"({b['ticks']:.0f} ticks, {b['cpu_us_per_tick']:.1f} us CPU per tick)")
    else:
        print(f"\n# {sampler_bench} not built: sampler cost not measured")


if __name__ == "__main__":
    main()
