"""Tests of genai_tf.classifier: the evaluation classifier, its cache, and the inputs it gives the metrics."""

import json
import os
import re
import warnings
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import genai_tf.classifier as classifier_module
from genai_tf import datasets, metrics
from genai_tf.classifier import (
    build_classifier,
    classifier_features,
    classifier_probabilities,
    held_out_accuracy,
    load_classifier,
    predict_classes,
)

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
@pytest.mark.parametrize("function", [predict_classes, classifier_probabilities, classifier_features])
def test_classifier_inputs_reject_bad_shapes(untrained, shape, function):
    # The message names the expected shape, the shape received, and how to fix the usual mistakes.
    expected = r"\(batch_size, 28, 28, 1\)\. Received: images.shape=" + re.escape(str(shape))
    with pytest.raises(ValueError, match=expected + r".*images\[\.\.\., None\].*reshape\(-1, 28, 28, 1\)"):
        function(np.zeros(shape, np.float32), untrained)


def test_predict_classes_rejects_bad_ranges(untrained):
    images, _ = datasets.load("mnist_sample", "test", pixel_range=(0, 255))
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


def test_classifier_features_have_the_penultimate_width():
    classifier = build_classifier()
    images = np.random.default_rng(0).uniform(-1, 1, (5, 28, 28, 1)).astype("float32")
    features = classifier_features(images, classifier, batch_size=2)
    assert features.shape == (5, 128) and features.dtype == np.float64
    # They are the input of the last layer: through its kernel and bias they give the classifier's logits.
    kernel, bias = (w.astype(np.float64) for w in classifier.layers[-1].get_weights())
    np.testing.assert_allclose(features @ kernel + bias, classifier(images, training=False), rtol=1e-4, atol=1e-5)
    # No images give no features, still 128 wide; a tensor gives the same features as an array.
    assert classifier_features(images[:0], classifier).shape == (0, 128)
    from_tensor = classifier_features(tf.constant(images), classifier, batch_size=5)
    np.testing.assert_allclose(from_tensor, features, rtol=1e-4, atol=1e-6)


def test_classifier_features_check_every_image_and_the_batch_size(untrained):
    # A bad pixel in the last image (not only in the first) is refused.
    images = np.zeros((3, 28, 28, 1), np.float32)
    images[2, 5, 5, 0] = 255.0
    with pytest.raises(ValueError, match=r"must be in \[-1, 1\].*images.max\(\)=255"):
        classifier_features(images, untrained)
    images[2, 5, 5, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf in 1 pixels"):
        classifier_features(images, untrained)
    with pytest.raises(ValueError, match="batch_size=0"):
        classifier_features(np.zeros((2, 28, 28, 1)), untrained, batch_size=0)


def test_classifier_probabilities_are_the_softmax_of_the_labels():
    classifier = build_classifier()
    images = np.random.default_rng(0).uniform(-1, 1, (5, 28, 28, 1)).astype("float32")
    probabilities = classifier_probabilities(images, classifier, batch_size=2)
    assert probabilities.shape == (5, 10) and probabilities.dtype == np.float64
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), predict_classes(images, classifier))
    logits = np.asarray(classifier(images, training=False), np.float64)
    np.testing.assert_allclose(probabilities, np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), rtol=1e-5)
    with pytest.raises(ValueError, match="must be in"):
        classifier_probabilities(images * 255, classifier)


def test_classifier_probabilities_stay_finite_for_huge_logits():
    # Logits of +-28,000 overflow a naive exp(); the shifted softmax gives exactly one-hot rows.
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    kernel = np.zeros((784, 10), np.float32)
    kernel[:, 3] = 1000.0
    model.layers[-1].set_weights([kernel, np.zeros(10, np.float32)])
    probabilities = classifier_probabilities(np.full((2, 28, 28, 1), 0.036), model)
    np.testing.assert_array_equal(probabilities, np.eye(10)[[3, 3]])
    assert metrics.classifier_inception_score(probabilities) == (1.0, 0.0)


# --- The trained classifier ------------------------------------------------------------------


@pytest.fixture(scope="module")
def test_split():
    return datasets.load("mnist_sample", "test", pixel_range=(-1, 1))


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
    assert metrics.label_agreement(test_labels, predicted) == accuracy
    # Real test digits are 50 per class: the classifier sees all ten classes about equally.
    coverage = metrics.class_coverage(predicted)
    assert coverage["classes_covered"] == 10
    assert coverage["min_fraction"] >= 0.08
    # The record beside the model says what was measured and how it was made.
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["held_out_accuracy"] == pytest.approx(accuracy)
    assert record["train_split"] == "train" and record["held_out_split"] == "test"
    assert record["epochs"] == classifier_module.CLASSIFIER_EPOCHS
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

    def train_classifier(epochs=classifier_module.CLASSIFIER_EPOCHS, seed=0, verbose=0):
        calls.append(epochs)
        record = {"held_out_accuracy": 0.1, "epochs": epochs, "seed": seed, "recipe": classifier_module.CLASSIFIER_RECIPE}
        return build_classifier(augment=False), record

    monkeypatch.setattr(classifier_module, "train_classifier", train_classifier)
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
    assert (tmp_path / "classifier" / classifier_module.CLASSIFIER_FILENAME).exists()
    predict_classes(images)
    assert fake_training == [classifier_module.CLASSIFIER_EPOCHS]


