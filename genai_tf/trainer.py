"""A resumable loop around a standalone train step: checkpoints that fall back, a NaN guard, TensorBoard.

:class:`Trainer` runs a train step of :mod:`genai_tf.training` (or any
callable returning a dict of losses) with checkpoints (resumable, bit-exact
under ``genai_tf.set_seed``), a NaN guard, TensorBoard summaries and a
progress bar; :mod:`genai_tf.checkpoints` finds its newest whole checkpoint.
It is also importable as ``genai_tf.training.Trainer``.
"""

import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from genai_tf import checkpoints
from genai_tf.training import append_history, default_verbose, make_gan_train_step  # noqa: F401 -- the doctest
from genai_tf.validation import non_negative_int, positive_int

_RESERVED_NAMES = ("step", "iterator")


class Trainer:
    """A resumable loop around a standalone train step: checkpoints, NaN guard, TensorBoard.

    Checkpoints go to ``checkpoint_dir`` every ``checkpoint_every`` steps and
    at the end of :meth:`fit`. Each one holds the objects in ``trackables``,
    the trainer's own step counter and the position of the data iterator, so
    a run killed at any moment continues from its last checkpoint and, with
    ``genai_tf.set_seed`` (op determinism) and the same code and data, ends
    with exactly the weights of an uninterrupted run. The newest whole
    checkpoint, if there is one, is restored when the trainer is built.

    Damage: every tensor of a checkpoint is read before it is restored; a
    damaged one (truncated, garbled, half-written) is skipped with a
    :class:`~genai_tf.checkpoints.CheckpointWarning` naming it and why, and
    the next newest is used (see :mod:`genai_tf.checkpoints`). With
    ``repair=True`` damaged checkpoints are moved into ``damaged/`` and
    what interrupted saves left is removed: give ``repair=False`` to a
    trainer that only reads a folder another process may be writing.

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
        repair: tidy the checkpoint folder (see "Damage" above).

    Attributes:
        step: ``tf.Variable`` (int64), the number of steps trained so far.
        checkpoint: the ``tf.train.Checkpoint``.
        manager: the ``tf.train.CheckpointManager``.
        restored_step, restored_path: the step and path of the checkpoint
            restored by the last :meth:`restore`, or None when there was none.

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
        repair=True,
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

        self._objects, self._layer_variables = self._checkpoint_objects(
            trackables, getattr(train_step, "seed_generator", None)
        )
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="trainer_step")
        self._first_bad_step = tf.Variable(-1, dtype=tf.int64, trainable=False, name="first_bad_step")
        self.checkpoint = tf.train.Checkpoint(step=self.step, objects=self._objects,
                                              layer_variables=self._layer_variables)
        self.checkpoint_dir, self.repair = Path(checkpoint_dir), bool(repair)
        removed = checkpoints.remove_partial(self.checkpoint_dir) if self.repair else []
        if removed:
            warnings.warn(f"Removed what interrupted saves left in {checkpoint_dir}: {', '.join(removed)}",
                          checkpoints.CheckpointWarning, stacklevel=2)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(checkpoint_dir), max_to_keep=self.max_to_keep)
        self._dataset = self._iterator = self._writer = None
        if log_dir is not None:
            self._writer = tf.summary.create_file_writer(str(log_dir))
        self.restored_step = self.restored_path = None
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
        """Restore the newest whole checkpoint in ``checkpoint_dir``, if any; return its step or None.

        Every object that exists when this runs must be in the checkpoint
        (a renamed or added trackable raises ValueError instead of silently
        keeping fresh weights). Optimizer slots not built yet are restored
        when they are created; the data iterator takes the checkpoint's
        position, or starts the data again when the checkpoint was saved
        before any data were attached.
        """
        self._first_bad_step.assign(-1)
        path, damaged = checkpoints.newest_readable(self.checkpoint_dir, move_damaged=self.repair)
        fallback = f"using {path.name}" if path else "no older checkpoint is whole, so training starts at step 0"
        for prefix, reason in damaged:
            if prefix.name == checkpoints.STATE_FILE:
                fixed = "rewritten from the checkpoints on disk, " if self.repair else ""
                message = f"The checkpoint list {prefix} is wrong ({reason}); {fixed}{fallback}."
            else:
                moved = f"moved to {checkpoints.DAMAGED_FOLDER}/, " if self.repair else ""
                message = f"Checkpoint {prefix} cannot be restored ({reason}); {moved}{fallback}."
            warnings.warn(message, checkpoints.CheckpointWarning, stacklevel=2)
        if damaged and self.repair:  # the checkpoint file was rewritten: read it again
            self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.checkpoint_dir), self.max_to_keep)
        self.restored_path = path
        if path is None:
            self.restored_step = None
            return None
        root = tf.train.Checkpoint(step=self.step, objects=self._objects, layer_variables=self._layer_variables)
        try:
            status = root.restore(str(path))
            status.assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as error:
            raise ValueError(f"The checkpoint {path} does not fit the objects given to restore: {error}") from None
        status.expect_partial()  # the iterator is restored below or when attached
        if self._iterator is not None:
            self._restore_iterator()
        self.restored_step = self.global_step
        if self.verbose:
            print(f"Restored step {self.restored_step} from {path}")
        return self.restored_step

    def _restore_iterator(self):
        if self.restored_path is not None and checkpoints.has_entry(self.restored_path, "iterator"):
            tf.train.Checkpoint(iterator=self._iterator).restore(str(self.restored_path)).expect_partial()
        else:  # a checkpoint saved before any data were attached: the data start again
            self._iterator = iter(self._repeated)
            self.checkpoint.iterator = self._iterator

    def attach(self, dataset):
        """Iterate over ``dataset`` repeated, from the restored checkpoint's position; returns the iterator.

        :meth:`fit` attaches its dataset itself; call this first to save a
        checkpoint that holds the data position before any step (the
        command line's step-0 checkpoint).
        """
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
        self._repeated = dataset if cardinality == tf.data.INFINITE_CARDINALITY else dataset.repeat()
        self._iterator = iter(self._repeated)
        self.checkpoint.iterator = self._iterator
        self._restore_iterator()
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

    def fit(self, dataset, steps, callback=None, before_save=None):
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
            before_save: optional ``before_save(step)`` just before every
                checkpoint is written (the command line writes its history
                there: a kill then loses at most the steps since the last
                checkpoint, and a history never lacks a checkpointed step).

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
        iterator = self.attach(dataset)
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
                if before_save is not None:
                    before_save(step)
                self.manager.save(checkpoint_number=step)
                if self._writer is not None:
                    self._writer.flush()
        return history
