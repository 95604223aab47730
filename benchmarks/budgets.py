"""Measure every notebook's wall time in quick and full mode against the budgets.

Usage: python benchmarks/budgets.py [--modes quick full] [--stored] [notebooks ...]

Runs each notebook in a fresh kernel (genai_tf.run_notebooks), then prints one
table: notebook, seconds per mode, and the fraction of its budget used
(quick <= 90 s, full <= 600 s, from the curriculum). Nothing fails on a slow
machine: this prints figures, it does not assert them.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import nbformat

BUDGETS = {"quick": 90.0, "full": 600.0}


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*")
    parser.add_argument("--modes", nargs="+", default=["quick", "full"], choices=sorted(BUDGETS))
    parser.add_argument(
        "--stored",
        action="store_true",
        help="take full-mode times from the stored notebooks' metadata instead of re-running them",
    )
    args = parser.parse_args()
    seconds = {}
    if args.stored:
        for path in sorted(Path("notebooks").glob("[0-9][0-9]_*.ipynb")):
            meta = nbformat.read(path, as_version=4).metadata.get("genai_tf", {})
            if meta.get("mode") == "full":
                seconds.setdefault(path.name, {})["full"] = meta.get("seconds")
        args.modes = sorted(set(args.modes) - {"full"}) + ["full"]
    for mode in [m for m in args.modes if not (args.stored and m == "full")]:
        out = Path("build") / f"benchmark-{mode}"
        subprocess.run(
            [sys.executable, "-m", "genai_tf.run_notebooks", "--mode", mode, "--out", str(out), *args.notebooks],
            check=False,
            stdout=subprocess.DEVNULL,
        )
        for path in sorted(out.glob("*.ipynb")):
            meta = nbformat.read(path, as_version=4).metadata.get("genai_tf", {})
            seconds.setdefault(path.name, {})[mode] = meta.get("seconds")
    print(f"machine: {machine()}")
    header = "| notebook | " + " | ".join(f"{m} (s) | {m} / budget" for m in args.modes) + " |"
    print(header)
    print("|---" * (1 + 2 * len(args.modes)) + "|")
    for name, by_mode in seconds.items():
        cells = []
        for mode in args.modes:
            value = by_mode.get(mode)
            cells += ["-", "-"] if value is None else [f"{value:.1f}", f"{value / BUDGETS[mode]:.0%}"]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(json.dumps(seconds))


if __name__ == "__main__":
    main()
