"""Tests of the evaluation classifier and the label metrics in genai_tf.metrics."""

import json
import os
import re
import warnings
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf import data, metrics
from genai_tf.metrics import (
    build_classifier,
    class_coverage,
    held_out_accuracy,
    label_agreement,
    load_classifier,
    predict_classes,
)

# --- class_coverage --------------------------------------------------------------------------

# Ten samples: class 0 once, class 1 twice, class 3 three times, class 7 four times.
LABELS = np.array([3, 3, 3, 1, 1, 0, 7, 7, 7, 7])


def test_class_coverage_hand_example():
    result = class_coverage(LABELS)
    assert result["histogram"].tolist() == [1, 2, 0, 3, 0, 0, 0, 4, 0, 0]
    np.testing.assert_allclose(result["fractions"], [0.1, 0.2, 0, 0.3, 0, 0, 0, 0.4, 0, 0])
    assert result["min_fraction"] == 0.0
    assert result["classes_covered"] == 4
    assert isinstance(result["classes_covered"], int) and isinstance(result["min_fraction"], float)


@pytest.mark.parametrize(
    ("min_share", "covered"),
    [
        (0.0, 4),  # at least one sample
        (1.0, 4),  # fair share 10 / 10 = 1 sample: class 0 has exactly 1, on the edge, and counts
        (1.5, 3),  # needs 1.5: classes 1, 3, 7
        (2.5, 2),  # needs 2.5: classes 3, 7
        (3.5, 1),  # needs 3.5: class 7
        (4.5, 0),
    ],
)
def test_class_coverage_min_share(min_share, covered):
    assert class_coverage(LABELS, min_share=min_share)["classes_covered"] == covered


def test_class_coverage_uniform_and_collapsed():
    uniform = class_coverage(np.repeat(np.arange(10), 5))
    assert uniform["histogram"].tolist() == [5] * 10
    assert uniform["min_fraction"] == pytest.approx(0.1)
    assert uniform["classes_covered"] == 10
    collapsed = class_coverage(np.full(64, 4), num_classes=5)
    assert collapsed["histogram"].tolist() == [0, 0, 0, 0, 64]
    assert collapsed["classes_covered"] == 1
    # Whole-number floats, lists and tensors are accepted.
    assert class_coverage(tf.constant([0.0, 2.0, 2.0]), num_classes=3)["histogram"].tolist() == [1, 0, 2]


