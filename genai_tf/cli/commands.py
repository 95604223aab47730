"""The commands ``train``, ``sample`` and ``evaluate``: thin, asking the model's recipe for everything.

Training runs the recipe's train step (the model's own ``train_step`` as one
``tf.function``) inside a :class:`genai_tf.training.Trainer`, so an
interrupted run resumed with ``--resume`` ends with exactly the weights of
an uninterrupted one (same machine, same library versions). Ctrl-C during
training finishes the current step, saves a checkpoint and exits with status
130; a second Ctrl-C stops at once and keeps the last periodic checkpoint.
``sample`` and ``evaluate`` restore the newest checkpoint that is whole, so
they also work on an interrupted run. What a run folder guarantees (one
writer, atomic files, fall back to the last whole checkpoint, history kept
across kills) is listed in :mod:`genai_tf.cli.run_folder`.
"""

import contextlib
import signal
import sys
import threading
import time
import warnings

import numpy as np

from genai_tf import checkpoints, recipes, records
from genai_tf.cli import run_folder
from genai_tf.cli.parser import DEFAULT_CHECKPOINT_EVERY, build_parser, check_arguments, check_options
from genai_tf.cli.run_folder import CHECKPOINT_FOLDER, EVAL_METRICS_FILE, SETTINGS_FILE, TRAIN_METRICS_FILE
from genai_tf.cli.run_folder import RunFolderError
from genai_tf.recipes.base import RunError, StateMismatchError

INTERRUPTED_EXIT_CODE = 130  # the shell's code for a process stopped by Ctrl-C (128 + SIGINT)
MAX_LOG_EVERY = 100


class _StopAfterStep(Exception):
    """Raised by the train step after a completed step once Ctrl-C was pressed; carries its losses."""

    def __init__(self, logs):
        super().__init__("stop requested")
        self.logs = logs


def _family_options(command, options):
    """The family flags in ``options`` that the registry knows for ``command``; TypeError for any other keyword."""
    known = {option.name for option in recipes.options(command, offered=True)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"{command}() got unexpected keyword arguments: {', '.join(unknown)}")
    return {name: options.get(name) for name in sorted(known)}


# --- Ctrl-C ------------------------------------------------------------------------------


def _stoppable(train_step, stop_requested):
    """Wrap a step so that, once a stop is requested, it raises after completing its batch."""

    def step(batch):
        logs = train_step(batch)
        if stop_requested:
            raise _StopAfterStep(logs)
        return logs

    return step


@contextlib.contextmanager
def stop_on_interrupt(requested):
    """Turn the first Ctrl-C into a request to stop after the current step; a second one stops at once.

    The request is an item appended to the list ``requested``. Signals reach
    only the main thread; elsewhere, and when SIGINT is ignored (a shell's
    background job), nothing changes.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield
        return

    def handler(signum, frame):
        if requested:
            raise KeyboardInterrupt
        requested.append(signum)
        print(
            "\nCtrl-C: finishing this step and saving a checkpoint (press Ctrl-C again to stop at once).",
            file=sys.stderr, flush=True,
        )

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _finite(tensors):
    return all(np.all(np.isfinite(np.asarray(tensor))) for tensor in tensors)


def fit_until_stopped(trainer, network, batches, target, callback, stop_requested, before_save=None):
    """Run ``trainer.fit`` to ``target``, turning Ctrl-C into a checkpoint: (status, error or None).

    After a first Ctrl-C the step in progress completes, is counted and is
    saved (unless something in it is not finite); a second Ctrl-C, even
    during that save, stops at once. Then, and after a NaN, the trainer is
    rolled back to its last checkpoint, the state the next ``--resume``
    starts from. ``before_save(step)`` runs before every checkpoint.
    """
    status, error = "completed", None
    with stop_on_interrupt(stop_requested):
        try:
            try:
                trainer.fit(batches, target, callback=callback, before_save=before_save)
            except _StopAfterStep as stop:
                trainer.step.assign_add(1)  # the step ran to the end; the trainer had not counted it yet
                if not (_finite(stop.logs.values()) and _finite(network.trainable_variables)):
                    raise FloatingPointError(f"Non-finite values at step {trainer.global_step}, which was not saved.")
                if before_save is not None:
                    before_save(trainer.global_step)
                trainer.manager.save(checkpoint_number=trainer.global_step)
                status = "interrupted" if trainer.global_step < target else "completed"
        except KeyboardInterrupt:
            status = "interrupted"
        except FloatingPointError as err:
            status, error = "failed", str(err).replace(" Call restore() to roll back.", "")
    if status != "completed":
        trainer.restore()
    return status, error


@contextlib.contextmanager
def _checkpoint_warnings_shown():
    """Print the trainer's checkpoint warnings (a damaged checkpoint skipped) as one plain line on stderr."""
    from genai_tf.checkpoints import CheckpointWarning

    shown = warnings.showwarning

    def show(message, category, *args, **kwargs):
        if issubclass(category, CheckpointWarning):
            print(f"python -m genai_tf: warning: {message}", file=sys.stderr, flush=True)
        else:
            shown(message, category, *args, **kwargs)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


