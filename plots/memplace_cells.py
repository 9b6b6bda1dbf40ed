"""Cells, kernels and verdicts, derived from validated runs: what every chart agrees on.

The folding rules (split over ok repeats, "honoured"/"mixed"/... states, fix and regression
against the first kernel) are the C++ report's and `memplace compare`'s, so a chart never says
something the tables do not.
"""
import memplace_results as mr

BACKING_ORDER = ["anon", "shmem", "guest_memfd"]
# The cover letter's memory is faulted by a guest's vCPUs: a real QEMU guest is the closest
# toucher, memplace's micro-VM vCPUs next, host threads last.
TOUCHER_RANK = {"qemu": 0, "vcpu": 1, "host": 2}


class Series:
    """The runs of one kernel from one dir: one bar colour-group in every chart."""

    def __init__(self, source, kernel):
        self.source = source
        self.kernel = kernel
        self.runs = [r for r in source.runs if r.kernel == kernel]
        self.label = kernel
        self.short = kernel


def build_series(sources):
    series = []
    for source in sources:
        for kernel in mr.unique_in_order(r.kernel for r in source.runs):
            series.append(Series(source, kernel))
    labels = [s.kernel for s in series]
    if len(set(labels)) != len(labels):  # one kernel in two dirs: the dir tells them apart
        for s in series:
            s.label = mr.one_line(f"{s.source.label}: {s.kernel}")
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


class Fold:
    """All repeats of one cell on one series, folded as the C++ CellFold does."""

    def __init__(self, runs):
        self.runs = runs
        self.ok = [r for r in runs if r.ok]
        judged = [r.verdict.honored for r in self.ok
                  if r.verdict and r.verdict.honored is not None]
        self.judged, self.honoured = len(judged), sum(judged)

    @property
    def state(self):
        if not self.ok:
            return "failed" if any(r.status == "failed" for r in self.runs) else "unsupported"
        if self.judged == 0:
            return "no verdict"
        if self.honoured == self.judged:
            return "honoured"
        return "not honoured" if self.honoured == 0 else "mixed"

    def split(self):
        """{node: fraction of pages} summed over ok repeats (verdict.measured without pages)."""
        pages = {}
        for r in self.ok:
            for node, count in r.pages.items():
                pages[node] = pages.get(node, 0) + count
        total = sum(pages.values())
        if total:
            return {n: p / total for n, p in pages.items()}
        out = {}
        for r in self.ok:
            for node, f in (r.verdict.measured if r.verdict else {}).items():
                out[node] = out.get(node, 0.0) + f / len(self.ok)
        return out

    def expected(self):
        for r in self.ok:
            if r.verdict and r.verdict.expected:
                return dict(r.verdict.expected)
        return {}


def change(base, side):
    """memplace compare's classification of one cell on `side` against the baseline."""
    if base is None or not base.runs:
        return "new" if side and side.runs else ""
    if side is None or not side.runs:
        return "missing"
    unhonoured = ("not honoured", "mixed")
    if base.state == "honoured" and side.state in unhonoured:
        return "regression"
    if base.state in unhonoured and side.state == "honoured":
        return "fix"
    return "same" if base.state == side.state else "changed"


class Matrix:
    """Cells in order of first appearance, folded per series."""

    def __init__(self, series):
        self.series = series
        self.cells = mr.unique_in_order(r.cell() for s in series for r in s.runs)
        self.folds = []
        for s in series:
            by_cell = {}
            for r in s.runs:
                by_cell.setdefault(r.cell(), []).append(r)
            self.folds.append({cell: Fold(runs) for cell, runs in by_cell.items()})

    def fold(self, index, cell):
        return self.folds[index].get(cell)

    def change(self, index, cell):
        return change(self.fold(0, cell), self.fold(index, cell)) if index else ""

    def split_nodes(self, cells):
        """Nodes a split is shown over: placement, expected and policy nodes."""
        nodes = set()
        for folds in self.folds:
            for cell in cells:
                fold = folds.get(cell)
                if fold and fold.ok:
                    nodes |= set(fold.split()) | set(fold.expected()) | set(cell[1])
        return sorted(nodes)


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
    """(cell, why) for the cover letter's cell: guest_memfd interleaved over nodes 0-1,
    touched from node 0 by a guest's vCPUs; (None, why) when the run has no such cell."""
    def measured_everywhere(cell):
        return all(f.get(cell) and f[cell].ok for f in matrix.folds)

    candidates = [c for c in matrix.cells if c[0] == "interleave" and c[2] == "guest_memfd"
                  and any(f.get(c) and f[c].ok for f in matrix.folds)]
    if not candidates:
        return None, "no interleave cell on guest_memfd was measured"
    candidates.sort(key=lambda c: (not measured_everywhere(c), c[1] != (0, 1),
                                   c[6] not in (0, None), TOUCHER_RANK.get(c[3], 9), -c[4],
                                   c[5]))
    chosen = candidates[0]
    if len(candidates) == 1:
        return chosen, "the run's only interleave cell on guest_memfd"
    others = ", ".join(cell_key_text(c) for c in candidates[1:4])
    more = f" and {len(candidates) - 4} more" if len(candidates) > 4 else ""
    why = ("the closest of this run's cells to the cover letter's, where a guest's vCPUs fault "
           f"the memory from node 0 (also measured: {others}{more})")
    return chosen, why


def headline_run(fold):
    """The first ok repeat with both snapshots: the cover letter shows one run, not a mean."""
    runs = [r for r in (fold.ok if fold else []) if r.before_kb and r.after_kb]
    return min(runs, key=lambda r: r.repeat) if runs else None


def memused_mb(kb):
    """MB as the report prints them (MiB, as numastat -m does)."""
    return kb / 1024.0
