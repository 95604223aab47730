"""The ``argparse`` parser of ``python -m genai_tf``: every model, dataset and family flag comes from the registry.

Building the parser imports no TensorFlow (``--help`` answers at once): it
reads only the recipes' names, datasets and :class:`~genai_tf.recipes.base.Option`
flags. The checks that depend on the model (a dataset it does not train on,
a flag of another family, too few evaluation samples) are in
:func:`argument_problem`, shared by the parser and the Python functions.

Example:
>>> args = build_parser().parse_args(["train", "dcgan", "--epochs", "2", "--outdir", "runs/dcgan"])
>>> args.command, args.model, args.epochs, args.steps, args.batch_size
('train', 'dcgan', 2, None, None)
>>> argument_problem("char_gru", "train", latent_dim=8)
('--latent-dim', 'applies to mlp_gan, dcgan, conditional_gan, wgan_gp, mlp_vae, conv_vae only, not to char_gru.')
>>> argument_problem("dcgan", "train", dataset="mnist") is None
True
"""

import argparse
from pathlib import Path

from genai_tf import recipes
from genai_tf.validation import positive_int_arg, seed_arg

PROG = "python -m genai_tf"
COMMANDS = ("train", "sample", "evaluate")
DEFAULT_CHECKPOINT_EVERY = 500


def models():
    """The models the command line offers, in registry order."""
    return recipes.names(offered=True)


def _listing(values):
    return ", ".join(values)


def _add_model_and_outdir(parser):
    parser.add_argument("model", metavar="MODEL", choices=models(), help=f"one of: {_listing(models())}")
    parser.add_argument(
        "--outdir", type=Path, default=None, help="the run folder (default: outputs/cli/MODEL, see GENAI_TF_OUTPUTS)"
    )


def _add_options(parser, command):
    """The family-specific flags of ``command``, once each, as the registry's recipes declare them."""
    for option in recipes.options(command, offered=True):
        kwargs = {} if option.type is None else {"type": option.type}
        parser.add_argument(option.flag, dest=option.name, default=None, help=option.help, **kwargs)


def _budgets():
    return ", ".join(f"{r.name} {r.full_amount:,} {r.unit}" for r in recipes.recipes(offered=True))


def _dataset_help():
    groups = {}
    for recipe in recipes.recipes(offered=True):
        groups.setdefault(recipe.datasets, []).append(recipe.name)
    listed = "; ".join(f"{_listing(names)}: {_listing(datasets)}" for datasets, names in groups.items())
    return f"training data, the first listed being the default ({listed})"


def _add_train(commands):
    train = commands.add_parser(
        "train",
        help="train a model with its notebook's recipe; checkpoints, samples, metrics JSON",
        description="Train MODEL with its notebook's recipe into --outdir. --resume continues an interrupted "
        "run (or extends a finished one to a larger --steps/--epochs) from its last checkpoint.",
    )
    _add_model_and_outdir(train)
    train.add_argument("--dataset", choices=recipes.datasets(offered=True), default=None, help=_dataset_help())
    length = train.add_mutually_exclusive_group()
    length.add_argument(
        "--epochs", type=positive_int_arg, default=None, help="passes over the training data, each of its batches"
    )
    length.add_argument(
        "--steps", type=positive_int_arg, default=None,
        help=f"total optimizer steps (generator updates for a GAN). Default: the notebook's full-mode budget "
        f"({_budgets()}); with --resume, the run's own target",
    )
    train.add_argument("--batch-size", type=positive_int_arg, default=None,
                       help="examples per step (default: the recipe's)")
    train.add_argument("--seed", type=seed_arg, default=None,
                       help="seed of the weights, the noise and the data order (default: 0)")
    train.add_argument("--resume", action="store_true", help="continue the run in --outdir from its last checkpoint")
    train.add_argument(
        "--checkpoint-every", type=positive_int_arg, default=None,
        help=f"steps between checkpoints (default: {DEFAULT_CHECKPOINT_EVERY}; with --resume, the run's)",
    )
    _add_options(train, "train")
    return train


