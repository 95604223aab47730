"""Measure every notebook's wall time in quick and full mode against the budgets.

Usage: python benchmarks/budgets.py [--modes quick full] [--stored] [notebooks ...]

Runs each notebook in a fresh kernel (genai_tf.run_notebooks), then prints one
table: notebook, seconds per mode, those seconds scaled to the reference
machine (2 cores, 1024^2 float32 matmul at 100 GFLOP/s; genai_tf.machine) by
the matmul figure each run recorded, and the fraction of the budget used at
the reference (quick <= 90 s, full <= 600 s, from the curriculum). Nothing
fails on a slow machine: this prints figures, it does not assert them.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import nbformat

from genai_tf import machine

BUDGETS = {"quick": 90.0, "full": 600.0}


def _metadata(path):
    return nbformat.read(path, as_version=4).metadata.get("genai_tf", {})


def _times(meta):
    """(seconds, seconds at the reference or None when the run recorded no machine speed)."""
    return meta.get("seconds"), meta.get("reference_seconds")


def stored_seconds(folder="notebooks"):
    """Full-mode wall times stored in the notebooks' metadata: {notebook: {"full": (seconds, at the reference)}}."""
    seconds = {}
    for path in sorted(Path(folder).glob("[0-9][0-9]_*.ipynb")):
        meta = _metadata(path)
        if meta.get("mode") == "full":
            seconds.setdefault(path.name, {})["full"] = _times(meta)
    return seconds


def run_seconds(mode, notebooks=(), seconds=None):
    """Run notebooks (default: all) in ``mode``, each in a fresh kernel, into build/benchmark-<mode>.

    Returns ``seconds`` (a new dict by default) with {notebook: {mode: (seconds, at the reference)}} added.
    """
    seconds = {} if seconds is None else seconds
    out = Path("build") / f"benchmark-{mode}"
    subprocess.run(
        [sys.executable, "-m", "genai_tf.run_notebooks", "--mode", mode, "--out", str(out), *notebooks],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    for path in sorted(out.glob("*.ipynb")):
        seconds.setdefault(path.name, {})[mode] = _times(_metadata(path))
    return seconds


def table(seconds, modes):
    """Lines of a Markdown table: notebook, then per mode seconds, at the reference, fraction of the budget there."""
    lines = [
        "| notebook | " + " | ".join(f"{m} (s) | {m} at the reference (s) | {m} / budget" for m in modes) + " |",
        "|---" * (1 + 3 * len(modes)) + "|",
    ]
    for name, by_mode in seconds.items():
        cells = []
        for mode in modes:
            value, reference = by_mode.get(mode, (None, None))
            if value is None:
                cells += ["-", "-", "-"]
            elif reference is None:
                cells += [f"{value:.1f}", "no speed recorded", "-"]
            else:
                cells += [f"{value:.1f}", f"{reference:.0f}", f"{reference / BUDGETS[mode]:.0%}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


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
        seconds = stored_seconds()
        args.modes = sorted(set(args.modes) - {"full"}) + ["full"]
    for mode in [m for m in args.modes if not (args.stored and m == "full")]:
        run_seconds(mode, args.notebooks, seconds)
    print(f"machine: {machine.description()}")
    print("\n".join(table(seconds, args.modes)))
    print(json.dumps(seconds))


if __name__ == "__main__":
    main()
