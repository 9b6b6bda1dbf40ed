# SPDX-License-Identifier: GPL-2.0-only
"""The kernel comparison as small multiples: policies down, backings across.

Each panel holds one policy on one backing. Inside it, a group per toucher (and per size,
threads or CPU node when the matrix varies them): the expected split, then one stacked bar per
kernel with the measured split over the nodes, its verdict, and FIX or REGRESSION where a kernel
changed the verdict against the first (baseline) kernel. Panels holding a change are tinted.
"""
import textwrap

from matplotlib.patches import Patch

import chart_style as cs
import memplace_cells as mc
import memplace_results as mr

WIDTH_IN = 16.0     # 1600 px
ROW_IN = 0.25       # one bar
GAP_IN = 0.95       # between panel rows: x tick labels and a two-line title
HEADER_IN, FOOTER_IN = 1.5, 0.35
BARS_END = 1.0 / 0.62   # bars take the left 62% of a panel, verdict and change the rest
MAX_POLICIES, MAX_BACKINGS, MAX_VARIANTS = 16, 6, 8


def title(matrix):
    kernels = ", ".join(s.label for s in matrix.series)
    return f"Measured split per policy and backing: {kernels}"


def layout(matrix):
    """(policies, backings, variants, dropped): the panel grid and the groups inside panels."""
    policies = mr.unique_in_order((c[0], c[1]) for c in matrix.cells)
    backings = mc.backings(matrix.cells)
    variants = mr.unique_in_order(c[3:] for c in matrix.cells)
    dropped = max(0, len(policies) - MAX_POLICIES) + max(0, len(backings) - MAX_BACKINGS) + \
        max(0, len(variants) - MAX_VARIANTS)
    return policies[:MAX_POLICIES], backings[:MAX_BACKINGS], variants[:MAX_VARIANTS], dropped


def variant_names(variants):
    """Names for the groups inside a panel: only the axes that differ between them."""
    varying = [i for i in range(4) if len({v[i] for v in variants}) > 1] or [0]
    names = []
    for v in variants:
        parts = mc.cell_parts((None, (), None) + tuple(v))[2:]
        names.append(" \u00b7 ".join(parts[i] for i in varying if parts[i]))
    return names, [i for i in range(4) if i not in varying]


def panel_rows(matrix, variants, names):
    """[(kind, variant, series index or None, label)] top to bottom, the same in every panel."""
    rows = []
    for v, name in zip(variants, names):
        rows.append(("group", v, None, name))
        rows.append(("expected", v, None, "expected"))
        rows += [("series", v, i, s.short) for i, s in enumerate(matrix.series)]
    return rows


def draw(fig, matrix):
    policies, backings, variants, dropped = layout(matrix)
    if not policies or not backings:
        return False
    names, constant = variant_names(variants)
    rows = panel_rows(matrix, variants, names)
    axes_in = len(rows) * ROW_IN + 0.15
    height = HEADER_IN + FOOTER_IN + (axes_in + GAP_IN) * len(policies) - GAP_IN
    fig.set_size_inches(WIDTH_IN, height)
    # hspace is a fraction of the axes height: the gap (titles, tick labels) stays GAP_IN.
    grid = fig.add_gridspec(len(policies), len(backings), hspace=GAP_IN / axes_in, wspace=0.08,
                            left=0.1, right=0.99, top=1 - HEADER_IN / height,
                            bottom=FOOTER_IN / height)
    nodes = matrix.split_nodes(matrix.cells)
    for r, (policy, pnodes) in enumerate(policies):
        for c, backing in enumerate(backings):
            ax = fig.add_subplot(grid[r, c])
            cells = [(policy, pnodes, backing) + tuple(v) for v in variants]
            draw_panel(ax, matrix, cells, rows, nodes, first_column=(c == 0))
            ax.set_title(panel_title(cells[0], constant), fontsize=10.5, loc="left")
    header(fig, matrix, nodes, dropped)
    return True


def panel_title(cell, constant):
    """Policy and backing, then the axes every group in the panel shares."""
    parts = mc.cell_parts(cell)
    rest = [parts[2 + i] for i in constant if parts[2 + i]]
    return f"{parts[0]} \u00b7 {parts[1]}\n" + " \u00b7 ".join(rest)


