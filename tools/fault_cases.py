"""Reproduce the run-folder faults of issue 18 from the command line; print one Markdown table row per case.

Usage: python tools/fault_cases.py [--repo PATH] [--only D1,D2] [--jobs N] [--keep]

Each case (D1-D8, D9's damaged ``.keras`` through the Python API, D10, D12) runs ``sys.executable -m genai_tf``
with ``PYTHONPATH=PATH`` (default: this checkout), ``CI=true`` and ``GENAI_TF_OUTPUTS`` in a fresh temporary
folder that holds every case's run folders. A row gives the commands in short (``F`` is ``--checkpoint-every 20
--batch-size 16``), their exit statuses, the last meaningful line of each one's stderr, whether the outcome is
the good one issue 18 asks for (a failure: exit 1 with a one-line message and no traceback, or exit 2 with the
sub-command's usage; Ctrl-C: exit 130; resumes and fallbacks that work) and the case's seconds, not counting
the base runs it copies. Kills are SIGKILL (SIGINT for Ctrl-C) timed by polling the folder every 5 ms. The full
disk is a size-limited tmpfs, the read-only folder a tmpfs remounted read-only (``mount`` needs root); where
that fails the row says so. ``--only D2`` runs D2a-D2d.
"""

import argparse
import collections
import concurrent.futures
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FAST = ("--checkpoint-every", "20", "--batch-size", "16")
TIMEOUT = 300
POLL = 0.005
TRACEBACK = "Traceback (most recent call last)"
NOISE = re.compile(
    r"^(WARNING: All log messages before absl|[IWE]\d{4} |To enable the following instructions|"
    r"This TensorFlow binary is optimized|WARNING:(tensorflow|absl):|\s)"
)

# Run by ``python -c FIRST_BAD ARGS``: the command line on ARGS, the losses NaN from the FIRST_BAD-th step on.
NAN_STEP = r'''
import sys
from genai_tf import cli, recipes
recipe, first_bad = recipes.get("mlp_gan"), int(sys.argv.pop(1))
make_step = recipe.train_step
def nan_from(model):
    step, calls = make_step(model), []
    def run(batch):
        calls.append(1)
        logs = step(batch)
        return {name: value * float("nan") for name, value in logs.items()} if len(calls) >= first_bad else logs
    return run
recipe.train_step = nan_from
sys.exit(cli.main(sys.argv[1:]))
'''

# D9: a damaged .keras file (the zip magic, then nothing) with a valid training record, where load_or_train looks.
DAMAGED_KERAS = r'''
import json
from genai_tf import recipes
recipe = recipes.get("mlp_gan")
path = recipe.saved_path("quick")
path.parent.mkdir(parents=True, exist_ok=True)
path.write_bytes(b"PK\x03\x04 this is not a whole .keras file")
record = dict(key="mlp_gan", notebook=recipe.notebook, mode="quick", dataset=recipe.datasets[0], amount=2,
              unit=recipe.unit, seconds=1.0)
path.with_suffix(".json").write_text(json.dumps(record))
model, record = recipe.load_or_train(2, "quick")
print("source:", record["source"])
'''

Run = collections.namedtuple("Run", "label code stdout stderr seconds")


def mlp_args(steps, every=20):
    return ("train", "mlp_gan", "--steps", str(steps), "--checkpoint-every", str(every), "--batch-size", "16")


BASE_ARGS = {"mlp": mlp_args(40), "char": ("train", "char_gru", "--steps", "4")}
SAMPLE = {"mlp": ("sample", "mlp_gan", "--num-samples", "4"), "char": ("sample", "char_gru", "--num-samples", "2")}


def mount(*args):
    """Run ``mount ARGS``; whether it worked."""
    return subprocess.run(["mount", *map(str, args)], capture_output=True).returncode == 0


