"""Closed-form results on known densities, to check the math numerically.

Densities are tabulated on an evenly spaced grid ``x`` with spacing ``dx``;
integrals are Riemann sums, accurate when the grid covers the mass finely.
"""

import numpy as np

from genai_tf.validation import positive_float


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
        raise ValueError(f"p and q must have the same shape. Received: p.shape={p.shape}, q.shape={q.shape}")
    support = p > 0
    if np.any(q[support] == 0):
        return float("inf")
    return float(np.sum(p[support] * np.log(p[support] / q[support])) * dx)


def js_divergence(p, q, dx=1.0):
    """Jensen-Shannon divergence of two tabulated densities (or pmfs with dx=1), in nats.

    Formula:
        JS(p, q) = 1/2 KL(p || m) + 1/2 KL(q || m),   m = (p + q) / 2
        with 0 log 0 = 0, so zero entries of p or q contribute exactly 0.

    It is symmetric, finite even where the supports differ (m > 0 wherever
    p > 0 or q > 0), and lies in [0, log 2]: 0 for p = q, log 2 for disjoint
    supports. This is the package's one Jensen-Shannon divergence; it is the
    quantity the minimax GAN minimises at the optimal discriminator (see
    "Generative Adversarial Nets", https://arxiv.org/abs/1406.2661, Theorem 1).

    Args:
        p, q: non-negative values of one shape: probabilities (dx=1) or
            densities on a grid of spacing ``dx``; zeros allowed.
        dx: the grid spacing, 1 for probability vectors.

    Returns:
        A float, in nats.

    Example:
    >>> # m = (1/2, 1/2); KL([1, 0] || m) = 1 log(1 / (1/2)) + 0 log 0 = log 2, the same for q: log 2.
    >>> bool(js_divergence([1.0, 0.0], [0.0, 1.0]) == np.log(2.0))
    True
    >>> # m = (3/4, 1/4): (1/2 log(2/3) + 1/2 log 2) / 2 + log(4/3) / 2 = 3/4 log(4/3) = 0.215762.
    >>> round(js_divergence([0.5, 0.5], [1.0, 0.0]), 6)
    0.215762
    """
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape. Received: p.shape={p.shape}, q.shape={q.shape}")
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


# --- A latent-variable model with an exact evidence: linear-Gaussian (probabilistic PCA) ------
#
# p(z) = N(0, I_k),  p(x | z) = N(W z + b, noise_var * I_d),  W of shape (d, k).
# Its evidence, posterior and the ELBO of any Gaussian q(z | x) have closed forms, so the
# decomposition log p(x) = ELBO(q) + KL(q(z | x) || p(z | x)) can be checked to round-off.

LOG_2PI = np.log(2.0 * np.pi)


def _linear_gaussian_arguments(x, weights, bias, noise_var):
    """Validate and convert the model's arguments; x becomes (n, d), with a flag for a 1-D x."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2:
        raise ValueError(f"weights must be a (data_dim, latent_dim) matrix. Received: weights.shape={weights.shape}")
    data_dim = weights.shape[0]
    bias = np.asarray(bias, dtype=np.float64)
    if bias.shape != (data_dim,):
        raise ValueError(
            f"bias must have shape (data_dim,) = ({data_dim},), matching weights.shape={weights.shape}. "
            f"Received: bias.shape={bias.shape}"
        )
    if np.shape(noise_var) != ():
        raise ValueError(f"noise_var must be a positive scalar. Received: noise_var={noise_var!r}")
    noise_var = positive_float(np.asarray(noise_var, dtype=np.float64)[()], "noise_var")
    x = np.asarray(x, dtype=np.float64)
    single = x.ndim == 1
    if x.ndim not in (1, 2) or x.shape[-1] != data_dim:
        raise ValueError(
            f"x must have shape (data_dim,) or (n, data_dim) with data_dim={data_dim} "
            f"(from weights.shape={weights.shape}). Received: x.shape={x.shape}"
        )
    return np.atleast_2d(x), weights, bias, noise_var, single


def _diagonal_arguments(q_mean, q_log_var, batch_shape, latent_dim):
    """Validate q's mean and log-variance against the batch shape and the latent size."""
    q_mean = np.asarray(q_mean, dtype=np.float64)
    q_log_var = np.asarray(q_log_var, dtype=np.float64)
    expected = (*batch_shape, latent_dim)
    if q_mean.shape != expected:
        raise ValueError(f"q_mean must have shape {expected}. Received: q_mean.shape={q_mean.shape}")
    if q_log_var.shape != expected:
        raise ValueError(f"q_log_var must have shape {expected} like q_mean. Received: q_log_var.shape={q_log_var.shape}")
    return q_mean, q_log_var


