"""The train / held-out splits of every dataset, made in one place with one seed.

Two kinds of split, both the same on every machine and every library version:

- :func:`stratified_split` splits labelled examples (the image datasets) so
  that every class keeps its share of the held-out set.
- :func:`hashed_split` splits named items (pydoc topics, chorales) by the
  SHA-256 of ``"{seed}:{name}"``: no random-number generator is involved, so
  neither Python nor NumPy can change the split, and an item's side does not
  depend on which other items are listed.

The seeds are fixed forever: changing one would move examples between the
training and the held-out sets and invalidate every stored figure.
"""

import hashlib
import math

import numpy as np

from genai_tf.validation import float_in, positive_int

SPLIT_SEED = 20140610  # fixed: the train / held-out splits must never change
# The pydoc topics were first split with this key, before the splits were gathered here; it stays so
# that the eight held-out topics (and notebook 09's held-out figures) do not change.
TOPIC_SPLIT_SEED = "genai-tf"
HELD_OUT_FRACTION = 0.1


def stratified_split(labels, test_size, seed=SPLIT_SEED):
    """Indices of a class-stratified train/test split, the same on every machine.

    Args:
        labels: int array of shape (N,).
        test_size: positive int, the number of test examples, divided among
            the classes in proportion to their sizes.
        seed: the split's seed.

    Returns:
        (train_indices, test_indices), sorted int arrays that partition range(N).

    Example:
    >>> labels = np.repeat(np.arange(2), 10)
    >>> train, test = stratified_split(labels, test_size=4)
    >>> len(train), len(test), np.bincount(labels[test]).tolist()
    (16, 4, [2, 2])
    """
    from sklearn.model_selection import train_test_split

    test_size = positive_int(test_size, "test_size")
    indices = np.arange(len(labels))
    train, test = train_test_split(
        indices, test_size=test_size, stratify=labels, random_state=seed, shuffle=True
    )
    return np.sort(train), np.sort(test)


def hashed_order(names, seed=SPLIT_SEED):
    """A fixed pseudo-random order of names: sorted by the SHA-256 of ``"{seed}:{name}"``.

    Args:
        names: strings.
        seed: the order's seed (an int or a str; only its text matters).

    Returns:
        A new list of the names.

    Example:
    >>> hashed_order(["a", "b", "c", "d"], seed=0)
    ['d', 'a', 'c', 'b']
    """
    return sorted(names, key=lambda name: hashlib.sha256(f"{seed}:{name}".encode()).hexdigest())


def held_out_count(held_out_fraction, total):
    """How many of ``total`` items a split holds out: ``ceil(held_out_fraction * total)``.

    Rounding up holds out at least one item whenever there is one. The
    product is rounded to 9 decimals first, so that 0.1 * 350 is 35, not 36.

    Example:
    >>> held_out_count(0.1, 79), held_out_count(0.1, 350), held_out_count(0.1, 5)
    (8, 35, 1)
    """
    held_out_fraction = float_in(held_out_fraction, 0.0, 1.0, "held_out_fraction", include_high=False)
    return math.ceil(round(held_out_fraction * total, 9))


def hashed_split(names, held_out_fraction=HELD_OUT_FRACTION, seed=SPLIT_SEED):
    """A fixed train / held-out split of named items, both parts in :func:`hashed_order`.

    The names (duplicates dropped) are put in :func:`hashed_order` and the
    first :func:`held_out_count` of them are held out. Within each part the
    names keep that order, so a prefix of either part is a random sample.

    Args:
        names: strings.
        held_out_fraction: in (0, 1).
        seed: the split's seed.

    Returns:
        (train_names, test_names), two disjoint lists.

    Example:
    >>> train, test = hashed_split([f"c{i}" for i in range(20)])
    >>> len(train), len(test), set(train) & set(test)
    (18, 2, set())
    """
    ordered = hashed_order(dict.fromkeys(names), seed)
    n_test = held_out_count(held_out_fraction, len(ordered))
    return ordered[n_test:], ordered[:n_test]


def one_per_class(labels, per_class=1):
    """Indices of the first ``per_class`` examples of each class, in class order.

    For figures that must show varied examples: the first rows of a
    class-sorted split are all one class.

    Args:
        labels: 1-D integer array of class labels.
        per_class: positive int, examples taken from each class.

    Returns:
        An int64 array: class 0's indices first, then class 1's, and so on
        (classes in ascending order, each class's indices ascending).

    Raises:
        ValueError: ``labels`` not 1-D, a bad ``per_class``, or a class with
            fewer than ``per_class`` examples.

    Example:
    >>> one_per_class(np.array([0, 0, 1, 2, 1, 2]), per_class=2).tolist()
    [0, 1, 2, 4, 3, 5]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D array of class labels. Received: labels with shape {labels.shape}")
    per_class = positive_int(per_class, "per_class")
    picked = []
    for label in np.unique(labels):
        where = np.flatnonzero(labels == label)
        if len(where) < per_class:
            raise ValueError(f"per_class={per_class}, but class {label} has only {len(where)} examples.")
        picked.append(where[:per_class])
    return np.concatenate(picked).astype(np.int64)
