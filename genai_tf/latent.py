"""Working in a VAE's latent space: interpolation, grids, per-dimension KL, image repair."""

import math

import keras
import numpy as np
import tensorflow as tf

from genai_tf.validation import float_in, int_at_least, non_negative_int, positive_float, positive_int


def _check_pair(z0, z1):
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    if z0.ndim != 1 or z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must be vectors of one shape. Received: shapes {z0.shape} and {z1.shape}")
    return z0, z1


def _interpolation_times(steps):
    """t = 0, 1/(steps-1), ..., 1 for ``steps`` >= 2 points (the two ends included)."""
    return np.linspace(0.0, 1.0, int_at_least(steps, 2, "steps"))


def lerp(z0, z1, steps):
    """Points on the straight line from z0 to z1, both ends included.

    Formula:
        z(t) = (1 - t) * z0 + t * z1,   t = 0, 1/(steps-1), ..., 1

    Args:
        z0, z1: latent vectors, shape (latent_dim,).
        steps: number of points, >= 2.

    Returns:
        float32 array (steps, latent_dim).

    Example:
    >>> lerp([0.0, 0.0], [2.0, 4.0], 3).tolist()
    [[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]]
    """
    z0, z1 = _check_pair(z0, z1)
    t = _interpolation_times(steps)[:, None]
    return ((1.0 - t) * z0 + t * z1).astype(np.float32)


def slerp(z0, z1, steps):
    """Spherical interpolation from z0 to z1: along the great circle, norms interpolated too.

    Formula:
        omega = arccos(<z0, z1> / (|z0| |z1|))
        z(t)  = sin((1 - t) omega) / sin(omega) * z0 + sin(t omega) / sin(omega) * z1

    Under N(0, I) in d dimensions almost all mass lies near the sphere of
    radius sqrt(d); the straight line's midpoint between two such points is
    shorter (|z| ~ sqrt(d / 2) for orthogonal ends), in a region the decoder
    rarely saw. For ends of equal norm slerp keeps that norm at every step.
    Falls back to :func:`lerp` for (anti)parallel vectors, where the circle
    is not defined by the two ends.

    See Tom White, "Sampling Generative Networks", 2016 (https://arxiv.org/abs/1609.04468).

    Args:
        z0, z1: latent vectors, shape (latent_dim,), not zero.
        steps: number of points, >= 2.

    Returns:
        float32 array (steps, latent_dim).

    Example:
    >>> [[round(float(v), 4) for v in z] for z in slerp([1.0, 0.0], [0.0, 1.0], 3)]
    [[1.0, 0.0], [0.7071, 0.7071], [0.0, 1.0]]
    """
    z0, z1 = _check_pair(z0, z1)
    t = _interpolation_times(steps)[:, None]
    norms = np.linalg.norm(z0) * np.linalg.norm(z1)
    if norms == 0:
        raise ValueError("slerp needs non-zero vectors: the angle to a zero vector is undefined.")
    omega = math.acos(float(np.clip(np.dot(z0, z1) / norms, -1.0, 1.0)))
    if math.sin(omega) < 1e-6:
        return lerp(z0, z1, steps)
    return ((np.sin((1.0 - t) * omega) * z0 + np.sin(t * omega) * z1) / math.sin(omega)).astype(np.float32)


def gaussian_grid(size, quantile=0.05):
    """A size x size grid of 2-D latent points at equally spaced N(0, 1) quantiles.

    The points are the inverse normal CDF of probabilities evenly spaced in
    [quantile, 1 - quantile], so each cell covers equal prior mass (as in the
    2-D manifold figure of Kingma & Welling).

    Args:
        size: points per side, >= 2.
        quantile: the lowest probability, in (0, 0.5).

    Returns:
        float32 array (size * size, 2), row by row from the top-left (z_2 decreasing).

    Example:
    >>> np.round(gaussian_grid(3, quantile=0.5 - 0.3413447), 3).tolist()[:3]
    [[-1.0, 1.0], [0.0, 1.0], [1.0, 1.0]]
    """
    from scipy.stats import norm

    size = int_at_least(size, 2, "size")
    quantile = float_in(quantile, 0.0, 0.5, "quantile", include_high=False)
    values = norm.ppf(np.linspace(quantile, 1.0 - quantile, size))
    rows = [[x, y] for y in values[::-1] for x in values]
    return np.asarray(rows, np.float32)


