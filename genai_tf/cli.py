"""The command line: train, sample and evaluate every model family of the curriculum from a shell.

Usage::

    python -m genai_tf train MODEL [--dataset NAME] [--epochs N | --steps N] [--batch-size N]
                                   [--latent-dim N] [--seed N] [--outdir DIR] [--resume]
                                   [--checkpoint-every N] [--chorales N]
    python -m genai_tf sample MODEL [--outdir DIR] [--num-samples N] [--seed N]
                                    [--length N] [--prompt TEXT] [--temperature T] [--top-k K] [--top-p P]
    python -m genai_tf evaluate MODEL [--outdir DIR] [--num-samples N] [--seed N] [--dataset NAME]

MODEL is one of the six image models of :mod:`genai_tf.zoo` (GANs and VAEs,
notebooks 03-08) or one of the three autoregressive models of
:mod:`genai_tf.language_zoo` (the character GRU and causal Transformer of
notebook 09, the melody GRU of notebook 10), built with its notebook's
recipe (architecture, optimizers, batch size); ``--latent-dim`` (image
models) and ``--seed`` replace the recipe's values and nothing else
changes. Training runs the model's own ``train_step`` (the fused
:func:`genai_tf.training.gan_update`, :func:`~genai_tf.training.wgan_gp_update`,
the VAE's ELBO step or the language model's cross-entropy step) as one
``tf.function`` inside a :class:`genai_tf.training.Trainer`, so an
interrupted run resumed with ``--resume`` ends with exactly the weights of
an uninterrupted one (same machine, same library versions).

The language models sample text or melodies instead of images: ``sample``
writes ``samples_seed<S>.txt`` (text, each sample the ``--prompt`` and its
continuation) or ``samples_seed<S>/`` (one MIDI and one MusicXML file per
melody, and ``melodies.json``); ``evaluate`` scores the held-out
negative log-likelihood per token (nats, bits, perplexity) against a bigram
table and the uniform model, and for melodies the pitch-class and interval
histograms of generated melodies against the corpus, as notebook 10 does.
The text models' learning-rate schedule (warm-up, cosine decay) spans the
steps of the run's first target; a run extended past it continues at the
final rate.

One run lives in one folder, ``--outdir`` (default ``outputs/cli/MODEL``)::

    settings.json          what defines the run (model, dataset, batch size, latent size, seed)
    checkpoints/           the Trainer's checkpoints: weights, optimizers, noise and data position
    logs/                  TensorBoard scalars and sample grids
    train_metrics.json     loss history, settings, status, seconds, library versions
    samples.png            a 10-column grid of samples after training (samples.txt, samples/ for text, melodies)
    samples_seed<S>.png, samples_seed<S>.npy   written by ``sample`` (.txt or a folder for text, melodies)
    vocabulary.json        the language models' tokens, so samples decode without the corpus
    eval_metrics.json      written by ``evaluate``

Ctrl-C during training finishes the current step, saves a checkpoint and
exits with status 130; a second Ctrl-C stops at once and keeps the last
periodic checkpoint. ``sample`` and ``evaluate`` restore the latest
checkpoint, so they also work on an interrupted run.

Example:
>>> args = build_parser().parse_args(["train", "dcgan", "--epochs", "2", "--outdir", "runs/dcgan"])
>>> args.command, args.model, args.epochs, args.steps, args.batch_size
('train', 'dcgan', 2, None, None)
"""

import argparse
import contextlib
import json
import os
import platform
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

# The keys of genai_tf.zoo.ENTRIES and genai_tf.language_zoo.ENTRIES, listed here so that --help
# and argument errors answer without importing TensorFlow (tests/test_cli.py checks that they agree).
IMAGE_MODELS = ("mlp_gan", "dcgan", "conditional_gan", "wgan_gp", "mlp_vae", "conv_vae")
TEXT_MODELS = ("char_gru", "char_transformer")
MUSIC_MODELS = ("melody_gru",)
LANGUAGE_MODELS = (*TEXT_MODELS, *MUSIC_MODELS)
MODELS = (*IMAGE_MODELS, *LANGUAGE_MODELS)
# The 28x28 datasets of genai_tf.data: the zoo's networks and the evaluation classifier
# take 28x28 images, so scikit-learn's 8x8 "digits" is not offered. The text models train on
# CPython's pydoc topics (genai_tf.text), the melody model on music21's Bach chorales (genai_tf.music).
IMAGE_DATASETS = ("mnist_sample", "mnist", "fashion_mnist")
DATASETS = (*IMAGE_DATASETS, "pydoc_topics", "bach_chorales")
MODEL_DATASETS = {   # the datasets each model trains on; the first is its default
    **{model: IMAGE_DATASETS for model in IMAGE_MODELS},
    **{model: ("pydoc_topics",) for model in TEXT_MODELS},
    **{model: ("bach_chorales",) for model in MUSIC_MODELS},
}
DEFAULT_CHECKPOINT_EVERY = 500
DEFAULT_SAMPLE_LENGTH = {"text": 300, "music": 120}   # characters; notes before END (notebook 10's MAX_NOTES)
DEFAULT_SAMPLE_COUNT = {"image": 100, "text": 5, "music": 10}
DEFAULT_EVALUATION_SAMPLES = {"image": 2000, "music": 100}   # text models are scored on held-out text
# The settings that define a run: --resume refuses flags that disagree with them.
RUN_SETTINGS = ("model", "dataset", "batch_size", "latent_dim", "seed", "chorales")
SAVED_SETTINGS = (*RUN_SETTINGS, "steps_per_epoch", "target_steps", "schedule_steps", "checkpoint_every")
SETTINGS_FILE = "settings.json"
VOCABULARY_FILE = "vocabulary.json"
TRAIN_METRICS_FILE = "train_metrics.json"
EVAL_METRICS_FILE = "eval_metrics.json"
CHECKPOINT_FOLDER = "checkpoints"
GRID_COLUMNS = 10
MIN_EVALUATION_SAMPLES = 10  # KID needs pairs, precision and recall more points than k = 3
INTERRUPTED_EXIT_CODE = 130  # the shell's code for a process stopped by Ctrl-C (128 + SIGINT)


class RunFolderError(ValueError):
    """The run folder cannot be used as asked: it holds another run, no run, or other settings."""


