#!/usr/bin/env python3
"""Fold `perf script` output into stacks and draw them as a flame graph (SVG).

    perf record -F 999 -g -p PID -o perf.data -- sleep 15
    perf script -i perf.data | scripts/flamegraph.py --title "..." > out.svg
    perf script -i perf.data | scripts/flamegraph.py --folded > out.folded

No dependencies beyond Python 3. Frames are trimmed of Rust hashes and
argument lists; the process's thread names are the root frames' parents.
"""

import argparse
import collections
import html
import re
import sys

HASH = re.compile(r"::h[0-9a-f]{16}$")


def clean(sym):
    sym = HASH.sub("", sym)
    sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
    return sym or "[unknown]"


def fold(lines):
    """perf script text -> Counter of 'thread;root;...;leaf' stacks."""
    stacks = collections.Counter()
    comm, frames = None, []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if comm is not None:
                stacks[";".join([comm] + frames[::-1])] += 1
            comm, frames = None, []
            continue
        if comm is None:
            comm = line.split()[0] if line.split() else "?"
            # thread names like "tokio-runtime-w" keep their kind only
            comm = re.sub(r"[-_]?\d+$", "", comm)
            continue
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            sym = parts[1]
            sym = re.sub(r"\s+\([^)]*\)$", "", sym)
            frames.append(clean(sym))
    if comm is not None:
        stacks[";".join([comm] + frames[::-1])] += 1
    return stacks


def color(name):
    h = 0
    for c in name[:12]:
        h = (h * 31 + ord(c)) & 0xFFFF
    if "[k]" in name or name.startswith(("__x64", "entry_SYSCALL", "do_syscall")) or (
        name.islower() and "::" not in name and "_" in name
    ):
        return "rgb(%d,%d,%d)" % (200 + h % 55, 120 + h % 60, 40)
    return "rgb(%d,%d,%d)" % (220 + h % 35, 80 + h % 100, 50 + h % 50)


def svg(stacks, title, width=1600, row=16):
    tree = {}
    total = 0
    for stack, n in stacks.items():
        total += n
        node = tree
        for f in stack.split(";"):
            node = node.setdefault(f, [0, {}])
            node[0] += n
            node = node[1]
    depth = [0]

    def measure(t, d):
        depth[0] = max(depth[0], d)
        for _, (_, kids) in t.items():
            measure(kids, d + 1)

    measure(tree, 1)
    height = (depth[0] + 3) * row
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
        'font-family="monospace" font-size="11">' % (width, height),
        '<rect width="100%" height="100%" fill="#f8f8f8"/>',
        '<text x="8" y="14" font-size="13">%s (%d samples)</text>'
        % (html.escape(title), total),
    ]
    scale = (width - 16) / max(total, 1)

    def draw(t, x, d):
        for name, (n, kids) in sorted(t.items()):
            w = n * scale
            if w >= 0.3:
                y = height - (d + 1) * row
                label = html.escape(name)
                pct = 100.0 * n / total
                out.append(
                    '<g><title>%s (%d samples, %.2f%%)</title>'
                    '<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" rx="1"/>'
                    % (label, n, pct, x, y, w, row - 1, color(name))
                )
                chars = int(w / 6.6)
                if chars >= 3:
                    text = name if len(name) <= chars else name[: chars - 2] + ".."
                    out.append(
                        '<text x="%.1f" y="%d">%s</text>'
                        % (x + 2, y + row - 4, html.escape(text))
                    )
                out.append("</g>")
                draw(kids, x, d + 1)
            x += w

    draw(tree, 8, 0)
    out.append("</svg>")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--title", default="flame graph")
    ap.add_argument("--folded", action="store_true", help="print folded stacks")
    ap.add_argument("--from-folded", action="store_true", help="input is folded")
    args = ap.parse_args()
    if args.from_folded:
        stacks = collections.Counter()
        for line in sys.stdin:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if stack:
                stacks[stack] += int(n)
    else:
        stacks = fold(sys.stdin)
    if args.folded:
        for stack, n in sorted(stacks.items()):
            print(stack, n)
    else:
        print(svg(stacks, args.title))


if __name__ == "__main__":
    main()
