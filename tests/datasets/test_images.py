"""Tests of genai_tf.datasets.images: offline loaders, the fixed split, tf.data pipelines, the 2-D toy data."""

import math
import os

import numpy as np
import pytest
import tensorflow as tf

from genai_tf import datasets
from genai_tf.datasets import images as data
from genai_tf.datasets.splits import stratified_split


@pytest.fixture(scope="module")
def mnist_sample():
    """The three splits of the embedded MNIST sample in [-1, 1], loaded once."""
    return {split: data.load("mnist_sample", split, pixel_range=(-1, 1)) for split in data.SPLITS}


def row_set(images):
    return {image.tobytes() for image in images}


def test_the_package_re_exports_the_image_api():
    for name in ("load", "make_dataset", "ring_of_gaussians", "DatasetNotFoundError", "DATASETS", "SPLITS"):
        assert getattr(datasets, name) is getattr(data, name)
    assert data.DATASETS == ("mnist_sample", "digits", "mnist", "fashion_mnist")
    assert data.TEST_SIZES == {"mnist_sample": 500, "digits": 300}


# --- mnist_sample ----------------------------------------------------------------------------


@pytest.mark.parametrize(("split", "n"), [("train", 4500), ("test", 500), ("all", 5000)])
def test_mnist_sample_shapes_dtypes_and_range(mnist_sample, split, n):
    images, labels = mnist_sample[split]
    assert images.shape == (n, 28, 28, 1)
    assert images.dtype == np.float32
    assert labels.shape == (n,)
    assert labels.dtype == np.int32
    assert float(images.min()) == -1.0
    assert float(images.max()) == 1.0
    # Exactly n / 10 images of every digit: 450 / 50 / 500.
    assert np.bincount(labels, minlength=10).tolist() == [n // 10] * 10


def test_mnist_sample_train_and_test_partition_all(mnist_sample):
    train_images, train_labels = mnist_sample["train"]
    test_images, test_labels = mnist_sample["test"]
    all_images, all_labels = mnist_sample["all"]
    train_index, test_index = stratified_split(all_labels, test_size=500)
    assert np.intersect1d(train_index, test_index).size == 0
    np.testing.assert_array_equal(np.union1d(train_index, test_index), np.arange(5000))
    np.testing.assert_array_equal(train_images, all_images[train_index])
    np.testing.assert_array_equal(test_images, all_images[test_index])
    np.testing.assert_array_equal(train_labels, all_labels[train_index])
    np.testing.assert_array_equal(test_labels, all_labels[test_index])
    # The same by content: no test image is a training image, and together they are "all".
    train_rows, test_rows = row_set(train_images), row_set(test_images)
    assert not train_rows & test_rows
    assert train_rows | test_rows == row_set(all_images)


def test_mnist_sample_split_is_fixed(mnist_sample):
    """The split never changes: a second load is identical, and the first test indices are pinned."""
    images, labels = data.load("mnist_sample", "test", pixel_range=(-1, 1))
    np.testing.assert_array_equal(images, mnist_sample["test"][0])
    np.testing.assert_array_equal(labels, mnist_sample["test"][1])
    _, test_index = stratified_split(mnist_sample["all"][1], test_size=500)
    assert test_index[:10].tolist() == [7, 31, 34, 40, 55, 59, 72, 73, 117, 121]


def test_pixel_range_is_an_affine_map():
    # (0, 1) images u map to low + (high - low) u: to -1 + 2 u in (-1, 1), to 3 + 2 u in (3, 5).
    unit, labels = data.load("digits", "test", pixel_range=(0, 1))
    assert float(unit.min()) == 0.0 and float(unit.max()) == 1.0
    signed, signed_labels = data.load("digits", "test", pixel_range=(-1, 1))
    shifted, _ = data.load("digits", "test", pixel_range=(3, 5))
    np.testing.assert_allclose(signed, 2 * unit - 1, atol=1e-6)
    np.testing.assert_allclose(shifted, 3 + 2 * unit, atol=1e-6)
    np.testing.assert_array_equal(labels, signed_labels)


def test_binarize_gives_zero_or_one():
    images, _ = data.load("mnist_sample", "test", pixel_range=(0, 1), binarize=True)
    assert images.dtype == np.float32
    assert np.unique(images).tolist() == [0.0, 1.0]


def test_binarize_thresholds_at_one_half():
    # digits intensities are k / 16: k >= 8 becomes high, k <= 7 becomes low.
    grey, _ = data.load("digits", "test", pixel_range=(0, 1))
    binary, _ = data.load("digits", "test", pixel_range=(-1, 1), binarize=True)
    assert np.unique(binary).tolist() == [-1.0, 1.0]
    np.testing.assert_array_equal(binary == 1.0, grey >= 0.5)


# --- digits ----------------------------------------------------------------------------------


def test_digits_split_sizes_and_stratification():
    train_images, train_labels = data.load("digits", "train", pixel_range=(0, 1))
    test_images, test_labels = data.load("digits", "test", pixel_range=(0, 1))
    all_images, all_labels = data.load("digits", "all", pixel_range=(0, 1))
    # 1,797 images, TEST_SIZES["digits"] = 300 of them held out: 1,497 + 300.
    assert train_images.shape == (1497, 8, 8, 1)
    assert test_images.shape == (300, 8, 8, 1)
    assert all_images.shape == (1797, 8, 8, 1)
    assert float(all_images.min()) == 0.0 and float(all_images.max()) == 1.0
    all_counts = np.bincount(all_labels, minlength=10)
    test_counts = np.bincount(test_labels, minlength=10)
    np.testing.assert_array_equal(np.bincount(train_labels, minlength=10) + test_counts, all_counts)
    # Stratified: each class gets its share of the 300 test images, to within one image.
    np.testing.assert_array_less(np.abs(test_counts - 300 * all_counts / 1797), 1.0 + 1e-9)
    assert not row_set(train_images) & row_set(test_images)


# --- Argument errors -------------------------------------------------------------------------


def test_unknown_name_lists_every_valid_name():
    with pytest.raises(ValueError) as info:
        data.load("cifar10", pixel_range=(0, 1))
    message = str(info.value)
    assert "cifar10" in message
    for name in ("mnist_sample", "digits", "mnist", "fashion_mnist"):
        assert name in message


def test_unknown_split():
    with pytest.raises(ValueError, match=r"split must be one of 'train', 'test', 'all'\. Received: split='validation'"):
        data.load("digits", "validation", pixel_range=(0, 1))


@pytest.mark.parametrize(
    "pixel_range",
    [
        (1, 0), (0, 0), (0.5,), (0, 1, 2), 1.0, None, ("a", "b"),
        # Not finite, or not finite as float32 (the images' type), so every pixel would be NaN or inf.
        (-math.inf, math.inf), (0, math.inf), (math.nan, 1), (0, math.nan), (-1e308, 1e308), (0, 1e39),
        (-3e38, 3e38), (0, 10**400),
        # Equal once rounded to float32.
        (0, 1e-50),
        # Text and bools are not numbers, even when float() would take them.
        ("0", "1"), "01", (False, True),
    ],
)
def test_bad_pixel_range(pixel_range):
    expected = (
        "pixel_range must be a pair of finite numbers (low, high) with low < high, e.g. (-1, 1) for a tanh "
        f"generator or (0, 1) for a Bernoulli decoder. Received: pixel_range={pixel_range!r}"
    )
    with pytest.raises(ValueError) as info:
        data.load("digits", "test", pixel_range=pixel_range)
    assert str(info.value) == expected


def test_pixel_range_takes_numpy_numbers_and_arrays():
    unit, _ = data.load("digits", "test", pixel_range=(0, 1))
    for pixel_range in (np.array([-1, 1]), (np.float32(-1), np.int64(1)), [-1.0, 1]):
        images, _ = data.load("digits", "test", pixel_range=pixel_range)
        np.testing.assert_array_equal(images, (2 * unit - 1).astype(np.float32))
    # The widest float32 range still maps 0 and 1 to finite ends.
    wide, _ = data.load("digits", "test", pixel_range=(-1e38, 1e38))
    assert float(wide.min()) == np.float32(-1e38) and float(wide.max()) == np.float32(1e38)


# --- tensorflow-datasets, offline ------------------------------------------------------------


def write_mnist_metadata(data_dir, num_examples):
    """Write tfds metadata for mnist with `num_examples` per split into data_dir/mnist/<version>.

    `tfds.testing.mock_data` alone knows no split sizes, and tfds then batches a
    `batch_size=-1` load by `sys.maxsize`, which aborts the process in
    TensorFlow 2.21. With the metadata it batches by the recorded size.
    """
    import tensorflow_datasets as tfds

    builder = tfds.builder("mnist", data_dir=os.fspath(data_dir))
    builder.info.set_splits(
        tfds.core.SplitDict(
            [
                tfds.core.SplitInfo(name=split, shard_lengths=[num_examples], num_bytes=0)
                for split in ("train", "test")
            ]
        )
    )
    os.makedirs(builder.data_dir, exist_ok=True)
    builder.info.write_to_directory(builder.data_dir)


def test_tfds_mnist_with_mock_data(tmp_path):
    import tensorflow_datasets as tfds

    write_mnist_metadata(tmp_path, num_examples=6)
    with tfds.testing.mock_data(num_examples=6, data_dir=os.fspath(tmp_path)):
        images, labels = data.load("mnist", "train", pixel_range=(0, 1), data_dir=tmp_path)
        both, both_labels = data.load("mnist", "all", pixel_range=(-1, 1), data_dir=tmp_path)
    assert images.shape == (6, 28, 28, 1)
    assert images.dtype == np.float32
    assert labels.shape == (6,) and labels.dtype == np.int32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert set(labels.tolist()) <= set(range(10))
    # "all" concatenates train and test (the mock yields the same examples for both).
    assert both.shape == (12, 28, 28, 1) and both_labels.shape == (12,)
    assert both.min() >= -1.0 and both.max() <= 1.0
    np.testing.assert_allclose(both[:6], 2 * images - 1, atol=1e-6)


def test_tfds_missing_dataset_raises_a_helpful_error(tmp_path):
    with pytest.raises(data.DatasetNotFoundError) as info:
        data.load("fashion_mnist", "train", pixel_range=(0, 1), data_dir=tmp_path)
    message = str(info.value)
    assert "TFDS_DATA_DIR" in message
    assert "mnist_sample" in message
    assert "fashion_mnist" in message
    assert isinstance(info.value, FileNotFoundError)


# --- make_dataset ----------------------------------------------------------------------------


def test_make_dataset_batch_shapes_with_labels():
    images = np.zeros((10, 4, 4, 1), np.float32)
    labels = np.arange(10, dtype=np.int32)
    batches = list(data.make_dataset(images, labels, batch_size=4))
    assert len(batches) == 2  # floor(10 / 4)
    for batch_images, batch_labels in batches:
        assert batch_images.shape == (4, 4, 4, 1)
        assert batch_labels.shape == (4,)


@pytest.mark.parametrize(("drop_remainder", "sizes"), [(True, [4, 4]), (False, [4, 4, 2])])
def test_make_dataset_drop_remainder(drop_remainder, sizes):
    # 10 examples in batches of 4: 10 = 4 + 4 + 2.
    images = np.arange(10, dtype=np.float32)[:, None]
    dataset = data.make_dataset(images, batch_size=4, drop_remainder=drop_remainder)
    assert [int(batch.shape[0]) for batch in dataset] == sizes


def test_make_dataset_without_shuffle_keeps_order_and_labels_aligned():
    images = np.arange(6, dtype=np.float32)[:, None]
    labels = np.arange(6, dtype=np.int32) * 10
    batches = list(data.make_dataset(images, labels, batch_size=3, shuffle=False, prefetch=False))
    np.testing.assert_array_equal(batches[0][0].numpy()[:, 0], [0, 1, 2])
    np.testing.assert_array_equal(batches[1][1].numpy(), [30, 40, 50])


def test_make_dataset_shuffled_labels_stay_with_their_images():
    images = np.arange(100, dtype=np.float32)[:, None]
    labels = 2 * np.arange(100, dtype=np.int32)
    for batch_images, batch_labels in data.make_dataset(images, labels, batch_size=16):
        np.testing.assert_array_equal(2 * batch_images.numpy()[:, 0].astype(np.int32), batch_labels.numpy())


def test_make_dataset_seed_is_reproducible():
    images = np.arange(100, dtype=np.float32)[:, None]
    first = next(iter(data.make_dataset(images, batch_size=8, seed=5))).numpy()
    again = next(iter(data.make_dataset(images, batch_size=8, seed=5))).numpy()
    other = next(iter(data.make_dataset(images, batch_size=8, seed=6))).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first[:, 0], np.arange(8))  # it was shuffled


