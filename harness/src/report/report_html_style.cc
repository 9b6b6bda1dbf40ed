// SPDX-License-Identifier: GPL-2.0-only
// The page's only stylesheet. Laptop: one readable column up to 1140 px, wide tables scroll
// inside their box. Print: full width, no navigation, figures and cell blocks never split
// across pages, and the fix/regression tints kept.
#include "report/report_html.h"

namespace memplace {

const char* report_css() {
  return R"css(
:root { --fg: #1f2328; --muted: #59636e; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700;
        --line: #d1d9e0; --soft: #f6f8fa; --fix: #e6f4ea; --regression: #fde8e8; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1140px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 1.75em; margin: .2em 0 .1em; }
h2 { font-size: 1.35em; margin: 2em 0 .6em; padding-bottom: .25em;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05em; margin: 1.5em 0 .4em; }
p.sub, p.note, figcaption, caption { color: var(--muted); }
nav { margin: .6em 0 0; font-size: .95em; }
nav a { margin-right: 1.1em; }
a { color: #0969da; }
code { font: .9em ui-monospace, "DejaVu Sans Mono", monospace; background: var(--soft);
       padding: 0 .25em; border-radius: 4px; }
figure { margin: 1.2em 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line);
             border-radius: 6px; background: #fff; }
figcaption { font-size: .92em; margin-top: .4em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .4em 0 1em; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: .25em .6em; text-align: right; }
th.l, td.l { text-align: left; }
thead th { background: var(--soft); }
caption { caption-side: top; text-align: left; font-size: .9em; padding-bottom: .2em; }
.honored { color: var(--ok); }
.not-honored, .mixed, .failed { color: var(--bad); font-weight: 600; }
.unsupported, .absent { color: var(--muted); }
tr.fix, li.fix, td.fix, p.fix { background: var(--fix); }
tr.regression, li.regression, td.regression, p.regression { background: var(--regression); }
article.cell.fix { border-left: 4px solid var(--ok); padding-left: .8em; }
article.cell.regression { border-left: 4px solid var(--bad); padding-left: .8em; }
/* The grid is drawn for 1600 px: on a wide screen it leaves the text column to stay legible. */
figure.wide { width: min(1600px, calc(100vw - 32px)); margin-left: calc(50% - min(800px, 50vw - 16px)); }
.badge { font-weight: 700; font-size: .85em; letter-spacing: .03em; }
.badge.fix { color: var(--ok); }
.badge.regression { color: var(--bad); }
ul.changes { padding-left: 1.2em; }
ul.changes li { padding: .1em .4em; border-radius: 4px; margin: .15em 0; }
.tables { display: flex; flex-wrap: wrap; gap: .4em 1.6em; }
article.cell { border-top: 1px solid var(--line); }
article.cell p { margin: .3em 0; }
@media print {
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  figure, article.cell, table, ul.changes { break-inside: avoid; page-break-inside: avoid; }
  figure img { border: none; }
  figure.wide { width: auto; margin-left: 0; }
  a { color: inherit; text-decoration: none; }
  .scroll { overflow: visible; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
@page { margin: 14mm; }
)css";
}

}  // namespace memplace
