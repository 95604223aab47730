"""The image models of notebooks 03-08 in one place: their recipes, where they are saved, how to sample them.

Notebook 11 ranks every image model of the curriculum. It needs each one
trained: :func:`load_or_train` loads the model a notebook saved with
:func:`save` (``outputs/<notebook>/<mode>/<key>.keras`` and a JSON record of
how it was trained) and otherwise trains it here with the notebook's recipe
(:func:`build`, :func:`train`) for the number of steps or epochs asked for,
then saves it under the asking notebook's outputs for next time.

Each entry's recipe is the one of its notebook: the same architecture,
optimizer, batch size, data and seed. Only the training length is a
parameter, in the notebook's own unit: steps (generator updates) for the
GANs, epochs for the VAEs.

Example:
>>> sorted(ENTRIES)
['conditional_gan', 'conv_vae', 'dcgan', 'mlp_gan', 'mlp_vae', 'wgan_gp']
>>> ENTRIES["dcgan"].notebook, ENTRIES["dcgan"].unit, ENTRIES["dcgan"].full_budget
('04_dcgan', 'steps', 8000)
"""

import dataclasses
import json
import time

import keras
import numpy as np

from genai_tf import config, data
from genai_tf.models.base import check_positive_int


@dataclasses.dataclass(frozen=True)
class ZooEntry:
    """One trained image model of the curriculum.

    Attributes:
        key: short name, also the saved file's stem (``<key>.keras``).
        title: name in tables.
        notebook: the notebook that trains it (and saves it with :func:`save`).
        kind: "gan" (``generate`` gives images in [-1, 1]) or "vae"
            (``sample`` gives Bernoulli means in [0, 1]).
        unit: "steps" (GANs: generator updates) or "epochs" (VAEs).
        full_budget: the notebook's full-mode training length, in ``unit``.
        batch_size: the notebook's batch size.
    """

    key: str
    title: str
    notebook: str
    kind: str
    unit: str
    full_budget: int
    batch_size: int


ENTRIES = {
    entry.key: entry
    for entry in (
        ZooEntry("mlp_gan", "MLP GAN", "03_gan_mnist", "gan", "steps", 8000, 64),
        ZooEntry("dcgan", "DCGAN", "04_dcgan", "gan", "steps", 8000, 64),
        ZooEntry("conditional_gan", "conditional DCGAN", "05_conditional_gan", "gan", "steps", 8000, 64),
        ZooEntry("wgan_gp", "WGAN-GP", "06_wgan_gp", "gan", "steps", 2000, 64),
        ZooEntry("mlp_vae", "MLP VAE", "07_vae_elbo", "vae", "epochs", 30, 128),
        ZooEntry("conv_vae", "convolutional VAE", "08_vae_latent_space", "vae", "epochs", 15, 128),
    )
}


def entry(key):
    """The :class:`ZooEntry` of ``key``, with an error that lists the keys."""
    if key not in ENTRIES:
        raise ValueError(f"Unknown model {key!r}. Known models: {', '.join(sorted(ENTRIES))}")
    return ENTRIES[key]


def build(key, latent_dim=None, seed=0):
    """A new, compiled model with its notebook's architecture and optimizer.

    Args:
        key: a key of :data:`ENTRIES`.
        latent_dim: size of z, > 0; None is the notebook's (100 for the GANs, 16 for the VAEs).
        seed: seed of the model's training noise (the notebooks use 0).
    """
    from genai_tf.models import DCGAN, GAN, VAE, WGANGP, ConditionalGAN

    entry(key)
    if latent_dim is None:
        latent_dim = 16 if ENTRIES[key].kind == "vae" else 100
    if key == "mlp_gan":
        model = GAN(latent_dim=latent_dim, seed=seed)
    elif key == "dcgan":
        model = DCGAN(latent_dim=latent_dim, seed=seed)
    elif key == "conditional_gan":
        model = ConditionalGAN(latent_dim=latent_dim, num_classes=10, seed=seed)
    elif key == "wgan_gp":
        model = WGANGP(latent_dim=latent_dim, n_critic=5, gp_weight=10.0, seed=seed)
    elif key == "mlp_vae":
        model = VAE(latent_dim=latent_dim, architecture="mlp", likelihood="bernoulli", hidden_units=(512, 256), seed=seed)
    else:
        model = VAE(latent_dim=latent_dim, architecture="conv", seed=seed)
    if ENTRIES[key].kind == "vae":
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
    else:
        model.compile()  # each GAN's default optimizers are its notebook's
    return model


def training_data(key, dataset="mnist_sample"):
    """The training split in the range and form the model trains on: (images,) or (images, labels)."""
    if entry(key).kind == "vae":
        return (data.load(dataset, "train", pixel_range=(0, 1), binarize=True)[0],)
    images, labels = data.load(dataset, "train", pixel_range=(-1, 1))
    return (images, labels) if key == "conditional_gan" else (images,)


