"""genai_tf.models.vae: KL against Monte Carlo, the importance-weighted bound, annealing, the train step, save/load, bad input."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import genai_tf
from genai_tf.losses import (
    bits_per_dim,
    gaussian_kl_divergence,
    gaussian_log_likelihood,
    importance_weighted_bound,
    kl_annealing_weight,
    reparameterize,
)
from genai_tf.models import VAE, build_decoder, build_encoder

RNG = np.random.default_rng(0)
BINARY = RNG.integers(0, 2, (16, 28, 28, 1)).astype("float32")


# --- KL in closed form against Monte Carlo ----------------------------------------------------


def test_closed_form_kl_matches_monte_carlo_within_3_standard_errors():
    z_mean = np.array([[0.5, -1.0, 0.0], [2.0, 0.3, -0.7]], np.float32)
    z_log_var = np.array([[0.0, -1.0, 1.0], [-2.0, 0.5, 0.2]], np.float32)
    n = 200_000
    mean = np.repeat(z_mean, n, axis=0)
    log_var = np.repeat(z_log_var, n, axis=0)
    z = reparameterize(mean, log_var, seed=1)
    # KL(q || p) = E_q[log q(z) - log p(z)]: one term per sample.
    terms = (gaussian_log_likelihood(z, mean, log_var) - gaussian_log_likelihood(z, tf.zeros_like(z), 0.0)).numpy()
    terms = terms.reshape(2, n)
    closed = gaussian_kl_divergence(z_mean, z_log_var).numpy()
    standard_error = terms.std(axis=1) / math.sqrt(n)
    assert np.all(np.abs(terms.mean(axis=1) - closed) < 3 * standard_error)
    # And by hand: sum_j (-log s_j + (s_j^2 + mu_j^2) / 2 - 1/2).
    s2 = np.exp(z_log_var)
    np.testing.assert_allclose(closed, np.sum(-0.5 * z_log_var + (s2 + z_mean**2) / 2 - 0.5, axis=1), rtol=1e-5)


# --- importance-weighted bound ----------------------------------------------------------------


def test_importance_weighted_bound_hand_values():
    # Equal weights: L_k = log w. Weights 1 and e^-100: log((1 + e^-100) / 2) = -log 2.
    bound = importance_weighted_bound([[-3.0, -3.0, -3.0], [0.0, -100.0, -100.0]]).numpy()
    np.testing.assert_allclose(bound, [-3.0, math.log((1 + 2 * math.exp(-100)) / 3)], rtol=1e-6)
    # log-weights of -1000 would underflow exp(): logsumexp keeps them.
    assert float(importance_weighted_bound([[-1000.0]])[0]) == pytest.approx(-1000.0)


def test_importance_weighted_bound_rejects_bad_shapes():
    with pytest.raises(ValueError, match="batch_size, k"):
        importance_weighted_bound([1.0, 2.0])


def _small_vae(likelihood="bernoulli", **kwargs):
    genai_tf.set_seed(0)
    vae = VAE(latent_dim=2, hidden_units=(32,), likelihood=likelihood, **kwargs)
    vae.compile()
    return vae


@pytest.fixture(scope="module")
def trained_vae():
    vae = _small_vae()
    vae.fit(BINARY, batch_size=8, epochs=2, verbose=0)
    return vae


def _exact_log_likelihood(vae, images, points=61, limit=7.0):
    """log p(x) = log of the integral of p(x|z) N(z; 0, I) over z, on a grid (2-D latent space only).

    The integrand is smooth and its posterior widths are above 0.4 here, so
    the rectangle rule on a 0.23-wide grid over [-7, 7]^2 is exact to about
    1e-4 nats (61 and 161 points agree to that). Summed in float64.
    """
    axis = np.linspace(-limit, limit, points)
    z = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    logits = np.asarray(vae.decode_logits(z.astype("float32")), np.float64).reshape(len(z), -1)
    pixels = np.asarray(images, np.float64).reshape(len(images), -1)
    log_likelihood = pixels @ logits.T - np.logaddexp(0.0, logits).sum(axis=1)  # (N, grid points)
    log_prior = -0.5 * np.sum(z**2, axis=1) - math.log(2 * math.pi)
    terms = log_likelihood + log_prior + 2 * math.log(axis[1] - axis[0])
    top = terms.max(axis=1, keepdims=True)
    return top[:, 0] + np.log(np.exp(terms - top).sum(axis=1))


def test_importance_weighted_bound_is_monotone_in_k_and_bounds_the_exact_log_likelihood(trained_vae):
    # Averaged over examples and over independent draws, L_1 <= L_5 <= L_50 <= L_500.
    images = np.tile(BINARY, (4, 1, 1, 1))
    bounds = [trained_vae.importance_weighted_bound(images, k, seed=7).mean() for k in (1, 5, 50, 500)]
    assert bounds[0] < bounds[1] < bounds[2] < bounds[3]
    elbo = trained_vae.elbo(images, seed=7).mean()
    assert elbo < bounds[1]
    # All are below the exact log p(x) (about -543 nats for these random
    # images), and L_500 is within 0.2 nats of it; 0.02 nats of slack covers
    # the sampling noise of L_500, whose expectation is below log p(x).
    log_likelihood = _exact_log_likelihood(trained_vae, BINARY).mean()
    assert elbo < log_likelihood and bounds[-1] < log_likelihood + 0.02
    assert log_likelihood - bounds[-1] < 0.2
    assert log_likelihood - elbo > 0.1   # the ELBO's gap, KL(q(z|x) || p(z|x)), is not negligible here


def test_log_importance_weights_of_one_sample_match_the_elbo_terms(trained_vae):
    # The log-weight is log p(x|z) + log p(z) - log q(z|x); its mean over
    # many samples is the ELBO, whose closed-form-KL estimate has the same expectation.
    images = BINARY[:4]
    log_w = trained_vae.log_importance_weights(images, 4000, seed=3).numpy()
    elbos = np.stack([trained_vae.elbo(images, seed=s) for s in range(400)])
    standard_error = np.sqrt(log_w.var(axis=1) / 4000 + elbos.var(axis=0) / 400)
    assert np.all(np.abs(log_w.mean(axis=1) - elbos.mean(axis=0)) < 4 * standard_error)


def test_bits_per_dim():
    assert bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)
    assert bits_per_dim(100.0, 784) == pytest.approx(100.0 / (784 * math.log(2)))
    with pytest.raises(ValueError, match="num_dims"):
        bits_per_dim(1.0, 0)


# --- KL annealing -----------------------------------------------------------------------------


def test_kl_annealing_weight_ramps_linearly_then_holds():
    weights = [float(kl_annealing_weight(s, beta=2.0, warmup_steps=10)) for s in (0, 1, 5, 10, 11, 1000)]
    assert weights == pytest.approx([0.0, 0.2, 1.0, 2.0, 2.0, 2.0])
    assert float(kl_annealing_weight(0, beta=4.0, warmup_steps=0)) == 4.0
    with pytest.raises(ValueError, match="warmup_steps"):
        kl_annealing_weight(0, 1.0, -1)
    with pytest.raises(ValueError, match="beta"):
        kl_annealing_weight(0, -1.0, 1)


def test_vae_reports_the_annealed_weight():
    vae = _small_vae(beta=4.0, kl_warmup_steps=4)
    history = vae.fit(BINARY, batch_size=8, epochs=3, verbose=0, shuffle=False).history
    # Epoch means of the weight at steps (0, 1), (2, 3), (4, 5): 4 * [0.125, 0.625, 1.0].
    assert history["kl_weight"] == pytest.approx([0.5, 2.5, 4.0])


# --- the model ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(architecture="mlp", likelihood="bernoulli"),
        dict(architecture="conv", likelihood="bernoulli", width=4),
        dict(architecture="mlp", likelihood="gaussian"),
    ],
)
def test_one_train_step_returns_finite_documented_values(kwargs):
    genai_tf.set_seed(0)
    vae = VAE(latent_dim=3, hidden_units=(16,), **kwargs)
    vae.compile()
    before = [w.copy() for w in vae.get_weights()]
    history = vae.fit(BINARY[:8], batch_size=8, epochs=1, verbose=0).history
    assert set(history) == {"loss", "reconstruction_loss", "kl_loss", "elbo", "kl_weight"}
    values = {k: v[-1] for k, v in history.items()}
    assert all(np.isfinite(v) for v in values.values())
    # loss = reconstruction + KL and ELBO = -(reconstruction + KL) at beta = 1 (same batch).
    assert values["loss"] == pytest.approx(values["reconstruction_loss"] + values["kl_loss"], rel=1e-4)
    assert values["elbo"] == pytest.approx(-values["loss"], rel=1e-4)
    assert values["kl_loss"] >= 0
    if kwargs["likelihood"] == "bernoulli":
        assert values["reconstruction_loss"] > 0
    assert any(not np.array_equal(a, b) for a, b in zip(before, vae.get_weights()))


def test_encode_decode_sample_shapes_and_ranges(trained_vae):
    z_mean, z_log_var = trained_vae.encode(BINARY[:5])
    assert z_mean.shape == z_log_var.shape == (5, 2)
    probabilities = trained_vae.decode(z_mean).numpy()
    assert probabilities.shape == (5, 28, 28, 1)
    assert probabilities.min() >= 0 and probabilities.max() <= 1
    samples = trained_vae.sample(7, seed=1)
    assert samples.shape == (7, 28, 28, 1)
    np.testing.assert_array_equal(samples, trained_vae.sample(7, seed=1))
    # Another seed gives other samples, every one of them.
    other = trained_vae.sample(7, seed=2)
    assert np.abs(samples - other).reshape(7, -1).max(axis=1).min() > 1e-4
    np.testing.assert_allclose(samples, trained_vae.decode(keras.random.normal((7, 2), seed=1)), atol=1e-6)
    np.testing.assert_allclose(trained_vae.reconstruct(BINARY[:5]), probabilities, atol=1e-6)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_save_and_load_round_trip(likelihood, tmp_path):
    vae = _small_vae(likelihood, beta=2.0, kl_warmup_steps=3)
    vae.fit(BINARY, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "vae.keras"
    vae.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is VAE and loaded.get_config() == vae.get_config()
    np.testing.assert_array_equal(loaded.sample(4, seed=2), vae.sample(4, seed=2))
    np.testing.assert_array_equal(loaded.elbo(BINARY, seed=1), vae.elbo(BINARY, seed=1))
    assert int(loaded.optimizer.iterations) == int(vae.optimizer.iterations) == 2
    np.testing.assert_array_equal(loaded.seed_generator.state.numpy(), vae.seed_generator.state.numpy())
    # Training resumes: the next step of both gives the same weights.
    vae.fit(BINARY, batch_size=8, epochs=1, verbose=0, shuffle=False)
    loaded.fit(BINARY, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(vae.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_custom_networks_save_and_load(tmp_path):
    images = keras.Input((28, 28, 1))
    h = keras.layers.Dense(4)(keras.layers.Flatten()(images))
    z_mean, z_log_var = keras.ops.split(h, 2, axis=-1)
    encoder = keras.Model(images, [z_mean, z_log_var])
    decoder = build_decoder(2, hidden_units=(8,))
    vae = VAE(latent_dim=2, encoder=encoder, decoder=decoder)
    vae.compile()
    vae.fit(BINARY, batch_size=8, epochs=1, verbose=0)
    vae.save(tmp_path / "custom.keras")
    loaded = keras.models.load_model(tmp_path / "custom.keras")
    np.testing.assert_allclose(loaded.elbo(BINARY, seed=0), vae.elbo(BINARY, seed=0), rtol=1e-6)


# --- bad input -----------------------------------------------------------------------------------


def test_bad_constructor_arguments_are_rejected():
    with pytest.raises(ValueError, match="latent_dim"):
        VAE(latent_dim=0)
    with pytest.raises(ValueError, match="architecture"):
        VAE(architecture="resnet")
    with pytest.raises(ValueError, match="likelihood"):
        VAE(likelihood="poisson")
    with pytest.raises(ValueError, match="beta"):
        VAE(beta=-1.0)
    with pytest.raises(ValueError, match="warmup_steps"):
        VAE(kl_warmup_steps=1.5)
    with pytest.raises(ValueError, match="28x28"):
        VAE(architecture="conv", image_shape=(8, 8, 1))
    with pytest.raises(ValueError, match="both encoder and decoder"):
        VAE(encoder=build_encoder(2))


def test_an_encoder_with_one_output_is_rejected():
    """E-004-4: an encoder ending in Dense(1) cannot give (z_mean, z_log_var)."""
    images = keras.Input((28, 28, 1))
    encoder = keras.Model(images, keras.layers.Dense(1)(keras.layers.Flatten()(images)))
    with pytest.raises(ValueError, match=r"\[z_mean, z_log_var\]"):
        VAE(latent_dim=2, encoder=encoder, decoder=build_decoder(2))


def test_wrong_images_are_rejected_with_the_fix_named(trained_vae):
    with pytest.raises(ValueError, match=r"pixel_range=\(0, 1\)"):
        trained_vae.fit(2 * BINARY - 1, batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="shape"):
        trained_vae.fit(BINARY.reshape(16, 784), batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="pixel_range"):
        trained_vae.elbo(np.full((2, 28, 28, 1), np.nan, "float32"))
    with pytest.raises(ValueError, match="k must be"):
        trained_vae.importance_weighted_bound(BINARY, 0)
    with pytest.raises(ValueError, match="n must be"):
        trained_vae.sample(0)


PIXEL_RANGE_ERROR = (
    "A Bernoulli decoder needs pixels in [0, 1]: load the data with "
    "genai_tf.datasets.load(..., pixel_range=(0, 1)) (not (-1, 1), which suits a tanh generator). "
)


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_a_dataset_of_pixels_outside_0_1_is_a_value_error_before_any_update(run_eagerly):
    vae = _small_vae()
    vae.compile(run_eagerly=run_eagerly)
    signed = np.linspace(-1.0, 1.0, 8 * 784, dtype="float32").reshape(8, 28, 28, 1)
    for dataset in (tf.data.Dataset.from_tensor_slices(signed).batch(8),
                    tf.data.Dataset.from_tensor_slices((signed, np.zeros(8))).batch(8)):
        with pytest.raises(ValueError) as info:
            vae.fit(dataset, epochs=1, verbose=0)
        assert str(info.value) == PIXEL_RANGE_ERROR + "Received: a batch with pixels in [-1, 1]"
    with pytest.raises(ValueError, match=r"a batch with pixels in \[-1, 1\]$"):
        vae.evaluate(dataset, verbose=0)
    assert int(vae.optimizer.iterations) == 0


def _state(model):
    return [np.asarray(v).copy() for v in model.trainable_variables] + [np.asarray(model.seed_generator.state).copy()]


def test_a_bad_later_batch_stops_training_with_the_value_error_and_changes_nothing():
    vae = _small_vae()
    images = BINARY.copy()
    images[9, 0, 0, 0] = 2.0   # in the second batch of 8
    states = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: states.append(_state(vae)))
    with pytest.raises(ValueError, match=r"a batch with pixels in \[0, 2\]$"):
        vae.fit(tf.data.Dataset.from_tensor_slices(images).batch(8), epochs=1, verbose=0, callbacks=[record])
    # The first batch trained; the failed second step updated no weight, did not count and drew no noise.
    assert len(states) == 1 and int(vae.optimizer.iterations) == 1
    assert all(np.array_equal(b, a) for b, a in zip(states[0], _state(vae), strict=True))
    images[9, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=PIXEL_RANGE_ERROR.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        vae.fit(tf.data.Dataset.from_tensor_slices(images).batch(8), epochs=1, verbose=0)


def test_an_eager_tensor_outside_0_1_is_refused_before_training():
    vae = _small_vae()
    with pytest.raises(ValueError) as info:
        vae.fit(tf.constant(2 * BINARY - 1), batch_size=8, epochs=1, verbose=0)
    assert str(info.value) == PIXEL_RANGE_ERROR + "Received: pixels in [-1, 1]"


def test_a_gaussian_decoder_takes_pixels_in_minus_1_1_from_a_dataset():
    vae = _small_vae(likelihood="gaussian")
    history = vae.fit(tf.data.Dataset.from_tensor_slices(2 * BINARY - 1).batch(8), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and int(vae.optimizer.iterations) == 2


def test_a_list_of_images_trains_as_the_array_does():
    histories = []
    for images in (BINARY[:8], list(BINARY[:8])):
        vae = _small_vae()
        histories.append(vae.fit(images, batch_size=8, epochs=1, verbose=0).history)
    assert histories[1] == histories[0]
    with pytest.raises(ValueError, match=r"^VAE.fit\(x\) takes images as .* Received: a list that is not an array"):
        _small_vae().fit([BINARY[0], BINARY[0, :5]], batch_size=1, verbose=0)
    with pytest.raises(ValueError, match=r"pixel_range=\(0, 1\)"):
        _small_vae().fit(list(2 * BINARY - 1), batch_size=8, verbose=0)


def test_sampling_noise_of_the_wrong_size_is_rejected(trained_vae):
    """E-004-4: 100-dimensional noise for a 2-D latent space.

    The check is the decoder's own Input (``build_decoder`` gives it shape
    (latent_dim,)); the test holds the message to naming both sizes.
    """
    with pytest.raises(ValueError, match=r"'decoder'.*expected shape=\(None, 2\), found shape=\(3, 100\)"):
        trained_vae.decode(np.zeros((3, 100), "float32"))


def test_evaluate_reports_the_elbo_terms_at_the_full_kl_weight():
    # beta = 2 with a 10-step warm-up: training at step 0 would weigh the KL by 0, evaluation by beta itself.
    vae = _small_vae(beta=2.0, kl_warmup_steps=10, seed=3)
    images = BINARY[:8]
    state = np.asarray(vae.seed_generator.state).copy()
    logs = vae.evaluate(images, batch_size=8, verbose=0, return_dict=True)
    # By hand: the same reparameterisation draw (a generator in the state the model's was in), one batch.
    replay = keras.random.SeedGenerator(3)
    replay.state.assign(state)
    z_mean, z_log_var = vae.encode(images)
    z = reparameterize(z_mean, z_log_var, seed=replay)
    log_likelihood = np.asarray(vae.log_likelihood(images, vae.decode_logits(z)), np.float64)
    kl = np.asarray(gaussian_kl_divergence(z_mean, z_log_var), np.float64)
    assert kl.mean() > 1e-3   # the KL term is not negligible, so its weight shows
    assert logs["kl_weight"] == 2.0
    assert logs["kl_loss"] == pytest.approx(kl.mean(), rel=1e-5)
    assert logs["reconstruction_loss"] == pytest.approx(-log_likelihood.mean(), rel=1e-5)
    assert logs["loss"] == pytest.approx(-log_likelihood.mean() + 2.0 * kl.mean(), rel=1e-5)
    assert logs["elbo"] == pytest.approx((log_likelihood - kl).mean(), rel=1e-5)
    assert int(vae.optimizer.iterations) == 0   # evaluation trains nothing


# --- the train step: training mode, the KL weighed by beta --------------------------------------------

SEED = 3


class TrainingShift(keras.layers.Layer):
    """x + 1 in training mode, x in inference mode: the training flag of a call shows in its output."""

    def call(self, inputs, training=None):
        return inputs + (1.0 if training else 0.0)


def _flagged_vae(beta, kl_warmup_steps=0):
    """A VAE whose encoder and decoder each hold a TrainingShift."""
    keras.utils.set_random_seed(0)
    images = keras.Input((4, 4, 1))
    hidden = TrainingShift()(keras.layers.Dense(4)(keras.layers.Flatten()(images)))
    z_mean, z_log_var = keras.ops.split(hidden, 2, axis=-1)
    encoder = keras.Model(images, [z_mean, z_log_var])
    code = keras.Input((2,))
    decoder = keras.Model(code, keras.layers.Reshape((4, 4, 1))(TrainingShift()(keras.layers.Dense(16)(code))))
    vae = VAE(latent_dim=2, image_shape=(4, 4, 1), encoder=encoder, decoder=decoder, beta=beta,
              kl_warmup_steps=kl_warmup_steps, seed=SEED)
    vae.compile(keras.optimizers.SGD(0.0))
    return vae


def _vae_terms(vae, images, state, training):
    """The Bernoulli log-likelihood and the KL of one reparameterised draw from the generator state ``state``."""
    replay = keras.random.SeedGenerator(SEED)
    replay.state.assign(state)
    z_mean, z_log_var = vae.encoder(images, training=training)
    z = reparameterize(z_mean, z_log_var, seed=replay)
    log_likelihood = np.asarray(vae.log_likelihood(images, vae.decoder(z, training=training)), np.float64)
    return log_likelihood, np.asarray(gaussian_kl_divergence(z_mean, z_log_var), np.float64)


def test_vae_train_step_runs_the_networks_in_training_mode_and_weighs_the_kl_by_beta():
    images = np.random.default_rng(2).integers(0, 2, (8, 4, 4, 1)).astype("float32")
    vae = _flagged_vae(beta=2.0)
    state = np.asarray(vae.seed_generator.state).copy()
    logs = vae.train_on_batch(images, return_dict=True)
    log_likelihood, kl = _vae_terms(vae, images, state, training=True)
    assert logs["kl_weight"] == 2.0
    assert logs["reconstruction_loss"] == pytest.approx(-log_likelihood.mean(), rel=1e-5)
    assert logs["kl_loss"] == pytest.approx(kl.mean(), rel=1e-5)
    assert logs["loss"] == pytest.approx(-log_likelihood.mean() + 2.0 * kl.mean(), rel=1e-5)
    # Evaluation: the same terms in inference mode, which differ here.
    state = np.asarray(vae.seed_generator.state).copy()
    evaluated = vae.evaluate(images, batch_size=8, verbose=0, return_dict=True)
    log_likelihood_eval, kl_eval = _vae_terms(vae, images, state, training=False)
    assert evaluated["loss"] == pytest.approx(-log_likelihood_eval.mean() + 2.0 * kl_eval.mean(), rel=1e-5)
    assert abs(kl_eval.mean() - kl.mean()) > 1e-3
