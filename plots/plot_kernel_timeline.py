# SPDX-License-Identifier: GPL-2.0-only
"""The kernel timeline: one row per cell, one column per kernel in the order they ran.

Each square shows the measured split over the nodes as stacked bars and is edged in the verdict's
colour (green honored, red not honored, amber mixed, grey unsupported or failed, blank absent);
the label under it is the split and the verdict. Drawn for three or more kernels: two are a
comparison, which split_grid shows.
"""
from matplotlib.patches import Patch, Rectangle

import chart_style as cs
import memplace_cells as mc

CELL_IN, LABEL_IN, HEADER_IN, FOOTER_IN, RIGHT_IN = 1.5, 3.6, 1.9, 0.6, 1.2
MAX_CELLS = 40


def title(matrix):
    return f"Kernel timeline: {len(matrix.cells)} cells on {len(matrix.series)} kernels"


def draw_square(ax, x, y, fold, nodes):
    if fold is None:
        ax.text(x + 0.5, y + 0.5, "-", ha="center", va="center", color=cs.GREY)
        return
    split = fold.split()
    if fold.ok and split:
        bottom = y + 0.12
        for i, node in enumerate(nodes):
            h = 0.62 * split.get(node, 0.0)
            ax.add_patch(Rectangle((x + 0.2, bottom), 0.6, h, color=cs.node_colour(i)))
            bottom += h
    ax.add_patch(Rectangle((x + 0.06, y + 0.06), 0.88, 0.88, fill=False, linewidth=2.2,
                           edgecolor=cs.state_colour(fold.state)))
    text = "/".join(f"{round(100 * split.get(n, 0.0))}" for n in nodes) if fold.ok else ""
    ax.text(x + 0.5, y + 0.03, f"{text} {cs.state_mark(fold.state)}".strip(), ha="center",
            va="top", fontsize=7.5, color=cs.state_colour(fold.state))


def draw(fig, matrix):
    """The timeline, or None for fewer than three kernels."""
    if len(matrix.series) < 3 or not matrix.cells:
        return None
    cells = matrix.cells[:MAX_CELLS]
    nodes = matrix.split_nodes(cells)
    width = LABEL_IN + CELL_IN * len(matrix.series) + RIGHT_IN
    height = HEADER_IN + FOOTER_IN + 1.0 * len(cells)
    fig.set_size_inches(width, height)
    ax = fig.add_axes([LABEL_IN / width, FOOTER_IN / height,
                       CELL_IN * len(matrix.series) / width, 1.0 * len(cells) / height])
    for row, cell in enumerate(cells):
        y = len(cells) - 1 - row
        for col in range(len(matrix.series)):
            draw_square(ax, col, y, matrix.fold(col, cell), nodes)
    ax.set_xlim(0, len(matrix.series))
    ax.set_ylim(-0.2, len(cells))
    ax.set_xticks([c + 0.5 for c in range(len(matrix.series))])
    ax.set_xticklabels([s.short for s in matrix.series], rotation=30, ha="left", fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks([len(cells) - 1 - r + 0.5 for r in range(len(cells))])
    ax.set_yticklabels([mc.cell_key_text(c) for c in cells], fontsize=9)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)
    fig.legend(handles=[Patch(color=cs.node_colour(i), label=f"node {n}")
                        for i, n in enumerate(nodes)],
               loc="lower left", bbox_to_anchor=(0.01, 0.0), frameon=False, ncol=8)
    fig.suptitle(title(matrix), x=0.01, ha="left")
    return title(matrix)
