"""Tests of genai_tf.theory: divergences and the GAN optimum checked numerically on a grid."""

import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

import genai_tf
from genai_tf import theory
from genai_tf.losses import minimax_discriminator_loss
from genai_tf.models import build_mlp_discriminator

LOG2 = math.log(2.0)

# A fine grid that holds all the mass of the Gaussians below.
X, DX = np.linspace(-15.0, 15.0, 30_001, retstep=True)


def pdf(mean, std):
    return theory.gaussian_pdf(X, mean, std)


def test_gaussian_pdf_integrates_to_one_and_rejects_bad_std():
    assert np.sum(pdf(0.7, 1.3)) * DX == pytest.approx(1.0, abs=1e-9)
    assert float(theory.gaussian_pdf(1.0, 1.0, 2.0)) == pytest.approx(1 / (2 * math.sqrt(2 * math.pi)))
    with pytest.raises(ValueError, match="std"):
        theory.gaussian_pdf(0.0, 0.0, 0.0)


# --- KL --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mean_p", "std_p", "mean_q", "std_q"),
    [
        (0.0, 1.0, 0.0, 1.0),
        (1.0, 1.0, 0.0, 1.0),
        (0.5, 0.8, -0.3, 1.3),
        (2.0, 0.5, 0.0, 1.0),
        (0.0, 2.0, 1.0, 0.7),
    ],
)
def test_gaussian_kl_closed_form_matches_the_grid(mean_p, std_p, mean_q, std_q):
    closed = theory.gaussian_kl(mean_p, std_p, mean_q, std_q)
    grid = theory.kl_divergence(pdf(mean_p, std_p), pdf(mean_q, std_q), DX)
    assert closed >= 0.0
    assert grid == pytest.approx(closed, rel=1e-4, abs=1e-9)


def test_gaussian_kl_hand_values():
    # KL(N(1, 1) || N(0, 1)) = 0 + (1 + 1) / 2 - 1/2 = 1/2.
    assert theory.gaussian_kl(1.0, 1.0, 0.0, 1.0) == pytest.approx(0.5)
    # KL(N(0, 2^2) || N(0, 1)) = log(1/2) + 4/2 - 1/2 = 1.5 - log 2.
    assert theory.gaussian_kl(0.0, 2.0, 0.0, 1.0) == pytest.approx(1.5 - LOG2)
    assert theory.gaussian_kl(0.3, 0.7, 0.3, 0.7) == pytest.approx(0.0, abs=1e-15)


def test_kl_is_asymmetric_for_unequal_variances():
    # KL(N(0,1) || N(0,2^2)) = log 2 + 1/8 - 1/2 = 0.318;  KL(N(0,2^2) || N(0,1)) = 1.5 - log 2 = 0.807.
    forward = theory.kl_divergence(pdf(0.0, 1.0), pdf(0.0, 2.0), DX)
    backward = theory.kl_divergence(pdf(0.0, 2.0), pdf(0.0, 1.0), DX)
    assert forward == pytest.approx(LOG2 + 1 / 8 - 1 / 2, rel=1e-4)
    assert backward == pytest.approx(1.5 - LOG2, rel=1e-4)
    assert abs(forward - backward) > 0.4


