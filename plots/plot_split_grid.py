"""(c) Policy x backing grid of the measured split, marked honoured or not."""
from matplotlib.patches import Rectangle

import memplace_results as mr

BACKING_ORDER = ["anon", "shmem", "guest_memfd"]


def node_colour(i):
    return ["#0969da", "#fb8f44", "#8250df", "#1a7f37", "#bf3989", "#6e7781"][i % 6]


def draw_grid(ax, runs, title):
    backings = [b for b in BACKING_ORDER if any(r.get("backing") == b for r in runs)]
    backings += mr.unique(r.get("backing") for r in runs if r.get("backing") not in backings)
    rows = mr.unique(mr.policy_text(r) for r in runs)
    nodes = sorted({int(n) for r in runs if r.get("status") == "ok"
                    for n in (r.get("placement_pages") or {})})
    for y, row in enumerate(rows):
        for x, backing in enumerate(backings):
            cell = [r for r in runs if r.get("backing") == backing
                    and mr.policy_text(r) == row]
            if not cell:
                continue
            ok = [r for r in cell if r.get("status") == "ok"]
            st = mr.state(cell)
            ax.add_patch(Rectangle((x + 0.04, y + 0.06), 0.92, 0.88, fill=False,
                                   edgecolor=mr.state_colour(st), linewidth=2))
            if ok:
                fractions = mr.split(ok)
                left = x + 0.1
                for i, n in enumerate(nodes):
                    w = 0.8 * fractions.get(n, 0.0)
                    ax.add_patch(Rectangle((left, y + 0.52), w, 0.25, color=node_colour(i),
                                           linewidth=0))
                    left += w
                text = "/".join(f"{round(100 * fractions.get(n, 0.0))}" for n in nodes)
                ax.text(x + 0.5, y + 0.35, text, ha="center", va="center", fontsize=10)
            ax.text(x + 0.5, y + 0.16 if ok else y + 0.5, st, ha="center", va="center",
                    fontsize=8, color=mr.state_colour(st), weight="bold")
    ax.set_xlim(0, len(backings))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks([x + 0.5 for x in range(len(backings))], backings)
    ax.set_yticks([y + 0.5 for y in range(len(rows))], rows)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title, fontsize=9)
    for i, n in enumerate(nodes):
        ax.add_patch(Rectangle((0, 0), 0, 0, color=node_colour(i), label=f"Node {n}"))
    if nodes:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=len(nodes), fontsize=8,
                  frameon=False)
    return len(rows), len(backings)


def draw(fig, results):
    if not results.runs:
        return False
    kernels = results.kernels()
    sizes = []
    for i, kernel in enumerate(kernels):
        ax = fig.add_subplot(1, len(kernels), i + 1)
        runs = [r for r in results.runs if mr.kernel_of(r) == kernel]
        sizes.append(draw_grid(ax, runs, kernel))
    rows = max(s[0] for s in sizes)
    cols = sum(s[1] for s in sizes)
    fig.set_size_inches(2.0 + 1.9 * cols + 1.2 * len(kernels), 1.4 + 0.85 * rows)
    fig.suptitle(f"Measured split (% of pages per node) by policy and backing: {results.label}",
                 fontsize=10)
    return True
