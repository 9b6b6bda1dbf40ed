# SPDX-License-Identifier: GPL-2.0-only
"""The headline figure: the cover letter's pair of tables as one picture.

Per kernel, per node: MemUsed before and after the touch of the guest_memfd interleave cell, one
shared MB axis, each node's delta written in MB, and the verdict. Like the cover letter it shows
one run (the first repeat), not a mean, so its numbers are the ones report.md prints for that run.
A dashed outline marks where "after" would be if the policy were honored. Each delta is an SVG
text element with the id headline-delta-S-nN (S = series index, N = node), for the fidelity test.
"""
import textwrap

from matplotlib.patches import Patch

import chart_style as cs
import memplace_cells as mc

WIDTH_IN = 10.0   # 1000 px: the width the figure must read at
PANEL_H_IN = 3.4
HEADER_IN, FOOTER_IN = 1.25, 0.95


def draw(fig, matrix):
    """Draws the figure; returns (title, cell, why) or None when there is no such cell."""
    cell, why = mc.headline_cell(matrix)
    if cell is None:
        return None
    shown = [(i, mc.headline_run(matrix.fold(i, cell))) for i in range(len(matrix.series))]
    nodes = sorted({n for _, r in shown if r for n in set(r.before_kb) | set(r.after_kb)})
    if not nodes:
        return None
    cols = min(len(shown), 3)
    rows = (len(shown) + cols - 1) // cols
    band = PANEL_H_IN + FOOTER_IN
    height = HEADER_IN + band * rows
    fig.set_size_inches(WIDTH_IN, height)
    grid = fig.add_gridspec(rows, cols, left=0.08, right=0.98, wspace=0.12,
                            top=1 - (HEADER_IN + 0.3) / height, bottom=FOOTER_IN / height,
                            hspace=(FOOTER_IN + 0.3) / PANEL_H_IN)
    first, tops = None, []
    for k, (index, run) in enumerate(shown):
        ax = fig.add_subplot(grid[k // cols, k % cols], sharey=first)
        first = first or ax
        tops.append(draw_kernel(ax, matrix, index, cell, run, nodes))
        if k % cols:
            ax.tick_params(labelleft=False)
    first.set_ylim(0, max(tops) * 1.18)   # room for the delta labels above the tallest bar
    for k in range(0, len(shown), cols):
        fig.axes[k].set_ylabel("MemUsed (MB)")
    title = f"Where guest_memfd memory landed: {mc.policy_text(cell[0], cell[1])}"
    header(fig, height, title, cell, why)
    return title, cell, why


def header(fig, height, title, cell, why):
    fig.suptitle(title, x=0.01, y=1 - 0.12 / height, ha="left", va="top", fontweight="bold")
    text = "\n".join(textwrap.wrap(f"{mc.cell_title(cell)}: {why}.", 125))
    fig.text(0.01, 1 - 0.48 / height, text, ha="left", va="top", fontsize=10, color=cs.GREY)
    handles = [Patch(color=cs.BEFORE, label="before"), Patch(color=cs.AFTER, label="after"),
               Patch(fill=False, edgecolor="black", linestyle="--", label="after, if honored")]
    fig.legend(handles=handles, loc="upper right", ncol=3, frameon=False,
               bbox_to_anchor=(0.99, 1 - 0.02 / height))


def draw_kernel(ax, matrix, index, cell, run, nodes):
    """One kernel's panel; returns the top of what it drew, in MB."""
    fold = matrix.fold(index, cell)
    ax.set_title(matrix.series[index].label, loc="left", fontweight="bold")
    xs = list(range(len(nodes)))
    ax.set_xticks(xs, [f"Node {n}" for n in nodes])
    ax.set_xlim(-0.6, len(nodes) - 0.4)
    if run is None:
        ax.text(0.5, 0.5, f"no measurement ({fold.state if fold else 'not run'})",
                transform=ax.transAxes, ha="center", va="center", color=cs.GREY)
        return 1.0
    width, top = 0.38, 1.0
    expected = fold.expected()
    size_mb = mc.memused_mb(cell[4] / 1024.0)
    for x, node in zip(xs, nodes):
        b = mc.memused_mb(run.before_kb[node]) if node in run.before_kb else None
        a = mc.memused_mb(run.after_kb[node]) if node in run.after_kb else None
        ax.bar(x - width / 2, b or 0, width, color=cs.BEFORE)
        ax.bar(x + width / 2, a or 0, width, color=cs.AFTER)
        if a is None or b is None:
            continue
        ideal = b + size_mb * expected.get(node, 0.0)
        if expected:
            ax.bar(x + width / 2, ideal - b, width, bottom=b, fill=False, edgecolor="black",
                   linestyle="--", linewidth=1.2)
        label_at = max(a, b, ideal if expected else 0)
        ax.annotate(f"{a - b:+.2f} MB", (x, label_at), xytext=(0, 5),
                    textcoords="offset points", ha="center", va="bottom", fontsize=12,
                    fontweight="bold", gid=f"headline-delta-{index}-n{node}")
        top = max(top, label_at)
    verdict_lines(ax, matrix, index, cell, run)
    return top


def verdict_lines(ax, matrix, index, cell, run):
    fold = matrix.fold(index, cell)
    split_nodes = matrix.split_nodes([cell])
    measured = "/".join(f"{round(100 * fold.split().get(n, 0.0))}" for n in split_nodes)
    expected = "/".join(f"{round(100 * fold.expected().get(n, 0.0))}" for n in split_nodes)
    below = {"xy": (0, 0), "xycoords": "axes fraction", "textcoords": "offset points",
             "ha": "left", "va": "top"}
    ax.annotate(f"{cs.state_mark(fold.state)}: pages {measured}, expected {expected}",
                xytext=(0, -26), color=cs.state_colour(fold.state), fontsize=11,
                fontweight="bold", gid=f"headline-verdict-{index}", **below)
    total = sum(run.after_kb.get(n, 0) - kb for n, kb in run.before_kb.items()
                if n in run.after_kb)
    change = matrix.change(index, cell)
    note = f"; {change.upper()} vs {matrix.series[0].short}" if change in (
        "fix", "regression") else ""
    ax.annotate(f"run {run.run_id} (repeat {run.repeat} of {len(fold.runs)}), "
                f"total {mc.memused_mb(total):+.2f} MB{note}", xytext=(0, -46), fontsize=10,
                color=cs.GREY, **below)
