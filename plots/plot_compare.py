"""(d) The same cells across N result dirs: split per node with verdicts, and populate time."""
import statistics

import memplace_results as mr
from plot_split_grid import node_colour


def draw(fig, dirs):
    order, per_dir = [], []
    for d in dirs:
        cells = {}
        for r in d.runs:
            key = mr.cell_key(r)
            cells.setdefault(key, []).append(r)
            if key not in order:
                order.append(key)
        per_dir.append(cells)
    # Cells measured (status ok) in at least two dirs are the comparable ones.
    keys = [k for k in order
            if sum(any(r.get("status") == "ok" for r in c.get(k, [])) for c in per_dir) >= 2]
    if not keys:
        return False
    nodes = sorted({int(n) for c in per_dir for k in keys for r in c.get(k, [])
                    if r.get("status") == "ok" for n in (r.get("placement_pages") or {})})
    fig.set_size_inches(max(6.0, 1.0 + 0.9 * len(keys) * len(dirs)), 7.0)
    top = fig.add_subplot(2, 1, 1)
    bottom = fig.add_subplot(2, 1, 2, sharex=top)
    width = 0.8 / len(dirs)
    for di, (d, cells) in enumerate(zip(dirs, per_dir)):
        for ki, key in enumerate(keys):
            runs = cells.get(key, [])
            ok = [r for r in runs if r.get("status") == "ok"]
            x = ki + (di - (len(dirs) - 1) / 2) * width
            if not ok:
                top.text(x, 0.5, mr.state(runs) if runs else "absent", rotation=90,
                         ha="center", va="center", fontsize=7, color="#6e7781")
                continue
            fractions = mr.split(ok)
            bottom_edge = 0.0
            for i, n in enumerate(nodes):
                f = fractions.get(n, 0.0)
                top.bar(x, f, width * 0.9, bottom=bottom_edge, color=node_colour(i),
                        label=f"Node {n}" if di == 0 and ki == 0 else None)
                bottom_edge += f
            st = mr.state(runs)
            top.text(x, 1.02, {"honoured": "ok", "not honoured": "NOT"}.get(st, st),
                     ha="center", va="bottom", fontsize=7, color=mr.state_colour(st),
                     weight="bold")
            times = [r.get("populate_seconds", 0.0) for r in ok]
            err = statistics.stdev(times) if len(times) > 1 else 0.0
            bottom.bar(x, statistics.mean(times), width * 0.9, yerr=err, capsize=3,
                       color=f"C{di}", label=d.label if ki == 0 else None)
    top.set_ylim(0, 1.15)
    top.set_ylabel("fraction of pages")
    top.axhline(0.5, color="#6e7781", linewidth=0.6, linestyle=":")
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    bottom.set_ylabel("populate time (s), mean ± sd")
    bottom.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    labels = [k.split("/host/")[0].replace("/", "\n") for k in keys]
    bottom.set_xticks(range(len(keys)), labels, fontsize=8)
    plain = ", ".join(f"{d.label} ({', '.join(d.kernels())})" for d in dirs)
    top.set_title("Bars per cell, left to right: " + plain, fontsize=9)
    fig.suptitle("Same cells across result dirs: measured split (ok = honoured) and populate "
                 "time", fontsize=10)
    return True