def per_dimension_kl(vae, images, batch_size=500):
    """Average KL(q(z_j|x) || N(0, 1)) over the images, one value per latent dimension, in nats.

    Formula:
        KL_j = mean over x of -1/2 (1 + log sigma_j^2(x) - mu_j(x)^2 - sigma_j^2(x))

    They add up to the mean of :func:`genai_tf.losses.gaussian_kl_divergence`.
    A dimension with KL_j ~ 0 has q(z_j|x) = p(z_j) for every x: it carries no
    information about x (it has *collapsed* to the prior).

    Args:
        vae: a :class:`genai_tf.models.VAE`.
        images: (N, *image_shape) in the model's pixel range.
        batch_size: images per forward pass.

    Returns:
        float64 array (latent_dim,), >= 0.
    """
    vae.check_images(images)
    batch_size = positive_int(batch_size, "batch_size")
    images = np.asarray(images, np.float32)
    totals = np.zeros(vae.latent_dim)
    for start in range(0, len(images), batch_size):
        z_mean, z_log_var = (np.asarray(t, np.float64) for t in vae.encode(images[start : start + batch_size]))
        totals += np.sum(-0.5 * (1.0 + z_log_var - z_mean**2 - np.exp(z_log_var)), axis=0)
    return totals / len(images)


def active_dimensions(kl_per_dimension, threshold=0.1):
    """Number of latent dimensions whose average KL exceeds ``threshold`` nats.

    Example:
    >>> active_dimensions([2.0, 0.5, 0.01, 0.0])
    2
    """
    return int(np.sum(np.asarray(kl_per_dimension) > threshold))


def _check_mask(mask, images):
    mask = np.asarray(mask, np.float32)
    if mask.shape != images.shape[1:] and mask.shape != images.shape:
        raise ValueError(
            "mask must have the shape of one image or of the whole batch. "
            f"Received: mask.shape={mask.shape}, images.shape={images.shape}"
        )
    if not np.all((mask == 0) | (mask == 1)):
        raise ValueError("mask must hold 1 for observed pixels and 0 for missing ones, nothing else.")
    return np.broadcast_to(mask, images.shape).astype(np.float32)


