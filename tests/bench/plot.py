#!/usr/bin/env python3
"""Draw the benchmark table of tests/bench/run (its --plot): reads the
run's ratios and scaling rows as JSON on stdin, writes FILE (the format
from its suffix: .svg, .png, .pdf) with matplotlib (Debian:
python3-matplotlib).

    plot.py FILE < data.json

data: {"bars": [{"label", "median", "min", "max", "target"}...] (speedups
of multiproc: > 1 faster; a cost vs raw c is the speedup 1/c),
"scaling": [{"title", "xlabel", "series": {impl: [[x, value]...]}}...],
"load": [1, 5, 15 min]}.
"""
import json
import sys

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def draw_ratios(ax, bars):
    ys = list(range(len(bars)))
    med = [b['median'] for b in bars]
    err = [[b['median'] - b['min'] for b in bars], [b['max'] - b['median'] for b in bars]]
    ax.barh(ys, med, xerr=err, color='tab:blue', alpha=0.7, capsize=3)
    for y, b in zip(ys, bars):
        if b['target'] is not None:
            ok = b['median'] >= b['target']
            ax.plot([b['target']], [y], marker='|', markersize=14,
                    color='tab:green' if ok else 'tab:red')
    ax.axvline(1, color='grey', linewidth=0.8)
    ax.set_yticks(ys)
    ax.set_yticklabels([b['label'] for b in bars], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale('log')
    ax.set_xlabel('speedup of multiproc (> 1: faster; a cost vs raw c is 1/c)\nbar: '
                  'median of the per-round ratios; whisker: min-max; tick: target '
                  '(green met, red missed)', fontsize=8)


def draw_scaling(ax, sc):
    for impl, pts in sorted(sc['series'].items()):
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker='o', label=impl)
    ax.set_title(sc['title'], fontsize=10)
    ax.set_xlabel(sc['xlabel'])
    ax.set_xscale('log', base=2)
    ax.legend(fontsize=8)


def main(argv):
    if len(argv) != 1:
        sys.exit('usage: plot.py FILE < data.json')
    data = json.load(sys.stdin)
    bars, scaling = data['bars'], data['scaling']
    rows = (1 if bars else 0) + len(scaling)
    if rows == 0:
        sys.exit('plot.py: nothing to draw')
    fig, axes = plt.subplots(rows, 1, squeeze=False,
                             figsize=(10, (0.28 * max(len(bars), 4) + 1.5 if bars else 0)
                                      + 3.2 * len(scaling)))
    k = 0
    if bars:
        draw_ratios(axes[0][0], bars)
        axes[0][0].set_title('multiproc against its peers, load average %.1f %.1f %.1f'
                             % tuple(data['load']), fontsize=10)
        k = 1
    for sc in scaling:
        draw_scaling(axes[k][0], sc)
        k += 1
    fig.tight_layout()
    fig.savefig(argv[0])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