def test_make_dataset_repeat():
    images = np.arange(10, dtype=np.float32)[:, None]
    dataset = data.make_dataset(images, batch_size=4, repeat=True)
    assert len(list(dataset.take(7))) == 7
    assert isinstance(dataset, tf.data.Dataset)


def test_make_dataset_rejects_mismatched_labels():
    with pytest.raises(ValueError, match=r"len\(images\)=10, len\(labels\)=9"):
        data.make_dataset(np.zeros((10, 2)), np.zeros(9), batch_size=2)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "4", None])
def test_make_dataset_rejects_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=f"batch_size must be a positive integer. Received: batch_size={batch_size!r}"):
        data.make_dataset(np.zeros((10, 2)), batch_size=batch_size)


def test_make_dataset_rejects_a_batch_larger_than_the_data_when_dropping():
    with pytest.raises(ValueError, match="batch_size=11"):
        data.make_dataset(np.zeros((10, 2)), batch_size=11)
    # Without drop_remainder it is one short batch.
    batches = list(data.make_dataset(np.zeros((10, 2)), batch_size=11, drop_remainder=False))
    assert [int(b.shape[0]) for b in batches] == [10]


# --- ring_of_gaussians -----------------------------------------------------------------------


def test_ring_of_gaussians_centers_on_the_circle():
    samples, centers = data.ring_of_gaussians(10, n_modes=8, radius=3.0)
    assert samples.shape == (10, 2) and samples.dtype == np.float32
    assert centers.shape == (8, 2) and centers.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 3.0, rtol=1e-6)
    # Evenly spaced: angles 0, 45, ..., 315 degrees, the first at (3, 0).
    angles = np.mod(np.arctan2(centers[:, 1], centers[:, 0]), 2 * np.pi)
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-6)
    np.testing.assert_allclose(centers[0], [3.0, 0.0], atol=1e-6)


