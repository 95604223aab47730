"""Execute the curriculum's notebooks, each in a fresh kernel, and summarise them.

Usage (what ``make run`` does)::

    python -m genai_tf.run_notebooks --out build            # every notebook, full mode
    python -m genai_tf.run_notebooks --mode quick --out build/quick notebooks/02_gan_minimax.ipynb
    python -m genai_tf.run_notebooks --inplace              # store full-mode outputs in notebooks/

Executed copies go to ``--out`` (git-ignored) with ``summary.md``: notebook,
status, wall time and the key figures each notebook printed with
:func:`genai_tf.config.key_figure`. A failing notebook is still written (with
its error) and the others still run; the exit status is then 1. One line per
notebook is printed as it finishes: name, status, seconds, and the seconds
scaled to the reference machine.

Each executed notebook's metadata (``genai_tf``) records the mode, the wall
time, and the 1024^2 float32 matmul GFLOP/s measured just before and just
after it ran (:func:`genai_tf.machine.matmul_gflops`), so its time can be
scaled to the reference machine (:func:`genai_tf.machine.to_reference`).
Progress bars redraw a line with carriage returns; the stored outputs keep
only each line's final state (nbclient's ``coalesce_streams``).
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

from genai_tf.config import MODE_ENV, MODES
from genai_tf.validation import positive_int_arg

DEFAULT_GLOB = "notebooks/[0-9][0-9]_*.ipynb"


def key_figures(notebook):
    """The ``name: value`` key figures a notebook printed, in order (:func:`genai_tf.claims.stored_figures`)."""
    from genai_tf.claims import stored_figures

    return [f"{name}: {text}" for name, text in stored_figures(notebook).items()]


def machine_speed():
    """This machine's 1024^2 float32 matmul GFLOP/s now (about 0.6 s at the reference), rounded to 0.1."""
    from genai_tf.machine import matmul_gflops

    return round(matmul_gflops(), 1)


def execute(path, mode, timeout):
    """Run one notebook in a fresh kernel; return (notebook, seconds, error or None).

    The notebook's ``genai_tf`` metadata gets the mode, the seconds and the
    matmul GFLOP/s measured before and after the run (their mean is the
    machine's speed for scaling).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
    os.environ[MODE_ENV] = mode
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        coalesce_streams=True,   # one output per stream, a redrawn line (\r) kept in its final state
        resources={"metadata": {"path": str(Path(path).parent)}},
    )
    gflops_before = machine_speed()
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as err:
        lines = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()
        error = lines[-1] if lines else type(err).__name__
    seconds = time.perf_counter() - start
    gflops = {"before": gflops_before, "after": machine_speed()}
    notebook.metadata["genai_tf"] = {
        "mode": mode,
        "seconds": round(seconds, 1),
        "matmul_gflops": gflops,
        "cores": os.cpu_count(),
        "reference_seconds": round(reference_seconds(seconds, gflops), 1),
    }
    return notebook, seconds, error


def reference_seconds(seconds, gflops):
    """Seconds scaled to the reference machine by the mean of the before/after matmul figures."""
    from genai_tf.machine import to_reference

    return to_reference(seconds, (gflops["before"] + gflops["after"]) / 2)


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
    print(f"running {len(paths)} notebook(s) in {args.mode} mode; one line as each finishes", flush=True)
    for path in paths:
        notebook, seconds, error = execute(path, args.mode, args.timeout)
        nbformat.write(notebook, out / path.name)
        if args.inplace and error is None:
            nbformat.write(notebook, path)
        failed += error is not None
        status = "ok" if error is None else f"FAILED: {error}"
        meta = notebook.metadata["genai_tf"]
        rows.append((path.name, status, seconds, meta["reference_seconds"], "; ".join(key_figures(notebook)) or "-"))
        print(f"{path.name}: {status}, {seconds:.1f} s ({meta['reference_seconds']:.0f} s at the reference; "
              f"matmul {meta['matmul_gflops']['before']:.0f} -> {meta['matmul_gflops']['after']:.0f} GFLOP/s)",
              flush=True)

    total = sum(r[2] for r in rows)
    lines = [
        f"# genai-tf notebooks, {args.mode} mode",
        "",
        "| notebook | status | wall time (s) | at the reference (s) | key figures |",
        "|---|---|---|---|---|",
        *(f"| {name} | {status} | {seconds:.1f} | {scaled:.0f} | {figures} |"
          for name, status, seconds, scaled, figures in rows),
        "",
        f"Total: {total:.1f} s ({sum(r[3] for r in rows):.0f} s at the reference) for {len(rows)} notebooks, "
        f"{failed} failed.",
    ]
    summary = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(summary, encoding="utf-8")
    print("\n" + summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
