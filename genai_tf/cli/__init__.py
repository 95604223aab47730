"""The command line: train, sample and evaluate every model of the recipe registry from a shell.

Usage::

    python -m genai_tf train MODEL [--dataset NAME] [--epochs N | --steps N] [--batch-size N] [--seed N]
                                   [--outdir DIR] [--resume] [--checkpoint-every N] [family flags]
    python -m genai_tf sample MODEL [--outdir DIR] [--num-samples N] [--seed N] [family flags]
    python -m genai_tf evaluate MODEL [--outdir DIR] [--num-samples N] [--seed N] [--dataset NAME]

MODEL is a recipe of :mod:`genai_tf.recipes` (the GANs and VAEs of notebooks
03-08, the text models of notebook 09, the melody model of notebook 10),
built with its notebook's recipe; the family flags (``--latent-dim``,
``--chorales``, ``--prompt``, ``--temperature``, ...) are those the recipes
declare. Three modules, none of which knows a model family:

- :mod:`genai_tf.cli.parser`: the ``argparse`` parser and the model-dependent checks;
- :mod:`genai_tf.cli.run_folder`: the run folder's files and the rule that no run is overwritten;
- :mod:`genai_tf.cli.commands`: ``train`` (exact resume, Ctrl-C saves and exits 130), ``sample``, ``evaluate``.

Example:
>>> args = build_parser().parse_args(["sample", "char_gru", "--top-k", "5"])
>>> args.command, args.model, args.top_k, args.seed
('sample', 'char_gru', 5, 0)
"""

from genai_tf.cli.commands import INTERRUPTED_EXIT_CODE, evaluate, fit_until_stopped, main, restore, sample, train
from genai_tf.cli.parser import argument_problem, build_parser, check_arguments, check_options
from genai_tf.cli.run_folder import RunFolderError, default_outdir
from genai_tf.recipes.language import PromptError

__all__ = [
    "INTERRUPTED_EXIT_CODE", "PromptError", "RunFolderError", "argument_problem", "build_parser", "check_arguments",
    "check_options", "default_outdir", "evaluate", "fit_until_stopped", "main", "restore", "sample", "train",
]
