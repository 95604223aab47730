"""Wasserstein GAN with gradient penalty."""

import math

import keras

from genai_tf.models.base import AdversarialModel
from genai_tf.models.dcgan import build_dcgan_discriminator, build_dcgan_generator
from genai_tf.models.updates import wgan_gp_update
from genai_tf.validation import float_in, positive_int


@keras.saving.register_keras_serializable(package="genai_tf")
class WGANGP(AdversarialModel):
    """WGAN-GP: a critic with no sigmoid, a gradient penalty, n_critic critic steps per G step.

    The critic f estimates the Wasserstein-1 distance as E[f(x)] - E[f(G(z))]
    and is kept near 1-Lipschitz by the penalty lambda * (||grad f(x_hat)|| - 1)^2
    at x_hat = eps * x + (1 - eps) * G(z), eps ~ U[0, 1] drawn once per example.
    The critic has no BatchNorm, which would couple the examples of a batch.

    See "Improved Training of Wasserstein GANs", Gulrajani et al., 2017
    (https://arxiv.org/abs/1704.00028).

    Args:
        latent_dim: size of z, > 0.
        image_shape: (28, 28, channels), images in [-1, 1].
        n_critic: critic updates per generator update, > 0 (5 in the paper).
        gp_weight: lambda, >= 0 (10 in the paper).
        width: channel width of both networks.
        seed: seed of the training noise and of epsilon.
    """

    loss_keys = ("d_loss", "g_loss", "gradient_penalty", "wasserstein")

    def __init__(self, latent_dim=100, image_shape=(28, 28, 1), n_critic=5, gp_weight=10.0, width=32, **kwargs):
        self.n_critic = positive_int(n_critic, "n_critic")
        self.gp_weight = float_in(gp_weight, 0.0, math.inf, "gp_weight", include_low=True, include_high=False)
        self.width = int(width)
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, **kwargs)

    def build_networks(self):
        return (
            build_dcgan_generator(self.latent_dim, self.image_shape, self.width),
            build_dcgan_discriminator(self.image_shape, self.width, self.spectral_norm, name="critic"),
        )

    @property
    def critic(self):
        return self.discriminator

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Default optimizers: Adam(1e-4, beta_1=0, beta_2=0.9), as in the WGAN-GP paper."""
        with self.distribute_strategy.scope():
            super().compile(
                d_optimizer or keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9),
                g_optimizer or keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9),
                **kwargs,
            )

    def get_config(self):
        return {**super().get_config(), "n_critic": self.n_critic, "gp_weight": self.gp_weight, "width": self.width}

    def train_step(self, data):
        images, _ = self.unpack(data)
        logs = wgan_gp_update(
            self.generator, self.discriminator, self.g_optimizer, self.d_optimizer, images,
            self.latent_dim, self.seed_generator, self.n_critic, self.gp_weight,
        )
        return self.record(logs)
