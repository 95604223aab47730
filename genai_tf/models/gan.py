"""Multilayer-perceptron GAN: builders and the ``GAN`` model.

The discriminator ends in a single linear unit: it outputs *logits*, and the
losses in :mod:`genai_tf.losses` apply the sigmoid inside a numerically
stable cross-entropy (compare E-003-4, sigmoid in the wrong places). The
generator ends in ``tanh`` over exactly prod(image_shape) units, reshaped to
the image (compare E-000-3, an output of 28 units with no tanh).
"""

import math

import keras

from genai_tf.models.base import AdversarialModel
from genai_tf.models.updates import GENERATOR_LOSSES, gan_update, get_generator_loss
from genai_tf.validation import positive_int


def _check_units(hidden_units):
    if not hidden_units or any(int(u) < 1 for u in hidden_units):
        raise ValueError(
            f"hidden_units must be a non-empty list of positive ints. Received: hidden_units={hidden_units!r}"
        )


def maybe_spectral(layer, spectral_norm):
    """Wrap a weight layer in ``keras.layers.SpectralNormalization`` when asked."""
    return keras.layers.SpectralNormalization(layer) if spectral_norm else layer


def build_mlp_generator(
    latent_dim,
    output_shape,
    hidden_units=(128, 128),
    output_activation=None,
    batch_norm=False,
    name="generator",
):
    """Map z ~ N(0, I) of size ``latent_dim`` to a sample of shape ``output_shape``.

    Args:
        latent_dim: size of the noise vector, > 0.
        output_shape: shape of one sample, e.g. (2,) or (28, 28, 1).
        hidden_units: widths of the hidden layers: ReLU, or BatchNorm then
            LeakyReLU(0.2) when ``batch_norm`` is set.
        output_activation: None (linear, for unbounded data such as the 2-D
            toy) or "tanh" (for images in [-1, 1]).
        batch_norm: BatchNorm after every hidden layer but the first.
        name: model name.

    Returns:
        A ``keras.Sequential`` model, input (batch, latent_dim), output
        (batch, *output_shape).
    """
    positive_int(latent_dim, "latent_dim")
    _check_units(hidden_units)
    output_shape = tuple(output_shape)
    layers = [keras.Input((latent_dim,))]
    for i, units in enumerate(hidden_units):
        if batch_norm:
            layers.append(keras.layers.Dense(int(units)))
            if i > 0:
                layers.append(keras.layers.BatchNormalization(momentum=0.8))
            layers.append(keras.layers.LeakyReLU(0.2))
        else:
            layers.append(keras.layers.Dense(int(units), activation="relu"))
    layers += [
        keras.layers.Dense(math.prod(output_shape), activation=output_activation),
        keras.layers.Reshape(output_shape),
    ]
    return keras.Sequential(layers, name=name)


def build_mlp_discriminator(
    input_shape, hidden_units=(128, 128), dropout=0.0, spectral_norm=False, name="discriminator"
):
    """Map a sample to one logit: the log-odds that it is real.

    Args:
        input_shape: shape of one sample, e.g. (2,) or (28, 28, 1).
        hidden_units: widths of the LeakyReLU(0.2) hidden layers.
        dropout: dropout rate after each hidden layer (0 for none).
        spectral_norm: spectrally normalise every Dense layer.
        name: model name.

    Returns:
        A ``keras.Sequential`` model, output shape (batch, 1), logits (no sigmoid).
    """
    _check_units(hidden_units)
    layers = [keras.Input(tuple(input_shape)), keras.layers.Flatten()]
    for units in hidden_units:
        layers += [maybe_spectral(keras.layers.Dense(int(units)), spectral_norm), keras.layers.LeakyReLU(0.2)]
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(maybe_spectral(keras.layers.Dense(1), spectral_norm))
    return keras.Sequential(layers, name=name)


@keras.saving.register_keras_serializable(package="genai_tf")
class GAN(AdversarialModel):
    """The MLP GAN the source texts attempted, done right (non-saturating loss by default).

    Generator: z (latent_dim) -> Dense 128 -> 256 -> 512 -> 1024 (BatchNorm
    after all but the first, LeakyReLU 0.2) -> Dense prod(image_shape), tanh
    -> image. Discriminator: image -> Dense 512 -> 256 (LeakyReLU 0.2,
    dropout 0.3) -> one logit. One ``train_step`` updates the
    discriminator and then the generator (:func:`genai_tf.models.updates.gan_update`).

    See "Generative Adversarial Nets", Goodfellow et al., 2014
    (https://arxiv.org/abs/1406.2661).

    Args:
        latent_dim: size of z, > 0.
        image_shape: (height, width, channels) of the images, in [-1, 1].
        generator_loss: "non_saturating" (default) or "saturating", a key of
            :data:`genai_tf.models.updates.GENERATOR_LOSSES`.
        spectral_norm: spectrally normalise the discriminator.
        seed: seed of the training noise.

    Example:
    >>> model = GAN(latent_dim=8, image_shape=(8, 8, 1))
    >>> model.generate(3).shape
    (3, 8, 8, 1)
    """

    def __init__(self, latent_dim=100, image_shape=(28, 28, 1), generator_loss="non_saturating", **kwargs):
        get_generator_loss(generator_loss)  # validates the name
        self.generator_loss = generator_loss
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, **kwargs)

    def build_networks(self):
        generator = build_mlp_generator(
            self.latent_dim, self.image_shape, (128, 256, 512, 1024), output_activation="tanh", batch_norm=True
        )
        discriminator = build_mlp_discriminator(
            self.image_shape, (512, 256), dropout=0.3, spectral_norm=self.spectral_norm
        )
        return generator, discriminator

    def get_config(self):
        return {**super().get_config(), "generator_loss": self.generator_loss}

    def train_step(self, data):
        images, _ = self.unpack(data)
        logs = gan_update(
            self.generator, self.discriminator, self.g_optimizer, self.d_optimizer,
            images, self.latent_dim, self.seed_generator, GENERATOR_LOSSES[self.generator_loss],
        )
        return self.record(logs)
