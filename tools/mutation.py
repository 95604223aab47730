"""Mutation testing of the modules where a one-line bug changes the math: ``make mutation``.

For each module below: copy the repository into a temporary folder, point
mutmut at that module's functions and at the fast tests that cover it, run it
there, and print how many mutants the tests killed, with the survivors. The
tree the command is started from is never modified: mutmut writes its mutants
into ``mutants/`` of the private copy, so tests running against the
repository at the same time see nothing.

Run every module, or some:

    .venv/bin/python tools/mutation.py
    .venv/bin/python tools/mutation.py losses sampling --jobs 2

Each module's report (the score, then every surviving mutant as a diff) is
written to ``build/mutation/<module>.txt``, and the latest score of every
module to ``build/mutation/summary.json`` (an object keyed by module name). A mutant counts as killed when a
test fails, errors or exceeds the time limit (a hung mutant is stopped after
``timeout_constant + timeout_multiplier * (duration of its tests)`` seconds,
see ``[tool.mutmut]`` in pyproject.toml) and as surviving when every test
passes or no selected test reaches it.

Why mutmut's fork server (``process_isolation = "forkserver"``): mutmut forks
one process per mutant. Forked from a process that has already run
TensorFlow ops (the default ``fork`` isolation, where the main process
collects the per-test coverage first), a child hangs on the first op that
needs TensorFlow's thread pools (``keras.random.normal`` in the
reparameterisation tests): measured, 7 of 14 such mutants ran into the time
limit instead of finishing. The fork server only imports the tests before it
forks, and no test module runs a TensorFlow op at import, so each child
starts TensorFlow's runtime itself: no hang, 0.3 to 0.5 s per child.
``-p no:unraisableexception`` saves a further 3 s per child: that plugin
runs ``gc.collect()`` at the end of every pytest session, which walks (and,
after a fork, copies) TensorFlow's whole heap.
"""

import argparse
import ast
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from genai_tf.records import RecordError, read_json, write_json

REPO = Path(__file__).resolve().parent.parent

# Folders never copied into the private tree.
IGNORED = (".venv", ".git", "outputs", "build", "mutants", "__pycache__", "*.egg-info", ".ipynb_checkpoints")

# The statuses of mutmut's own table (mutmut.stats.status_by_exit_code) that count as detected:
# a test failed, the tests ran past the time limit, or the child died (SIGKILL after the CPU
# limit, or a segfault). Every other status ("survived", "no tests", ...) is a survivor.
DETECTED = ("killed", "timeout", "segfault")


@dataclass
class Module:
    """One mutation target: the functions to mutate and the tests that should kill them.

    ``functions`` maps a source file to the names of its functions to mutate
    (``Class.method`` for a method); an empty list means every function of the
    file. ``tests`` and ``select`` (a pytest ``-k`` expression) choose the
    tests; test files that do not exist are left out with a note.
    """

    functions: dict
    tests: list
    select: str = ""
    notes: list = field(default_factory=list)


MODULES = {
    "losses": Module({"genai_tf/losses.py": []}, ["tests/test_losses.py"]),
    "theory": Module({"genai_tf/theory.py": []}, ["tests/test_theory.py"]),
    "sampling": Module({"genai_tf/sampling.py": []}, ["tests/test_sampling.py"]),
    "metrics": Module(
        {
            "genai_tf/metrics.py": [
                "mode_coverage", "_labels_1d", "class_coverage", "label_agreement", "_feature_pair",
                "frechet_distance", "_cubic_kernel", "kernel_distance", "classifier_inception_score",
                "_kth_neighbour_squared_radii", "_squared_distances", "precision_recall", "nats_to_bits",
                "perplexity",
            ]
        },
        ["tests/test_metrics.py"],
    ),
    "latent": Module({"genai_tf/latent.py": []}, ["tests/test_latent.py"]),
    "adversarial": Module({"genai_tf/adversarial.py": []}, ["tests/test_adversarial.py"]),
    "updates": Module(
        {
            "genai_tf/models/updates.py": [],
            "genai_tf/training.py": ["make_gan_train_step", "make_wgan_gp_train_step"],
            "genai_tf/models/gan.py": ["GAN.train_step"],
            "genai_tf/models/dcgan.py": ["DCGAN.train_step"],
            "genai_tf/models/conditional_gan.py": ["ConditionalGAN.train_step"],
            "genai_tf/models/wgan_gp.py": ["WGANGP.train_step"],
            "genai_tf/models/vae.py": ["VAE._terms", "VAE._record", "VAE.train_step", "VAE.test_step"],
        },
        [
            "tests/models/test_updates.py", "tests/models/test_base.py", "tests/models/test_gan.py",
            "tests/models/test_dcgan.py", "tests/models/test_conditional_gan.py", "tests/models/test_wgan_gp.py",
            "tests/models/test_vae.py", "tests/test_training.py", "tests/test_distribute.py",
        ],
        # Not the slow tests of other things: the kill-and-resume run (its child trains for a
        # minute), the save/load round trips, the progress bar and the importance weights.
        select=(
            "not killed_and_resumed and not save_and_load and not progress_bar "
            "and not log_importance_weights"
        ),
        notes=[
            "test_distribute.py compares the replicas in a subprocess; mutmut maps a test to the "
            "functions it calls in its own process, so those comparisons kill no mutant here.",
        ],
    ),
}