def test_ring_of_gaussians_modes_have_the_given_std():
    n, n_modes, std = 16_000, 8, 0.05
    samples, centers = data.ring_of_gaussians(n, n_modes=n_modes, radius=2.0, std=std, seed=1)
    nearest = np.linalg.norm(samples[:, None] - centers[None], axis=-1).argmin(axis=1)
    counts = np.bincount(nearest, minlength=n_modes)
    # Equal weights: each count is Binomial(n, 1/8), mean 2000, sd 41.8.
    np.testing.assert_array_less(np.abs(counts - n / n_modes), 5 * math.sqrt(n * (1 / 8) * (7 / 8)))
    for k in range(n_modes):
        deviations = samples[nearest == k] - centers[k]
        # About 4,000 values per mode: the standard error of the std is std / sqrt(2 * 4000) ~ 1.1 %.
        assert deviations.std() == pytest.approx(std, rel=0.06)
        np.testing.assert_array_less(np.abs(deviations.mean(axis=0)), 5 * std / math.sqrt(counts[k]))


def test_ring_of_gaussians_is_seeded():
    first, centers = data.ring_of_gaussians(50, seed=3)
    again, _ = data.ring_of_gaussians(50, seed=3)
    np.testing.assert_array_equal(first, again)
    other, other_centers = data.ring_of_gaussians(50, seed=4)
    np.testing.assert_array_equal(other_centers, centers)   # the seed draws the samples, not the modes
    # Another seed, other samples: they differ everywhere, and also in which modes they were drawn from.
    assert np.all(np.any(other != first, axis=1))
    nearest = [np.linalg.norm(x[:, None] - centers[None], axis=-1).argmin(axis=1) for x in (first, other)]
    assert np.mean(nearest[0] != nearest[1]) > 0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_modes": 0}, "n_modes=0"),
        ({"n_modes": 2.5}, "n_modes=2.5"),
        ({"std": -0.1}, "std=-0.1"),
        ({"radius": 0.0}, "radius=0.0"),
        ({"n": -1}, "n=-1"),
    ],
)
def test_ring_of_gaussians_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=f"Received: {message}"):
        data.ring_of_gaussians(**{"n": 10, **kwargs})


def test_ring_of_gaussians_with_zero_std_sits_on_the_centers():
    samples, centers = data.ring_of_gaussians(40, n_modes=4, radius=1.0, std=0)
    distances = np.linalg.norm(samples[:, None] - centers[None], axis=-1).min(axis=1)
    np.testing.assert_allclose(distances, 0.0, atol=1e-6)