def test_kl_of_pmfs_and_support():
    # 0.5 log(0.5 / 0.9) + 0.5 log(0.5 / 0.1) = 0.5 log(25 / 9) = 0.510826.
    assert theory.kl_divergence([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.5 * math.log(25 / 9))
    # p = 0 terms count 0; p > 0 where q = 0 gives inf.
    assert theory.kl_divergence([0.0, 1.0], [0.5, 0.5]) == pytest.approx(LOG2)
    assert theory.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    with pytest.raises(ValueError, match="same shape"):
        theory.kl_divergence([0.5, 0.5], [1.0])


# --- JS --------------------------------------------------------------------------------------


def test_js_divergence_bounds_and_symmetry():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
        js = theory.js_divergence(p, q)
        assert 0.0 <= js <= LOG2
        assert js == pytest.approx(theory.js_divergence(q, p), abs=1e-15)


def test_js_divergence_extremes():
    p = pdf(0.0, 1.0)
    assert theory.js_divergence(p, p, DX) == pytest.approx(0.0, abs=1e-12)
    # Disjoint supports: uniform on [-3, -1] and on [1, 3].
    left = np.where((X >= -3) & (X < -1), 0.5, 0.0)
    right = np.where((X >= 1) & (X < 3), 0.5, 0.0)
    assert theory.js_divergence(left, right, DX) == pytest.approx(LOG2, rel=1e-3)
    assert theory.js_divergence([1.0, 0.0], [0.0, 1.0]) == pytest.approx(LOG2, abs=1e-15)


def test_js_divergence_of_probability_vectors_with_zeros_by_hand():
    # 0 log 0 = 0: zero entries, in one vector or in both, add exactly nothing, with no warning on the way.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # m = (1/4, 1/2, 1/4): KL(p || m) = 1/2 log 2 + 1/2 log 1 = KL(q || m), so JS = 1/2 log 2.
        assert theory.js_divergence([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]) == pytest.approx(0.5 * LOG2, abs=1e-15)
        # m = (3/4, 1/4): (1/2 log(2/3) + 1/2 log 2) / 2 + log(4/3) / 2 = 3/4 log(4/3); a shared zero changes nothing.
        expected = 0.75 * math.log(4 / 3)
        assert theory.js_divergence([0.5, 0.5], [1.0, 0.0]) == pytest.approx(expected, abs=1e-15)
        assert theory.js_divergence([0.5, 0.5, 0.0], [1.0, 0.0, 0.0]) == pytest.approx(expected, abs=1e-15)
        assert theory.js_divergence([0.0, 1.0, 0.0], [0.0, 1.0, 0.0]) == 0.0
    # dx scales the sums: the same values as densities on a grid of spacing 1/2 give half the value.
    assert theory.js_divergence([0.5, 0.5], [1.0, 0.0], dx=0.5) == pytest.approx(expected / 2, abs=1e-15)
    with pytest.raises(ValueError, match=r"^p and q must have the same shape\. Received: p\.shape=\(2,\), q\.shape=\(1,\)$"):
        theory.js_divergence([0.5, 0.5], [1.0])


# --- The GAN optimum -------------------------------------------------------------------------


def test_optimal_discriminator_hand_values():
    d_star = theory.optimal_discriminator(np.array([3.0, 1.0, 0.0, 0.0]), np.array([1.0, 1.0, 0.0, 2.0]))
    np.testing.assert_allclose(d_star, [0.75, 0.5, 0.5, 0.0])


@pytest.mark.parametrize(("mean", "std"), [(2.0, 0.5), (0.0, 1.0), (0.5, 1.5), (-3.0, 0.3)])
def test_value_at_the_optimal_discriminator_is_minus_log_4_plus_2_jsd(mean, std):
    """C(G) = V(D*, G) = -log 4 + 2 JSD(p_data || p_g) (Goodfellow et al. 2014, theorem 1)."""
    p_data, p_model = pdf(mean, std), pdf(0.0, 1.0)
    d_star = theory.optimal_discriminator(p_data, p_model)
    value = theory.gan_value(d_star, p_data, p_model, DX)
    jsd = theory.js_divergence(p_data, p_model, DX)
    assert value == pytest.approx(-math.log(4.0) + 2 * jsd, abs=1e-6)
    # The global minimum -log 4 is reached only when p_g = p_data.
    assert value >= -math.log(4.0) - 1e-9


def test_optimal_discriminator_maximises_the_value():
    p_data, p_model = pdf(2.0, 0.5), pdf(0.0, 1.0)
    d_star = theory.optimal_discriminator(p_data, p_model)
    best = theory.gan_value(d_star, p_data, p_model, DX)
    # Perturb D* in logit space, which keeps every value inside (0, 1).
    logit = np.log(np.clip(d_star, 1e-12, 1 - 1e-12)) - np.log1p(-np.clip(d_star, 1e-12, 1 - 1e-12))
    rng = np.random.default_rng(0)
    perturbations = [
        np.full_like(X, 0.1),
        np.full_like(X, -0.1),
        0.2 * np.sin(X),
        0.05 * rng.standard_normal(X.shape),
    ]
    for delta in perturbations:
        d = 1.0 / (1.0 + np.exp(-(logit + delta)))
        assert np.all((d > 0) & (d < 1))
        assert theory.gan_value(d, p_data, p_model, DX) < best
    # A constant D = 1/2 gives exactly -log 4, below the optimum for p_data != p_g.
    assert theory.gan_value(np.full_like(X, 0.5), p_data, p_model, DX) == pytest.approx(-math.log(4.0))
    assert best > -math.log(4.0)


def test_trained_discriminator_approaches_the_optimal_discriminator():
    """A small MLP trained with the minimax D loss on N(2, 0.5^2) vs N(0, 1) learns D*."""
    genai_tf.set_seed(0)
    discriminator = build_mlp_discriminator((1,), (32, 32))
    steps, batch_size = 400, 512
    # A decaying learning rate removes most of the end-of-training noise.
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(0.01, steps, alpha=0.05))

    @tf.function
    def step():
        real = 2.0 + 0.5 * tf.random.normal((batch_size, 1), seed=1)
        fake = tf.random.normal((batch_size, 1), seed=2)
        with tf.GradientTape() as tape:
            loss = minimax_discriminator_loss(
                discriminator(real, training=True), discriminator(fake, training=True)
            )
        grads = tape.gradient(loss, discriminator.trainable_variables)
        optimizer.apply_gradients(zip(grads, discriminator.trainable_variables))
        return loss

    for _ in range(steps):
        step()
    grid = np.linspace(-4.0, 5.0, 901)
    p_data, p_model = theory.gaussian_pdf(grid, 2.0, 0.5), theory.gaussian_pdf(grid, 0.0, 1.0)
    d_star = theory.optimal_discriminator(p_data, p_model)
    learned = tf.sigmoid(discriminator(grid[:, None].astype(np.float32))).numpy()[:, 0]
    where = 0.5 * (p_data + p_model) > 0.05
    assert np.max(np.abs(learned[where] - d_star[where])) < 0.1
    # Its value V(D, G) on the grid is just below the maximum V(D*, G).
    dx = grid[1] - grid[0]
    gap = theory.gan_value(d_star, p_data, p_model, dx) - theory.gan_value(learned, p_data, p_model, dx)
    assert 0.0 <= gap < 0.02