# --- Restoring a run ---------------------------------------------------------------------


def _trainer(recipe, network, outdir, stop_requested=None, **kwargs):
    from genai_tf.training import Trainer

    step = recipe.train_step(network)
    try:
        return Trainer(
            step if stop_requested is None else _stoppable(step, stop_requested),
            outdir / CHECKPOINT_FOLDER,
            {"model": network, **recipe.optimizers(network)},
            **kwargs,
        )
    except ValueError as error:  # a checkpoint whose tensors do not fit the model the settings build
        raise RunFolderError(
            f"{error}. The checkpoints in {outdir} do not fit the model its settings and state files build: "
            "a file was edited or the library changed. Restore the files, or train again into a new --outdir."
        ) from None


def restore(model, outdir, repair=True):
    """Rebuild a run's model from its settings and state files and restore its newest whole checkpoint.

    Args:
        model: the run's model.
        outdir: the run folder.
        repair: move damaged checkpoints aside (only while holding the folder's lock).

    Returns:
        (network, settings, step, state): the state records are the run's
        ``<name>.json`` files (a language model's vocabulary).
    """
    from genai_tf import config

    recipe = recipes.get(model)
    settings = run_folder.read_trained_settings(model, outdir)
    config.set_seed(settings["seed"])
    state = run_folder.read_state(outdir, recipe.state_names, settings.get("state_checksums"))
    network = recipe.run_model(settings, state)
    trainer = _trainer(recipe, network, outdir, verbose=False, repair=repair)
    if trainer.restored_step is None:
        raise RunFolderError(
            f"No checkpoint in {outdir} restores (each is damaged: see the warnings above). Train the run again "
            f"from step 0 with its settings: python -m genai_tf train {model} --resume --outdir {outdir}"
        )
    return network, settings, trainer.global_step, state


# --- train -------------------------------------------------------------------------------


def _target_steps(recipe, settings, steps, epochs, resume):
    """The step to train to: --steps, else --epochs, else the resumed run's target, else the notebook's budget."""
    if steps is not None:
        return steps
    if epochs is not None:
        return epochs * settings["steps_per_epoch"]
    if resume and settings.get("target_steps"):
        return settings["target_steps"]
    return recipe.full_amount * (settings["steps_per_epoch"] if recipe.unit == "epochs" else 1)


def _prepare(recipe, outdir, resume, requested, steps, epochs, checkpoint_every):
    """The run's settings (complete), data and earlier training record, all checked; nothing is written.

    Returns:
        (settings, data, previous): ``previous`` is the run's train_metrics.json ({} for a new run).
    """
    from genai_tf import config

    settings = run_folder.resolve_settings(recipe, outdir, resume, requested)
    previous = run_folder.read_history(outdir) if resume else {}
    config.set_seed(settings["seed"])
    data = recipe.run_data(settings)
    if resume:
        saved = run_folder.read_state(outdir, recipe.state_names, settings.get("state_checksums"))
        recipe.check_state(saved, data.state)
    settings["steps_per_epoch"] = run_folder.check_steps_per_epoch(settings, data.steps_per_epoch, resume)
    target = _target_steps(recipe, settings, steps, epochs, resume)
    settings = recipe.finish_settings(dict(settings), target)
    every = checkpoint_every or settings.get("checkpoint_every") or DEFAULT_CHECKPOINT_EVERY
    settings.update(target_steps=target, checkpoint_every=every,
                    state_checksums={name: run_folder.checksum(record) for name, record in data.state.items()})
    return settings, data, previous


def _train_record(recipe, settings, history, step, sessions, status, error):
    """The record ``train`` writes to train_metrics.json."""
    return {
        "model": recipe.name,
        "title": recipe.title,
        "status": status,
        "step": step,
        "target_steps": settings["target_steps"],
        "epochs": round(step / settings["steps_per_epoch"], 3),
        "settings": {name: value for name, value in settings.items() if name != "target_steps"},
        "history": history,
        "final": {key: values[-1] for key, values in history.items() if key != "step" and values},
        "seconds": round(sum(session["seconds"] for session in sessions), 2),
        "sessions": sessions,
        "versions": run_folder.versions(),
        **({"error": error} if error else {}),
    }


