"""genai_tf.models.gan: the MLP builders and the GAN's generator loss."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import genai_tf
from genai_tf.models import GAN, build_mlp_discriminator, build_mlp_generator

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(-1, 1, (8, 28, 28, 1)).astype("float32")


def test_generator_output_shapes_and_tanh_bound():
    for output_shape in ((2,), (4, 4, 1)):
        generator = build_mlp_generator(3, output_shape, (8,))
        assert generator(np.zeros((5, 3), "float32")).shape == (5, *output_shape)
    # With batch_norm the hidden layers are Dense, BatchNorm (all but the first), LeakyReLU.
    generator = build_mlp_generator(3, (4, 4, 1), (8, 8), output_activation="tanh", batch_norm=True)
    kinds = [type(layer).__name__ for layer in generator.layers]
    assert kinds == ["Dense", "LeakyReLU", "Dense", "BatchNormalization", "LeakyReLU", "Dense", "Reshape"]
    images = np.asarray(generator(100.0 * RNG.standard_normal((5, 3)).astype("float32")))
    assert images.shape == (5, 4, 4, 1) and np.abs(images).max() <= 1.0


def test_discriminator_outputs_one_logit():
    discriminator = build_mlp_discriminator((4, 4, 1), (8,), dropout=0.3)
    assert discriminator(IMAGES[:5, :4, :4]).shape == (5, 1)
    assert discriminator.layers[-1].activation is keras.activations.linear
    assert [type(layer).__name__ for layer in discriminator.layers].count("Dropout") == 1


@pytest.mark.parametrize("latent_dim", [0, -1, 2.5, True, "4"])
def test_generator_rejects_bad_latent_dim(latent_dim):
    with pytest.raises(ValueError, match=r"^latent_dim must be a positive integer\. Received: latent_dim="):
        build_mlp_generator(latent_dim, (2,))


@pytest.mark.parametrize("hidden_units", [(), (16, 0), [-4]])
def test_builders_reject_bad_hidden_units(hidden_units):
    with pytest.raises(ValueError, match="hidden_units"):
        build_mlp_generator(2, (2,), hidden_units)
    with pytest.raises(ValueError, match="hidden_units"):
        build_mlp_discriminator((2,), hidden_units)


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


def test_generator_loss_is_validated_and_saved():
    with pytest.raises(ValueError, match=r"^generator_loss must be one of 'non_saturating', 'saturating'\. "
                                         r"Received: generator_loss='hinge'$"):
        GAN(latent_dim=4, image_shape=(4, 4, 1), generator_loss="hinge")
    assert GAN(latent_dim=4, image_shape=(4, 4, 1)).get_config()["generator_loss"] == "non_saturating"
    saturating = GAN(latent_dim=4, image_shape=(4, 4, 1), generator_loss="saturating")
    assert saturating.get_config()["generator_loss"] == "saturating"