# --- The linear-Gaussian latent model: exact evidence, posterior and ELBO -----------------------


def linear_gaussian_model(data_dim=5, latent_dim=3, seed=0, orthogonal=False):
    """A random model p(z) = N(0, I), p(x|z) = N(W z + b, noise_var I) and a few data points."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(data_dim, latent_dim))
    if orthogonal:
        # Orthogonal columns with different lengths: W^T W is diagonal, so the posterior is too.
        q, _ = np.linalg.qr(weights)
        weights = q * np.array([2.0, 0.7, 1.3][:latent_dim])
    bias = rng.normal(size=data_dim)
    noise_var = 0.4
    x = rng.normal(size=(7, data_dim)) * 2.0
    return x, weights, bias, noise_var


def random_q(n, latent_dim, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, latent_dim)), rng.normal(scale=0.8, size=(n, latent_dim))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_evidence_is_elbo_plus_kl_to_the_posterior(seed):
    x, weights, bias, noise_var = linear_gaussian_model(seed=seed)
    q_mean, q_log_var = random_q(len(x), weights.shape[1], seed + 10)
    log_evidence = theory.linear_gaussian_log_evidence(x, weights, bias, noise_var)
    elbo = theory.linear_gaussian_elbo(x, weights, bias, noise_var, q_mean, q_log_var)
    post_mean, post_cov = theory.linear_gaussian_posterior(x, weights, bias, noise_var)
    gap = theory.diagonal_gaussian_kl(q_mean, q_log_var, post_mean, post_cov)
    np.testing.assert_allclose(log_evidence, elbo + gap, rtol=0, atol=1e-8)
    assert np.all(gap > 0)
    assert np.all(elbo < log_evidence)


def test_elbo_is_tight_at_the_exact_posterior_when_it_is_diagonal():
    x, weights, bias, noise_var = linear_gaussian_model(orthogonal=True)
    post_mean, post_cov = theory.linear_gaussian_posterior(x, weights, bias, noise_var)
    assert np.allclose(post_cov, np.diag(np.diag(post_cov)), atol=1e-12)
    post_log_var = np.broadcast_to(np.log(np.diag(post_cov)), post_mean.shape)
    log_evidence = theory.linear_gaussian_log_evidence(x, weights, bias, noise_var)
    elbo = theory.linear_gaussian_elbo(x, weights, bias, noise_var, post_mean, post_log_var)
    np.testing.assert_allclose(elbo, log_evidence, rtol=0, atol=1e-10)
    # Any other q is strictly below.
    moved = theory.linear_gaussian_elbo(x, weights, bias, noise_var, post_mean + 0.1, post_log_var)
    shrunk = theory.linear_gaussian_elbo(x, weights, bias, noise_var, post_mean, post_log_var - 0.5)
    assert np.all(moved < log_evidence) and np.all(shrunk < log_evidence)


def test_posterior_matches_bayes_rule():
    # log p(z | x) = log p(x | z) + log p(z) - log p(x) for any z.
    x, weights, bias, noise_var = linear_gaussian_model(seed=3)
    post_mean, post_cov = theory.linear_gaussian_posterior(x[0], weights, bias, noise_var)
    log_evidence = theory.linear_gaussian_log_evidence(x[0], weights, bias, noise_var)
    for z in np.random.default_rng(0).normal(size=(5, weights.shape[1])):
        log_joint = stats.multivariate_normal(weights @ z + bias, noise_var * np.eye(len(bias))).logpdf(x[0])
        log_joint += stats.multivariate_normal(np.zeros(len(z))).logpdf(z)
        log_posterior = stats.multivariate_normal(post_mean, post_cov).logpdf(z)
        assert log_posterior == pytest.approx(log_joint - log_evidence, abs=1e-10)


def test_log_evidence_matches_scipy():
    x, weights, bias, noise_var = linear_gaussian_model(seed=4)
    covariance = weights @ weights.T + noise_var * np.eye(len(bias))
    expected = stats.multivariate_normal(bias, covariance).logpdf(x)
    np.testing.assert_allclose(theory.linear_gaussian_log_evidence(x, weights, bias, noise_var), expected, atol=1e-10)
    # A 1-D x gives a float.
    single = theory.linear_gaussian_log_evidence(x[0], weights, bias, noise_var)
    assert isinstance(single, float) and single == pytest.approx(expected[0], abs=1e-10)


def test_one_dimensional_hand_values():
    # x = 2, W = 1, b = 0, noise 1: p(x) = N(0, 1 + 1), log p(2) = -1/2 (log 2 pi + log 2 + 4/2).
    expected = -0.5 * (math.log(2 * math.pi) + LOG2 + 2.0)
    assert theory.linear_gaussian_log_evidence([2.0], [[1.0]], [0.0], 1.0) == pytest.approx(expected, abs=1e-12)
    # Posterior precision 1 + 1 = 2, mean = (1/2) * 2 = 1.
    mean, covariance = theory.linear_gaussian_posterior([2.0], [[1.0]], [0.0], 1.0)
    np.testing.assert_allclose(mean, [1.0], atol=1e-12)
    np.testing.assert_allclose(covariance, [[0.5]], atol=1e-12)
    # q = N(0, 1): E_q[log p(x|z)] = -1/2 (log 2 pi + (2^2 + 1)), KL(q || N(0, 1)) = 0.
    elbo = theory.linear_gaussian_elbo([2.0], [[1.0]], [0.0], 1.0, [0.0], [0.0])
    assert elbo == pytest.approx(-0.5 * (math.log(2 * math.pi) + 5.0), abs=1e-12)
    # KL(N(0, 1) || N(1, 1/2)) = 1/2 (2 + 2 - 1 + log(1/2)) = 1.5 - log(2) / 2.
    assert theory.diagonal_gaussian_kl([0.0], [0.0], [1.0], [[0.5]]) == pytest.approx(1.5 - LOG2 / 2, abs=1e-12)
    assert expected == pytest.approx(elbo + 1.5 - LOG2 / 2, abs=1e-12)


def test_diagonal_gaussian_kl_agrees_with_the_one_dimensional_and_vae_formulas():
    # 1-D against theory.gaussian_kl, and against N(0, I) with the VAE's closed form.
    assert theory.diagonal_gaussian_kl([0.5], [2 * math.log(0.8)], [-0.3], [[1.3**2]]) == pytest.approx(
        theory.gaussian_kl(0.5, 0.8, -0.3, 1.3), abs=1e-12
    )
    q_mean, q_log_var = random_q(6, 4, seed=5)
    vae_kl = -0.5 * np.sum(1 + q_log_var - q_mean**2 - np.exp(q_log_var), axis=1)
    np.testing.assert_allclose(
        theory.diagonal_gaussian_kl(q_mean, q_log_var, np.zeros_like(q_mean), np.eye(4)), vae_kl, atol=1e-12
    )
    np.testing.assert_allclose(
        genai_tf.losses.gaussian_kl_divergence(q_mean, q_log_var).numpy(), vae_kl, atol=1e-12
    )


def test_elbo_closed_form_matches_monte_carlo():
    x, weights, bias, noise_var = linear_gaussian_model(seed=6)
    q_mean, q_log_var = random_q(len(x), weights.shape[1], seed=16)
    closed = theory.linear_gaussian_elbo(x, weights, bias, noise_var, q_mean, q_log_var)
    rng = np.random.default_rng(0)
    n_samples = 50_000
    for i in range(len(x)):
        std = np.exp(0.5 * q_log_var[i])
        z = q_mean[i] + std * rng.standard_normal((n_samples, len(std)))
        residual = x[i] - z @ weights.T - bias
        log_likelihood = -0.5 * (len(bias) * math.log(2 * math.pi * noise_var) + np.sum(residual**2, 1) / noise_var)
        log_prior = -0.5 * np.sum(np.log(2 * np.pi) + z**2, axis=1)
        log_q = -0.5 * np.sum(np.log(2 * np.pi) + q_log_var[i] + ((z - q_mean[i]) / std) ** 2, axis=1)
        estimates = log_likelihood + log_prior - log_q
        standard_error = estimates.std(ddof=1) / math.sqrt(n_samples)
        assert abs(estimates.mean() - closed[i]) < 3 * standard_error


def test_single_example_inputs_give_floats():
    x, weights, bias, noise_var = linear_gaussian_model(seed=7)
    q_mean, q_log_var = random_q(1, weights.shape[1], seed=17)
    elbo = theory.linear_gaussian_elbo(x[0], weights, bias, noise_var, q_mean[0], q_log_var[0])
    batched = theory.linear_gaussian_elbo(x[:1], weights, bias, noise_var, q_mean, q_log_var)
    assert isinstance(elbo, float) and elbo == pytest.approx(batched[0], abs=1e-12)
    mean, covariance = theory.linear_gaussian_posterior(x[0], weights, bias, noise_var)
    assert mean.shape == (3,) and covariance.shape == (3, 3)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: theory.linear_gaussian_log_evidence(np.zeros(4), np.ones((5, 2)), np.zeros(5), 1.0), "x"),
        (lambda: theory.linear_gaussian_log_evidence(np.zeros((3, 5, 1)), np.ones((5, 2)), np.zeros(5), 1.0), "x"),
        (lambda: theory.linear_gaussian_log_evidence(np.zeros(5), np.ones(5), np.zeros(5), 1.0), "weights"),
        (lambda: theory.linear_gaussian_posterior(np.zeros(5), np.ones((5, 2)), np.zeros(4), 1.0), "bias"),
        (lambda: theory.linear_gaussian_posterior(np.zeros(5), np.ones((5, 2)), np.zeros(5), 0.0), "noise_var"),
        (lambda: theory.linear_gaussian_posterior(np.zeros(5), np.ones((5, 2)), np.zeros(5), [1.0, 1.0]), "noise_var"),
        (lambda: theory.linear_gaussian_elbo(np.zeros((3, 5)), np.ones((5, 2)), np.zeros(5), 1.0, np.zeros((3, 3)), np.zeros((3, 3))), "q_mean"),
        (lambda: theory.linear_gaussian_elbo(np.zeros((3, 5)), np.ones((5, 2)), np.zeros(5), 1.0, np.zeros((3, 2)), np.zeros(2)), "q_log_var"),
        (lambda: theory.diagonal_gaussian_kl(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros(2), np.eye(2)), "p_mean"),
        (lambda: theory.diagonal_gaussian_kl(np.zeros(2), np.zeros(2), np.zeros(2), np.eye(3)), "p_covariance"),
        (lambda: theory.diagonal_gaussian_kl(np.zeros(2), np.zeros(2), np.zeros(2), -np.eye(2)), "p_covariance"),
        (lambda: theory.diagonal_gaussian_kl(np.zeros(2), np.zeros(3), np.zeros(2), np.eye(2)), "q_log_var"),
        (lambda: theory.diagonal_gaussian_kl(0.0, 0.0, 0.0, np.eye(1)), "q_mean"),
    ],
)
def test_bad_shapes_raise_value_errors_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


# --- Exact zeros, float32 inputs, return types ---------------------------------------------------


def test_zero_densities_give_no_division_warnings():
    # D* = 1/2 where both densities are 0, and KL = inf where q = 0 under p, without 0 / 0 on the way.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(theory.optimal_discriminator([0.0, 3.0], [0.0, 1.0]), [0.5, 0.75])
        assert theory.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
        assert theory.js_divergence([1.0, 0.0], [0.0, 1.0]) == pytest.approx(LOG2, abs=1e-15)


def test_kl_of_a_point_mass_with_itself_is_zero():
    # q = 1 on the support of p is no reason for inf: KL(delta || delta) = 1 log 1 = 0.
    assert theory.kl_divergence([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert theory.kl_divergence([0.0, 0.0, 1.0], [0.5, 0.0, 1.0]) == 0.0


def test_perfect_discriminator_on_disjoint_supports_has_value_zero():
    # V(D*, G) = -log 4 + 2 JSD = -log 4 + 2 log 2 = 0 with D* = 1 on the data and 0 on the model;
    # the clipping keeps log 0 out, also for a float32 D.
    p_data, p_model = np.array([0.5, 0.5, 0.0, 0.0]), np.array([0.0, 0.0, 0.5, 0.5])
    d_star = theory.optimal_discriminator(p_data, p_model)
    np.testing.assert_array_equal(d_star, [1.0, 1.0, 0.0, 0.0])
    for d in (d_star, d_star.astype(np.float32)):
        assert theory.gan_value(d, p_data, p_model, 1.0) == pytest.approx(0.0, abs=1e-15)


def test_float32_inputs_are_computed_in_float64():
    """Every function converts its inputs to float64 first: float32 arguments give the float64 result.

    Computing in float32 would put errors of about 1e-7 into W W^T, exp(log_var) and mean^2.
    """
    x, weights, bias, noise_var = linear_gaussian_model(seed=8)
    q_mean, q_log_var = random_q(len(x), weights.shape[1], seed=18)
    x32, w32, b32 = x.astype(np.float32), weights.astype(np.float32), bias.astype(np.float32)
    m32, v32 = q_mean.astype(np.float32), q_log_var.astype(np.float32)
    x64, w64, b64, m64, v64 = (a.astype(np.float64) for a in (x32, w32, b32, m32, v32))

    def same(a, b):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)

    same(
        theory.linear_gaussian_log_evidence(x32, w32, b32, noise_var),
        theory.linear_gaussian_log_evidence(x64, w64, b64, noise_var),
    )
    same(
        theory.linear_gaussian_elbo(x32, w32, b32, noise_var, m32, v32),
        theory.linear_gaussian_elbo(x64, w64, b64, noise_var, m64, v64),
    )
    posterior_32 = theory.linear_gaussian_posterior(x32, w32, b32, noise_var)
    posterior_64 = theory.linear_gaussian_posterior(x64, w64, b64, noise_var)
    for a, b in zip(posterior_32, posterior_64):
        same(a, b)
    covariance = np.array([[1.5, 0.3, 0.0], [0.3, 0.8, 0.1], [0.0, 0.1, 0.6]])
    same(
        theory.diagonal_gaussian_kl(m32, v32, np.zeros((len(x), 3), np.float32), covariance.astype(np.float32)),
        theory.diagonal_gaussian_kl(m64, v64, np.zeros((len(x), 3)), covariance.astype(np.float32).astype(np.float64)),
    )
    density = theory.gaussian_pdf(x32[0])
    assert density.dtype == np.float64
    same(density, theory.gaussian_pdf(x64[0]))


def test_one_dimensional_kl_arguments_give_a_float():
    # KL(N(1/2, 1) || N(0, 1)) = (1/2)^2 / 2 = 0.125.
    kl = theory.diagonal_gaussian_kl([0.5], [0.0], [0.0], [[1.0]])
    assert isinstance(kl, float) and kl == pytest.approx(0.125, abs=1e-15)
    batched = theory.diagonal_gaussian_kl([[0.5]], [[0.0]], [[0.0]], [[1.0]])
    assert batched.shape == (1,)


def test_a_covariance_that_is_not_positive_definite_is_named():
    message = r"^p_covariance must be symmetric positive definite\. Received a matrix that is not\.$"
    with pytest.raises(ValueError, match=message):
        theory.diagonal_gaussian_kl(np.zeros(2), np.zeros(2), np.zeros(2), [[1.0, 2.0], [2.0, 1.0]])


# --- What the generator's losses descend against the optimal discriminator ------------------------


def bernoulli(t):
    return np.array([t[0], 1.0 - t[0]])


def test_generator_gradients_of_a_bernoulli_family_by_hand():
    # p_data = (a, 1 - a), p_t = (t, 1 - t), D*_0 = (a / (a + t0), (1 - a) / (2 - a - t0)), a = 1/2, t0 = 1/4.
    a, t = 0.5, 0.25
    g = theory.generator_gradients_against_optimal_d(bernoulli, [t], [a, 1 - a])
    non_saturating = math.log((a + t) / a) - math.log((2 - a - t) / (1 - a))       # log 0.6
    two_jsd = math.log(t / (a + t)) - math.log((1 - t) / (2 - a - t))               # log(1 / 1.8)
    assert non_saturating == pytest.approx(math.log(0.6), abs=1e-15)
    for name, expected in [("non_saturating", non_saturating), ("reverse_kl_minus_2_jsd", non_saturating),
                           ("saturating", two_jsd), ("two_jsd", two_jsd),
                           ("non_saturating_refit", non_saturating + t / (a + t) - (1 - t) / (2 - a - t))]:
        assert g[name][0] == pytest.approx(expected, abs=1e-9), name
    assert abs(g["non_saturating_refit"][0] - non_saturating) > 0.2


def test_reverse_kl_minus_2_jsd_by_hand_and_the_value_identity():
    # p_data = (1/2, 1/2), p_g = (1/4, 3/4): KL(p_g || p_data) = 1/4 log(1/2) + 3/4 log(3/2),
    # m = (3/8, 5/8), 2 JSD = KL(p_data || m) + KL(p_g || m).
    p_data, p_g = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    kl = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    two_jsd = (0.5 * math.log(0.5 / 0.375) + 0.5 * math.log(0.5 / 0.625)
               + 0.25 * math.log(0.25 / 0.375) + 0.75 * math.log(0.75 / 0.625))
    assert theory.reverse_kl_minus_2_jsd(p_data, p_g) == pytest.approx(kl - two_jsd, abs=1e-15)
    assert kl - two_jsd == pytest.approx(0.063168, abs=1e-6)
    # The loss's value is not F: E_{p_g}[-log D*] = F + log 4 + E_{p_data}[log D*] = 0.788584 here.
    d_star = theory.optimal_discriminator(p_data, p_g)                  # (2/3, 2/5)
    loss = float(np.sum(p_g * -np.log(d_star)))
    assert loss == pytest.approx(0.25 * math.log(1.5) + 0.75 * math.log(2.5), abs=1e-15)
    assert loss == pytest.approx(kl - two_jsd + math.log(4) + np.sum(p_data * np.log(d_star)), abs=1e-15)
    assert loss == pytest.approx(0.788584, abs=1e-6) and abs(loss - (kl - two_jsd)) > 0.7
    assert theory.reverse_kl_minus_2_jsd(p_data, p_data) == 0.0


def gaussian_family(theta):
    """N(mu, sigma^2) on the module's grid, theta = (mu, log sigma)."""
    return pdf(theta[0], math.exp(theta[1]))


