"""Reads memplace results dirs: runs.jsonl and samples/*.csv, nothing else.

A results dir is untrusted input. Every file read here is bounded in size, every record field is
type-checked before use, and a samples file is opened only when it names a regular file inside
the results dir. A malformed or truncated line is skipped with a warning naming the line (as
the C++ reader does), so a dir from a killed run still plots; a dir that cannot be read at all
raises InputError, whose text is one line.
"""
import csv
import io
import json
import math
import os
import stat
import sys

MAX_RUNS_BYTES = 64 << 20       # a 100k-run matrix is ~30 MB of JSON
MAX_LINE_BYTES = 1 << 20        # one record is ~6 kB (two meminfo snapshots of ~40 fields)
MAX_RECORDS = 100_000
MAX_SAMPLES_BYTES = 16 << 20
MAX_SAMPLE_ROWS = 200_000
MAX_SAMPLES_TOTAL = 256 << 20   # all samples files read in one invocation
MAX_SUBDIRS = 64                # kernels of a testbed dir
MAX_NODE = 1023
MAX_TEXT = 96                   # longest string taken from a record into a chart


class InputError(Exception):
    """Bad input; str(e) is one line."""


_warned = set()


def warn(message):
    """Once per distinct message: several charts read the same samples file."""
    line = one_line(message, 300)
    if line not in _warned and len(_warned) < 1000:
        _warned.add(line)
        print(f"warning: {line}", file=sys.stderr)


def one_line(text, limit=MAX_TEXT):
    """Printable, single-line and bounded: record text goes into titles and file names."""
    text = "".join(c if c.isprintable() else "?" for c in str(text))
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


class Source:
    """One dir holding a runs.jsonl (a testbed dir has one per kernel)."""

    def __init__(self, path):
        self.path = path
        self.label = one_line(os.path.basename(os.path.normpath(path)) or path)
        self.runs = read_runs(self)

    def samples(self, run):
        return read_samples(self.path, run.samples_file)


class Budget:
    """Bytes of samples files still allowed: many runs naming large files cannot add up."""
    left = MAX_SAMPLES_TOTAL
    warned = False

    @classmethod
    def take(cls, size):
        if size <= cls.left:
            cls.left -= size
            return True
        if not cls.warned:
            warn(f"samples files add up to more than {MAX_SAMPLES_TOTAL} bytes; the rest ignored")
            cls.warned = True
        return False


def open_results(path):
    """[Source] for DIR: DIR itself when it holds runs.jsonl, else its kernel subdirs."""
    if os.path.isfile(os.path.join(path, "runs.jsonl")):
        return [Source(path)]
    if not os.path.isdir(path):
        raise InputError(f"{path}: no such results dir")
    subdirs = []
    with os.scandir(path) as entries:
        for entry in entries:
            # A symlinked subdir could lead anywhere; a results dir never makes one.
            if entry.is_dir(follow_symlinks=False) and \
                    os.path.isfile(os.path.join(entry.path, "runs.jsonl")):
                subdirs.append(entry.path)
    if not subdirs:
        raise InputError(f"{path}: no runs.jsonl here or in its subdirectories")
    if len(subdirs) > MAX_SUBDIRS:
        raise InputError(f"{path}: {len(subdirs)} results subdirs, more than {MAX_SUBDIRS}")
    # Kernels ran one after another in the spec's order, and the first is the baseline.
    sources = [Source(p) for p in sorted(subdirs)]
    return sorted(sources, key=lambda s: min((r.started_at for r in s.runs), default="~"))