def mutant_patterns(module):
    """mutmut mutant-name patterns (fnmatch) of the module's functions."""
    patterns = []
    for path, names in module.functions.items():
        dotted = path[: -len(".py")].replace("/", ".")
        if not names:
            patterns.append(f"{dotted}.x*__mutmut_*")
        for name in names:
            if "." in name:
                class_name, method = name.split(".")
                patterns.append(f"{dotted}.x\u01c1{class_name}\u01c1{method}__mutmut_*")
            else:
                patterns.append(f"{dotted}.x_{name}__mutmut_*")
    return patterns


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(toml_value(v) for v in value) + "]"


def write_mutmut_config(tree, module):
    """Replace ``[tool.mutmut]`` in the copy's pyproject.toml by this module's settings."""
    pyproject = tree / "pyproject.toml"
    text = pyproject.read_text()
    # The shared settings come from this repository's pyproject.toml, whatever tree is tested.
    settings = dict(tomllib.loads((REPO / "pyproject.toml").read_text()).get("tool", {}).get("mutmut", {}))
    tests = [t for t in module.tests if (tree / t).exists()]
    missing = [t for t in module.tests if t not in tests]
    settings["only_mutate"] = list(module.functions)
    settings["pytest_add_cli_args_test_selection"] = tests + (["-k", module.select] if module.select else [])
    # Drop the old section: from its header to the next table header.
    lines, kept, inside = text.splitlines(), [], False
    for line in lines:
        if line.strip().startswith("["):
            inside = line.strip() == "[tool.mutmut]"
        if not inside:
            kept.append(line)
    kept += ["", "[tool.mutmut]"] + [f"{key} = {toml_value(value)}" for key, value in settings.items()]
    pyproject.write_text("\n".join(kept) + "\n")
    return tests, missing


def functions_of(source):
    """(qualified name, line of the header's colon) of the top-level functions and methods mutmut mutates."""
    found = []
    for node in ast.parse(source).body:
        members = node.body if isinstance(node, ast.ClassDef) else [node]
        prefix = f"{node.name}." if isinstance(node, ast.ClassDef) else ""
        for member in members:
            if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and member.body[0].lineno > member.lineno:
                # The header ends on the line before the first statement of the body (its docstring included).
                found.append((prefix + member.name, member.body[0].lineno - 1))
    return found


def leave_out_other_functions(tree, module):
    """In the private copy, mark every function outside the module's list ``# pragma: no mutate block``.

    mutmut then leaves them as they are, with no trampoline: a trampoline around
    a Keras layer's ``__init__`` hides its signature from Keras, which breaks
    the model's construction.
    """
    for path, names in module.functions.items():
        if not names:
            continue
        file = tree / path
        lines = file.read_text().splitlines(keepends=True)
        for name, colon_line in functions_of("".join(lines)):
            if name not in names:
                line = lines[colon_line - 1]
                lines[colon_line - 1] = line.rstrip("\n") + "  # pragma: no mutate block\n"
        file.write_text("".join(lines))


def copy_tree(root, destination):
    shutil.copytree(root, destination, ignore=shutil.ignore_patterns(*IGNORED), symlinks=True)


def read_results(tree, module):
    """{mutant name: exit code or None} of the module's functions, from mutmut's .meta files."""
    patterns = mutant_patterns(module)
    results = {}
    for path in module.functions:
        meta = tree / "mutants" / (path + ".meta")
        if not meta.exists():
            continue
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if any(fnmatch.fnmatchcase(key, p) for p in patterns):
                results[key] = code
    return results


def status(code):
    """mutmut's name for a mutant's exit code (None: not checked)."""
    from mutmut.stats import status_by_exit_code

    return status_by_exit_code[code]


DIFF_SCRIPT = """
import sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.utils.format_utils import get_module_from_key
for name in sys.argv[1:]:
    path = get_module_from_key(name).replace(".", "/") + ".py"
    try:
        print("# " + name + "\\n" + get_diff_for_mutant(name, path=path) + "\\n", flush=True)
    except Exception as error:  # a diff is a convenience: report, do not stop
        print("# " + name + ": no diff (" + repr(error) + ")\\n", flush=True)
"""


def diffs(tree, names, env):
    if not names:
        return ""
    done = subprocess.run(
        [sys.executable, "-c", DIFF_SCRIPT, *names], cwd=tree, env=env, capture_output=True, text=True
    )
    return done.stdout + done.stderr


