"""Data loading for every model family: images, text and chorales, split by one helper.

- :mod:`genai_tf.datasets.images`: the image datasets (``load``,
  ``make_dataset``) and the 2-D toy data (``ring_of_gaussians``), re-exported
  here, so ``datasets.load("mnist_sample", pixel_range=(-1, 1))`` works;
- :mod:`genai_tf.datasets.text`: the pydoc-topics corpus (``load_text``);
- :mod:`genai_tf.datasets.chorales`: the Bach chorale melodies (``load_chorales``);
- :mod:`genai_tf.datasets.splits`: every train / held-out split, with one seed.
"""

from genai_tf.datasets.images import (
    DATASETS,
    SPLITS,
    TEST_SIZES,
    TFDS_DATASETS,
    DatasetNotFoundError,
    load,
    make_dataset,
    ring_of_gaussians,
)
from genai_tf.datasets.splits import SPLIT_SEED, one_per_class, stratified_split

__all__ = [
    "DATASETS",
    "SPLITS",
    "SPLIT_SEED",
    "TEST_SIZES",
    "TFDS_DATASETS",
    "DatasetNotFoundError",
    "load",
    "make_dataset",
    "one_per_class",
    "ring_of_gaussians",
    "stratified_split",
]
