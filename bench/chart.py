#!/usr/bin/env python3
"""bench/chart.py RESULTS.tsv OUT.svg — draws the ratios of `make bench` as an SVG.

Reads the summary bench/run-bench.sh writes (tab-separated: section, measurement,
hermitux-run, peer, ratio, target, verdict) and draws one horizontal bar per row that
has a ratio, on a logarithmic axis (ratios here go from 0.3 to several hundred), with
the row's target as a tick and the bar coloured by its verdict. Every number in the
picture comes from the file: nothing is typed in by hand.
"""
import math
import sys
from xml.sax.saxutils import escape

BAR_HEIGHT = 16
GAP = 6
LABEL_WIDTH = 430
PLOT_WIDTH = 520
TOP = 58
COLOURS = {"met": "#3a9a4a", "MISSED": "#c8463d"}
NEUTRAL = "#6d86b5"


def read_rows(path):
    header = ""
    rows = []
    with open(path, encoding="utf-8") as results:
        for line in results:
            line = line.rstrip("\n")
            if line.startswith("#"):
                header = line.lstrip("# ")
                continue
            fields = line.split("\t")
            if len(fields) < 7 or fields[0] == "section":
                continue
            try:
                ratio = float(fields[4])
            except ValueError:
                continue
            if ratio <= 0:
                continue
            target = None
            if fields[5].startswith("<="):
                try:
                    target = float(fields[5][2:])
                except ValueError:
                    target = None
            rows.append((fields[0], fields[1].strip(), ratio, target, fields[6]))
    return header, rows


def main():
    if len(sys.argv) != 3:
        print("usage: chart.py RESULTS.tsv OUT.svg", file=sys.stderr)
        return 2
    header, rows = read_rows(sys.argv[1])
    if not rows:
        print("chart.py: no ratios in " + sys.argv[1], file=sys.stderr)
        return 1
    values = [r[2] for r in rows] + [r[3] for r in rows if r[3]]
    low = 10 ** math.floor(math.log10(min(values)))
    high = 10 ** math.ceil(math.log10(max(values)))

    def x_of(value):
        return LABEL_WIDTH + PLOT_WIDTH * (math.log10(value) - math.log10(low)) / (
            math.log10(high) - math.log10(low))

    height = TOP + len(rows) * (BAR_HEIGHT + GAP) + 40
    width = LABEL_WIDTH + PLOT_WIDTH + 80
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           '<text x="10" y="18" font-size="14" font-weight="bold">hermitux-run / peer '
           '(lower is better; log scale)</text>',
           f'<text x="10" y="36">{escape(header)}; bar colour: target met (green), '
           'missed (red), no target (blue); | = target</text>']
    decade = low
    while decade <= high * 1.0001:
        x = x_of(decade)
        out.append(f'<line x1="{x:.1f}" y1="{TOP - 8}" x2="{x:.1f}" '
                   f'y2="{height - 30}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 16}" text-anchor="middle">{decade:g}</text>')
        decade *= 10
    one = x_of(1.0)
    out.append(f'<line x1="{one:.1f}" y1="{TOP - 8}" x2="{one:.1f}" y2="{height - 30}" '
               'stroke="#333" stroke-dasharray="3,2"/>')
    for index, (section, what, ratio, target, verdict) in enumerate(rows):
        y = TOP + index * (BAR_HEIGHT + GAP)
        colour = COLOURS.get(verdict, NEUTRAL)
        start, end = sorted((one, x_of(ratio)))
        out.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT - 4}" text-anchor="end">'
                   f'{escape(section + ": " + what)}</text>')
        out.append(f'<rect x="{start:.1f}" y="{y}" width="{max(end - start, 1):.1f}" '
                   f'height="{BAR_HEIGHT}" fill="{colour}"/>')
        out.append(f'<text x="{max(end, one) + 4:.1f}" y="{y + BAR_HEIGHT - 4}">{ratio:g}</text>')
        if target:
            tx = x_of(target)
            out.append(f'<line x1="{tx:.1f}" y1="{y - 2}" x2="{tx:.1f}" y2="{y + BAR_HEIGHT + 2}" '
                       'stroke="black" stroke-width="2"/>')
    out.append('</svg>')
    with open(sys.argv[2], "w", encoding="utf-8") as svg:
        svg.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
