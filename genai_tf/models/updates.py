"""The per-batch updates of the adversarial models: one source of truth for ``fit()`` and the fused steps.

Each update runs on one batch: the discriminator (or critic) first, then the
generator, with every network called in training mode. The models'
``train_step`` (:mod:`genai_tf.models.gan` and the others) and the standalone
``tf.function`` steps of :mod:`genai_tf.training` call these functions, so both
paths execute the same code. Nothing here imports the training loop.
"""

import tensorflow as tf

from genai_tf.distribute import GlobalBatch, replica_seed
from genai_tf.losses import (
    minimax_discriminator_loss,
    minimax_generator_loss,
    modified_generator_loss,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
    wasserstein_gradient_penalty,
)
from genai_tf.validation import one_of

# The generator losses by name: "non_saturating" (-log D(G(z))) and "saturating" (log(1 - D(G(z)))).
GENERATOR_LOSSES = {
    "non_saturating": modified_generator_loss,
    "saturating": minimax_generator_loss,
}


def get_generator_loss(name):
    """The generator loss function called ``name`` in :data:`GENERATOR_LOSSES`; ValueError listing the names.

    Args:
        name: "non_saturating" or "saturating".

    Returns:
        The loss function, ``fake_logits -> scalar``.

    Example:
    >>> get_generator_loss("saturating").__name__
    'minimax_generator_loss'
    """
    return GENERATOR_LOSSES[one_of(name, tuple(GENERATOR_LOSSES), "generator_loss")]


def _inputs(x, labels):
    """A conditional network takes [x, labels]; an unconditional one takes x."""
    return x if labels is None else [x, labels]


def _apply(tape, loss, model, optimizer):
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))


def gan_update(
    generator,
    discriminator,
    generator_optimizer,
    discriminator_optimizer,
    real,
    latent_dim,
    seed_generator,
    generator_loss_fn=modified_generator_loss,
    labels=None,
    augment=None,
):
    """One fused GAN update on a batch: the discriminator first, then the generator.

    Formula:
        D step: minimise -E_x[log D(x)] - E_z[log(1 - D(G(z)))]
        G step: minimise generator_loss_fn(D(G(z))), fresh z, against the updated D

    Used by the ``GAN``, ``DCGAN`` and ``ConditionalGAN`` models' ``train_step``
    and by :func:`genai_tf.training.make_gan_train_step`, so both paths run the
    same code.

    Under a ``tf.distribute`` strategy (called on each replica, by ``fit()`` or
    a step made with ``strategy=``) the losses are scaled to the global batch
    before the gradients, which the optimizers sum across replicas, and the
    returned values are means over the global batch; each replica takes its
    rows of the global batch's noise, so the update equals the single-device
    one on the same global batch (:mod:`genai_tf.distribute`; not draw for
    draw with ``augment``, whose draws are per replica, nor with BatchNorm or
    Dropout layers).

    Args:
        generator: maps noise (batch, latent_dim) [and labels] to samples.
        discriminator: maps samples [and labels] to logits (batch, 1).
        generator_optimizer, discriminator_optimizer: two Keras optimizers.
        real: a batch of real samples.
        latent_dim: size of the noise vector.
        seed_generator: ``keras.random.SeedGenerator`` for the noise.
        generator_loss_fn: ``modified_generator_loss`` (non-saturating) or
            ``minimax_generator_loss`` (saturating).
        labels: int labels (batch,) for a conditional GAN; the fakes get the
            same labels as the real batch.
        augment: optional differentiable function images -> images applied
            to the real and the generated images every time D sees them, in
            both updates (DiffAugment, :func:`genai_tf.augment.diff_augment`).

    Returns:
        Dict of scalar tensors: d_loss, g_loss, real_prob (mean D(x)), fake_prob (mean D(G(z))).
    """
    augment = augment or (lambda images: images)
    batch = GlobalBatch(real)
    noise = batch.normal((latent_dim,), seed_generator)
    with tf.GradientTape() as tape:
        fake = generator(_inputs(noise, labels), training=True)
        real_logits = discriminator(_inputs(augment(real), labels), training=True)
        fake_logits = discriminator(_inputs(augment(fake), labels), training=True)
        d_loss = minimax_discriminator_loss(real_logits, fake_logits)
        scaled_loss = batch.scale(d_loss)
    _apply(tape, scaled_loss, discriminator, discriminator_optimizer)

    noise = batch.normal((latent_dim,), seed_generator)
    with tf.GradientTape() as tape:
        fake = generator(_inputs(noise, labels), training=True)
        g_loss = generator_loss_fn(discriminator(_inputs(augment(fake), labels), training=True))
        scaled_loss = batch.scale(g_loss)
    _apply(tape, scaled_loss, generator, generator_optimizer)
    return batch.mean({
        "d_loss": d_loss,
        "g_loss": g_loss,
        "real_prob": tf.reduce_mean(tf.sigmoid(real_logits)),
        "fake_prob": tf.reduce_mean(tf.sigmoid(fake_logits)),
    })


