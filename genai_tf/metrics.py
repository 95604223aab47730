"""Evaluation metrics, and the MNIST classifier that scores generated digits.

The classifier (:func:`load_classifier`) is trained once on the 4,500-image
"train" split of ``"mnist_sample"`` and cached in the git-ignored outputs
folder; :func:`predict_classes` labels generated images in [-1, 1], and
:func:`class_coverage` and :func:`label_agreement` summarise those labels.
"""

import json
import math
import os
import time
import warnings
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from genai_tf import config, data


def mode_coverage(samples, centers, std, n_std=3.0, min_share=0.25):
    """How many mixture modes a generator covers, and how many samples are good.

    A sample is *high quality* when it lies within ``n_std`` standard
    deviations of its nearest mode centre. A mode is *covered* when it
    receives at least ``min_share`` of its fair share (N / n_modes) of the
    high-quality samples.

    Args:
        samples: array (N, 2).
        centers: array (n_modes, 2).
        std: standard deviation of each mode, > 0.
        n_std: radius of a mode, in standard deviations.
        min_share: fraction of the fair share a mode needs to count as covered.

    Returns:
        Dict with "modes_covered" (int), "high_quality" (fraction of samples
        in a mode) and "counts" (int array (n_modes,)).

    Example:
    >>> centers = np.array([[0.0, 0.0], [10.0, 0.0]])
    >>> result = mode_coverage(np.zeros((100, 2)), centers, std=1.0)
    >>> result["modes_covered"], result["high_quality"], result["counts"].tolist()
    (1, 1.0, [100, 0])
    """
    samples, centers = np.asarray(samples, dtype=np.float64), np.asarray(centers, dtype=np.float64)
    if samples.ndim != 2 or centers.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(
            "samples and centers must be (N, d) and (n_modes, d). "
            f"Received: samples.shape={samples.shape}, centers.shape={centers.shape}"
        )
    if std <= 0:
        raise ValueError(f"std must be positive. Received: std={std}")
    if len(samples) == 0:
        raise ValueError("samples is empty: coverage needs at least one sample. Received: samples.shape=(0, 2)")
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    close = distances.min(axis=1) <= n_std * std
    counts = np.bincount(nearest[close], minlength=len(centers))
    covered = counts >= min_share * len(samples) / len(centers)
    return {
        "modes_covered": int(covered.sum()),
        "high_quality": float(close.mean()),
        "counts": counts,
    }


# --- The evaluation classifier -------------------------------------------------------------

CLASSIFIER_DATASET = "mnist_sample"
CLASSIFIER_FILENAME = "mnist_sample_cnn.keras"
CLASSIFIER_EPOCHS = 20
CLASSIFIER_BATCH_SIZE = 64
CLASSIFIER_LEARNING_RATE = 2e-3
# Bump when build_classifier or the training recipe changes: older cached models are then retrained.
CLASSIFIER_RECIPE = 1
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
# Generated pixels may overshoot [-1, 1] a little (a linear output layer); more than this is an error.
PIXEL_TOLERANCE = 0.1

# Classifiers loaded in this process, by resolved path, so that predict_classes(images) with
# no classifier reads the file once.
_loaded_classifiers = {}


def build_classifier(augment=True, seed=0):
    """A small CNN for 28x28x1 MNIST digits in [-1, 1], 10 logits out, not compiled.

    Conv(32)-Conv(32)-MaxPool-Conv(64)-Conv(64)-MaxPool-Dropout-Dense(128)-Dropout-Dense(10),
    3x3 valid convolutions with ReLU. With ``augment=True`` (the default) the
    input first passes random shifts of up to 10% and rotations of up to
    ±18 degrees, padded with -1 (the background); Keras applies them only in
    training, so inference sees the images unchanged.

    Args:
        augment: add the random shift and rotation layers.
        seed: seed of the augmentation and dropout layers.

    Returns:
        A ``keras.Sequential`` mapping (batch, 28, 28, 1) images in [-1, 1] to
        (batch, 10) logits, not probabilities.

    Example:
    >>> build_classifier().output_shape
    (None, 10)
    """
    layers = [keras.Input(IMAGE_SHAPE)]
    if augment:
        layers += [
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", fill_value=-1.0, seed=seed),
            keras.layers.RandomRotation(0.05, fill_mode="constant", fill_value=-1.0, seed=seed + 1),
        ]
    layers += [
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Dropout(0.25, seed=seed + 2),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.5, seed=seed + 3),
        keras.layers.Dense(NUM_CLASSES),
    ]
    return keras.Sequential(layers, name="mnist_classifier")


