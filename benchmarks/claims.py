"""The notebooks' headline comparisons over several seeds: every seed's figures, their mean and standard deviation.

Usage: python benchmarks/claims.py [--comparisons 04_dcgan 09_text ...] [--seeds 0 1 2] [--force]
                                   [--scale F] [--out PATH]

Each notebook trains its two contenders once, with seed 0. This script trains
them with each seed on the notebook's full-mode budget (through the recipes'
``fit``, so seed 0 uses the notebook's seed but not always its training loop,
and its figures need not be the stored ones) and prints per comparison figure A, figure B, their difference
(mean and sd of the per-seed differences) and how many seeds agree with the
claim: 04_dcgan (FD to the held-out images, DCGAN vs MLP GAN), 08_vae (held-out
ELBO, the recipe's conv VAE vs the TF tutorial's CVAE architecture), 09_text
(held-out bits/char, causal Transformer vs character GRU), 12_adversarial (PGD
accuracy at eps 0.1 of notebook 12's MLP, adversarially trained vs standard)
and 12_diffaugment (FD and the discriminator's overfitting gap of the
small-data DCGAN, with vs without DiffAugment).

Budgets come from the recipes or from the notebook's MyST source (see
:func:`read_budgets`), so the benchmark follows a notebook whose budget
changes. A seed changes the initial weights, the training noise, the batch
order (the recipes' ``fit`` takes the seed) and the evaluation noise (samples drawn with seed 7 + s,
as notebooks 04 and 12 use 7); the data stay the notebooks'.

The record (default outputs/benchmarks/claims.json) holds per comparison and
seed the figures, budget, seconds and matmul GFLOP/s before and after; it is
written after every seed, and a seed already in it with the current budget is
not run again unless ``--force``, so a long run can be split over sessions.
``--scale F`` multiplies every training budget (steps, epochs, windows per
epoch; at least 1) by F for a smoke run; evaluation sizes stay. A record is
never mixed across scales (the default file at F != 1 is claims_scale<F>.json;
a file at another scale is refused). Prints figures; asserts nothing.
"""

import argparse
import ast
import dataclasses
import datetime
import math
import re
import statistics
import time
from pathlib import Path
from typing import Callable

from genai_tf import config, machine, recipes, records
from genai_tf.machine import matmul_gflops

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
DATASET = "mnist_sample"
EVALUATION_SEED = 7   # the seed of the notebooks' evaluation samples (04, 12); seed s draws with 7 + s
_BUDGET_CALL = re.compile(r"genai_tf\.budget\(\s*quick\s*=\s*(?P<quick>.+?)\s*,\s*full\s*=\s*(?P<full>.+?)\s*\)$")
_RECIPE_AMOUNT = re.compile(r"""recipes\.get\(\s*["'](?P<key>\w+)["']\s*\)\.amount\(\s*\w+\s*\)$""")


# --- budgets read from the notebooks --------------------------------------------------------


def read_budgets(path, names):
    """The full-mode value of each of ``names`` in a notebook's MyST source: {name: value}.

    A name must be assigned at the start of a line, as
    ``NAME = genai_tf.budget(quick=..., full=...)`` (the full value, a Python
    literal such as ``1500`` or ``None``), ``NAME = <literal>`` or
    ``NAME = recipes.get("key").amount(MODE)`` (the recipe's full amount). A
    trailing ``# comment`` is ignored.

    Raises:
        ValueError: a name has no such line, or its value is none of the three forms.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    values = {}
    for name in names:
        found = re.search(rf"^{re.escape(name)}\s*=(?!=)\s*(?P<value>.+?)\s*(?:#.*)?$", text, re.MULTILINE)
        if found is None:
            raise ValueError(
                f"{path.name} has no line `{name} = genai_tf.budget(quick=..., full=...)` (or `{name} = <value>`) "
                f"in its Parameters cell, and benchmarks/claims.py reads {name} from there. Received: name={name!r}"
            )
        values[name] = budget_value(found["value"], name, path.name)
    return values


def budget_value(expression, name, source):
    """The full-mode value of one assignment's right-hand side (see :func:`read_budgets`)."""
    call, amount = _BUDGET_CALL.match(expression), _RECIPE_AMOUNT.match(expression)
    if amount:
        return recipes.get(amount["key"]).amount("full")
    try:
        return ast.literal_eval(call["full"] if call else expression)
    except (ValueError, SyntaxError):
        raise ValueError(
            f"{source}: {name} = {expression} is not genai_tf.budget(quick=..., full=<literal>), a literal or "
            f'recipes.get("key").amount(MODE). Received: {name}={expression!r}'
        ) from None


