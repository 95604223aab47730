"""One run, one folder: its settings, state and metrics files, its checkpoints, one writer at a time.

A run folder (``--outdir``, default ``outputs/cli/MODEL``) holds::

    settings.json          what defines the run (model, dataset, batch size, seed, family options, ...)
    <state>.json           records the recipe's data define, e.g. vocabulary.json of a language model
    checkpoints/           the Trainer's checkpoints: weights, optimizers, noise and data position
    logs/                  TensorBoard scalars (and sample grids of image models)
    train_metrics.json     loss history, settings, status, seconds, library versions
    samples.*              samples written after training; samples_seed<S>.* written by ``sample``
    eval_metrics.json      written by ``evaluate``
    .lock                  the lock of the process writing into the folder (its pid)

What a run folder guarantees:

- one writer: ``train`` and ``sample`` hold an OS file lock on ``.lock``
  (:func:`writer_lock`) before they read or write anything; the kernel
  releases it when the process ends, however it ends;
- atomic files: every JSON file is written to a temporary file, flushed and
  renamed (:mod:`genai_tf.records`); settings are checked against their
  schema (:func:`settings_problem`) and state files against the checksums in
  the settings when read;
- fall back: the newest checkpoint that restores is used, damaged ones are
  named and moved aside (:mod:`genai_tf.checkpoints`);
- history: ``train_metrics.json`` is rewritten at every checkpoint.

Example:
>>> settings_problem({"model": "mlp_gan", "dataset": "mnist_sample", "batch_size": "64", "seed": 0})
"batch_size must be a positive integer, not '64'"
"""

import contextlib
import hashlib
import json
import os
import platform
import re
import sys
from pathlib import Path

from genai_tf import checkpoints, records, validation
from genai_tf.recipes.base import RunError

SETTINGS_FILE = "settings.json"
TRAIN_METRICS_FILE = "train_metrics.json"
EVAL_METRICS_FILE = "eval_metrics.json"
CHECKPOINT_FOLDER = "checkpoints"
LOCK_FILE = ".lock"
# The settings every run has; the family options of the registry's recipes are added to them.
RUN_SETTINGS = ("model", "dataset", "batch_size", "seed")
# Positive-integer settings ``train`` adds to the flags; each is checked when the settings are read.
TRAINED_SETTINGS = ("steps_per_epoch", "target_steps", "checkpoint_every")


class RunFolderError(RunError):
    """The run folder cannot be used as asked: it holds another run, no run, other settings, or damaged files."""


def default_outdir(model):
    """The run folder of ``model`` when no ``--outdir`` is given: ``outputs/cli/<model>``."""
    from genai_tf import config

    return config.outputs_dir("cli", model)


def resolve_outdir(model, outdir):
    """``outdir`` as a Path, or the model's default run folder when it is None; refuses a path that is a file."""
    outdir = default_outdir(model) if outdir is None else Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise RunFolderError(f"--outdir {outdir} is a file, not a folder. Choose a folder (new or a run's).")
    return outdir


# --- one writer ---------------------------------------------------------------------------


