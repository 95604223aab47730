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