def notebook_budgets(notebook, names):
    """:func:`read_budgets` of ``notebooks/<notebook>.md``."""
    return read_budgets(NOTEBOOKS / f"{notebook}.md", names)


def scaled(amount, scale):
    """A training budget times ``scale``, rounded, at least 1.

    Example:
    >>> scaled(8000, 0.01), scaled(15, 0.01), scaled(4, 1.0)
    (80, 1, 4)
    """
    return max(1, round(amount * scale))


# --- the comparisons ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the table: figure ``a`` against figure ``b`` of a comparison, and the claim about a - b.

    A seed agrees with the claim when ``a - b op threshold``; when the notebook's entry in
    :data:`genai_tf.claims.CLAIMS` has a claim on ``claim_figure`` with a full-mode threshold,
    that claim's op and threshold are used instead.
    """

    label: str
    a: str
    b: str
    op: str
    threshold: float = 0.0
    fmt: str = "{:.1f}"
    claim_figure: str = ""

    def claim(self, notebook):
        """(op, threshold) of this row's claim: the notebook's full-mode one if listed, else the row's own."""
        from genai_tf import claims

        for claim in claims.CLAIMS.get(notebook, ()):
            if claim.figure == self.claim_figure and claim.than is None and type(claim.full) in (int, float):
                return claim.op, float(claim.full)
        return self.op, float(self.threshold)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """A notebook's headline comparison: its budget (from the recipes and the notebook) and one seed's run.

    ``budget(scale)`` gives the run's sizes (a JSON-ready dict), ``run(budget, seed)`` one seed's
    figures ({name: float}); ``rows`` are the table's :class:`Row` lines.
    """

    notebook: str
    budget: Callable
    run: Callable
    rows: tuple


def held_out_features():
    """(the evaluation classifier, its features of the dataset's held-out images in [-1, 1])."""
    from genai_tf import classifier, datasets

    test_images = datasets.load(DATASET, "test", pixel_range=(-1, 1))[0]
    evaluation = classifier.load_classifier()
    return evaluation, classifier.classifier_features(test_images, evaluation)


def frechet_distance(gan, samples, seed, evaluation, test_features):
    """FD of ``samples`` images of ``gan`` (noise seed 7 + seed) to the held-out features."""
    from genai_tf import classifier, metrics

    images = gan.generate(samples, seed=EVALUATION_SEED + seed)
    return float(metrics.frechet_distance(classifier.classifier_features(images, evaluation), test_features))


def budget_04(scale):
    values = notebook_budgets("04_dcgan", ["DCGAN_STEPS", "N_EVAL"])
    return {"dcgan_steps": scaled(values["DCGAN_STEPS"], scale),
            "mlp_gan_steps": scaled(recipes.get("mlp_gan").amount("full"), scale), "samples": values["N_EVAL"]}


def run_04(budget, seed):
    """Notebook 04: the DCGAN and the MLP GAN, each trained by its recipe; FD to the held-out images."""
    evaluation, test_features = held_out_features()
    figures = {}
    for key, name in (("dcgan", "DCGAN"), ("mlp_gan", "MLP GAN")):
        gan, seconds = recipes.get(key).train(budget[f"{key}_steps"], DATASET, seed=seed)
        figures[f"FD, {name}"] = frechet_distance(gan, budget["samples"], seed, evaluation, test_features)
        figures[f"training seconds, {name}"] = seconds
    return figures


