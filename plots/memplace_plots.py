#!/usr/bin/python3
"""Charts from memplace results dirs (runs.jsonl + samples/*.csv), as PNG and SVG.

  memplace_plots.py DIR [DIR...] --out OUTDIR

Per dir: memused_bars, memused_timeline, split_grid (prefixed with the dir name when several
dirs are given). With two or more dirs also: compare. Exit 3 when matplotlib is missing, 2 on
bad arguments or unreadable dirs.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.stderr.write("memplace plots: matplotlib is not installed for this Python "
                     f"({sys.executable}).\nInstall the Debian package: "
                     "apt-get install python3-matplotlib\n")
    sys.exit(3)

import memplace_results as mr  # noqa: E402
import plot_compare  # noqa: E402
import plot_memused_bars  # noqa: E402
import plot_split_grid  # noqa: E402
import plot_timeline  # noqa: E402

PER_DIR = [("memused_bars", plot_memused_bars.draw), ("memused_timeline", plot_timeline.draw),
           ("split_grid", plot_split_grid.draw)]


def save(fig, out, name, written):
    fig.tight_layout()
    for ext in ("png", "svg"):
        path = os.path.join(out, f"{name}.{ext}")
        fig.savefig(path, dpi=120 if ext == "png" else None)
        written.append(path)
    plt.close(fig)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="memplace results dir")
    parser.add_argument("--out", required=True, metavar="OUTDIR", help="where charts go")
    args = parser.parse_args(argv)
    dirs = []
    for path in args.dirs:
        runs = os.path.join(path, "runs.jsonl")
        if not os.path.isfile(runs):
            sys.stderr.write(f"memplace plots: {runs}: no such file\n")
            return 2
        dirs.append(mr.ResultsDir(path))
    labels = [d.label for d in dirs]
    if len(set(labels)) != len(labels):  # same basename under different parents
        for i, d in enumerate(dirs):
            d.label = f"{i + 1}-{d.label}"
    os.makedirs(args.out, exist_ok=True)
    written = []
    for d in dirs:
        prefix = f"{d.label}_" if len(dirs) > 1 else ""
        for name, draw in PER_DIR:
            fig = plt.figure()
            if draw(fig, d):
                save(fig, args.out, prefix + name, written)
            else:
                plt.close(fig)
                print(f"memplace plots: {d.label}: nothing to draw for {name}", file=sys.stderr)
    if len(dirs) > 1:
        fig = plt.figure()
        if plot_compare.draw(fig, dirs):
            save(fig, args.out, "compare", written)
        else:
            plt.close(fig)
            print("memplace plots: no cell was measured in two dirs; no comparison chart",
                  file=sys.stderr)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
