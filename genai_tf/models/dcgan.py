"""Deep convolutional GAN for 28x28 images.

The generator upsamples with transposed convolutions and uses BatchNorm, which
normalises with the *batch's* statistics in training (``training=True``) and
with its moving averages in inference (``training=False``): sample with
``training=False``, as :meth:`AdversarialModel.generate` does.
"""

import keras

from genai_tf import augment
from genai_tf.distribute import replica_seed
from genai_tf.models.base import AdversarialModel
from genai_tf.models.gan import maybe_spectral
from genai_tf.models.updates import gan_update
from genai_tf.validation import image_shape_28x28


def build_dcgan_generator(latent_dim, image_shape=(28, 28, 1), width=64, name="generator", extra_inputs=()):
    """z -> Dense 7*7*2w -> BN, ReLU -> ConvT(w, 4, stride 2) -> BN, ReLU -> ConvT(channels, 4, stride 2), tanh.

    Args:
        latent_dim: size of z.
        image_shape: (28, 28, channels).
        width: channels of the last hidden feature map (the first has 2 * width).
        name: model name.
        extra_inputs: used by the conditional generator: (inputs, tensor) to
            concatenate to z before the first layer.

    Returns:
        A functional ``keras.Model``, output (batch, 28, 28, channels) in (-1, 1).
    """
    image_shape_28x28(image_shape)
    noise = keras.Input((latent_dim,), name="noise")
    inputs, x = [noise], noise
    if extra_inputs:
        extra_input, extra_tensor = extra_inputs
        inputs.append(extra_input)
        x = keras.layers.Concatenate()([noise, extra_tensor])
    x = keras.layers.Dense(7 * 7 * 2 * width, use_bias=False)(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    x = keras.layers.Reshape((7, 7, 2 * width))(x)
    x = keras.layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    images = keras.layers.Conv2DTranspose(image_shape[-1], 4, strides=2, padding="same", activation="tanh")(x)
    return keras.Model(inputs if extra_inputs else noise, images, name=name)


def build_dcgan_discriminator(
    image_shape=(28, 28, 1), width=64, spectral_norm=False, dropout=0.0, name="discriminator", extra_inputs=(),
    projection=0,
):
    """image -> Conv(w, 4, stride 2), LeakyReLU -> Conv(2w, 4, stride 2), LeakyReLU -> Dense 1 (a logit).

    No BatchNorm in the discriminator (so that the gradient penalty of WGAN-GP,
    which is per example, stays valid when the same builder makes a critic).

    Args:
        image_shape: (28, 28, channels).
        width: channels of the first convolution.
        spectral_norm: spectrally normalise every convolution and the Dense layer.
        dropout: dropout rate after each convolution block (0 for none).
        name: model name.
        extra_inputs: (inputs, tensor of shape (batch, 28, 28, k)) concatenated
            to the image as extra channels, for the conditional discriminator.
        projection: for a conditional discriminator, the number of classes
            of a projection term (0 for none): the logit gains e_y . phi(x),
            a learned vector per label (``label_projection``, an Embedding)
            dotted with the flattened features phi(x); ``extra_inputs[0]`` is
            then the int label input.

    Returns:
        A functional ``keras.Model``, output (batch, 1), logits/scores (no sigmoid).
    """
    image_shape_28x28(image_shape)
    image = keras.Input(tuple(image_shape), name="image")
    inputs, x = [image], image
    if extra_inputs:
        extra_input, extra_tensor = extra_inputs
        inputs.append(extra_input)
        x = keras.layers.Concatenate()([image, extra_tensor])
    for filters in (width, 2 * width):
        x = maybe_spectral(keras.layers.Conv2D(filters, 4, strides=2, padding="same"), spectral_norm)(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Flatten(name="features")(x)
    logits = maybe_spectral(keras.layers.Dense(1), spectral_norm)(x)
    if projection:
        embedded = keras.layers.Embedding(projection, x.shape[-1], name="label_projection")(extra_inputs[0])
        logits = keras.layers.Add()([logits, keras.layers.Dot(axes=-1)([embedded, x])])
    return keras.Model(inputs if extra_inputs else image, logits, name=name)


@keras.saving.register_keras_serializable(package="genai_tf")
class DCGAN(AdversarialModel):
    """Deep convolutional GAN (non-saturating loss), after Radford, Metz & Chintala.

    See "Unsupervised Representation Learning with Deep Convolutional
    Generative Adversarial Networks", 2015 (https://arxiv.org/abs/1511.06434).

    Args:
        latent_dim: size of z, > 0.
        image_shape: (28, 28, channels), images in [-1, 1].
        width: channel width of both networks.
        dropout: dropout rate in the discriminator (it regularises a
            discriminator that would otherwise memorise a small training set).
        spectral_norm: spectrally normalise the discriminator.
        diff_augment: None, or a DiffAugment policy such as
            "color,translation,cutout" (:func:`genai_tf.augment.diff_augment`):
            real and generated images are augmented, with fresh draws, every
            time the discriminator sees them, in both updates.
        seed: seed of the training noise and of the augmentations.
    """

    def __init__(self, latent_dim=100, image_shape=(28, 28, 1), width=64, dropout=0.3, diff_augment=None, **kwargs):
        self.width = int(width)
        self.dropout = float(dropout)
        self.diff_augment = None if diff_augment is None else ",".join(augment.parse_policy(diff_augment))
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, **kwargs)

    def build_networks(self):
        return (
            build_dcgan_generator(self.latent_dim, self.image_shape, self.width),
            build_dcgan_discriminator(self.image_shape, self.width, self.spectral_norm, self.dropout),
        )

    def get_config(self):
        return {**super().get_config(), "width": self.width, "dropout": self.dropout, "diff_augment": self.diff_augment}

    def train_step(self, data):
        images, _ = self.unpack(data)
        policy = self.diff_augment
        # Under a tf.distribute strategy each replica draws its own augmentations.
        seed = replica_seed(self.seed_generator)
        logs = gan_update(
            self.generator, self.discriminator, self.g_optimizer, self.d_optimizer,
            images, self.latent_dim, self.seed_generator,
            augment=None if policy is None else lambda x: augment.diff_augment(x, policy, seed),
        )
        return self.record(logs)
