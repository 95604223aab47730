"""Evaluation metrics, and the MNIST classifier that scores generated digits.

The classifier (:func:`load_classifier`) is trained once on the 4,500-image
"train" split of ``"mnist_sample"`` and cached in the git-ignored outputs
folder; :func:`predict_classes` labels generated images in [-1, 1], and
:func:`class_coverage` and :func:`label_agreement` summarise those labels.
Its probabilities (:func:`classifier_probabilities`) give an Inception
Score (:func:`classifier_inception_score`); its penultimate features
(:func:`classifier_features`) give the distances between sample sets
(:func:`frechet_distance`, :func:`kernel_distance`,
:func:`precision_recall`).
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
from genai_tf.models.base import check_positive_int


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


def compile_classifier(model, steps, learning_rate=CLASSIFIER_LEARNING_RATE):
    """Compile a digit classifier (logits out) the way :func:`train_classifier` does; returns the model.

    Adam with a learning rate that decays from ``learning_rate`` to 0 over
    ``steps`` steps along a half cosine, the cross-entropy from logits, and
    accuracy as a metric.

    Args:
        model: a Keras model mapping images to 10 logits.
        steps: positive int, the optimizer steps of the whole run (epochs x batches).
        learning_rate: positive float, the initial learning rate.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer. Received: steps={steps!r}")
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, int(steps))),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


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
    compile_classifier(classifier, epochs * math.ceil(len(train_images) / CLASSIFIER_BATCH_SIZE))
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


def _classifier_logits(images, classifier, batch_size):
    """Checked images through the classifier, in batches: float32 logits (N, 10)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            "images must have shape (N, 28, 28, 1): a batch of single-channel 28x28 images "
            "(add the channel axis with images[..., None]; reshape flat (N, 784) vectors with "
            f"images.reshape(-1, 28, 28, 1)). Received: images.shape={images.shape}"
        )
    check_positive_int(batch_size, "batch_size")
    images = images.astype(np.float32)
    if len(images) == 0:
        return np.zeros((0, NUM_CLASSES), np.float32)
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
    logits = [
        keras.ops.convert_to_numpy(classifier(images[i : i + batch_size], training=False))
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(logits)


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
    return np.argmax(_classifier_logits(images, classifier, batch_size), axis=-1).astype(np.int32)


def classifier_probabilities(images, classifier=None, batch_size=500):
    """Class probabilities of generated images in [-1, 1]: the softmax of the classifier's logits.

    The input of :func:`classifier_inception_score`; checked as in
    :func:`predict_classes`.

    Args:
        images: array or tensor (N, 28, 28, 1), pixels in [-1, 1].
        classifier: a model giving (N, 10) logits; defaults to
            :func:`load_classifier` (trained on first use if not cached).
        batch_size: positive int, images per forward pass.

    Returns:
        float64 array (N, 10); each row is non-negative and sums to 1.

    Raises:
        ValueError: as :func:`predict_classes`.
    """
    logits = _classifier_logits(images, classifier, batch_size).astype(np.float64)
    # Subtracting the row maximum keeps exp() finite for large logits; the softmax is unchanged.
    exp_logits = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp_logits / exp_logits.sum(axis=-1, keepdims=True)


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
    check_positive_int(num_classes, "num_classes")
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


def _feature_pair(features_a, features_b, names=("features_a", "features_b")):
    """Two float64 (N, d) arrays with the same d, N >= 2 and finite values, or a ValueError."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    name_a, name_b = names
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(
            f"{name_a} and {name_b} must be (N, d) arrays with the same d and N >= 2. "
            f"Received: {name_a}.shape={a.shape}, {name_b}.shape={b.shape}"
        )
    for name, features in ((name_a, a), (name_b, b)):
        if not np.isfinite(features).all():
            raise ValueError(f"{name} contains NaN or inf in {int((~np.isfinite(features)).sum())} values.")
    return a, b


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
    a, b = _feature_pair(features_a, features_b)
    mean_a, mean_b = a.mean(0), b.mean(0)
    # np.cov returns a 0-d array for one feature: atleast_2d keeps the formula valid for d = 1.
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    # Tr((S_a S_b)^(1/2)) = sum of sqrt(eigenvalues of S_a^(1/2) S_b S_a^(1/2)), a symmetric PSD
    # matrix: stable even when the covariances are singular (dead ReLU features).
    eigenvalues, eigenvectors = np.linalg.eigh(cov_a)
    root_a = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T
    trace_root = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)))
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    return float(max(distance, 0.0))


def _cubic_kernel(x, y):
    """k(x, y) = (x . y / d + 1)^3 for all rows of x (m, d) and y (n, d): an (m, n) array."""
    linear = x @ y.T / x.shape[1] + 1.0
    return linear * linear * linear  # NumPy's ** 3 is about five times slower


