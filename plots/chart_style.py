# SPDX-License-Identifier: GPL-2.0-only
"""One look for every chart: sizes in pixels, fonts, colours, and how files are written.

Figures are sized in inches at DPI, so a figure w inches wide is a PNG w*DPI pixels wide and
its 10 pt text is 14 px tall when shown at that size. SVG text stays text (svg.fonttype none):
a reader can search it and the fidelity test can read the numbers a chart shows.
"""
import os
import tempfile

import matplotlib

DPI = 100
NODE_COLOURS = ["#2f6db5", "#e8a33d", "#7b57c2", "#3a9e8f", "#c0568f", "#7d8590"]
GOOD, BAD, WARN, GREY = "#1a7f37", "#cf222e", "#9a6700", "#6e7781"
BEFORE, AFTER = "#9aa4ae", "#2f6db5"
FIX_TINT, REGRESSION_TINT = "#e6f4ea", "#fde8e8"
STATE_COLOURS = {"honored": GOOD, "not honored": BAD, "mixed": WARN}
STATE_MARKS = {"honored": "\u2713 honored", "not honored": "\u2717 not honored",
               "mixed": "\u2717 mixed"}


def setup():
    matplotlib.rcParams.update({
        "svg.fonttype": "none",
        "svg.hashsalt": "memplace",   # the same input gives the same SVG, byte for byte
        "text.parse_math": False,     # "$" in a kernel name is text, not mathtext
        "font.size": 11,
        "axes.titlesize": 11,
        "axes.labelsize": 11,
        "xtick.labelsize": 10,
        "ytick.labelsize": 10,
        "legend.fontsize": 10,
        "figure.titlesize": 13,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })


def node_colour(i):
    return NODE_COLOURS[i % len(NODE_COLOURS)]


def light(colour, keep=0.38):
    """The colour mixed with white: an expected bar, never mistaken for a measured one."""
    rgb = matplotlib.colors.to_rgb(colour)
    return tuple(keep * c + (1 - keep) for c in rgb)


def state_colour(state):
    return STATE_COLOURS.get(state, GREY)


def state_mark(state):
    return STATE_MARKS.get(state, state)


def safe_id(text):
    """A file name or SVG id from record text: [A-Za-z0-9._+-] only, bounded."""
    out = "".join(c if c.isascii() and (c.isalnum() or c in "._+-") else "_" for c in text)
    out = out.strip(".") or "x"
    return out[:64]


def save(fig, out_dir, name, title):
    """Writes NAME.png and NAME.svg; returns the chart's entry for charts.json."""
    import matplotlib.pyplot as plt
    files = []
    for ext in ("png", "svg"):
        path = os.path.join(out_dir, f"{name}.{ext}")
        write_replacing(path, "wb", lambda f, ext=ext: fig.savefig(
            f, format=ext, dpi=DPI, metadata=svg_metadata() if ext == "svg" else None))
        files.append(os.path.basename(path))
    width, height = fig.get_size_inches() * DPI
    plt.close(fig)
    return {"name": name, "title": title, "files": files,
            "width": int(round(width)), "height": int(round(height))}


def write_replacing(path, mode, write):
    """Calls write(file) on a fresh file created exclusively next to path, then renames it over
    path: a symlink planted at path (or at a predictable temporary name) is replaced, never
    written through."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".",
                               prefix=os.path.basename(path)[:64] + ".tmp-")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def svg_metadata():
    # No date: a regenerated chart differs from the committed one only where the data does.
    return {"Date": None}