def notebook_function(notebook, name, namespace):
    """The function ``name`` as defined in ``notebooks/<notebook>.md``, run in ``namespace`` (its imports).

    The definition is read from the line ``def name(`` to the next unindented
    line, so the benchmark trains exactly what the notebook defines.

    Raises:
        ValueError: the notebook defines no such function.
    """
    lines = (NOTEBOOKS / f"{notebook}.md").read_text(encoding="utf-8").splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith(f"def {name}(")), None)
    if first is None:
        raise ValueError(f"{notebook}.md defines no function {name}, which benchmarks/claims.py reads from it.")
    last = next((i for i in range(first + 1, len(lines)) if lines[i] and not lines[i][0].isspace()), len(lines))
    namespace = dict(namespace)
    exec("\n".join(lines[first:last]), namespace)
    return namespace[name]


def budget_08(scale):
    values = notebook_budgets("08_vae_latent_space", ["EPOCHS", "TRAIN_SUBSET"])
    return {"epochs": scaled(values["EPOCHS"], scale), "train_subset": values["TRAIN_SUBSET"], "elbo_draws": 5}


def run_08(budget, seed):
    """Notebook 08: the recipe's convolutional VAE and the tutorial's CVAE, same data, epochs and optimizer."""
    import genai_tf
    import keras
    import numpy as np

    from genai_tf import datasets
    from genai_tf.models import VAE

    recipe = recipes.get("conv_vae")
    (x_train,) = recipe.training_data(DATASET)
    if budget["train_subset"] is not None:   # as notebook 08: a random subset (the split is sorted by digit)
        x_train = x_train[np.random.default_rng(0).permutation(len(x_train))[: budget["train_subset"]]]
    x_test = datasets.load(DATASET, "test", pixel_range=(0, 1), binarize=True)[0]
    genai_tf.set_seed(seed)
    conv_vae = recipe.build(seed=seed)
    build_peer_networks = notebook_function("08_vae_latent_space", "build_peer_networks", {"keras": keras})
    peer_encoder, peer_decoder = build_peer_networks()
    models = {"conv VAE": conv_vae, "TF tutorial CVAE": VAE(latent_dim=2, encoder=peer_encoder, decoder=peer_decoder,
                                                              seed=seed)}
    figures = {}
    draws = budget["elbo_draws"]
    for name, model in models.items():
        genai_tf.set_seed(seed)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        start = time.perf_counter()
        recipe.fit(model, (x_train,), budget["epochs"], seed=seed)
        figures[f"training seconds, {name}"] = time.perf_counter() - start
        elbos = [model.elbo(x_test, seed=draws * seed + d).mean() for d in range(draws)]
        figures[f"held-out ELBO, {name}"] = float(np.mean(elbos))
    return figures


TEXT_MODELS = (("GRU", "char_gru", "GRU_EPOCHS"), ("Transformer", "char_transformer", "TRANSFORMER_EPOCHS"))


def text_data():
    """(training ids, held-out inputs, held-out targets, vocabulary size) of notebook 09's corpus."""
    from genai_tf import tokens
    from genai_tf.datasets.text import load_text

    train_text, test_text = load_text("train"), load_text("test")
    vocabulary = tokens.CharVocabulary(train_text)
    context = recipes.get("char_gru").context_length
    test_inputs, test_targets = tokens.make_windows(vocabulary.encode(test_text), context)
    return vocabulary.encode(train_text), test_inputs, test_targets, vocabulary.size


def budget_09(scale):
    values = notebook_budgets("09_autoregressive_text", [epochs for _, _, epochs in TEXT_MODELS] + ["NUM_WINDOWS"])
    context = recipes.get("char_gru").context_length
    windows = values["NUM_WINDOWS"]
    if windows is None:   # one pass over the training text, as tokens.random_windows counts it
        windows = (len(text_data()[0]) - 1) // context
    smallest = max(recipes.get(key).batch_size for _, key, _ in TEXT_MODELS)
    budget = {name: values[epochs] for name, _, epochs in TEXT_MODELS}   # epochs; the scale shrinks the windows
    return {"epochs": budget, "windows_per_epoch": max(smallest, round(windows * scale)), "context_length": context}


