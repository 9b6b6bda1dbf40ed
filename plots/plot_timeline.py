# SPDX-License-Identifier: GPL-2.0-only
"""Per-node MemUsed while a cell populates, from its samples file (samples/rNNNN.csv).

draw_headline: the headline cell on every kernel, side by side on one MB axis.
draw_cells: every cell of one kernel (its first repeat with samples), backings across.
"""
from matplotlib.lines import Line2D

import chart_style as cs
import memplace_cells as mc
from plot_memused_bars import backing_grid, panel_title, start_grid

STYLES = ["-", "--", "-.", ":"]
MARKERS = "os^vD"


def first_with_samples(source, fold):
    """(run, {node: points}) for the first ok repeat whose samples can be read."""
    for run in sorted(fold.ok if fold else [], key=lambda r: r.repeat):
        series = source.samples(run)
        if series:
            return run, series
    return None, {}


def node_style(k, points=0):
    """Lines that stay apart when nodes overlap: the first thick and solid, later ones thinner
    and dashed on top; markers only while they do not merge into a band."""
    return {"color": cs.node_colour(k), "linestyle": STYLES[k % 4],
            "linewidth": max(1.2, 3.0 - 0.8 * k), "zorder": 2 + k,
            "marker": MARKERS[k % len(MARKERS)] if points <= 30 else None, "markersize": 4}


def draw_lines(ax, series):
    for k, node in enumerate(sorted(series)):
        points = series[node]
        start = points[0][1]
        ax.plot([t for t, _ in points], [mc.memused_mb(kb - start) for _, kb in points],
                label=f"node {node}", **node_style(k, len(points)))
    ax.grid(alpha=0.3)


def legend_handles(nodes):
    return [Line2D([], [], label=f"node {n}", **node_style(k)) for k, n in enumerate(nodes)]


def draw_headline(fig, matrix, cell):
    shown = [(s, *first_with_samples(s, matrix.fold(i, cell)))
             for i, s in enumerate(matrix.series)]
    if not any(series for _, _, series in shown):
        return False
    fig.set_size_inches(10.0, 4.6)
    first = None
    for k, (s, run, series) in enumerate(shown):
        ax = fig.add_subplot(1, len(shown), k + 1, sharey=first)
        first = first or ax
        ax.set_title(s.label, loc="left", fontweight="bold")
        ax.set_xlabel("time since sampling started (s)")
        if not series:
            ax.text(0.5, 0.5, "no samples", transform=ax.transAxes, ha="center", color=cs.GREY)
            continue
        draw_lines(ax, series)
        ax.text(0.02, 0.97, f"run {run.run_id}, repeat {run.repeat}", transform=ax.transAxes,
                va="top", fontsize=10, color=cs.GREY)
    first.set_ylabel("MemUsed change (MB)")
    fig.suptitle("MemUsed per node during population", x=0.01, ha="left", fontweight="bold")
    fig.text(0.01, 0.9, mc.cell_title(cell), ha="left", va="top", fontsize=10, color=cs.GREY)
    nodes = sorted({n for _, _, series in shown for n in series})
    if nodes:
        fig.legend(handles=legend_handles(nodes), loc="upper right", ncol=len(nodes),
                   frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.88))
    return True


def draw_cells(fig, matrix, index):
    series = matrix.series[index]
    folds = matrix.folds[index]
    cells = [c for c in matrix.cells if c in folds and
             any(r.samples_file for r in folds[c].ok)]
    rows, backings, where = backing_grid(cells)   # bounded: only drawn cells are read
    found = {}
    for cell in where:
        run, points = first_with_samples(series, folds.get(cell))
        if points:
            found[cell] = (run, points)
    if not found:
        return None
    rows, backings, where = backing_grid(list(found))
    nodes = sorted({n for _, points in found.values() for n in points})
    title = f"Per-node MemUsed during each cell's population: {series.label}"
    note = f" {len(cells) - len(found)} cells not drawn." if len(cells) > len(found) else ""
    grid = start_grid(fig, len(rows), len(backings), title,
                      "First repeat with samples; change since sampling started, in MB." + note,
                      legend_handles(nodes))
    for cell, (r, c) in where.items():
        run, points = found[cell]
        ax = fig.add_subplot(grid[r, c])
        draw_lines(ax, points)
        ax.set_title(panel_title(cell), fontsize=10, loc="left")
        ax.set_xlabel("s", fontsize=10, loc="right")
        ax.set_ylabel("MB", fontsize=10)
    return title
