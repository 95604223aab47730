"""The recipe interface: what the notebooks, notebook 11's ranking and the command line ask of a model family.

A recipe is one trained model of the curriculum with its notebook's choices:
architecture, optimizer, batch size, data and the unit and amount of its
training. The command line (:mod:`genai_tf.cli`) knows only this interface:
it asks the recipe for the run's data, the model, its train step, its
samples and its scores, and never branches on what the model is. A new
family is one module with a :class:`Recipe` subclass, registered with
:func:`genai_tf.recipes.register`.

Importing this module imports no TensorFlow: ``python -m genai_tf --help``
reads the recipes' names, datasets and options without it.

Example:
>>> option = Option("top_k", "--top-k", ("sample",), help="sample among the K likeliest tokens")
>>> option.name, option.flag, option.commands
('top_k', '--top-k', ('sample',))
"""

import abc
import dataclasses
from typing import Any, Callable, NamedTuple, Optional


class RunError(ValueError):
    """A run cannot go on as asked, for a reason the user can fix (the command line exits with status 1)."""


class StateMismatchError(RunError):
    """The data now give another run state (e.g. vocabulary) than the one the run was trained with."""


@dataclasses.dataclass(frozen=True)
class Option:
    """A command-line flag that only some recipes take (``--latent-dim``, ``--prompt``, ...).

    Attributes:
        name: the keyword argument and settings name (``latent_dim``).
        flag: the command-line flag (``--latent-dim``).
        commands: the sub-commands that have the flag ("train", "sample", "evaluate").
        type: the ``argparse`` type (e.g. :func:`genai_tf.validation.positive_int_arg`); None keeps the text.
        help: the help text.
    """

    name: str
    flag: str
    commands: tuple
    type: Optional[Callable] = None
    help: str = ""


class RunData(NamedTuple):
    """A run's training stream as the command line trains on it.

    Attributes:
        batches: an endless, seeded ``tf.data.Dataset`` whose iterator checkpoints exactly.
        steps_per_epoch: batches in one pass over the training data.
        state: ``{name: JSON-ready record}`` the run folder keeps as ``<name>.json``
            (a language model's vocabulary); a resumed run refuses data that change it.
    """

    batches: Any
    steps_per_epoch: int
    state: dict


