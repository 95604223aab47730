"""Differentiable augmentation (DiffAugment) for training GANs on little data.

A discriminator trained on a few thousand images memorises them, and its
feedback to the generator degrades. Augmenting only the real images would
teach the generator to produce augmented images; DiffAugment instead applies
the *same kind* of random transformation to real and generated images every
time the discriminator sees them, in the discriminator's and in the
generator's update. Every operation is differentiable with respect to the
images, so the generator's gradient flows back through it.

See Zhao et al., "Differentiable Augmentation for Data-Efficient GAN
Training", NeurIPS 2020 (https://arxiv.org/abs/2006.10738).
"""

import math

import keras
import tensorflow as tf

from genai_tf.validation import float_in

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy):
    """A policy string such as "color,translation,cutout" as a tuple of known names.

    Example:
    >>> parse_policy("translation, cutout")
    ('translation', 'cutout')
    """
    if not isinstance(policy, str):
        raise ValueError(f"policy must be a string like 'color,translation,cutout'. Received: policy={policy!r}")
    names = tuple(name.strip() for name in policy.split(",") if name.strip())
    unknown = [name for name in names if name not in POLICIES]
    if unknown or not names:
        raise ValueError(
            f"policy must name some of {', '.join(POLICIES)}, separated by commas. Received: policy={policy!r}"
        )
    return names


def _uniform(batch_size, seed, low=0.0, high=1.0):
    return keras.random.uniform((batch_size, 1, 1, 1), low, high, seed=seed)


def color(images, seed):
    """Random brightness, saturation and contrast per image, as in DiffAugment.

    Formula (r ~ U[0, 1] drawn per image for each step):
        brightness: x + (r - 0.5)
        saturation: m_c + 2 r (x - m_c), m_c the mean over channels (no change for one channel)
        contrast:   m + (r + 0.5) (x - m), m the mean over pixels and channels
    Images are in [-1, 1]; the result is not clipped (it stays differentiable).

    Args:
        images: float tensor (batch, height, width, channels).
        seed: a ``keras.random.SeedGenerator``, an int or None.

    Returns:
        A tensor of the shape of ``images``: per image an affine map of its pixel values.
    """
    batch_size = tf.shape(images)[0]
    images = images + (_uniform(batch_size, seed) - 0.5)
    channel_mean = tf.reduce_mean(images, axis=-1, keepdims=True)
    images = channel_mean + 2.0 * _uniform(batch_size, seed) * (images - channel_mean)
    pixel_mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return pixel_mean + (_uniform(batch_size, seed) + 0.5) * (images - pixel_mean)


def translation(images, seed, ratio=0.125):
    """Shift each image by up to ``ratio`` of its size in each direction, filling with -1 (background).

    Whole-pixel shifts drawn per image; implemented with a padded gather, so
    the gradient with respect to the images is a shifted copy of the upstream
    gradient. ``ratio=0`` shifts nothing (the identity).

    Args:
        images: float tensor (batch, height, width, channels) in [-1, 1].
        seed: a ``keras.random.SeedGenerator``, an int or None.
        ratio: the largest shift as a fraction of the height (width), in [0, 1].

    Returns:
        A tensor of the shape of ``images``; pixels shifted in from outside are -1.
    """
    ratio = float_in(ratio, 0.0, 1.0, "ratio", include_low=True)
    shape = tf.shape(images)
    batch_size, height, width = shape[0], shape[1], shape[2]
    max_dy = tf.cast(tf.cast(height, tf.float32) * ratio + 0.5, tf.int32)
    max_dx = tf.cast(tf.cast(width, tf.float32) * ratio + 0.5, tf.int32)
    dy = keras.random.randint((batch_size, 1, 1), -max_dy, max_dy + 1, seed=seed)
    dx = keras.random.randint((batch_size, 1, 1), -max_dx, max_dx + 1, seed=seed)
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=-1.0)  # a border of background
    rows = tf.clip_by_value(tf.range(height)[None, :, None] + dy + 1, 0, height + 1)
    cols = tf.clip_by_value(tf.range(width)[None, None, :] + dx + 1, 0, width + 1)
    rows = tf.broadcast_to(rows, (batch_size, height, width))
    cols = tf.broadcast_to(cols, (batch_size, height, width))
    return tf.gather_nd(padded, tf.stack([rows, cols], axis=-1), batch_dims=1)


def cutout(images, seed, ratio=0.5, fill=-1.0):
    """Fill a random square of side ``ratio`` x the image size in each image with ``fill`` (-1: the background).

    Formula (per image, M the square's indicator):
        y = x (1 - M) + fill M
    DiffAugment's own code multiplies by the mask, which fills with 0: for
    images in [-1, 1] that is mid-grey, a grey patch on the black background
    of a digit. Filling with the low end of the pixel range (``fill=-1``, the
    background of these images) removes part of the digit instead. The
    square's pixels get a zero gradient and the rest pass it unchanged. The
    square's centre is drawn per image and the square may be cut by the
    border. ``ratio=0`` cuts nothing (the identity).

    Args:
        images: float tensor (batch, height, width, channels), in [-1, 1].
        seed: a ``keras.random.SeedGenerator``, an int or None.
        ratio: the square's side as a fraction of the height (width), in [0, 1].
        fill: the square's value, a finite float; -1.0 (the background) by default.

    Returns:
        A tensor of the shape of ``images``; the square's pixels are exactly ``fill``.
    """
    ratio = float_in(ratio, 0.0, 1.0, "ratio", include_low=True)
    fill = float_in(fill, -math.inf, math.inf, "fill", include_high=False)
    shape = tf.shape(images)
    batch_size, height, width = shape[0], shape[1], shape[2]
    size_y = tf.cast(tf.cast(height, tf.float32) * ratio + 0.5, tf.int32)
    size_x = tf.cast(tf.cast(width, tf.float32) * ratio + 0.5, tf.int32)
    top = keras.random.randint((batch_size, 1, 1), 0, height + (1 - size_y % 2), seed=seed) - size_y // 2
    left = keras.random.randint((batch_size, 1, 1), 0, width + (1 - size_x % 2), seed=seed) - size_x // 2
    rows = tf.range(height)[None, :, None]
    cols = tf.range(width)[None, None, :]
    inside = tf.cast((rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x), images.dtype)
    inside = inside[..., None]
    return images * (1.0 - inside) + fill * inside


_OPERATIONS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(images, policy="color,translation,cutout", seed=None):
    """Apply the policy's operations, in the order given, with fresh random draws per image.

    Call it on the real and on the generated images every time the
    discriminator sees them (both updates); see :func:`genai_tf.models.updates.gan_update`.

    Args:
        images: float tensor (batch, height, width, channels) in [-1, 1].
        policy: comma-separated names from ``POLICIES``.
        seed: a ``keras.random.SeedGenerator`` (inside a ``tf.function``) or
            an int or None (eager use).

    Returns:
        A tensor of the same shape, differentiable with respect to ``images``.

    Example:
    >>> import numpy as np
    >>> x = np.full((2, 8, 8, 1), -1.0, "float32")
    >>> x[:, 3:5, 3:5] = 1.0
    >>> y = diff_augment(x, "translation", seed=keras.random.SeedGenerator(0))
    >>> tuple(y.shape), float(np.sum(y > 0)) == 8.0       # a 2x2 square moved, in both images
    ((2, 8, 8, 1), True)
    """
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4:
        raise ValueError(
            f"images must be (batch, height, width, channels). Received: images.shape={tuple(images.shape)}"
        )
    for name in parse_policy(policy):
        images = _OPERATIONS[name](images, seed)
    return images