def kernel_distance(features_a, features_b, num_subsets=10, subset_size=1000, seed=0):
    """Unbiased squared MMD with a cubic kernel, averaged over random subsets: (mean, std), not scaled.

    Formula:
        k(x, y) = (x . y / d + 1)^3
        MMD^2_u = sum_{i != j} k(a_i, a_j) / (m (m - 1))
                + sum_{i != j} k(b_i, b_j) / (m (m - 1))
                - 2 sum_{i, j} k(a_i, b_j) / m^2
    for m rows a_i of features_a and m rows b_j of features_b.

    With Inception-v3 features this is the Kernel Inception Distance (KID)
    of Bińkowski et al., "Demystifying MMD GANs", 2018
    (https://arxiv.org/abs/1801.01401). Here the features are those of this
    project's MNIST classifier (:func:`classifier_features`), not
    Inception's, so the numbers are comparable only with each other.
    Published KIDs are often quoted x 1000; this one is not. Unlike the
    Fréchet distance the estimator is unbiased: its expectation is 0 when
    both sets come from one distribution, so a single estimate can be
    slightly negative. The kernel has monomials up to degree 3, so it
    compares means, second and third moments of the features.

    Each of the ``num_subsets`` estimates uses ``m = min(subset_size,
    N_a, N_b)`` rows of each set drawn without replacement by
    ``np.random.default_rng(seed)``: the same seed gives the same result.
    When m equals both N_a and N_b every subset is the whole set and
    std is 0.

    Args:
        features_a, features_b: arrays (N_a, d) and (N_b, d), N >= 2, e.g.
            real and generated features from :func:`classifier_features`.
        num_subsets: positive int, estimates to average.
        subset_size: int >= 2, rows per subset (capped at N_a and N_b).
        seed: seed of the subset draws.

    Returns:
        (mean, std): Python floats, the mean and the standard deviation
        (ddof=0, as in the paper's code) of the subset estimates. Lower
        is better.

    Raises:
        ValueError: arrays that are not (N, d) with the same d and N >= 2,
            non-finite values, or a bad ``num_subsets`` or ``subset_size``.

    Example:
    >>> rng = np.random.default_rng(0)
    >>> real = rng.standard_normal((1000, 8))
    >>> same = kernel_distance(real, rng.standard_normal((1000, 8)), subset_size=200)
    >>> shifted = kernel_distance(real, rng.standard_normal((1000, 8)) + 0.5, subset_size=200)
    >>> [round(value, 2) for value in same + shifted]   # (mean, std) of each
    [0.0, 0.02, 1.06, 0.11]
    """
    a, b = _feature_pair(features_a, features_b)
    check_positive_int(num_subsets, "num_subsets")
    check_positive_int(subset_size, "subset_size")
    if subset_size < 2:
        raise ValueError(
            f"subset_size must be at least 2: the unbiased estimator needs pairs. Received: subset_size={subset_size}"
        )
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    estimates = np.empty(num_subsets)
    for index in range(num_subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kernel_xx, kernel_yy = _cubic_kernel(x, x), _cubic_kernel(y, y)
        # The diagonal k(x_i, x_i) is left out of the within-set sums: that is what makes it unbiased.
        within = kernel_xx.sum() - np.trace(kernel_xx) + kernel_yy.sum() - np.trace(kernel_yy)
        estimates[index] = within / (m * (m - 1)) - 2.0 * _cubic_kernel(x, y).mean()
    return float(estimates.mean()), float(estimates.std())


def classifier_inception_score(probabilities, num_splits=1):
    """Inception Score from class probabilities, on ``num_splits`` consecutive splits: (mean, std).

    Formula:
        p(y)  = mean over x of p(y|x)
        IS    = exp(mean over x of KL(p(y|x) || p(y)))
              = exp(mean over x of sum_y p(y|x) (log p(y|x) - log p(y)))

    Salimans et al., "Improved Techniques for Training GANs", 2016
    (https://arxiv.org/abs/1606.03498), with Inception-v3 on ImageNet;
    here the probabilities come from this project's MNIST classifier
    (:func:`classifier_probabilities`), so the score is comparable only
    with itself. It is high when each sample is classified confidently
    (low-entropy p(y|x)) and the classes are used evenly (high-entropy
    p(y)): 1 <= IS <= number of classes, the maximum for confident
    predictions spread evenly over every class, 1 when every sample gets
    the same prediction. It never looks at real data.

    The rows are split into ``num_splits`` consecutive, near-equal parts
    (``np.array_split``, no shuffling; the paper used 10 splits of 5,000);
    each part gets its own p(y) and score. Logarithms are of
    probabilities clipped to at least 1e-12, so zeros give 0 log 0 = 0.

    Args:
        probabilities: array (N, num_classes), N >= num_splits, rows
            non-negative and summing to 1 within 1e-3 (softmax outputs,
            not logits); rows are renormalised to sum to exactly 1.
        num_splits: positive int, parts to score separately.

    Returns:
        (mean, std): Python floats, the mean and standard deviation
        (ddof=0) of the split scores; std is 0.0 for one split. Higher is
        better.

    Raises:
        ValueError: not a 2-D array, non-finite or negative values, a row
            that does not sum to 1, or a bad ``num_splits``.

    Example:
    >>> classifier_inception_score(np.eye(4))   # confident and even: the number of classes
    (4.0, 0.0)
    >>> # p(y) = (0.75, 0.25); KL = log(4/3) for row 1 and 0.5 log(2/3) + 0.5 log(2) for row 2.
    >>> score, _ = classifier_inception_score([[1.0, 0.0], [0.5, 0.5]])
    >>> round(score, 6), round(float(np.exp(0.5 * np.log(4 / 3) + 0.25 * np.log(4 / 3))), 6)
    (1.240806, 1.240806)
    """
    probabilities = np.asarray(probabilities, np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] < 1:
        raise ValueError(
            "probabilities must be an (N, num_classes) array of class probabilities. "
            f"Received: probabilities.shape={probabilities.shape}"
        )
    check_positive_int(num_splits, "num_splits")
    if len(probabilities) < num_splits:
        raise ValueError(
            "probabilities needs at least one row per split. "
            f"Received: probabilities.shape={probabilities.shape}, num_splits={num_splits}"
        )
    if not np.isfinite(probabilities).all():
        raise ValueError(
            f"probabilities contains NaN or inf in {int((~np.isfinite(probabilities)).sum())} values."
        )
    if probabilities.min() < 0:
        row = int(np.argmin(probabilities.min(axis=1)))
        raise ValueError(
            "probabilities must be non-negative (softmax outputs, not logits). "
            f"Received: probabilities.min()={probabilities.min():.4g} in row {row}"
        )
    sums = probabilities.sum(axis=1)
    if np.abs(sums - 1).max() > 1e-3:
        row = int(np.argmax(np.abs(sums - 1)))
        raise ValueError(
            "each row of probabilities must sum to 1 within 1e-3 (apply a softmax to logits). "
            f"Received: row {row} sums to {sums[row]:.6g}"
        )
    probabilities = probabilities / sums[:, None]
    scores = []
    for part in np.array_split(probabilities, num_splits):
        log_conditional = np.log(np.clip(part, 1e-12, None))
        log_marginal = np.log(np.clip(part.mean(axis=0), 1e-12, None))
        kl = np.sum(part * (log_conditional - log_marginal), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _kth_neighbour_squared_radii(features, k, batch_size):
    """Squared distance from each row to its k-th nearest other row, in batches of rows."""
    squared_norms = np.sum(features**2, axis=1)
    radii = np.empty(len(features))
    for start in range(0, len(features), batch_size):
        rows = np.arange(start, min(start + batch_size, len(features)))
        distances = _squared_distances(features[rows], features, squared_norms)
        distances[np.arange(len(rows)), rows] = np.inf  # a point is not its own neighbour
        radii[rows] = np.partition(distances, k - 1, axis=1)[:, k - 1]
    return radii


def _squared_distances(x, y, y_squared_norms):
    """||x_i - y_j||^2 for rows x (m, d) and y (n, d), as ||x||^2 + ||y||^2 - 2 x.y, clipped at 0."""
    distances = np.sum(x**2, axis=1)[:, None] + y_squared_norms[None, :] - 2.0 * (x @ y.T)
    return np.maximum(distances, 0.0)


def precision_recall(real_features, fake_features, k=3, batch_size=500):
    """Improved precision and recall of generated samples, with k-nearest-neighbour balls: (precision, recall).

    Formula:
        r_k(x, S) = distance from x to its k-th nearest other point of S
        precision = mean over fake f of [exists real x: ||f - x|| <= r_k(x, real)]
        recall    = mean over real x of [exists fake f: ||x - f|| <= r_k(f, fake)]

    Kynkäänniemi et al., "Improved Precision and Recall Metric for
    Assessing Generative Models", 2019 (https://arxiv.org/abs/1904.06991).
    Each set's manifold is the union of balls around its points, each
    ball reaching the point's k-th nearest neighbour (k = 3 in the paper).
    Precision is the share of generated samples that look real (quality);
    recall the share of real samples the generator can produce (diversity):
    a mode-collapsed generator has high precision and low recall. Here the
    features are those of this project's MNIST classifier
    (:func:`classifier_features`), not the paper's VGG-16.

    Distances are computed ``batch_size`` rows at a time against a whole
    set, so memory is about ``batch_size * max(N_real, N_fake) * 8`` bytes
    per array (40 MB for 10,000 samples); the result does not depend on it.

    Args:
        real_features, fake_features: arrays (N_real, d) and (N_fake, d),
            both with more than k rows.
        k: positive int, the neighbour that sets each ball's radius.
        batch_size: positive int, rows per block of the distance matrices.

    Returns:
        (precision, recall): Python floats in [0, 1], higher is better.

    Raises:
        ValueError: arrays that are not (N, d) with the same d and N >= 2,
            non-finite values, a bad ``batch_size``, or a ``k`` that is not
            smaller than both N_real and N_fake.

    Example:
    >>> real = np.array([[0.0], [1.0], [3.0]])   # k = 1 radii: 1, 1, 2
    >>> fake = np.array([[0.5], [0.75], [5.0]])  # k = 1 radii: 0.25, 0.25, 4.25
    >>> precision_recall(real, fake, k=1)        # 5 is on the ball of 3; 0 is in no fake ball
    (1.0, 0.6666666666666666)
    """
    real, fake = _feature_pair(real_features, fake_features, names=("real_features", "fake_features"))
    check_positive_int(k, "k")
    check_positive_int(batch_size, "batch_size")
    if k >= min(len(real), len(fake)):
        raise ValueError(
            "k must be smaller than the number of samples in each set: the k-th nearest other point "
            f"must exist. Received: k={k}, len(real_features)={len(real)}, len(fake_features)={len(fake)}"
        )
    real_radii = _kth_neighbour_squared_radii(real, k, batch_size)
    fake_radii = _kth_neighbour_squared_radii(fake, k, batch_size)
    # One pass over the real-fake distances serves both: rows are fake points, columns real points.
    real_squared_norms = np.sum(real**2, axis=1)
    fake_in_real_balls = np.zeros(len(fake), bool)
    real_in_fake_balls = np.zeros(len(real), bool)
    for start in range(0, len(fake), batch_size):
        distances = _squared_distances(fake[start : start + batch_size], real, real_squared_norms)
        fake_in_real_balls[start : start + batch_size] = np.any(distances <= real_radii[None, :], axis=1)
        real_in_fake_balls |= np.any(distances <= fake_radii[start : start + batch_size, None], axis=0)
    return float(fake_in_real_balls.mean()), float(real_in_fake_balls.mean())


def score_samples(images, real_features, classifier=None, num_subsets=10, subset_size=1000, k=3, seed=0):
    """Every metric of this module for one set of images against real features: a dict.

    The images are scored on the classifier's features and probabilities:

    - "fd": :func:`frechet_distance` to ``real_features`` (lower is better);
    - "kid", "kid_std": :func:`kernel_distance` (mean and std over subsets);
    - "inception_score": :func:`classifier_inception_score`, one split;
    - "precision", "recall": :func:`precision_recall` with ``k``, on
      min(N, N_real) rows of each set, so both manifolds are built from the
      same number of points (the radii shrink as a set grows): all rows of
      the smaller set and a random subset (drawn with ``seed``) of the
      larger one, never its first rows, which may be sorted by class;
    - "classes_covered", "min_fraction": :func:`class_coverage` of the
      predicted labels.

    Compare sets scored with the same ``real_features`` and the same number of
    images: the Fréchet distance is biased upwards for small sets.

    Args:
        images: (N, 28, 28, 1) in [-1, 1], N > k.
        real_features: (N_real, 128) array from :func:`classifier_features`.
        classifier: defaults to :func:`load_classifier`.
        num_subsets, subset_size, seed: as in :func:`kernel_distance`.
        k: as in :func:`precision_recall`.

    Returns:
        Dict of Python floats and ints, keys as listed above.
    """
    classifier = _classifier_or_default(classifier)
    features = classifier_features(images, classifier)
    probabilities = classifier_probabilities(images, classifier)
    kid, kid_std = kernel_distance(real_features, features, num_subsets, subset_size, seed)
    size = min(len(features), len(real_features))
    rng = np.random.default_rng(seed)

    def rows(array):
        return array if len(array) == size else array[np.sort(rng.choice(len(array), size, replace=False))]

    precision, recall = precision_recall(rows(real_features), rows(features), k=k)
    coverage = class_coverage(np.argmax(probabilities, axis=-1))
    return dict(
        fd=frechet_distance(features, real_features),
        kid=kid,
        kid_std=kid_std,
        inception_score=classifier_inception_score(probabilities)[0],
        precision=precision,
        recall=recall,
        classes_covered=int(coverage["classes_covered"]),
        min_fraction=float(coverage["min_fraction"]),
    )