@pytest.mark.parametrize("theta0", [(0.0, 0.0), (1.5, -0.5), (3.0, 0.3)])
def test_non_saturating_gradient_is_that_of_reverse_kl_minus_2_jsd_for_gaussians(theta0):
    p_data = pdf(2.0, 0.5)
    g = theory.generator_gradients_against_optimal_d(gaussian_family, theta0, p_data, DX, step=1e-5)
    np.testing.assert_allclose(g["non_saturating"], g["reverse_kl_minus_2_jsd"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g["saturating"], g["two_jsd"], rtol=1e-6, atol=1e-7)
    # The two gradients add up to grad KL(p_theta || p_data), in closed form for N(mu, sigma^2) against N(2, 0.5^2):
    # d/dmu = (mu - 2) / 0.5^2, d/dlog sigma = sigma^2 / 0.5^2 - 1.
    mu, sigma = theta0[0], math.exp(theta0[1])
    np.testing.assert_allclose(g["non_saturating"] + g["saturating"], [(mu - 2.0) / 0.25, sigma**2 / 0.25 - 1.0],
                               rtol=1e-6, atol=1e-7)
    # The two losses descend different divergences, and a D* that follows theta changes the gradient.
    assert np.max(np.abs(g["non_saturating"] - g["saturating"])) > 0.1
    assert np.max(np.abs(g["non_saturating_refit"] - g["non_saturating"])) > 0.01


def test_the_identity_holds_for_the_gradient_a_generator_receives_by_autodiff():
    # G(z) = mu + sigma z at (mu, log sigma) = (0, 0); the expectation over z by quadrature, the loss
    # softplus(-logit) of the optimal logit log p_data - log p_g0 held fixed, the gradient by TensorFlow.
    z, dz = np.linspace(-12.0, 12.0, 24_001, retstep=True)
    weights = tf.constant(theory.gaussian_pdf(z) * dz)
    mu, log_sigma = tf.Variable(0.0, dtype=tf.float64), tf.Variable(0.0, dtype=tf.float64)
    with tf.GradientTape() as tape:
        x = mu + tf.exp(log_sigma) * z
        logit = (-0.5 * ((x - 2.0) / 0.5) ** 2 - math.log(0.5)) - (-0.5 * x**2)
        loss = tf.reduce_sum(weights * tf.nn.softplus(-logit))
    autodiff = np.array([float(g) for g in tape.gradient(loss, [mu, log_sigma])])
    g = theory.generator_gradients_against_optimal_d(gaussian_family, [0.0, 0.0], pdf(2.0, 0.5), DX)
    np.testing.assert_allclose(autodiff, g["reverse_kl_minus_2_jsd"], rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_identities_hold_for_random_softmax_families(seed):
    rng = np.random.default_rng(seed)
    p_data = rng.dirichlet(np.ones(6))
    mixing = rng.normal(size=(6, 3))

    def softmax_family(theta):
        logits = mixing @ theta
        return np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()

    g = theory.generator_gradients_against_optimal_d(softmax_family, rng.normal(size=3), p_data, step=1e-6)
    np.testing.assert_allclose(g["non_saturating"], g["reverse_kl_minus_2_jsd"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g["saturating"], g["two_jsd"], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        (dict(theta=[[0.25]]), "theta"),
        (dict(theta=[]), "theta"),
        (dict(theta=[np.nan]), "theta"),
        (dict(p_data=[1.0, 0.0]), "p_data"),
        (dict(p_data=[0.5, 0.5], density=lambda t: np.array([1.0, 0.0])), "density"),
        (dict(density=lambda t: np.array([0.2, 0.3, 0.5])), "density"),
        (dict(step=0.0), "step"),
        (dict(dx=-1.0), "dx"),
    ],
)
def test_generator_gradients_reject_bad_arguments_by_name(kwargs, argument):
    arguments = dict(density=bernoulli, theta=[0.25], p_data=[0.5, 0.5]) | kwargs
    with pytest.raises(ValueError, match=argument):
        theory.generator_gradients_against_optimal_d(**arguments)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reverse_kl_minus_2_jsd_is_twice_the_kl_of_the_mixture_and_non_negative(seed):
    rng = np.random.default_rng(seed)
    p_data, p_g = rng.dirichlet(np.ones(8), size=(2, 500))
    values = np.array([theory.reverse_kl_minus_2_jsd(p, q) for p, q in zip(p_data, p_g)])
    mixture_kl = np.array([2 * theory.kl_divergence(0.5 * (p + q), p) for p, q in zip(p_data, p_g)])
    np.testing.assert_allclose(values, mixture_kl, rtol=1e-9, atol=1e-12)
    assert values.min() > 0
    # On a grid too: N(0, 1) against N(2, 0.5^2).
    p, q = pdf(2.0, 0.5), pdf(0.0, 1.0)
    assert theory.reverse_kl_minus_2_jsd(p, q, DX) == pytest.approx(2 * theory.kl_divergence(0.5 * (p + q), p, DX), rel=1e-10)