def _logger(model, trainer, history, target):
    """The Trainer callback: append the losses to ``history``; print them when there is no progress bar."""
    from genai_tf.training import append_history

    def record_losses(step, values):
        append_history(history, step, values)
        if not trainer.verbose:
            print(f"{model} step {step}/{target}: " + " ".join(f"{k}={v:.4g}" for k, v in values.items()), flush=True)

    return record_losses


def train(model, *, dataset=None, epochs=None, steps=None, batch_size=None, seed=None, outdir=None, resume=False,
          checkpoint_every=None, num_samples=None, verbose=None, **options):
    """Train a model of the registry with its notebook's recipe into a run folder; resumable.

    A fresh run refuses a folder that already holds one; ``resume=True``
    restores the last checkpoint and trains on to the target (the run's own
    unless ``steps`` or ``epochs`` is given). Settings not given are the
    run's own when resuming, else the recipe's; a given one that differs
    from the run's is refused. The batches are the recipe's
    (:meth:`~genai_tf.recipes.base.Recipe.run_data`), seeded and endless.

    Args:
        model: a name of :func:`genai_tf.recipes.names` the command line offers.
        dataset: one of the recipe's datasets; None is its first.
        epochs: passes over the training data; give ``epochs`` or ``steps``,
            or neither for the notebook's full-mode budget.
        steps: the total number of steps to reach (not the number to add).
        batch_size: positive int; None is the recipe's.
        seed: non-negative int, seeds the weights, the model's noise and the
            data order; None is 0.
        outdir: the run folder; None is ``outputs/cli/<model>``.
        resume: continue the run in ``outdir``.
        checkpoint_every: steps between checkpoints, > 0; None is the
            run's when resuming, else 500.
        num_samples: samples written at the end; None is the recipe's count.
        verbose: progress bar; None follows :func:`genai_tf.training.default_verbose`
            (without the bar a line is printed at every logging step).
        **options: the recipe's family flags (``latent_dim``, ``chorales``, ...).

    Returns:
        The record written to ``train_metrics.json``: "status" ("completed"
        or "interrupted"), "step", "target_steps", "epochs", "settings",
        "history" ({"step": [...], loss: [...]}), "final", "seconds",
        "sessions", "versions".

    Raises:
        RunFolderError: the folder holds a run and ``resume`` is False; or
            holds none (or another model's, or other settings, or a run
            already at the target) and ``resume`` is True.
        FloatingPointError: a loss became NaN or infinite; the last good
            checkpoint is kept and the record says "failed".
    """
    recipe = recipes.get(model)
    options = _family_options("train", options)
    check_options(model, "train", dataset=dataset, **options)
    outdir = run_folder.resolve_outdir(model, outdir)
    if resume and not outdir.is_dir():
        raise RunFolderError(f"--resume: {outdir} does not exist, so it holds no run to resume. Start a new run "
                             "without --resume.")
    requested = {"dataset": dataset, "batch_size": batch_size, "seed": seed, **options}
    with run_folder.writer_lock(outdir, f"train {model}"), _checkpoint_warnings_shown():
        removed = run_folder.tidy(outdir)
        if removed:
            print(f"Removed what a killed run left in {outdir}: {', '.join(removed)}", file=sys.stderr)
        settings, data, previous = _prepare(recipe, outdir, resume, requested, steps, epochs, checkpoint_every)
        try:
            return _train_in_folder(recipe, outdir, settings, data, previous, num_samples, verbose)
        except run_folder.write_errors() as err:  # a full disk or a read-only folder, while training
            run_folder.tidy(outdir)
            kept = run_folder.latest_checkpoint(outdir)
            raise RunFolderError(
                f"Cannot save the run in {outdir}: {run_folder.write_problem(err)}. The partial checkpoint was "
                f"removed; the last whole one (step {checkpoints.checkpoint_step(kept) if kept else 0}) is kept."
                f"{_free_space_hint(model, outdir)}"
            ) from None


def _resume_hint(model, outdir):
    return f"python -m genai_tf train {model} --resume --outdir {outdir}"


def _free_space_hint(model, outdir):
    """What to do after a write failed: the same words for every write of ``train``."""
    return f" Free some space (or make the folder writable), then continue with: {_resume_hint(model, outdir)}"