@pytest.mark.parametrize(
    ("labels", "kwargs", "match"),
    [
        (np.zeros(0, int), {}, "empty"),
        (np.zeros((2, 5), int), {}, r"predicted_labels.shape=\(2, 5\)"),
        ([0, 1, 10], {}, r"0\.\.9.*label 10"),
        ([0, -1], {}, "label -1"),
        ([0, 3], {"num_classes": 3}, "label 3"),
        ([0.0, 1.5], {}, "dtype=float64"),
        ([0, 1], {"num_classes": 0}, "num_classes=0"),
        ([0, 1], {"num_classes": 2.0}, "num_classes=2.0"),
        ([0, 1], {"min_share": -0.5}, "min_share=-0.5"),
    ],
)
def test_class_coverage_rejects_bad_arguments(labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        class_coverage(labels, **kwargs)


# --- label_agreement -------------------------------------------------------------------------


def test_label_agreement_hand_examples():
    # Agree on positions 0, 1, 2 of 5.
    assert label_agreement([0, 1, 2, 3, 4], [0, 1, 2, 2, 9]) == pytest.approx(0.6)
    assert label_agreement(LABELS, LABELS) == 1.0
    assert label_agreement(LABELS, (LABELS + 1) % 10) == 0.0
    assert label_agreement(np.array([5]), tf.constant([5])) == 1.0
    assert isinstance(label_agreement([1], [1]), float)


def test_label_agreement_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"len\(requested_labels\)=3, len\(predicted_labels\)=2"):
        label_agreement([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        label_agreement([], [])
    with pytest.raises(ValueError, match=r"requested_labels.shape=\(2, 2\)"):
        label_agreement([[0, 1], [1, 0]], [0, 1])


# --- predict_classes on stand-in models ------------------------------------------------------


@pytest.fixture(scope="module")
def untrained():
    return build_classifier()


def row_classifier():
    """A linear model whose logit k sums the pixels of row 2k: it reads the label off the image."""
    kernel = np.zeros((28, 28, 10), np.float32)
    for k in range(10):
        kernel[2 * k, :, k] = 1.0
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.layers[-1].set_weights([kernel.reshape(784, 10), np.zeros(10, np.float32)])
    return model


def test_predict_classes_reads_labels_in_batches():
    labels = np.arange(13) * 7 % 10
    # Background -1, row 2 * label at +1: logit 28 for the label, -28 for every other class.
    images = -np.ones((13, 28, 28, 1), np.float32)
    images[np.arange(13), 2 * labels] = 1.0
    for batch_size in (5, 13, 500):
        predicted = predict_classes(images, row_classifier(), batch_size=batch_size)
        assert predicted.dtype == np.int32
        assert predicted.tolist() == labels.tolist()
    # A tensor works, and no images give no labels.
    assert predict_classes(tf.constant(images[:2]), row_classifier()).tolist() == labels[:2].tolist()
    assert predict_classes(images[:0], row_classifier()).shape == (0,)


def random_linear_classifier(seed=0):
    """Flatten -> Dense(10) with random weights: unlike an untrained CNN, its argmax varies from image to image."""
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=(784, 10)).astype(np.float32), rng.normal(size=10).astype(np.float32)])
    return model


def test_predict_classes_is_the_argmax_of_the_logits_in_any_batch_size():
    model = random_linear_classifier()
    images = np.random.default_rng(1).uniform(-1, 1, (7, 28, 28, 1)).astype(np.float32)
    expected = np.argmax(images.reshape(7, 784) @ model.layers[-1].kernel.numpy() + model.layers[-1].bias.numpy(), axis=-1)
    assert len(set(expected.tolist())) >= 5   # the check below can tell one label from another
    for batch_size in (3, 7):
        predicted = predict_classes(images, model, batch_size=batch_size)
        assert predicted.dtype == np.int32 and predicted.tolist() == expected.tolist()
    # A small overshoot from a linear output layer is accepted.
    overshoot = np.stack([np.full((28, 28, 1), 1.05), np.full((28, 28, 1), -1.05)]).astype(np.float32)
    assert predict_classes(overshoot, model).tolist() == np.argmax(model(overshoot), axis=-1).tolist()


@pytest.mark.parametrize(
    "shape", [(4, 784), (4, 28, 28), (4, 28, 28, 3), (4, 1, 28, 28), (28, 28, 1), (4, 32, 32, 1)]
)
def test_predict_classes_rejects_bad_shapes(untrained, shape):
    with pytest.raises(ValueError, match=r"\(N, 28, 28, 1\).*Received: images.shape=" + re.escape(str(shape))):
        predict_classes(np.zeros(shape, np.float32), untrained)


