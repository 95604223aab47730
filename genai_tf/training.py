"""Fused ``tf.function`` training steps, a small step loop and a resumable trainer.

The step factories wrap the per-batch updates of
:mod:`genai_tf.models.updates` in one ``tf.function``: one call of a GAN step
updates the discriminator on a batch and then the generator, with no
Python-side ``predict()`` in between, the whole step one TensorFlow graph.
:func:`fit_steps` runs such a step for a number of steps; :class:`Trainer`
runs it with checkpoints (resumable, bit-exact under ``genai_tf.set_seed``),
a NaN guard, TensorBoard summaries and a progress bar. Both record their
losses with :func:`append_history`.
"""

import math
import os
import sys
import warnings

import keras
import numpy as np
import tensorflow as tf

from genai_tf.distribute import check_created_in_scope, make_distributed_step
from genai_tf.models import updates
from genai_tf.validation import float_in, non_negative_int, positive_int


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
_RESERVED_NAMES = ("step", "iterator")


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


class Trainer:
    """A resumable loop around a standalone train step: checkpoints, NaN guard, TensorBoard.

    Checkpoints go to ``checkpoint_dir`` every ``checkpoint_every`` steps and
    at the end of :meth:`fit`. Each one holds the objects in ``trackables``,
    the trainer's own step counter and the position of the data iterator, so
    a run killed at any moment continues from its last checkpoint and, with
    ``genai_tf.set_seed`` (op determinism) and the same code and data, ends
    with exactly the weights of an uninterrupted run. The latest checkpoint,
    if there is one, is restored when the trainer is built.

    What makes the resume exact:
        - Keras optimizers, tf.Variables and other TensorFlow trackables are
          checkpointed as they are. An optimizer that has not taken a step
          yet gets its slots restored when it builds them, at the first step.
        - For every Keras layer or model the full ``layer.variables`` list is
          checkpointed too: it includes the state of the layer's
          ``SeedGenerator`` objects (dropout masks, a model's training noise),
          which TensorFlow's object tracking does not save.
        - A ``keras.random.SeedGenerator`` in ``trackables`` is saved through
          its ``state`` variable, and the step's own ``seed_generator``
          attribute (set by :func:`make_gan_train_step` and
          :func:`make_wgan_gp_train_step`) is added under the name
          ``"seed_generator"`` when it is not listed already.
        - The data iterator is checkpointed, including its shuffle buffer
          (``tf.train.Checkpoint(iterator=...)``): give a dataset shuffled
          with a fixed seed that repeats before it batches, i.e.
          ``make_dataset(..., repeat=True)``. A finite dataset is repeated by
          the trainer, after its prefetch buffer; TensorFlow (2.21) then does
          not always restore the shuffle order of later epochs, so
          :meth:`fit` warns. The saved shuffle buffer makes checkpoints
          larger (about the size of the data set when the buffer holds all
          of it).

    Distributed steps: a step made with ``strategy=`` works as it is. The
    trainer's plain iterator yields global batches, which the step splits
    across the replicas, so the iterator position is checkpointed as on one
    device; mirrored variables are saved once, and the checkpoint restores
    into networks on one device.

    NaN guard: after every step a small ``tf.function`` checks on the device
    that every value the step returned is finite and remembers the first step
    that was not, with no read-back. The trainer reads that one flag at every
    logging, sample and checkpoint step, before anything is written, and
    raises ``FloatingPointError`` naming the first bad step. A checkpoint is
    therefore never written after a bad step: the last one on disk is from
    before it. The objects in memory hold the bad state; call
    :meth:`restore` (or build a new trainer) to roll back.

    Progress: ``verbose=None`` applies :func:`default_verbose` (quiet in quick
    mode, under CI, and when stdout is neither a terminal nor a notebook).
    Losses are read back only every ``log_every`` steps, since each read
    waits for the device.

    Args:
        train_step: callable taking one batch and returning a dict of scalar
            tensors, e.g. from :func:`make_gan_train_step`.
        checkpoint_dir: folder of the checkpoints (created if needed), e.g.
            ``genai_tf.config.outputs_dir("checkpoints", "gan")``.
        trackables: dict {name: object} of the state to checkpoint: Keras
            models and optimizers, ``tf.Variable``s, ``SeedGenerator``s. Names
            are Python identifiers; "step" and "iterator" are reserved. Keras
            models must be built (created with a ``keras.Input``, or called
            once).
        checkpoint_every: steps between checkpoints, > 0.
        max_to_keep: number of checkpoints kept on disk, > 0 (None keeps all).
        log_every: steps between read-backs of the losses (history, progress
            bar, TensorBoard scalars), > 0.
        log_dir: TensorBoard folder; None writes no summaries.
        sample_fn: optional callable with no arguments returning images
            (N, H, W, 1) in [-1, 1], written to TensorBoard as one grid under
            the tag "samples". Needs ``log_dir``. Give it fixed noise and no
            training randomness (e.g. ``lambda: generator(noise, training=False)``).
        sample_every: steps between sample grids, > 0; None means
            ``checkpoint_every``.
        verbose: show a progress bar; None decides by :func:`default_verbose`.

    Attributes:
        step: ``tf.Variable`` (int64), the number of steps trained so far.
        checkpoint: the ``tf.train.Checkpoint``.
        manager: the ``tf.train.CheckpointManager``.
        restored_step: the step of the checkpoint restored by the last
            :meth:`restore`, or None when there was none.

    Example:
    >>> import tempfile
    >>> from genai_tf.datasets import make_dataset, ring_of_gaussians
    >>> from genai_tf.models.gan import build_mlp_discriminator, build_mlp_generator
    >>> generator = build_mlp_generator(2, (2,), (8,))
    >>> discriminator = build_mlp_discriminator((2,), (8,))
    >>> g_optimizer, d_optimizer = keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)
    >>> step_fn = make_gan_train_step(generator, discriminator, g_optimizer, d_optimizer, latent_dim=2)
    >>> trainer = Trainer(
    ...     step_fn, tempfile.mkdtemp(),
    ...     {"generator": generator, "discriminator": discriminator,
    ...      "g_optimizer": g_optimizer, "d_optimizer": d_optimizer},
    ...     checkpoint_every=2, verbose=False,
    ... )
    >>> dataset = make_dataset(ring_of_gaussians(64)[0], batch_size=16, repeat=True)
    >>> history = trainer.fit(dataset, steps=3)
    >>> history["step"], int(trainer.step), int(g_optimizer.iterations)
    ([3], 3, 3)
    """

    def __init__(
        self,
        train_step,
        checkpoint_dir,
        trackables,
        checkpoint_every=500,
        max_to_keep=2,
        log_every=100,
        log_dir=None,
        sample_fn=None,
        sample_every=None,
        verbose=None,
    ):
        if not callable(train_step):
            raise ValueError(f"train_step must be callable. Received: train_step={train_step!r}")
        if checkpoint_dir is None or str(checkpoint_dir) == "":
            raise ValueError(f"checkpoint_dir must be a folder path. Received: checkpoint_dir={checkpoint_dir!r}")
        self.checkpoint_every = positive_int(checkpoint_every, "checkpoint_every")
        self.max_to_keep = positive_int(max_to_keep, "max_to_keep", allow_none=True)
        self.log_every = positive_int(log_every, "log_every")
        sample_every = positive_int(sample_every, "sample_every", allow_none=True)
        if sample_fn is not None and not callable(sample_fn):
            raise ValueError(f"sample_fn must be callable or None. Received: sample_fn={sample_fn!r}")
        if sample_fn is not None and log_dir is None:
            raise ValueError("sample_fn writes to TensorBoard and needs a log_dir. Received: log_dir=None")
        self.train_step = train_step
        self.sample_fn = sample_fn
        self.sample_every = sample_every or self.checkpoint_every
        self.verbose = default_verbose() if verbose is None else bool(verbose)

        objects, layer_variables = self._checkpoint_objects(trackables, getattr(train_step, "seed_generator", None))
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="trainer_step")
        self._first_bad_step = tf.Variable(-1, dtype=tf.int64, trainable=False, name="first_bad_step")
        self.checkpoint = tf.train.Checkpoint(step=self.step, objects=objects, layer_variables=layer_variables)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(checkpoint_dir), max_to_keep=self.max_to_keep)
        self._dataset = None
        self._iterator = None
        self._writer = None if log_dir is None else tf.summary.create_file_writer(str(log_dir))
        self.restored_step = None
        self.restore()

    @staticmethod
    def _checkpoint_objects(trackables, step_seed_generator):
        """Map the user's dict to checkpointable objects, adding what TF tracking misses."""
        if not isinstance(trackables, dict) or not trackables:
            raise ValueError(
                "trackables must be a non-empty dict {name: model, optimizer or SeedGenerator}. "
                f"Received: trackables={trackables!r}"
            )
        trackables = dict(trackables)
        if step_seed_generator is not None and not any(obj is step_seed_generator for obj in trackables.values()):
            if "seed_generator" in trackables:
                raise ValueError(
                    "trackables['seed_generator'] is not the train step's seed_generator; pass "
                    "train_step.seed_generator under that name (or leave the name out and it is added)."
                )
            trackables["seed_generator"] = step_seed_generator
        objects, layer_variables = {}, {}
        for name, obj in trackables.items():
            if not isinstance(name, str) or not name.isidentifier() or name in _RESERVED_NAMES:
                raise ValueError(
                    f"trackables names must be Python identifiers other than {_RESERVED_NAMES}. "
                    f"Received: name={name!r}"
                )
            if isinstance(obj, keras.random.SeedGenerator):
                obj = obj.state
            elif isinstance(obj, keras.layers.Layer):
                if not obj.built:
                    raise ValueError(
                        f"trackables[{name!r}] is a Keras model that is not built, so it has no weights to "
                        "checkpoint yet. Create it with a keras.Input or call it on a batch first."
                    )
                layer_variables[name] = list(obj.variables)
            elif not isinstance(obj, tf.__internal__.tracking.Trackable):
                raise ValueError(
                    f"trackables[{name!r}] cannot be checkpointed: it must be a Keras model or optimizer, "
                    f"a tf.Variable or a keras.random.SeedGenerator. Received: {type(obj).__name__}"
                )
            objects[name] = obj
        return objects, layer_variables

    @property
    def global_step(self):
        """The number of steps trained so far, as a Python int."""
        return int(self.step.numpy())

    def restore(self):
        """Restore the latest checkpoint in ``checkpoint_dir``, if any; return its step or None.

        Every object that exists when this runs must be in the checkpoint
        (a renamed or added trackable raises an error instead of silently
        keeping fresh weights). The data iterator, when :meth:`fit` has not
        created it yet, and optimizer slots not built yet are restored when
        they are created.
        """
        path = self.manager.latest_checkpoint
        self._first_bad_step.assign(-1)
        if path is None:
            self.restored_step = None
            return None
        status = self.checkpoint.restore(path)
        status.assert_existing_objects_matched()
        # The rest (iterator, unbuilt optimizer slots) is restored when it is
        # created; expect_partial only stops TensorFlow warning about it.
        status.expect_partial()
        self.restored_step = self.global_step
        if self.verbose:
            print(f"Restored step {self.restored_step} from {path}")
        return self.restored_step

    def _attach(self, dataset):
        """Iterate over ``dataset`` repeated; the first iterator takes the checkpointed position."""
        if dataset is self._dataset:
            return self._iterator
        if not isinstance(dataset, tf.data.Dataset):
            raise ValueError(f"dataset must be a tf.data.Dataset. Received: {type(dataset).__name__}")
        self._dataset = dataset
        cardinality = int(dataset.cardinality())
        if cardinality >= 0:
            warnings.warn(
                f"The dataset is finite ({cardinality} batches), so the Trainer repeats it after its "
                "prefetch buffer. TensorFlow does not always restore the shuffle order of the later "
                "epochs from a checkpoint then, and a resumed run may differ from an uninterrupted one. "
                "For an exact resume, repeat before batching: make_dataset(..., repeat=True).",
                stacklevel=3,
            )
        if cardinality != tf.data.INFINITE_CARDINALITY:
            dataset = dataset.repeat()
        self._iterator = iter(dataset)
        # Assigning the attribute restores the iterator from the checkpoint
        # read in restore() (deferred restoration), the first time only.
        self.checkpoint.iterator = self._iterator
        return self._iterator

    @tf.function
    def _after_step(self, logs):
        """Count the step and remember, on the device, the first step with a non-finite value."""
        step = self.step.assign_add(1)
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(tf.cast(v, tf.float32))) for v in logs.values()])
        if tf.logical_and(tf.logical_not(finite), self._first_bad_step < 0):
            self._first_bad_step.assign(step)

    def _check_finite(self, step, logs):
        first_bad = int(self._first_bad_step.numpy())
        if first_bad < 0:
            return
        values = {key: float(value) for key, value in logs.items()}
        last = self.manager.latest_checkpoint
        kept = f"the last checkpoint ({last}) is from before it and is kept" if last else "no checkpoint was written"
        raise FloatingPointError(
            f"Non-finite loss at step {first_bad} (found when checking at step {step}; values there: "
            f"{values}); {kept}. Call restore() to roll back."
        )

    def _write_samples(self, step):
        from genai_tf.plotting import image_grid

        grid = image_grid(np.asarray(self.sample_fn()), pixel_range=(-1.0, 1.0))
        with self._writer.as_default(step=step):
            tf.summary.image("samples", grid[None, :, :, None])

    def fit(self, dataset, steps, callback=None):
        """Train until the step counter reaches ``steps``; resumable and extendable.

        Calling it again after a crash (in a new process, with a new trainer
        on the same ``checkpoint_dir``) continues from the last checkpoint;
        calling it with a larger ``steps`` extends the run; with ``steps`` at
        or below the step counter it does nothing.

        Args:
            dataset: a ``tf.data.Dataset`` of batches, shuffled with a fixed
                seed, best repeating forever before batching
                (``make_dataset(..., repeat=True)``); a finite one is repeated,
                with a warning (see the class docstring). A trainer keeps
                iterating over the dataset it was first given; a different
                dataset object starts at its beginning.
            steps: the total number of steps to reach, >= 0 (not the number to add).
            callback: optional ``callback(step, logs)`` at every logging step,
                with the losses as Python floats.

        Returns:
            History of this call: ``{"step": [...], key: [...]}``, the losses
            at every ``log_every``-th step and at the last step.

        Raises:
            FloatingPointError: a loss was NaN or infinite; names the first such step.
        """
        steps = non_negative_int(steps, "steps")
        history = {"step": []}
        start = self.global_step
        if steps <= start:
            return history
        iterator = self._attach(dataset)
        progbar = None
        for step in range(start + 1, steps + 1):
            logs = self.train_step(next(iterator))
            self._after_step({key: tf.convert_to_tensor(value) for key, value in logs.items()})
            last = step == steps
            log_now = step % self.log_every == 0 or last
            sample_now = self.sample_fn is not None and (step % self.sample_every == 0 or last)
            save_now = step % self.checkpoint_every == 0 or last
            if not (log_now or sample_now or save_now):
                continue
            self._check_finite(step, logs)
            if log_now:
                values = {key: float(value) for key, value in logs.items()}
                append_history(history, step, values)
                if self._writer is not None:
                    with self._writer.as_default(step=step):
                        for key, value in values.items():
                            tf.summary.scalar(key, value)
                if self.verbose:
                    if progbar is None:
                        progbar = keras.utils.Progbar(steps - start, stateful_metrics=list(values), unit_name="step")
                    progbar.update(step - start, list(values.items()))
                if callback is not None:
                    callback(step, values)
            if sample_now:
                self._write_samples(step)
            if save_now:
                self.manager.save(checkpoint_number=step)
                if self._writer is not None:
                    self._writer.flush()
        return history