class Recipe(abc.ABC):
    """One model family member of the curriculum, as its notebook trains it.

    Class attributes (set by each subclass or instance):
        name: the registry key and the command line's MODEL.
        title: the name in tables.
        notebook: the notebook that trains it (and saves it for the next ones).
        family: what it generates ("image", "text", "music", ...): a label for
            listings and help texts, never a switch.
        unit: the unit of :meth:`train`'s amount, "steps" or "epochs".
        full_amount: the notebook's full-mode training length, in ``unit``.
        quick_amount: its quick-mode (test command) length, in ``unit``.
        batch_size: the notebook's batch size.
        datasets: the datasets it trains on; the first is the default.
        options: the :class:`Option` flags it takes besides the common ones.
        state_names: the names of the records in :attr:`RunData.state`.
        examples: what one batch holds, for messages ("images", "windows").
        sample_count: samples ``sample`` draws by default.
        evaluation_samples: samples ``evaluate`` draws by default; None when it draws none.
        min_evaluation_samples: the fewest samples its metrics accept.
        offered: whether the command line offers it (False for a recipe with
            nothing to sample, such as the evaluation classifier).
    """

    name = ""
    title = ""
    notebook = ""
    family = ""
    unit = "steps"
    full_amount = 1
    quick_amount = 1
    batch_size = 32
    datasets = ()
    options = ()
    state_names = ()
    examples = "examples"
    sample_count = 10
    evaluation_samples = None
    min_evaluation_samples = 1
    offered = True

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"

    def amount(self, mode=None):
        """The notebook's training length in ``mode`` ("quick" or "full"; None: the current mode), in ``unit``.

        The notebook trains for this, and a later notebook that finds no saved
        model trains one with the same amount.
        """
        from genai_tf.config import get_mode

        return self.quick_amount if (mode or get_mode()) == "quick" else self.full_amount

    # --- what the notebooks ask ---------------------------------------------------------

    @abc.abstractmethod
    def build(self, **options):
        """A new model with its notebook's architecture and optimizer (compiled)."""

    @abc.abstractmethod
    def train(self, amount, dataset=None, model=None):
        """Train with the notebook's recipe for ``amount`` (in :attr:`unit`): returns (model, seconds)."""

    @abc.abstractmethod
    def sample(self, model, n, seed=0):
        """``n`` samples of a trained model (images: float32 in [0, 1], whatever the family)."""

    @abc.abstractmethod
    def evaluate(self, model, dataset=None, num_samples=None, seed=0):
        """The family's scores of a trained model (a dict of floats and dicts of floats)."""

    def saved_path(self, mode, notebook=None):
        """Where ``notebook`` (default: the recipe's own) saves the model in ``mode``: a ``.keras`` path.

        Nothing is created: :meth:`save` makes the folder.
        """
        from genai_tf import config

        return config.outputs_dir() / (notebook or self.notebook) / mode / f"{self.name}.keras"

    def save(self, model, mode, amount, seconds, dataset=None, notebook=None):
        """Save a trained model and a JSON record of its training beside it; returns the ``.keras`` path.

        The record ({"key", "notebook", "mode", "dataset", "amount", "unit",
        "seconds"}) lets :meth:`load` say how long the model trained and refuse
        a model trained on other data.
        """
        from genai_tf import records

        path = self.saved_path(mode, notebook)
        record = dict(
            key=self.name, notebook=notebook or self.notebook, mode=mode, dataset=dataset or self.datasets[0],
            amount=int(amount), unit=self.unit, seconds=round(float(seconds), 1),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
        records.write_json(path.with_suffix(".json"), record)
        return path

    def load(self, mode, dataset=None, notebook=None):
        """Load a model saved by :meth:`save`: (model, record), or (None, reason) when there is none to use.

        A file without its JSON record, or one trained on another dataset, is
        not used (the reason says which). Nor is a damaged file or record (a
        truncated or overwritten ``.keras`` file, a zip without its weights):
        the reason is "<file> cannot be loaded (<the error>)", and
        :meth:`load_or_train` retrains over it with a warning.
        """
        import zipfile

        import keras

        import genai_tf.models  # noqa: F401 -- registers the model classes with Keras, which needs them to load
        from genai_tf import records

        dataset = dataset or self.datasets[0]
        path = self.saved_path(mode, notebook)
        shown = f"outputs/{path.parent.parent.name}/{mode}/{path.name}"
        if not path.exists():
            return None, f"no saved model at {shown}"
        if not path.with_suffix(".json").exists():
            return None, f"{shown} has no training record"
        try:
            record = records.read_json(path.with_suffix(".json"), what="training record")
        except records.RecordError as err:
            return None, f"{shown} cannot be loaded ({err})"
        if record.get("dataset") != dataset:
            return None, f"the saved {self.name} was trained on {record.get('dataset')!r}, not {dataset!r}"
        try:
            return keras.models.load_model(path), record
        except Exception as err:  # Keras raises many types on a damaged file; all mean "retrain".
            if not zipfile.is_zipfile(path):   # Keras would say "File not found" of a file that exists
                return None, f"{shown} cannot be loaded (not a zip archive, as a .keras file is: truncated or damaged)"
            first_line = (str(err).strip().splitlines() or [""])[0]
            return None, f"{shown} cannot be loaded ({type(err).__name__}: {first_line})"

    def load_or_train(self, amount, mode, dataset=None, cache_notebook=None, verbose=True):
        """The model its notebook saved in ``mode`` if there is one; else one trained here for ``amount``.

        Looks for the notebook's own save first, then for a save by
        ``cache_notebook`` (the asking notebook, e.g. "11_evaluating_generative_models"),
        where a model trained here is saved so a re-run does not train it again.
        A damaged save (see :meth:`load`) is never a crash: a ``UserWarning``
        names the file and says what was used instead, the other save or a
        model trained here (saved as the cache, or over the damaged file when
        there is no ``cache_notebook``).

        Returns:
            (model, record): the record as written by :meth:`save`, plus
            "source": "loaded" or "trained".
        """
        import warnings

        dataset = dataset or self.datasets[0]
        reasons = []
        for notebook in (None, cache_notebook) if cache_notebook else (None,):
            model, record = self.load(mode, dataset, notebook=notebook)
            if model is not None:
                break
            reasons.append(record)
        damaged = "; ".join(reason for reason in reasons if " cannot be loaded (" in reason)
        if model is not None:
            if damaged:
                warnings.warn(f"{damaged}. Loaded the {self.name} saved by {record['notebook']} instead.", UserWarning,
                              stacklevel=2)
            if verbose:
                print(f"{self.title}: loaded (saved by {record['notebook']}, {record['amount']} {record['unit']})")
            return model, {**record, "source": "loaded"}
        model, seconds = self.train(amount, dataset)
        notebook = cache_notebook or self.notebook
        path = self.save(model, mode, amount, seconds, dataset, notebook=notebook)
        if damaged:
            warnings.warn(f"{damaged}. Retrained {self.name} here for {amount} {self.unit} and saved it to "
                          f"outputs/{notebook}/{mode}/{path.name}.", UserWarning, stacklevel=2)
        if verbose:
            print(f"{self.title}: trained here for {amount} {self.unit} in {seconds:.0f} s ({reasons[0]})")
        record = dict(key=self.name, notebook=notebook, mode=mode, dataset=dataset, amount=int(amount), unit=self.unit)
        return model, {**record, "seconds": round(seconds, 1), "source": "trained"}

    # --- what the command line asks -----------------------------------------------------

    def run_defaults(self):
        """The settings of a new run before its flags: dataset, batch size, seed and every option's default."""
        defaults = {"dataset": self.datasets[0] if self.datasets else None, "batch_size": self.batch_size, "seed": 0}
        return {**defaults, **{option.name: None for option in self.options if "train" in option.commands}}

    @abc.abstractmethod
    def run_data(self, settings):
        """The training stream of a run with these settings: a :class:`RunData`.

        Raises:
            RunError: the settings do not fit the data (a batch larger than the data set).
        """

    def finish_settings(self, settings, target_steps):
        """Fill the settings that follow from the rest (e.g. a learning-rate schedule's span); returns them."""
        return settings

    @abc.abstractmethod
    def run_model(self, settings, state):
        """A new model for a run: built, compiled, optimizer slots created, weights from the global seed.

        Args:
            settings: the run's settings (after :meth:`finish_settings`).
            state: the run's state records (:attr:`RunData.state`).
        """

    def optimizers(self, model):
        """The optimizers a checkpoint holds, by name (``{"optimizer": model.optimizer}``)."""
        return {"optimizer": model.optimizer}

    def train_step(self, model):
        """The model's own ``train_step`` as one ``tf.function`` returning this batch's losses.

        The model's loss trackers average over the calls since their last
        reset; resetting them first makes each call report its own batch.
        """
        import tensorflow as tf

        @tf.function
        def step(batch):
            for tracker in model.metrics:
                tracker.reset_state()
            return model.train_step(batch)

        return step

    def progress_samples(self, model, seed):
        """A callable giving images in [-1, 1] for TensorBoard during training, or None."""
        return None

    def check_evaluation_samples(self, num_samples):
        """What is wrong with ``evaluate --num-samples num_samples`` for this recipe, or None."""
        if self.evaluation_samples is None:
            return f"{self.name} draws no samples to evaluate; leave the flag out."
        if num_samples < self.min_evaluation_samples:
            return f"must be at least {self.min_evaluation_samples} for the metrics. Received: {num_samples}"
        return None

    def check_state(self, saved, current):
        """Refuse data whose state records (e.g. the vocabulary) differ from the run's saved ones.

        Raises:
            StateMismatchError: naming the record that differs.
        """
        for name, record in saved.items():
            if name in current and current[name] != record:
                raise StateMismatchError(
                    f"The data now give a {name} that differs from the run's {name}.json: the data on disk or "
                    "the library version changed."
                )

    @abc.abstractmethod
    def write_samples(self, model, state, folder, stem, num_samples, seed=0, **options):
        """Draw ``num_samples`` samples and write them under ``folder`` as ``stem``...; returns the paths."""

    @abc.abstractmethod
    def evaluate_run(self, model, settings, state, num_samples=None, seed=0, dataset=None):
        """The family's scores of a trained run, as the record ``evaluate`` writes (after "model" and "step")."""

    def score_table(self, record):
        """The table ``evaluate`` prints for a record of :meth:`evaluate_run`."""
        return "\n".join(f"{key}: {value}" for key, value in record.items() if key != "versions")
