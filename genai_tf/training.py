"""Fused ``tf.function`` training steps and a small step loop.

One call of a GAN step updates the discriminator on a batch and then the
generator, with no Python-side ``predict()`` in between: the whole step is
one TensorFlow graph.
"""

import math

import keras
import tensorflow as tf

from genai_tf.losses import (
    minimax_discriminator_loss,
    minimax_generator_loss,
    modified_generator_loss,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
    wasserstein_gradient_penalty,
)

GENERATOR_LOSSES = {
    "non_saturating": modified_generator_loss,
    "saturating": minimax_generator_loss,
}


def _check_latent_dim(latent_dim):
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim <= 0:
        raise ValueError(f"latent_dim must be a positive integer. Received: latent_dim={latent_dim!r}")


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
):
    """One fused GAN update on a batch: the discriminator first, then the generator.

    Formula:
        D step: minimise -E_x[log D(x)] - E_z[log(1 - D(G(z)))]
        G step: minimise generator_loss_fn(D(G(z))), fresh z, against the updated D

    Used by the ``GAN``, ``DCGAN`` and ``ConditionalGAN`` models' ``train_step``
    and by :func:`make_gan_train_step`, so both paths run the same code.

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

    Returns:
        Dict of scalar tensors: d_loss, g_loss, real_prob (mean D(x)), fake_prob (mean D(G(z))).
    """
    batch_size = tf.shape(real)[0]
    noise = keras.random.normal((batch_size, latent_dim), seed=seed_generator)
    with tf.GradientTape() as tape:
        fake = generator(_inputs(noise, labels), training=True)
        real_logits = discriminator(_inputs(real, labels), training=True)
        fake_logits = discriminator(_inputs(fake, labels), training=True)
        d_loss = minimax_discriminator_loss(real_logits, fake_logits)
    _apply(tape, d_loss, discriminator, discriminator_optimizer)

    noise = keras.random.normal((batch_size, latent_dim), seed=seed_generator)
    with tf.GradientTape() as tape:
        fake = generator(_inputs(noise, labels), training=True)
        g_loss = generator_loss_fn(discriminator(_inputs(fake, labels), training=True))
    _apply(tape, g_loss, generator, generator_optimizer)
    return {
        "d_loss": d_loss,
        "g_loss": g_loss,
        "real_prob": tf.reduce_mean(tf.sigmoid(real_logits)),
        "fake_prob": tf.reduce_mean(tf.sigmoid(fake_logits)),
    }


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
    batch_size = tf.shape(real)[0]
    for _ in range(n_critic):
        noise = keras.random.normal((batch_size, latent_dim), seed=seed_generator)
        with tf.GradientTape() as tape:
            fake = generator(_inputs(noise, labels), training=True)
            real_scores = critic(_inputs(real, labels), training=True)
            fake_scores = critic(_inputs(fake, labels), training=True)
            critic_loss = wasserstein_critic_loss(real_scores, fake_scores)
            penalty = wasserstein_gradient_penalty(critic, real, fake, labels=labels, seed=seed_generator)
            d_loss = critic_loss + gp_weight * penalty
        _apply(tape, d_loss, critic, critic_optimizer)

    noise = keras.random.normal((batch_size, latent_dim), seed=seed_generator)
    with tf.GradientTape() as tape:
        fake = generator(_inputs(noise, labels), training=True)
        g_loss = wasserstein_generator_loss(critic(_inputs(fake, labels), training=True))
    _apply(tape, g_loss, generator, generator_optimizer)
    return {"d_loss": d_loss, "g_loss": g_loss, "gradient_penalty": penalty, "wasserstein": -critic_loss}


def _split_batch(batch, conditional):
    if conditional:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise ValueError("A conditional step needs batches of (images, labels).")
        return batch[0], batch[1]
    if isinstance(batch, (tuple, list)):
        batch = batch[0]
    return batch, None


