# SPDX-License-Identifier: GPL-2.0-only
"""Cells, kernels and verdicts as memplace folded them (chart-data.json): what every chart shows.

The folds, states, changes, splits and the headline cell are memplace's own (report/chart_data.h,
the same code as report.md and `memplace compare`); this module only turns them into objects the
chart modules read, so a chart never says something the tables do not.
"""
import memplace_results as mr

BACKING_ORDER = ["anon", "shmem", "guest_memfd"]
FRACTION = lambda v: mr.is_num(v) and 0 <= v <= 1  # noqa: E731
KB = lambda v: mr.is_int(v, 0, 1 << 50)  # noqa: E731


class Series:
    """The runs of one kernel from one results dir: one colour group in every chart."""

    def __init__(self, raw):
        self.dir = raw.get("dir") if isinstance(raw.get("dir"), str) else ""
        self.kernel = mr.text_field(raw, "kernel") or "unknown kernel"
        self.source_label = mr.one_line(self.dir.rstrip("/").rsplit("/", 1)[-1] or self.dir)
        self.label = self.kernel
        self.short = self.kernel

    def samples(self, run):
        return mr.read_samples(self.dir, run.samples_file)


def label_series(series):
    labels = [s.kernel for s in series]
    if len(set(labels)) != len(labels):  # one kernel in two dirs: the dir tells them apart
        for s in series:
            s.label = mr.one_line(f"{s.source_label}: {s.kernel}")
    if len({s.label for s in series}) != len(series):  # the same dir given twice
        for i, s in enumerate(series):
            s.label = mr.one_line(f"{i + 1}. {s.label}")
    for s, short in zip(series, short_labels([s.label for s in series])):
        s.short = short
    return series


def short_labels(labels):
    """Drop the suffix every label shares ("+deb13-cloud-amd64"), when that keeps them apart."""
    if len(labels) < 2:
        return [mr.one_line(label, 22) for label in labels]
    suffix = labels[0]
    for label in labels[1:]:
        while not label.endswith(suffix):
            suffix = suffix[1:]
    cut = next((i for i, c in enumerate(suffix) if c in "+-_~ "), None)
    short = labels if cut is None else [label[:len(label) - len(suffix) + cut] for label in labels]
    if len(set(short)) != len(short) or not all(short):
        short = labels
    return [mr.one_line(s, 22) for s in short]


class Run:
    """One ok repeat of a cell: its MemUsed snapshots and samples file."""

    def __init__(self, raw):
        self.run_id = mr.text_field(raw, "run_id")
        self.repeat = raw.get("repeat") if mr.is_int(raw.get("repeat"), 0, 1 << 30) else 0
        self.before_kb = mr.node_map(raw.get("before_kb"), KB)
        self.after_kb = mr.node_map(raw.get("after_kb"), KB)
        self.samples_file = raw.get("samples_file") if isinstance(raw.get("samples_file"),
                                                                  str) else ""


class Fold:
    """All repeats of one cell on one series, as memplace folded them."""

    def __init__(self, raw):
        self.state = mr.text_field(raw, "state")
        self.change = mr.text_field(raw, "change")
        self.ok = [Run(r) for r in raw.get("runs", []) if isinstance(r, dict)]
        self.runs = self.ok
        self._split = mr.node_map(raw.get("split"), FRACTION)
        self._expected = mr.node_map(raw.get("expected"), FRACTION)

    def split(self):
        """{node: fraction of pages} summed over ok repeats."""
        return dict(self._split)

    def expected(self):
        return dict(self._expected)


def cell_of(raw):
    """The cell as a tuple: (policy, nodes, backing, toucher, size, threads, cpu_node)."""
    nodes = raw.get("nodes") if isinstance(raw.get("nodes"), list) else []
    cpu = raw.get("cpu_node")
    return (mr.text_field(raw, "policy"), tuple(n for n in nodes if mr.is_int(n, 0, mr.MAX_NODE)),
            mr.text_field(raw, "backing"), mr.text_field(raw, "toucher"),
            raw.get("size_bytes") if mr.is_int(raw.get("size_bytes"), 0, 1 << 60) else 0,
            raw.get("threads") if mr.is_int(raw.get("threads"), 1, 1 << 16) else 1,
            cpu if mr.is_int(cpu, 0, mr.MAX_NODE) else None)


class Matrix:
    """Cells in memplace's order, folded per series, from chart-data.json."""

    def __init__(self, data):
        self.series = label_series([Series(s if isinstance(s, dict) else {})
                                    for s in data["series"]])
        raw_cells = [c if isinstance(c, dict) else {} for c in data["cells"]]
        self.cells = [cell_of(c) for c in raw_cells]
        self._nodes = {cell: [n for n in c.get("split_nodes", []) if mr.is_int(n, 0, mr.MAX_NODE)]
                       for cell, c in zip(self.cells, raw_cells)}
        self.folds = [{cell: Fold(f) for cell, f in zip(self.cells, row) if isinstance(f, dict)}
                      for row in data["folds"]]
        head = data.get("headline") if isinstance(data.get("headline"), dict) else {}
        index = head.get("cell")
        self.headline = (self.cells[index] if mr.is_int(index, 0, len(self.cells) - 1) else None,
                         mr.one_line(head.get("why", ""), 600) if head else "")

    def fold(self, index, cell):
        return self.folds[index].get(cell)

    def change(self, index, cell):
        fold = self.fold(index, cell)
        return fold.change if index and fold else ("missing" if index else "")

    def split_nodes(self, cells):
        """Nodes a split is shown over: placement, expected and policy nodes."""
        return sorted({n for cell in cells for n in self._nodes.get(cell, [])})


def policy_text(policy, nodes):
    return f"{policy} {mr.nodes_text(nodes)}" if nodes else policy


def size_text(size):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} B"


def cell_parts(cell):
    """Every axis of a cell as words, in the order titles use them."""
    policy, nodes, backing, toucher, size, threads, cpu_node = cell
    where = "" if cpu_node is None else f"CPUs of node {cpu_node}"
    return [policy_text(policy, nodes), backing, f"{toucher} toucher", size_text(size),
            f"{threads} thread" + ("s" if threads != 1 else ""), where]


def cell_title(cell):
    return " \u00b7 ".join(p for p in cell_parts(cell) if p)


def cell_key_text(cell):
    """The key `memplace compare` and report.md print: interleave:0-1/guest_memfd/host/..."""
    policy, nodes, backing, toucher, size, threads, cpu_node = cell
    pol = f"{policy}:{mr.nodes_text(nodes)}" if nodes else policy
    cpu = "" if cpu_node is None else f"/cpu{cpu_node}"
    return f"{pol}/{backing}/{toucher}/{size_text(size).replace(' ', '')}/t{threads}{cpu}"


def backings(cells):
    present = mr.unique_in_order(c[2] for c in cells)
    return [b for b in BACKING_ORDER if b in present] + [b for b in present
                                                         if b not in BACKING_ORDER]


def headline_cell(matrix):
    """(cell, why) memplace chose for the headline; (None, why) when the run has no such cell."""
    return matrix.headline


def headline_run(fold):
    """The first ok repeat with both snapshots: the cover letter shows one run, not a mean."""
    runs = [r for r in (fold.ok if fold else []) if r.before_kb and r.after_kb]
    return min(runs, key=lambda r: r.repeat) if runs else None


def memused_mb(kb):
    """MB as the report prints them (MiB, as numastat -m does)."""
    return kb / 1024.0
