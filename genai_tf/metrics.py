"""Evaluation metrics: pure functions on samples, features, probabilities and labels.

Nothing here trains or loads a model, reads data or touches the disk; the
inputs come from elsewhere. For generated digits they come from the
evaluation classifier of :mod:`genai_tf.classifier`: its labels
(``predict_classes``) feed :func:`class_coverage` and
:func:`label_agreement`, its probabilities (``classifier_probabilities``)
:func:`classifier_inception_score`, and its penultimate features
(``classifier_features``) the distances between sample sets
(:func:`frechet_distance`, :func:`kernel_distance`, :func:`precision_recall`,
:func:`coverage`).
:func:`mode_coverage` scores 2-D samples of a mixture of Gaussians, and
:func:`nats_to_bits` and :func:`perplexity` convert a negative
log-likelihood in nats.
"""

import math

import numpy as np

from genai_tf.validation import float_in, int_at_least, positive_float, positive_int


def mode_coverage(samples, centers, std, n_std=3.0, min_share=0.25):
    """How many mixture modes a generator covers, and how many samples are good.

    A sample is *high quality* when it lies within ``n_std`` standard
    deviations of its nearest mode centre. A mode is *covered* when it
    receives at least one of the high-quality samples and at least
    ``min_share`` of its fair share (N / n_modes) of them.

    Args:
        samples: array (N, d), N >= 1 (d = 2 for the ring of Gaussians).
        centers: array (n_modes, d).
        std: positive float, the standard deviation of each mode.
        n_std: positive float, the radius of a mode in standard deviations.
        min_share: non-negative float, the fraction of the fair share a mode
            needs to count as covered.

    Returns:
        Dict with "modes_covered" (int), "high_quality" (fraction of samples
        in a mode) and "counts" (int array (n_modes,)).

    Raises:
        ValueError: shapes that do not match, no samples, or a bad ``std``,
            ``n_std`` or ``min_share``.

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
    std = positive_float(std, "std")
    n_std = positive_float(n_std, "n_std")
    min_share = float_in(min_share, 0.0, math.inf, "min_share", include_low=True, include_high=False)
    if len(samples) == 0:
        raise ValueError(
            f"samples is empty: coverage needs at least one sample. Received: samples.shape={samples.shape}"
        )
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    close = distances.min(axis=1) <= n_std * std
    counts = np.bincount(nearest[close], minlength=len(centers))
    covered = (counts > 0) & (counts >= min_share * len(samples) / len(centers))
    return {
        "modes_covered": int(covered.sum()),
        "high_quality": float(close.mean()),
        "counts": counts,
    }


def _labels_1d(labels, name):
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels. Received: {name}.shape={labels.shape}")
    whole_floats = labels.dtype.kind == "f" and bool(np.all(labels == np.round(labels)))
    if labels.size and labels.dtype.kind not in "iu" and not whole_floats:
        raise ValueError(f"{name} must hold integer class labels. Received: {name}.dtype={labels.dtype}")
    return labels.astype(np.int64)


def class_coverage(predicted_labels, num_classes=10, min_share=0.0):
    """How evenly generated samples spread over the classes; by default a class counts with one sample.

    A class is *covered* when it has at least one sample and at least
    ``min_share`` of its fair share N / num_classes (as in
    :func:`mode_coverage`). A mode-collapsed generator covers few classes
    and has ``min_fraction`` 0.

    Args:
        predicted_labels: int array (N,), N >= 1, labels in 0..num_classes - 1.
        num_classes: positive int; 10 (the digits) by default.
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
    num_classes = positive_int(num_classes, "num_classes")
    min_share = float_in(min_share, 0.0, math.inf, "min_share", include_low=True, include_high=False)
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
        predicted_labels: int array (N,), e.g. from
            :func:`genai_tf.classifier.predict_classes`.

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
    come from this project's MNIST classifier
    (:func:`genai_tf.classifier.classifier_features`), so the numbers are
    comparable only with each other, not with published FIDs.
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
    with np.errstate(over="ignore", invalid="ignore"):
        mean_a, mean_b = a.mean(0), b.mean(0)
        # np.cov returns a 0-d array for one feature: atleast_2d keeps the formula valid for d = 1.
        cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
        for name, features, cov in (("features_a", a, cov_a), ("features_b", b, cov_b)):
            if not np.isfinite(cov).all():
                raise ValueError(_too_large(name, features, f"the covariance of {name} overflows float64"))
        try:
            # Tr((S_a S_b)^(1/2)) = sum of sqrt(eigenvalues of S_a^(1/2) S_b S_a^(1/2)), a symmetric PSD
            # matrix: stable even when the covariances are singular (dead ReLU features).
            eigenvalues, eigenvectors = np.linalg.eigh(cov_a)
            root_a = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T
            product = root_a @ cov_b @ root_a
            if not np.isfinite(product).all():
                raise np.linalg.LinAlgError("S_a^(1/2) S_b S_a^(1/2) overflows float64")
            trace_root = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(product), 0, None)))
        except np.linalg.LinAlgError as error:
            raise ValueError(_too_large("features_a and features_b", np.concatenate([a, b]), error)) from error
        distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    if not np.isfinite(distance):
        raise ValueError(_too_large("features_a and features_b", np.concatenate([a, b]), "the distance overflows float64"))
    return float(max(distance, 0.0))


