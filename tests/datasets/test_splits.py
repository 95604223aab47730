"""Tests of genai_tf.datasets.splits: every split of the package, pinned to the splits made before the merge.

The expected members, sizes and hashes below were computed from the code
before the split helpers were gathered in one module (``data.stratified_split``,
``text.split_topics``, ``music.split_names``); they must never change.
"""

import hashlib

import numpy as np
import pytest

from genai_tf.datasets import chorales, images, splits, text


def names_hash(names):
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def indices_hash(indices):
    return hashlib.sha256(np.asarray(indices, np.int64).tobytes()).hexdigest()[:16]


# --- the splits made before the merge, pinned ------------------------------------------------


def test_one_seed_and_fraction():
    assert splits.SPLIT_SEED == 20140610
    assert splits.TOPIC_SPLIT_SEED == "genai-tf"
    assert splits.HELD_OUT_FRACTION == 0.1


@pytest.mark.parametrize(
    ("name", "test_size", "train_hash", "test_hash", "first_test"),
    [
        ("mnist_sample", 500, "8b69362946514dfb", "e8529537e541bd34", [7, 31, 34, 40, 55, 59, 72, 73]),
        ("digits", 300, "b8353ac355355c94", "212ad49913e1cdff", [2, 4, 6, 9, 18, 24, 31, 35]),
    ],
)
def test_the_image_splits_are_unchanged(name, test_size, train_hash, test_hash, first_test):
    _, labels = images.load(name, "all", pixel_range=(0, 1))
    train, test = splits.stratified_split(labels, test_size)
    assert (len(train), len(test)) == (len(labels) - test_size, test_size)
    assert test[:8].tolist() == first_test
    assert (indices_hash(train), indices_hash(test)) == (train_hash, test_hash)


def test_the_topic_split_is_unchanged():
    train, test = text.split_topics()
    assert (len(train), len(test)) == (71, 8)   # ceil(0.1 * 79) = 8 held out
    assert test == [
        "assignment", "augassign", "bltin-code-objects", "exprlists",
        "id-classes", "subscriptions", "typesmapping", "typesseq",
    ]
    assert names_hash(train) == "a57647680f4952d6"


def test_the_chorale_split_is_unchanged():
    train, test = chorales.split_names()
    assert (len(train), len(test)) == (315, 35)
    assert test[:4] == ["bach/bwv29.8", "bach/bwv293", "bach/bwv399", "bach/bwv250"]
    assert train[:2] == ["bach/bwv108.6", "bach/bwv177.4"]
    assert (names_hash(train), names_hash(test)) == ("2bd2c274239c1517", "0642562d2008f988")
    # The order of "all": the held-out chorales first, in the split's order.
    every = splits.hashed_order(train + test)
    assert names_hash(every) == "4895b4146452d65b" and every[:35] == test


# --- the helpers -----------------------------------------------------------------------------


def test_hashed_order_is_the_sha256_of_seed_and_name():
    names = ["a", "b", "c", "d"]
    keys = {name: hashlib.sha256(f"0:{name}".encode()).hexdigest() for name in names}
    assert splits.hashed_order(names, seed=0) == sorted(names, key=keys.get) == ["d", "a", "c", "b"]
    # Only the text of the seed matters, and the order of the input does not.
    assert splits.hashed_order(names[::-1], seed="0") == ["d", "a", "c", "b"]
    assert splits.hashed_order(names, seed=1) != splits.hashed_order(names, seed=0)


@pytest.mark.parametrize(
    ("fraction", "total", "expected"),
    [(0.1, 79, 8), (0.1, 350, 35), (0.1, 20, 2), (0.1, 5, 1), (0.5, 3, 2), (0.3, 10, 3), (0.7, 10, 7)],
)
def test_held_out_count_rounds_up(fraction, total, expected):
    # 0.3 * 10 and 0.7 * 10 are 3.0000000000000004 and 7.000000000000001 in floating point: still 3 and 7.
    assert splits.held_out_count(fraction, total) == expected


def test_hashed_split_is_disjoint_ordered_and_stable():
    names = [f"item{i}" for i in range(50)]
    train, test = splits.hashed_split(names, 0.2, seed=7)
    assert (len(train), len(test)) == (40, 10)
    assert test + train == splits.hashed_order(names, seed=7)
    assert splits.hashed_split(names[::-1] + names[:5], 0.2, seed=7) == (train, test)   # order, duplicates
    # An item's place depends on its own hash only: with more items listed, the original items held
    # out are still a prefix of their own order.
    _, more_test = splits.hashed_split(names + [f"extra{i}" for i in range(50)], 0.2, seed=7)
    kept = [name for name in more_test if name in set(names)]
    assert 0 < len(kept) < 20 and kept == splits.hashed_order(names, seed=7)[: len(kept)]


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, float("nan"), "0.1", None])
def test_bad_fractions_are_refused(fraction):
    with pytest.raises(ValueError, match=r"held_out_fraction must be in \(0.0, 1.0\)\. Received: held_out_fraction="):
        splits.hashed_split(["a", "b"], fraction)
    with pytest.raises(ValueError, match="held_out_fraction"):
        text.split_topics(fraction)


@pytest.mark.parametrize("test_size", [0, -1, 2.5, None])
def test_stratified_split_refuses_a_bad_test_size(test_size):
    with pytest.raises(ValueError, match=f"test_size must be a positive integer. Received: test_size={test_size}"):
        splits.stratified_split(np.repeat(np.arange(2), 10), test_size)


def test_one_per_class_takes_the_first_examples_of_each_class_in_class_order():
    import numpy as np

    from genai_tf import datasets

    labels = np.array([3, 0, 0, 1, 3, 1, 0])
    assert datasets.one_per_class(labels).tolist() == [1, 3, 0]
    assert datasets.one_per_class(labels, per_class=2).tolist() == [1, 2, 3, 5, 0, 4]
    sorted_labels = np.repeat(np.arange(10), 50)   # a class-sorted split: its first rows are all zeros
    assert sorted_labels[datasets.one_per_class(sorted_labels)].tolist() == list(range(10))


def test_one_per_class_names_a_class_with_too_few_examples_and_bad_labels():
    import numpy as np
    import pytest

    from genai_tf import datasets

    with pytest.raises(ValueError, match="per_class=3, but class 1 has only 1 examples"):
        datasets.one_per_class(np.array([0, 0, 0, 1]), per_class=3)
    with pytest.raises(ValueError, match=r"labels must be a 1-D array of class labels. Received: labels with shape \(2, 2\)"):
        datasets.one_per_class(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="per_class"):
        datasets.one_per_class(np.array([0]), per_class=0)
