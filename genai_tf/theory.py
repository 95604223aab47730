"""Closed-form results on known densities, to check the math numerically.

Densities are tabulated on an evenly spaced grid ``x`` with spacing ``dx``;
integrals are Riemann sums, accurate when the grid covers the mass finely.
"""

import numpy as np


def gaussian_pdf(x, mean=0.0, std=1.0):
    """Density of N(mean, std^2) at ``x``.

    Example:
    >>> round(float(gaussian_pdf(0.0)), 6)  # 1 / sqrt(2 pi)
    0.398942
    """
    if np.any(np.asarray(std) <= 0):
        raise ValueError(f"std must be positive. Received: std={std}")
    z = (np.asarray(x, dtype=np.float64) - mean) / std
    return np.exp(-0.5 * z**2) / (std * np.sqrt(2 * np.pi))


def gaussian_kl(mean_p, std_p, mean_q, std_q):
    """KL(N(mean_p, std_p^2) || N(mean_q, std_q^2)) in closed form, in nats.

    Formula:
        KL = log(std_q / std_p) + (std_p^2 + (mean_p - mean_q)^2) / (2 std_q^2) - 1/2

    Example:
    >>> gaussian_kl(1.0, 1.0, 0.0, 1.0)
    0.5
    """
    return float(
        np.log(std_q / std_p) + (std_p**2 + (mean_p - mean_q) ** 2) / (2 * std_q**2) - 0.5
    )


def kl_divergence(p, q, dx=1.0):
    """KL(p || q) = sum p log(p / q) dx for tabulated densities (or pmfs with dx=1).

    Terms with p = 0 contribute 0; p > 0 where q = 0 gives inf.

    Example:
    >>> round(kl_divergence([0.5, 0.5], [0.9, 0.1]), 4)
    0.5108
    """
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape. Received: {p.shape} and {q.shape}")
    support = p > 0
    if np.any(q[support] == 0):
        return float("inf")
    return float(np.sum(p[support] * np.log(p[support] / q[support])) * dx)


def js_divergence(p, q, dx=1.0):
    """Jensen-Shannon divergence: (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2.

    Lies in [0, log 2].

    Example:
    >>> round(js_divergence([1.0, 0.0], [0.0, 1.0]), 4)  # disjoint supports: log 2
    0.6931
    """
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m, dx) + 0.5 * kl_divergence(q, m, dx)


def optimal_discriminator(p_data, p_model):
    """D*(x) = p_data(x) / (p_data(x) + p_model(x)), the best discriminator for a fixed G.

    Where both densities are 0 the value is set to 1/2.

    Example:
    >>> optimal_discriminator(np.array([3.0, 1.0, 0.0]), np.array([1.0, 1.0, 0.0])).tolist()
    [0.75, 0.5, 0.5]
    """
    p_data, p_model = np.asarray(p_data, dtype=np.float64), np.asarray(p_model, dtype=np.float64)
    total = p_data + p_model
    return np.where(total > 0, p_data / np.where(total > 0, total, 1.0), 0.5)


def gan_value(d, p_data, p_model, dx):
    """V(D, G) = E_data[log D] + E_model[log(1 - D)] for a tabulated D on the grid.

    Example:
    >>> p = np.array([0.5, 0.5]); round(gan_value(np.full(2, 0.5), p, p, 1.0), 4)  # -log 4
    -1.3863
    """
    d = np.clip(np.asarray(d, dtype=np.float64), 1e-300, 1 - 1e-16)
    p_data, p_model = np.asarray(p_data, dtype=np.float64), np.asarray(p_model, dtype=np.float64)
    return float(np.sum(p_data * np.log(d) + p_model * np.log1p(-d)) * dx)