def test_load_classifier_rejects_other_file_types(tmp_path):
    with pytest.raises(ValueError, match="path must end in .keras"):
        load_classifier(tmp_path / "cnn.h5")


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"epochs": 0}, "epochs=0"), ({"epochs": 2.0}, "epochs=2.0"), ({"seed": -1}, "seed=-1")]
)
def test_load_classifier_rejects_bad_epochs_and_seed_before_touching_the_cache(tmp_path, fake_training, kwargs, match):
    path = tmp_path / "cnn.keras"
    load_classifier(path, epochs=1)
    before = path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # refused at once: no "retraining" warning, no training
        with pytest.raises(ValueError, match=match):
            load_classifier(path, **{"epochs": 1, **kwargs})
    assert fake_training == [1] and path.read_bytes() == before


@pytest.mark.parametrize(("kwargs", "match"), [({"epochs": 0}, "epochs=0"), ({"seed": -2}, "seed=-2")])
def test_train_classifier_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        classifier_module.train_classifier(**kwargs)


def test_save_classifier_writes_the_model_and_its_record_in_the_cache_format(tmp_path, fake_training):
    path = tmp_path / "cnn.keras"
    record = {"held_out_accuracy": 0.5, "epochs": 3, "seed": 1, "recipe": classifier_module.CLASSIFIER_RECIPE}
    model = build_classifier(augment=False)
    classifier_module.save_classifier(model, record, path)
    assert classifier_module.record_path(path) == tmp_path / "cnn.json"
    # The record's text is what earlier versions wrote, so caches made by them stay valid.
    assert (tmp_path / "cnn.json").read_text() == json.dumps(record, indent=2) + "\n"
    for saved, in_memory in zip(keras.saving.load_model(path).get_weights(), model.get_weights()):
        np.testing.assert_array_equal(saved, in_memory)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnn.json", "cnn.keras"]
    # The cache written is the one load_classifier reads back without retraining.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reloaded = load_classifier(path, epochs=3, seed=1)
    assert fake_training == [] and len(reloaded.get_weights()) == len(model.get_weights())
    # A record JSON cannot hold (NaN) is refused before anything changes: the old cache stays whole.
    before = path.read_bytes(), (tmp_path / "cnn.json").read_text()
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        classifier_module.save_classifier(build_classifier(), {**record, "held_out_accuracy": float("nan")}, path)
    assert (path.read_bytes(), (tmp_path / "cnn.json").read_text()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnn.json", "cnn.keras"]


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
    assert classifier_module.compile_classifier(model, 100, learning_rate=1e-3) is model
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.Adam)
    for step, expected in ((0, 1e-3), (50, 0.5e-3), (100, 0.0), (25, 1e-3 * (1 + np.cos(np.pi / 4)) / 2), (150, 0.0)):
        optimizer.iterations.assign(step)   # the rate the optimizer would use at this step
        assert float(optimizer.learning_rate) == pytest.approx(expected, abs=1e-9), step
    logits = np.array([[2.0] + [0.0] * 9], np.float32)
    assert float(model.loss(np.array([0]), logits)) == pytest.approx(-np.log(np.exp(2.0) / (np.exp(2.0) + 9)), rel=1e-5)
    with pytest.raises(ValueError, match="steps must be a positive integer. Received: steps=0"):
        classifier_module.compile_classifier(model, 0)
    with pytest.raises(ValueError, match="steps=2.5"):
        classifier_module.compile_classifier(model, 2.5)
    with pytest.raises(ValueError, match="learning_rate=0.0"):
        classifier_module.compile_classifier(model, 10, learning_rate=0.0)


def test_score_samples_of_the_reference_itself(evaluation_classifier, test_split):
    classifier, _ = evaluation_classifier
    images, _ = test_split
    real = classifier_features(images, classifier)
    scores = classifier_module.score_samples(images, real, classifier, subset_size=500)
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
    real = classifier_features(images, classifier)
    assert np.all(np.diff(labels) >= 0)   # the held-out split is sorted by class: its first rows are 0s and 1s
    draw = np.random.default_rng(1).choice(len(images), 100, replace=False)
    fake = classifier_features(images[draw], classifier)
    scores = classifier_module.score_samples(images[draw], real, classifier, subset_size=100, seed=2)
    # 100 real images against the reference: a random 100 of its 500 rows, every class; the first 100 would be
    # only the digits 0 and 1, and most of the sample would fall outside their manifold.
    first_rows_precision, _ = metrics.precision_recall(real[:100], fake)
    assert scores["precision"] > 0.8 and scores["recall"] > 0.8
    assert first_rows_precision < scores["precision"] - 0.3
    again = classifier_module.score_samples(images[draw], real, classifier, subset_size=100, seed=2)
    assert again["precision"] == scores["precision"] and again["recall"] == scores["recall"]   # seeded


def test_score_samples_sees_a_collapsed_generator(evaluation_classifier, test_split):
    classifier, _ = evaluation_classifier
    images, labels = test_split
    real = classifier_features(images, classifier)
    ones = images[labels == 1]
    collapsed = ones[np.arange(500) % len(ones)]   # only the digit 1, repeated
    scores = classifier_module.score_samples(collapsed, real, classifier, subset_size=500)
    assert scores["classes_covered"] <= 4 and scores["min_fraction"] == 0.0   # the 1s, and a few misread ones
    assert scores["inception_score"] < 1.5
    assert scores["recall"] < 0.3 and scores["precision"] > 0.9   # real-looking, not diverse
    assert scores["fd"] == pytest.approx(metrics.frechet_distance(classifier_features(collapsed, classifier), real))
    assert scores["fd"] > 100 and scores["kid"] > 1.0