def _unbatch(values, single):
    return float(values[0]) if single else values


def linear_gaussian_log_evidence(x, weights, bias, noise_var):
    """Exact log p(x) of the linear-Gaussian latent model, in nats.

    Formula:
        p(z) = N(0, I),  p(x | z) = N(W z + b, noise_var * I)
        log p(x) = log N(x; b, C),  C = W W^T + noise_var * I
                 = -1/2 [d log(2 pi) + log det C + (x - b)^T C^-1 (x - b)]

    This is probabilistic PCA: see Tipping & Bishop, "Probabilistic Principal
    Component Analysis", J. R. Stat. Soc. B 61(3), 1999. It is the model on
    which "Auto-Encoding Variational Bayes" (https://arxiv.org/abs/1312.6114)
    bounds can be compared with the truth.

    Args:
        x: observations, shape (data_dim,) or (n, data_dim).
        weights: W, shape (data_dim, latent_dim).
        bias: b, shape (data_dim,).
        noise_var: the observation noise variance, a positive scalar.

    Returns:
        A float for a 1-D ``x``, else a float64 array (n,).

    Example:
    >>> round(linear_gaussian_log_evidence([0.0], [[1.0]], [0.0], 1.0), 6)  # log N(0; 0, 2)
    -1.265512
    """
    x, weights, bias, noise_var, single = _linear_gaussian_arguments(x, weights, bias, noise_var)
    data_dim = weights.shape[0]
    covariance = weights @ weights.T + noise_var * np.eye(data_dim)
    cholesky = np.linalg.cholesky(covariance)
    whitened = np.linalg.solve(cholesky, (x - bias).T)  # L^-1 (x - b), shape (d, n)
    log_det = 2.0 * np.sum(np.log(np.diag(cholesky)))
    values = -0.5 * (data_dim * LOG_2PI + log_det + np.sum(whitened**2, axis=0))
    return _unbatch(values, single)


def linear_gaussian_posterior(x, weights, bias, noise_var):
    """Exact posterior p(z | x) = N(mean, covariance) of the linear-Gaussian latent model.

    Formula:
        covariance = (I + W^T W / noise_var)^-1
        mean       = covariance W^T (x - b) / noise_var

    The covariance does not depend on x. It is diagonal when the columns of W
    are orthogonal; then a diagonal Gaussian q(z | x) can equal the posterior
    and the ELBO is tight. See Tipping & Bishop, "Probabilistic Principal
    Component Analysis", 1999, and Bishop, "Pattern Recognition and Machine
    Learning", 2006, eq. 2.116.

    Args:
        x: observations, shape (data_dim,) or (n, data_dim).
        weights: W, shape (data_dim, latent_dim).
        bias: b, shape (data_dim,).
        noise_var: the observation noise variance, a positive scalar.

    Returns:
        (mean, covariance): mean of shape (latent_dim,) for a 1-D ``x``, else
        (n, latent_dim); covariance of shape (latent_dim, latent_dim). float64.

    Example:
    >>> mean, covariance = linear_gaussian_posterior([2.0], [[1.0]], [0.0], 1.0)
    >>> float(mean[0]), float(covariance[0, 0])  # precision 1 + 1 = 2
    (1.0, 0.5)
    """
    x, weights, bias, noise_var, single = _linear_gaussian_arguments(x, weights, bias, noise_var)
    latent_dim = weights.shape[1]
    precision = np.eye(latent_dim) + weights.T @ weights / noise_var
    covariance = np.linalg.inv(precision)
    covariance = 0.5 * (covariance + covariance.T)
    mean = (x - bias) @ weights @ covariance / noise_var
    return (mean[0] if single else mean), covariance