def test_predict_classes_rejects_bad_ranges(untrained):
    images, _ = data.load("mnist_sample", "test", pixel_range=(0, 255))
    with pytest.raises(ValueError, match=r"must be in \[-1, 1\].*images.max\(\)=255"):
        predict_classes(images[:4], untrained)
    with pytest.raises(ValueError, match=r"must be in \[-1, 1\].*images.min\(\)=-3"):
        predict_classes(np.full((2, 28, 28, 1), -3.0), untrained)
    with pytest.raises(ValueError, match=r"must be in \[-1, 1\]"):
        predict_classes(np.full((2, 28, 28, 1), 1.2), untrained)
    nan_images = np.zeros((2, 28, 28, 1))
    nan_images[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf in 1 pixels"):
        predict_classes(nan_images, untrained)


@pytest.mark.parametrize("batch_size", [0, -5, 2.5, True])
def test_predict_classes_rejects_bad_batch_size(untrained, batch_size):
    with pytest.raises(ValueError, match=f"batch_size={batch_size!r}"):
        predict_classes(np.zeros((2, 28, 28, 1)), untrained, batch_size=batch_size)


# --- The trained classifier ------------------------------------------------------------------


@pytest.fixture(scope="module")
def test_split():
    return data.load("mnist_sample", "test", pixel_range=(-1, 1))


def test_trained_classifier_held_out_accuracy(evaluation_classifier, test_split):
    classifier, path = evaluation_classifier
    accuracy = held_out_accuracy(classifier)
    assert accuracy >= 0.97
    test_images, test_labels = test_split
    assert len(test_labels) == 500
    # The same figure from predict_classes in other batch sizes, and from label_agreement.
    for batch_size in (64, 500):
        predicted = predict_classes(test_images, classifier, batch_size=batch_size)
        assert np.mean(predicted == test_labels) == accuracy
    assert label_agreement(test_labels, predicted) == accuracy
    # Real test digits are 50 per class: the classifier sees all ten classes about equally.
    coverage = class_coverage(predicted)
    assert coverage["classes_covered"] == 10
    assert coverage["min_fraction"] >= 0.08
    # The record beside the model says what was measured and how it was made.
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["held_out_accuracy"] == pytest.approx(accuracy)
    assert record["train_split"] == "train" and record["held_out_split"] == "test"
    assert record["epochs"] == metrics.CLASSIFIER_EPOCHS
    assert record["keras_version"].split(".")[0] == keras.__version__.split(".")[0]
    assert record["training_seconds"] > 0


def test_cached_classifier_gives_identical_predictions(evaluation_classifier, test_split):
    classifier, path = evaluation_classifier
    test_images, _ = test_split
    modified = path.stat().st_mtime_ns
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a retrain would warn
        reloaded = load_classifier(path)
    assert path.stat().st_mtime_ns == modified
    # The file holds exactly the weights of the classifier in memory, and load_classifier reads them.
    from_file = keras.saving.load_model(path)
    for weights in (from_file.get_weights(), reloaded.get_weights()):
        assert len(weights) == len(classifier.get_weights())
        for saved, in_memory in zip(weights, classifier.get_weights()):
            np.testing.assert_array_equal(saved, in_memory)
    np.testing.assert_array_equal(predict_classes(test_images, reloaded), predict_classes(test_images, classifier))
    np.testing.assert_allclose(
        reloaded(test_images[:50], training=False), classifier(test_images[:50], training=False), atol=1e-5
    )


def test_augmentation_is_off_at_inference(evaluation_classifier, test_split):
    classifier, _ = evaluation_classifier
    images = test_split[0][:20]
    np.testing.assert_array_equal(classifier(images, training=False), classifier(images, training=False))


# --- The cache: rejected when corrupt or stale, written atomically ----------------------------


@pytest.fixture
def fake_training(monkeypatch):
    """Replace training by an untrained model, so that cache tests take milliseconds; counts calls."""
    calls = []

    def train_classifier(epochs=metrics.CLASSIFIER_EPOCHS, seed=0, verbose=0):
        calls.append(epochs)
        record = {"held_out_accuracy": 0.1, "epochs": epochs, "seed": seed, "recipe": metrics.CLASSIFIER_RECIPE}
        return build_classifier(augment=False), record

    monkeypatch.setattr(metrics, "train_classifier", train_classifier)
    return calls


def rewrite_keras_version(path, version):
    """Rewrite the Keras version inside a .keras zip file, as if another Keras had saved it."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["metadata.json"] = json.dumps({"keras_version": version, "date_saved": "2024-01-01@00:00:00"}).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def test_cache_is_written_then_reused(tmp_path, fake_training):
    path = tmp_path / "cnn.keras"
    first = load_classifier(path, epochs=1)
    assert fake_training == [1]
    assert json.loads((tmp_path / "cnn.json").read_text())["epochs"] == 1
    second = load_classifier(path, epochs=1)
    assert fake_training == [1]
    assert [w.tolist() for w in second.get_weights()] == [w.tolist() for w in first.get_weights()]
    load_classifier(path, epochs=1, retrain=True)
    assert fake_training == [1, 1]
    # Only the model and its record are left: no temporary files.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnn.json", "cnn.keras"]


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated"])
def test_corrupt_cache_is_retrained(tmp_path, fake_training, damage):
    path = tmp_path / "cnn.keras"
    load_classifier(path, epochs=1)
    content = path.read_bytes()
    damaged = {"garbage": os.urandom(2000), "empty": b"", "truncated": content[: len(content) // 2]}[damage]
    path.write_bytes(damaged)
    with pytest.warns(UserWarning, match="Retraining.*unreadable"):
        classifier = load_classifier(path, epochs=1)
    assert fake_training == [1, 1]
    assert classifier.output_shape == (None, 10)
    assert keras.saving.load_model(path).output_shape == (None, 10)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("keras_2", r"saved by Keras 2\.15\.0"),
        ("no_record", "record cnn.json is missing"),
        ("bad_record", "record cnn.json is missing or unreadable"),
        ("other_epochs", "made with.*'epochs': 1"),
        ("other_recipe", "made with.*'recipe': -1"),
    ],
)
def test_stale_cache_is_retrained(tmp_path, fake_training, change, match):
    path, record_path = tmp_path / "cnn.keras", tmp_path / "cnn.json"
    load_classifier(path, epochs=1)
    epochs = 2 if change == "other_epochs" else 1
    if change == "keras_2":
        rewrite_keras_version(path, "2.15.0")
    elif change == "no_record":
        record_path.unlink()
    elif change == "bad_record":
        record_path.write_text("{not json")
    elif change == "other_recipe":
        record_path.write_text(json.dumps({"recipe": -1, "epochs": 1, "seed": 0}))
    with pytest.warns(UserWarning, match=match):
        load_classifier(path, epochs=epochs)
    assert fake_training == [1, epochs]
    # The retrained cache is current again.
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("metadata.json"))["keras_version"] == keras.__version__
    assert json.loads(record_path.read_text())["epochs"] == epochs


def test_interrupted_save_keeps_the_old_cache(tmp_path, monkeypatch, fake_training):
    path = tmp_path / "cnn.keras"
    load_classifier(path, epochs=1)
    before = path.read_bytes(), (tmp_path / "cnn.json").read_text()

    def save_half_then_die(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as file:
            file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "save", save_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        load_classifier(path, epochs=1, retrain=True)
    assert (path.read_bytes(), (tmp_path / "cnn.json").read_text()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnn.json", "cnn.keras"]


def test_default_classifier_is_loaded_once(tmp_path, monkeypatch, fake_training):
    monkeypatch.setenv("GENAI_TF_OUTPUTS", str(tmp_path))
    images = np.zeros((3, 28, 28, 1), np.float32)
    assert predict_classes(images).shape == (3,)
    assert (tmp_path / "classifier" / metrics.CLASSIFIER_FILENAME).exists()
    predict_classes(images)
    assert fake_training == [metrics.CLASSIFIER_EPOCHS]


def test_load_classifier_rejects_other_file_types(tmp_path):
    with pytest.raises(ValueError, match="path must end in .keras"):
        load_classifier(tmp_path / "cnn.h5")


def test_corrupt_cache_is_really_retrained(tmp_path, test_split):
    """End to end, with one epoch (a few seconds): garbage in the cache, a working classifier out."""
    path = tmp_path / "cnn.keras"
    path.write_bytes(os.urandom(5000))
    with pytest.warns(UserWarning, match="unreadable"):
        classifier = load_classifier(path, epochs=1)
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["epochs"] == 1
    # One epoch already reads 90% of the held-out digits on this machine; 80% leaves room elsewhere.
    assert record["held_out_accuracy"] == pytest.approx(held_out_accuracy(classifier))
    assert record["held_out_accuracy"] >= 0.8
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reloaded = load_classifier(path, epochs=1)
    test_images, _ = test_split
    np.testing.assert_array_equal(predict_classes(test_images, reloaded), predict_classes(test_images, classifier))


def test_compile_classifier_decays_the_learning_rate_along_a_half_cosine():
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    assert metrics.compile_classifier(model, 100, learning_rate=1e-3) is model
    rate = model.optimizer._learning_rate
    for step, expected in ((0, 1e-3), (50, 0.5e-3), (100, 0.0), (25, 1e-3 * (1 + np.cos(np.pi / 4)) / 2)):
        assert float(rate(step)) == pytest.approx(expected, abs=1e-9), step
    logits = np.array([[2.0] + [0.0] * 9], np.float32)
    assert float(model.loss(np.array([0]), logits)) == pytest.approx(-np.log(np.exp(2.0) / (np.exp(2.0) + 9)), rel=1e-5)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        metrics.compile_classifier(model, 0)


def test_score_samples_of_the_reference_itself(evaluation_classifier, test_split):
    classifier, _ = evaluation_classifier
    images, _ = test_split
    real = metrics.classifier_features(images, classifier)
    scores = metrics.score_samples(images, real, classifier, subset_size=500)
    assert set(scores) == {"fd", "kid", "kid_std", "inception_score", "precision", "recall",
                           "classes_covered", "min_fraction"}
    assert scores["fd"] == pytest.approx(0.0, abs=1e-6)
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0
    assert scores["classes_covered"] == 10 and scores["min_fraction"] > 0.05
    assert 9.0 < scores["inception_score"] <= 10.0
    assert scores["kid_std"] == pytest.approx(0.0, abs=1e-9)   # one subset holding both whole sets


def test_score_samples_compares_a_small_set_with_every_class_of_a_larger_reference(evaluation_classifier, test_split):
    classifier, _ = evaluation_classifier
    images, labels = test_split
    real = metrics.classifier_features(images, classifier)
    assert np.all(np.diff(labels) >= 0)   # the held-out split is sorted by class: its first rows are 0s and 1s
    draw = np.random.default_rng(1).choice(len(images), 100, replace=False)
    fake = metrics.classifier_features(images[draw], classifier)
    scores = metrics.score_samples(images[draw], real, classifier, subset_size=100, seed=2)
    # 100 real images against the reference: a random 100 of its 500 rows, every class; the first 100 would be
    # only the digits 0 and 1, and most of the sample would fall outside their manifold.
    first_rows_precision, _ = metrics.precision_recall(real[:100], fake)
    assert scores["precision"] > 0.8 and scores["recall"] > 0.8
    assert first_rows_precision < scores["precision"] - 0.3
    again = metrics.score_samples(images[draw], real, classifier, subset_size=100, seed=2)
    assert again["precision"] == scores["precision"] and again["recall"] == scores["recall"]   # seeded


def test_score_samples_sees_a_collapsed_generator(evaluation_classifier, test_split):
    classifier, _ = evaluation_classifier
    images, labels = test_split
    real = metrics.classifier_features(images, classifier)
    ones = images[labels == 1]
    collapsed = ones[np.arange(500) % len(ones)]   # only the digit 1, repeated
    scores = metrics.score_samples(collapsed, real, classifier, subset_size=500)
    assert scores["classes_covered"] <= 4 and scores["min_fraction"] == 0.0   # the 1s, and a few misread ones
    assert scores["inception_score"] < 1.5
    assert scores["recall"] < 0.3 and scores["precision"] > 0.9   # real-looking, not diverse
    assert scores["fd"] == pytest.approx(metrics.frechet_distance(metrics.classifier_features(collapsed, classifier), real))
    assert scores["fd"] > 100 and scores["kid"] > 1.0
