"""Keras models of the curriculum, one file per family."""

from genai_tf.models.gan import build_mlp_discriminator, build_mlp_generator

__all__ = ["build_mlp_discriminator", "build_mlp_generator"]
