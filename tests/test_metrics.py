"""Tests of genai_tf.metrics: pure functions on samples, features, probabilities and labels."""

import math

import numpy as np
import pytest
import tensorflow as tf

from genai_tf import metrics
from genai_tf.metrics import (
    class_coverage,
    classifier_inception_score,
    frechet_distance,
    kernel_distance,
    label_agreement,
    mode_coverage,
    nats_to_bits,
    perplexity,
    precision_recall,
)

# --- mode_coverage ---------------------------------------------------------------------------

CENTERS = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
# Four samples at mode 0 (one exactly 3 std away), two at mode 1, one at mode 2, none at
# mode 3, and one at (5, 5), 7.07 from every centre: not within 3 std of any mode.
SAMPLES = np.array(
    [[0.0, 0.0], [0.5, 0.0], [0.0, -1.0], [3.0, 0.0], [10.0, 1.0], [9.0, 0.0], [0.0, 10.0], [5.0, 5.0]]
)


def test_mode_coverage_counts_and_quality():
    result = mode_coverage(SAMPLES, CENTERS, std=1.0)
    assert result["counts"].tolist() == [4, 2, 1, 0]
    assert result["high_quality"] == pytest.approx(7 / 8)
    # Fair share 8 / 4 = 2; min_share 0.25 needs 0.5 samples: modes 0, 1, 2.
    assert result["modes_covered"] == 3
    assert isinstance(result["modes_covered"], int)


@pytest.mark.parametrize(
    ("min_share", "covered"),
    [
        (0.0, 3),  # needs one sample: the empty mode 3 does not count
        (0.5, 3),  # needs 1.0 sample: mode 2 has exactly 1, on the edge, and counts
        (0.51, 2),  # needs 1.02: mode 2 drops out
        (1.0, 2),  # needs 2.0: mode 1 has exactly 2
        (1.5, 1),  # needs 3.0: only mode 0
        (2.5, 0),  # needs 5.0: none
    ],
)
def test_mode_coverage_min_share_edge(min_share, covered):
    assert mode_coverage(SAMPLES, CENTERS, std=1.0, min_share=min_share)["modes_covered"] == covered


def test_mode_coverage_radius_is_inclusive():
    # (3, 0) is exactly n_std * std = 3 from mode 0; with n_std = 2.9 it is out.
    result = mode_coverage(SAMPLES, CENTERS, std=1.0, n_std=2.9)
    assert result["counts"].tolist() == [3, 2, 1, 0]
    assert result["high_quality"] == pytest.approx(6 / 8)
    # The radius scales with std: std = 2, n_std = 1.5 is the same 3.
    result = mode_coverage(SAMPLES, CENTERS, std=2.0, n_std=1.5)
    assert result["counts"].tolist() == [4, 2, 1, 0]


def ring_of_gaussians(n, n_modes=8, radius=2.0, std=0.02, seed=0):
    """The toy GAN data: an equal mixture of n_modes 2-D Gaussians evenly spaced on a circle."""
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return centers[rng.integers(0, n_modes, size=n)] + std * rng.standard_normal((n, 2)), centers