def linear_gaussian_elbo(x, weights, bias, noise_var, q_mean, q_log_var):
    """Closed-form ELBO of q(z | x) = N(q_mean, diag(exp(q_log_var))) on the linear-Gaussian model.

    Formula:
        ELBO = E_q[log p(x | z)] - KL(q(z | x) || N(0, I))  <=  log p(x)
        E_q[log p(x | z)] = -1/2 [d log(2 pi noise_var)
                                  + (||x - W m - b||^2 + sum_j v_j ||W_:j||^2) / noise_var]
        KL(q || N(0, I))  = -1/2 sum_j (1 + log v_j - m_j^2 - v_j)
        with m = q_mean, v = exp(q_log_var).

    The gap log p(x) - ELBO equals KL(q(z | x) || p(z | x)) (see
    :func:`diagonal_gaussian_kl`), so the bound is tight exactly when q is
    the posterior. See "Auto-Encoding Variational Bayes", Kingma & Welling,
    2013 (https://arxiv.org/abs/1312.6114), eq. 1-3.

    Args:
        x: observations, shape (data_dim,) or (n, data_dim).
        weights: W, shape (data_dim, latent_dim).
        bias: b, shape (data_dim,).
        noise_var: the observation noise variance, a positive scalar.
        q_mean: means of q, shape (latent_dim,) or (n, latent_dim), like ``x``.
        q_log_var: log-variances of q (log sigma^2, not sigma), shape of ``q_mean``.

    Returns:
        A float for a 1-D ``x``, else a float64 array (n,), in nats.

    Example:
    >>> # 1-D model with W = 1, b = 0, noise 1; q is the exact posterior N(x/2, 1/2).
    >>> tight = linear_gaussian_elbo([2.0], [[1.0]], [0.0], 1.0, [1.0], [np.log(0.5)])
    >>> round(tight, 6), round(linear_gaussian_log_evidence([2.0], [[1.0]], [0.0], 1.0), 6)
    (-2.265512, -2.265512)
    """
    x, weights, bias, noise_var, single = _linear_gaussian_arguments(x, weights, bias, noise_var)
    data_dim, latent_dim = weights.shape
    batch_shape = () if single else (x.shape[0],)
    q_mean, q_log_var = _diagonal_arguments(q_mean, q_log_var, batch_shape, latent_dim)
    q_mean, q_var = np.atleast_2d(q_mean), np.exp(np.atleast_2d(q_log_var))
    residual = x - q_mean @ weights.T - bias
    spread = q_var @ np.sum(weights**2, axis=0)  # tr(W diag(v) W^T), shape (n,)
    expected_log_likelihood = -0.5 * (
        data_dim * (LOG_2PI + np.log(noise_var)) + (np.sum(residual**2, axis=1) + spread) / noise_var
    )
    kl_prior = -0.5 * np.sum(1.0 + np.log(q_var) - q_mean**2 - q_var, axis=1)
    return _unbatch(expected_log_likelihood - kl_prior, single)


def diagonal_gaussian_kl(q_mean, q_log_var, p_mean, p_covariance):
    """KL(q || p) of a diagonal Gaussian q from a full-covariance Gaussian p, in nats.

    Formula:
        q = N(m, diag(v)), v = exp(q_log_var);  p = N(mu, S)
        KL = 1/2 [tr(S^-1 diag(v)) + (mu - m)^T S^-1 (mu - m) - k + log det S - sum_j log v_j]

    With p = N(0, I) this is the VAE's KL term
    (:func:`genai_tf.losses.gaussian_kl_divergence`); with p the exact
    posterior of :func:`linear_gaussian_posterior` it is the gap between
    log p(x) and the ELBO. See "Auto-Encoding Variational Bayes"
    (https://arxiv.org/abs/1312.6114), appendix B, for the N(0, I) case.

    Args:
        q_mean: means of q, shape (latent_dim,) or (n, latent_dim).
        q_log_var: log-variances of q (log sigma^2), shape of ``q_mean``.
        p_mean: mean of p, shape of ``q_mean``.
        p_covariance: covariance of p, symmetric positive definite, shape
            (latent_dim, latent_dim), shared by every row of ``q_mean``.

    Returns:
        A float for a 1-D ``q_mean``, else a float64 array (n,), >= 0.

    Example:
    >>> round(diagonal_gaussian_kl([1.0], [0.0], [0.0], [[1.0]]), 6)  # mu^2 / 2
    0.5
    >>> round(diagonal_gaussian_kl([0.0], [np.log(4.0)], [0.0], [[1.0]]), 6)  # 1.5 - log 2
    0.806853
    """
    q_mean = np.asarray(q_mean, dtype=np.float64)
    if q_mean.ndim not in (1, 2) or q_mean.shape[-1] < 1:
        raise ValueError(
            f"q_mean must have shape (latent_dim,) or (n, latent_dim). Received: q_mean.shape={q_mean.shape}"
        )
    single = q_mean.ndim == 1
    latent_dim = q_mean.shape[-1]
    q_mean, q_log_var = _diagonal_arguments(q_mean, q_log_var, q_mean.shape[:-1], latent_dim)
    p_mean = np.asarray(p_mean, dtype=np.float64)
    if p_mean.shape != q_mean.shape:
        raise ValueError(f"p_mean must have the shape of q_mean, {q_mean.shape}. Received: p_mean.shape={p_mean.shape}")
    p_covariance = np.asarray(p_covariance, dtype=np.float64)
    if p_covariance.shape != (latent_dim, latent_dim):
        raise ValueError(
            f"p_covariance must have shape (latent_dim, latent_dim) = ({latent_dim}, {latent_dim}). "
            f"Received: p_covariance.shape={p_covariance.shape}"
        )
    try:
        cholesky = np.linalg.cholesky(p_covariance)
    except np.linalg.LinAlgError:
        raise ValueError("p_covariance must be symmetric positive definite. Received a matrix that is not.") from None
    precision = np.linalg.inv(p_covariance)
    q_mean, q_log_var, p_mean = np.atleast_2d(q_mean), np.atleast_2d(q_log_var), np.atleast_2d(p_mean)
    difference = p_mean - q_mean
    trace = np.exp(q_log_var) @ np.diag(precision)
    mahalanobis = np.einsum("ni,ij,nj->n", difference, precision, difference)
    log_det = 2.0 * np.sum(np.log(np.diag(cholesky)))
    values = 0.5 * (trace + mahalanobis - latent_dim + log_det - np.sum(q_log_var, axis=1))
    return _unbatch(values, single)


