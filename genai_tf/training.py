"""Fused ``tf.function`` training steps and a small step loop.

One call of a GAN step updates the discriminator on a batch and then the
generator, with no Python-side ``predict()`` in between: the whole step is
one TensorFlow graph.
"""

import math

import keras
import tensorflow as tf

from genai_tf.losses import minimax_discriminator_loss, minimax_generator_loss, modified_generator_loss

GENERATOR_LOSSES = {
    "non_saturating": modified_generator_loss,
    "saturating": minimax_generator_loss,
}


def make_gan_train_step(
    generator,
    discriminator,
    generator_optimizer,
    discriminator_optimizer,
    latent_dim,
    generator_loss="non_saturating",
    seed=0,
):
    """Build a fused GAN step: one discriminator update, then one generator update.

    Formula:
        D step: minimise -E_x[log D(x)] - E_z[log(1 - D(G(z)))]
        G step: minimise -E_z[log D(G(z))]          ("non_saturating")
             or minimise  E_z[log(1 - D(G(z)))]     ("saturating")

    Each step draws fresh noise for both updates from a seeded
    ``keras.random.SeedGenerator``, with the batch size of the real batch.

    Args:
        generator: model mapping (batch, latent_dim) noise to samples.
        discriminator: model mapping samples to logits of shape (batch, 1).
        generator_optimizer, discriminator_optimizer: Keras optimizers
            (two separate instances).
        latent_dim: size of the noise vector, > 0.
        generator_loss: "non_saturating" (default) or "saturating".
        seed: int seed of the noise.

    Returns:
        ``train_step(real_batch) -> {"d_loss", "g_loss", "real_prob", "fake_prob"}``,
        a ``tf.function``; the probabilities are mean D(x) and mean D(G(z)).
    """
    if generator_loss not in GENERATOR_LOSSES:
        raise ValueError(
            f"generator_loss must be one of {sorted(GENERATOR_LOSSES)}. "
            f"Received: generator_loss={generator_loss!r}"
        )
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim <= 0:
        raise ValueError(f"latent_dim must be a positive integer. Received: latent_dim={latent_dim!r}")
    if generator_optimizer is discriminator_optimizer:
        raise ValueError("generator_optimizer and discriminator_optimizer must be separate instances.")
    g_loss_fn = GENERATOR_LOSSES[generator_loss]
    seed_generator = keras.random.SeedGenerator(seed)

    @tf.function
    def train_step(real):
        batch_size = tf.shape(real)[0]
        noise = keras.random.normal((batch_size, latent_dim), seed=seed_generator)
        with tf.GradientTape() as tape:
            fake = generator(noise, training=True)
            real_logits = discriminator(real, training=True)
            fake_logits = discriminator(fake, training=True)
            d_loss = minimax_discriminator_loss(real_logits, fake_logits)
        grads = tape.gradient(d_loss, discriminator.trainable_variables)
        discriminator_optimizer.apply_gradients(zip(grads, discriminator.trainable_variables))

        noise = keras.random.normal((batch_size, latent_dim), seed=seed_generator)
        with tf.GradientTape() as tape:
            g_fake_logits = discriminator(generator(noise, training=True), training=True)
            g_loss = g_loss_fn(g_fake_logits)
        grads = tape.gradient(g_loss, generator.trainable_variables)
        generator_optimizer.apply_gradients(zip(grads, generator.trainable_variables))
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "real_prob": tf.reduce_mean(tf.sigmoid(real_logits)),
            "fake_prob": tf.reduce_mean(tf.sigmoid(fake_logits)),
        }

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