class PromptError(ValueError):
    """A text prompt has a character the run's vocabulary lacks."""


class _StopAfterStep(Exception):
    """Raised by the train step after a completed step once Ctrl-C was pressed; carries its losses."""

    def __init__(self, logs):
        super().__init__("stop requested")
        self.logs = logs


# --- Arguments ---------------------------------------------------------------------------


def _int_at_least(minimum, description):
    """An ``argparse`` type: an integer >= ``minimum``, or an error that names the value received."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {description}. Received: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {description}. Received: {value}")
        return value

    return parse


positive_int = _int_at_least(1, "a positive integer")
non_negative_int = _int_at_least(0, "a non-negative integer")


def _float_in(low, high, description, include_high=True):
    """An ``argparse`` type: a float in (low, high] (or (low, high)), or an error naming the value."""

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {description}. Received: {text!r}") from None
        if not (low < value < high or (include_high and value == high)):
            raise argparse.ArgumentTypeError(f"must be {description}. Received: {value}")
        return value

    return parse


positive_float = _float_in(0.0, float("inf"), "a positive number", include_high=False)
probability = _float_in(0.0, 1.0, "a number in (0, 1]")


def family(model):
    """"image", "text" or "music": what the model generates."""
    if model in IMAGE_MODELS:
        return "image"
    if model in TEXT_MODELS:
        return "text"
    if model in MUSIC_MODELS:
        return "music"
    raise ValueError(f"model must be one of {', '.join(MODELS)}. Received: model={model!r}")


def _add_model_and_outdir(parser):
    parser.add_argument("model", metavar="MODEL", choices=MODELS, help=f"one of: {', '.join(MODELS)}")
    parser.add_argument(
        "--outdir", type=Path, default=None, help="the run folder (default: outputs/cli/MODEL, see GENAI_TF_OUTPUTS)"
    )


def build_parser():
    """The ``argparse`` parser of ``python -m genai_tf``: sub-commands train, sample and evaluate.

    Flags that a resumed run takes from its folder (``--dataset``,
    ``--batch-size``, ``--latent-dim``, ``--seed`` of ``train``) default to
    None, meaning "the run's value, else the recipe's".

    Returns:
        An ``argparse.ArgumentParser``; bad values exit with status 2 and a
        message naming the argument, the value and, for MODEL and
        ``--dataset``, the valid choices.
    """
    parser = argparse.ArgumentParser(
        prog="python -m genai_tf",
        description="Train, sample and evaluate the models of genai_tf: the GANs and VAEs of notebooks 03-08, "
        "the text models of notebook 09 and the melody model of notebook 10, each with its notebook's recipe.",
        epilog="Example: python -m genai_tf train mlp_gan --steps 2000 && python -m genai_tf evaluate mlp_gan",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,sample,evaluate}")

    train = commands.add_parser(
        "train",
        help="train a model with its notebook's recipe; checkpoints, sample grid, metrics JSON",
        description="Train MODEL with its notebook's recipe into --outdir. --resume continues an interrupted "
        "run (or extends a finished one to a larger --steps/--epochs) from its last checkpoint.",
    )
    _add_model_and_outdir(train)
    train.add_argument(
        "--dataset", choices=DATASETS, default=None,
        help=f"training data (image models: {', '.join(IMAGE_DATASETS)}, default {IMAGE_DATASETS[0]}, 4,500 MNIST "
        "digits that need no download; text models: pydoc_topics; melody_gru: bach_chorales)",
    )
    length = train.add_mutually_exclusive_group()
    length.add_argument(
        "--epochs", type=positive_int, default=None,
        help="passes over the training images, each of len(train) // batch_size steps",
    )
    length.add_argument(
        "--steps", type=positive_int, default=None,
        help="total optimizer steps (generator updates for a GAN). Default: the notebook's full-mode "
        "budget (8,000 steps for the GANs, 2,000 for WGAN-GP, 30 / 15 epochs for the MLP / conv VAE, "
        "8 epochs for the text models, 12 for melody_gru); with --resume, the run's own target",
    )
    train.add_argument(
        "--batch-size", type=positive_int, default=None,
        help="images or windows per step (default: the recipe's, 32, 64 or 128)",
    )
    train.add_argument(
        "--latent-dim", type=positive_int, default=None,
        help="image models: size of z (default: the recipe's, 100 or 16)",
    )
    train.add_argument(
        "--seed", type=non_negative_int, default=None,
        help="seed of the weights, the noise and the data order (default: 0)",
    )
    train.add_argument(
        "--resume", action="store_true", help="continue the run in --outdir from its last checkpoint"
    )
    train.add_argument(
        "--checkpoint-every", type=positive_int, default=None,
        help=f"steps between checkpoints (default: {DEFAULT_CHECKPOINT_EVERY}; with --resume, the run's)",
    )
    train.add_argument(
        "--chorales", type=positive_int, default=None,
        help="melody_gru: train on the first N of the 315 training chorales (default: all; parsing takes "
        "about 0.2 s a chorale the first time, then they are cached)",
    )

    sample = commands.add_parser(
        "sample",
        help="write a grid PNG and a .npy of samples from a trained run",
        description="Restore the last checkpoint in --outdir and write, for an image model, "
        "samples_seed<S>.png (a grid) and samples_seed<S>.npy (float32, shape (N, 28, 28, 1), pixels in "
        "[-1, 1]); for a text model samples_seed<S>.txt; for melody_gru the folder samples_seed<S>/ "
        "with a MIDI and a MusicXML file per melody and melodies.json.",
    )
    _add_model_and_outdir(sample)
    sample.add_argument(
        "--num-samples", type=positive_int, default=None, help="images, texts or melodies (default: 100, 5, 10)"
    )
    sample.add_argument("--seed", type=non_negative_int, default=0, help="seed of the noise (default: 0)")
    sample.add_argument(
        "--length", type=positive_int, default=None,
        help=f"language models: tokens to generate (default: {DEFAULT_SAMPLE_LENGTH['text']} characters, "
        f"at most {DEFAULT_SAMPLE_LENGTH['music']} notes)",
    )
    sample.add_argument(
        "--prompt", default=None, help="text models: the text to continue (default: none; starts as a topic does)"
    )
    sample.add_argument(
        "--temperature", type=positive_float, default=None,
        help="language models: divide the logits by T before sampling (default: 1.0)",
    )
    sample.add_argument(
        "--top-k", type=positive_int, default=None, help="language models: sample among the K likeliest tokens"
    )
    sample.add_argument(
        "--top-p", type=probability, default=None,
        help="language models: sample among the likeliest tokens whose probabilities reach P (nucleus)",
    )

    evaluate = commands.add_parser(
        "evaluate",
        help="score samples against held-out images with the evaluation classifier",
        description="Restore the last checkpoint in --outdir, draw samples and score them against the "
        "held-out images with genai_tf.metrics.score_samples (Frechet distance, KID, classifier "
        "Inception Score, precision, recall, class coverage); real training images are scored the same "
        "way for reference. A language model is scored by its held-out negative log-likelihood per token "
        "against a bigram table and the uniform model; melody_gru also by the pitch-class and interval "
        "histograms of generated melodies. Writes eval_metrics.json and prints a table.",
    )
    _add_model_and_outdir(evaluate)
    evaluate.add_argument(
        "--num-samples", type=positive_int, default=None,
        help="generated images (default: 2,000) or melodies (default: 100) to score; text models draw none",
    )
    evaluate.add_argument("--seed", type=non_negative_int, default=0, help="seed of the samples (default: 0)")
    evaluate.add_argument(
        "--dataset", choices=DATASETS, default=None,
        help="image models: whose held-out (test) images to compare with (default: the run's training dataset)",
    )
    return parser


# Flags that only some model families take: option name -> (flag, families).
FAMILY_FLAGS = {
    "latent_dim": ("--latent-dim", ("image",)),
    "chorales": ("--chorales", ("music",)),
    "length": ("--length", ("text", "music")),
    "prompt": ("--prompt", ("text",)),
    "temperature": ("--temperature", ("text", "music")),
    "top_k": ("--top-k", ("text", "music")),
    "top_p": ("--top-p", ("text", "music")),
}


def argument_problem(model, command, **options):
    """What is wrong with options given for ``model``, or None: ``(flag, message)``.

    The checks that depend on the model, shared by the command line (which
    reports them as ``argparse`` errors) and by :func:`train`, :func:`sample`
    and :func:`evaluate` (which raise ``ValueError``): a dataset the model
    does not train on, a flag of another model family, and too few or
    unwanted evaluation samples. Options that are None were not given.

    Example:
    >>> argument_problem("char_gru", "train", latent_dim=8)
    ('--latent-dim', 'applies to mlp_gan, dcgan, conditional_gan, wgan_gp, mlp_vae, conv_vae only, not to char_gru.')
    >>> argument_problem("dcgan", "train", dataset="mnist") is None
    True
    """
    kind = family(model)
    valid = MODEL_DATASETS[model]
    dataset = options.get("dataset")
    if dataset is not None and dataset not in valid:
        return "--dataset", (
            f"{model} trains on {' or '.join(valid)}. Received: {dataset!r} "
            f"(image datasets: {', '.join(IMAGE_DATASETS)})"
        )
    for name, (flag, families) in FAMILY_FLAGS.items():
        if options.get(name) is not None and kind not in families:
            models = [other for other in MODELS if family(other) in families]
            return flag, f"applies to {', '.join(models)} only, not to {model}."
    num_samples = options.get("num_samples")
    if command == "evaluate" and num_samples is not None:
        if kind == "text":
            return "--num-samples", f"{model} is scored on held-out text and draws no samples; leave the flag out."
        minimum = MIN_EVALUATION_SAMPLES if kind == "image" else 1
        if num_samples < minimum:
            return "--num-samples", f"must be at least {minimum} for the metrics. Received: {num_samples}"
    return None


def _check_options(model, command, **options):
    """Raise ValueError naming the option when :func:`argument_problem` finds one."""
    problem = argument_problem(model, command, **options)
    if problem is not None:
        flag, message = problem
        raise ValueError(f"{flag.lstrip('-').replace('-', '_')}: {message}")


def check_arguments(parser, args):
    """:func:`argument_problem` on parsed arguments; a problem exits through ``parser.error`` (status 2)."""
    options = {name: value for name, value in vars(args).items() if name not in ("command", "model")}
    problem = argument_problem(args.model, args.command, **options)
    if problem is not None:
        flag, message = problem
        parser.error(f"argument {flag}: {message}")


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
    from genai_tf.data import DatasetNotFoundError

    try:
        if args.command == "train":
            record = train(
                args.model, dataset=args.dataset, epochs=args.epochs, steps=args.steps,
                batch_size=args.batch_size, latent_dim=args.latent_dim, seed=args.seed,
                outdir=args.outdir, resume=args.resume, checkpoint_every=args.checkpoint_every,
                chorales=args.chorales,
            )
            return INTERRUPTED_EXIT_CODE if record["status"] == "interrupted" else 0
        if args.command == "sample":
            sample(
                args.model, outdir=args.outdir, num_samples=args.num_samples, seed=args.seed, length=args.length,
                prompt=args.prompt, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
            )
        else:
            evaluate(args.model, outdir=args.outdir, num_samples=args.num_samples, seed=args.seed, dataset=args.dataset)
        return 0
    except (RunFolderError, PromptError, DatasetNotFoundError, FloatingPointError) as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 1


# --- The run folder ----------------------------------------------------------------------


def default_outdir(model):
    """The run folder of ``model`` when no ``--outdir`` is given: ``outputs/cli/<model>``."""
    from genai_tf import config

    return config.outputs_dir("cli", model)


def _read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8")) if Path(path).exists() else None


def _write_json(path, record):
    """Write a JSON file through a temporary name, so a killed run never leaves half a file."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(record, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _latest_checkpoint(outdir):
    """The path of the run's latest Trainer checkpoint, or None."""
    import tensorflow as tf

    folder = Path(outdir) / CHECKPOINT_FOLDER
    return tf.train.latest_checkpoint(str(folder)) if folder.exists() else None