def make_gan_train_step(
    generator,
    discriminator,
    generator_optimizer,
    discriminator_optimizer,
    latent_dim,
    generator_loss="non_saturating",
    seed=0,
    conditional=False,
):
    """Build a fused GAN step: one ``tf.function`` running :func:`gan_update`.

    Args:
        generator, discriminator: the two networks (discriminator outputs logits).
        generator_optimizer, discriminator_optimizer: Keras optimizers
            (two separate instances).
        latent_dim: size of the noise vector, > 0.
        generator_loss: "non_saturating" (default) or "saturating".
        seed: int seed of the noise.
        conditional: batches are (images, labels) and both networks take labels.

    Returns:
        ``train_step(batch) -> {"d_loss", "g_loss", "real_prob", "fake_prob"}``,
        a ``tf.function``, with its ``seed_generator`` attribute (checkpoint it
        to resume the noise sequence).
    """
    if generator_loss not in GENERATOR_LOSSES:
        raise ValueError(
            f"generator_loss must be one of {sorted(GENERATOR_LOSSES)}. "
            f"Received: generator_loss={generator_loss!r}"
        )
    _check_latent_dim(latent_dim)
    if generator_optimizer is discriminator_optimizer:
        raise ValueError("generator_optimizer and discriminator_optimizer must be separate instances.")
    seed_generator = keras.random.SeedGenerator(seed)

    @tf.function
    def train_step(batch):
        real, labels = _split_batch(batch, conditional)
        return gan_update(
            generator, discriminator, generator_optimizer, discriminator_optimizer, real,
            latent_dim, seed_generator, GENERATOR_LOSSES[generator_loss], labels,
        )

    train_step.seed_generator = seed_generator
    return train_step


def make_wgan_gp_train_step(
    generator,
    critic,
    generator_optimizer,
    critic_optimizer,
    latent_dim,
    n_critic=5,
    gp_weight=10.0,
    seed=0,
    conditional=False,
):
    """Build a fused WGAN-GP step: one ``tf.function`` running :func:`wgan_gp_update`.

    Returns:
        ``train_step(batch) -> {"d_loss", "g_loss", "gradient_penalty", "wasserstein"}``
        with a ``seed_generator`` attribute.
    """
    _check_latent_dim(latent_dim)
    if isinstance(n_critic, bool) or not isinstance(n_critic, int) or n_critic < 1:
        raise ValueError(f"n_critic must be a positive integer. Received: n_critic={n_critic!r}")
    if gp_weight < 0:
        raise ValueError(f"gp_weight must be >= 0. Received: gp_weight={gp_weight}")
    if generator_optimizer is critic_optimizer:
        raise ValueError("generator_optimizer and critic_optimizer must be separate instances.")
    seed_generator = keras.random.SeedGenerator(seed)

    @tf.function
    def train_step(batch):
        real, labels = _split_batch(batch, conditional)
        return wgan_gp_update(
            generator, critic, generator_optimizer, critic_optimizer, real, latent_dim,
            seed_generator, n_critic, gp_weight, labels,
        )

    train_step.seed_generator = seed_generator
    return train_step


def fit_steps(train_step, dataset, steps, log_every=100, callback=None):
    """Run ``train_step`` on batches of ``dataset`` for ``steps`` steps.

    Every ``log_every`` steps (and at the last step) the returned losses are
    read back, checked to be finite, recorded, and passed to
    ``callback(step, logs)``.

    Args:
        train_step: callable taking one batch, returning a dict of scalar tensors.
        dataset: a ``tf.data.Dataset``; it is repeated as needed.
        steps: number of steps, > 0.
        log_every: how often to read back and record the losses.
        callback: optional ``callback(step, logs)``, e.g. to take snapshots.

    Returns:
        History dict: ``{"step": [...], key: [...]}`` for every key of the logs.

    Raises:
        FloatingPointError: a loss is NaN or infinite; the message names the step.
    """
    if steps <= 0 or log_every <= 0:
        raise ValueError(f"steps and log_every must be positive. Received: steps={steps}, log_every={log_every}")
    history = {"step": []}
    for step, batch in enumerate(dataset.repeat().take(steps), start=1):
        logs = train_step(batch)
        if step % log_every and step != steps:
            continue
        values = {key: float(value) for key, value in logs.items()}
        bad = {key: v for key, v in values.items() if not math.isfinite(v)}
        if bad:
            raise FloatingPointError(f"Non-finite loss at step {step}: {bad}")
        history["step"].append(step)
        for key, value in values.items():
            history.setdefault(key, []).append(value)
        if callback is not None:
            callback(step, values)
    return history