def train(key, amount, dataset="mnist_sample", model=None):
    """Train a model with its notebook's recipe for ``amount`` steps (GANs) or epochs (VAEs).

    Args:
        key: a key of :data:`ENTRIES`.
        amount: positive int, in the entry's ``unit``.
        dataset: a name :func:`genai_tf.data.load` knows.
        model: continue training this model instead of a new :func:`build`.

    Returns:
        (model, seconds of training).
    """
    amount = check_positive_int(amount, "amount")
    spec = entry(key)
    model = build(key) if model is None else model
    arrays = training_data(key, dataset)
    config.set_seed(0)
    start = time.perf_counter()
    if spec.kind == "vae":
        model.fit(arrays[0], batch_size=spec.batch_size, epochs=amount, shuffle=True, verbose=0)
    else:
        batches = data.make_dataset(*arrays, batch_size=spec.batch_size, seed=0, repeat=True)
        model.fit(batches, epochs=1, steps_per_epoch=amount, shuffle=False, verbose=0)  # batches are shuffled
    return model, time.perf_counter() - start


def saved_path(key, mode, notebook=None):
    """Where ``notebook`` (default: the entry's own) saves the model in ``mode``: a ``.keras`` path.

    Nothing is created: :func:`save` makes the folder.
    """
    return config.outputs_dir() / (notebook or entry(key).notebook) / mode / f"{key}.keras"


def save(model, key, mode, amount, seconds, dataset="mnist_sample", notebook=None):
    """Save a trained model and a JSON record of its training beside it; returns the ``.keras`` path.

    The record ({"key", "notebook", "mode", "dataset", "amount", "unit",
    "seconds"}) lets :func:`load` say how long the model trained and refuse a
    model trained on other data.
    """
    spec = entry(key)
    path = saved_path(key, mode, notebook)
    record = dict(
        key=key,
        notebook=notebook or spec.notebook,
        mode=mode,
        dataset=dataset,
        amount=int(amount),
        unit=spec.unit,
        seconds=round(float(seconds), 1),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    path.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return path


def load(key, mode, dataset="mnist_sample", notebook=None):
    """Load a model saved by :func:`save`: (model, record), or (None, reason) when there is none to use.

    A file without its JSON record, or one trained on another dataset, is
    not used (the reason says which).
    """
    path = saved_path(key, mode, notebook)
    record_path = path.with_suffix(".json")
    if not path.exists():
        return None, f"no saved model at outputs/{path.parent.parent.name}/{mode}/{path.name}"
    if not record_path.exists():
        return None, f"outputs/{path.parent.parent.name}/{mode}/{path.name} has no training record"
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if record.get("dataset") != dataset:
        return None, f"the saved {key} was trained on {record.get('dataset')!r}, not {dataset!r}"
    return keras.models.load_model(path), record


def load_or_train(key, amount, mode, dataset="mnist_sample", cache_notebook=None, verbose=True):
    """The model its notebook saved in ``mode`` if there is one; else one trained here for ``amount``.

    Looks for the notebook's own save first, then for a save by
    ``cache_notebook`` (the asking notebook, e.g. "11_evaluating_generative_models"),
    where a model trained here is saved so a re-run does not train it again.

    Returns:
        (model, record): the record as written by :func:`save`, plus
        "source": "loaded" or "trained".
    """
    spec = entry(key)
    model, record = load(key, mode, dataset)
    reasons = [] if model is not None else [record]
    if model is None and cache_notebook:
        model, record = load(key, mode, dataset, notebook=cache_notebook)
        reasons += [] if model is not None else [record]
    if model is not None:
        if verbose:
            print(f"{spec.title}: loaded (saved by {record['notebook']}, {record['amount']} {record['unit']})")
        return model, {**record, "source": "loaded"}
    model, seconds = train(key, amount, dataset)
    notebook = cache_notebook or spec.notebook
    save(model, key, mode, amount, seconds, dataset, notebook=notebook)
    if verbose:
        print(f"{spec.title}: trained here for {amount} {spec.unit} in {seconds:.0f} s ({reasons[0]})")
    record = dict(key=key, notebook=notebook, mode=mode, dataset=dataset, amount=int(amount), unit=spec.unit)
    return model, {**record, "seconds": round(seconds, 1), "source": "trained"}


def sample(model, key, n, seed=0):
    """``n`` images from a zoo model, in [-1, 1] (the classifier's range).

    GANs give ``generate``'s images (a conditional GAN cycles through the
    labels 0-9, so the classes are balanced by construction); VAEs give the
    Bernoulli means of ``sample`` rescaled from [0, 1].
    """
    n = check_positive_int(n, "n")
    if entry(key).kind == "vae":
        return 2.0 * np.asarray(model.sample(n, seed=seed)) - 1.0
    return np.asarray(model.generate(n, seed=seed))

