"""Tests of genai_tf.theory: divergences and the GAN optimum checked numerically on a grid."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

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
