"""The MNIST evaluation classifier that scores generated digits, and its cache.

The classifier (:func:`load_classifier`) is trained once on the 4,500-image
"train" split of ``"mnist_sample"`` and cached in the git-ignored outputs
folder. It turns images in [-1, 1] into what the pure functions of
:mod:`genai_tf.metrics` score: labels (:func:`predict_classes`, for
``class_coverage`` and ``label_agreement``), class probabilities
(:func:`classifier_probabilities`, for ``classifier_inception_score``) and
penultimate features (:func:`classifier_features`, for ``frechet_distance``,
``kernel_distance`` and ``precision_recall``). :func:`score_samples` computes
all of them for one set of images.
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

from genai_tf import config, datasets, metrics
from genai_tf.records import RecordError, read_json, write_json
from genai_tf.validation import image_batch, non_negative_int, positive_float, positive_int

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
        seed: non-negative int, seed of the augmentation and dropout layers.

    Returns:
        A ``keras.Sequential`` mapping (batch, 28, 28, 1) images in [-1, 1] to
        (batch, 10) logits, not probabilities.

    Example:
    >>> build_classifier().output_shape
    (None, 10)
    """
    seed = non_negative_int(seed, "seed")
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


def record_path(path):
    """The JSON record beside a cached classifier: the same name with ``.json``.

    Example:
    >>> record_path("outputs/classifier/mnist_sample_cnn.keras").name
    'mnist_sample_cnn.json'
    """
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

    Returns:
        ``model``, compiled.

    Raises:
        ValueError: a bad ``steps`` or ``learning_rate``.
    """
    steps = positive_int(steps, "steps")
    learning_rate = positive_float(learning_rate, "learning_rate")
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
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

    Raises:
        ValueError: a bad ``epochs`` or ``seed``.
    """
    epochs = positive_int(epochs, "epochs")
    seed = non_negative_int(seed, "seed")
    config.set_seed(seed)
    train_images, train_labels = datasets.load(CLASSIFIER_DATASET, "train", pixel_range=(-1, 1))
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
    """The Keras major version recorded inside a ``.keras`` zip file, and the full version."""
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
        record = read_json(record_path(path), what="classifier record")
        made_with = {key: record[key] for key in ("recipe", "epochs", "seed")}
    except (RecordError, KeyError) as err:
        return None, f"its record {record_path(path).name} is missing or unreadable ({type(err).__name__})"
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


def save_classifier(classifier, record, path):
    """Save a classifier and its JSON record so that a killed run leaves the old cache or none.

    The model is written under a temporary name and renamed over ``path``;
    the old record is removed first and the new one written last (atomically,
    by :func:`genai_tf.records.write_json`, in the format earlier versions
    wrote), and a model without its record is rejected by
    :func:`load_classifier`, so a run killed at any point never leaves a
    model with another model's record.

    Args:
        classifier: the Keras model to save.
        record: its JSON-serialisable record (see :func:`train_classifier`).
        path: the ``.keras`` file; its folder must exist.

    Raises:
        ValueError: a record JSON cannot hold (NaN, infinities), before
            anything on disk changes.
    """
    path = Path(path)
    json.dumps(record, allow_nan=False)  # a record JSON cannot hold is refused before anything changes
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp.keras")
    try:
        classifier.save(temporary)
        record_path(path).unlink(missing_ok=True)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    write_json(record_path(path), record, indent=2)


def load_classifier(path=None, retrain=False, verbose=0, epochs=CLASSIFIER_EPOCHS, seed=0):
    """The trained MNIST evaluation classifier, from its cache or trained now (about a minute).

    The model is cached as a ``.keras`` file, by default
    ``outputs/classifier/mnist_sample_cnn.keras`` (git-ignored), with a JSON
    record beside it (same name, ``.json``): held-out accuracy, epochs, seed,
    training seconds, Keras and TensorFlow versions. The cache is used when
    it loads, was saved by the same Keras major version and was made with the
    same ``epochs``, ``seed`` and recipe; otherwise it is retrained with a
    warning saying why, never a crash. Saving (:func:`save_classifier`)
    leaves the old cache or none when a run is killed. Training reseeds the
    global random generators (see :func:`train_classifier`).

    Args:
        path: the ``.keras`` file; defaults to :func:`default_classifier_path`.
        retrain: train and overwrite the cache even if it is usable.
        verbose: 0 silent; 1 shows Keras's progress and prints the result.
        epochs: positive int, training epochs; part of the cache's identity.
        seed: non-negative int, training seed; part of the cache's identity.

    Returns:
        A compiled ``keras.Model``: (batch, 28, 28, 1) images in [-1, 1] to
        (batch, 10) logits. Its accuracy: :func:`held_out_accuracy`.

    Raises:
        ValueError: a ``path`` not ending in ``.keras``, a bad ``epochs`` or ``seed``.
    """
    path = default_classifier_path() if path is None else Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"path must end in .keras. Received: path={str(path)!r}")
    epochs, seed = positive_int(epochs, "epochs"), non_negative_int(seed, "seed")
    classifier = None
    if not retrain:
        classifier, problem = _load_cached(path, epochs, seed)
        if problem is not None:
            warnings.warn(f"Retraining the evaluation classifier: {problem}.", UserWarning, stacklevel=2)
    if classifier is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        classifier, record = train_classifier(epochs=epochs, seed=seed, verbose=verbose)
        save_classifier(classifier, record, path)
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


