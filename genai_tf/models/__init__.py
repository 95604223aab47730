"""Keras models of the curriculum, one file per family."""

from genai_tf.models.base import AdversarialModel, ImageGenerativeModel
from genai_tf.models.conditional_gan import ConditionalGAN
from genai_tf.models.dcgan import DCGAN, build_dcgan_discriminator, build_dcgan_generator
from genai_tf.models.gan import GAN, build_mlp_discriminator, build_mlp_generator
from genai_tf.models.language import BigramLM, CausalTransformer, CharGRU, LanguageModel
from genai_tf.models.vae import VAE, build_decoder, build_encoder
from genai_tf.models.wgan_gp import WGANGP

__all__ = [
    "AdversarialModel",
    "BigramLM",
    "CausalTransformer",
    "CharGRU",
    "LanguageModel",
    "ConditionalGAN",
    "DCGAN",
    "GAN",
    "ImageGenerativeModel",
    "VAE",
    "WGANGP",
    "build_dcgan_discriminator",
    "build_dcgan_generator",
    "build_decoder",
    "build_encoder",
    "build_mlp_discriminator",
    "build_mlp_generator",
]