def open_regular(path, limit, what):
    """A binary file object for a regular file no larger than limit; symlinks refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as e:
        raise InputError(f"{path}: cannot open {what}: {e.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise InputError(f"{path}: {what} is not a regular file")
    if info.st_size > limit:
        os.close(fd)
        raise InputError(f"{path}: {what} is {info.st_size} bytes, more than {limit}")
    return os.fdopen(fd, "rb")


def read_runs(source):
    path = os.path.join(source.path, "runs.jsonl")
    runs = []
    with open_regular(path, MAX_RUNS_BYTES, "runs.jsonl") as f:
        for number, raw in enumerate(f, 1):
            if len(runs) >= MAX_RECORDS:
                raise InputError(f"{path}: more than {MAX_RECORDS} records")
            if not raw.strip():
                continue
            if len(raw) > MAX_LINE_BYTES:
                warn(f"{path}:{number}: line longer than {MAX_LINE_BYTES} bytes skipped")
                continue
            try:
                record = json.loads(raw.decode("utf-8", errors="replace"))
            except (ValueError, RecursionError):
                warn(f"{path}:{number}: malformed or truncated line skipped")
                continue
            run, why = Run.parse(record, source)
            if run is None:
                warn(f"{path}:{number}: {why}, skipped")
                continue
            runs.append(run)
    return runs


def read_samples(root, name):
    """{node: [(t_seconds, MemUsed_kB)]} for a run's samples file, or {} without one.

    The name comes from a record, so it must be a plain relative path that stays inside the
    results dir once symlinks are resolved; anything else is skipped with a warning.
    """
    if not name:
        return {}
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in name:
        warn(f"{root}: samples_file '{one_line(name)}' is not a plain relative path; ignored")
        return {}
    path = os.path.join(root, *parts)
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
        warn(f"{root}: samples_file '{one_line(name)}' leads outside the results dir; ignored")
        return {}
    if not os.path.exists(path):
        return {}
    try:
        with open_regular(path, MAX_SAMPLES_BYTES, "samples file") as f:
            if not Budget.take(os.fstat(f.fileno()).st_size):
                return {}
            text = io.TextIOWrapper(f, encoding="utf-8", errors="replace", newline="")
            return parse_samples(csv.DictReader(text))
    except (InputError, csv.Error) as e:
        warn(f"{e}; samples ignored")
        return {}


def parse_samples(rows):
    series = {}
    for count, row in enumerate(rows):
        if count >= MAX_SAMPLE_ROWS:
            break
        try:
            node = int(row["node"])
            t = float(row["t_seconds"])
            used = int(row["MemUsed_kB"])
        except (KeyError, ValueError, TypeError):
            continue
        if 0 <= node <= MAX_NODE and math.isfinite(t) and t >= 0 and 0 <= used < 1 << 50:
            series.setdefault(node, []).append((t, used))
    return {n: sorted(points) for n, points in series.items()}


def is_int(v, low, high):
    return isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def node_map(value, check):
    """{"0": x} -> {0: x} keeping only node ids and values that pass check."""
    out = {}
    if isinstance(value, dict):
        for key, v in value.items():
            if isinstance(key, str) and key.isdigit() and int(key) <= MAX_NODE and check(v):
                out[int(key)] = v
    return out


def text_field(record, name):
    value = record.get(name)
    return one_line(value) if isinstance(value, str) else ""


def memused_kb(snapshot):
    """{node: MemUsed kB} from a meminfo snapshot (MemTotal - MemFree when MemUsed is absent)."""
    out = {}
    for node, fields in node_map(snapshot, lambda v: isinstance(v, dict)).items():
        used = fields.get("MemUsed")
        if not is_int(used, 0, 1 << 50):
            total, free = fields.get("MemTotal"), fields.get("MemFree")
            if not (is_int(total, 0, 1 << 50) and is_int(free, 0, total)):
                continue
            used = total - free
        out[node] = used
    return out


class Verdict:
    def __init__(self, raw):
        self.honored = raw.get("honored") if isinstance(raw.get("honored"), bool) else None
        fraction = lambda v: is_num(v) and 0 <= v <= 1  # noqa: E731
        self.expected = node_map(raw.get("expected"), fraction)
        self.measured = node_map(raw.get("measured"), fraction)
        self.reason = text_field(raw, "reason")


class Run:
    """One validated record: only the fields the charts use, each of a known type."""

    @staticmethod
    def parse(record, source):
        if not isinstance(record, dict):
            return None, "not a run record"
        for name in ("policy", "status", "backing", "toucher"):
            if not isinstance(record.get(name), str) or not record[name]:
                return None, f"not a run record (no '{name}')"
        nodes = record.get("nodes") or []
        if not isinstance(nodes, list) or not all(is_int(n, 0, MAX_NODE) for n in nodes):
            return None, "bad 'nodes'"
        run = Run()
        run.source = source
        run.fill(record, sorted(set(nodes)))
        return run, ""

    def fill(self, record, nodes):
        self.policy = text_field(record, "policy")
        self.nodes = nodes
        self.backing = text_field(record, "backing")
        self.toucher = text_field(record, "toucher")
        self.status = text_field(record, "status")
        self.run_id = text_field(record, "run_id")
        self.message = text_field(record, "message")
        self.started_at = text_field(record, "started_at")
        self.samples_file = record.get("samples_file") if isinstance(
            record.get("samples_file"), str) else ""
        get_int = lambda name, hi: record[name] if is_int(record.get(name), 0, hi) else None  # noqa
        self.size_bytes = get_int("size_bytes", 1 << 60) or 0
        self.threads = get_int("threads", 1 << 16) or 1
        self.cpu_node = get_int("cpu_node", MAX_NODE)
        self.repeat = get_int("repeat", 1 << 30) or 0
        self.populate_seconds = record["populate_seconds"] if is_num(
            record.get("populate_seconds")) else None
        self.kernel = kernel_label(record.get("environment"))
        self.pages = node_map(record.get("placement_pages"), lambda v: is_int(v, 0, 1 << 50))
        self.before_kb = memused_kb(record.get("meminfo_before"))
        self.after_kb = memused_kb(record.get("meminfo_after"))
        raw = record.get("verdict")
        self.verdict = Verdict(raw) if isinstance(raw, dict) else None

    @property
    def ok(self):
        return self.status == "ok"

    def cell(self):
        """The cell's identity, the same across kernels and dirs."""
        return (self.policy, tuple(self.nodes), self.backing, self.toucher, self.size_bytes,
                self.threads, self.cpu_node)


def kernel_label(environment):
    """The kernel a record ran on: a named build when the record says so, else the release."""
    env = environment if isinstance(environment, dict) else {}
    build = env.get("kernel_build")
    if isinstance(build, dict) and isinstance(build.get("name"), str) and build["name"]:
        return one_line("build:" + build["name"])
    return text_field(env, "kernel") or "unknown kernel"


def unique_in_order(items):
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def nodes_text(nodes):
    """[0, 1, 2, 5] -> "0-2,5"; [] -> "-" (numactl's spelling, as report.md prints it)."""
    ids = sorted(set(nodes or []))
    if not ids:
        return "-"
    parts, start, prev = [], ids[0], ids[0]
    for cur in ids[1:] + [None]:
        if cur is not None and cur == prev + 1:
            prev = cur
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = cur
    return ",".join(parts)