def _checkpoint_step(path):
    """The step number of a Trainer checkpoint path such as ``.../ckpt-500``."""
    return int(str(path).rsplit("-", 1)[1])


def _holds_run(outdir):
    """Whether ``train`` has written into the folder (settings, checkpoints or a training record)."""
    outdir = Path(outdir)
    return any((outdir / name).exists() for name in (SETTINGS_FILE, CHECKPOINT_FOLDER, TRAIN_METRICS_FILE))


def _check_model(settings, model, outdir):
    if settings.get("model") != model:
        raise RunFolderError(
            f"{outdir} holds a run of {settings.get('model')!r}, not {model!r}. "
            f"Pass MODEL {settings.get('model')} or another --outdir."
        )


def _resolve_outdir(model, outdir):
    return default_outdir(model) if outdir is None else Path(outdir)


def _versions():
    """The library versions and platform a record was made with."""
    import keras
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


# --- Models, data and the train step ----------------------------------------------------


def build_model(model, latent_dim=None, seed=0):
    """The zoo's recipe for ``model`` with its latent size and seed replaced; compiled, optimizers built.

    The weights are drawn from the global random state: call
    ``genai_tf.set_seed`` first for repeatable ones.

    Args:
        model: a key of :data:`genai_tf.zoo.ENTRIES`.
        latent_dim: size of z, > 0; None keeps the recipe's (100 for the
            GANs, 16 for the VAEs).
        seed: seed of the model's training noise.

    Returns:
        A compiled ``keras.Model`` whose optimizers have their slots, so a
        checkpoint restores into it.
    """
    from genai_tf import zoo

    built = zoo.build(model, latent_dim=None if latent_dim is None else int(latent_dim), seed=int(seed))
    return _with_optimizer_slots(built)


