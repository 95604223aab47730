"""Fused ``tf.function`` training steps, a small step loop and a resumable trainer.

The step factories wrap the per-batch updates of
:mod:`genai_tf.models.updates` in one ``tf.function``: one call of a GAN step
updates the discriminator on a batch and then the generator, with no
Python-side ``predict()`` in between, the whole step one TensorFlow graph.
:func:`fit_steps` runs such a step for a number of steps;
:class:`~genai_tf.trainer.Trainer` (imported here too) runs it with checkpoints (resumable, bit-exact under ``genai_tf.set_seed``),
a NaN guard, TensorBoard summaries and a progress bar. Both record their
losses with :func:`append_history`.
"""

import math
import os
import sys

import keras
import tensorflow as tf

from genai_tf.distribute import check_created_in_scope, make_distributed_step
from genai_tf.models import updates
from genai_tf.validation import float_in, positive_int


def append_history(history, step, values):
    """Record one logging step in ``history``, in place: its step, and each value under its key.

    A history is ``{"step": [s1, s2, ...], key: [v1, v2, ...], ...}``, every
    list as long as ``history["step"]`` when every step logs the same keys.
    :func:`fit_steps` and :meth:`Trainer.fit` return one; a caller that logs
    through their ``callback`` builds its own with this function.

    Args:
        history: dict with a "step" list, updated in place.
        step: the step number, an int.
        values: dict {key: float} of the values at that step.

    Returns:
        ``history`` itself.

    Example:
    >>> history = {"step": []}
    >>> append_history(history, 5, {"loss": 0.5})
    {'step': [5], 'loss': [0.5]}
    >>> append_history(history, 10, {"loss": 0.25})
    {'step': [5, 10], 'loss': [0.5, 0.25]}
    """
    history["step"].append(step)
    for key, value in values.items():
        history.setdefault(key, []).append(value)
    return history

def _prepare_strategy(strategy, **networks):
    """Check that the networks and optimizers belong to ``strategy``; build the optimizers in its scope.

    ``networks`` maps a name to (network, its optimizer). A Keras optimizer
    creates its slots on its first step; inside ``strategy.run`` that would be
    in a replica context, where the variables cannot be mirrored, so they are
    created here.
    """
    if not isinstance(strategy, tf.distribute.Strategy):
        raise ValueError(f"strategy must be a tf.distribute.Strategy or None. Received: strategy={strategy!r}")
    for name, (network, optimizer) in networks.items():
        check_created_in_scope(strategy, {name: network, f"{name}_optimizer": optimizer})
    with strategy.scope():
        for network, optimizer in networks.values():
            if not optimizer.built:
                optimizer.build(network.trainable_variables)


def _seed_generator(seed, strategy):
    if strategy is None:
        return keras.random.SeedGenerator(seed)
    with strategy.scope():
        return keras.random.SeedGenerator(seed)


def _step_function(replica_step, strategy, seed_generator):
    """One ``tf.function``: the update itself, or the update on every replica of ``strategy``."""
    train_step = tf.function(replica_step) if strategy is None else make_distributed_step(replica_step, strategy)
    train_step.seed_generator = seed_generator
    train_step.strategy = strategy
    return train_step