# --- What the generator's losses descend against the optimal discriminator ------------------------
#
# With D* = p_data / (p_data + p_g) held fixed at the current generator g_0, and p_theta a family
# of generator densities through g_0 at theta_0:
#   saturating      E_{p_theta}[log(1 - D*_0)]   has the gradient of  2 JSD(p_data, p_theta)
#   non-saturating  E_{p_theta}[-log D*_0]       has the gradient of  KL(p_theta || p_data) - 2 JSD(p_data, p_theta)
# at theta_0 only: the values differ, and so does the gradient if D* follows theta.


def reverse_kl_minus_2_jsd(p_data, p_model, dx=1.0):
    """KL(p_model || p_data) - 2 JSD(p_data, p_model): what the non-saturating GAN loss descends.

    Formula:
        F(p_g) = KL(p_g || p_data) - 2 JSD(p_data, p_g) = 2 KL(m || p_data),   m = (p_data + p_g) / 2
        E_{p_g}[-log D*] = F(p_g) + log 4 + E_{p_data}[log D*],   D* = p_data / (p_data + p_g)

    F is an f-divergence: F = sum p_data f(p_g / p_data) with f(u) = (1 + u) log((1 + u) / 2),
    convex (f'' = 1 / (1 + u)) with f(1) = 0, so F >= 0 with equality only at p_g = p_data.
    f(u) grows like u log u as u -> inf, so mass of p_g where p_data has little
    costs without bound, while f(0) = -log 2 is finite, so dropping a mode of
    p_data is cheap: F is mode-seeking, like the reverse KL.

    Against the optimal discriminator held fixed, the gradient of the
    non-saturating generator loss is the gradient of F (see
    :func:`generator_gradients_against_optimal_d`); the loss's *value* is F
    plus a term that also depends on the generator, as the second line says.
    See Arjovsky & Bottou, "Towards Principled Methods for Training Generative
    Adversarial Networks", ICLR 2017 (https://arxiv.org/abs/1701.04862), Theorem 2.5.

    Args:
        p_data, p_model: non-negative values of one shape: probabilities
            (dx=1) or densities on a grid of spacing ``dx``.
        dx: the grid spacing, 1 for probability vectors.

    Returns:
        A float in nats; inf where p_model has mass that p_data lacks.

    Example:
    >>> # KL([1, 0] || [1/2, 1/2]) = log 2 = 0.693147; JSD = 3/4 log(4/3) = 0.215762 (see js_divergence).
    >>> round(reverse_kl_minus_2_jsd([0.5, 0.5], [1.0, 0.0]), 6)
    0.261624
    >>> round(2 * kl_divergence([0.75, 0.25], [0.5, 0.5]), 6)  # 2 KL(m || p_data), m = (3/4, 1/4)
    0.261624
    """
    return kl_divergence(p_model, p_data, dx) - 2.0 * js_divergence(p_data, p_model, dx)


def _positive_table(values, name, shape=None):
    values = np.asarray(values, dtype=np.float64)
    if shape is not None and values.shape != shape:
        raise ValueError(f"{name} must have the shape of p_data, {shape}. Received: {name}.shape={values.shape}")
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(
            f"{name} must be finite and positive everywhere on the grid (the losses take log D* and "
            f"log(1 - D*)). Received: {name} with minimum {np.min(values) if values.size else 'none'}"
        )
    return values