def _too_large(name, features, cause, metric="frechet_distance"):
    """The error message of a metric that overflowed: the cause and the largest feature."""
    return (
        f"{metric} cannot be computed: {cause}. The features are too large "
        f"(largest |value| in {name}: {np.abs(features).max():.3g}); rescale them, e.g. divide by their standard deviation."
    )


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
    project's MNIST classifier
    (:func:`genai_tf.classifier.classifier_features`), not Inception's, so
    the numbers are comparable only with each other. Published KIDs are
    often quoted x 1000; this one is not. Unlike the Fréchet distance the
    estimator is unbiased: its expectation is 0 when
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
            real and generated features from
            :func:`genai_tf.classifier.classifier_features`.
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
    num_subsets = positive_int(num_subsets, "num_subsets")
    # The unbiased estimator needs pairs of distinct rows.
    subset_size = int_at_least(subset_size, 2, "subset_size")
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    estimates = np.empty(num_subsets)
    for index in range(num_subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below
            kernel_xx, kernel_yy = _cubic_kernel(x, x), _cubic_kernel(y, y)
            # The diagonal k(x_i, x_i) is left out of the within-set sums: that is what makes it unbiased.
            within = kernel_xx.sum() - np.trace(kernel_xx) + kernel_yy.sum() - np.trace(kernel_yy)
            estimates[index] = within / (m * (m - 1)) - 2.0 * _cubic_kernel(x, y).mean()
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = float(estimates.mean()), float(estimates.std())
    if not (np.isfinite(estimates).all() and math.isfinite(std)):
        cause = "the cubic kernel (or the spread of its estimates) overflows float64"
        raise ValueError(_too_large("features_a and features_b", np.concatenate([a, b]), cause, "kernel_distance"))
    return mean, std


def classifier_inception_score(probabilities, num_splits=1):
    """Inception Score from class probabilities, on ``num_splits`` consecutive splits: (mean, std).

    Formula:
        p(y)  = mean over x of p(y|x)
        IS    = exp(mean over x of KL(p(y|x) || p(y)))
              = exp(mean over x of sum_y p(y|x) (log p(y|x) - log p(y)))

    Salimans et al., "Improved Techniques for Training GANs", 2016
    (https://arxiv.org/abs/1606.03498), with Inception-v3 on ImageNet;
    here the probabilities come from this project's MNIST classifier
    (:func:`genai_tf.classifier.classifier_probabilities`), so the score is comparable only
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
    num_splits = positive_int(num_splits, "num_splits")
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
    (:func:`genai_tf.classifier.classifier_features`), not the paper's VGG-16.

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
    k = positive_int(k, "k")
    batch_size = positive_int(batch_size, "batch_size")
    if k >= min(len(real), len(fake)):
        raise ValueError(
            "k must be smaller than the number of samples in each set: the k-th nearest other point "
            f"must exist. Received: k={k}, len(real_features)={len(real)}, len(fake_features)={len(fake)}"
        )
    for name, features in (("real_features", real), ("fake_features", fake)):
        # Every squared distance is at most 4 max ||x||^2: finite here means finite distances.
        with np.errstate(over="ignore"):
            finite = np.isfinite(4.0 * np.sum(features**2, axis=1)).all()
        if not finite:
            raise ValueError(_too_large(name, features, "the squared distances overflow float64", "precision_recall"))
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


def coverage(real_features, fake_features, k=3, batch_size=500):
    """Share of real samples whose k-nearest-neighbour ball holds at least one generated sample.

    Formula:
        coverage = mean over real x of [exists fake f: ||f - x|| <= r_k(x, real)]

    Naeem et al., "Reliable Fidelity and Diversity Metrics for Generative
    Models", 2020 (https://arxiv.org/abs/2002.09797). It uses only the balls
    of the real samples, so, unlike :func:`precision_recall`, a few real
    outliers with large balls cannot make garbage look good: samples that
    all fall into the balls of a handful of real points cover only those.

    Args:
        real_features, fake_features: arrays (N_real, d) and (N_fake, d),
            N_real > k.
        k: positive int, the neighbour that sets each real ball's radius.
        batch_size: positive int, rows per block of the distance matrices.

    Returns:
        Python float in [0, 1], higher is better.

    Example:
    >>> real = np.array([[0.0], [1.0], [3.0]])   # k = 1 radii: 1, 1, 2
    >>> coverage(real, np.array([[0.5], [0.6]]), k=1)   # inside the balls of 0 and 1, not of 3
    0.6666666666666666
    """
    real, fake = _feature_pair(real_features, fake_features, names=("real_features", "fake_features"))
    k, batch_size = positive_int(k, "k"), positive_int(batch_size, "batch_size")
    if k >= len(real):
        raise ValueError(f"k must be smaller than len(real_features). Received: k={k}, len(real_features)={len(real)}")
    real_radii = _kth_neighbour_squared_radii(real, k, batch_size)
    real_squared_norms = np.sum(real**2, axis=1)
    covered = np.zeros(len(real), bool)
    for start in range(0, len(fake), batch_size):
        distances = _squared_distances(fake[start : start + batch_size], real, real_squared_norms)
        covered |= np.any(distances <= real_radii[None, :], axis=0)
    return float(covered.mean())


def nats_to_bits(nats):
    """A log-likelihood (or an entropy, a KL divergence) in nats, converted to bits.

    Formula:
        bits = nats / ln 2

    Args:
        nats: a value in nats: a Python or NumPy number, an array or a tensor.

    Returns:
        The value in bits, of the type of ``nats``.

    Example:
    >>> nats_to_bits(math.log(2.0))   # one fair coin flip: one bit
    1.0
    >>> nats_to_bits(np.array([0.0, math.log(8.0)])).round(12).tolist()
    [0.0, 3.0]
    """
    return nats / math.log(2.0)


def perplexity(mean_nll_nats):
    """The exponential of a mean negative log-likelihood per token: the effective number of choices.

    Formula:
        perplexity = exp(mean NLL per token, in nats) = 2^(bits per token)

    A uniform model over V tokens has mean NLL log V and perplexity exactly
    V; a model that is always certain and right has perplexity 1.

    Args:
        mean_nll_nats: mean negative log-likelihood per token in nats, a
            scalar >= 0 (a Python or NumPy number or a scalar tensor).

    Returns:
        Python float >= 1 for a non-negative NLL.

    Example:
    >>> round(perplexity(math.log(5.0)), 12)   # uniform over 5 tokens
    5.0
    >>> perplexity(0.0)
    1.0
    """
    return math.exp(mean_nll_nats)