def _start(recipe, outdir, settings, data, trainer):
    """Write the run's settings and state, then its step-0 checkpoint for a run that has none (after the checks)."""
    start_step, target = trainer.global_step, settings["target_steps"]
    if start_step >= target:
        raise RunFolderError(
            f"--resume: the run in {outdir} is already at step {start_step}, and the target is step {target}: "
            "nothing to train. Pass a larger --steps or --epochs to extend it."
        )
    with run_folder.writing(outdir, "start the run", after=_free_space_hint(recipe.name, outdir)):
        records.write_json(outdir / SETTINGS_FILE, settings)
        for name, record in data.state.items():
            records.write_json(outdir / f"{name}.json", record)
        if trainer.restored_step is None:  # so that --resume works before the first periodic checkpoint
            trainer.attach(data.batches)
            try:
                trainer.manager.save(checkpoint_number=0)
            finally:
                run_folder.tidy(outdir)


def _previous_sessions(previous, start_step):
    """The earlier sessions of a resumed run; one still "running" was killed (the lock proves it is not running).

    A killed session's history may have been written for a checkpoint the
    kill cut short: it reached the step the run resumes from.
    """
    sessions = [dict(session) for session in previous.get("sessions", [])]
    if sessions and sessions[-1].get("status") == "running":
        sessions[-1].update(status="killed", to_step=min(sessions[-1].get("to_step", start_step), start_step))
    return sessions


def _train_in_folder(recipe, outdir, settings, data, previous, num_samples, verbose):
    """Train the checked run in the locked folder: the body of :func:`train`."""
    model = recipe.name
    network = recipe.run_model(settings, data.state)
    stop_requested = []
    every = settings["checkpoint_every"]
    trainer = _trainer(recipe, network, outdir, stop_requested, checkpoint_every=every,
                       log_every=min(MAX_LOG_EVERY, every), log_dir=outdir / "logs",
                       sample_fn=recipe.progress_samples(network, settings["seed"]), verbose=verbose)
    if previous and trainer.restored_step is None:
        print(f"{outdir} has no whole checkpoint: training starts again at step 0 with the run's settings.")
    _start(recipe, outdir, settings, data, trainer)
    start_step, target = trainer.global_step, settings["target_steps"]
    history = run_folder.history_until(previous.get("history", {"step": []}), start_step)  # later steps are redone
    sessions = _previous_sessions(previous, start_step)
    print(
        f"{model} on {settings['dataset']}: {'resuming at' if start_step else 'from'} step {start_step} to "
        f"{target} ({target / settings['steps_per_epoch']:.1f} epochs of {settings['steps_per_epoch']} batches "
        f"of {settings['batch_size']} {recipe.examples}), checkpoints every {every} steps in {outdir}",
        flush=True,
    )
    started = time.perf_counter()
    session = {"from_step": start_step, "to_step": start_step, "seconds": 0.0, "status": "running"}

    def record(step, status, error=None):
        session.update(to_step=step, seconds=round(time.perf_counter() - started, 2), status=status)
        return _train_record(recipe, settings, run_folder.history_until(history, step), step, sessions + [session],
                             status, error)

    def before_save(step):  # the history survives a kill: at most the steps since the last checkpoint are lost
        records.write_json(outdir / TRAIN_METRICS_FILE, record(step, "running"))

    status, error = fit_until_stopped(trainer, network, data.batches, target,
                                      _logger(model, trainer, history, target), stop_requested, before_save)
    step = trainer.global_step
    final = record(step, status, error)
    run_folder.write(outdir / TRAIN_METRICS_FILE, final)
    if status == "failed":
        raise FloatingPointError(
            f"{error} The run is rolled back to its last good checkpoint (step {step}), kept in {outdir}; "
            f"{_resume_hint(model, outdir)} continues from it (with the same settings the same steps follow)."
        )
    with run_folder.writing(outdir, "write the samples"):
        written = recipe.write_samples(network, data.state, outdir, "samples", num_samples or recipe.sample_count,
                                       seed=settings["seed"])
    if status == "interrupted":
        print(f"Stopped at step {step} of {target}. Continue with: {_resume_hint(model, outdir)}")
    else:
        print(f"Trained {model} to step {step} in {session['seconds']:.1f} s: {', '.join(map(str, written))}, "
              f"{outdir / TRAIN_METRICS_FILE}")
    return final


# --- sample and evaluate -----------------------------------------------------------------