def build_language_model(model, vocabulary_size, schedule_steps):
    """The language zoo's recipe for ``model``: built, compiled with its optimizer, optimizer slots built.

    Args:
        model: a key of :data:`genai_tf.language_zoo.ENTRIES`.
        vocabulary_size: the run's number of tokens.
        schedule_steps: the steps the learning-rate schedule spans (the run's first target).
    """
    from genai_tf import language_zoo

    network = language_zoo.build(model, vocabulary_size)
    network.compile(optimizer=language_zoo.make_optimizer(model, schedule_steps))
    return _with_optimizer_slots(network)


def _with_optimizer_slots(model):
    """Build a compiled model's optimizer slots now, not at the first step, so a checkpoint restores into them."""
    for optimizer in _optimizers(model).values():
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
    return model


def _recipe(model):
    """The zoo entry of an image model or the language zoo entry of a language model."""
    from genai_tf import language_zoo, zoo

    return zoo.entry(model) if family(model) == "image" else language_zoo.entry(model)


def _optimizers(model):
    """The optimizers a model trains with, by name: the two of a GAN, the one of a VAE."""
    if hasattr(model, "g_optimizer"):
        return {"g_optimizer": model.g_optimizer, "d_optimizer": model.d_optimizer}
    return {"optimizer": model.optimizer}


def _fused_train_step(model):
    """The model's own ``train_step`` as one ``tf.function`` that returns this batch's losses.

    The model's loss trackers average over the calls since their last
    reset (``fit`` resets them every epoch); resetting them first makes each
    call report its own batch.
    """
    import tensorflow as tf

    @tf.function
    def train_step(batch):
        for tracker in model.metrics:
            tracker.reset_state()
        return model.train_step(batch)

    return train_step


def _stoppable(train_step, stop_requested):
    """Wrap a step so that, once a stop is requested, it raises after completing its batch."""

    def step(batch):
        logs = train_step(batch)
        if stop_requested:
            raise _StopAfterStep(logs)
        return logs

    return step


@contextlib.contextmanager
def _stop_on_interrupt(requested):
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


def _restore(model_name, outdir):
    """Rebuild a run's model from its settings and restore its last checkpoint.

    Returns:
        (model, settings, step, vocabulary): the vocabulary is the run's
        saved one for a language model, None for an image model.
    """
    from genai_tf import config, language_zoo
    from genai_tf.training import Trainer

    settings = _read_json(outdir / SETTINGS_FILE)
    if settings is None or _latest_checkpoint(outdir) is None:
        raise RunFolderError(
            f"{outdir} holds no trained run of {model_name}. Train one first: "
            f"python -m genai_tf train {model_name} --outdir {outdir}"
        )
    _check_model(settings, model_name, outdir)
    config.set_seed(settings["seed"])
    vocabulary = None
    if family(model_name) == "image":
        model = build_model(model_name, settings["latent_dim"], settings["seed"])
    else:
        record = _read_json(outdir / VOCABULARY_FILE)
        if record is None:
            raise RunFolderError(f"{outdir} has no {VOCABULARY_FILE}: the run's tokens are unknown.")
        vocabulary = language_zoo.vocabulary_from_json(record)
        model = build_language_model(model_name, vocabulary.size, settings["schedule_steps"])
    trainer = Trainer(
        _fused_train_step(model), outdir / CHECKPOINT_FOLDER, {"model": model, **_optimizers(model)}, verbose=False
    )
    return model, settings, trainer.global_step, vocabulary


def _save_grid(images, path):
    """Save images in [-1, 1] as one grayscale PNG grid of GRID_COLUMNS columns, one pixel per pixel."""
    import matplotlib.image

    from genai_tf.plotting import image_grid

    matplotlib.image.imsave(path, image_grid(images, ncols=GRID_COLUMNS), cmap="gray", vmin=0.0, vmax=1.0)
    return Path(path)


# --- train -------------------------------------------------------------------------------


def _resolve_settings(model, outdir, resume, requested):
    """The run's settings: the stored ones when resuming (checked against the flags), else flags over defaults."""
    stored = _read_json(outdir / SETTINGS_FILE)
    checkpoint = _latest_checkpoint(outdir)
    if resume:
        if stored is None or checkpoint is None:
            reason = "no checkpoint" if stored is not None else "no run"
            raise RunFolderError(
                f"--resume: {outdir} holds {reason} to resume. Start a new run without --resume "
                "(into an empty or new --outdir)."
            )
        _check_model(stored, model, outdir)
        disagree = {
            name: (stored.get(name), value)
            for name, value in requested.items()
            if value is not None and stored.get(name) != value
        }
        if disagree:
            run = ", ".join(f"{name}={old!r}" for name, (old, _) in disagree.items())
            flags = ", ".join(f"{name}={new!r}" for name, (_, new) in disagree.items())
            raise RunFolderError(
                f"--resume: the run in {outdir} has {run} but the flags say {flags}. Leave those flags out "
                "to continue the run as it was, or train the new settings into another --outdir."
            )
        return stored
    if _holds_run(outdir):
        step = f" (last checkpoint: step {_checkpoint_step(checkpoint)})" if checkpoint else ""
        raise RunFolderError(
            f"{outdir} already holds a run{step}. Pass --resume to continue it, or choose another --outdir; "
            "nothing was overwritten."
        )
    settings = {"model": model, "dataset": MODEL_DATASETS[model][0], "batch_size": _recipe(model).batch_size,
                "latent_dim": None, "seed": 0, "chorales": None}
    settings.update({name: value for name, value in requested.items() if value is not None})
    return settings