def environment():
    env = dict(os.environ)
    env.update(
        GENAI_TF_MODE="quick",
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="-1",
        MPLBACKEND="Agg",
        # Small models: one thread per op keeps parallel workers from oversubscribing the cores.
        TF_NUM_INTRAOP_THREADS="1",
        OMP_NUM_THREADS="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("MUTANT_UNDER_TEST", None)
    return env


def run_stoppable(command, cwd, env, log_path, time_limit):
    """Run ``command`` in its own process group, output to ``log_path``; stop the group after ``time_limit`` s.

    Returns:
        (exit code, whether it was stopped at the limit).
    """
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            return process.wait(timeout=time_limit), False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                return process.wait(timeout=30), True
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                return process.wait(), True


def run_module(name, module, root, out_dir, jobs, time_limit, keep):
    """Run mutmut on one module in a private copy of ``root``; return its summary dict."""
    work = Path(tempfile.mkdtemp(prefix=f"genai_tf_mutation_{name}_"))
    tree = work / "tree"
    start = time.monotonic()
    copy_tree(root, tree)
    leave_out_other_functions(tree, module)
    tests, missing = write_mutmut_config(tree, module)
    env = environment()
    log_path = out_dir / f"{name}.log"
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    command = [mutmut, "run", "--max-children", str(jobs), *mutant_patterns(module)]
    print(f"[{name}] mutating {', '.join(module.functions)}; tests: {' '.join(tests)}"
          + (f" -k '{module.select}'" if module.select else ""), flush=True)
    returncode, stopped = run_stoppable(command, tree, env, log_path, time_limit)
    seconds = time.monotonic() - start
    results = read_results(tree, module)
    counts = {}
    for code in results.values():
        counts[status(code)] = counts.get(status(code), 0) + 1
    detected = sum(counts.get(s, 0) for s in DETECTED)
    total = len(results)
    survivors = sorted(k for k, c in results.items() if status(c) not in DETECTED)
    summary = {
        "module": name, "killed": detected, "total": total,
        "score": 100.0 * detected / total if total else 0.0, "seconds": seconds, "counts": counts,
        "survivors": survivors, "returncode": returncode, "stopped": stopped,
    }
    lines = [
        f"module: {name}",
        f"functions: {json.dumps(module.functions)}",
        f"tests: {' '.join(tests)}" + (f" -k '{module.select}'" if module.select else ""),
        *(f"missing test file (left out): {t}" for t in missing),
        *(f"note: {n}" for n in module.notes),
        f"score: {detected} / {total} killed = {summary['score']:.1f}%",
        f"statuses: {json.dumps(counts, sort_keys=True)}",
        f"run time: {seconds:.0f} s with {jobs} worker(s)",
        f"mutmut exit code: {returncode}" + (f" (stopped after the {time_limit} s limit)" if stopped else ""),
        f"mutmut log: {log_path}",
        "",
        f"surviving mutants ({len(survivors)}): {', '.join(f'{k}: {status(results[k])}' for k in survivors)}",
        "",
        diffs(tree, survivors, env),
    ]
    report = out_dir / f"{name}.txt"
    report.write_text("\n".join(lines))
    if returncode != 0 or not total:
        print(f"[{name}] mutmut failed (exit code {returncode}); see {log_path}", flush=True)
    print(f"[{name}] {detected} / {total} killed = {summary['score']:.1f}% in {seconds:.0f} s; "
          f"{len(survivors)} survivors, listed with their diffs in {report}", flush=True)
    if keep:
        print(f"[{name}] kept the private copy: {tree} (mutmut browse / show there)", flush=True)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"modules to test (default: all of {', '.join(MODULES)})")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="mutants run in parallel")
    parser.add_argument("--root", type=Path, default=REPO, help="the tree to copy and test (default: this repository)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "mutation", help="folder for the reports")
    parser.add_argument("--time-limit", type=int, default=4 * 3600, help="seconds before a module's run is stopped")
    parser.add_argument("--keep", action="store_true", help="keep each module's private copy")
    args = parser.parse_args(argv)
    names = [n for part in args.modules for n in part.replace(",", " ").split()] or list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; choose from {list(MODULES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    summaries = [run_module(n, MODULES[n], args.root.resolve(), args.out, args.jobs, args.time_limit, args.keep)
                 for n in names]
    print()
    print(f"{'module':<12} {'killed':>7} {'total':>6} {'score':>7} {'time':>8}")
    for s in summaries:
        print(f"{s['module']:<12} {s['killed']:>7} {s['total']:>6} {s['score']:>6.1f}% {s['seconds']:>7.0f}s")
    # summary.json keeps the latest result of every module run into this folder, by module.
    summary_path = args.out / "summary.json"
    try:
        previous = read_json(summary_path, what="mutation summary") if summary_path.exists() else {}
    except RecordError:
        previous = {}   # an older list-shaped or damaged summary is replaced
    merged = {**previous, **{s["module"]: s for s in summaries}}
    write_json(summary_path, {m: merged[m] for m in MODULES if m in merged}, indent=1)
    return 0 if all(s["returncode"] == 0 and s["total"] for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