def _checked_images(images):
    """``images`` as float32 (N, 28, 28, 1), finite and in [-1, 1] within the tolerance, or a ValueError."""
    images = np.asarray(images)
    try:
        image_batch(images, IMAGE_SHAPE, "images")
    except ValueError as error:
        raise ValueError(
            f"{error}. Add the channel axis with images[..., None]; reshape flat (N, 784) vectors "
            "with images.reshape(-1, 28, 28, 1)."
        ) from None
    images = images.astype(np.float32)
    if not np.isfinite(images).all():
        raise ValueError(f"images contains NaN or inf in {int((~np.isfinite(images)).sum())} pixels.")
    if len(images):
        low, high = float(images.min()), float(images.max())
        if low < -1 - PIXEL_TOLERANCE or high > 1 + PIXEL_TOLERANCE:
            raise ValueError(
                "images must be in [-1, 1], the range of a tanh generator (rescale [0, 1] with "
                f"2 * x - 1, [0, 255] with x / 127.5 - 1). Received: images.min()={low:.4g}, "
                f"images.max()={high:.4g}"
            )
    return images


def _classifier_logits(images, classifier, batch_size):
    """Checked images through the classifier, in batches: float32 logits (N, 10)."""
    images = _checked_images(images)
    batch_size = positive_int(batch_size, "batch_size")
    if len(images) == 0:
        return np.zeros((0, NUM_CLASSES), np.float32)
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

    The input of :func:`genai_tf.metrics.classifier_inception_score`; checked
    as in :func:`predict_classes`.

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


def classifier_features(images, classifier=None, batch_size=500):
    """Penultimate-layer activations of the evaluation classifier, for the feature metrics.

    The input of :func:`genai_tf.metrics.frechet_distance`,
    :func:`~genai_tf.metrics.kernel_distance` and
    :func:`~genai_tf.metrics.precision_recall`; checked as in
    :func:`predict_classes`.

    Args:
        images: array or tensor (N, 28, 28, 1), pixels in [-1, 1].
        classifier: defaults to :func:`load_classifier`.
        batch_size: positive int, images per forward pass.

    Returns:
        float64 array (N, 128).

    Raises:
        ValueError: as :func:`predict_classes`.
    """
    images = _checked_images(images)
    batch_size = positive_int(batch_size, "batch_size")
    classifier = _classifier_or_default(classifier)
    if len(images) == 0:
        # Not passed through the network: oneDNN's convolution on some CPUs (AVX-512) returns an
        # empty batch in the wrong shape, which the next layer's bias cannot broadcast against.
        return np.zeros((0, classifier.layers[-1].kernel.shape[0]), np.float64)
    features = []
    for start in range(0, len(images), batch_size):
        x = keras.ops.convert_to_tensor(images[start : start + batch_size])
        for layer in classifier.layers[:-1]:
            x = layer(x, training=False)
        features.append(keras.ops.convert_to_numpy(x))
    return np.concatenate(features).astype(np.float64)


def held_out_accuracy(classifier=None):
    """Accuracy of a classifier on the 500 held-out "test" images of "mnist_sample".

    Args:
        classifier: a model giving (N, 10) logits for images in [-1, 1];
            defaults to :func:`load_classifier`.

    Returns:
        Python float in [0, 1].
    """
    test_images, test_labels = datasets.load(CLASSIFIER_DATASET, "test", pixel_range=(-1, 1))
    return float(np.mean(predict_classes(test_images, classifier) == test_labels))


def score_samples(images, real_features, classifier=None, num_subsets=10, subset_size=1000, k=3, seed=0):
    """Every sample metric for one set of images against real features: a dict.

    The images are scored on the classifier's features and probabilities,
    with the pure functions of :mod:`genai_tf.metrics`:

    - "fd": ``frechet_distance`` to ``real_features`` (lower is better);
    - "kid", "kid_std": ``kernel_distance`` (mean and std over subsets);
    - "inception_score": ``classifier_inception_score``, one split;
    - "precision", "recall": ``precision_recall`` with ``k``, on
      min(N, N_real) rows of each set, so both manifolds are built from the
      same number of points (the radii shrink as a set grows): all rows of
      the smaller set and a random subset (drawn with ``seed``) of the
      larger one, never its first rows, which may be sorted by class;
    - "classes_covered", "min_fraction": ``class_coverage`` of the
      predicted labels.

    Compare sets scored with the same ``real_features`` and the same number of
    images: the Fréchet distance is biased upwards for small sets.

    Args:
        images: (N, 28, 28, 1) in [-1, 1], N > k.
        real_features: (N_real, 128) array from :func:`classifier_features`.
        classifier: defaults to :func:`load_classifier`.
        num_subsets, subset_size, seed: as in ``metrics.kernel_distance``.
        k: as in ``metrics.precision_recall``.

    Returns:
        Dict of Python floats and ints, keys as listed above.
    """
    classifier = _classifier_or_default(classifier)
    features = classifier_features(images, classifier)
    probabilities = classifier_probabilities(images, classifier)
    kid, kid_std = metrics.kernel_distance(real_features, features, num_subsets, subset_size, seed)
    size = min(len(features), len(real_features))
    rng = np.random.default_rng(seed)

    def rows(array):
        return array if len(array) == size else array[np.sort(rng.choice(len(array), size, replace=False))]

    precision, recall = metrics.precision_recall(rows(real_features), rows(features), k=k)
    coverage = metrics.class_coverage(np.argmax(probabilities, axis=-1), num_classes=NUM_CLASSES)
    return dict(
        fd=metrics.frechet_distance(features, real_features),
        kid=kid,
        kid_std=kid_std,
        inception_score=metrics.classifier_inception_score(probabilities)[0],
        precision=precision,
        recall=recall,
        classes_covered=int(coverage["classes_covered"]),
        min_fraction=float(coverage["min_fraction"]),
    )
