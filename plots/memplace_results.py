# SPDX-License-Identifier: GPL-2.0-only
"""Reads what the charts draw: chart-data.json (written by memplace) and samples/*.csv.

memplace decides every fold, state, change, split and the headline cell (report/chart_data.h);
this module reads that one file and the samples files it names, and never runs.jsonl. Both are
still untrusted input: each file is bounded in size and type-checked, and a samples file is
opened only when it names a regular file inside its results dir. A file that cannot be read
raises InputError, whose text is one line.
"""
import csv
import io
import json
import math
import os
import stat
import sys

MAX_CHART_DATA_BYTES = 64 << 20  # a 100k-run matrix is ~30 MB of JSON
CHART_DATA_VERSION = 1
MAX_SAMPLES_BYTES = 16 << 20
MAX_SAMPLE_ROWS = 200_000
MAX_SAMPLES_TOTAL = 256 << 20   # all samples files read in one invocation
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


def read_chart_data(path):
    """The chart data memplace wrote, checked for the shape the charts rely on."""
    with open_regular(path, MAX_CHART_DATA_BYTES, "chart data") as f:
        try:
            data = json.loads(f.read().decode("utf-8", errors="replace"))
        except (ValueError, RecursionError):
            raise InputError(f"{path}: not JSON") from None
    if not isinstance(data, dict) or data.get("chart_data_version") != CHART_DATA_VERSION:
        raise InputError(f"{path}: not chart data of version {CHART_DATA_VERSION}")
    for name in ("series", "cells", "folds"):
        if not isinstance(data.get(name), list):
            raise InputError(f"{path}: no '{name}' list")
    if len(data["folds"]) != len(data["series"]) or any(
            not isinstance(row, list) or len(row) != len(data["cells"]) for row in data["folds"]):
        raise InputError(f"{path}: folds do not match series x cells")
    return data


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
    value = record.get(name) if isinstance(record, dict) else None
    return one_line(value) if isinstance(value, str) else ""


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
