"""Reads a memplace results dir: runs.jsonl and samples/*.csv, nothing else.

Mirrors the C++ reader's tolerance: a truncated or malformed line is skipped with a warning
naming the line, so a dir from a killed run still plots.
"""
import csv
import json
import os
import sys


class ResultsDir:
    def __init__(self, path):
        self.path = path
        self.label = os.path.basename(os.path.normpath(path))
        self.runs = read_runs(os.path.join(path, "runs.jsonl"))

    def samples(self, run):
        """{node: [(t_seconds, MemUsed_kB), ...]} for a run, or {} when it has none."""
        name = run.get("samples_file") or ""
        path = os.path.join(self.path, name)
        if not name or not os.path.isfile(path):
            return {}
        series = {}
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                try:
                    node = int(row["node"])
                    series.setdefault(node, []).append(
                        (float(row["t_seconds"]), int(row["MemUsed_kB"])))
                except (KeyError, ValueError, TypeError):
                    continue
        return series

    def kernels(self):
        return unique(kernel_of(r) for r in self.runs)


def read_runs(path):
    runs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                print(f"warning: {path}:{number}: malformed or truncated line skipped",
                      file=sys.stderr)
                continue
            if not isinstance(record, dict) or "policy" not in record or "status" not in record:
                print(f"warning: {path}:{number}: not a run record, skipped", file=sys.stderr)
                continue
            runs.append(record)
    return runs


def unique(items):
    out = []
    for i in items:
        if i not in out:
            out.append(i)
    return out


def kernel_of(run):
    return (run.get("environment") or {}).get("kernel") or "unknown kernel"


def nodes_text(nodes):
    """[0, 1, 2, 5] -> "0-2,5"; [] -> "-"."""
    ids = sorted(set(nodes or []))
    if not ids:
        return "-"
    parts = []
    start = prev = ids[0]
    for cur in ids[1:] + [None]:
        if cur is not None and cur == prev + 1:
            prev = cur
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = cur
    return ",".join(parts)


def cell_key(run):
    if run.get("cell_key"):
        return run["cell_key"]
    pol = run["policy"] + (":" + nodes_text(run.get("nodes")) if run.get("nodes") else "")
    return f"{pol}/{run.get('backing')}/{run.get('toucher')}/{run.get('size_bytes')}"


def policy_text(run):
    """"interleave 0-1", or just "default" when the policy takes no nodes."""
    nodes = run.get("nodes")
    return f"{run['policy']} {nodes_text(nodes)}" if nodes else run["policy"]


def cell_title(run):
    return f"{policy_text(run)} / {run.get('backing')}"


def memused_mb(snapshot, node):
    """MemUsed of one node in MB (MiB, as numastat prints), or None."""
    fields = (snapshot or {}).get(str(node))
    if not fields:
        return None
    if "MemUsed" in fields:
        return fields["MemUsed"] / 1024.0
    if "MemTotal" in fields and "MemFree" in fields:
        return (fields["MemTotal"] - fields["MemFree"]) / 1024.0
    return None


def snapshot_nodes(run):
    keys = set((run.get("meminfo_before") or {}).keys()) | set(
        (run.get("meminfo_after") or {}).keys())
    return sorted(int(k) for k in keys)


def split(runs):
    """Fraction of pages per node summed over the ok runs given: {node: fraction}."""
    pages = {}
    for r in runs:
        for node, count in (r.get("placement_pages") or {}).items():
            pages[int(node)] = pages.get(int(node), 0) + count
    total = sum(pages.values())
    if total == 0:
        measured = {}
        for r in runs:
            for node, f in ((r.get("verdict") or {}).get("measured") or {}).items():
                measured[int(node)] = measured.get(int(node), 0) + f / len(runs)
        return measured
    return {n: p / total for n, p in pages.items()}


def state(runs):
    """'honoured' | 'not honoured' | 'mixed' | 'unsupported' | 'failed' | 'no verdict'."""
    ok = [r for r in runs if r.get("status") == "ok"]
    if not ok:
        return "failed" if any(r.get("status") == "failed" for r in runs) else "unsupported"
    judged = [r["verdict"]["honored"] for r in ok if r.get("verdict")]
    if not judged:
        return "no verdict"
    if all(judged):
        return "honoured"
    return "not honoured" if not any(judged) else "mixed"


def group_cells(runs):
    """[(key, [runs])] in order of first appearance, keyed by kernel and cell."""
    groups = {}
    for r in runs:
        groups.setdefault((kernel_of(r), cell_key(r)), []).append(r)
    return list(groups.items())


STATE_COLOURS = {"honoured": "#1a7f37", "not honoured": "#cf222e", "mixed": "#bf8700"}


def state_colour(s):
    return STATE_COLOURS.get(s, "#6e7781")