def draw_panel(ax, matrix, cells, rows, nodes, first_column):
    by_variant = {cell[3:]: cell for cell in cells}
    if not any(matrix.fold(i, c) for c in cells for i in range(len(matrix.series))):
        ax.axis("off")
        ax.text(0.3, 0.5, "not in this matrix", transform=ax.transAxes, color=cs.GREY)
        return
    changes = set()
    for y, (kind, variant, index, label) in enumerate(rows):
        cell = by_variant[variant]
        if kind == "group":
            ax.text(-0.01, y, label, ha="left", va="center", fontweight="bold", fontsize=10)
            continue
        fold = matrix.fold(index if index is not None else 0, cell)
        if kind == "expected":
            split = fold.expected() if fold and fold.ok else None
            draw_bar(ax, y, split, nodes, light=True, note="" if split else "\u2013")
            continue
        changes.add(draw_series_row(ax, y, matrix, index, cell, nodes))
    ax.set_xlim(0, BARS_END)
    ax.set_ylim(len(rows) - 0.5, -0.6)
    ax.set_yticks(range(len(rows)), [label if kind != "group" else ""
                                     for kind, _, _, label in rows] if first_column else [])
    ax.tick_params(axis="y", length=0)
    ax.set_xticks([0, 0.5, 1], ["0", "50", "100%"])
    ax.spines["left"].set_visible(False)
    if "regression" in changes:
        ax.set_facecolor(cs.REGRESSION_TINT)
    elif "fix" in changes:
        ax.set_facecolor(cs.FIX_TINT)


def draw_series_row(ax, y, matrix, index, cell, nodes):
    fold = matrix.fold(index, cell)
    if not fold:
        draw_bar(ax, y, None, nodes, note="not run")
        return ""
    if not fold.ok:
        draw_bar(ax, y, None, nodes, note=fold.state)
        return ""
    split = fold.split()
    draw_bar(ax, y, split, nodes)
    state = fold.state
    text = "/".join(str(round(100 * split.get(n, 0.0))) for n in nodes)
    mark = {"honored": "\u2713", "not honored": "\u2717", "mixed": "\u2717 mixed"}.get(
        state, state)
    ax.text(1.03, y, f"{text} {mark}", va="center", ha="left", fontsize=10,
            color=cs.state_colour(state), gid=f"split-{index}-{cs.safe_id(mc.cell_key_text(cell))}")
    change = matrix.change(index, cell)
    if change in ("fix", "regression"):
        ax.text(BARS_END - 0.01, y, change.upper(), va="center", ha="right", fontsize=10,
                fontweight="bold", color=cs.GOOD if change == "fix" else cs.BAD)
    return change


def draw_bar(ax, y, split, nodes, light=False, note=""):
    if not split:
        ax.text(0.02, y, note, va="center", ha="left", fontsize=10, color=cs.GREY)
        return
    left = 0.0
    for i, n in enumerate(nodes):
        width = split.get(n, 0.0)
        if width > 0:
            colour = cs.light(cs.node_colour(i)) if light else cs.node_colour(i)
            ax.barh(y, width, left=left, height=0.72, color=colour, linewidth=0)
        left += width


def header(fig, matrix, nodes, dropped):
    fig.suptitle("Measured split of pages over nodes, per policy and backing", x=0.01,
                 y=1 - 0.15 / fig.get_size_inches()[1], ha="left", va="top",
                 fontweight="bold")
    base = matrix.series[0]
    kernels = "; ".join(f"{s.short} = {s.label}" for s in matrix.series if s.short != s.label)
    line = (f"Bars: share of pages per node (summed over repeats). \u2713 honored, \u2717 not. "
            + (f"FIX / REGRESSION: the verdict changed against {base.short}. " if len(
                matrix.series) > 1 else "") + (f"Kernels: {kernels}." if kernels else ""))
    if dropped:
        line += f" {dropped} more rows/columns not drawn."
    lines = textwrap.wrap(line, 200, break_on_hyphens=False)[:2]
    fig.text(0.01, 1 - 0.5 / fig.get_size_inches()[1], "\n".join(lines), ha="left", va="top",
             fontsize=10)
    handles = [Patch(color=cs.node_colour(i), label=f"node {n}") for i, n in enumerate(nodes)]
    handles += [Patch(color=cs.light(cs.node_colour(i)), label=f"expected, node {n}")
                for i, n in enumerate(nodes)]
    if handles:  # no ok cell measured any node: nothing to key
        fig.legend(handles=handles, loc="upper right", ncol=len(handles), frameon=False,
                   bbox_to_anchor=(0.99, 1 - 0.1 / fig.get_size_inches()[1]))