def _add_sample(commands):
    sample = commands.add_parser(
        "sample",
        help="write samples of a trained run",
        description="Restore the last checkpoint in --outdir and write samples_seed<S>.*: for an image model "
        "a grid PNG and a .npy (float32, shape (N, 28, 28, 1), pixels in [-1, 1]); for a text model a .txt; "
        "for a melody model a folder with a MIDI and a MusicXML file per melody and melodies.json.",
    )
    _add_model_and_outdir(sample)
    counts = ", ".join(f"{r.name} {r.sample_count}" for r in recipes.recipes(offered=True))
    sample.add_argument("--num-samples", type=positive_int_arg, default=None, help=f"samples to draw ({counts})")
    sample.add_argument("--seed", type=seed_arg, default=0, help="seed of the noise (default: 0)")
    _add_options(sample, "sample")
    return sample


def _add_evaluate(commands):
    evaluate = commands.add_parser(
        "evaluate",
        help="score a trained run with its family's metrics",
        description="Restore the last checkpoint in --outdir and score the run with its family's metrics: "
        "image models by the evaluation classifier (Frechet distance, KID, Inception Score, precision, recall, "
        "class coverage; real training images scored the same way for reference), language models by their "
        "held-out negative log-likelihood per token against a bigram table and the uniform model. "
        "Writes eval_metrics.json and prints a table.",
    )
    _add_model_and_outdir(evaluate)
    evaluate.add_argument("--num-samples", type=positive_int_arg, default=None,
                          help="generated samples to score (default: the recipe's; text models draw none)")
    evaluate.add_argument("--seed", type=seed_arg, default=0, help="seed of the samples (default: 0)")
    evaluate.add_argument(
        "--dataset", choices=recipes.datasets(offered=True), default=None,
        help="whose held-out split to compare with (default: the run's training dataset)",
    )
    _add_options(evaluate, "evaluate")
    return evaluate


def build_parser():
    """The ``argparse`` parser of ``python -m genai_tf``: sub-commands train, sample and evaluate.

    Flags that a resumed run takes from its folder (``--dataset``,
    ``--batch-size``, ``--seed`` and the family flags of ``train``) default
    to None, meaning "the run's value, else the recipe's".

    Returns:
        An ``argparse.ArgumentParser``; bad values exit with status 2 and a
        message naming the argument, the value and, for MODEL and
        ``--dataset``, the valid choices.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Train, sample and evaluate the models of genai_tf, each with its notebook's recipe: "
        f"{_listing(models())}.",
        epilog=f"Example: {PROG} train mlp_gan --steps 2000 && {PROG} evaluate mlp_gan",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    # Each sub-command's parser, so that a model-dependent error prints that sub-command's usage.
    parser.command_parsers = {"train": _add_train(commands), "sample": _add_sample(commands),
                              "evaluate": _add_evaluate(commands)}
    return parser


def argument_problem(model, command, **options):
    """What is wrong with options given for ``model``, or None: ``(flag, message)``.

    The checks that depend on the model, shared by the command line (which
    reports them as ``argparse`` errors) and by :func:`genai_tf.cli.train`,
    :func:`~genai_tf.cli.sample` and :func:`~genai_tf.cli.evaluate` (which
    raise ``ValueError``): a dataset the model does not train on, a flag of
    another model family, and too few or unwanted evaluation samples.
    Options that are None were not given.
    """
    recipe = recipes.get(model)
    dataset = options.get("dataset")
    if dataset is not None and dataset not in recipe.datasets:
        return "--dataset", f"{model} trains on {' or '.join(recipe.datasets)}. Received: {dataset!r}"
    taken = {option.name for option in recipe.options}
    for option in recipes.options(offered=True):
        if options.get(option.name) is not None and option.name not in taken:
            return option.flag, f"applies to {_listing(recipes.takers(option.name, offered=True))} only, not to {model}."
    num_samples = options.get("num_samples")
    if command == "evaluate" and num_samples is not None:
        problem = recipe.check_evaluation_samples(num_samples)
        if problem is not None:
            return "--num-samples", problem
    return None


def check_options(model, command, **options):
    """Raise ValueError naming the option when :func:`argument_problem` finds one."""
    problem = argument_problem(model, command, **options)
    if problem is not None:
        flag, message = problem
        raise ValueError(f"{flag.lstrip('-').replace('-', '_')}: {message}")


def check_arguments(parser, args):
    """:func:`argument_problem` on parsed arguments; a problem exits with the sub-command's usage (status 2)."""
    options = {name: value for name, value in vars(args).items() if name not in ("command", "model")}
    problem = argument_problem(args.model, args.command, **options)
    if problem is not None:
        flag, message = problem
        getattr(parser, "command_parsers", {}).get(args.command, parser).error(f"argument {flag}: {message}")