def test_mode_coverage_of_the_ring_data():
    samples, centers = ring_of_gaussians(4000, n_modes=8, std=0.02, seed=0)
    result = mode_coverage(samples, centers, std=0.02)
    assert result["modes_covered"] == 8
    # Within 3 std in 2-D: P(chi2_2 <= 9) = 1 - exp(-4.5) = 0.9889.
    assert result["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert result["counts"].sum() == round(result["high_quality"] * 4000)
    # A collapsed generator: every sample on mode 0.
    collapsed = mode_coverage(np.repeat(centers[:1], 100, axis=0), centers, std=0.02)
    assert collapsed["modes_covered"] == 1
    assert collapsed["counts"].tolist() == [100] + [0] * 7


def test_mode_coverage_rejects_no_samples():
    # With no samples the fair-share threshold would be 0 and every mode would count as covered.
    with pytest.raises(ValueError, match="empty"):
        mode_coverage(np.zeros((0, 2)), CENTERS, std=1.0)


@pytest.mark.parametrize(
    ("samples", "centers"),
    [
        (np.zeros((8, 3)), CENTERS),
        (np.zeros(8), CENTERS),
        (SAMPLES, np.zeros(2)),
        (np.zeros((2, 8, 2)), CENTERS),
    ],
)
def test_mode_coverage_rejects_bad_shapes(samples, centers):
    with pytest.raises(ValueError, match="samples.shape"):
        mode_coverage(samples, centers, std=1.0)


@pytest.mark.parametrize("std", [0.0, -1.0])
def test_mode_coverage_rejects_bad_std(std):
    with pytest.raises(ValueError, match=f"^std must be .*Received: std={std}"):
        mode_coverage(SAMPLES, CENTERS, std=std)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_std": 0.0}, "n_std=0.0"),
        ({"n_std": math.nan}, "n_std=nan"),
        ({"min_share": -0.1}, "min_share=-0.1"),
        ({"min_share": "0.5"}, "min_share='0.5'"),
    ],
)
def test_mode_coverage_rejects_bad_radius_and_share(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mode_coverage(SAMPLES, CENTERS, std=1.0, **kwargs)


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




# --- Fréchet distance ---------------------------------------------------------------------------


def test_frechet_distance_of_identical_sets_is_zero():
    features = np.random.default_rng(0).standard_normal((500, 4))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    # For diagonal covariances FD = sum (mu_a - mu_b)^2 + sum (sigma_a - sigma_b)^2.
    rng = np.random.default_rng(1)
    a = rng.standard_normal((200_000, 2)) * [1.0, 2.0] + [0.0, 1.0]
    b = rng.standard_normal((200_000, 2)) * [3.0, 2.0] + [1.0, -1.0]
    expected = (1.0 + 4.0) + (2.0**2 + 0.0)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.02)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)


def test_frechet_distance_of_one_feature_matches_the_closed_form():
    # d = 1: np.cov gives a 0-d array; FD = (mu_a - mu_b)^2 + (sigma_a - sigma_b)^2.
    rng = np.random.default_rng(2)
    a, b = rng.normal(1.0, 2.0, (200_000, 1)), rng.normal(-0.5, 0.5, (200_000, 1))
    assert frechet_distance(a, b) == pytest.approx(1.5**2 + 1.5**2, rel=0.02)


def test_frechet_distance_scales_with_the_square_of_the_features():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((300, 5)), rng.standard_normal((300, 5)) + 0.3
    assert frechet_distance(3.0 * a, 3.0 * b) == pytest.approx(9.0 * frechet_distance(a, b), rel=1e-9)


def _overflow_message(cause, name, largest):
    return (
        f"frechet_distance cannot be computed: {cause}. The features are too large "
        f"(largest |value| in {name}: {largest}); rescale them, e.g. divide by their standard deviation."
    )


