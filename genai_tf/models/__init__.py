"""Keras models of the curriculum, one file per family."""

from genai_tf.models.base import AdversarialModel, ImageGenerativeModel
from genai_tf.models.conditional_gan import ConditionalGAN
from genai_tf.models.flows import AffineCoupling, RealNVP, build_image_flow
from genai_tf.models.dcgan import DCGAN, build_dcgan_discriminator, build_dcgan_generator
from genai_tf.models.gan import GAN, build_mlp_discriminator, build_mlp_generator
from genai_tf.models.language import BigramLM, CausalTransformer, CharGRU, LanguageModel
from genai_tf.models.pixelcnn import MaskedConv2D, PixelCNN, causal_mask
from genai_tf.models.vae import VAE, build_decoder, build_encoder
from genai_tf.models.wgan_gp import WGANGP

__all__ = [
    "AdversarialModel",
    "AffineCoupling",
    "BigramLM",
    "CausalTransformer",
    "CharGRU",
    "LanguageModel",
    "ConditionalGAN",
    "DCGAN",
    "GAN",
    "ImageGenerativeModel",
    "MaskedConv2D",
    "PixelCNN",
    "RealNVP",
    "VAE",
    "WGANGP",
    "build_dcgan_discriminator",
    "build_dcgan_generator",
    "build_decoder",
    "build_image_flow",
    "build_encoder",
    "build_mlp_discriminator",
    "build_mlp_generator",
    "causal_mask",
]
