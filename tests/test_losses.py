"""Tests of genai_tf.losses: hand-computed values (TF-GAN style), identities, extremes, shapes."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from genai_tf.losses import (
    bernoulli_log_likelihood,
    bits_per_dim,
    elbo,
    gaussian_kl_divergence,
    gaussian_log_likelihood,
    importance_weighted_bound,
    kl_annealing_weight,
    minimax_discriminator_loss,
    minimax_generator_loss,
    modified_generator_loss,
    random_interpolates,
    reparameterize,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
    wasserstein_gradient_penalty,
)

LOG2 = math.log(2.0)


def softplus(x):
    """log(1 + e^x), computed by hand in float64 for the expectations."""
    return math.log1p(math.exp(x))


def value_and_grad(fn, logits):
    """fn(logits) and d fn / d logits, for a float32 tensor of logits."""
    logits = tf.constant(logits, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        value = fn(logits)
    return value, tape.gradient(value, logits)


# --- GAN losses: hand values ---------------------------------------------------------------


def test_cross_entropy_at_logit_zero_is_log_2():
    # sigmoid(0) = 1/2, so -log D = -log(1 - D) = log 2 = 0.693147...
    assert float(modified_generator_loss([[0.0]])) == pytest.approx(LOG2, abs=1e-6)
    # The saturating loss is E[log(1 - D)] = log(1/2) = -log 2.
    assert float(minimax_generator_loss([[0.0]])) == pytest.approx(-LOG2, abs=1e-6)
    # Real term log 2 plus fake term log 2.
    assert float(minimax_discriminator_loss([[0.0]], [[0.0]])) == pytest.approx(2 * LOG2, abs=1e-6)


def test_gan_losses_on_fixed_logits():
    """Two real and two fake logits, every term worked out by hand.

    softplus(-1) = log(1 + e^-1)  = 0.313262    softplus(2) = log(1 + e^2)  = 2.126928
    softplus(0.5) = log(1 + e^.5) = 0.974077    softplus(3) = log(1 + e^3)  = 3.048587
    softplus(-0.5)                = 0.474077    softplus(-3)                = 0.048587

    D loss  = mean(softplus(-real)) + mean(softplus(fake))
            = (0.313262 + 2.126928) / 2 + (0.974077 + 3.048587) / 2 = 1.220095 + 2.011332 = 3.231427
    minimax G loss  = -mean(softplus(fake))  = -2.011332
    modified G loss =  mean(softplus(-fake)) = (0.474077 + 0.048587) / 2 = 0.261332
    """
    real = [[1.0], [-2.0]]
    fake = [[0.5], [3.0]]
    d_expected = (softplus(-1.0) + softplus(2.0)) / 2 + (softplus(0.5) + softplus(3.0)) / 2
    minimax_expected = -(softplus(0.5) + softplus(3.0)) / 2
    modified_expected = (softplus(-0.5) + softplus(-3.0)) / 2
    assert d_expected == pytest.approx(3.231427, abs=1e-6)
    assert minimax_expected == pytest.approx(-2.011332, abs=1e-6)
    assert modified_expected == pytest.approx(0.261332, abs=1e-6)

    assert float(minimax_discriminator_loss(real, fake)) == pytest.approx(d_expected, abs=1e-5)
    assert float(minimax_generator_loss(fake)) == pytest.approx(minimax_expected, abs=1e-5)
    assert float(modified_generator_loss(fake)) == pytest.approx(modified_expected, abs=1e-5)


def test_discriminator_loss_allows_different_batch_sizes():
    # Real (1,1) and fake (3,1): softplus(-0) + mean(softplus(0), softplus(0), softplus(0)) = 2 log 2.
    loss = minimax_discriminator_loss([[0.0]], [[0.0], [0.0], [0.0]])
    assert float(loss) == pytest.approx(2 * LOG2, abs=1e-6)


@pytest.mark.parametrize("fn", [minimax_generator_loss, modified_generator_loss])
def test_generator_losses_return_a_scalar_mean(fn):
    # The mean over the batch of per-example values: same as averaging single-example losses.
    logits = [[-1.0], [0.25], [4.0]]
    singles = [float(fn([row])) for row in logits]
    loss = fn(logits)
    assert loss.shape == ()
    assert float(loss) == pytest.approx(sum(singles) / 3, abs=1e-6)


# --- GAN losses: gradients (E-000-1) -------------------------------------------------------


@pytest.mark.parametrize("logit", [-10.0, -2.0, 0.0, 3.0])
def test_generator_loss_gradients_match_sigmoid_identities(logit):
    """d/dl of E[log(1 - sigmoid(l))] = -sigmoid(l); d/dl of -log sigmoid(l) = -(1 - sigmoid(l))."""
    sigmoid = 1.0 / (1.0 + math.exp(-logit))
    _, grad = value_and_grad(minimax_generator_loss, [[logit]])
    assert float(grad[0, 0]) == pytest.approx(-sigmoid, rel=1e-5, abs=1e-7)
    _, grad = value_and_grad(modified_generator_loss, [[logit]])
    assert float(grad[0, 0]) == pytest.approx(-(1.0 - sigmoid), rel=1e-5, abs=1e-7)


def test_saturating_gradient_vanishes_when_discriminator_rejects():
    """E-000-1: at D(G(z)) = sigmoid(-10) = 4.54e-5 the saturating loss gives no signal.

    |d/dl| = sigmoid(-10) = 4.54e-5 for the saturating loss, 1 - 4.54e-5 for the
    non-saturating one.
    """
    _, saturating = value_and_grad(minimax_generator_loss, [[-10.0]])
    _, non_saturating = value_and_grad(modified_generator_loss, [[-10.0]])
    assert abs(float(saturating[0, 0])) < 1e-4
    assert abs(float(non_saturating[0, 0])) > 0.999


def test_discriminator_loss_gradients():
    # d/dr softplus(-r) / n_real = -(1 - sigmoid(r)) / 2;  d/df softplus(f) / n_fake = sigmoid(f) / 3.
    real = tf.constant([[1.0], [-2.0]])
    fake = tf.constant([[0.5], [3.0], [-1.0]])
    with tf.GradientTape() as tape:
        tape.watch([real, fake])
        loss = minimax_discriminator_loss(real, fake)
    grad_real, grad_fake = tape.gradient(loss, [real, fake])
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    np.testing.assert_allclose(grad_real.numpy(), -(1 - sig(real.numpy())) / 2, rtol=1e-5)
    np.testing.assert_allclose(grad_fake.numpy(), sig(fake.numpy()) / 3, rtol=1e-5)


# --- Extreme logits --------------------------------------------------------------------------


@pytest.mark.parametrize("logit", [-100.0, 100.0])
@pytest.mark.parametrize(
    "fn",
    [
        minimax_generator_loss,
        modified_generator_loss,
        lambda l: minimax_discriminator_loss(l, l),
        lambda l: minimax_discriminator_loss(l, -l),
        lambda l: bernoulli_log_likelihood(tf.ones_like(l), l),
        lambda l: bernoulli_log_likelihood(tf.zeros_like(l), l),
    ],
    ids=["minimax_g", "modified_g", "d_same", "d_opposite", "bernoulli_x1", "bernoulli_x0"],
)
def test_losses_and_gradients_are_finite_at_extreme_logits(fn, logit):
    value, grad = value_and_grad(lambda l: tf.reduce_sum(fn(l)), [[logit], [logit]])
    assert np.isfinite(float(value))
    assert np.all(np.isfinite(grad.numpy()))


def test_extreme_logit_values():
    # softplus(100) = 100 + log(1 + e^-100) = 100 to float32 precision.
    assert float(modified_generator_loss([[-100.0]])) == pytest.approx(100.0, rel=1e-6)
    assert float(modified_generator_loss([[100.0]])) == pytest.approx(0.0, abs=1e-6)
    assert float(minimax_generator_loss([[100.0]])) == pytest.approx(-100.0, rel=1e-6)
    # A perfect discriminator: softplus(-100) + softplus(-100) = 2 e^-100 = 0.
    assert float(minimax_discriminator_loss([[100.0]], [[-100.0]])) == pytest.approx(0.0, abs=1e-6)
    # A perfectly wrong one: softplus(100) + softplus(100) = 200.
    assert float(minimax_discriminator_loss([[-100.0]], [[100.0]])) == pytest.approx(200.0, rel=1e-6)
    # x = 1 with logit -100: log sigmoid(-100) = -100.
    assert float(bernoulli_log_likelihood([[1.0]], [[-100.0]])[0]) == pytest.approx(-100.0, rel=1e-6)


# --- Gaussian KL (E-001-1, E-001-3) ----------------------------------------------------------


def test_kl_is_half_per_unit_mean_dimension():
    # KL = -1/2 * (1 + 0 - 1 - 1) = 1/2 per dimension; three dimensions give 1.5.
    kl = gaussian_kl_divergence([[1.0, 1.0, 1.0], [1.0, -1.0, 0.0]], [[0.0, 0.0, 0.0]] * 2)
    assert kl.shape == (2,)
    np.testing.assert_allclose(kl.numpy(), [1.5, 1.0], atol=1e-6)


def test_kl_is_zero_at_the_prior():
    kl = gaussian_kl_divergence(np.zeros((4, 5), np.float32), np.zeros((4, 5), np.float32))
    assert kl.shape == (4,)
    np.testing.assert_allclose(kl.numpy(), 0.0, atol=1e-7)


def test_kl_depends_on_the_variance():
    """E-001-3: the flawed KL 0.5 * (mu^2 + sigma^2 - exp(log sigma^2)) = 0.5 * mu^2 is 0 here.

    mu = 0, log sigma^2 = log 2:  KL = -1/2 * (1 + log 2 - 0 - 2) = (1 - log 2) / 2 = 0.153426
    mu = 0, log sigma^2 = -log 2: KL = -1/2 * (1 - log 2 - 1/2)   = (log 2 - 1/2) / 2 = 0.096574
    """
    kl = gaussian_kl_divergence([[0.0], [0.0], [0.0]], [[LOG2], [-LOG2], [3.0]])
    assert kl.shape == (3,)
    assert float(kl[0]) == pytest.approx((1 - LOG2) / 2, abs=1e-6)
    assert float(kl[0]) == pytest.approx(0.153426, abs=1e-6)
    assert float(kl[1]) == pytest.approx((LOG2 - 0.5) / 2, abs=1e-6)
    assert float(kl[1]) == pytest.approx(0.096574, abs=1e-6)
    # log sigma^2 = 3: -1/2 * (1 + 3 - e^3).
    assert float(kl[2]) == pytest.approx(-0.5 * (4.0 - math.exp(3.0)), rel=1e-6)
    assert np.all(kl.numpy() > 0)
    flawed = 0.5 * (0.0**2 + 2.0 - math.exp(LOG2))
    assert flawed == pytest.approx(0.0, abs=1e-12)


def test_kl_sums_the_univariate_closed_form():
    # Each dimension is KL(N(mu, s^2) || N(0, 1)) = -log s + (s^2 + mu^2) / 2 - 1/2.
    mean = np.array([[0.3, -1.2, 2.0]], np.float32)
    log_var = np.array([[0.5, -1.0, 0.0]], np.float32)
    s = np.exp(log_var / 2)
    expected = np.sum(-np.log(s) + (s**2 + mean**2) / 2 - 0.5)
    assert float(gaussian_kl_divergence(mean, log_var)[0]) == pytest.approx(expected, rel=1e-5)


# --- Likelihoods -----------------------------------------------------------------------------


def test_bernoulli_log_likelihood_hand_values():
    # x = 1, logit 0: log sigmoid(0) = -log 2 per pixel; 9 pixels give -9 log 2.
    ll = bernoulli_log_likelihood(np.ones((2, 3, 3, 1), np.float32), np.zeros((2, 3, 3, 1), np.float32))
    assert ll.shape == (2,)
    np.testing.assert_allclose(ll.numpy(), -9 * LOG2, rtol=1e-6)
    # x = 1, logit l: log sigmoid(l) = -log(1 + e^-l); x = 0: log(1 - sigmoid(l)) = -log(1 + e^l).
    for logit in (-3.0, 0.5, 2.0):
        one = bernoulli_log_likelihood([[1.0]], [[logit]])
        zero = bernoulli_log_likelihood([[0.0]], [[logit]])
        assert float(one[0]) == pytest.approx(-softplus(-logit), rel=1e-5)
        assert float(zero[0]) == pytest.approx(-softplus(logit), rel=1e-5)
    # Per example: row 0 is x = (1, 0) at logits (2, 2), row 1 is x = (1, 1) at logits (0, -1).
    ll = bernoulli_log_likelihood([[1.0, 0.0], [1.0, 1.0]], [[2.0, 2.0], [0.0, -1.0]])
    np.testing.assert_allclose(
        ll.numpy(), [-softplus(-2.0) - softplus(2.0), -LOG2 - softplus(1.0)], rtol=1e-5
    )


def test_bernoulli_log_likelihood_accepts_integer_targets():
    ll = bernoulli_log_likelihood(np.array([[1, 0]], np.int64), [[0.0, 0.0]])
    assert float(ll[0]) == pytest.approx(-2 * LOG2, rel=1e-6)


def test_gaussian_log_likelihood_hand_values():
    # x = (1, 2), mean 0, log_var 0: -1/2 * (2 log(2 pi) + 1 + 4).
    ll = gaussian_log_likelihood([[1.0, 2.0]], [[0.0, 0.0]], 0.0)
    assert ll.shape == (1,)
    assert float(ll[0]) == pytest.approx(-0.5 * (2 * math.log(2 * math.pi) + 5.0), rel=1e-6)
    # Scalar log_var = log 4 (sigma = 2) broadcast to both dimensions:
    # -1/2 * (2 log(2 pi) + 2 log 4 + (1 + 4) / 4).
    ll = gaussian_log_likelihood([[1.0, 2.0]], [[0.0, 0.0]], math.log(4.0))
    expected = -0.5 * (2 * math.log(2 * math.pi) + 2 * math.log(4.0) + 5.0 / 4.0)
    assert float(ll[0]) == pytest.approx(expected, rel=1e-6)


def test_gaussian_log_likelihood_matches_scipy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 4, 3)).astype(np.float32)
    mean = rng.normal(size=(5, 4, 3)).astype(np.float32)
    log_var = rng.uniform(-2, 2, size=(5, 4, 3)).astype(np.float32)
    expected = stats.norm.logpdf(x, loc=mean, scale=np.exp(log_var / 2)).reshape(5, -1).sum(axis=1)
    ll = gaussian_log_likelihood(x, mean, log_var)
    assert ll.shape == (5,)
    np.testing.assert_allclose(ll.numpy(), expected, rtol=1e-5)
    # A log_var of shape (3,) broadcasts over the last axis.
    per_channel = np.array([-1.0, 0.0, 1.5], np.float32)
    expected = stats.norm.logpdf(x, loc=mean, scale=np.exp(per_channel / 2)).reshape(5, -1).sum(axis=1)
    np.testing.assert_allclose(gaussian_log_likelihood(x, mean, per_channel).numpy(), expected, rtol=1e-5)


# --- ELBO ------------------------------------------------------------------------------------


def test_elbo_is_log_likelihood_minus_beta_kl():
    ll, kl = [-3.0, -2.0, -10.0], [1.0, 0.5, 0.0]
    np.testing.assert_allclose(elbo(ll, kl).numpy(), [-4.0, -2.5, -10.0])
    np.testing.assert_allclose(elbo(ll, kl, beta=2.0).numpy(), [-5.0, -3.0, -10.0])
    np.testing.assert_allclose(elbo(ll, kl, beta=0.0).numpy(), ll)
    assert elbo(ll, kl).shape == (3,)


def test_elbo_of_a_vae_batch_is_per_example():
    # Two examples whose likelihood and KL are known: the ELBO keeps them apart.
    x = np.array([[1.0, 1.0], [0.0, 1.0]], np.float32)
    ll = bernoulli_log_likelihood(x, np.zeros_like(x))  # -2 log 2 each
    kl = gaussian_kl_divergence([[1.0], [0.0]], [[0.0], [0.0]])  # 0.5 and 0
    np.testing.assert_allclose(elbo(ll, kl).numpy(), [-2 * LOG2 - 0.5, -2 * LOG2], rtol=1e-6)


def test_elbo_rejects_negative_beta():
    with pytest.raises(ValueError, match=r"^beta must be in \[0\.0, inf\)\. Received: beta=-0\.5$"):
        elbo([-1.0], [0.1], beta=-0.5)
    # A tensor weight (a schedule's value inside a train step) is used as given.
    np.testing.assert_allclose(elbo([-1.0], [0.5], beta=tf.constant(2.0)).numpy(), [-2.0])


# --- Reparameterisation (E-001-3) ------------------------------------------------------------


def test_reparameterize_shape_and_seed():
    mean = np.zeros((4, 3), np.float32)
    log_var = np.zeros((4, 3), np.float32)
    z = reparameterize(mean, log_var, seed=keras.random.SeedGenerator(42))
    assert z.shape == (4, 3)
    again = reparameterize(mean, log_var, seed=keras.random.SeedGenerator(42))
    np.testing.assert_array_equal(z.numpy(), again.numpy())
    np.testing.assert_array_equal(
        reparameterize(mean, log_var, seed=7).numpy(), reparameterize(mean, log_var, seed=7).numpy()
    )
    # One generator advances its state: its second draw differs from the first.
    generator = keras.random.SeedGenerator(42)
    first = reparameterize(mean, log_var, seed=generator)
    second = reparameterize(mean, log_var, seed=generator)
    assert not np.array_equal(first.numpy(), second.numpy())


def test_reparameterize_is_mean_plus_sigma_times_the_same_noise():
    mean = np.array([[1.0, -2.0, 0.5]], np.float32)
    log_var = np.array([[0.0, math.log(4.0), -1.0]], np.float32)
    z = reparameterize(mean, log_var, seed=keras.random.SeedGenerator(3))
    eps = keras.random.normal((1, 3), seed=keras.random.SeedGenerator(3))
    np.testing.assert_allclose(z.numpy(), mean + np.exp(log_var / 2) * np.asarray(eps), rtol=1e-6)


def test_reparameterize_sample_moments():
    # n = 20,000 draws of N(1.5, 0.5^2) and N(-2, 2^2): the standard error of the mean is
    # sigma / sqrt(n), of the standard deviation about sigma / sqrt(2 n).
    n = 20_000
    mu = np.array([1.5, -2.0], np.float32)
    sigma = np.array([0.5, 2.0], np.float32)
    z = reparameterize(np.tile(mu, (n, 1)), np.tile(np.log(sigma**2), (n, 1)), seed=11).numpy()
    np.testing.assert_array_less(np.abs(z.mean(axis=0) - mu), 4 * sigma / math.sqrt(n))
    np.testing.assert_array_less(np.abs(z.std(axis=0) - sigma), 4 * sigma / math.sqrt(2 * n))


def test_reparameterize_gradients():
    """dz/dmu = 1 and dz/dlog_var = exp(log_var / 2) * eps / 2 = (z - mu) / 2.

    E-001-3 clamps z to [-1, 1]: its gradient is 0 wherever |z| > 1 (here mu = 3).
    """
    mean = tf.constant([[3.0, -0.5], [0.0, 1.0]])
    log_var = tf.constant([[0.0, 1.0], [-2.0, math.log(9.0)]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([mean, log_var])
        z = reparameterize(mean, log_var, seed=keras.random.SeedGenerator(5))
        total = tf.reduce_sum(z)
    grad_mean, grad_log_var = tape.gradient(total, [mean, log_var])
    np.testing.assert_array_equal(grad_mean.numpy(), np.ones((2, 2), np.float32))
    eps = np.asarray(keras.random.normal((2, 2), seed=keras.random.SeedGenerator(5)))
    np.testing.assert_allclose(
        grad_log_var.numpy(), 0.5 * np.exp(log_var.numpy() / 2) * eps, rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(grad_log_var.numpy(), 0.5 * (z.numpy() - mean.numpy()), rtol=1e-5, atol=1e-6)


# --- Shape errors (E-000-4, E-003-4) ---------------------------------------------------------


def test_discriminator_loss_rejects_images_as_logits():
    """E-000-4 / E-003-4: images (8, 784) fed where logits (8, 1) belong."""
    with pytest.raises(ValueError) as info:
        minimax_discriminator_loss(np.zeros((8, 1), np.float32), np.zeros((8, 784), np.float32))
    message = str(info.value)
    assert "fake_logits" in message and "(batch_size, 1)" in message and "(8, 784)" in message


@pytest.mark.parametrize("loss_fn", [minimax_generator_loss, modified_generator_loss])
def test_generator_losses_reject_images_as_logits(loss_fn):
    """E-000-4: generated images passed as logits would silently give a number."""
    with pytest.raises(ValueError, match=r"fake_logits.*\(8, 784\)"):
        loss_fn(np.zeros((8, 784), np.float32))


def test_bernoulli_log_likelihood_rejects_mismatched_shapes():
    with pytest.raises(ValueError) as info:
        bernoulli_log_likelihood(np.zeros((4, 28, 28, 1), np.float32), np.zeros((4, 784), np.float32))
    message = str(info.value)
    assert "x" in message and "logits" in message and "(4, 784)" in message


@pytest.mark.parametrize("fn", [gaussian_kl_divergence, reparameterize])
def test_gaussian_posterior_rejects_mismatched_shapes(fn):
    with pytest.raises(ValueError) as info:
        fn(np.zeros((4, 2), np.float32), np.zeros((4, 3), np.float32))
    message = str(info.value)
    assert "z_mean" in message and "z_log_var" in message and "(4, 3)" in message


def test_gaussian_log_likelihood_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"x.*mean"):
        gaussian_log_likelihood(np.zeros((2, 3)), np.zeros((2, 4)), 0.0)
    with pytest.raises(ValueError, match="log_var"):
        gaussian_log_likelihood(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(4))


def test_elbo_rejects_non_vectors():
    with pytest.raises(ValueError, match=r"log_likelihood.*\(2, 1\)"):
        elbo(np.zeros((2, 1)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"log_likelihood.*kl_divergence"):
        elbo(np.zeros(3), np.zeros(2))


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: modified_generator_loss(0.0), "fake_logits"),
        (lambda: minimax_generator_loss(1.0), "fake_logits"),
        (lambda: minimax_discriminator_loss(0.0, [[0.0]]), "real_logits"),
        (lambda: bernoulli_log_likelihood([1.0], 0.0), "logits"),
        (lambda: gaussian_kl_divergence(0.0, 0.0), "z_mean"),
    ],
)
def test_scalars_without_batch_axis_are_rejected(call, name):
    with pytest.raises(ValueError, match=f"{name} must have a batch axis"):
        call()


def test_gaussian_log_likelihood_rejects_log_var_that_enlarges_x():
    # x (2, 3) with log_var (2, 1, 3) broadcasts to (2, 2, 3): each example would be summed twice.
    with pytest.raises(ValueError, match="log_var"):
        gaussian_log_likelihood(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 1, 3)))


def test_mixed_float_dtypes_are_accepted():
    # NumPy float64 logits next to float32 model outputs: 2 log 2 at logits of 0.
    loss = minimax_discriminator_loss(np.zeros((2, 1)), tf.zeros((3, 1)))
    assert float(loss) == pytest.approx(2 * LOG2, abs=1e-6)
    kl = gaussian_kl_divergence(np.ones((2, 3)), tf.zeros((2, 3)))
    np.testing.assert_allclose(kl.numpy(), [1.5, 1.5], atol=1e-6)


def test_dtypes_follow_the_first_argument_and_integers_become_float32():
    # Float64 in, float64 out; integers are cast to float32; a second argument takes the first's dtype.
    kl = gaussian_kl_divergence(np.ones((2, 3)), np.zeros((2, 3)))
    assert kl.dtype == tf.float64
    kl = gaussian_kl_divergence(np.ones((2, 3), np.int64), np.zeros((2, 3), np.int32))
    assert kl.dtype == tf.float32
    np.testing.assert_allclose(kl.numpy(), [1.5, 1.5], atol=1e-6)
    ll = bernoulli_log_likelihood(np.array([[1.0, 0.0]]), tf.zeros((1, 2)))
    assert ll.dtype == tf.float32 and float(ll[0]) == pytest.approx(-2 * LOG2, rel=1e-6)
    ll = gaussian_log_likelihood(np.zeros((1, 2)), tf.zeros((1, 2)), np.float64(0.0))
    assert ll.dtype == tf.float32 and float(ll[0]) == pytest.approx(-math.log(2 * math.pi), rel=1e-6)
    bound = elbo(tf.constant([-3.0]), np.array([1.0]))
    assert bound.dtype == tf.float32 and float(bound[0]) == -4.0
    z = reparameterize(tf.zeros((2, 3)), np.zeros((2, 3)), seed=1)
    assert z.dtype == tf.float32
    z = reparameterize(np.zeros((2, 3)), np.zeros((2, 3)), seed=1)
    assert z.dtype == tf.float64
    interpolates, epsilon = random_interpolates(np.zeros((2, 3)), tf.ones((2, 3)), seed=1)
    assert interpolates.dtype == tf.float64 and epsilon.dtype == tf.float64
    loss = minimax_discriminator_loss(tf.zeros((2, 1)), np.zeros((3, 1)))
    assert loss.dtype == tf.float32


# --- Error messages name the argument ----------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: bernoulli_log_likelihood(0.0, [[0.0]]),
            r"x must have a batch axis\. Received: x with shape \(\)",
        ),
        (
            lambda: bernoulli_log_likelihood([[0.0]], 0.0),
            r"logits must have a batch axis\. Received: logits with shape \(\)",
        ),
        (
            lambda: bernoulli_log_likelihood(np.zeros((4, 28, 28, 1)), np.zeros((4, 784))),
            r"x and logits must have the same shape\. "
            r"Received: x\.shape=\(4, 28, 28, 1\), logits\.shape=\(4, 784\)",
        ),
        (
            lambda: gaussian_log_likelihood(0.0, [[0.0]], 0.0),
            r"x must have a batch axis\. Received: x with shape \(\)",
        ),
        (
            lambda: gaussian_log_likelihood([[0.0]], 0.0, 0.0),
            r"mean must have a batch axis\. Received: mean with shape \(\)",
        ),
        (
            lambda: gaussian_log_likelihood(np.zeros((2, 3)), np.zeros((2, 4)), 0.0),
            r"x and mean must have the same shape\. Received: x\.shape=\(2, 3\), mean\.shape=\(2, 4\)",
        ),
        (
            lambda: gaussian_log_likelihood(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(4)),
            r"log_var must have the shape of x or broadcast to it\. "
            r"Received: x\.shape=\(2, 3\), log_var\.shape=\(4,\)",
        ),
        (
            lambda: elbo(0.0, [1.0]),
            r"log_likelihood must have a batch axis\. Received: log_likelihood with shape \(\)",
        ),
        (
            lambda: elbo([1.0], 0.0),
            r"kl_divergence must have a batch axis\. Received: kl_divergence with shape \(\)",
        ),
        (
            lambda: elbo(np.zeros(3), np.zeros(2)),
            r"log_likelihood and kl_divergence must have the same shape\. "
            r"Received: log_likelihood\.shape=\(3,\), kl_divergence\.shape=\(2,\)",
        ),
        (
            lambda: elbo(np.zeros((2, 1)), np.zeros((2, 1))),
            r"log_likelihood and kl_divergence must be per-example vectors of shape \(batch_size,\)\. "
            r"Received: shape=\(2, 1\)",
        ),
        (
            lambda: gaussian_kl_divergence(0.0, [[0.0]]),
            r"z_mean must have a batch axis\. Received: z_mean with shape \(\)",
        ),
        (
            lambda: gaussian_kl_divergence([[0.0]], 0.0),
            r"z_log_var must have a batch axis\. Received: z_log_var with shape \(\)",
        ),
        (
            lambda: gaussian_kl_divergence(np.zeros((4, 2)), np.zeros((4, 3))),
            r"z_mean and z_log_var must have the same shape\. "
            r"Received: z_mean\.shape=\(4, 2\), z_log_var\.shape=\(4, 3\)",
        ),
        (
            lambda: reparameterize(0.0, [[0.0]]),
            r"z_mean must have a batch axis\. Received: z_mean with shape \(\)",
        ),
        (
            lambda: reparameterize([[0.0]], 0.0),
            r"z_log_var must have a batch axis\. Received: z_log_var with shape \(\)",
        ),
        (
            lambda: reparameterize(np.zeros((4, 2)), np.zeros((4, 3))),
            r"z_mean and z_log_var must have the same shape\. "
            r"Received: z_mean\.shape=\(4, 2\), z_log_var\.shape=\(4, 3\)",
        ),
        (
            lambda: minimax_discriminator_loss([[0.0]], 0.0),
            r"fake_logits must have a batch axis\. Received: fake_logits with shape \(\)",
        ),
        (
            lambda: minimax_discriminator_loss(np.zeros((8, 1)), np.zeros((8, 784))),
            r"fake_logits must be discriminator logits of shape \(batch_size, 1\) \(one logit per example, "
            r"not images or probabilities per pixel\)\. Received: fake_logits\.shape=\(8, 784\)",
        ),
        (
            lambda: minimax_discriminator_loss(np.zeros((8, 784)), np.zeros((8, 1))),
            r"real_logits must be discriminator logits of shape \(batch_size, 1\).*"
            r"Received: real_logits\.shape=\(8, 784\)",
        ),
        (
            lambda: wasserstein_critic_loss(np.zeros((8, 784)), np.zeros((8, 1))),
            r"real_scores must be .*real_scores\.shape=\(8, 784\)",
        ),
        (
            lambda: wasserstein_critic_loss(np.zeros((8, 1)), np.zeros((8, 784))),
            r"fake_scores must be .*fake_scores\.shape=\(8, 784\)",
        ),
        (
            lambda: wasserstein_generator_loss(np.zeros((8, 784))),
            r"fake_scores must be .*fake_scores\.shape=\(8, 784\)",
        ),
        (
            lambda: random_interpolates(0.0, [[0.0]]),
            r"real must have a batch axis\. Received: real with shape \(\)",
        ),
        (
            lambda: random_interpolates([[0.0]], 0.0),
            r"fake must have a batch axis\. Received: fake with shape \(\)",
        ),
        (
            lambda: random_interpolates(np.zeros((2, 3)), np.zeros((2, 4))),
            r"real and fake must have the same shape\. Received: real\.shape=\(2, 3\), fake\.shape=\(2, 4\)",
        ),
        (
            lambda: importance_weighted_bound(0.0),
            r"log_weights must have a batch axis\. Received: log_weights with shape \(\)",
        ),
        (
            lambda: importance_weighted_bound(np.zeros(3)),
            r"log_weights must have shape \(batch_size, k\) with k >= 1\. Received: log_weights\.shape=\(3,\)",
        ),
        (
            lambda: importance_weighted_bound(np.zeros((2, 0))),
            r"log_weights must have shape \(batch_size, k\) with k >= 1\. Received: log_weights\.shape=\(2, 0\)",
        ),
    ],
)
def test_error_messages_name_the_argument_and_its_shape(call, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        call()


def test_shapes_must_match_on_every_axis_including_the_batch():
    # Same trailing shape, different batch size or rank: each example needs its own targets.
    with pytest.raises(ValueError, match=r"^x and logits must have the same shape\."):
        bernoulli_log_likelihood(np.zeros((2, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"^x and logits must have the same shape\."):
        bernoulli_log_likelihood(np.zeros((4, 2)), np.zeros((4, 2, 1)))
    with pytest.raises(ValueError, match=r"^z_mean and z_log_var must have the same shape\."):
        gaussian_kl_divergence(np.zeros((2, 3)), np.zeros((1, 3)))


# --- Wasserstein losses ------------------------------------------------------------------------


def test_wasserstein_losses_by_hand():
    # mean(fake) - mean(real) = (1 + 2 + 6) / 3 - (3 + 1) / 2 = 3 - 2 = 1; the batch sizes may differ.
    assert float(wasserstein_critic_loss([[3.0], [1.0]], [[1.0], [2.0], [6.0]])) == pytest.approx(1.0)
    assert float(wasserstein_critic_loss([[3.0], [1.0]], [[0.5], [-0.5]])) == pytest.approx(-2.0)
    # The generator minimises -mean(fake) = -(0.5 - 1.5) / 2 = 0.5.
    assert float(wasserstein_generator_loss([[0.5], [-1.5]])) == pytest.approx(0.5)
    assert wasserstein_generator_loss([[0.5], [-1.5]]).shape == ()


def test_wasserstein_loss_gradients_raise_real_scores_and_lower_fake_ones():
    # d/d real = -1 / n_real, d/d fake = +1 / n_fake: a descent step raises real scores, lowers fake ones.
    real = tf.constant([[3.0], [1.0]])
    fake = tf.constant([[1.0], [2.0], [6.0]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([real, fake])
        critic_loss = wasserstein_critic_loss(real, fake)
        generator_loss = wasserstein_generator_loss(fake)
    grad_real, grad_fake = tape.gradient(critic_loss, [real, fake])
    np.testing.assert_allclose(grad_real.numpy(), np.full((2, 1), -0.5))
    np.testing.assert_allclose(grad_fake.numpy(), np.full((3, 1), 1 / 3))
    np.testing.assert_allclose(tape.gradient(generator_loss, fake).numpy(), np.full((3, 1), -1 / 3))


# --- Interpolates and the gradient penalty (WGAN-GP) ---------------------------------------------


def test_random_interpolates_lie_between_real_and_fake_with_one_epsilon_per_example():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(6, 2, 2, 1)).astype(np.float32)
    fake = rng.normal(size=(6, 2, 2, 1)).astype(np.float32)
    interpolates, epsilon = random_interpolates(real, fake, seed=3)
    assert interpolates.shape == (6, 2, 2, 1) and epsilon.shape == (6, 1, 1, 1)
    eps = epsilon.numpy()
    assert np.all((eps >= 0.0) & (eps < 1.0)) and len(np.unique(eps)) == 6
    np.testing.assert_allclose(interpolates.numpy(), eps * real + (1 - eps) * fake, rtol=1e-6, atol=1e-6)
    # A seed is honoured; two seeds differ.
    np.testing.assert_array_equal(random_interpolates(real, fake, seed=3)[1].numpy(), eps)
    assert not np.array_equal(random_interpolates(real, fake, seed=4)[1].numpy(), eps)
    # Vectors (batch, d) get epsilon of shape (batch, 1).
    assert random_interpolates(np.zeros((5, 3)), np.ones((5, 3)), seed=0)[1].shape == (5, 1)


def test_epsilon_is_uniform_on_the_unit_interval():
    # U[0, 1]: mean 1/2, variance 1/12; n = 20,000, standard errors 0.002 and 0.0006.
    _, epsilon = random_interpolates(np.zeros((20_000, 1)), np.ones((20_000, 1)), seed=0)
    eps = epsilon.numpy()[:, 0]
    assert abs(eps.mean() - 0.5) < 0.01 and abs(eps.var() - 1 / 12) < 0.003
    assert eps.min() < 0.01 and eps.max() > 0.99


def linear_critic(weights):
    """f(x) = <w, x> per example: its input gradient is w everywhere."""
    weights = tf.constant(weights, tf.float32)

    def critic(x, training=False):
        return tf.reduce_sum(tf.reshape(x, (tf.shape(x)[0], -1)) * weights, axis=1, keepdims=True)

    return critic


@pytest.mark.parametrize(
    ("weights", "expected"),
    [([0.6, 0.8, 0.0, 0.0], 0.0), ([2.0, 0.0, 0.0, 0.0], 1.0), ([3.0, 0.0, 4.0, 0.0], 16.0)],
)
def test_gradient_penalty_of_a_linear_critic_is_the_squared_excess_of_its_slope(weights, expected):
    # (||w|| - 1)^2: 0 for ||w|| = 1, 1 for ||w|| = 2, 16 for ||w|| = 5; images of (2, 2, 1) flattened.
    real = np.random.default_rng(1).normal(size=(4, 2, 2, 1)).astype(np.float32)
    penalty = wasserstein_gradient_penalty(linear_critic(weights), real, -real, seed=0)
    assert penalty.shape == ()
    assert float(penalty) == pytest.approx(expected, abs=1e-5)


def test_gradient_penalty_of_a_flat_critic_is_one():
    # A zero gradient has norm sqrt(0 + 1e-12) = 1e-6: (1e-6 - 1)^2 = 1 - 2e-6.
    penalty = wasserstein_gradient_penalty(
        linear_critic([0.0, 0.0]), np.ones((3, 2), np.float32), np.zeros((3, 2), np.float32), seed=0
    )
    assert float(penalty) == pytest.approx(1.0 - 2e-6, abs=1e-7)


def test_gradient_penalty_is_taken_at_the_interpolates():
    """f(x) = ||x||^2 / 2 has gradient x: the penalty is mean((||x_hat|| - 1)^2) at x_hat itself.

    Real points at (3, 0) and fake ones at (-3, 0): ||x_hat|| = |6 epsilon - 3|, which is 3
    at the real and the fake points and varies with epsilon in between.
    """
    def critic(x, training=False):
        return 0.5 * tf.reduce_sum(tf.square(x), axis=1, keepdims=True)

    real = np.tile([[3.0, 0.0]], (8, 1)).astype(np.float32)
    fake = -real
    _, epsilon = random_interpolates(real, fake, seed=5)
    norms = np.abs(6.0 * epsilon.numpy()[:, 0] - 3.0)
    expected = np.mean((norms - 1.0) ** 2)
    assert abs(expected - 4.0) > 0.5   # not the value at the real or the fake points
    assert float(wasserstein_gradient_penalty(critic, real, fake, seed=5)) == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_passes_labels_and_training_to_the_critic():
    # f([x, y]) = (y + 1) <w, x> with ||w|| = 1: slopes 1, 2, 3 give ((0)^2 + 1^2 + 2^2) / 3 = 5/3.
    calls = []

    def critic(inputs, training=False):
        x, labels = inputs
        calls.append(training)
        scale = tf.cast(labels + 1, x.dtype)[:, None]
        return scale * tf.reduce_sum(x * tf.constant([0.6, 0.8]), axis=1, keepdims=True)

    real = np.random.default_rng(2).normal(size=(3, 2)).astype(np.float32)
    penalty = wasserstein_gradient_penalty(critic, real, np.zeros_like(real), labels=tf.constant([0, 1, 2]), seed=0)
    assert float(penalty) == pytest.approx(5 / 3, rel=1e-5)
    assert calls == [True]


# --- Importance-weighted bound, KL annealing, bits per dimension ---------------------------------


def test_importance_weighted_bound_by_hand():
    # log mean(exp(log w)): log((1 + 3) / 2) = log 2; k = 1 is the log-weight itself (the ELBO);
    # k equal weights give that weight; logsumexp keeps +-1000 finite.
    bound = importance_weighted_bound([[0.0, math.log(3.0)], [-1.5, -1.5], [1000.0, 1000.0]])
    assert bound.shape == (3,)
    np.testing.assert_allclose(bound.numpy(), [LOG2, -1.5, 1000.0], rtol=1e-6)
    np.testing.assert_allclose(importance_weighted_bound([[-2.0], [0.5]]).numpy(), [-2.0, 0.5])
    # Four weights (1, 1, 1, 5): log(8 / 4) = log 2. Rows are independent of each other.
    four = importance_weighted_bound([[0.0, 0.0, 0.0, math.log(5.0)], [-1000.0, -1000.0, -1000.0, -1000.0]])
    np.testing.assert_allclose(four.numpy(), [LOG2, -1000.0], rtol=1e-6)


def test_kl_annealing_weight_ramps_from_zero_to_beta():
    values = [float(kl_annealing_weight(step, beta=2.0, warmup_steps=4)) for step in (-3, 0, 1, 2, 4, 9)]
    assert values == [0.0, 0.0, 0.5, 1.0, 2.0, 2.0]
    # A step tensor (the optimizer's iterations are int64).
    weight = kl_annealing_weight(tf.constant(25, tf.int64), beta=2.0, warmup_steps=100)
    assert weight.dtype == tf.float32 and float(weight) == 0.5
    # No warm-up: beta from the start.
    weight = kl_annealing_weight(0, beta=3.0)
    assert weight.dtype == tf.float32 and float(weight) == 3.0
    assert float(kl_annealing_weight(7, beta=0.0, warmup_steps=np.int64(10))) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"beta": -0.5}, r"^beta must be in \[0\.0, inf\)\. Received: beta=-0\.5$"),
        ({"beta": float("nan")}, r"^beta must be in \[0\.0, inf\)\. Received: beta=nan$"),
        ({"warmup_steps": -1}, r"^warmup_steps must be a non-negative integer\. Received: warmup_steps=-1$"),
        ({"warmup_steps": 2.5}, r"^warmup_steps must be a non-negative integer\. Received: warmup_steps=2\.5$"),
        ({"warmup_steps": True}, r"^warmup_steps must be a non-negative integer\. Received: warmup_steps=True$"),
    ],
)
def test_kl_annealing_weight_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        kl_annealing_weight(0, **kwargs)


def test_bits_per_dim_by_hand():
    # nll / (D ln 2): 784 ln 2 nats over 784 dimensions is 1 bit each.
    assert bits_per_dim(784 * LOG2, 784) == pytest.approx(1.0)
    assert bits_per_dim(3 * LOG2, np.int64(1)) == pytest.approx(3.0)
    np.testing.assert_allclose(bits_per_dim(np.array([0.0, 2 * 10 * LOG2]), 10), [0.0, 2.0])


@pytest.mark.parametrize("num_dims", [0, -784, True, 784.0])
def test_bits_per_dim_rejects_bad_dimension_counts(num_dims):
    with pytest.raises(ValueError, match=rf"^num_dims must be a positive integer\. Received: num_dims={num_dims!r}$"):
        bits_per_dim(1.0, num_dims)


def test_bits_per_dim_is_the_metrics_conversion_per_dimension():
    # One conversion of nats to bits in the package: bits/dim = nats_to_bits(nll) / D.
    from genai_tf.metrics import nats_to_bits

    nll = np.array([10.0, 543.21])
    np.testing.assert_allclose(bits_per_dim(nll, 784), nats_to_bits(nll) / 784, rtol=1e-12)
    np.testing.assert_allclose(bits_per_dim(nll, 784), nll / (784 * LOG2), rtol=1e-12)
