"""(b) Per-node MemUsed over time while each cell populates (first repeat with samples)."""
import math

import memplace_results as mr


def draw(fig, results):
    cells = []
    for (kernel, _), runs in mr.group_cells(results.runs):
        for r in runs:
            series = results.samples(r) if r.get("status") == "ok" else {}
            if series:
                cells.append((kernel, r, series))
                break
    if not cells:
        return False
    several_kernels = len(results.kernels()) > 1
    cols = min(3, len(cells))
    rows = math.ceil(len(cells) / cols)
    fig.set_size_inches(4.2 * cols, 3.2 * rows + 0.6)
    for i, (kernel, run, series) in enumerate(cells):
        ax = fig.add_subplot(rows, cols, i + 1)
        for k, node in enumerate(sorted(series)):
            points = sorted(series[node])
            start = points[0][1]
            ax.plot([t for t, _ in points], [(kb - start) / 1024.0 for _, kb in points],
                    marker="os^v"[k % 4], markersize=4, linestyle=("-", "--")[k % 2],
                    label=f"Node {node}")
        ax.set_xlabel("time since sampling started (s)")
        ax.set_ylabel("MemUsed change (MB)")
        title = f"{mr.cell_title(run)} ({run.get('run_id', '')})"
        ax.set_title(title + (f"\n{kernel}" if several_kernels else ""), fontsize=9)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"Per-node MemUsed during population: {results.label}", fontsize=10)
    return True
