"""Conditional GAN: the label reaches both the generator and the discriminator."""

import keras
import tensorflow as tf

from genai_tf.models.base import AdversarialModel
from genai_tf.models.dcgan import build_dcgan_discriminator, build_dcgan_generator
from genai_tf.models.updates import gan_update
from genai_tf.validation import graph_checked, value_errors_from_graph_checks


def build_conditional_generator(latent_dim, num_classes, image_shape=(28, 28, 1), width=64):
    """[z, label] -> image: the label's one-hot code is concatenated to z."""
    label = keras.Input((), dtype="int32", name="label")
    one_hot = keras.layers.CategoryEncoding(num_tokens=num_classes, output_mode="one_hot")(label)
    return build_dcgan_generator(latent_dim, image_shape, width, extra_inputs=(label, one_hot))


def build_conditional_discriminator(
    num_classes, image_shape=(28, 28, 1), width=64, spectral_norm=False, dropout=0.3, projection=True
):
    """[image, label] -> logit: the label's one-hot code becomes num_classes constant input channels.

    Formula (``projection``, Miyato & Koyama 2018, https://arxiv.org/abs/1802.05637):
        D(x, y) = w . phi(x) + b + e_y . phi(x)
    with phi(x) the flattened features of (image, label planes) and e_y a
    learned vector per label: the label also meets the features where they
    are richest, not only the pixels.
    """
    label = keras.Input((), dtype="int32", name="label")
    one_hot = keras.layers.CategoryEncoding(num_tokens=num_classes, output_mode="one_hot")(label)
    planes = keras.layers.Reshape((1, 1, num_classes))(one_hot)
    planes = keras.layers.UpSampling2D(size=(image_shape[0], image_shape[1]))(planes)
    return build_dcgan_discriminator(
        image_shape, width, spectral_norm, dropout, extra_inputs=(label, planes), projection=num_classes if projection else 0
    )


@keras.saving.register_keras_serializable(package="genai_tf")
class ConditionalGAN(AdversarialModel):
    """Label-conditioned DCGAN: G(z, y) and D(x, y), trained with ``fit(images, labels)``.

    The discriminator judges whether an image is a real example *of the given
    label*, so a generator that ignores the label is caught. Generated images
    come from ``generate(n, labels)``.

    See "Conditional Generative Adversarial Nets", Mirza & Osindero, 2014
    (https://arxiv.org/abs/1411.1784).

    Args:
        latent_dim: size of z, > 0.
        num_classes: number of labels (10 for MNIST).
        image_shape: (28, 28, channels), images in [-1, 1].
        width: channel width of both networks.
        dropout: dropout rate in the discriminator.
        projection: add the projection term e_y . phi(x) to the discriminator's
            logit (:func:`build_conditional_discriminator`).
        spectral_norm: spectrally normalise the discriminator.
        seed: seed of the training noise.
    """

    def __init__(
        self, latent_dim=100, num_classes=10, image_shape=(28, 28, 1), width=64, dropout=0.3, projection=True, **kwargs
    ):
        self.width = int(width)
        self.dropout = float(dropout)
        self.projection = bool(projection)
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, num_classes=num_classes, **kwargs)

    def build_networks(self):
        return (
            build_conditional_generator(self.latent_dim, self.num_classes, self.image_shape, self.width),
            build_conditional_discriminator(
                self.num_classes, self.image_shape, self.width, self.spectral_norm, self.dropout, self.projection
            ),
        )

    def get_config(self):
        return {**super().get_config(), "width": self.width, "dropout": self.dropout, "projection": self.projection}

    def checked_batch(self, data):
        """``data`` with its labels checked in the graph: integers in [0, num_classes), else the step fails.

        The check runs before anything that uses the labels; :meth:`fit`
        reports a failure as a ValueError that names the labels' range.
        """
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            return data  # unpack() says the labels are missing
        labels = tf.reshape(data[1], [-1])
        valid = tf.logical_and(labels >= 0, labels < self.num_classes)
        if labels.dtype.is_floating:
            valid = tf.logical_and(valid, tf.equal(labels, tf.round(labels)))
        message = f"labels must be integers in [0, {self.num_classes}). Received: a batch with labels in [{{}}, {{}}]"
        labels = graph_checked(labels, tf.reduce_all(valid), message, tf.reduce_min(labels), tf.reduce_max(labels))
        return (data[0], labels, *data[2:])

    def fit(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.fit``: array labels checked up front, the labels of a ``tf.data`` dataset in each step.

        Both give ``ValueError: labels must be integers in [0, num_classes)``
        (the in-step check is skipped under XLA, ``jit_compile=True``).
        """
        with value_errors_from_graph_checks():
            return super().fit(x, y, *args, **kwargs)

    def train_step(self, data):
        images, labels = self.unpack(self.checked_batch(data))
        # After the label check: a batch that fails it changes nothing (weights, step counters, noise).
        with tf.control_dependencies([labels]):
            logs = gan_update(
                self.generator, self.discriminator, self.g_optimizer, self.d_optimizer,
                images, self.latent_dim, self.seed_generator, labels=labels,
            )
            return self.record(logs)