def generator_gradients_against_optimal_d(density, theta, p_data, dx=1.0, step=1e-5):
    """Gradients at ``theta`` of both generator losses against D*, and of the divergences they follow.

    Formula (D*_0 = p_data / (p_data + p_theta0), held fixed while theta moves; at theta = theta0):
        grad E_{p_theta}[log(1 - D*_0)] = grad 2 JSD(p_data, p_theta)                     "saturating"
        grad E_{p_theta}[-log D*_0]     = grad [KL(p_theta || p_data) - 2 JSD(p_data, p_theta)]   "non_saturating"
    Proof: -log D*_0 = log(p_theta0 / p_data) - log(1 - D*_0). The first term's gradient is that
    of KL(p_theta || p_data) at theta0, because grad KL = int grad p_theta log(p_theta / p_data)
    + int grad p_theta and int grad p_theta = grad 1 = 0. The second term is the saturating loss
    (minus the part of V that does not involve theta), whose gradient at theta0 is that of
    C = V(D*, G) = -log 4 + 2 JSD, since D* maximises V there (the envelope theorem).

    Only the gradients agree, and only with D* frozen: "non_saturating_refit" re-computes D* at
    every theta (the loss against a discriminator that is always optimal) and differs. Each
    generator step against the current optimal D is therefore a gradient step on
    KL(p_g || p_data) - 2 JSD, which is not what the loss's value measures. See Arjovsky &
    Bottou, "Towards Principled Methods for Training Generative Adversarial Networks", ICLR 2017
    (https://arxiv.org/abs/1701.04862), Theorem 2.5, and "Generative Adversarial Nets"
    (https://arxiv.org/abs/1406.2661), Theorem 1.

    Args:
        density: callable, theta (float64 array of shape (k,)) -> p_theta on the grid, an array
            of p_data's shape, positive everywhere.
        theta: theta0, the parameters at which to differentiate, shape (k,).
        p_data: the data density on the grid (or pmf with dx=1), positive everywhere.
        dx: the grid spacing, 1 for probability vectors.
        step: the central finite-difference step in theta (error of order step^2).

    Returns:
        {name: float64 array (k,)} for "saturating", "two_jsd", "non_saturating",
        "reverse_kl_minus_2_jsd" and "non_saturating_refit".

    Example:
    >>> # Bernoulli p_theta = (t, 1 - t) at t = 1/4 against p_data = (1/2, 1/2). By hand:
    >>> # d/dt E[-log D*_0] = log((a + t) / a) - log((2 - a - t) / (1 - a)) = log 0.6 = -0.510826,
    >>> # d/dt 2 JSD = log(t / (a + t)) - log((1 - t) / (2 - a - t)) = log(1 / 1.8) = -0.587787.
    >>> g = generator_gradients_against_optimal_d(lambda t: np.array([t[0], 1 - t[0]]), [0.25], [0.5, 0.5])
    >>> [round(float(g[name][0]), 6) for name in ("non_saturating", "reverse_kl_minus_2_jsd", "saturating", "two_jsd")]
    [-0.510826, -0.510826, -0.587787, -0.587787]
    >>> round(float(g["non_saturating_refit"][0]), 6)  # log 0.6 + 1/3 - 3/5: D* moving with t adds a term
    -0.777492
    """
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim != 1 or theta.size == 0 or not np.all(np.isfinite(theta)):
        raise ValueError(f"theta must be a non-empty 1-D array of finite parameters. Received: theta={theta!r}")
    step, dx = positive_float(step, "step"), positive_float(dx, "dx")
    p_data = _positive_table(p_data, "p_data")

    def p(t):
        return _positive_table(density(t), "density(theta)", p_data.shape)

    p_0 = p(theta)
    minus_log_d_0 = np.log1p(p_0 / p_data)                    # -log D*_0
    log_one_minus_d_0 = -np.log1p(p_data / p_0)               # log(1 - D*_0)
    objectives = {
        "saturating": lambda q: np.sum(q * log_one_minus_d_0) * dx,
        "two_jsd": lambda q: 2.0 * js_divergence(p_data, q, dx),
        "non_saturating": lambda q: np.sum(q * minus_log_d_0) * dx,
        "reverse_kl_minus_2_jsd": lambda q: reverse_kl_minus_2_jsd(p_data, q, dx),
        "non_saturating_refit": lambda q: np.sum(q * np.log1p(q / p_data)) * dx,
    }
    gradients = {name: np.zeros(theta.size) for name in objectives}
    for i in range(theta.size):
        offset = np.zeros(theta.size)
        offset[i] = step
        p_plus, p_minus = p(theta + offset), p(theta - offset)
        for name, objective in objectives.items():
            gradients[name][i] = (objective(p_plus) - objective(p_minus)) / (2.0 * step)
    return gradients
