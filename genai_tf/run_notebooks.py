"""Execute the curriculum's notebooks, each in a fresh kernel, and summarise them.

Usage (what ``make run`` does)::

    python -m genai_tf.run_notebooks --out build            # every notebook, full mode
    python -m genai_tf.run_notebooks --mode quick --out build/quick notebooks/02_gan_minimax.ipynb
    python -m genai_tf.run_notebooks --inplace              # store full-mode outputs in notebooks/

Executed copies go to ``--out`` (git-ignored) with ``summary.md``: notebook,
status, wall time and the key figures each notebook printed with
:func:`genai_tf.config.key_figure`. A failing notebook is still written (with
its error) and the others still run; the exit status is then 1.
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

from genai_tf.config import KEY_FIGURE_PREFIX, MODE_ENV, MODES
from genai_tf.validation import positive_int_arg

DEFAULT_GLOB = "notebooks/[0-9][0-9]_*.ipynb"


def key_figures(notebook):
    """The ``[key figure] name: value`` lines a notebook printed, in order."""
    lines = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                lines += [
                    line[len(KEY_FIGURE_PREFIX) :].strip()
                    for line in output.get("text", "").splitlines()
                    if line.startswith(KEY_FIGURE_PREFIX)
                ]
    return lines


def execute(path, mode, timeout):
    """Run one notebook in a fresh kernel; return (notebook, seconds, error or None)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
    os.environ[MODE_ENV] = mode
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(Path(path).parent)}},
    )
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as err:
        lines = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()
        error = lines[-1] if lines else type(err).__name__
    seconds = time.perf_counter() - start
    notebook.metadata["genai_tf"] = {"mode": mode, "seconds": round(seconds, 1)}
    return notebook, seconds, error


def main(argv=None):
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help=f"notebooks to run (default: {DEFAULT_GLOB})")
    parser.add_argument("--mode", choices=MODES, default=os.environ.get(MODE_ENV, "full"))
    parser.add_argument("--out", default="build", help="folder for executed copies and summary.md")
    parser.add_argument("--inplace", action="store_true", help="also overwrite the source notebooks")
    parser.add_argument("--timeout", type=positive_int_arg, default=1200, help="seconds allowed per cell")
    args = parser.parse_args(argv)

    paths = [Path(p) for p in args.notebooks] or sorted(Path().glob(DEFAULT_GLOB))
    if not paths:
        parser.error(f"no notebooks found (looked for {DEFAULT_GLOB} under {Path().resolve().name}/)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, failed = [], 0
    for path in paths:
        print(f"running {path} ({args.mode} mode) ...", flush=True)
        notebook, seconds, error = execute(path, args.mode, args.timeout)
        nbformat.write(notebook, out / path.name)
        if args.inplace and error is None:
            nbformat.write(notebook, path)
        failed += error is not None
        status = "ok" if error is None else f"FAILED: {error}"
        rows.append((path.name, status, seconds, "; ".join(key_figures(notebook)) or "-"))
        print(f"  {status} in {seconds:.1f} s", flush=True)

    total = sum(r[2] for r in rows)
    lines = [
        f"# genai-tf notebooks, {args.mode} mode",
        "",
        "| notebook | status | wall time (s) | key figures |",
        "|---|---|---|---|",
        *(f"| {name} | {status} | {seconds:.1f} | {figures} |" for name, status, seconds, figures in rows),
        "",
        f"Total: {total:.1f} s for {len(rows)} notebooks, {failed} failed.",
    ]
    summary = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(summary, encoding="utf-8")
    print("\n" + summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