@contextlib.contextmanager
def writer_lock(outdir, command):
    """Hold the run folder for one writing process: an OS lock on ``outdir/.lock``, released when the process ends.

    The folder is created if needed. A second process asking for the same
    folder gets RunFolderError naming it and the holder's pid at once (no
    waiting); the lock file keeps the holder's pid and command for that
    message. The kernel drops the lock when the holder dies (kill -9
    included), so a stale lock cannot exist.
    """
    import fcntl

    with writing(outdir.parent, f"create the run folder {outdir.name}"):
        outdir.mkdir(parents=True, exist_ok=True)
    with writing(outdir, f"open the lock file {LOCK_FILE}"):
        handle = os.open(outdir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise RunFolderError(
                f"{outdir} is in use by {holder}; wait until it ends or choose another --outdir. "
                "Nothing was read or written."
            ) from None
        with writing(outdir, "write its lock file"):
            os.ftruncate(handle, 0)
            os.pwrite(handle, f"pid {os.getpid()} ({command})\n".encode(), 0)
        yield
    finally:
        os.close(handle)  # releases the lock


def write_problem(error):
    """A short reason for a failed write: "No space left on device", "Read-only file system", ...

    Example:
    >>> write_problem(OSError(28, "No space left on device"))
    'No space left on device'
    >>> write_problem(RuntimeError("{{node}} runs/x/ckpt-4_temp/part; Read-only file system [Op:SaveV2] name: "))
    'Read-only file system'
    """
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    for part in re.split(r"[;\[\]\n]", str(error)):
        part = part.strip()
        if part and "/" not in part and "{" not in part and not part.startswith("Op:") and not part.startswith("name"):
            return part
    return type(error).__name__


def write_errors():
    """The exception types a write to a full, read-only or vanished disk raises (OS and TensorFlow ones)."""
    if "tensorflow" not in sys.modules:
        return (OSError,)
    import tensorflow as tf

    return OSError, tf.errors.ResourceExhaustedError, tf.errors.PermissionDeniedError, tf.errors.NotFoundError


@contextlib.contextmanager
def writing(outdir, what, after=""):
    """Turn a failed write (full disk, read-only folder) into RunFolderError naming the folder and the reason."""
    try:
        yield
    except write_errors() as error:
        raise RunFolderError(f"Cannot {what} in {outdir}: {write_problem(error)}.{after}") from None


def tidy(outdir):
    """Remove what a killed writer left: hidden temporary records and partial checkpoints; returns their names."""
    outdir = Path(outdir)
    removed = [path.name for path in outdir.glob(".*.tmp") if path.is_file()]
    for name in removed:
        (outdir / name).unlink()
    return removed + checkpoints.remove_partial(outdir / CHECKPOINT_FOLDER)


# --- reading and writing records -------------------------------------------------------------


def read(path, what="record"):
    """The JSON record at ``path``, or None when there is no such file; RunFolderError when it is damaged."""
    if not Path(path).exists():
        return None
    try:
        return records.read_json(path, what=what)
    except records.RecordError as error:
        raise RunFolderError(f"{error} Restore the file, or train again into a new --outdir.") from None


def write(path, record):
    """Write a JSON record atomically (see :func:`genai_tf.records.write_json`); RunFolderError when the disk refuses."""
    path = Path(path)
    with writing(path.parent, f"write {path.name}"):
        records.write_json(path, record)


def checksum(record):
    """The SHA-256 of a JSON record in a canonical form (sorted keys), as hex."""
    return hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


# --- checkpoints ---------------------------------------------------------------------------


def latest_checkpoint(outdir):
    """The path of the run's newest checkpoint on disk (whole or not, found by its files), or None."""
    found = checkpoints.checkpoint_prefixes(Path(outdir) / CHECKPOINT_FOLDER)
    return str(found[0][1]) if found else None


def holds_run(outdir):
    """Whether ``train`` has written into the folder (settings, checkpoints or a training record)."""
    outdir = Path(outdir)
    return any((outdir / name).exists() for name in (SETTINGS_FILE, CHECKPOINT_FOLDER, TRAIN_METRICS_FILE))


# --- settings ------------------------------------------------------------------------------


def _refused(check, value, name):
    """Whether ``check`` (a :mod:`genai_tf.validation` function) refuses ``value``."""
    try:
        check(value, name)
    except ValueError:
        return True
    return False


def settings_problem(settings, trained=False):
    """What is wrong with a run's settings record, or None: a missing key, a wrong type or a wrong value.

    Args:
        settings: the record read from settings.json.
        trained: also require what ``train`` adds (steps per epoch, target, checkpoint interval).
    """
    from genai_tf import recipes

    if not isinstance(settings, dict):
        return f"it holds {type(settings).__name__}, not a JSON object"
    for name in RUN_SETTINGS + (TRAINED_SETTINGS if trained else ()):
        if name not in settings:
            return f"the key {name!r} is missing"
    model = settings["model"]
    if model not in recipes.names():
        return f"model {model!r} is not a model of genai_tf ({', '.join(recipes.names(offered=True))})"
    recipe = recipes.get(model)
    if recipe.datasets and settings["dataset"] not in recipe.datasets:
        return f"dataset {settings['dataset']!r} is not one {model} trains on ({', '.join(recipe.datasets)})"
    for name in ("batch_size",) + (TRAINED_SETTINGS if trained else ()):
        if _refused(validation.positive_int, settings[name], name):
            return f"{name} must be a positive integer, not {settings[name]!r}"
    if _refused(validation.seed, settings["seed"], "seed"):
        return f"seed must be an integer in [0, 2**32), not {settings['seed']!r}"
    checksums = settings.get("state_checksums", {})
    if not (isinstance(checksums, dict) and all(isinstance(value, str) for value in checksums.values())):
        return f"state_checksums must map names to hex strings, not {checksums!r}"
    return None


def read_settings(outdir, trained=True):
    """The settings in ``outdir/settings.json`` checked by :func:`settings_problem`, or None when there are none."""
    path = Path(outdir) / SETTINGS_FILE
    settings = read(path, "settings")
    problem = None if settings is None else settings_problem(settings, trained=trained)
    if problem is not None:
        raise RunFolderError(f"{path} is damaged: {problem}. Restore the file, or train again into a new --outdir.")
    return settings


def check_model(settings, model, outdir):
    """Refuse a folder that holds another model's run."""
    if settings.get("model") != model:
        raise RunFolderError(
            f"{outdir} holds a run of {settings.get('model')!r}, not {model!r}. "
            f"Pass MODEL {settings.get('model')} or another --outdir."
        )


def read_trained_settings(model, outdir):
    """The settings of a trained run of ``model`` in ``outdir``; RunFolderError when there is none."""
    settings = read_settings(outdir) if Path(outdir).is_dir() else None
    if settings is None or latest_checkpoint(outdir) is None:
        raise RunFolderError(
            f"{outdir} holds no trained run of {model}. Train one first: "
            f"python -m genai_tf train {model} --outdir {outdir}"
        )
    check_model(settings, model, outdir)
    return settings


def _contents(outdir):
    """The names in ``outdir`` other than the lock and hidden temporary files."""
    if not Path(outdir).is_dir():
        return []
    return sorted(path.name for path in Path(outdir).iterdir() if path.name != LOCK_FILE and not path.name.startswith("."))


def resolve_settings(recipe, outdir, resume, requested):
    """The run's settings: the stored ones when resuming (checked against the flags), else flags over defaults.

    A resumed run needs its settings; it may have no whole checkpoint (a run
    killed before its first one), and then starts at step 0. A new run needs
    a folder that is new or empty: nothing in it is ever overwritten.

    Args:
        recipe: the run's recipe (its :meth:`~genai_tf.recipes.base.Recipe.run_defaults`).
        outdir: the run folder.
        resume: continue the run in the folder.
        requested: {setting: value or None} from the flags; None was not given.
    """
    stored = read_settings(outdir) if Path(outdir).is_dir() else None
    if resume:
        if stored is None:
            has = "checkpoints but no settings.json, so the run's settings are unknown" if latest_checkpoint(
                outdir) else "no run"
            raise RunFolderError(
                f"--resume: {outdir} holds {has} to resume. Start a new run without --resume "
                "(into an empty or new --outdir)."
            )
        check_model(stored, recipe.name, outdir)
        _check_unchanged(stored, requested, outdir)
        return stored
    if holds_run(outdir):
        checkpoint = latest_checkpoint(outdir)
        step = f" (last checkpoint: step {checkpoints.checkpoint_step(checkpoint)})" if checkpoint else " (no checkpoint yet)"
        raise RunFolderError(
            f"{outdir} already holds a run{step}. Pass --resume to continue it"
            f"{'' if checkpoint else ' from step 0 with its settings'}, or choose another --outdir; "
            "nothing was overwritten."
        )
    others = _contents(outdir)
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise RunFolderError(
            f"{outdir} is not empty ({shown}) and holds no run: choose an empty or new --outdir, so that "
            "nothing in it is overwritten."
        )
    settings = {"model": recipe.name, **dict.fromkeys(requested), **recipe.run_defaults()}
    settings.update({name: value for name, value in requested.items() if value is not None})
    return settings

def _check_unchanged(stored, requested, outdir):
    disagree = {
        name: (stored.get(name), value) for name, value in requested.items()
        if value is not None and stored.get(name) != value
    }
    if disagree:
        run = ", ".join(f"{name}={old!r}" for name, (old, _) in disagree.items())
        flags = ", ".join(f"{name}={new!r}" for name, (_, new) in disagree.items())
        raise RunFolderError(
            f"--resume: the run in {outdir} has {run} but the flags say {flags}. Leave those flags out "
            "to continue the run as it was, or train the new settings into another --outdir."
        )


def check_steps_per_epoch(settings, steps_per_epoch, resume):
    """The batches of one epoch, checked against a resumed run's (a change means the data changed)."""
    if resume and settings.get("steps_per_epoch") not in (None, steps_per_epoch):
        raise RunFolderError(
            f"--resume: {settings['dataset']} now gives {steps_per_epoch} batches an epoch, the run had "
            f"{settings['steps_per_epoch']}: the data on disk changed."
        )
    return steps_per_epoch


def read_state(outdir, names, checksums=None):
    """The run's state records ``{name: record}`` from ``<name>.json``; RunFolderError when one is missing or changed.

    Args:
        outdir: the run folder.
        names: the recipe's state names.
        checksums: ``{name: sha256}`` stored in the settings when the run
            was trained (see :func:`checksum`); a record whose checksum
            differs was edited or damaged and is refused. None checks nothing.
    """
    state = {}
    for name in names:
        path = Path(outdir) / f"{name}.json"
        record = read(path, name)
        if record is None:
            raise RunFolderError(f"{outdir} has no {name}.json: the run's {name} is unknown.")
        if checksums and name in checksums and checksum(record) != checksums[name]:
            raise RunFolderError(
                f"{path} is not the {name} the run was trained with (its checksum differs from the one in "
                f"{SETTINGS_FILE}): it was edited or damaged, and the model's outputs would be decoded wrong. "
                "Restore the file, or train again into a new --outdir."
            )
        state[name] = record
    return state


def write_state(outdir, state):
    """Write each state record as ``<name>.json``."""
    for name, record in state.items():
        write(Path(outdir) / f"{name}.json", record)


def read_history(outdir):
    """The run's ``train_metrics.json`` checked to hold a history and sessions; {} when there is none.

    Raises:
        RunFolderError: the file is damaged (it would lose the run's loss history silently).
    """
    path = Path(outdir) / TRAIN_METRICS_FILE
    record = read(path, "training record")
    if record is None:
        return {}
    history, sessions = record.get("history"), record.get("sessions")
    steps = history.get("step") if isinstance(history, dict) else None
    whole = (
        isinstance(steps, list) and isinstance(sessions, list)
        and all(isinstance(values, list) and len(values) == len(steps) for values in history.values())
        and all(isinstance(step, int) for step in steps) and steps == sorted(steps)
        and all(isinstance(session, dict) and "seconds" in session for session in sessions)
    )
    if not whole:
        raise RunFolderError(
            f"{path} is damaged: it must hold a 'history' whose lists are as long as its increasing 'step' "
            f"list, and a list of 'sessions'. It keeps the run's loss history: restore it, or move it away "
            "to resume without the earlier history."
        )
    return record


def history_until(history, step):
    """The logged losses up to and including ``step`` (the steps are increasing)."""
    keep = sum(1 for logged in history["step"] if logged <= step)
    return {key: list(values[:keep]) for key, values in history.items()}


def versions():
    """The library versions and platform a record was made with."""
    import keras
    import numpy as np
    import tensorflow as tf

    import genai_tf

    return {
        "genai_tf": genai_tf.__version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
    }
