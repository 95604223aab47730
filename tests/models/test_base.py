"""genai_tf.models.base: what every image model shares, checked on each family.

One train step on a batch of 8, save/load, bad input, tanh outputs, raw
discriminator scores, the seeds of ``generate``, and the one ``sample(n,
seed)`` of every image model: images in SAMPLE_RANGE = (0, 1), the same seed
giving the same images, a GAN's samples exactly (generate + 1) / 2.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import genai_tf
from genai_tf.models import DCGAN, GAN, VAE, WGANGP, ConditionalGAN, ImageGenerativeModel
from genai_tf.models.base import AdversarialModel

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


def test_same_optimizer_twice_is_rejected():
    optimizer = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="separate"):
        GAN(latent_dim=4).compile(d_optimizer=optimizer, g_optimizer=optimizer)


@pytest.mark.parametrize("name", ["GAN", "DCGAN", "ConditionalGAN", "WGANGP"])
def test_discriminators_output_raw_scores_with_no_sigmoid(name):
    # With the last kernel zeroed the output is the last bias itself: 5 and -5
    # come out as 5 and -5 (a sigmoid would give 0.993 and 0.007). The conditional
    # discriminator's projection term is zeroed too (its table of label vectors).
    model = SMALL_MODELS[name]()
    last = [layer for layer in model.discriminator.layers if isinstance(layer, keras.layers.Dense)][-1]
    for layer in model.discriminator.layers:
        if layer.name == "label_projection":
            layer.embeddings.assign(tf.zeros_like(layer.embeddings))
    inputs = IMAGES[:4] if name != "GAN" else IMAGES[:4, :4, :4]
    inputs = [inputs, LABELS[:4]] if name == "ConditionalGAN" else inputs
    last.kernel.assign(tf.zeros_like(last.kernel))
    for bias in (5.0, -5.0):
        last.bias.assign(tf.fill(last.bias.shape, bias))
        np.testing.assert_allclose(np.asarray(model.discriminator(inputs, training=False)), bias)


# --- one sample(n, seed) for every image model ------------------------------------------------------

SAMPLERS = {
    "GAN": lambda: GAN(latent_dim=4, image_shape=(4, 4, 1)),
    "DCGAN": lambda: DCGAN(latent_dim=4, width=4),
    "ConditionalGAN": lambda: ConditionalGAN(latent_dim=4, width=4),
    "WGANGP": lambda: WGANGP(latent_dim=4, width=4),
    "VAE": lambda: VAE(latent_dim=2, hidden_units=(8,)),
}
GANS = [name for name in SAMPLERS if name != "VAE"]


def test_every_image_model_shares_the_base_and_declares_the_one_sample_range():
    assert ImageGenerativeModel.SAMPLE_RANGE == (0.0, 1.0)
    for cls in (GAN, DCGAN, ConditionalGAN, WGANGP, VAE):
        assert issubclass(cls, ImageGenerativeModel) and cls.SAMPLE_RANGE == (0.0, 1.0)
    assert issubclass(GAN, AdversarialModel) and not issubclass(VAE, AdversarialModel)


@pytest.mark.parametrize("name", SAMPLERS)
def test_sample_gives_images_in_the_sample_range_repeatable_by_seed(name):
    genai_tf.set_seed(0)
    model = SAMPLERS[name]()
    low, high = model.SAMPLE_RANGE
    images = model.sample(12, seed=3)
    assert images.shape == (12, *model.image_shape) and images.dtype == np.float32
    assert low <= images.min() and images.max() <= high
    np.testing.assert_array_equal(images, model.sample(12, seed=3))
    # Another seed changes every image; the batch size changes none.
    other = model.sample(12, seed=4)
    assert np.abs(images - other).reshape(12, -1).max(axis=1).min() > 1e-4
    np.testing.assert_allclose(model.sample(12, seed=3, batch_size=5), images, atol=1e-6)


@pytest.mark.parametrize("name", GANS)
def test_a_gans_samples_are_its_generated_images_mapped_to_0_1(name):
    genai_tf.set_seed(0)
    model = SAMPLERS[name]()
    # The last kernel scaled by 10^4 saturates the tanh: the generated images reach -1 and 1.
    last = [layer for layer in model.generator.layers if getattr(layer, "kernel", None) is not None][-1]
    last.kernel.assign(last.kernel * 1e4)
    generated = model.generate(10, seed=2)
    assert generated.min() < -0.999 and generated.max() > 0.999
    samples = model.sample(10, seed=2)
    np.testing.assert_array_equal(samples, (generated + 1.0) / 2.0)
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    assert samples.min() < 1e-3 and samples.max() > 0.999


def test_a_conditional_gan_samples_the_classes_in_turn():
    genai_tf.set_seed(0)
    model = ConditionalGAN(latent_dim=4, width=4)
    labels = np.arange(13) % 10
    samples = model.sample(13, seed=1)
    np.testing.assert_array_equal(samples, (model.generate(13, labels=labels, seed=1) + 1.0) / 2.0)
    # The control: the same noise with other labels gives other images.
    shifted = (model.generate(13, labels=(labels + 1) % 10, seed=1) + 1.0) / 2.0
    assert np.abs(samples - shifted).max() > 1e-3


def test_a_vaes_samples_are_its_bernoulli_means():
    genai_tf.set_seed(0)
    vae = VAE(latent_dim=2, hidden_units=(8,))
    z = keras.random.normal((6, 2), seed=5)
    np.testing.assert_allclose(vae.sample(6, seed=5), tf.sigmoid(vae.decoder(z)), atol=1e-6)


class _Bare(ImageGenerativeModel):
    loss_keys = ("loss",)


def test_the_base_checks_its_arguments_and_leaves_sample_to_the_families():
    for name in ("GAN", "VAE"):
        with pytest.raises(ValueError, match=r"^n must be a positive integer\. Received: n=0$"):
            SAMPLERS[name]().sample(0)
    bare = _Bare(2, (4, 4, 1), seed=3)
    assert (bare.latent_dim, bare.image_shape, bare.seed) == (2, (4, 4, 1), 3)
    bare.trackers = bare.make_trackers()
    assert [tracker.name for tracker in bare.metrics] == ["loss"]
    assert float(bare.record({"loss": 2.0})["loss"]) == 2.0 and float(bare.record({"loss": 4.0})["loss"]) == 3.0
    with pytest.raises(NotImplementedError, match=r"_Bare does not implement sample\(n, seed\)"):
        bare.sample(1)
    with pytest.raises(ValueError, match=r"^_Bare expects images of shape \(batch_size, 4, 4, 1\)\. Received: images\.shape=\(2, 16\)$"):
        bare.check_images(np.zeros((2, 16)))
    with pytest.raises(ValueError, match=r"image_shape must be \(height, width, channels\)\. Received: image_shape=\(4, 4\)"):
        _Bare(2, (4, 4))
    with pytest.raises(ValueError, match=r"^latent_dim must be a positive integer\. Received: latent_dim=0$"):
        _Bare(0, (4, 4, 1))