def run_09(budget, seed):
    """Notebook 09's train(): random windows, the recipe's schedule spanning the run; held-out bits/char."""
    import genai_tf

    from genai_tf import metrics, progress, tokens

    train_ids, test_inputs, test_targets, vocabulary_size = text_data()
    genai_tf.set_seed(seed)   # both built after one seed, GRU first, as in notebook 09
    models = {name: recipes.get(key).build(vocabulary_size) for name, key, _ in TEXT_MODELS}
    figures = {}
    for name, key, _ in TEXT_MODELS:
        recipe, epochs = recipes.get(key), budget["epochs"][name]
        genai_tf.set_seed(seed)
        data = tokens.random_windows(train_ids, budget["context_length"], recipe.batch_size,
                                     num_windows=budget["windows_per_epoch"], seed=seed)
        models[name].compile(optimizer=recipe.make_optimizer(epochs * len(data)))
        start = time.perf_counter()
        models[name].fit(data, epochs=epochs, verbose=0,
                         callbacks=[progress.bar(epochs * len(data), f"{name}, {epochs} epochs, seed {seed}")])
        figures[f"training seconds, {name}"] = time.perf_counter() - start
        figures[f"held-out bits/char, {name}"] = metrics.nats_to_bits(models[name].mean_nll(test_inputs, test_targets))
    return figures


NOTEBOOK_12 = "12_adversarial_examples_and_augmentation"


def budget_12_adversarial(scale):
    values = notebook_budgets(NOTEBOOK_12, ["MLP_EPOCHS", "N_ATTACKED", "EPSILON", "PGD_STEPS"])
    return {"mlp_epochs": scaled(values["MLP_EPOCHS"], scale), "attacked": values["N_ATTACKED"],
            "epsilon": values["EPSILON"], "pgd_steps": values["PGD_STEPS"]}


def build_mlp():
    """Notebook 12's fragile classifier: two Dense layers of 256 on the flattened image, 10 logits."""
    import keras

    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(256, activation="relu"), keras.layers.Dense(256, activation="relu"),
                             keras.layers.Dense(10)], name="mlp_classifier")


def run_12_adversarial(budget, seed):
    """Notebook 12: the MLP trained normally and adversarially (FGSM at 1.25 eps); PGD accuracy at eps."""
    import genai_tf
    import numpy as np

    from genai_tf import adversarial, datasets, progress
    from genai_tf.classifier import compile_classifier

    train_images, train_labels = datasets.load(DATASET, "train", pixel_range=(-1, 1))
    test_images, test_labels = datasets.load(DATASET, "test", pixel_range=(-1, 1))
    count, epsilon, epochs = budget["attacked"], budget["epsilon"], budget["mlp_epochs"]
    attacked = (np.random.default_rng(0).choice(len(test_images), count, replace=False) if count < len(test_images)
                else np.arange(len(test_images)))
    figures = {}
    for name in ("standard", "adversarially trained"):
        genai_tf.set_seed(seed)
        mlp = build_mlp()
        trainer = mlp if name == "standard" else adversarial.AdversarialTraining(mlp, epsilon=2 * epsilon, seed=seed)
        batches = epochs * math.ceil(len(train_images) / 64)
        compile_classifier(trainer, batches, learning_rate=1e-3)
        start = time.perf_counter()
        trainer.fit(train_images, train_labels, batch_size=64, epochs=epochs, shuffle=True, verbose=0,
                    callbacks=[progress.bar(batches, f"{name} MLP, seed {seed}", unit="batch")])
        figures[f"training seconds, {name}"] = time.perf_counter() - start
        figures[f"PGD accuracy, {name}"] = adversarial.robust_accuracy(
            mlp, test_images[attacked], test_labels[attacked], adversarial.pgd, epsilon=2 * epsilon,
            steps=budget["pgd_steps"], seed=seed)
    return figures


