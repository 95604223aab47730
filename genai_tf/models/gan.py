"""Multilayer-perceptron generator and discriminator builders.

The discriminator ends in a single linear unit: it outputs *logits*, and the
losses in :mod:`genai_tf.losses` apply the sigmoid inside a numerically
stable cross-entropy (compare E-003-4, sigmoid in the wrong places).
"""

import math

import keras


def _check_units(hidden_units):
    if not hidden_units or any(int(u) < 1 for u in hidden_units):
        raise ValueError(
            f"hidden_units must be a non-empty list of positive ints. Received: hidden_units={hidden_units!r}"
        )


def build_mlp_generator(
    latent_dim, output_shape, hidden_units=(128, 128), output_activation=None, name="generator"
):
    """Map z ~ N(0, I) of size ``latent_dim`` to a sample of shape ``output_shape``.

    Args:
        latent_dim: size of the noise vector, > 0.
        output_shape: shape of one sample, e.g. (2,) or (28, 28, 1).
        hidden_units: widths of the ReLU hidden layers.
        output_activation: None (linear, for unbounded data such as the 2-D
            toy) or "tanh" (for images in [-1, 1]).
        name: model name.

    Returns:
        A ``keras.Sequential`` model, input (batch, latent_dim), output
        (batch, *output_shape).
    """
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim <= 0:
        raise ValueError(f"latent_dim must be a positive integer. Received: latent_dim={latent_dim!r}")
    _check_units(hidden_units)
    output_shape = tuple(output_shape)
    layers = [keras.Input((latent_dim,))]
    layers += [keras.layers.Dense(int(u), activation="relu") for u in hidden_units]
    layers += [
        keras.layers.Dense(math.prod(output_shape), activation=output_activation),
        keras.layers.Reshape(output_shape),
    ]
    return keras.Sequential(layers, name=name)


def build_mlp_discriminator(input_shape, hidden_units=(128, 128), name="discriminator"):
    """Map a sample to one logit: the log-odds that it is real.

    Args:
        input_shape: shape of one sample, e.g. (2,) or (28, 28, 1).
        hidden_units: widths of the LeakyReLU(0.2) hidden layers.
        name: model name.

    Returns:
        A ``keras.Sequential`` model, output shape (batch, 1), logits (no sigmoid).
    """
    _check_units(hidden_units)
    layers = [keras.Input(tuple(input_shape)), keras.layers.Flatten()]
    for units in hidden_units:
        layers += [keras.layers.Dense(int(units)), keras.layers.LeakyReLU(0.2)]
    layers.append(keras.layers.Dense(1))
    return keras.Sequential(layers, name=name)
