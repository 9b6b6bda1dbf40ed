"""(a) The cover letter's experiment as a figure: per-node MemUsed before and after, per cell."""
import math

import memplace_results as mr

BEFORE, AFTER = "#8c959f", "#0969da"


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def draw(fig, results):
    cells = [(key, [r for r in runs if r.get("status") == "ok" and r.get("meminfo_before")])
             for key, runs in mr.group_cells(results.runs)]
    cells = [(key, runs) for key, runs in cells if runs]
    if not cells:
        return False
    several_kernels = len(results.kernels()) > 1
    cols = min(3, len(cells))
    rows = math.ceil(len(cells) / cols)
    fig.set_size_inches(4.2 * cols, 3.4 * rows + 0.6)
    first = None
    for i, ((kernel, _), runs) in enumerate(cells):
        # One MB scale for every cell, so bar heights compare across cells.
        ax = fig.add_subplot(rows, cols, i + 1, sharey=first)
        first = first or ax
        nodes = mr.snapshot_nodes(runs[0])
        before = [mean(mr.memused_mb(r["meminfo_before"], n) for r in runs) for n in nodes]
        after = [mean(mr.memused_mb(r.get("meminfo_after"), n) for r in runs) for n in nodes]
        xs = range(len(nodes))
        width = 0.38
        ax.bar([x - width / 2 for x in xs], [b or 0 for b in before], width, color=BEFORE,
               label="Before")
        ax.bar([x + width / 2 for x in xs], [a or 0 for a in after], width, color=AFTER,
               label="After")
        for x, b, a in zip(xs, before, after):
            if a is not None and b is not None:
                delta = a - b if abs(a - b) >= 0.5 else 0.0  # no "-0"
                ax.annotate(f"{delta:+.0f}", (x + width / 2, a), ha="center", va="bottom",
                            fontsize=8, xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(list(xs), [f"Node {n}" for n in nodes])
        ax.set_ylabel("MemUsed (MB)")
        ax.margins(y=0.15)
        st = mr.state(runs)
        title = mr.cell_title(runs[0]) + (f"\n{kernel}" if several_kernels else "")
        ax.set_title(title, fontsize=9)
        ax.text(0.02, 0.97, f"{st} (n={len(runs)})", transform=ax.transAxes, va="top",
                fontsize=8, color=mr.state_colour(st))
        if i == 0:
            ax.legend(fontsize=8, loc="upper right")
    fig.suptitle(f"Per-node MemUsed before/after population: {results.label}"
                 f" ({', '.join(results.kernels())}); labels are the delta in MB", fontsize=10)
    return True