def test_frechet_distance_of_features_too_large_for_float64_is_a_value_error():
    """Finite features whose statistics overflow: a ValueError naming the cause, not numpy's LinAlgError."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((50, 3)), rng.standard_normal((50, 3))
    scaled = a * 1e200
    largest = f"{np.abs(scaled).max():.3g}"
    with pytest.raises(ValueError) as info:
        frechet_distance(scaled, b)
    assert str(info.value) == _overflow_message("the covariance of features_a overflows float64", "features_a", largest)
    with pytest.raises(ValueError, match=r"the covariance of features_b overflows float64.*in features_b: "):
        frechet_distance(b, scaled)
    # Covariances of 1e200 are finite, but S_a^(1/2) S_b S_a^(1/2) is of order 1e400.
    both = np.concatenate([a, b]) * 1e100
    with pytest.raises(ValueError) as info:
        frechet_distance(a * 1e100, b * 1e100)
    expected_cause = "S_a^(1/2) S_b S_a^(1/2) overflows float64"
    assert str(info.value) == _overflow_message(expected_cause, "features_a and features_b", f"{np.abs(both).max():.3g}")
    assert isinstance(info.value.__cause__, np.linalg.LinAlgError)
    # Large features that do not overflow still give the distance, scaled by the square (here 1e60).
    assert frechet_distance(a * 1e30, b * 1e30) == pytest.approx(1e60 * frechet_distance(a, b), rel=1e-9)


def test_kernel_distance_and_precision_recall_of_features_too_large_are_value_errors():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((50, 3)), rng.standard_normal((50, 3))
    cause = "the cubic kernel (or the spread of its estimates) overflows float64"
    for scale in (1e200, 1e100, 1e30):   # the kernel, the sums, then only the std overflow
        largest = f"{np.abs(np.concatenate([a, b]) * scale).max():.3g}"
        with pytest.raises(ValueError) as info:
            kernel_distance(a * scale, b * scale, num_subsets=2, subset_size=20)
        assert str(info.value) == _overflow_message(cause, "features_a and features_b", largest).replace(
            "frechet_distance", "kernel_distance"
        )
    assert np.isfinite(kernel_distance(a * 1e20, b * 1e20, num_subsets=2, subset_size=20)).all()
    with pytest.raises(ValueError) as info:
        precision_recall(a, b * 1e154)
    expected = _overflow_message("the squared distances overflow float64", "fake_features", f"{np.abs(b * 1e154).max():.3g}")
    assert str(info.value) == expected.replace("frechet_distance", "precision_recall")
    # Features that big still give the same balls as the unscaled ones, when they do not overflow.
    assert precision_recall(a * 1e100, b * 1e100) == precision_recall(a, b)


def test_frechet_distance_rejects_mismatched_features():
    with pytest.raises(ValueError, match="same d"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="N >= 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


@pytest.mark.parametrize("metric", [frechet_distance, kernel_distance, precision_recall])
def test_feature_metrics_reject_bad_feature_arrays(metric):
    with pytest.raises(ValueError, match=r"same d.*shape=\(5, 3\).*shape=\(5, 4\)"):
        metric(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"N >= 2.*shape=\(1, 3\)"):
        metric(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"shape=\(5,\)"):
        metric(np.zeros(5), np.zeros((5, 1)))
    features = np.random.default_rng(0).standard_normal((5, 3))
    features[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf in 1 values"):
        metric(np.ones((5, 3)), features)


# --- Kernel distance (KID) ----------------------------------------------------------------------


def cubic_kernel(x, y):
    return (np.dot(x, y) / len(x) + 1.0) ** 3


def test_kernel_distance_matches_a_hand_computed_estimate():
    a = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, -1.0]])
    b = np.array([[1.0, 0.0], [0.0, -2.0], [3.0, 1.0]])
    m = 3
    within_a = sum(cubic_kernel(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    within_b = sum(cubic_kernel(b[i], b[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    across = sum(cubic_kernel(a[i], b[j]) for i in range(m) for j in range(m)) / m**2
    expected = within_a + within_b - 2 * across
    # With 3 points in each set every subset is the whole set, reordered: one value, std 0.
    mean, std = kernel_distance(a, b, num_subsets=4)
    assert mean == pytest.approx(expected, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)
    # subset_size is capped at the smaller set: 3 of the 4 rows of a bigger b per subset.
    bigger_b = np.vstack([b, [[5.0, 5.0]]])
    mean, std = kernel_distance(a, bigger_b, num_subsets=50, subset_size=100)
    assert std > 0
    assert mean != pytest.approx(expected)


def test_kernel_distance_is_unbiased_for_one_distribution():
    # 400 independent pairs of 20-point samples of one Gaussian: the mean of the estimates is 0
    # within 3 standard errors. The biased estimator (diagonal kept) fails the same test.
    rng = np.random.default_rng(0)
    unbiased, biased = [], []
    for _ in range(400):
        a, b = rng.standard_normal((20, 4)), rng.standard_normal((20, 4))
        unbiased.append(kernel_distance(a, b, num_subsets=1)[0])
        kernels = [np.mean((u @ v.T / 4 + 1.0) ** 3) for u, v in ((a, a), (b, b), (a, b))]
        biased.append(kernels[0] + kernels[1] - 2 * kernels[2])
    standard_error = np.std(unbiased) / np.sqrt(len(unbiased))
    assert abs(np.mean(unbiased)) < 3 * standard_error
    assert np.mean(biased) > 10 * np.std(biased) / np.sqrt(len(biased))


def test_kernel_distance_of_a_two_point_case_worked_by_hand():
    # d = 1, k(x, y) = (x y + 1)^3. a = {0, 1}: k(0, 1) = 1, within-a mean 1. b = {1, 2}: k(1, 2) = 27,
    # within-b mean 27. Across: k(0, 1) = k(0, 2) = 1, k(1, 1) = 8, k(1, 2) = 27, mean 37 / 4 = 9.25.
    # MMD^2_u = 1 + 27 - 2 * 9.25 = 9.5.
    mean, std = kernel_distance([[0.0], [1.0]], [[1.0], [2.0]], num_subsets=3, subset_size=2)
    assert mean == pytest.approx(9.5, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)


def test_kernel_distance_of_disjoint_halves_of_one_pool_has_mean_exactly_zero():
    # Notebook 11 splits one finite pool into two disjoint halves. Every within-set pair and every cross pair
    # is then a uniformly drawn pair of distinct pool points, so the expectation over all splits is exactly 0,
    # at every set size: enumerate every ordered pair of disjoint 2-point sets of a 6-point pool.
    import itertools

    pool = np.random.default_rng(5).standard_normal((6, 3)) * [1.0, 3.0, 0.5]
    estimates = [
        kernel_distance(pool[list(a)], pool[list(b)], num_subsets=1, subset_size=2)[0]
        for a in itertools.combinations(range(6), 2)
        for b in itertools.combinations(sorted(set(range(6)) - set(a)), 2)
    ]
    assert len(estimates) == 15 * 6
    assert np.mean(estimates) == pytest.approx(0.0, abs=1e-12 * np.mean(np.abs(estimates)))
    assert np.std(estimates) > 0.1   # each estimate is far from 0: only their mean is exactly 0
    # Sets that share points are not independent: the cross term then holds k(x, x), larger than the
    # average pair for this kernel, and the mean is negative. a and b share one point here.
    shared = [kernel_distance(pool[[i, j]], pool[[i, l]], num_subsets=1, subset_size=2)[0]
              for i, j, l in itertools.permutations(range(6), 3)]
    assert np.mean(shared) < -0.1 * np.std(estimates)


def test_kernel_distance_matches_the_closed_form_in_one_dimension():
    # In 1-D, k(x, y) = (xy + 1)^3 = x^3 y^3 + 3 x^2 y^2 + 3 xy + 1, so
    # MMD^2 = (m3_a - m3_b)^2 + 3 (m2_a - m2_b)^2 + 3 (m1_a - m1_b)^2 for the raw moments.
    # N(0, 1): m = (0, 1, 0); N(1, 1): m = (1, 2, 4). MMD^2 = 16 + 3 + 3 = 22.
    # Sampling noise of the third moments (about 0.5) and of the subsets (about 0.5) fit in 10%.
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((20_000, 1)), rng.standard_normal((20_000, 1)) + 1.0
    mean, std = kernel_distance(a, b, num_subsets=20)
    assert mean == pytest.approx(22.0, rel=0.1)
    assert 0 < std < 5


def test_kernel_distance_separates_shifted_gaussians_and_is_seeded():
    rng = np.random.default_rng(1)
    real = rng.standard_normal((1000, 16))
    same = kernel_distance(real, rng.standard_normal((1000, 16)), subset_size=300)
    shifted = kernel_distance(real, rng.standard_normal((1000, 16)) + 0.25, subset_size=300)
    # Within a few subset standard deviations of 0 for one distribution (the test above checks the
    # expectation properly), and many of them away from 0 for a shift of 0.25 in every coordinate.
    assert abs(same[0]) < 3 * same[1] and abs(same[0]) < 0.01
    assert shifted[0] > 0.1 and shifted[0] > 5 * shifted[1]
    again = kernel_distance(real, real + 0.25, subset_size=300, seed=3)
    assert again == kernel_distance(real, real + 0.25, subset_size=300, seed=3)
    assert again != kernel_distance(real, real + 0.25, subset_size=300, seed=4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"subset_size": 1}, "integer >= 2.*subset_size=1"),
        ({"subset_size": 0}, "subset_size=0"),
        ({"num_subsets": 0}, "num_subsets=0"),
        ({"num_subsets": 2.0}, "num_subsets=2.0"),
    ],
)
def test_kernel_distance_rejects_bad_subsets(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kernel_distance(np.zeros((5, 2)), np.ones((5, 2)), **kwargs)


# --- Inception Score ----------------------------------------------------------------------------


def test_inception_score_extremes():
    # Confident predictions spread evenly over 10 classes: IS = 10, the maximum.
    even = np.eye(10)[np.arange(1000) % 10]
    assert classifier_inception_score(even) == pytest.approx((10.0, 0.0), abs=1e-9)
    # The same prediction for every sample, confident or not: IS = 1, the minimum.
    assert classifier_inception_score(np.eye(10)[np.zeros(50, int)]) == pytest.approx((1.0, 0.0), abs=1e-9)
    soft = np.tile(np.random.default_rng(0).dirichlet(np.ones(10)), (50, 1))
    assert classifier_inception_score(soft) == pytest.approx((1.0, 0.0), abs=1e-9)


def test_inception_score_of_random_probabilities_is_between_the_bounds():
    rng = np.random.default_rng(0)
    for concentration in (0.1, 1.0, 10.0):
        score, std = classifier_inception_score(rng.dirichlet(np.full(10, concentration), size=500))
        assert 1.0 < score < 10.0 and std == 0.0
    # Sharper predictions (smaller concentration) score higher.
    scores = [classifier_inception_score(rng.dirichlet(np.full(10, c), size=2000))[0] for c in (0.1, 1.0, 10.0)]
    assert scores[0] > scores[1] > scores[2]


def test_inception_score_matches_the_formula_on_random_rows():
    probabilities = np.random.default_rng(2).dirichlet(np.ones(4), size=7)
    marginal = probabilities.mean(axis=0)
    kl = [sum(p[y] * math.log(p[y] / marginal[y]) for y in range(4)) for p in probabilities]
    assert classifier_inception_score(probabilities)[0] == pytest.approx(math.exp(np.mean(kl)), rel=1e-12)


def test_inception_score_splits():
    # First half classes 0-4, second half 5-9: each split alone scores 5, together 10.
    halves = np.eye(10)[np.r_[np.arange(500) % 5, 5 + np.arange(500) % 5]]
    assert classifier_inception_score(halves, num_splits=1) == pytest.approx((10.0, 0.0))
    assert classifier_inception_score(halves, num_splits=2) == pytest.approx((5.0, 0.0))
    # Three splits of 334, 333 and 333 rows: the first holds only classes 0-4 (about 5), the middle
    # one 166 rows of classes 0-4 and 167 of 5-9 (about 10), the last only classes 5-9 (about 5).
    mean, std = classifier_inception_score(halves, num_splits=3)
    assert mean == pytest.approx((5 + 10 + 5) / 3, rel=1e-3) and std > 0


def test_inception_score_tolerates_rounding_only():
    probabilities = np.array([[1.0, 0.0], [0.5, 0.5]])
    expected = classifier_inception_score(probabilities)
    # float32 softmax rows are off by about 1e-7; up to 1e-3 is accepted and renormalised.
    assert classifier_inception_score(probabilities * (1 + 5e-4)) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="row 1 sums to 0.99"):
        classifier_inception_score([[1.0, 0.0], [0.5, 0.49]])
    with pytest.raises(ValueError, match=r"non-negative.*min\(\)=-0.5 in row 0"):
        classifier_inception_score([[1.5, -0.5], [0.5, 0.5]])


@pytest.mark.parametrize(
    ("probabilities", "num_splits", "match"),
    [
        (np.full(10, 0.1), 1, r"probabilities.shape=\(10,\)"),
        (np.zeros((3, 0)), 1, r"probabilities.shape=\(3, 0\)"),
        (np.eye(3), 4, "one row per split.*num_splits=4"),
        (np.eye(3), 0, "num_splits=0"),
        (np.full((2, 2), np.nan), 1, "NaN or inf in 4 values"),
    ],
)
def test_inception_score_rejects_bad_input(probabilities, num_splits, match):
    with pytest.raises(ValueError, match=match):
        classifier_inception_score(probabilities, num_splits=num_splits)


# --- Precision and recall -----------------------------------------------------------------------


def test_precision_recall_of_identical_and_far_apart_sets():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((300, 8))
    assert precision_recall(real, real.copy()) == (1.0, 1.0)
    assert precision_recall(real, rng.standard_normal((200, 8)) + 100.0) == (0.0, 0.0)


def test_precision_recall_of_a_mode_collapsed_generator():
    # Real data has two clusters; the generator covers only the left one: every sample looks
    # real (high precision) but half the real data cannot be produced (recall about 0.5).
    rng = np.random.default_rng(0)
    centers = np.array([[-10.0, 0.0], [10.0, 0.0]])
    real = np.vstack([rng.standard_normal((200, 2)) + center for center in centers])
    fake = rng.standard_normal((200, 2)) + centers[0]
    precision, recall = precision_recall(real, fake)
    assert precision > 0.95
    assert 0.4 < recall <= 0.5
    # Swapping the roles swaps the two numbers.
    assert precision_recall(fake, real) == (recall, precision)


def test_precision_recall_hand_computed_and_batched():
    # 1-D, k = 1. Real radii: 0 -> 1, 1 -> 1, 3 -> 2. Fake radii: 0.5 -> 0.25, 0.75 -> 0.25, 5 -> 4.25.
    # Precision: 0.5 and 0.75 are in the balls of 0 and 1; 5 is on the ball of 3 (|5 - 3| = 2): 3/3.
    # Recall: 1 is on the ball of 0.75; 3 is in the ball of 5; 0 is in no ball: 2/3.
    real, fake = np.array([[0.0], [1.0], [3.0]]), np.array([[0.5], [0.75], [5.0]])
    assert precision_recall(real, fake, k=1) == (1.0, pytest.approx(2 / 3))
    # With k = 2 the real radii are 3, 2, 3 and the fake radii 4.5, 4.25, 4.5: everything is covered.
    assert precision_recall(real, fake, k=2) == (1.0, 1.0)
    rng = np.random.default_rng(3)
    real, fake = rng.standard_normal((53, 5)), rng.standard_normal((41, 5)) + 1.0
    result = precision_recall(real, fake, k=4)
    assert 0 < result[0] < 1 and 0 < result[1] < 1
    # Blocks of 7 rows (not dividing 53 or 41) give the same answer as one block.
    assert precision_recall(real, fake, k=4, batch_size=7) == result


def test_coverage_hand_computed_and_not_fooled_by_one_large_real_ball():
    # 1-D, k = 1: real radii 0 -> 1, 1 -> 1, 3 -> 2. The fakes 0.5 and 0.6 are in the balls of 0 and 1.
    real = np.array([[0.0], [1.0], [3.0]])
    assert metrics.coverage(real, np.array([[0.5], [0.6]]), k=1) == pytest.approx(2 / 3)
    # A real outlier at 20 whose ball (radius 17) holds every fake: precision 1.0, coverage 1 of 4.
    real = np.array([[0.0], [1.0], [3.0], [20.0]])
    fake = np.full((50, 1), 35.0) + np.linspace(0, 0.1, 50)[:, None]
    assert precision_recall(real, fake, k=1)[0] == 1.0
    assert metrics.coverage(real, fake, k=1) == 0.25
    assert metrics.coverage(real, real.copy(), k=1) == 1.0
    with pytest.raises(ValueError, match=r"^k must be smaller than len\(real_features\)\. Received: k=4"):
        metrics.coverage(real, fake, k=4)


@pytest.mark.parametrize(
    ("k", "batch_size", "match"),
    [
        (3, 500, r"k must be smaller.*k=3, len\(real_features\)=3, len\(fake_features\)=10"),
        (10, 500, r"k=10"),
        (0, 500, "k=0"),
        (1.5, 500, r"k=1.5"),
        (1, 0, "batch_size=0"),
    ],
)
def test_precision_recall_rejects_bad_k(k, batch_size, match):
    with pytest.raises(ValueError, match=match):
        precision_recall(np.zeros((3, 2)), np.ones((10, 2)), k=k, batch_size=batch_size)


# --- boundaries, defaults, batching and messages of the sample metrics ---------------------

def test_precision_recall_counts_a_point_on_a_ball_boundary_and_does_not_depend_on_the_batch_size():
    # 1-D, k = 1: every fake ball has squared radius 1; the real point 4 lies on the ball of the fake point 3.
    fake = np.array([[0.0], [1.0], [2.0], [3.0]])
    real = np.array([[4.0], [10.0], [11.0]])
    assert metrics.precision_recall(real, fake, k=1) == (1.0, pytest.approx(1 / 3))   # the ball of 4 holds every fake
    # Blocks of 2 or 7 rows against one block of 500: the same radii, the same counts.
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(30, 3)), rng.normal(1.5, 0.5, size=(23, 3))
    whole = metrics.precision_recall(a, b, k=3, batch_size=500)
    assert 0 < whole[0] < 1 and 0 < whole[1] < 1
    assert metrics.precision_recall(a, b, k=3, batch_size=2) == whole
    assert metrics.precision_recall(a, b, k=3, batch_size=7) == whole
    assert metrics.precision_recall(a, b) == whole                       # k = 3 by default
    assert metrics.precision_recall(a, b, k=4) != whole
    with pytest.raises(ValueError, match=r"^real_features and fake_features must be \(N, d\) arrays"):
        metrics.precision_recall(a[:, :2], b)
    with pytest.raises(ValueError, match=r"^k must be smaller than the number of samples in each set"):
        metrics.precision_recall(a[:3], b, k=3)


def test_feature_metrics_accept_their_smallest_inputs_and_name_bad_ones():
    two = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert metrics.frechet_distance(two, two) == pytest.approx(0.0, abs=1e-12)   # N = 2 is enough
    with pytest.raises(ValueError, match=r"^features_a and features_b must be \(N, d\) arrays with the same d and N >= 2"):
        metrics.frechet_distance(two[:1], two)
    with pytest.raises(ValueError, match=r"N >= 2. Received: features_a.shape=\(2, 2\), features_b.shape=\(1, 2\)"):
        metrics.frechet_distance(two, two[:1])
    # Integer features are read as float64 (not truncated): the FD of a shifted copy is the squared shift.
    integers = np.array([[0, 0], [1, 3], [2, 1]])
    assert metrics.frechet_distance(integers, integers + np.array([[1, 0]]) / 2) == pytest.approx(0.25)


def test_kernel_distance_defaults_subset_sizes_and_unequal_sets():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(1100, 2)), rng.normal(0.3, 1.0, size=(1050, 2))
    # The defaults: 10 subsets of 1,000 rows drawn with seed 0.
    default = metrics.kernel_distance(a, b)
    assert default == metrics.kernel_distance(a, b, num_subsets=10, subset_size=1000, seed=0)
    assert default != metrics.kernel_distance(a, b, num_subsets=10, subset_size=1000, seed=1)
    # Subsets are at most the smaller set (20 rows here), drawn without replacement, and 2 rows are enough.
    small = metrics.kernel_distance(a[:50], b[:20], num_subsets=3, subset_size=1000)
    assert small == metrics.kernel_distance(a[:50], b[:20], num_subsets=3, subset_size=20)
    same = metrics.kernel_distance(a[:20], a[:20], num_subsets=3, subset_size=20)
    assert same[1] == pytest.approx(0.0, abs=1e-12)   # every subset is the whole set, in another order
    assert np.isfinite(metrics.kernel_distance(a[:2], b[:2], num_subsets=1, subset_size=2)[0])
    with pytest.raises(ValueError, match="subset_size"):
        metrics.kernel_distance(a, b, subset_size=1)


def test_inception_score_edge_cases_and_the_row_named_in_errors():
    assert metrics.classifier_inception_score(np.ones((3, 1))) == (1.0, 0.0)   # one class: IS = 1
    assert metrics.classifier_inception_score(np.eye(4), num_splits=4) == (1.0, 0.0)   # one row per split
    with pytest.raises(ValueError, match=r"^probabilities must be an \(N, num_classes\) array of class probabilities"):
        metrics.classifier_inception_score(np.ones(3))
    with pytest.raises(ValueError, match=r"^probabilities needs at least one row per split"):
        metrics.classifier_inception_score(np.eye(4), num_splits=5)
    negative = np.full((4, 2), 0.5)
    negative[2] = [1.5, -0.5]
    with pytest.raises(ValueError, match=r"^probabilities must be non-negative .* in row 2$"):
        metrics.classifier_inception_score(negative)
    off = np.full((4, 2), 0.5)
    off[1] = [0.5, 0.49]   # sums to 0.99: 1e-2 away
    off[3] = [0.5, 0.5009]   # within 1e-3: accepted on its own
    with pytest.raises(ValueError, match=r"^each row of probabilities must sum to 1 within 1e-3 .* row 1 sums to 0.99"):
        metrics.classifier_inception_score(off)
    almost = np.full((4, 2), 0.5)
    almost[3] = [0.5, 0.5009]
    assert metrics.classifier_inception_score(almost)[0] == pytest.approx(1.0, abs=1e-6)


# --- nats_to_bits and perplexity ---------------------------------------------------------------


def test_nats_to_bits_hand_values():
    # One bit is ln 2 nats; 8 equally likely outcomes carry log2 8 = 3 bits.
    assert nats_to_bits(math.log(2.0)) == 1.0
    assert nats_to_bits(math.log(8.0)) == pytest.approx(3.0, rel=1e-15)
    assert nats_to_bits(0.0) == 0.0
    assert nats_to_bits(1.0) == pytest.approx(1.4426950408889634, rel=1e-15)   # 1 / ln 2
    # Arrays and tensors keep their type and are converted element by element.
    converted = nats_to_bits(np.log([1.0, 2.0, 4.0, 1024.0]))
    assert isinstance(converted, np.ndarray)
    np.testing.assert_allclose(converted, [0.0, 1.0, 2.0, 10.0], rtol=1e-15, atol=0)
    tensor = nats_to_bits(tf.constant([math.log(2.0), math.log(16.0)], tf.float64))
    assert isinstance(tensor, tf.Tensor)
    np.testing.assert_allclose(tensor.numpy(), [1.0, 4.0], rtol=1e-15)


def test_perplexity_hand_values():
    # A uniform model over V tokens has mean NLL ln V and perplexity V; a certain, right one has 1.
    assert perplexity(math.log(5.0)) == pytest.approx(5.0, rel=1e-15)
    for vocabulary_size in (2, 97, 50_000):
        assert perplexity(math.log(vocabulary_size)) == pytest.approx(vocabulary_size, rel=1e-12)
    assert perplexity(0.0) == 1.0
    assert perplexity(1.0) == pytest.approx(math.e, rel=1e-15)
    assert isinstance(perplexity(np.float32(math.log(3.0))), float)
    assert perplexity(tf.constant(math.log(3.0), tf.float64)) == pytest.approx(3.0, rel=1e-12)


def test_perplexity_is_two_to_the_bits():
    # exp(nats) = 2 ** (nats / ln 2): the two conversions agree on any value.
    for nats in (0.1, 0.6931, 1.880 * math.log(2.0), 7.3):
        assert perplexity(nats) == pytest.approx(2.0 ** nats_to_bits(nats), rel=1e-12)
