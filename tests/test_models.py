"""The adversarial models: one train step, documented keys, save/load, bad input, the gradient penalty.

Beyond "it ran": the WGAN-GP update against a reference written out here,
the saturating loss, DiffAugment in DCGAN's train step, the tanh outputs, the
seeds of ``generate``, and that the conditional networks use their label.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import genai_tf
from genai_tf import augment
from genai_tf.losses import random_interpolates, wasserstein_gradient_penalty
from genai_tf.models import DCGAN, GAN, WGANGP, ConditionalGAN
from genai_tf.models.conditional_gan import build_conditional_discriminator, build_conditional_generator
from genai_tf.training import make_wgan_gp_train_step

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(-1, 1, (8, 28, 28, 1)).astype("float32")
LABELS = np.arange(8, dtype="int32") % 10

MODELS = {
    "GAN": (lambda: GAN(latent_dim=16), {"d_loss", "g_loss"}),
    "GAN-spectral": (lambda: GAN(latent_dim=16, spectral_norm=True), {"d_loss", "g_loss"}),
    "DCGAN": (lambda: DCGAN(latent_dim=16, width=8), {"d_loss", "g_loss"}),
    "DCGAN-spectral": (lambda: DCGAN(latent_dim=16, width=8, spectral_norm=True), {"d_loss", "g_loss"}),
    "ConditionalGAN": (lambda: ConditionalGAN(latent_dim=16, width=8), {"d_loss", "g_loss"}),
    "WGANGP": (
        lambda: WGANGP(latent_dim=16, width=8, n_critic=2),
        {"d_loss", "g_loss", "gradient_penalty", "wasserstein"},
    ),
}


def _fit_args(model):
    return (IMAGES, LABELS) if isinstance(model, ConditionalGAN) else (IMAGES,)


@pytest.mark.parametrize("name", MODELS)
def test_one_train_step_on_a_batch_of_8_returns_finite_documented_losses(name):
    genai_tf.set_seed(0)
    build, keys = MODELS[name]
    model = build()
    model.compile()
    before = [w.copy() for w in model.generator.get_weights()]
    history = model.fit(*_fit_args(model), batch_size=8, epochs=1, verbose=0).history
    assert set(history) == keys
    assert all(np.isfinite(v[-1]) for v in history.values())
    after = model.generator.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after)), "the generator was not updated"
    if name.startswith("GAN") or name.startswith("DCGAN") or name == "ConditionalGAN":
        assert history["d_loss"][-1] > 0 and history["g_loss"][-1] > 0   # cross-entropies
    # One batch is one generator step; WGAN-GP's critic takes n_critic = 2 steps for it.
    critic_steps = model.n_critic if name == "WGANGP" else 1
    assert (int(model.d_optimizer.iterations), int(model.g_optimizer.iterations)) == (critic_steps, 1)


@pytest.mark.parametrize("name", MODELS)
def test_save_and_load_round_trip(name, tmp_path):
    build, _ = MODELS[name]
    model = build()
    model.compile()
    model.fit(*_fit_args(model), batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.generate(5, seed=3), model.generate(5, seed=3))
    for a, b in zip(loaded.discriminator.get_weights(), model.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)
    # The training noise continues where it stopped (Keras alone would reset the SeedGenerator).
    np.testing.assert_array_equal(np.asarray(loaded.seed_generator.state), np.asarray(model.seed_generator.state))
    assert np.asarray(model.seed_generator.state).any()
    # The optimizers come back with their state (step count and moments), ready to continue.
    assert int(loaded.d_optimizer.iterations) == int(model.d_optimizer.iterations) >= 1
    for a, b in zip(loaded.g_optimizer.variables, model.g_optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("cls", [GAN, DCGAN, ConditionalGAN, WGANGP])
@pytest.mark.parametrize("latent_dim", [0, -3, 2.5, True])
def test_latent_dim_must_be_a_positive_integer(cls, latent_dim):
    with pytest.raises(ValueError, match="latent_dim"):
        cls(latent_dim=latent_dim)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("bad_shape", [(8, 784), (8, 28, 28), (8, 32, 32, 1), (8, 28, 28, 3)])
def test_wrong_image_shape_is_a_clear_value_error(name, bad_shape):
    build, _ = MODELS[name]
    model = build()
    model.compile()
    images = np.zeros(bad_shape, "float32")
    args = (images, LABELS[: bad_shape[0]]) if isinstance(model, ConditionalGAN) else (images,)
    with pytest.raises(ValueError, match=r"expects images of shape \(batch_size, 28, 28, 1\)"):
        model.fit(*args, batch_size=8, epochs=1, verbose=0)


def test_wrong_image_shape_in_a_dataset_is_a_clear_value_error():
    model = GAN(latent_dim=4)
    model.compile()
    dataset = tf.data.Dataset.from_tensor_slices(np.zeros((8, 784), "float32")).batch(4)
    with pytest.raises(ValueError, match=r"Received: images.shape=\(.*784\)"):
        model.fit(dataset, epochs=1, verbose=0)


@pytest.mark.parametrize("labels", [np.full(8, 10), np.full(8, -1), np.arange(8) + 0.5])
def test_conditional_labels_out_of_range_are_a_clear_value_error(labels):
    model = ConditionalGAN(latent_dim=4, width=8)
    model.compile()
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 10\)"):
        model.fit(IMAGES, labels, batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 10\)"):
        model.generate(8, labels=labels)


def test_conditional_model_needs_labels():
    model = ConditionalGAN(latent_dim=4, width=8)
    model.compile()
    with pytest.raises(ValueError, match="needs labels"):
        model.fit(IMAGES, batch_size=8, epochs=1, verbose=0)


def test_conditional_generator_uses_the_label():
    model = ConditionalGAN(latent_dim=4, width=8)
    zeros = model.generate(4, labels=np.zeros(4, "int32"), seed=1)
    ones = model.generate(4, labels=np.ones(4, "int32"), seed=1)
    np.testing.assert_array_equal(zeros, model.generate(4, labels=np.zeros(4, "int32"), seed=1))
    assert np.abs(zeros - ones).max() > 1e-3


def test_conditional_networks_use_the_label():
    # The same image (or noise) with each of the 10 labels: 10 different outputs.
    genai_tf.set_seed(0)
    discriminator = build_conditional_discriminator(10, width=4)
    image = np.repeat(IMAGES[:1], 10, axis=0)
    logits = np.asarray(discriminator([image, np.arange(10, dtype="int32")], training=False)).ravel()
    same = np.asarray(discriminator([image, np.full(10, 3, "int32")], training=False)).ravel()
    np.testing.assert_allclose(same, logits[3], rtol=1e-6)   # the control: one label, one logit
    assert np.min(np.diff(np.sort(logits))) > 1e-6, logits
    generator = build_conditional_generator(4, 10, width=4)
    noise = np.repeat(RNG.standard_normal((1, 4)).astype("float32"), 10, axis=0)
    images = np.asarray(generator([noise, np.arange(10, dtype="int32")], training=False)).reshape(10, -1)
    assert min(np.abs(images[i] - images[j]).max() for i in range(10) for j in range(i)) > 1e-4


# Small models, untrained: their generators and discriminators.
SMALL_MODELS = {
    "GAN": lambda: GAN(latent_dim=4, image_shape=(4, 4, 1)),
    "DCGAN": lambda: DCGAN(latent_dim=4, width=4),
    "ConditionalGAN": lambda: ConditionalGAN(latent_dim=4, width=4),
    "WGANGP": lambda: WGANGP(latent_dim=4, width=4),
}


@pytest.mark.parametrize("name", SMALL_MODELS)
def test_generators_end_in_tanh(name):
    # With the last layer's kernel scaled by 10^4 most pre-activations are in
    # the tens or more: tanh saturates at +-1 and never passes it; a linear output would.
    model = SMALL_MODELS[name]()
    last = [layer for layer in model.generator.layers if getattr(layer, "kernel", None) is not None][-1]
    last.kernel.assign(last.kernel * 1e4)
    images = model.generate(8, seed=1)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert np.mean(np.abs(images) > 0.999) > 0.75
    assert images.min() < -0.999 and images.max() > 0.999


@pytest.mark.parametrize("name", SMALL_MODELS)
def test_generate_honours_its_seed(name):
    model = SMALL_MODELS[name]()
    images = model.generate(6, seed=4)
    assert images.shape[0] == 6 and images.min() >= -1 and images.max() <= 1
    np.testing.assert_array_equal(images, model.generate(6, seed=4))
    other = model.generate(6, seed=5)
    # Every image changes with the seed, not just some.
    assert np.abs(images - other).reshape(6, -1).max(axis=1).min() > 1e-3


def test_wgan_gp_arguments_are_validated():
    with pytest.raises(ValueError, match="n_critic"):
        WGANGP(n_critic=0)
    with pytest.raises(ValueError, match="gp_weight"):
        WGANGP(gp_weight=-1.0)
    assert WGANGP().get_config()["gp_weight"] == 10.0   # the paper's lambda


def test_same_optimizer_twice_is_rejected():
    optimizer = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="separate"):
        GAN(latent_dim=4).compile(d_optimizer=optimizer, g_optimizer=optimizer)


@pytest.mark.parametrize("name", ["GAN", "DCGAN", "ConditionalGAN", "WGANGP"])
def test_discriminators_output_raw_scores_with_no_sigmoid(name):
    # With the last kernel zeroed the output is the last bias itself: 5 and -5
    # come out as 5 and -5 (a sigmoid would give 0.993 and 0.007).
    model = SMALL_MODELS[name]()
    last = model.discriminator.layers[-1]
    inputs = IMAGES[:4] if name != "GAN" else IMAGES[:4, :4, :4]
    inputs = [inputs, LABELS[:4]] if name == "ConditionalGAN" else inputs
    last.kernel.assign(tf.zeros_like(last.kernel))
    for bias in (5.0, -5.0):
        last.bias.assign(tf.fill(last.bias.shape, bias))
        np.testing.assert_allclose(np.asarray(model.discriminator(inputs, training=False)), bias)


# --- the per-batch updates ---------------------------------------------------------------------


def _small_gan(generator_loss):
    genai_tf.set_seed(0)
    model = GAN(latent_dim=4, image_shape=(4, 4, 1), generator_loss=generator_loss)
    model.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
    # A discriminator that rejects every sample, D(G(z)) = sigmoid(-30 + ...) ~ 1e-13: the
    # saturating loss's gradient, -sigmoid(logit), vanishes; the non-saturating one is about -1.
    model.discriminator.layers[-1].bias.assign([-30.0])
    return model


def test_saturating_generator_loss_is_the_one_used():
    images = tf.constant(IMAGES[:8, :4, :4])
    updates, logs = {}, {}
    for loss in ("saturating", "non_saturating"):
        model = _small_gan(loss)
        before = [np.asarray(w).copy() for w in model.generator.trainable_weights]
        logs[loss] = {key: float(value) for key, value in model.train_step((images,)).items()}
        after = model.generator.trainable_weights
        updates[loss] = max(float(np.max(np.abs(np.asarray(a) - b))) for a, b in zip(after, before))
    assert updates["saturating"] < 1e-8 < 1e-3 < updates["non_saturating"], updates
    # The logged losses are the two formulas at logits near -30: log(1 - D) ~ 0 and -log D ~ 30.
    assert abs(logs["saturating"]["g_loss"]) < 1e-6
    assert logs["non_saturating"]["g_loss"] == pytest.approx(30.0, abs=2.0)


def _dcgan(diff_augment):
    genai_tf.set_seed(0)
    model = DCGAN(latent_dim=4, width=4, dropout=0.0, diff_augment=diff_augment)
    model.compile()
    return model


def test_dcgan_train_step_augments_the_real_and_the_fake_images(monkeypatch):
    calls = []
    original = augment.diff_augment

    def spy(images, policy, seed):
        calls.append((np.asarray(images).copy(), policy))
        return original(images, policy, seed)

    images = tf.constant(IMAGES)
    plain = _dcgan(None).train_step((images,))
    again = _dcgan(None).train_step((images,))
    monkeypatch.setattr(augment, "diff_augment", spy)
    augmented = _dcgan("translation,cutout").train_step((images,))
    # D sees the real and the fake batch, then G's fresh fake batch: three augmentations.
    assert [policy for _, policy in calls] == ["translation,cutout"] * 3
    np.testing.assert_array_equal(calls[0][0], IMAGES)
    for fake, _ in calls[1:]:
        assert fake.shape == IMAGES.shape and fake.min() >= -1 and fake.max() <= 1
        assert not np.allclose(fake, IMAGES)
    assert not np.array_equal(calls[1][0], calls[2][0])
    # Same weights, batch and seed: the losses repeat without augmentation and change with it.
    assert float(again["d_loss"]) == float(plain["d_loss"])
    assert abs(float(augmented["d_loss"]) - float(plain["d_loss"])) > 1e-4


# A WGAN-GP on 2x2 images (4 pixels) with a nonlinear critic,
# f(x) = tanh(x W1 + b1) W2 + b2, whose input gradient depends on where it
# is taken, so the penalty's value depends on the interpolates.
WGAN_RNG = np.random.default_rng(11)
WGAN_WEIGHTS = {
    "generator": [WGAN_RNG.normal(0, 0.7, (2, 4)).astype("float32"), WGAN_RNG.normal(0, 0.3, 4).astype("float32")],
    "critic": [
        WGAN_RNG.normal(0, 1.0, (4, 5)).astype("float32"),
        WGAN_RNG.normal(0, 0.5, 5).astype("float32"),
        WGAN_RNG.normal(0, 1.0, (5, 1)).astype("float32"),
        np.array([0.2], "float32"),
    ],
}
WGAN_REAL = WGAN_RNG.uniform(-1, 1, (6, 2, 2, 1)).astype("float32")
WGAN_LEARNING_RATE, WGAN_SEED = 0.05, 3


def _wgan_networks():
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4), keras.layers.Reshape((2, 2, 1))])
    critic = keras.Sequential([
        keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(1)
    ])
    generator.set_weights(WGAN_WEIGHTS["generator"])
    critic.set_weights(WGAN_WEIGHTS["critic"])
    return generator, critic


def _reference_wgan_gp(n_critic, gp_weight):
    """The WGAN-GP update written out: SGD on the paper's losses, the draws in the step's order.

    Each critic step draws z ~ N(0, I) (batch, 2), then epsilon ~ U[0, 1]
    (batch, 1, 1, 1), from one SeedGenerator(seed); the generator step draws
    its own z.
    """
    seed_generator = keras.random.SeedGenerator(WGAN_SEED)
    g_kernel, g_bias = (tf.Variable(w) for w in WGAN_WEIGHTS["generator"])
    critic_variables = [tf.Variable(w) for w in WGAN_WEIGHTS["critic"]]
    w1, b1, w2, b2 = critic_variables
    batch = len(WGAN_REAL)
    real = tf.reshape(WGAN_REAL, (batch, 4))

    def critic(x):
        return tf.tanh(x @ w1 + b1) @ w2 + b2

    for _ in range(n_critic):
        fake = keras.random.normal((batch, 2), seed=seed_generator) @ g_kernel + g_bias
        epsilon = tf.reshape(keras.random.uniform((batch, 1, 1, 1), seed=seed_generator), (batch, 1))
        x_hat = epsilon * real + (1.0 - epsilon) * fake
        with tf.GradientTape() as tape:
            with tf.GradientTape() as inner:
                inner.watch(x_hat)
                scores = critic(x_hat)
            norms = tf.norm(inner.gradient(scores, x_hat), axis=1)
            penalty = tf.reduce_mean(tf.square(norms - 1.0))
            critic_loss = tf.reduce_mean(critic(fake)) - tf.reduce_mean(critic(real))
            d_loss = critic_loss + gp_weight * penalty
        for variable, gradient in zip(critic_variables, tape.gradient(d_loss, critic_variables)):
            variable.assign_sub(WGAN_LEARNING_RATE * gradient)
    with tf.GradientTape() as tape:
        fake = keras.random.normal((batch, 2), seed=seed_generator) @ g_kernel + g_bias
        g_loss = -tf.reduce_mean(critic(fake))
    for variable, gradient in zip((g_kernel, g_bias), tape.gradient(g_loss, [g_kernel, g_bias])):
        variable.assign_sub(WGAN_LEARNING_RATE * gradient)
    logs = {"d_loss": d_loss, "g_loss": g_loss, "gradient_penalty": penalty, "wasserstein": -critic_loss}
    weights = {"generator": [g_kernel.numpy(), g_bias.numpy()], "critic": [v.numpy() for v in critic_variables]}
    return {key: float(value) for key, value in logs.items()}, weights


class _SmallWGANGP(WGANGP):
    def build_networks(self):
        return _wgan_networks()


def _run_wgan_gp(path, n_critic, gp_weight):
    if path == "model":
        model = _SmallWGANGP(
            latent_dim=2, image_shape=(2, 2, 1), n_critic=n_critic, gp_weight=gp_weight, seed=WGAN_SEED
        )
        model.compile(keras.optimizers.SGD(WGAN_LEARNING_RATE), keras.optimizers.SGD(WGAN_LEARNING_RATE))
        logs = model.train_step((tf.constant(WGAN_REAL),))
        networks, optimizers = (model.generator, model.critic), (model.g_optimizer, model.d_optimizer)
    else:
        networks = _wgan_networks()
        optimizers = keras.optimizers.SGD(WGAN_LEARNING_RATE), keras.optimizers.SGD(WGAN_LEARNING_RATE)
        step = make_wgan_gp_train_step(
            *networks, *optimizers, latent_dim=2, n_critic=n_critic, gp_weight=gp_weight, seed=WGAN_SEED
        )
        logs = step(tf.constant(WGAN_REAL))
    logs = {key: float(value) for key, value in logs.items()}
    weights = {"generator": networks[0].get_weights(), "critic": networks[1].get_weights()}
    iterations = tuple(int(optimizer.iterations) for optimizer in optimizers)
    return logs, weights, iterations


@pytest.mark.parametrize("path", ["train_step_function", "model"])
@pytest.mark.parametrize("n_critic", [1, 3])
def test_wgan_gp_update_matches_the_update_written_out(path, n_critic):
    # lambda = 5, not the default 10, so that a lambda which does not reach the update shows.
    logs, weights, iterations = _run_wgan_gp(path, n_critic, gp_weight=5.0)
    expected_logs, expected_weights = _reference_wgan_gp(n_critic, gp_weight=5.0)
    # n_critic critic steps (SGD counts each) for one generator step.
    assert iterations == (1, n_critic)
    for network in ("critic", "generator"):
        pairs = zip(expected_weights[network], WGAN_WEIGHTS[network])
        moved = max(np.abs(want - initial).max() for want, initial in pairs)
        assert moved > 1e-2, f"the reference update did not move the {network}: nothing was compared"
        for got, want in zip(weights[network], expected_weights[network]):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=network)
    for key, value in expected_logs.items():
        assert logs[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    # The penalty was a real part of the critic's loss.
    assert 5.0 * logs["gradient_penalty"] > 0.1 * abs(logs["d_loss"])


# --- the gradient penalty ----------------------------------------------------------------------


def _linear_critic(scale):
    critic = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    weights = np.random.default_rng(1).standard_normal((36, 1))
    weights *= scale / np.linalg.norm(weights)
    critic.layers[-1].set_weights([weights.astype("float32"), np.array([0.7], "float32")])
    return critic


def test_gradient_penalty_is_zero_for_a_linear_critic_with_unit_norm_weights():
    # f(x) = w.x + b has gradient w everywhere: ||w|| = 1 gives (1 - 1)^2 = 0.
    real = RNG.uniform(-1, 1, (16, 6, 6, 1)).astype("float32")
    fake = RNG.uniform(-1, 1, (16, 6, 6, 1)).astype("float32")
    penalty = float(wasserstein_gradient_penalty(_linear_critic(1.0), real, fake, seed=0))
    assert penalty == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize("scale", [0.5, 2.0, 3.0])
def test_gradient_penalty_is_positive_for_other_slopes(scale):
    # ||grad f|| = scale everywhere, so GP = (scale - 1)^2 exactly.
    real = RNG.uniform(-1, 1, (16, 6, 6, 1)).astype("float32")
    fake = RNG.uniform(-1, 1, (16, 6, 6, 1)).astype("float32")
    penalty = float(wasserstein_gradient_penalty(_linear_critic(scale), real, fake, seed=0))
    assert penalty == pytest.approx((scale - 1.0) ** 2, rel=1e-4)


def test_epsilon_is_uniform_and_drawn_once_per_example():
    real = np.ones((4000, 3, 3, 1), "float32")
    fake = np.zeros((4000, 3, 3, 1), "float32")
    interpolates, epsilon = random_interpolates(real, fake, seed=keras.random.SeedGenerator(0))
    epsilon = epsilon.numpy()
    assert epsilon.shape == (4000, 1, 1, 1)
    # With real = 1 and fake = 0 the interpolate is epsilon itself, constant within an example.
    values = interpolates.numpy().reshape(4000, -1)
    np.testing.assert_allclose(values, np.repeat(epsilon.reshape(4000, 1), 9, axis=1), atol=1e-7)
    # U[0, 1]: mean 1/2, variance 1/12, every decile about 10%, all inside [0, 1].
    assert epsilon.min() >= 0 and epsilon.max() <= 1
    assert abs(epsilon.mean() - 0.5) < 4 * np.sqrt(1 / 12 / 4000)
    assert abs(epsilon.var() - 1 / 12) < 0.005
    deciles = np.histogram(epsilon, bins=10, range=(0, 1))[0] / 4000
    assert np.all(np.abs(deciles - 0.1) < 0.025)
    # Different examples get different draws.
    assert len(np.unique(epsilon)) > 3990