def _target_steps(model, settings, steps, epochs, resume):
    """The step to train to: --steps, else --epochs, else the resumed run's target, else the notebook's budget."""
    if steps is not None:
        return steps
    if epochs is not None:
        return epochs * settings["steps_per_epoch"]
    if resume and settings.get("target_steps"):
        return settings["target_steps"]
    spec = _recipe(model)
    if family(model) != "image":
        return spec.epochs * settings["steps_per_epoch"]
    return spec.full_budget * (settings["steps_per_epoch"] if spec.unit == "epochs" else 1)


def train(
    model,
    *,
    dataset=None,
    epochs=None,
    steps=None,
    batch_size=None,
    latent_dim=None,
    seed=None,
    outdir=None,
    resume=False,
    checkpoint_every=None,
    chorales=None,
    num_samples=None,
    verbose=None,
):
    """Train a model of the curriculum with its notebook's recipe into a run folder; resumable.

    A fresh run refuses a folder that already holds one; ``resume=True``
    restores the last checkpoint and trains on to the target (the run's own
    unless ``steps`` or ``epochs`` is given). Settings not given are the
    run's own when resuming, else the recipe's; a given one that differs
    from the run's is refused. Image batches come from
    ``make_dataset(..., seed=seed, repeat=True)``, so an epoch is
    ``len(train) // batch_size`` steps; a language model's from
    :func:`genai_tf.language_zoo.training_batches` (for text, an epoch is one
    pass over the characters in random windows).

    Args:
        model: one of :data:`MODELS`.
        dataset: one of the model's :data:`MODEL_DATASETS`; None is its first.
        epochs: passes over the training images; give ``epochs`` or
            ``steps``, or neither for the notebook's full-mode budget.
        steps: the total number of steps to reach (not the number to add).
        batch_size, latent_dim: positive ints; None is the recipe's
            (``latent_dim``: image models only).
        seed: non-negative int, seeds the weights, the model's noise and the
            data order; None is 0.
        outdir: the run folder; None is ``outputs/cli/<model>``.
        resume: continue the run in ``outdir``.
        checkpoint_every: steps between checkpoints, > 0; None is the
            run's when resuming, else 500.
        chorales: melody_gru only: train on the first N training chorales (None: all).
        num_samples: images in the ``samples.png`` grid written at the end
            (default 100), or texts (5) or melodies (10).
        verbose: progress bar; None follows :func:`genai_tf.training.default_verbose`
            (without the bar a line is printed at every logging step).

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
    from genai_tf import config, data, zoo
    from genai_tf.training import Trainer

    kind = family(model)
    _check_options(model, "train", dataset=dataset, latent_dim=latent_dim, chorales=chorales)
    outdir = _resolve_outdir(model, outdir)
    requested = {"dataset": dataset, "batch_size": batch_size, "latent_dim": latent_dim, "seed": seed,
                 "chorales": chorales}
    settings = _resolve_settings(model, outdir, resume, requested)
    config.set_seed(settings["seed"])
    if kind == "image":
        arrays = zoo.training_data(model, settings["dataset"])
        _check_batch_size(settings, len(arrays[0]), f"training images of {settings['dataset']}")
        steps_per_epoch, vocabulary = len(arrays[0]) // settings["batch_size"], None
    else:
        batches, steps_per_epoch, vocabulary = _language_data(model, settings, outdir, resume)
    settings["steps_per_epoch"] = _check_steps_per_epoch(settings, steps_per_epoch, resume)
    target = _target_steps(model, settings, steps, epochs, resume)
    reached = _checkpoint_step(_latest_checkpoint(outdir)) if resume else 0
    if target <= reached:
        raise RunFolderError(
            f"--resume: the run in {outdir} is already at step {reached}, and the target is step {target}: "
            "nothing to train. Pass a larger --steps or --epochs to extend it."
        )
    checkpoint_every = checkpoint_every or settings.get("checkpoint_every") or DEFAULT_CHECKPOINT_EVERY
    if kind == "image":
        network = build_model(model, settings["latent_dim"], settings["seed"])
        settings.update(latent_dim=network.latent_dim, schedule_steps=None)
        sample_fn = lambda: zoo.sample(network, model, 2 * GRID_COLUMNS, seed=settings["seed"])  # noqa: E731
    else:
        # The schedule spans the first target; an extended run continues at its final rate.
        settings["schedule_steps"] = settings.get("schedule_steps") or target
        network = build_language_model(model, vocabulary.size, settings["schedule_steps"])
        sample_fn = None
    settings.update(target_steps=target, checkpoint_every=checkpoint_every)

    outdir.mkdir(parents=True, exist_ok=True)
    stop_requested = []
    trainer = Trainer(
        _stoppable(_fused_train_step(network), stop_requested),
        outdir / CHECKPOINT_FOLDER,
        {"model": network, **_optimizers(network)},
        checkpoint_every=checkpoint_every,
        log_every=min(100, checkpoint_every),
        log_dir=outdir / "logs",
        sample_fn=sample_fn,
        verbose=verbose,
    )
    start_step = trainer.global_step
    _write_json(outdir / SETTINGS_FILE, {name: settings.get(name) for name in SAVED_SETTINGS})
    if vocabulary is not None:
        from genai_tf import language_zoo

        _write_json(outdir / VOCABULARY_FILE, language_zoo.vocabulary_to_json(vocabulary))
    if trainer.restored_step is None:
        trainer.manager.save(checkpoint_number=0)  # so that --resume works before the first periodic checkpoint
    previous = (_read_json(outdir / TRAIN_METRICS_FILE) or {}) if resume else {}
    history = _history_until(previous.get("history", {"step": []}), start_step)  # later steps are redone

    def record_losses(step, values):
        history["step"].append(step)
        for key, value in values.items():
            history.setdefault(key, []).append(value)
        if not trainer.verbose:
            print(f"{model} step {step}/{target}: " + " ".join(f"{k}={v:.4g}" for k, v in values.items()), flush=True)

    unit = "images" if kind == "image" else "windows"
    print(
        f"{model} on {settings['dataset']}: {'resuming at' if start_step else 'from'} step {start_step} to "
        f"{target} ({target / settings['steps_per_epoch']:.1f} epochs of {settings['steps_per_epoch']} batches "
        f"of {settings['batch_size']} {unit}), checkpoints every {checkpoint_every} steps in {outdir}",
        flush=True,
    )
    if kind == "image":
        batches = data.make_dataset(*arrays, batch_size=settings["batch_size"], seed=settings["seed"], repeat=True)
    started = time.perf_counter()
    status, error = _fit_until_stopped(trainer, network, batches, target, record_losses, stop_requested)
    seconds = time.perf_counter() - started

    step = _checkpoint_step(trainer.manager.latest_checkpoint)
    sessions = previous.get("sessions", []) + [
        {"from_step": start_step, "to_step": step, "seconds": round(seconds, 2), "status": status}
    ]
    history = _history_until(history, step)
    record = {
        "model": model,
        "title": _recipe(model).title,
        "status": status,
        "step": step,
        "target_steps": target,
        "epochs": round(step / settings["steps_per_epoch"], 3),
        "settings": {name: settings.get(name) for name in SAVED_SETTINGS if name != "target_steps"},
        "history": history,
        "final": {key: values[-1] for key, values in history.items() if key != "step" and values},
        "seconds": round(sum(session["seconds"] for session in sessions), 2),
        "sessions": sessions,
        "versions": _versions(),
        **({"error": error} if error else {}),
    }
    _write_json(outdir / TRAIN_METRICS_FILE, record)
    if status == "failed":
        raise FloatingPointError(f"{error} The last good checkpoint (step {step}) is kept in {outdir}.")
    if kind == "image":
        images = zoo.sample(network, model, num_samples or 100, seed=settings["seed"])
        written = (_save_grid(images, outdir / "samples.png"),)
    else:
        written = _write_language_samples(
            network, model, vocabulary, outdir, "samples", num_samples or DEFAULT_SAMPLE_COUNT[kind],
            DEFAULT_SAMPLE_LENGTH[kind], seed=settings["seed"],
        )
    if status == "interrupted":
        print(f"Stopped at step {step} of {target}. Continue with: python -m genai_tf train {model} --resume "
              f"--outdir {outdir}")
    else:
        print(f"Trained {model} to step {step} in {seconds:.1f} s: {', '.join(map(str, written))}, "
              f"{outdir / TRAIN_METRICS_FILE}")
    return record


def _language_data(model, settings, outdir, resume):
    """A language model's training stream, steps per epoch and vocabulary; checks a resumed run's tokens."""
    from genai_tf import language_zoo

    corpus = language_zoo.load_corpus(model, settings.get("chorales"))
    if resume:
        _check_vocabulary(outdir, corpus.vocabulary)
    try:
        batches, steps_per_epoch = language_zoo.training_batches(
            model, corpus, settings["batch_size"], seed=settings["seed"]
        )
    except ValueError as err:
        raise RunFolderError(f"--batch-size {settings['batch_size']}: {err}") from None
    return batches, steps_per_epoch, corpus.vocabulary


def _check_vocabulary(outdir, vocabulary):
    """Refuse a corpus whose tokens differ from the run's saved vocabulary (the weights would not fit)."""
    from genai_tf import language_zoo

    saved = _read_json(Path(outdir) / VOCABULARY_FILE)
    if saved is not None and saved != language_zoo.vocabulary_to_json(vocabulary):
        raise RunFolderError(
            f"The corpus now gives a vocabulary of {vocabulary.size} tokens that differs from the run's "
            f"{VOCABULARY_FILE} in {outdir} ({len(saved.get('tokens', []))} tokens besides the special ones): "
            "the data on disk or the library version changed."
        )


