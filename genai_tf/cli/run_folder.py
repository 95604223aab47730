"""One run, one folder: its settings, state and metrics files, its checkpoints, and the rule that no run is overwritten.

A run folder (``--outdir``, default ``outputs/cli/MODEL``) holds::

    settings.json          what defines the run (model, dataset, batch size, seed, family options, ...)
    <state>.json           records the recipe's data define, e.g. vocabulary.json of a language model
    checkpoints/           the Trainer's checkpoints: weights, optimizers, noise and data position
    logs/                  TensorBoard scalars (and sample grids of image models)
    train_metrics.json     loss history, settings, status, seconds, library versions
    samples.*              samples written after training; samples_seed<S>.* written by ``sample``
    eval_metrics.json      written by ``evaluate``

Every JSON file goes through :mod:`genai_tf.records` (atomic writes).

Example:
>>> checkpoint_step("runs/gan/checkpoints/ckpt-500")
500
"""

import platform
from pathlib import Path

from genai_tf import records
from genai_tf.recipes.base import RunError

SETTINGS_FILE = "settings.json"
TRAIN_METRICS_FILE = "train_metrics.json"
EVAL_METRICS_FILE = "eval_metrics.json"
CHECKPOINT_FOLDER = "checkpoints"
# The settings every run has; the family options of the registry's recipes are added to them.
RUN_SETTINGS = ("model", "dataset", "batch_size", "seed")


class RunFolderError(RunError):
    """The run folder cannot be used as asked: it holds another run, no run, or other settings."""


def default_outdir(model):
    """The run folder of ``model`` when no ``--outdir`` is given: ``outputs/cli/<model>``."""
    from genai_tf import config

    return config.outputs_dir("cli", model)


def resolve_outdir(model, outdir):
    """``outdir`` as a Path, or the model's default run folder when it is None."""
    return default_outdir(model) if outdir is None else Path(outdir)


def read(path, what="record"):
    """The JSON record at ``path``, or None when there is no such file."""
    return records.read_json(path, what=what) if Path(path).exists() else None


def write(path, record):
    """Write a JSON record atomically (see :func:`genai_tf.records.write_json`)."""
    records.write_json(path, record)


def latest_checkpoint(outdir):
    """The path of the run's latest Trainer checkpoint, or None."""
    import tensorflow as tf

    folder = Path(outdir) / CHECKPOINT_FOLDER
    return tf.train.latest_checkpoint(str(folder)) if folder.exists() else None


def checkpoint_step(path):
    """The step number of a Trainer checkpoint path such as ``.../ckpt-500``."""
    return int(str(path).rsplit("-", 1)[1])


def holds_run(outdir):
    """Whether ``train`` has written into the folder (settings, checkpoints or a training record)."""
    outdir = Path(outdir)
    return any((outdir / name).exists() for name in (SETTINGS_FILE, CHECKPOINT_FOLDER, TRAIN_METRICS_FILE))


def check_model(settings, model, outdir):
    """Refuse a folder that holds another model's run."""
    if settings.get("model") != model:
        raise RunFolderError(
            f"{outdir} holds a run of {settings.get('model')!r}, not {model!r}. "
            f"Pass MODEL {settings.get('model')} or another --outdir."
        )


def read_trained_settings(model, outdir):
    """The settings of a trained run of ``model`` in ``outdir``; RunFolderError when there is none."""
    settings = read(Path(outdir) / SETTINGS_FILE, "settings")
    if settings is None or latest_checkpoint(outdir) is None:
        raise RunFolderError(
            f"{outdir} holds no trained run of {model}. Train one first: "
            f"python -m genai_tf train {model} --outdir {outdir}"
        )
    check_model(settings, model, outdir)
    return settings


def resolve_settings(recipe, outdir, resume, requested):
    """The run's settings: the stored ones when resuming (checked against the flags), else flags over defaults.

    Args:
        recipe: the run's recipe (its :meth:`~genai_tf.recipes.base.Recipe.run_defaults`).
        outdir: the run folder.
        resume: continue the run in the folder.
        requested: {setting: value or None} from the flags; None was not given.
    """
    stored = read(Path(outdir) / SETTINGS_FILE, "settings")
    if resume:
        if stored is None or latest_checkpoint(outdir) is None:
            reason = "no checkpoint" if stored is not None else "no run"
            raise RunFolderError(
                f"--resume: {outdir} holds {reason} to resume. Start a new run without --resume "
                "(into an empty or new --outdir)."
            )
        check_model(stored, recipe.name, outdir)
        _check_unchanged(stored, requested, outdir)
        return stored
    if holds_run(outdir):
        checkpoint = latest_checkpoint(outdir)
        step = f" (last checkpoint: step {checkpoint_step(checkpoint)})" if checkpoint else ""
        raise RunFolderError(
            f"{outdir} already holds a run{step}. Pass --resume to continue it, or choose another --outdir; "
            "nothing was overwritten."
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


def read_state(outdir, names):
    """The run's state records ``{name: record}`` from ``<name>.json``; RunFolderError when one is missing."""
    state = {}
    for name in names:
        record = read(Path(outdir) / f"{name}.json", name)
        if record is None:
            raise RunFolderError(f"{outdir} has no {name}.json: the run's {name} is unknown.")
        state[name] = record
    return state


def write_state(outdir, state):
    """Write each state record as ``<name>.json``."""
    for name, record in state.items():
        write(Path(outdir) / f"{name}.json", record)


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