def sample(model, *, outdir=None, num_samples=None, seed=0, **options):
    """Write samples of a trained run (the recipe's files: a grid and a .npy, texts, or melodies).

    Args:
        model: the run's model.
        outdir: the run folder; None is ``outputs/cli/<model>``.
        num_samples: positive int; None is the recipe's count (100 images, 5 texts, 10 melodies).
        seed: seed of the noise; the same seed gives the same samples.
        **options: the recipe's sampling flags (``length``, ``prompt``,
            ``temperature``, ``top_k``, ``top_p`` of the language models).

    Returns:
        The paths written: (png, npy) for an image model (float32
        (num_samples, 28, 28, 1) in [-1, 1]), ``(txt,)`` for a text model,
        ``(folder, melodies.json)`` for the melody model.
    """
    recipe = recipes.get(model)
    options = _family_options("sample", options)
    check_options(model, "sample", **options)
    outdir = run_folder.resolve_outdir(model, outdir)
    run_folder.read_trained_settings(model, outdir)  # before the lock, which would create a missing folder
    with run_folder.writer_lock(outdir, f"sample {model}"), _checkpoint_warnings_shown():
        run_folder.tidy(outdir)
        network, settings, step, state = restore(model, outdir)
        num_samples = num_samples or recipe.sample_count
        own = {option.name for option in recipe.options}
        with run_folder.writing(outdir, "write the samples"):
            written = recipe.write_samples(network, state, outdir, f"samples_seed{seed}", num_samples, seed=seed,
                                           **{name: value for name, value in options.items() if name in own})
    print(f"{num_samples} samples of {model} (step {step}, seed {seed}): {', '.join(map(str, written))}")
    return written


def evaluate(model, *, outdir=None, num_samples=None, seed=0, dataset=None, **options):
    """Score a trained run with its family's metrics (:meth:`~genai_tf.recipes.base.Recipe.evaluate_run`).

    Image models: samples and as many real training images scored by the
    evaluation classifier against the held-out images (plus a conditional
    GAN's label agreement and a VAE's held-out ELBO); language models: the
    held-out negative log-likelihood per token against a bigram table and the
    uniform model (and, for melodies, histogram distances).

    Args:
        model: the run's model.
        outdir: the run folder; None is ``outputs/cli/<model>``.
        num_samples: samples to score; None is the recipe's (2,000 images,
            100 melodies); text models draw none.
        seed: seed of the samples and of the metrics' subsets.
        dataset: whose held-out split is the reference; None is the run's.
        **options: the recipe's evaluation flags, if it declares any.

    Returns:
        The record written to ``eval_metrics.json``: "model", "step", the
        recipe's fields ("dataset", "scores", ...), "seconds", "versions".
    """
    recipe = recipes.get(model)
    options = _family_options("evaluate", options)
    check_options(model, "evaluate", num_samples=num_samples, dataset=dataset, **options)
    started = time.perf_counter()
    outdir = run_folder.resolve_outdir(model, outdir)
    with _checkpoint_warnings_shown():  # no lock: evaluate only reads the run (and writes eval_metrics.json)
        network, settings, step, state = restore(model, outdir, repair=False)
    given = {name: value for name, value in options.items() if value is not None}
    try:
        result = recipe.evaluate_run(network, settings, state, num_samples=num_samples, seed=seed, dataset=dataset,
                                     **given)
    except StateMismatchError as err:
        raise RunFolderError(f"{err} (run folder: {outdir})") from None
    record = {"model": model, "step": step, **result, "seconds": round(time.perf_counter() - started, 2),
              "versions": run_folder.versions()}
    run_folder.write(outdir / EVAL_METRICS_FILE, record)
    print(recipe.score_table(record))
    print(f"Written: {outdir / EVAL_METRICS_FILE}")
    return record


# --- main --------------------------------------------------------------------------------


def main(argv=None):
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    Returns:
        0 on success, 1 when the run folder or the data cannot be used (the
        message goes to stderr), 130 when training stopped on Ctrl-C after
        saving a checkpoint. Bad arguments raise ``SystemExit(2)`` from
        ``argparse``.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    from genai_tf.datasets import DatasetNotFoundError

    options = {name: value for name, value in vars(args).items() if name not in ("command", "model")}
    command = {"train": train, "sample": sample, "evaluate": evaluate}[args.command]
    try:
        result = command(args.model, **options)
    except (RunError, DatasetNotFoundError, FloatingPointError) as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 1
    except run_folder.write_errors() as err:  # a write outside the run folder's own checks (a cache, the data)
        print(f"{parser.prog} {args.command}: error: cannot write a file: {run_folder.write_problem(err)} "
              f"({getattr(err, 'filename', None) or 'see the message above'}).", file=sys.stderr)
        return 1
    return INTERRUPTED_EXIT_CODE if args.command == "train" and result["status"] == "interrupted" else 0