def wgan_gp_update(
    generator,
    critic,
    generator_optimizer,
    critic_optimizer,
    real,
    latent_dim,
    seed_generator,
    n_critic=5,
    gp_weight=10.0,
    labels=None,
):
    """One WGAN-GP update on a batch: ``n_critic`` critic steps, then one generator step.

    Formula:
        critic: minimise E[f(G(z))] - E[f(x)] + gp_weight * GP   (n_critic times, fresh z)
        generator: minimise -E[f(G(z))]

    Under a ``tf.distribute`` strategy the losses, the penalty included, are
    scaled to the global batch and the returned values are global-batch means,
    as in :func:`gan_update`; the latent noise is the single device's, while
    each replica draws its own interpolation weights epsilon (inside
    :func:`genai_tf.losses.wasserstein_gradient_penalty`, from
    :func:`genai_tf.distribute.replica_seed`), so the penalty matches the
    single-device one in distribution, not draw for draw.

    Args:
        generator, critic: the two networks; the critic outputs scores
            (batch, 1) with no sigmoid.
        generator_optimizer, critic_optimizer: two Keras optimizers.
        real: a batch of real samples.
        latent_dim: size of the noise vector.
        seed_generator: ``keras.random.SeedGenerator`` for noise and epsilon.
        n_critic: critic updates per generator update, >= 1.
        gp_weight: lambda, the weight of the gradient penalty (10 in the paper).
        labels: optional int labels (batch,) for a conditional critic.

    Returns:
        Dict of scalar tensors from the last critic step and the generator
        step: d_loss (critic loss with penalty), g_loss, gradient_penalty,
        wasserstein (E[f(x)] - E[f(G(z))], the critic's distance estimate).
    """
    batch = GlobalBatch(real)
    for _ in range(n_critic):
        noise = batch.normal((latent_dim,), seed_generator)
        with tf.GradientTape() as tape:
            fake = generator(_inputs(noise, labels), training=True)
            real_scores = critic(_inputs(real, labels), training=True)
            fake_scores = critic(_inputs(fake, labels), training=True)
            critic_loss = wasserstein_critic_loss(real_scores, fake_scores)
            penalty = wasserstein_gradient_penalty(
                critic, real, fake, labels=labels, seed=replica_seed(seed_generator)
            )
            d_loss = critic_loss + gp_weight * penalty
            scaled_loss = batch.scale(d_loss)
        _apply(tape, scaled_loss, critic, critic_optimizer)

    noise = batch.normal((latent_dim,), seed_generator)
    with tf.GradientTape() as tape:
        fake = generator(_inputs(noise, labels), training=True)
        g_loss = wasserstein_generator_loss(critic(_inputs(fake, labels), training=True))
        scaled_loss = batch.scale(g_loss)
    _apply(tape, scaled_loss, generator, generator_optimizer)
    return batch.mean({"d_loss": d_loss, "g_loss": g_loss, "gradient_penalty": penalty, "wasserstein": -critic_loss})


def split_batch(batch, conditional):
    """A step's batch as (images, labels or None).

    Args:
        batch: images, or a tuple or list whose first item is the images; for
            a conditional step exactly (images, labels).
        conditional: whether the step needs labels.

    Returns:
        (images, labels) for a conditional step, else (images, None).

    Raises:
        ValueError: a conditional step got no (images, labels) pair.

    Example:
    >>> split_batch(("images",), conditional=False)
    ('images', None)
    >>> split_batch(("images", "labels"), conditional=True)
    ('images', 'labels')
    """
    if conditional:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise ValueError("A conditional step needs batches of (images, labels).")
        return batch[0], batch[1]
    if isinstance(batch, (tuple, list)):
        batch = batch[0]
    return batch, None