def map_latent_search(vae, images, mask=None, flip_probability=0.0, steps=200, learning_rate=0.05):
    """The latent code that best explains the observed pixels under the prior (MAP), by Adam on z.

    Formula:
        z* = argmax_z  sum_i m_i log p(x_i | z) + log N(z; 0, I),
        p(x_i = 1 | z) = (1 - rho) * sigmoid(l_i(z)) + rho * (1 - sigmoid(l_i(z)))

    where m is the mask (1 = observed) and rho the probability that a pixel
    was flipped by noise: the VAE's Bernoulli decoder followed by a known
    corruption channel. rho = 0 is the clean decoder. The search starts at the
    encoder's mean of the (masked) images; the networks stay fixed.

    Args:
        vae: a trained :class:`genai_tf.models.VAE` with a Bernoulli decoder.
        images: (N, *image_shape) in [0, 1].
        mask: None (all observed), or 1 for observed and 0 for missing pixels,
            with the shape of one image or of ``images``.
        flip_probability: rho, in [0, 0.5).
        steps: Adam updates, >= 0 (0 returns the encoder's mean).
        learning_rate: Adam's learning rate, > 0.

    Returns:
        float32 array (N, latent_dim).
    """
    if vae.likelihood != "bernoulli":
        raise ValueError(f"The latent search needs a Bernoulli decoder. Received: likelihood={vae.likelihood!r}")
    vae.check_images(images)
    images = np.asarray(images, np.float32)
    mask = np.ones_like(images) if mask is None else _check_mask(mask, images)
    rho = float_in(flip_probability, 0.0, 0.5, "flip_probability", include_low=True, include_high=False)
    steps = non_negative_int(steps, "steps")
    learning_rate = positive_float(learning_rate, "learning_rate")
    observed = tf.constant(images * mask)
    mask_tensor = tf.constant(mask)
    z = tf.Variable(vae.encode(observed)[0])
    optimizer = keras.optimizers.Adam(learning_rate)

    @tf.function
    def update():
        with tf.GradientTape() as tape:
            logits = vae.decode_logits(z)
            if rho == 0.0:
                pixel_log_likelihood = -tf.nn.sigmoid_cross_entropy_with_logits(labels=observed, logits=logits)
            else:
                p_one = (1.0 - rho) * tf.sigmoid(logits) + rho * (1.0 - tf.sigmoid(logits))   # in [rho, 1 - rho]
                pixel_log_likelihood = observed * tf.math.log(p_one) + (1.0 - observed) * tf.math.log(1.0 - p_one)
            # Only observed pixels count: the per-pixel terms are multiplied by the mask.
            log_likelihood = tf.reduce_sum(mask_tensor * pixel_log_likelihood, axis=[1, 2, 3])
            loss = -tf.reduce_sum(log_likelihood - 0.5 * tf.reduce_sum(tf.square(z), axis=1))
        optimizer.apply([tape.gradient(loss, z)], [z])

    for _ in range(steps):
        update()
    return np.asarray(z)


def inpaint(vae, images, mask, steps=200, learning_rate=0.05):
    """Fill the missing pixels of images from a Bernoulli VAE, by MAP search in the latent space.

    Formula:
        z* = argmax_z  sum over observed pixels of log p(x_i | z) + log N(z; 0, I)
        repaired = mask * x + (1 - mask) * E[x | z*]

    The decoder's knowledge of digits completes what the mask hides; observed
    pixels are kept. See :func:`map_latent_search`.

    Args:
        vae: a trained :class:`genai_tf.models.VAE` with a Bernoulli decoder.
        images: (N, *image_shape) in [0, 1]; pixels under the mask's zeros are ignored.
        mask: 1 for observed, 0 for missing pixels; the shape of one image or of ``images``.
        steps: Adam updates, >= 0.
        learning_rate: Adam's learning rate, > 0.

    Returns:
        float32 array of the shape of ``images``, in [0, 1].
    """
    z = map_latent_search(vae, images, mask, steps=steps, learning_rate=learning_rate)
    mask = _check_mask(mask, np.asarray(images))
    return (mask * np.asarray(images, np.float32) + (1.0 - mask) * np.asarray(vae.decode(z))).astype(np.float32)


def denoise(vae, images, flip_probability=0.0, steps=0, learning_rate=0.05):
    """Denoise images through the latent space: E[x | z*] for the MAP code under a flip-noise model.

    With ``steps=0`` it is the projection decode(encoder mean), which works
    for mild noise the encoder tolerates. With ``steps > 0`` it searches for
    the code that best explains the noisy pixels when each was flipped with
    probability ``flip_probability`` (:func:`map_latent_search`), so the
    noise is explained by the channel, not by the digit.

    Args:
        vae: a trained :class:`genai_tf.models.VAE` with a Bernoulli decoder.
        images: noisy images (N, *image_shape) in [0, 1].
        flip_probability: the noise model's flip probability, in [0, 0.5).
        steps: Adam updates of the search, >= 0.
        learning_rate: Adam's learning rate, > 0.

    Returns:
        float32 array of the shape of ``images``, in [0, 1].
    """
    z = map_latent_search(vae, images, None, flip_probability, steps, learning_rate)
    return np.asarray(vae.decode(z), np.float32)