def default_classifier_path():
    """Where :func:`load_classifier` caches the classifier: ``outputs/classifier/mnist_sample_cnn.keras``."""
    return config.outputs_dir("classifier") / CLASSIFIER_FILENAME


def _record_path(path):
    return Path(path).with_suffix(".json")


def train_classifier(epochs=CLASSIFIER_EPOCHS, seed=0, verbose=0):
    """Train :func:`build_classifier` on the "mnist_sample" train split; no caching.

    Calls ``genai_tf.set_seed(seed)`` first, which reseeds Python, NumPy,
    TensorFlow and Keras for the whole process and switches on op
    determinism: the same seed gives the same model on the same machine.
    Adam with a cosine-decayed learning rate from 2e-3, batches of 64. The
    500 test images are used only for the held-out accuracy, never for
    training. About 40-60 s on a 2-core CPU for the default 20 epochs.

    Args:
        epochs: positive int, passes over the 4,500 training images.
        seed: non-negative int.
        verbose: Keras ``fit`` verbosity, 0 for silent.

    Returns:
        (classifier, record): the trained compiled model, and a dict with
        "held_out_accuracy", "epochs", "seed", "training_seconds", the
        Keras and TensorFlow versions and the recipe number.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer. Received: epochs={epochs!r}")
    config.set_seed(seed)
    train_images, train_labels = data.load(CLASSIFIER_DATASET, "train", pixel_range=(-1, 1))
    classifier = build_classifier(seed=seed)
    steps = epochs * math.ceil(len(train_images) / CLASSIFIER_BATCH_SIZE)
    classifier.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(CLASSIFIER_LEARNING_RATE, steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    classifier.fit(
        train_images, train_labels, batch_size=CLASSIFIER_BATCH_SIZE, epochs=epochs, shuffle=True, verbose=verbose
    )
    seconds = time.perf_counter() - start
    record = {
        "dataset": CLASSIFIER_DATASET,
        "train_split": "train",
        "held_out_split": "test",
        "held_out_accuracy": held_out_accuracy(classifier),
        "epochs": epochs,
        "seed": seed,
        "batch_size": CLASSIFIER_BATCH_SIZE,
        "training_seconds": round(seconds, 1),
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
        "recipe": CLASSIFIER_RECIPE,
    }
    return classifier, record


def _saved_keras_major(path):
    """The Keras major version recorded inside a ``.keras`` zip file."""
    with zipfile.ZipFile(path) as archive:
        saved_version = json.loads(archive.read("metadata.json"))["keras_version"]
    return int(str(saved_version).split(".")[0]), saved_version


def _load_cached(path, epochs, seed):
    """(classifier, None) for a usable cache; (None, reason) for a rejected one; (None, None) if absent."""
    if not path.exists():
        return None, None
    try:
        major, saved_version = _saved_keras_major(path)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as err:
        return None, f"{path.name} is unreadable ({type(err).__name__}: {err})"
    if major != int(keras.__version__.split(".")[0]):
        return None, f"{path.name} was saved by Keras {saved_version}, this is Keras {keras.__version__}"
    try:
        record = json.loads(_record_path(path).read_text())
        made_with = {key: record[key] for key in ("recipe", "epochs", "seed")}
    except (OSError, ValueError, KeyError, TypeError) as err:
        return None, f"its record {_record_path(path).name} is missing or unreadable ({type(err).__name__})"
    wanted = {"recipe": CLASSIFIER_RECIPE, "epochs": epochs, "seed": seed}
    if made_with != wanted:
        return None, f"it was made with {made_with}, not {wanted}"
    try:
        classifier = keras.saving.load_model(path)
    except Exception as err:  # Keras raises many types on a damaged file; all mean "retrain".
        return None, f"{path.name} is unreadable ({type(err).__name__}: {err})"
    if tuple(classifier.input_shape) != (None, *IMAGE_SHAPE) or tuple(classifier.output_shape) != (None, NUM_CLASSES):
        return None, f"{path.name} maps {classifier.input_shape} to {classifier.output_shape}, not MNIST to 10 logits"
    return classifier, None


def _save_atomically(classifier, record, path):
    """Save the model and its record under temporary names, then rename: never a half-written cache."""
    record_path = _record_path(path)
    tmp_model = path.with_name(f".{path.stem}.{os.getpid()}.tmp.keras")
    tmp_record = record_path.with_name(f".{record_path.stem}.{os.getpid()}.tmp.json")
    try:
        classifier.save(tmp_model)
        tmp_record.write_text(json.dumps(record, indent=2) + "\n")
        # Without its record a model is rejected, so a run killed between the renames retrains.
        record_path.unlink(missing_ok=True)
        os.replace(tmp_model, path)
        os.replace(tmp_record, record_path)
    finally:
        tmp_model.unlink(missing_ok=True)
        tmp_record.unlink(missing_ok=True)


def load_classifier(path=None, retrain=False, verbose=0, epochs=CLASSIFIER_EPOCHS, seed=0):
    """The trained MNIST evaluation classifier, from its cache or trained now (about a minute).

    The model is cached as a ``.keras`` file, by default
    ``outputs/classifier/mnist_sample_cnn.keras`` (git-ignored), with a JSON
    record beside it (same name, ``.json``): held-out accuracy, epochs, seed,
    training seconds, Keras and TensorFlow versions. The cache is used when
    it loads, was saved by the same Keras major version and was made with the
    same ``epochs``, ``seed`` and recipe; otherwise it is retrained with a
    warning saying why, never a crash. Saving writes temporary files and
    renames them, so a killed run leaves the old cache or none. Training
    reseeds the global random generators (see :func:`train_classifier`).

    Args:
        path: the ``.keras`` file; defaults to :func:`default_classifier_path`.
        retrain: train and overwrite the cache even if it is usable.
        verbose: 0 silent; 1 shows Keras's progress and prints the result.
        epochs: training epochs; part of the cache's identity.
        seed: training seed; part of the cache's identity.

    Returns:
        A compiled ``keras.Model``: (batch, 28, 28, 1) images in [-1, 1] to
        (batch, 10) logits. Its accuracy: :func:`held_out_accuracy`.
    """
    path = default_classifier_path() if path is None else Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"path must end in .keras. Received: path={str(path)!r}")
    classifier = None
    if not retrain:
        classifier, problem = _load_cached(path, epochs, seed)
        if problem is not None:
            warnings.warn(f"Retraining the evaluation classifier: {problem}.", UserWarning, stacklevel=2)
    if classifier is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        classifier, record = train_classifier(epochs=epochs, seed=seed, verbose=verbose)
        _save_atomically(classifier, record, path)
        if verbose:
            print(
                f"Evaluation classifier: held-out accuracy {record['held_out_accuracy']:.3f} after "
                f"{epochs} epochs in {record['training_seconds']:.0f} s, saved to {path.name}"
            )
    _loaded_classifiers[str(path.resolve())] = classifier
    return classifier


def _classifier_or_default(classifier):
    if classifier is not None:
        return classifier
    key = str(default_classifier_path().resolve())
    return _loaded_classifiers[key] if key in _loaded_classifiers else load_classifier()


def predict_classes(images, classifier=None, batch_size=500):
    """Digit labels of generated images in [-1, 1], by the evaluation classifier.

    Only the range is checked: images in [0, 1] pass but are misread, so
    rescale them first (``2 * x - 1``).

    Args:
        images: array or tensor (N, 28, 28, 1), pixels in [-1, 1] (a tanh
            generator's output; up to 0.1 overshoot is accepted).
        classifier: a model giving (N, 10) logits; defaults to
            :func:`load_classifier` (trained on first use if not cached).
        batch_size: positive int, images per forward pass.

    Returns:
        int32 array (N,) of labels in 0..9.

    Raises:
        ValueError: bad shape, non-finite values, pixels outside [-1, 1], or
            a bad ``batch_size``.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            "images must have shape (N, 28, 28, 1): a batch of single-channel 28x28 images "
            "(add the channel axis with images[..., None]; reshape flat (N, 784) vectors with "
            f"images.reshape(-1, 28, 28, 1)). Received: images.shape={images.shape}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer. Received: batch_size={batch_size!r}")
    images = images.astype(np.float32)
    if len(images) == 0:
        return np.zeros(0, np.int32)
    if not np.isfinite(images).all():
        raise ValueError(f"images contains NaN or inf in {int((~np.isfinite(images)).sum())} pixels.")
    low, high = float(images.min()), float(images.max())
    if low < -1 - PIXEL_TOLERANCE or high > 1 + PIXEL_TOLERANCE:
        raise ValueError(
            "images must be in [-1, 1], the range of a tanh generator (rescale [0, 1] with "
            f"2 * x - 1, [0, 255] with x / 127.5 - 1). Received: images.min()={low:.4g}, "
            f"images.max()={high:.4g}"
        )
    classifier = _classifier_or_default(classifier)
    labels = [
        np.argmax(keras.ops.convert_to_numpy(classifier(images[i : i + batch_size], training=False)), axis=-1)
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(labels).astype(np.int32)


def held_out_accuracy(classifier=None):
    """Accuracy of a classifier on the 500 held-out "test" images of "mnist_sample".

    Args:
        classifier: a model giving (N, 10) logits for images in [-1, 1];
            defaults to :func:`load_classifier`.

    Returns:
        Python float in [0, 1].
    """
    test_images, test_labels = data.load(CLASSIFIER_DATASET, "test", pixel_range=(-1, 1))
    return float(np.mean(predict_classes(test_images, classifier) == test_labels))


def _labels_1d(labels, name):
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels. Received: {name}.shape={labels.shape}")
    whole_floats = labels.dtype.kind == "f" and bool(np.all(labels == np.round(labels)))
    if labels.size and labels.dtype.kind not in "iu" and not whole_floats:
        raise ValueError(f"{name} must hold integer class labels. Received: {name}.dtype={labels.dtype}")
    return labels.astype(np.int64)


def class_coverage(predicted_labels, num_classes=NUM_CLASSES, min_share=0.0):
    """How evenly generated samples spread over the classes; by default a class counts with one sample.

    A class is *covered* when it has at least one sample and at least
    ``min_share`` of its fair share N / num_classes (as in
    :func:`mode_coverage`). A mode-collapsed generator covers few classes
    and has ``min_fraction`` 0.

    Args:
        predicted_labels: int array (N,), N >= 1, labels in 0..num_classes - 1.
        num_classes: positive int.
        min_share: non-negative fraction of the fair share a class needs.

    Returns:
        Dict with "histogram" (int array (num_classes,) of counts),
        "fractions" (float array (num_classes,), sums to 1), "min_fraction"
        (float) and "classes_covered" (int).

    Example:
    >>> result = class_coverage([0, 0, 1, 1, 1, 3], num_classes=4)
    >>> result["histogram"].tolist(), result["fractions"].round(3).tolist()
    ([2, 3, 0, 1], [0.333, 0.5, 0.0, 0.167])
    >>> result["min_fraction"], result["classes_covered"]
    (0.0, 3)
    >>> class_coverage([0, 0, 1, 1, 1, 3], num_classes=4, min_share=1.0)["classes_covered"]
    2
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer. Received: num_classes={num_classes!r}")
    if not min_share >= 0:
        raise ValueError(f"min_share must be non-negative. Received: min_share={min_share!r}")
    labels = _labels_1d(predicted_labels, "predicted_labels")
    if len(labels) == 0:
        raise ValueError("predicted_labels is empty: coverage needs at least one sample. Received: shape=(0,)")
    if labels.min() < 0 or labels.max() >= num_classes:
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise ValueError(
            f"predicted_labels must be in 0..{num_classes - 1} (num_classes={num_classes}). "
            f"Received: a label {int(bad)}"
        )
    histogram = np.bincount(labels, minlength=num_classes)
    fractions = histogram / len(labels)
    covered = (histogram > 0) & (histogram >= min_share * len(labels) / num_classes)
    return {
        "histogram": histogram,
        "fractions": fractions,
        "min_fraction": float(fractions.min()),
        "classes_covered": int(covered.sum()),
    }


def label_agreement(requested_labels, predicted_labels):
    """Fraction of samples whose predicted class is the one requested (a conditional generator's score).

    Args:
        requested_labels: int array (N,), N >= 1, the labels fed to the generator.
        predicted_labels: int array (N,), e.g. from :func:`predict_classes`.

    Returns:
        Python float in [0, 1].

    Example:
    >>> label_agreement([0, 1, 2, 3], [0, 1, 2, 2])
    0.75
    """
    requested = _labels_1d(requested_labels, "requested_labels")
    predicted = _labels_1d(predicted_labels, "predicted_labels")
    if len(requested) != len(predicted):
        raise ValueError(
            "requested_labels and predicted_labels must have the same length. "
            f"Received: len(requested_labels)={len(requested)}, len(predicted_labels)={len(predicted)}"
        )
    if len(requested) == 0:
        raise ValueError("requested_labels is empty: agreement needs at least one sample. Received: shape=(0,)")
    return float(np.mean(requested == predicted))


def classifier_features(images, classifier=None, batch_size=500):
    """Penultimate-layer activations of the evaluation classifier, for Fréchet distances.

    Args:
        images: (N, 28, 28, 1) in [-1, 1].
        classifier: defaults to :func:`load_classifier`.
        batch_size: images per forward pass.

    Returns:
        float64 array (N, 128).
    """
    predict_classes(images[:1], classifier)  # validates shape and range, loads the default model
    classifier = _classifier_or_default(classifier)
    features = []
    for start in range(0, len(images), batch_size):
        x = keras.ops.convert_to_tensor(np.asarray(images[start : start + batch_size], np.float32))
        for layer in classifier.layers[:-1]:
            x = layer(x, training=False)
        features.append(keras.ops.convert_to_numpy(x))
    return np.concatenate(features).astype(np.float64)


def frechet_distance(features_a, features_b):
    """Fréchet distance between Gaussians fitted to two sets of feature vectors.

    Formula:
        FD = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))

    With Inception-v3 features this is the FID of Heusel et al., "GANs
    Trained by a Two Time-Scale Update Rule Converge to a Local Nash
    Equilibrium", 2017 (https://arxiv.org/abs/1706.08500). Here the features
    come from this project's MNIST classifier (:func:`classifier_features`),
    so the numbers are comparable only with each other, not with published FIDs.
    Lower is better; 0 for identical statistics.

    Args:
        features_a, features_b: arrays (N_a, d) and (N_b, d), N >= 2.

    Returns:
        Python float, >= 0.

    Example:
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((20000, 2))
    >>> round(frechet_distance(a, a + [3.0, 0.0]), 2)   # shifted means: ||mu_a - mu_b||^2 = 9
    9.0
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(
            "features_a and features_b must be (N, d) arrays with the same d and N >= 2. "
            f"Received: shapes {a.shape} and {b.shape}"
        )
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr((S_a S_b)^(1/2)) = sum of sqrt(eigenvalues of S_a^(1/2) S_b S_a^(1/2)), a symmetric PSD
    # matrix: stable even when the covariances are singular (dead ReLU features).
    eigenvalues, eigenvectors = np.linalg.eigh(cov_a)
    root_a = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T
    trace_root = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)))
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    return float(max(distance, 0.0))