def _check_batch_size(settings, num_examples, what):
    if settings["batch_size"] > num_examples:
        raise RunFolderError(f"--batch-size {settings['batch_size']} is larger than the {num_examples} {what}.")


def _check_steps_per_epoch(settings, steps_per_epoch, resume):
    """The batches of one epoch, checked against a resumed run's (a change means the data changed)."""
    if resume and settings.get("steps_per_epoch") not in (None, steps_per_epoch):
        raise RunFolderError(
            f"--resume: {settings['dataset']} now gives {steps_per_epoch} batches an epoch, the run had "
            f"{settings['steps_per_epoch']}: the data on disk changed."
        )
    return steps_per_epoch


def _history_until(history, step):
    """The logged losses up to and including ``step`` (the steps are increasing)."""
    keep = sum(1 for logged in history["step"] if logged <= step)
    return {key: list(values[:keep]) for key, values in history.items()}


def _fit_until_stopped(trainer, network, batches, target, callback, stop_requested):
    """Run ``trainer.fit`` to ``target``, turning Ctrl-C into a checkpoint: (status, error or None).

    After a first Ctrl-C the step in progress completes, is counted and is
    saved (unless something in it is not finite); a second Ctrl-C, even
    during that save, stops at once. Then, and after a NaN, the trainer is
    rolled back to its last checkpoint, the state the next ``--resume``
    starts from.
    """
    status, error = "completed", None
    with _stop_on_interrupt(stop_requested):
        try:
            try:
                trainer.fit(batches, target, callback=callback)
            except _StopAfterStep as stop:
                trainer.step.assign_add(1)  # the step ran to the end; the trainer had not counted it yet
                if not (_finite(stop.logs.values()) and _finite(network.trainable_variables)):
                    raise FloatingPointError(f"Non-finite values at step {trainer.global_step}, which was not saved.")
                trainer.manager.save(checkpoint_number=trainer.global_step)
                status = "interrupted" if trainer.global_step < target else "completed"
        except KeyboardInterrupt:
            status = "interrupted"
        except FloatingPointError as err:
            status, error = "failed", str(err)
    if status != "completed":
        trainer.restore()
    return status, error


