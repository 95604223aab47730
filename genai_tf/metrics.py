"""Evaluation metrics."""

import numpy as np


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