class Job:
    """A started command whose stdout and stderr go to temporary files (no pipe can fill up)."""

    def __init__(self, label, argv, env, cwd):
        self.label, self.started = label, time.perf_counter()
        self.out, self.err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        # Ctrl-C reaches the child even when this script runs as a shell's background job (SIGINT ignored).
        self.process = subprocess.Popen(argv, stdout=self.out, stderr=self.err, env=env, cwd=cwd,
                                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def signal(self, signum):
        if self.process.poll() is None:
            os.kill(self.process.pid, signum)

    def wait_for(self, condition, timeout=TIMEOUT):
        """Poll ``condition`` every 5 ms while the command runs; whether it held before the command ended."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(POLL)
        return False

    def finish(self, timeout=TIMEOUT):
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = "timeout"
        texts = []
        for handle in (self.out, self.err):
            handle.seek(0)
            texts.append(handle.read().decode("utf-8", "replace"))
            handle.close()
        return Run(self.label, code, *texts, time.perf_counter() - self.started)


class Lab:
    """The temporary folder of all cases (their commands run in it, given run folders such as ``D2a/R``)."""

    def __init__(self, repo):
        self.repo = Path(repo).resolve()
        self.root = Path(tempfile.mkdtemp(prefix="fault_cases_"))
        self.env = {**os.environ, "PYTHONPATH": str(self.repo), "GENAI_TF_OUTPUTS": str(self.root / "outputs"),
                    "CI": "true"}
        self.mounts, self.base_runs = [], []
        self._done, self._locks = {}, {}

    def folder(self, name):
        (self.root / name).mkdir(parents=True, exist_ok=True)
        return Path(name)

    def start(self, args, label=None, code=None, env=None):
        """Start ``python -m genai_tf ARGS`` (or ``python -c CODE ARGS``) in the lab folder."""
        args = [str(arg) for arg in args]
        argv = [sys.executable, *(["-c", code] if code else ["-m", "genai_tf"]), *args]
        text = " ".join(args).replace(" ".join(FAST), "F")
        return Job(label or text, argv, {**self.env, **(env or {})}, self.root)

    def gt(self, args, label=None, code=None, env=None):
        return self.start(args, label, code, env).finish()

    def once(self, name, build):
        """``build()`` the first time ``name`` is asked for (by any thread); its result, or its error, after that."""
        with self._locks.setdefault(name, threading.Lock()):
            if name not in self._done:
                try:
                    self._done[name] = (build(), None)
                except Exception as error:  # noqa: BLE001 -- kept, so that every case needing it reports it
                    self._done[name] = (None, error)
        value, error = self._done[name]
        if error is not None:
            raise error
        return value

    def base(self, name):
        """The folder of an uninterrupted base run: ``mlp`` (mlp_gan, 40 steps) or ``char`` (char_gru, 4 steps)."""
        def build():
            folder = Path("base") / name
            run = self.gt([*BASE_ARGS[name], "--outdir", folder])
            self.base_runs.append(run)
            if run.code != 0:
                raise RuntimeError(f"the base run `{run.label}` exited {run.code}: {last_line(run.stderr)}")
            return folder

        return self.once(f"base-{name}", build)

    def copy_base(self, name, target):
        shutil.copytree(self.root / self.base(name), self.root / target)
        return target

    def tmpfs(self, case, size_mb):
        """``case/disk``, a tmpfs of ``size_mb`` MB; None when it cannot be mounted here."""
        target = self.folder(case) / "disk"
        (self.root / target).mkdir()
        if mount("-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", self.root / target):
            self.mounts.append(self.root / target)
            return target
        return None

    def close(self, keep=False):
        """Unmount the tmpfs folders (their contents go) and delete the lab folder unless ``keep``."""
        for folder in reversed(self.mounts):
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        if keep:
            print(f"Run folders kept in {self.root}", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def last_line(stderr):
    """The last meaningful line of stderr: not TensorFlow's chatter, not an indented traceback line."""
    lines = [line.rstrip() for line in stderr.splitlines() if line.strip() and not NOISE.match(line)]
    line = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", lines[-1]) if lines else ""
    return line.replace("tensorflow.python.framework.errors_impl.", "tf.errors.")


def clean(run, usage=None):
    """Whether a run failed as issue 18 asks: exit 1, a message, no traceback; or exit 2 and a sub-command's usage."""
    if TRACEBACK in run.stderr:
        return False
    if run.code == 1:
        return bool(last_line(run.stderr))
    command = usage or "(train|sample|evaluate)"
    return run.code == 2 and re.search(rf"usage: python -m genai_tf {command}\b", run.stderr) is not None


def verdict(ok, detail=""):
    return ("yes" if ok else "**no**") + (f": {detail}" if detail else "")


class Row:
    """One line of the table: the case, what it does, its runs, the verdict and (set later) its seconds."""

    HEADER = "| case | what | command(s) | exit | last line of stderr | good? | s |\n|---|---|---|---|---|---|---|"

    def __init__(self, case, what, runs, good, seconds=None):
        self.case, self.what, self.runs, self.good, self.seconds = case, what, runs, good, seconds

    def markdown(self, lab):
        def cell(text, limit=320):
            text = text.replace(str(lab.root) + "/", "").replace(str(lab.repo), "REPO").replace("|", "\\|")
            return text if len(text) <= limit else text[: limit - 1] + "…"

        commands = "<br>".join(f"`{cell(run.label, 120)}`" for run in self.runs) or "—"
        exits = ", ".join(f"{run.code} ({signal.Signals(-run.code).name})" if isinstance(run.code, int) and run.code < 0
                          else str(run.code) for run in self.runs) or "—"
        lines = "<br>".join(
            cell(("(traceback) " if TRACEBACK in run.stderr else "") + (last_line(run.stderr) or "(empty)"))
            for run in self.runs
        ) or "—"
        seconds = "" if self.seconds is None else f"{self.seconds:.0f}"
        return f"| {self.case} | {self.what} | {commands} | {exits} | {lines} | {cell(self.good, 400)} | {seconds} |"


def read_json(path):
    """The JSON object at ``path``, or {} when it is missing or damaged (this script must not fail on it)."""
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def edit_json(path, change):
    Path(path).write_text(json.dumps(change(read_json(path))))


def truncate(path):
    os.truncate(path, Path(path).stat().st_size // 2)


def garble(path):
    data = bytearray(Path(path).read_bytes())
    middle = len(data) // 2
    data[middle: middle + 4096] = random.Random(0).randbytes(4096)
    Path(path).write_bytes(bytes(data))


def temp_folders(folder):
    """The ``ckpt-N_temp`` folders of a run, with their sizes in MB."""
    found = []
    for temp in sorted((Path(folder) / "checkpoints").glob("ckpt-*_temp")):
        size = sum(path.stat().st_size for path in temp.rglob("*") if path.is_file())
        found.append(f"{temp.name} ({size / 1e6:.0f} MB)")
    return ", ".join(found) or "none"


def checkpoint_state(folder):
    """The checkpoint steps with both files on disk, and the latest one the ``checkpoint`` file names."""
    folder = Path(folder) / "checkpoints"
    steps = sorted(int(index.name[5:-6]) for index in folder.glob("ckpt-*.index")
                   if index.with_suffix(".data-00000-of-00001").exists())
    state = (folder / "checkpoint").read_text() if (folder / "checkpoint").exists() else ""
    named = re.search(r'model_checkpoint_path: "ckpt-(\d+)"', state)
    return steps, int(named.group(1)) if named else None


def no_dead_end(lab, folder, args):
    """``train --resume`` in the folder, then, if that fails, a plain ``train``: the runs made."""
    resume = lab.gt([*args, "--resume", "--outdir", folder])
    return [resume] if resume.code == 0 else [resume, lab.gt([*args, "--outdir", folder])]


def case_d1(lab, case):
    folder = lab.folder(case) / "R"
    first = lab.start([*mlp_args(40), "--outdir", folder])
    time.sleep(0.5)
    second = lab.start([*mlp_args(40), "--seed", "5", "--outdir", folder])
    runs = [first.finish(), second.finish()]
    seed = read_json(lab.root / folder / "settings.json").get("seed")
    samples = [lab.root / name / "samples.npy" for name in (folder, lab.base("mlp"))]
    kept = seed == 0 and samples[0].exists() and samples[0].read_bytes() == samples[1].read_bytes()
    refused = sorted(run.code for run in runs) == [0, 1] and clean(max(runs, key=lambda run: run.code))
    detail = f"settings say seed={seed}; samples.npy {'=' if kept else '≠'} the uninterrupted seed-0 run's"
    return Row(case, "two `train` into one folder, the second 0.5 s later", runs, verdict(refused and kept, detail))


D2_DAMAGES = {
    "D2a": ("latest checkpoint (ckpt-40; ckpt-20 intact) truncated to half", truncate),
    "D2b": ("4 kB in the middle of the latest checkpoint garbled", garble),
    "D2c": ("latest checkpoint's files deleted", lambda data: [old.unlink() for old in data.parent.glob("ckpt-40.*")]),
    "D2d": ("the `checkpoint` state file garbled, then `--resume --steps 60`",
            lambda data: (data.parent / "checkpoint").write_text("model_checkpoint_path: ckpt-40 {{{ garbled\n")),
}


def case_d2(lab, case):
    what, damage = D2_DAMAGES[case]
    folder = lab.copy_base("mlp", Path(case) / "R")
    damage(lab.root / folder / "checkpoints" / "ckpt-40.data-00000-of-00001")
    runs = [lab.gt([*SAMPLE["mlp"], "--outdir", folder])]
    if case == "D2d":
        runs.append(lab.gt([*mlp_args(60), "--resume", "--outdir", folder]))
    used = (re.findall(r"\(step (\d+)", runs[0].stdout) or [None])[0]
    ok = runs[0].code == 0 and (case == "D2d" or used == "20") and all(run.code == 0 for run in runs)
    detail = f"sample used step {used}" if runs[0].code == 0 else "no sample"
    if case == "D2d":
        detail += "; the resume " + ("works" if runs[1].code == 0 else "fails")
    return Row(case, what, runs, verdict(ok, detail))


def case_d3(lab, case):
    """D3a: kill -9 50 ms after settings.json appears; D3b: the disk full at ckpt-0. Then train again."""
    if case == "D3a":
        what, folder = "kill -9 50 ms after settings.json appears", lab.folder(case) / "R"
        job = lab.start([*mlp_args(20), "--outdir", folder])
        ok = job.wait_for(lambda: (lab.root / folder / "settings.json").exists())
        time.sleep(0.05)
        job.signal(signal.SIGKILL)
        first, how = job.finish(), "killed in time" if ok else "the kill came too late"
    else:
        what = "disk full at ckpt-0 (20 MB tmpfs), then space freed (200 MB)"
        disk = lab.tmpfs(case, 20)
        if disk is None:
            return Row(case, what, [], "not reproducible here (cannot mount a tmpfs)")
        folder = disk / "R"
        first = lab.gt([*mlp_args(20), "--outdir", folder])
        ok, how = clean(first), f"_temp left: {temp_folders(lab.root / folder)}"
        mount("-o", "remount,size=200m", lab.root / disk)
    steps, _ = checkpoint_state(lab.root / folder)
    later = no_dead_end(lab, folder, mlp_args(20))
    works = any(run.code == 0 for run in later)
    detail = f"{how}, checkpoints on disk: {steps or 'none'}; then " + ("`train` works" if works else "both refuse")
    return Row(case, what + "; `train --resume`, then `train`", [first, *later], verdict(ok and works, detail))


def nan_run(lab, case, first_bad):
    """A 40-step run whose losses are NaN from step ``first_bad`` on: (run, its train_metrics.json record)."""
    folder = lab.folder(case) / "R"
    label = f"[NaN losses from step {first_bad}] train mlp_gan --steps 40 F --outdir {folder}"
    run = lab.gt([first_bad, *mlp_args(40), "--outdir", folder], label=label, code=NAN_STEP)
    return run, read_json(lab.root / folder / "train_metrics.json")


def case_d4(lab, case):
    """D4a: Ctrl-C twice before the first periodic checkpoint; D4b: NaN losses from step 1; both roll back."""
    if case == "D4b":
        run, record = nan_run(lab, case, 1)
        named = re.search(r"non-finite|nan", last_line(run.stderr), re.IGNORECASE) is not None
        ok = clean(run) and named and record.get("status") == "failed"
        detail = f"the message is about the NaN: {named}; train_metrics.json status: {record.get('status')}"
        return Row(case, "NaN losses from step 1 (the model's step patched by `python -c`)", [run], verdict(ok, detail))
    folder = lab.folder(case) / "R"
    job = lab.start([*mlp_args(40), "--outdir", folder])
    hit = job.wait_for(lambda: (lab.root / folder / "checkpoints" / "checkpoint").exists())
    time.sleep(1.0)
    early = hit and not (lab.root / folder / "checkpoints" / "ckpt-20.index").exists()
    for _ in range(2):
        job.signal(signal.SIGINT)
        time.sleep(0.3)
    run, record = job.finish(), (lab.root / folder / "train_metrics.json").exists()
    ok = early and run.code == 130 and TRACEBACK not in run.stderr and record
    detail = f"Ctrl-C {'before' if early else 'not before'} ckpt-20; train_metrics.json written: {record}"
    return Row(case, "Ctrl-C twice after ckpt-0, before the first periodic checkpoint", [run], verdict(ok, detail))


def case_d5a(lab, case):
    what = "disk full during ckpt-20 (40 MB tmpfs: ckpt-0 fits), then `--resume` on the same disk"
    disk = lab.tmpfs(case, 40)
    if disk is None:
        return Row(case, what, [], "not reproducible here (cannot mount a tmpfs)")
    folder = disk / "R"
    full = lab.gt([*mlp_args(20), "--outdir", folder])
    temps = temp_folders(lab.root / folder)
    steps, latest = checkpoint_state(lab.root / folder)
    resume = lab.gt([*mlp_args(20), "--resume", "--outdir", folder])
    ok = clean(full) and temps == "none" and 0 in steps and latest == 0 and (resume.code == 0 or clean(resume))
    detail = (f"after the failure: _temp left {temps}, checkpoints {steps}, latest named {latest}; "
              f"after the resume: _temp {temp_folders(lab.root / folder)}")
    return Row(case, what, [full, resume], verdict(ok, detail))


def case_d5b(lab, case):
    what = "read-only run folder (a tmpfs remounted read-only): `sample`, `train --resume --steps 60`"
    disk = lab.tmpfs(case, 200)
    if disk is None and os.geteuid() == 0:
        return Row(case, what, [], "not reproducible here (root ignores permissions and no tmpfs can be mounted)")
    folder = lab.copy_base("mlp", (disk or Path(case)) / "R")
    if disk is None:
        subprocess.run(["chmod", "-R", "a-w", str(lab.root / folder)], check=True)
    elif not mount("-o", "remount,ro", lab.root / disk):
        return Row(case, what, [], "not reproducible here (the tmpfs cannot be remounted read-only)")
    runs = [lab.gt([*SAMPLE["mlp"], "--outdir", folder]), lab.gt([*mlp_args(60), "--resume", "--outdir", folder])]
    if disk is None:
        subprocess.run(["chmod", "-R", "u+w", str(lab.root / folder)], check=True)
    return Row(case, what, runs, verdict(all(clean(run) for run in runs)))


def killed_run(lab):
    """D7's run, shared with D5c: mlp_gan to step 60, kill -9 while ckpt-40_temp exists, then ``--resume``."""
    def build():
        folder = lab.folder("D7") / "R"
        job = lab.start([*mlp_args(60), "--outdir", folder])
        hit = job.wait_for(lambda: (lab.root / folder / "checkpoints" / "ckpt-40_temp").exists())
        job.signal(signal.SIGKILL)
        runs = [job.finish()]
        after_kill = {"temps": temp_folders(lab.root / folder), "steps": checkpoint_state(lab.root / folder)[0],
                      "record": (lab.root / folder / "train_metrics.json").exists()}
        runs.append(lab.gt([*mlp_args(60), "--resume", "--outdir", folder]))
        after_kill["temps_after_resume"] = temp_folders(lab.root / folder)
        return hit, runs, after_kill, read_json(lab.root / folder / "train_metrics.json")

    return lab.once("killed", build)


def case_d7(lab, case):
    """D7: the history after kill -9 and ``--resume``; D5c: the ``_temp`` folders the kill leaves (one run)."""
    hit, runs, after, record = killed_run(lab)
    if case == "D5c":
        detail = (f"{'killed during' if hit else 'the kill missed'} the ckpt-40 write; _temp after the kill: "
                  f"{after['temps']}; after the resume: {after['temps_after_resume']}")
        return Row(case, "kill -9 during a checkpoint write (D7's run): `_temp` folders left", runs,
                   verdict(hit and after["temps_after_resume"] == "none", detail), sum(run.seconds for run in runs))
    steps, sessions = record.get("history", {}).get("step"), len(record.get("sessions", []))
    ok = hit and runs[1].code == 0 and steps == [20, 40, 60] and sessions == 2
    detail = (f"after the kill (checkpoints {after['steps']}) train_metrics.json "
              f"{'exists' if after['record'] else 'is missing'}; after the resume: history steps {steps} "
              f"(uninterrupted: [20, 40, 60]), {sessions} session(s) recorded")
    return Row(case, "kill -9 during ckpt-40 of a 60-step run, then `--resume`", runs, verdict(ok, detail),
               sum(run.seconds for run in runs))


# D6 and D10: (what, base run, file, damage, command after it).
DAMAGED_FILES = {
    "D6a": ("settings.json truncated to half", "mlp", "settings.json", truncate, "sample"),
    "D6b": ("settings.json without its `seed`", "mlp", "settings.json",
            lambda path: edit_json(path, lambda record: {k: v for k, v in record.items() if k != "seed"}), "sample"),
    "D6c": ("train_metrics.json truncated to half, then `--resume --steps 60`", "mlp", "train_metrics.json",
            truncate, "resume"),
    "D6d": ("vocabulary.json whose `tokens` is a number (94)", "char", "vocabulary.json",
            lambda path: edit_json(path, lambda record: {**record, "tokens": 94}), "sample"),
    "D10a": ("vocabulary.json's tokens reversed", "char", "vocabulary.json",
             lambda path: edit_json(path, lambda record: {**record, "tokens": record["tokens"][::-1]}), "sample"),
    "D10b": ("vocabulary.json's last 10 tokens dropped", "char", "vocabulary.json",
             lambda path: edit_json(path, lambda record: {**record, "tokens": record["tokens"][:-10]}), "sample"),
}


def case_damaged_file(lab, case):
    what, base, name, damage, command = DAMAGED_FILES[case]
    folder = lab.copy_base(base, Path(case) / "R")
    damage(lab.root / folder / name)
    args = [*mlp_args(60), "--resume"] if command == "resume" else SAMPLE[base]
    run = lab.gt([*args, "--outdir", folder])
    ok, detail = clean(run), "exit 0: the damage went unnoticed" if run.code == 0 else ""
    if command == "resume":
        target = read_json(lab.root / folder / "settings.json").get("target_steps")
        ok = run.code == 0 or (clean(run) and target == 40)
        detail = f"settings.json target_steps afterwards: {target} (was 40)"
    return Row(case, what, [run], verdict(ok, detail))


# D8: (what, base run copied into the folder, commands); D8a's folder is a file.
ARGUMENTS = {
    "D8a": ("`--outdir` is a file", None, [mlp_args(2, 2)]),
    "D8b": ("`--top-k 100000`, vocabulary of 94", "char", [("sample", "char_gru", "--top-k", "100000")]),
    "D8c": ("`--chorales 2` (too few tokens)", None, [("train", "melody_gru", "--chorales", "2", "--steps", "4")]),
    "D8d": ("`train --seed 4294967296` (2**32)", None, [(*mlp_args(2, 2), "--seed", "4294967296")]),
    "D8e": ("`sample --seed` 10**23 written out, and written `1e23`", "mlp",
            [(*SAMPLE["mlp"], "--seed", str(10**23)), (*SAMPLE["mlp"], "--seed", "1e23")]),
}


def case_d8(lab, case):
    what, base, commands = ARGUMENTS[case]
    folder = lab.folder(case) / "R"
    if base:
        lab.copy_base(base, folder)
    elif case == "D8a":
        (lab.root / folder).write_text("not a folder\n")
    runs = [lab.gt([*args, "--outdir", folder]) for args in commands]
    states = ["clean" if clean(run) else "traceback" if TRACEBACK in run.stderr else "not clean" for run in runs]
    detail = "; ".join(f"command {number}: {state}" for number, state in enumerate(states, 1))
    return Row(case, what, runs, verdict(all(clean(run) for run in runs), detail if len(runs) > 1 else ""))


def case_d9(lab, case):
    outputs = lab.folder(case) / "outputs"
    run = lab.gt([], label="python -c: mlp_gan.load_or_train(2, 'quick') on a damaged .keras with its record",
                 code=DAMAGED_KERAS, env={"GENAI_TF_OUTPUTS": str(lab.root / outputs)})
    source = (re.findall(r"^source: (\w+)", run.stdout, re.MULTILINE) or [None])[0]
    warned = "mlp_gan.keras" in run.stdout + run.stderr
    ok = run.code == 0 and source == "trained" and warned
    detail = f"returned source={source}; the damaged file named in the output: {'yes' if warned else 'no'}"
    return Row(case, "damaged `.keras` under GENAI_TF_OUTPUTS (Python API)", [run], verdict(ok, detail))


def case_d12(lab, case):
    """D12a: a model-dependent argument error's usage line; D12b: the NaN message; D12c: a foreign samples.png."""
    if case == "D12a":
        run = lab.gt(["train", "char_gru", "--latent-dim", "8"])
        usage = next((line for line in run.stderr.splitlines() if line.startswith("usage:")), "")
        return Row(case, "a flag of another family (a model-dependent check)", [run],
                   verdict(clean(run, usage="train"), f"usage line: `{usage[:60]}`"))
    if case == "D12b":
        run = nan_run(lab, case, 25)[0]
        says = "restore()" in last_line(run.stderr)
        return Row(case, "the command line's NaN message (NaN from step 25, after ckpt-20)", [run],
                   verdict(clean(run) and not says, f"it tells the user to call restore(): {says}"))
    picture = lab.root / lab.folder(Path(case) / "R") / "samples.png"
    picture.write_bytes(b"an unrelated picture\n")
    run = lab.gt([*mlp_args(2, 2), "--outdir", Path(case) / "R"])
    kept = picture.read_bytes() == b"an unrelated picture\n"
    return Row(case, "fresh `train` into a folder holding an unrelated samples.png", [run],
               verdict(kept, "samples.png kept" if kept else "samples.png overwritten"))


CASES = {
    "D1": case_d1, **dict.fromkeys(D2_DAMAGES, case_d2), "D3a": case_d3, "D3b": case_d3, "D4a": case_d4,
    "D4b": case_d4, "D5a": case_d5a, "D5b": case_d5b, "D5c": case_d7,
    **dict.fromkeys(["D6a", "D6b", "D6c", "D6d"], case_damaged_file), "D7": case_d7,
    **dict.fromkeys([f"D8{letter}" for letter in "abcde"], case_d8), "D9": case_d9,
    "D10a": case_damaged_file, "D10b": case_damaged_file, **dict.fromkeys(["D12a", "D12b", "D12c"], case_d12),
}
# The cases that copy or compare with each base run (built first, and not counted in their time).
BASE_USERS = {"mlp": {"D1", "D2a", "D2b", "D2c", "D2d", "D5b", "D6a", "D6b", "D6c", "D8e"},
              "char": {"D6d", "D8b", "D10a", "D10b"}}


def run_case(lab, case):
    """The row of one case with its wall time; an error of this script becomes the row."""
    started = time.perf_counter()
    try:
        for name in (name for name, users in BASE_USERS.items() if case in users):
            lab.base(name)
        started = time.perf_counter()
        row = CASES[case](lab, case)
    except Exception as error:  # noqa: BLE001 -- one broken case must not hide the others' rows
        row = Row(case, "script error", [], f"**script error**: {type(error).__name__}: {error}")
    row.seconds = time.perf_counter() - started if row.seconds is None else row.seconds
    print(f"{case} done in {row.seconds:.0f} s", file=sys.stderr, flush=True)
    return row


def selected_cases(only):
    """The case ids ``--only`` names (``D2`` is D2a-D2d), in table order, and the names that match none."""
    names = [name.strip().upper() for name in only.split(",") if name.strip()] or [case.upper() for case in CASES]
    wanted = {name: re.compile(rf"{re.escape(name)}[A-Z]?") for name in names}
    unknown = [name for name, pattern in wanted.items() if not any(pattern.fullmatch(case.upper()) for case in CASES)]
    return [case for case in CASES if any(pattern.fullmatch(case.upper()) for pattern in wanted.values())], unknown


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout to run (default: this one)")
    parser.add_argument("--only", default="", help="comma-separated case ids, e.g. D1,D2 (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default: 2)")
    parser.add_argument("--keep", action="store_true", help="keep the run folders (those on a tmpfs go)")
    args = parser.parse_args(argv)
    cases, unknown = selected_cases(args.only)
    if unknown:
        parser.error(f"--only names unknown cases: {', '.join(unknown)}. Known: {', '.join(CASES)}")
    started, lab = time.perf_counter(), Lab(args.repo)
    try:
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            for name in (name for name, users in BASE_USERS.items() if users.intersection(cases)):
                pool.submit(lab.base, name)  # its error, if any, shows in the rows of its cases
            rows = [future.result() for future in [pool.submit(run_case, lab, case) for case in cases]]
    finally:
        lab.close(keep=args.keep)
    rows = [Row("base", "an uninterrupted run the cases copy or compare with", [run], "—", run.seconds)
            for run in lab.base_runs] + rows
    print(f"Issue 18 fault cases on {args.repo} (F = {' '.join(FAST)}; R = the case's run folder; s = the case's wall "
          f"time; D5c and D7 share one run, whose time both show)\n\n{Row.HEADER}")
    print("\n".join(row.markdown(lab) for row in rows))
    print(f"\nTotal: {time.perf_counter() - started:.0f} s with {args.jobs} job(s) at once.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