def budget_12_diffaugment(scale):
    names = ["GAN_STEPS", "EVAL_EVERY", "N_GAN_SAMPLES", "GAN_WIDTH", "GAN_TRAIN_IMAGES", "POLICY"]
    values = notebook_budgets(NOTEBOOK_12, names)
    every = scaled(values["EVAL_EVERY"], scale)   # the notebook fits in pieces of EVAL_EVERY steps
    return {"steps": every * max(1, scaled(values["GAN_STEPS"], scale) // every), "fit_every": every,
            "samples": values["N_GAN_SAMPLES"], "width": values["GAN_WIDTH"],
            "train_images": values["GAN_TRAIN_IMAGES"], "policy": values["POLICY"]}


def run_12_diffaugment(budget, seed):
    """Notebook 12: the small-data DCGAN without and with DiffAugment; FD and the discriminator's gap."""
    import genai_tf
    import numpy as np
    import tensorflow as tf

    from genai_tf import datasets, progress
    from genai_tf.models import DCGAN

    train_images = datasets.load(DATASET, "train", pixel_range=(-1, 1))[0]
    test_images = datasets.load(DATASET, "test", pixel_range=(-1, 1))[0]
    rows = np.sort(np.random.default_rng(0).choice(len(train_images), budget["train_images"], replace=False))
    gan_images = train_images[rows]   # the notebook's images: the seed changes the run, not the data
    evaluation, test_features = held_out_features()
    figures = {}
    for name, policy in (("no augmentation", None), ("DiffAugment", budget["policy"])):
        genai_tf.set_seed(seed)
        gan = DCGAN(latent_dim=100, width=budget["width"], dropout=0.0, diff_augment=policy, seed=seed)
        gan.compile()
        batches = datasets.make_dataset(gan_images, batch_size=64, seed=seed, repeat=True)
        start, every = time.perf_counter(), budget["fit_every"]
        with progress.bar(budget["steps"], f"DCGAN, {name}, seed {seed}") as bar:
            for _ in range(budget["steps"] // every):
                history = gan.fit(batches, epochs=1, steps_per_epoch=every, shuffle=False, verbose=0).history
                bar.update(every, **{key: values[-1] for key, values in history.items()})
        figures[f"training seconds, {name}"] = time.perf_counter() - start
        figures[f"FD, {name}"] = frechet_distance(gan, budget["samples"], seed, evaluation, test_features)
        mean_d = lambda images: float(np.mean(tf.sigmoid(gan.discriminator(images, training=False))))  # noqa: E731
        figures[f"D gap, {name}"] = mean_d(gan_images) - mean_d(test_images)
    return figures


COMPARISONS = {
    "04_dcgan": Comparison("04_dcgan", budget_04, run_04, (
        Row("FD to held-out images (lower is better)", "FD, DCGAN", "FD, MLP GAN", "<"),)),
    "08_vae": Comparison("08_vae_latent_space", budget_08, run_08, (
        Row("held-out ELBO, nats (higher is better)", "held-out ELBO, conv VAE", "held-out ELBO, TF tutorial CVAE",
            ">=", 10.0, claim_figure="ELBO margin over the tutorial's architecture (nats)"),)),
    "09_text": Comparison("09_autoregressive_text", budget_09, run_09, (
        Row("held-out bits/char (lower is better)", "held-out bits/char, Transformer", "held-out bits/char, GRU", "<",
            fmt="{:.3f}"),)),
    "12_adversarial": Comparison(NOTEBOOK_12, budget_12_adversarial, run_12_adversarial, (
        Row("PGD accuracy at eps 0.1 (higher is better)", "PGD accuracy, adversarially trained",
            "PGD accuracy, standard", ">", 0.20, fmt="{:.3f}",
            claim_figure="MLP, PGD accuracy gain at eps = 0.1 from adversarial training (seed 0)"),)),
    "12_diffaugment": Comparison(NOTEBOOK_12, budget_12_diffaugment, run_12_diffaugment, (
        Row("FD to held-out images (lower is better)", "FD, DiffAugment", "FD, no augmentation", ">"),
        Row("D(x) train minus held-out (overfitting)", "D gap, DiffAugment", "D gap, no augmentation", "<",
            fmt="{:+.4f}"))),
}


# --- statistics and the table ---------------------------------------------------------------


def mean_sd(values):
    """(mean, sample standard deviation with n - 1) of ``values``; the sd is None for fewer than 2.

    Example:
    >>> mean_sd([1.0, 2.0, 6.0])
    (3.0, 2.6457513110645907)
    """
    values = [float(v) for v in values]
    if not values:
        raise ValueError(f"values must hold at least one number. Received: values={values!r}")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def row_summary(row, seeds, op, threshold):
    """One row over ``seeds`` ({seed: figures}): per-seed a, b, a - b, their (mean, sd), and how many agree."""
    from genai_tf.claims import OPERATORS

    usable = lambda value: isinstance(value, (int, float)) and math.isfinite(value)  # noqa: E731 (None: diverged)
    kept = sorted(int(seed) for seed, got in seeds.items() if usable(got.get(row.a)) and usable(got.get(row.b)))
    a = [seeds[str(seed)][row.a] for seed in kept]
    b = [seeds[str(seed)][row.b] for seed in kept]
    difference = [x - y for x, y in zip(a, b)]
    summary = {"seeds": kept, "a": a, "b": b, "difference": difference,
               "agree": sum(bool(OPERATORS[op](d, threshold)) for d in difference)}
    for name, values in (("a", a), ("b", b), ("difference", difference)):
        summary[f"{name}_mean_sd"] = mean_sd(values) if values else (math.nan, None)
    return summary


def plus_minus(mean_and_sd, fmt):
    """'61.4 ± 2.1' ('61.4 ± -' for one seed)."""
    mean, sd = mean_and_sd
    return f"{fmt.format(mean)} ± {'-' if sd is None else fmt.format(sd)}"


TABLE_HEADER = ("comparison", "seeds", "A mean ± sd", "B mean ± sd", "A - B mean ± sd", "claim", "agree")


def table_rows(record, names):
    """Per row of the comparisons ``names`` in ``record``: (its cells under :data:`TABLE_HEADER`, its per-seed line)."""
    for name in names:
        comparison = COMPARISONS[name]
        entry = record["comparisons"].get(name, {"seeds": {}})
        seeds = {seed: stored["figures"] for seed, stored in entry["seeds"].items()
                 if stored["budget"] == entry.get("budget", stored["budget"])}   # a stale budget's seeds are left out
        for row in comparison.rows:
            op, threshold = row.claim(comparison.notebook)
            summary = row_summary(row, seeds, op, threshold)
            count = len(summary["seeds"])
            cells = (f"{name}: {row.label}", str(count), plus_minus(summary["a_mean_sd"], row.fmt),
                     plus_minus(summary["b_mean_sd"], row.fmt), plus_minus(summary["difference_mean_sd"], row.fmt),
                     f"A - B {op} {threshold:g}", f"{summary['agree']}/{count}")
            values = "; ".join(f"seed {seed}: {row.fmt.format(x)}, {row.fmt.format(y)}, {row.fmt.format(x - y)}"
                               for seed, x, y in zip(summary["seeds"], summary["a"], summary["b"]))
            yield cells, f"{name}: A = {row.a}, B = {row.b}; per seed (A, B, A - B): {values or 'none yet'}"


def table(record, names):
    """The final table of the comparisons ``names`` in ``record``, then every seed's values; a string."""
    rows = list(table_rows(record, names))
    lines, details = [cells for cells, _ in rows], [detail for _, detail in rows]
    widths = [max(len(cells[i]) for cells in [TABLE_HEADER] + lines) for i in range(len(TABLE_HEADER))]
    text = [" | ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()
            for cells in [TABLE_HEADER] + lines]
    text.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(text + [""] + details)


def markdown_table(record, names=None):
    """The table of :func:`table` as Markdown lines (the README's), every comparison in ``record`` by default."""
    names = [name for name in COMPARISONS if name in record["comparisons"]] if names is None else names
    rows = list(table_rows(record, names))
    cell = lambda text: text.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|" + "---|" * len(TABLE_HEADER)]
    lines += ["| " + " | ".join(cell(c) for c in cells) + " |" for cells, _ in rows]
    return lines + [""] + [f"- {cell(detail)}" for _, detail in rows]


# --- the record and the runs ----------------------------------------------------------------


def default_out(scale):
    """outputs/benchmarks/claims.json at scale 1, claims_scale<F>.json at any other."""
    name = "claims.json" if scale == 1 else f"claims_scale{scale:g}.json"
    return config.outputs_dir("benchmarks") / name


def load_record(path, scale):
    """The record in ``path``, or a new one; a record written at another scale is refused.

    Raises:
        ValueError: naming --scale, the file's scale and this run's.
    """
    path = Path(path)
    if not path.exists():
        return {"scale": scale, "comparisons": {}}
    record = records.read_json(path, what="claims record")
    if record.get("scale") != scale:
        raise ValueError(
            f"--scale {scale:g} does not match the record {path}, written at --scale {record.get('scale')}: a record "
            f"never mixes scales. Pass --scale {record.get('scale')} or --out another file. Received: --scale {scale:g}"
        )
    return record


def json_ready(value):
    """``value`` as the record stores it: tuples as lists, floats rounded to 6 digits, NaN and inf as None."""
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return round(float(value), 6) if math.isfinite(float(value)) else None


def run_seed(comparison, budget, seed):
    """Run one seed of a comparison: its record entry (figures, budget, seconds, matmul GFLOP/s around it)."""
    before, start = matmul_gflops(), time.perf_counter()
    figures = comparison.run(budget, seed)
    seconds, after = time.perf_counter() - start, matmul_gflops()
    return json_ready({
        "figures": figures, "budget": budget, "seconds": round(seconds, 1), "matmul_gflops_before": round(before, 1),
        "matmul_gflops_after": round(after, 1), "machine": machine.description(),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")})


def run(names, seeds, scale, out, force=False):
    """Run every missing seed of each comparison in ``names``, writing ``out`` after each; returns the record.

    A seed in the record with the current budget is skipped unless ``force``;
    one recorded with another budget (the notebook's changed) is run again
    and replaces it.
    """
    record = load_record(out, scale)
    for name in names:
        comparison = COMPARISONS[name]
        budget = json_ready(comparison.budget(scale))
        entry = record["comparisons"].setdefault(name, {"notebook": comparison.notebook, "seeds": {}})
        entry["budget"] = budget   # the table counts the seeds of this budget only
        for seed in seeds:
            stored = entry["seeds"].get(str(seed))
            if stored is not None and stored["budget"] == budget and not force:
                print(f"{name}, seed {seed}: in the record ({stored['seconds']:.0f} s), not run again", flush=True)
                continue
            if stored is not None and stored["budget"] != budget:
                print(f"{name}, seed {seed}: recorded with budget {stored['budget']}, now {budget}: run again")
            print(f"{name}, seed {seed}: running, budget {budget}", flush=True)
            entry["seeds"][str(seed)] = run_seed(comparison, budget, seed)
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            records.write_json(out, record)
            done = entry["seeds"][str(seed)]
            print(f"{name}, seed {seed}: {done['seconds']:.0f} s, matmul {done['matmul_gflops_before']} -> "
                  f"{done['matmul_gflops_after']} GFLOP/s; " + ", ".join(
                      f"{key} {value:.4g}" for key, value in done["figures"].items() if value is not None), flush=True)
    return record


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comparisons", nargs="+", default=list(COMPARISONS), choices=list(COMPARISONS),
                        help="the comparisons to run (default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds to run (default: 0 1 2)")
    parser.add_argument("--force", action="store_true", help="run again the seeds already in the record")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every training budget by this (at least 1 step or epoch), for a smoke run")
    parser.add_argument("--out", type=Path, default=None,
                        help="the JSON record (default outputs/benchmarks/claims.json; claims_scale<F>.json if F != 1)")
    args = parser.parse_args(argv)
    if not (args.scale > 0 and math.isfinite(args.scale)):
        parser.error(f"--scale must be a positive number. Received: --scale {args.scale}")
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f"--seeds must not repeat a seed. Received: --seeds {' '.join(map(str, args.seeds))}")
    return args


def main(argv=None):
    args = parse_args(argv)
    out = args.out or default_out(args.scale)
    config.quiet_tensorflow()
    print(f"comparisons {', '.join(args.comparisons)}; seeds {args.seeds}; scale {args.scale:g}; record {out}")
    try:
        load_record(out, args.scale)   # refuse a record of another scale before any training
    except ValueError as err:
        raise SystemExit(str(err)) from None
    record = run(args.comparisons, args.seeds, args.scale, out, args.force)
    print()
    print(table(record, args.comparisons))


if __name__ == "__main__":
    main()