def _finite(tensors):
    return all(np.all(np.isfinite(np.asarray(tensor))) for tensor in tensors)


# --- sample and evaluate -----------------------------------------------------------------


def sample(model, *, outdir=None, num_samples=None, seed=0, length=None, prompt=None, temperature=None,
           top_k=None, top_p=None):
    """Write samples of a trained run: images as a grid PNG and a ``.npy``; texts; melodies as MIDI and MusicXML.

    Args:
        model: one of :data:`MODELS`, the run's model.
        outdir: the run folder; None is ``outputs/cli/<model>``.
        num_samples: positive int; None is 100 images, 5 texts or 10 melodies.
        seed: seed of the noise; the same seed gives the same samples.
        length: language models: tokens to generate (default 300
            characters, or at most 120 notes).
        prompt: text models: the text each sample continues.
        temperature, top_k, top_p: language models: as for
            :func:`genai_tf.sampling.sample_next` (temperature None is 1.0).

    Returns:
        The paths written: (png, npy) for an image model, ``(txt,)`` for a
        text model, ``(folder, melodies.json)`` for the melody model. The
        image array is float32 (num_samples, 28, 28, 1) in [-1, 1] (a VAE's
        Bernoulli means rescaled from [0, 1]).
    """
    from genai_tf import zoo

    kind = family(model)
    _check_options(model, "sample", length=length, prompt=prompt, temperature=temperature, top_k=top_k, top_p=top_p)
    outdir = _resolve_outdir(model, outdir)
    network, settings, step, vocabulary = _restore(model, outdir)
    num_samples = num_samples or DEFAULT_SAMPLE_COUNT[kind]
    if kind != "image":
        written = _write_language_samples(
            network, model, vocabulary, outdir, f"samples_seed{seed}", num_samples,
            length or DEFAULT_SAMPLE_LENGTH[kind], seed=seed, prompt=prompt or "", temperature=temperature or 1.0,
            top_k=top_k, top_p=top_p,
        )
        print(f"{num_samples} samples of {model} (step {step}, seed {seed}): {', '.join(map(str, written))}")
        return written
    images = zoo.sample(network, model, num_samples, seed=seed).astype(np.float32)
    png = _save_grid(images, outdir / f"samples_seed{seed}.png")
    npy = outdir / f"samples_seed{seed}.npy"
    np.save(npy, images)
    print(f"{num_samples} samples of {model} (step {step}, seed {seed}): {png}, {npy}")
    return png, npy


def _write_language_samples(network, model, vocabulary, outdir, stem, num_samples, length, seed=0, prompt="",
                            **options):
    """Generate texts or melodies and write them under ``outdir``: (stem.txt,) or (stem/, stem/melodies.json)."""
    from genai_tf import language_zoo, music

    try:
        samples = language_zoo.generate(
            network, model, vocabulary, num_samples, length, seed=seed, prompt=prompt, **options
        )
    except ValueError as err:
        if prompt and "not in the vocabulary" in str(err):
            raise PromptError(f"--prompt {prompt!r}: {err}") from None
        raise
    if family(model) == "text":
        path = Path(outdir) / f"{stem}.txt"
        settings = ", ".join(f"{k}={v}" for k, v in {"seed": seed, **options}.items() if v is not None)
        blocks = [f"=== sample {i + 1} of {len(samples)} ({settings}) ===\n{text}\n" for i, text in enumerate(samples)]
        path.write_text("\n".join(blocks), encoding="utf-8")
        return (path,)
    folder = Path(outdir) / stem
    folder.mkdir(parents=True, exist_ok=True)
    for stale in [*folder.glob("melody_*.mid"), *folder.glob("melody_*.musicxml")]:
        stale.unlink()   # files of an earlier call with other settings; melodies.json is rewritten below
    for index, melody in enumerate(samples):
        if melody:   # a melody that ended at once has nothing to write
            music.write_melody(melody, folder, f"melody_{index:03d}")
    record = {"seed": seed, **options, "melodies": [[list(note) for note in melody] for melody in samples]}
    _write_json(folder / "melodies.json", record)
    return folder, folder / "melodies.json"


def evaluate(model, *, outdir=None, num_samples=None, seed=0, dataset=None):
    """Score a trained run: samples against held-out images, or a language model's held-out likelihood.

    The samples and, for reference, as many real training images are scored
    by :func:`genai_tf.metrics.score_samples` against the classifier features
    of the dataset's test split, as in notebook 11. A conditional GAN also
    gets its label agreement (samples cycle through the labels 0-9) and a
    VAE its held-out ELBO in nats (binarised test images, one z sample).
    A language model is scored by :func:`genai_tf.language_zoo.held_out_scores`
    and the melody model also by :func:`genai_tf.language_zoo.melody_statistics`
    (see :func:`_evaluate_language_model`).

    Args:
        model: one of :data:`MODELS`, the run's model.
        outdir: the run folder; None is ``outputs/cli/<model>``.
        num_samples: generated images to score, >= MIN_EVALUATION_SAMPLES (10),
            default 2,000; melodies, default 100; text models draw none.
        seed: seed of the samples and of the metrics' subsets.
        dataset: one of :data:`DATASETS` whose test split is the reference;
            None is the run's training dataset.

    Returns:
        The record written to ``eval_metrics.json``: "model", "step",
        "dataset", "num_samples", "seed", "held_out_images", "scores"
        ({"model": {...}, "real_train_images": {...}}), "seconds", "versions".
    """
    from genai_tf import data, metrics, zoo

    _check_options(model, "evaluate", num_samples=num_samples, dataset=dataset)
    if family(model) != "image":
        return _evaluate_language_model(model, outdir, num_samples, seed)
    num_samples = DEFAULT_EVALUATION_SAMPLES["image"] if num_samples is None else num_samples
    started = time.perf_counter()
    outdir = _resolve_outdir(model, outdir)
    network, settings, step, _ = _restore(model, outdir)
    dataset = dataset or settings["dataset"]
    test_images = data.load(dataset, "test", pixel_range=(-1, 1))[0]
    train_images = data.load(dataset, "train", pixel_range=(-1, 1))[0]
    classifier = metrics.load_classifier()
    real_features = metrics.classifier_features(test_images, classifier)
    options = dict(classifier=classifier, subset_size=min(1000, len(test_images)), seed=seed)

    images = zoo.sample(network, model, num_samples, seed=seed)
    scores = {"model": metrics.score_samples(images, real_features, **options)}
    draw = np.random.default_rng(seed).choice(len(train_images), num_samples, replace=num_samples > len(train_images))
    scores["real_train_images"] = metrics.score_samples(train_images[draw], real_features, **options)
    if getattr(network, "conditional", False):
        requested = np.arange(num_samples) % network.num_classes  # the labels zoo.sample asked for
        scores["model"]["label_agreement"] = metrics.label_agreement(
            requested, metrics.predict_classes(images, classifier)
        )
    if zoo.entry(model).kind == "vae":
        binary_test = data.load(dataset, "test", pixel_range=(0, 1), binarize=True)[0]
        scores["model"]["held_out_elbo_nats"] = float(np.mean(network.elbo(binary_test, seed=seed)))

    record = {
        "model": model,
        "step": step,
        "dataset": dataset,
        "num_samples": num_samples,
        "seed": seed,
        "held_out_images": len(test_images),
        "scores": scores,
        "seconds": round(time.perf_counter() - started, 2),
        "versions": _versions(),
    }
    if dataset == "fashion_mnist":
        record["note"] = (
            f"The evaluation classifier reads MNIST digits; on {dataset} its features still rank runs "
            "against each other, but class coverage and the Inception Score mean little."
        )
    _write_json(outdir / EVAL_METRICS_FILE, record)
    print(_score_table(record))
    print(f"Written: {outdir / EVAL_METRICS_FILE}")
    return record


