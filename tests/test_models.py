"""The adversarial models: one train step, documented keys, save/load, bad input, the gradient penalty."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import genai_tf
from genai_tf.losses import random_interpolates, wasserstein_gradient_penalty
from genai_tf.models import DCGAN, GAN, WGANGP, ConditionalGAN

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
    assert not np.allclose(zeros, ones)


def test_generated_images_are_in_tanh_range_and_seeded():
    model = DCGAN(latent_dim=8, width=8)
    images = model.generate(6, seed=4)
    assert images.shape == (6, 28, 28, 1) and images.min() >= -1 and images.max() <= 1
    np.testing.assert_array_equal(images, model.generate(6, seed=4))


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


def test_critic_has_no_sigmoid():
    critic = WGANGP(width=8).critic
    assert critic.layers[-1].get_config().get("activation") in (None, "linear")
    scores = critic(np.full((4, 28, 28, 1), 50.0, "float32"))
    assert np.all(np.isfinite(scores)) and (np.abs(scores).max() > 1 or np.abs(scores).min() < 1)


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
