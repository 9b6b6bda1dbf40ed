# SPDX-License-Identifier: GPL-2.0-only
"""Per kernel, every cell as the cover letter shows one: per-node MemUsed before and after.

Backings across, the other axes of a cell down; means over the ok repeats, each node's mean
delta written above its bars. Every panel's title names the whole cell.
"""
from matplotlib.patches import Patch

import chart_style as cs
import memplace_cells as mc
import memplace_results as mr

PANEL_W_IN, PANEL_H_IN = 4.2, 2.9
MAX_ROWS, MAX_COLUMNS = 24, 6


def backing_grid(cells):
    """(rows, backings, {cell: (row, column)}): backings across, everything else down."""
    backings = mc.backings(cells)[:MAX_COLUMNS]
    rows = mr.unique_in_order((c[0], c[1]) + c[3:] for c in cells)[:MAX_ROWS]
    where = {}
    for c in cells:
        key = (c[0], c[1]) + c[3:]
        if key in rows and c[2] in backings:
            where[c] = (rows.index(key), backings.index(c[2]))
    return rows, backings, where


def panel_title(cell):
    """The whole cell on two lines: what and how it was touched."""
    parts = mc.cell_parts(cell)
    return " \u00b7 ".join(parts[:3]) + "\n" + " \u00b7 ".join(p for p in parts[3:] if p)


def start_grid(fig, rows, cols, title, subtitle, handles=()):
    """Sizes the figure and reserves a header band, so the title never overlaps panel 1."""
    height = PANEL_H_IN * rows + 1.1
    fig.set_size_inches(PANEL_W_IN * cols, height)
    fig.suptitle(title, x=0.01, y=1 - 0.12 / height, ha="left", va="top", fontweight="bold")
    fig.text(0.01, 1 - 0.5 / height, subtitle, ha="left", va="top", fontsize=10, color=cs.GREY)
    if handles:
        fig.legend(handles=handles, loc="upper right", ncol=len(handles), frameon=False,
                   bbox_to_anchor=(0.99, 1 - 0.05 / height))
    return fig.add_gridspec(rows, cols, top=1 - 1.1 / height, bottom=0.35 / height,
                            left=0.07, right=0.99, hspace=0.75, wspace=0.28)


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def draw(fig, matrix, index):
    series = matrix.series[index]
    folds = matrix.folds[index]
    cells = [c for c in matrix.cells if c in folds and
             any(r.before_kb and r.after_kb for r in folds[c].ok)]
    if not cells:
        return None
    rows, backings, where = backing_grid(cells)
    title = f"Per-node MemUsed before and after each cell's touch: {series.label}"
    handles = [Patch(color=cs.BEFORE, label="before"), Patch(color=cs.AFTER, label="after")]
    note = f" {len(cells) - len(where)} cells not drawn." if len(cells) > len(where) else ""
    grid = start_grid(fig, len(rows), len(backings), title,
                      "Means over the ok repeats (n); labels: the change per node in MB." + note,
                      handles)
    first = None
    for cell, (r, c) in where.items():
        ax = fig.add_subplot(grid[r, c], sharey=first)
        first = first or ax
        draw_panel(ax, cell, folds[cell])
    return title


def draw_panel(ax, cell, fold):
    runs = [r for r in fold.ok if r.before_kb and r.after_kb]
    nodes = sorted(set().union(*(set(r.before_kb) | set(r.after_kb) for r in runs)))
    before = [mean(mc.memused_mb(r.before_kb[n]) if n in r.before_kb else None for r in runs)
              for n in nodes]
    after = [mean(mc.memused_mb(r.after_kb[n]) if n in r.after_kb else None for r in runs)
             for n in nodes]
    xs = range(len(nodes))
    width = 0.38
    ax.bar([x - width / 2 for x in xs], [b or 0 for b in before], width, color=cs.BEFORE,
           label="before")
    ax.bar([x + width / 2 for x in xs], [a or 0 for a in after], width, color=cs.AFTER,
           label="after")
    for x, b, a in zip(xs, before, after):
        if a is not None and b is not None:
            delta = a - b if abs(a - b) >= 0.05 else 0.0   # no "-0.0"
            ax.annotate(f"{delta:+.1f}", (x, max(a, b)), ha="center", va="bottom",
                        fontsize=10, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(list(xs), [f"Node {n}" for n in nodes])
    ax.set_ylabel("MemUsed (MB)", fontsize=10)
    ax.margins(y=0.22)
    ax.set_title(panel_title(cell), fontsize=10, loc="left")
    state = fold.state
    ax.text(0.99, 0.98, f"{cs.state_mark(state)} (n={len(runs)})", transform=ax.transAxes,
            ha="right", va="top", fontsize=10, color=cs.state_colour(state))