def _evaluate_language_model(model, outdir, num_samples, seed):
    """``evaluate`` for a language model: held-out NLL per token and, for melodies, histogram distances.

    The held-out windows are the corpus's fixed cuts (every T tokens of the
    held-out topics or chorales); the bigram baseline is the smoothed table
    of the run's training tokens; the melody statistics compare
    ``num_samples`` generated melodies (default 100, at most 120 notes) with
    a shuffled corpus and the held-out chorales, as notebook 10 does.
    """
    from genai_tf import language_zoo

    kind = family(model)
    started = time.perf_counter()
    outdir = _resolve_outdir(model, outdir)
    network, settings, step, vocabulary = _restore(model, outdir)
    corpus = language_zoo.load_corpus(model, settings.get("chorales"))
    _check_vocabulary(outdir, corpus.vocabulary)
    scores = language_zoo.held_out_scores(network, corpus)
    record = {
        "model": model,
        "step": step,
        "dataset": settings["dataset"],
        "seed": seed,
        "held_out_tokens": scores.pop("held_out_tokens"),
        "scores": scores,
    }
    if kind == "music":
        num_samples = num_samples or DEFAULT_EVALUATION_SAMPLES["music"]
        generated = language_zoo.generate(network, model, vocabulary, num_samples, DEFAULT_SAMPLE_LENGTH["music"], seed)
        try:
            melodies = language_zoo.melody_statistics(generated, corpus, seed=seed)
        except ValueError as err:   # a barely trained model may end every melody at once
            melodies = {"melodies_scored": 0, "note": f"{err} Train longer or draw more with --num-samples."}
        record.update(num_samples=num_samples, held_out_melodies_dropped=corpus.held_out_dropped, melodies=melodies)
    record.update(seconds=round(time.perf_counter() - started, 2), versions=_versions())
    _write_json(outdir / EVAL_METRICS_FILE, record)
    print(_language_score_table(record))
    print(f"Written: {outdir / EVAL_METRICS_FILE}")
    return record


def _language_score_table(record):
    """The table ``evaluate`` prints for a language model."""
    scores = record["scores"]
    lines = [
        f"{record['model']} at step {record['step']}: {record['held_out_tokens']:,} held-out tokens of "
        f"{record['dataset']}",
        f"{'':26s}{'model':>10s}{'bigram':>10s}{'uniform':>10s}",
    ]
    for key, label, fmt in (("nll_nats", "NLL per token (nats)", "{:.3f}"),
                            ("bits_per_token", "bits per token", "{:.3f}"),
                            ("perplexity", "perplexity", "{:.2f}")):
        row = "".join(f"{fmt.format(scores[name][key]):>10s}" for name in ("model", "bigram", "uniform"))
        lines.append(f"{label:26s}{row}")
    melodies = record.get("melodies")
    if melodies and "note" in melodies:
        lines.append(melodies["note"])
    elif melodies:
        lines.append(
            f"{melodies['melodies_scored']} of {record['num_samples']} generated melodies have 2 notes or more "
            f"(median {melodies['median_notes']:.0f}); total-variation distance to the training corpus:"
        )
        lines.append(f"{'':26s}{'pitch classes':>15s}{'intervals':>11s}")
        for name in ("generated", "shuffled_corpus", "held_out_chorales"):
            row = melodies[name]
            lines.append(f"{name.replace('_', ' '):26s}{row['pitch_classes']:15.3f}{row['intervals']:11.3f}")
    return "\n".join(lines)


SCORE_ROWS = (
    ("fd", "Frechet distance (lower is better)", "{:.2f}"),
    ("kid", "KID, not x1000 (lower is better)", "{:.4f}"),
    ("inception_score", "classifier Inception Score (max 10)", "{:.2f}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("classes_covered", "classes covered (of 10)", "{:d}"),
    ("min_fraction", "smallest class share", "{:.3f}"),
    ("label_agreement", "label agreement", "{:.3f}"),
    ("held_out_elbo_nats", "held-out ELBO (nats)", "{:.1f}"),
)


def _score_table(record):
    """The short table ``evaluate`` prints: one row per metric, the model against real training images."""
    scores = record["scores"]
    lines = [
        f"{record['model']} at step {record['step']}: {record['num_samples']} samples (seed {record['seed']}) "
        f"against the {record['held_out_images']} held-out images of {record['dataset']}",
        f"{'metric':38s}{'model':>10s}{'real train':>12s}",
    ]
    for key, label, fmt in SCORE_ROWS:
        if key not in scores["model"]:
            continue
        real = scores["real_train_images"].get(key)
        lines.append(
            f"{label:38s}{fmt.format(scores['model'][key]):>10s}{'-' if real is None else fmt.format(real):>12s}"
        )
    if "note" in record:
        lines.append(record["note"])
    return "\n".join(lines)
