#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Charts from memplace's chart data (chart-data.json + samples/*.csv), as PNG and SVG.

  memplace_plots.py --data CHART_DATA --out OUTDIR

memplace writes CHART_DATA (`memplace report`, `memplace plot`): every kernel of the results
dirs is one series, the first the baseline, with its cells already folded and judged. Charts:
headline (the cover letter's cell per kernel), split_grid (policy x backing small multiples,
every kernel and toucher), timeline (MemUsed during the headline cell's population),
kernel_timeline (every cell on every kernel, for three or more), and per kernel memused_bars-K
and memused_timeline-K (every cell). OUTDIR/charts.json lists them with titles, for report.html.
Exit 0 ok, 2 bad input (one line on stderr), 3 matplotlib missing or OUTDIR not writable.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.stderr.write("memplace plots: matplotlib is not installed for this Python "
                     f"({sys.executable}); install the Debian package: "
                     "apt-get install python3-matplotlib\n")
    sys.exit(3)

import chart_style as cs  # noqa: E402
import memplace_cells as mc  # noqa: E402
import memplace_results as mr  # noqa: E402
import plot_headline  # noqa: E402
import plot_kernel_timeline  # noqa: E402
import plot_memused_bars  # noqa: E402
import plot_split_grid  # noqa: E402
import plot_timeline  # noqa: E402


class Usage(argparse.ArgumentParser):
    def error(self, message):
        raise mr.InputError(message)


def draw_all(matrix, out):
    """[(chart entry)] for every chart there is something to draw for."""
    charts, index = [], {}
    fig = plt.figure()
    headline = plot_headline.draw(fig, matrix)
    if headline:
        title, cell, why = headline
        charts.append(cs.save(fig, out, "headline", title))
        index = {"headline_cell": mc.cell_key_text(cell), "headline_why": why}
        fig = plt.figure()
        if plot_timeline.draw_headline(fig, matrix, cell):
            charts.append(cs.save(fig, out, "timeline", "MemUsed during population: "
                                  + mc.cell_title(cell)))
        else:
            plt.close(fig)
    else:
        plt.close(fig)
        skipped("headline", mc.headline_cell(matrix)[1])
    fig = plt.figure()
    if plot_split_grid.draw(fig, matrix):
        charts.append(cs.save(fig, out, "split_grid", plot_split_grid.title(matrix)))
    else:
        plt.close(fig)
        skipped("split_grid", "no cell has a measurement")
    fig = plt.figure()
    timeline = plot_kernel_timeline.draw(fig, matrix)
    if timeline:
        charts.append(cs.save(fig, out, "kernel_timeline", timeline))
    else:
        plt.close(fig)
    suffixes = []
    for i, series in enumerate(matrix.series):
        suffix = cs.safe_id(series.label)   # two labels can map to one file name
        suffixes.append(suffix if suffix not in suffixes else f"{i + 1}-{suffix}")
        for chart in per_series(matrix, i, suffixes[-1], out):
            chart.update({"series": i, "kernel": series.label})
            charts.append(chart)
    return charts, index


def per_series(matrix, index, suffix, out):
    charts = []
    for name, draw, why in (
            ("memused_bars", plot_memused_bars.draw, "no ok run has meminfo snapshots"),
            ("memused_timeline", plot_timeline.draw_cells, "no ok run has a samples file")):
        fig = plt.figure()
        title = draw(fig, matrix, index)
        if title:
            charts.append(cs.save(fig, out, f"{name}-{suffix}", title))
        else:
            plt.close(fig)
            skipped(f"{name}-{suffix}", why)
    return charts


def skipped(name, why):
    print(f"memplace plots: no {name} chart: {why}", file=sys.stderr)


def run(argv):
    parser = Usage(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, metavar="CHART_DATA",
                        help="chart-data.json as memplace wrote it")
    parser.add_argument("--out", required=True, metavar="OUTDIR", help="where charts go")
    args = parser.parse_args(argv)
    # --out naming a file (or a path through one) is bad input, not an environment failure.
    if os.path.lexists(args.out) and not os.path.isdir(args.out):
        raise mr.InputError(f"--out {args.out}: exists and is not a directory")
    matrix = mc.Matrix(mr.read_chart_data(args.data))
    if not matrix.cells:
        raise mr.InputError(f"{args.data}: no cells to draw")
    cs.setup()
    try:
        os.makedirs(args.out, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise mr.InputError(f"--out {args.out}: a part of the path is not a directory") from None
    except OSError as e:
        raise EnvironmentError(f"{args.out}: {e.strerror}") from None
    charts, index = draw_all(matrix, args.out)
    index.update({"kernels": [s.label for s in matrix.series], "charts": charts})
    cs.write_replacing(os.path.join(args.out, "charts.json"), "w",
                       lambda f: f.write(json.dumps(index, indent=1, ensure_ascii=True) + "\n"))
    for chart in charts:
        for name in chart["files"]:
            print(os.path.join(args.out, name))
    return 0


def main(argv):
    try:
        return run(argv)
    except mr.InputError as e:
        print(f"memplace plots: error: {mr.one_line(e, 400)}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"memplace plots: error: {mr.one_line(e, 400)}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