def make_gan_train_step(
    generator,
    discriminator,
    generator_optimizer,
    discriminator_optimizer,
    latent_dim,
    generator_loss="non_saturating",
    seed=0,
    conditional=False,
    strategy=None,
):
    """Build a fused GAN step: one ``tf.function`` running :func:`~genai_tf.models.updates.gan_update`.

    With ``strategy`` (e.g. ``tf.distribute.MirroredStrategy()``) the step runs
    :func:`~genai_tf.models.updates.gan_update` on every replica, each on its rows of the global batch,
    and returns the losses of the global batch: the same update and the same
    losses as the single-device step on that batch (see
    :mod:`genai_tf.distribute` for the rules and the exceptions). Create the
    networks and optimizers inside ``strategy.scope()``. Feed it global
    batches as usual (it splits them across the replicas; this is what
    :func:`fit_steps` and :class:`Trainer` do), or the elements of
    ``strategy.experimental_distribute_dataset(dataset)``.

    Args:
        generator, discriminator: the two networks (discriminator outputs logits).
        generator_optimizer, discriminator_optimizer: Keras optimizers
            (two separate instances).
        latent_dim: size of the noise vector, > 0.
        generator_loss: "non_saturating" (default) or "saturating".
        seed: int seed of the noise.
        conditional: batches are (images, labels) and both networks take labels.
        strategy: None (one device) or a ``tf.distribute.Strategy`` whose
            scope the networks and optimizers were created in.

    Returns:
        ``train_step(batch) -> {"d_loss", "g_loss", "real_prob", "fake_prob"}``,
        a ``tf.function``, with its ``seed_generator`` attribute (checkpoint it
        to resume the noise sequence) and its ``strategy``.
    """
    loss_fn = updates.get_generator_loss(generator_loss)
    positive_int(latent_dim, "latent_dim")
    if generator_optimizer is discriminator_optimizer:
        raise ValueError("generator_optimizer and discriminator_optimizer must be separate instances.")
    if strategy is not None:
        _prepare_strategy(
            strategy,
            generator=(generator, generator_optimizer),
            discriminator=(discriminator, discriminator_optimizer),
        )
    seed_generator = _seed_generator(seed, strategy)

    def replica_step(batch):
        real, labels = updates.split_batch(batch, conditional)
        return updates.gan_update(
            generator, discriminator, generator_optimizer, discriminator_optimizer, real,
            latent_dim, seed_generator, loss_fn, labels,
        )

    return _step_function(replica_step, strategy, seed_generator)


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
    strategy=None,
):
    """Build a fused WGAN-GP step: one ``tf.function`` running :func:`~genai_tf.models.updates.wgan_gp_update`.

    ``strategy`` distributes it as in :func:`make_gan_train_step`.

    Args:
        generator: maps noise (batch, latent_dim) [and labels] to samples.
        critic: maps samples [and labels] to scores (batch, 1), no sigmoid.
        generator_optimizer, critic_optimizer: Keras optimizers (two separate instances).
        latent_dim: size of the noise vector, > 0.
        n_critic: critic updates per generator update, >= 1 (5 in the paper).
        gp_weight: lambda, the weight of the gradient penalty, >= 0 (10 in the paper).
        seed: int seed of the noise and of epsilon.
        conditional: batches are (images, labels) and both networks take labels.
        strategy: None (one device) or a ``tf.distribute.Strategy`` whose
            scope the networks and optimizers were created in.

    Returns:
        ``train_step(batch) -> {"d_loss", "g_loss", "gradient_penalty", "wasserstein"}``
        with ``seed_generator`` and ``strategy`` attributes.
    """
    positive_int(latent_dim, "latent_dim")
    positive_int(n_critic, "n_critic")
    float_in(gp_weight, 0.0, math.inf, "gp_weight", include_low=True, include_high=False)
    if generator_optimizer is critic_optimizer:
        raise ValueError("generator_optimizer and critic_optimizer must be separate instances.")
    if strategy is not None:
        _prepare_strategy(strategy, generator=(generator, generator_optimizer), critic=(critic, critic_optimizer))
    seed_generator = _seed_generator(seed, strategy)

    def replica_step(batch):
        real, labels = updates.split_batch(batch, conditional)
        return updates.wgan_gp_update(
            generator, critic, generator_optimizer, critic_optimizer, real, latent_dim,
            seed_generator, n_critic, gp_weight, labels,
        )

    return _step_function(replica_step, strategy, seed_generator)


def fit_steps(train_step, dataset, steps, log_every=100, callback=None):
    """Run ``train_step`` on batches of ``dataset`` for ``steps`` steps.

    Every ``log_every`` steps (and at the last step) the returned losses are
    read back, checked to be finite, recorded, and passed to
    ``callback(step, logs)``.

    Args:
        train_step: callable taking one batch, returning a dict of scalar tensors.
        dataset: a ``tf.data.Dataset``; it is repeated as needed.
        steps: number of steps, > 0.
        log_every: how often to read back and record the losses, > 0.
        callback: optional ``callback(step, logs)``, e.g. to take snapshots.

    Returns:
        History dict: ``{"step": [...], key: [...]}`` for every key of the logs.

    Raises:
        FloatingPointError: a loss is NaN or infinite; the message names the step.
    """
    steps = positive_int(steps, "steps")
    log_every = positive_int(log_every, "log_every")
    history = {"step": []}
    for step, batch in enumerate(dataset.repeat().take(steps), start=1):
        logs = train_step(batch)
        if step % log_every and step != steps:
            continue
        values = {key: float(value) for key, value in logs.items()}
        bad = {key: v for key, v in values.items() if not math.isfinite(v)}
        if bad:
            raise FloatingPointError(f"Non-finite loss at step {step}: {bad}")
        append_history(history, step, values)
        if callback is not None:
            callback(step, values)
    return history


# ---------------------------------------------------------------------------
# A resumable training loop for the standalone steps.
# ---------------------------------------------------------------------------

CI_ENV = "CI"
def default_verbose(environ=None):
    """Whether a :class:`Trainer` with ``verbose=None`` shows a progress bar.

    The rule: quiet when ``GENAI_TF_MODE`` is ``quick`` (the test command and
    nbval) or when the variable ``CI`` is set to anything but ""; otherwise
    show progress only when standard output is a terminal or the code runs in
    a Jupyter kernel (so a script piped into a log file stays quiet too).

    Args:
        environ: mapping to read instead of ``os.environ`` (for tests).

    Returns:
        bool.

    Example:
    >>> default_verbose({"GENAI_TF_MODE": "quick"}), default_verbose({"CI": "true"})
    (False, False)
    """
    from genai_tf.config import get_mode

    environ = os.environ if environ is None else environ
    if get_mode(environ) == "quick" or environ.get(CI_ENV):
        return False
    is_terminal = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
    return is_terminal or "ipykernel" in sys.modules


def __getattr__(name):
    """``genai_tf.training.Trainer`` is :class:`genai_tf.trainer.Trainer` (imported on first use: no import cycle)."""
    if name == "Trainer":
        from genai_tf.trainer import Trainer

        return Trainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
