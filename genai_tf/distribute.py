"""Data-parallel training under a ``tf.distribute`` strategy: the global-batch rules in one place.

Under ``tf.distribute.MirroredStrategy`` (several GPUs, or logical CPUs, on one
machine) or ``tf.distribute.MultiWorkerMirroredStrategy`` (several machines)
every replica runs the same update on its own rows of the global batch, and
the Keras 3 optimizer *sums* the replicas' gradients before it applies them
(an all-reduce inside ``apply_gradients``). The update functions of
:mod:`genai_tf.training` and the ``VAE`` follow three rules, all implemented
by :class:`GlobalBatch`, so that one distributed step makes the update that
one device makes on the whole global batch:

1. Loss scaling. Each loss is a mean over the replica's rows. Before the
   gradient it is multiplied by (replica rows / global rows), so the summed
   gradient is the gradient of the mean over the global batch. Keras's own
   ``train_step`` multiplies by 1 / num_replicas
   (``keras.src.losses.loss.scale_loss_for_distribution``); weighting by rows
   is the same for equal shares and stays exact when a last, short batch
   splits unevenly.
2. Logged values. The same weighted per-replica means are summed across the
   replicas (one all-reduce of a few scalars), so every replica holds the
   mean over the global batch: the loss trackers of ``fit()`` and the losses
   returned by a distributed standalone step equal the single-device values.
3. Random draws. Latent noise and the VAE's reparameterisation noise are
   drawn for the whole global batch from the shared seed, and each replica
   keeps its own rows: row i of the global batch gets the noise it gets on one
   device, so a distributed step is the single-device step on the same global
   batch, up to the order of floating-point sums. Draws made inside functions
   that take only a seed (the interpolation weights of the gradient penalty,
   DiffAugment) use :func:`replica_seed`, which folds the replica id into the
   seed: independent across replicas, but not the single device's numbers.

With one replica (no strategy) every helper is the identity, so
single-device graphs and numbers are unchanged.

What the rules do not cover: ``BatchNormalization`` normalises over each
replica's rows (``synchronized=True`` would all-reduce its statistics), and a
layer's own ``SeedGenerator`` (``Dropout``) draws the same mask on every
replica (keras-team/keras#20611). The models that use them (the MLP GAN's and
DCGAN's generators, the dropout discriminators) train correctly under a
strategy but not bit for bit as on one device.
"""

import keras
import tensorflow as tf


def _replica_context():
    """The replica context, or None in a cross-replica context (treated as one replica)."""
    return tf.distribute.get_replica_context()


def num_replicas():
    """Replicas computing in sync in the current context: 1 with no strategy or outside ``strategy.run``.

    Example:
    >>> num_replicas()
    1
    """
    context = _replica_context()
    return 1 if context is None else context.num_replicas_in_sync


class _ReplicaSeedGenerator(keras.random.SeedGenerator):
    """A view of a shared ``SeedGenerator`` that folds the replica id into every seed it hands out.

    It advances the shared state exactly as the shared generator does (all
    replicas draw in step, so the mirrored state stays the same everywhere),
    and owns no state of its own.
    """

    def __init__(self, seed_generator, replica_id):
        # No super().__init__(): the view must not create a state variable of its own.
        self.seed_generator = seed_generator
        self.replica_id = replica_id
        self.name = seed_generator.name
        self.backend = seed_generator.backend

    @property
    def state(self):
        return self.seed_generator.state

    def next(self, ordered=True):
        seed = self.seed_generator.next(ordered=ordered)
        return tf.random.experimental.stateless_fold_in(seed, tf.cast(self.replica_id, seed.dtype))


def replica_seed(seed_generator):
    """A seed for per-replica random draws: ``seed_generator`` itself with one replica.

    Under a strategy the generator's state is a mirrored variable, the same on
    every replica, so every replica would draw the same numbers. The returned
    object is a ``keras.random.SeedGenerator`` whose seeds have the replica id
    folded in (``tf.random.experimental.stateless_fold_in``): each replica
    draws its own values, and the shared state advances as before.

    Args:
        seed_generator: a ``keras.random.SeedGenerator``.

    Returns:
        A ``keras.random.SeedGenerator`` to pass as ``seed=``.
    """
    context = _replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return seed_generator
    return _ReplicaSeedGenerator(seed_generator, context.replica_id_in_sync_group)


class GlobalBatch:
    """This replica's share of the global batch: loss scaling, logged means and noise rows.

    Build one at the start of an update, from the replica's batch; see the
    module docstring for the three rules. With one replica (no strategy, or a
    cross-replica context) every method is the identity and no collective
    operation is added to the graph.

    Formula:
        scale(loss) = loss * n_r / N          (n_r rows on replica r, N = sum of n_r)
        mean(v)     = sum over replicas of v_r * n_r / N
        rows(draw)  = draw(N)[o_r : o_r + n_r],  o_r = n_0 + ... + n_(r-1)

    Args:
        batch: the replica's batch: a tensor, or a tuple such as (images, labels)
            whose first element has the batch dimension first.

    Attributes:
        num_replicas: Python int.
        local_size, global_size, offset: int32 scalars n_r, N and o_r.

    Example:
    >>> batch = GlobalBatch(tf.zeros((4, 2)))
    >>> batch.num_replicas, int(batch.global_size), float(batch.scale(tf.constant(3.0)))
    (1, 4, 3.0)
    """

    def __init__(self, batch):
        self.local_size = tf.shape(tf.nest.flatten(batch)[0])[0]
        self._context = _replica_context()
        self.num_replicas = 1 if self._context is None else self._context.num_replicas_in_sync
        if self.num_replicas == 1:
            self.global_size = self.local_size
            self.offset = tf.constant(0, tf.int32)
        else:
            sizes = self._context.all_gather(tf.reshape(self.local_size, [1]), axis=0)
            self.global_size = tf.reduce_sum(sizes)
            self.offset = tf.reduce_sum(sizes[: self._context.replica_id_in_sync_group])

    def _share(self, value):
        value = tf.convert_to_tensor(value)
        return value * (tf.cast(self.local_size, value.dtype) / tf.cast(self.global_size, value.dtype))

    def scale(self, loss):
        """The replica's share of a mean over the global batch: ``loss * n_r / N``.

        Apply it inside the gradient tape to the loss whose gradient the
        optimizer sums across replicas.
        """
        return loss if self.num_replicas == 1 else self._share(loss)

    def mean(self, values):
        """Means over the global batch from the replica's means: a dict {name: scalar} in, the same out."""
        if self.num_replicas == 1:
            return values
        shares = {key: self._share(value) for key, value in values.items()}
        return self._context.all_reduce(tf.distribute.ReduceOp.SUM, shares)

    def rows(self, draw):
        """``draw(n)`` for the whole global batch (n = N), keeping this replica's rows.

        Args:
            draw: callable taking a number of rows and returning a tensor with
                that many rows, e.g. ``lambda n: keras.random.normal((n, 8), seed=seed_generator)``.
        """
        if self.num_replicas == 1:
            return draw(self.local_size)
        return draw(self.global_size)[self.offset : self.offset + self.local_size]

    def apply(self, fn, *tensors):
        """``fn(*tensors)`` as if on the global batch: this replica's rows in place, zeros elsewhere.

        For a per-example random function such as
        :func:`genai_tf.losses.reparameterize`: row i of the result is what
        ``fn`` gives row i of the global batch on one device. ``fn`` runs on N
        rows instead of n_r, so use it only where it is cheap.
        """
        if self.num_replicas == 1:
            return fn(*tensors)
        after = self.global_size - self.offset - self.local_size
        padded = [
            tf.pad(tensor, [[self.offset, after]] + [[0, 0]] * (tensor.shape.rank - 1)) for tensor in tensors
        ]
        return fn(*padded)[self.offset : self.offset + self.local_size]

    def normal(self, shape, seed):
        """Standard normal noise of shape (n_r, *shape): this replica's rows of the global batch's draw."""
        return self.rows(lambda n: keras.random.normal((n, *shape), seed=seed))


def split_global_batch(batch):
    """This replica's rows of a global batch given to every replica, split as ``tf.data`` would.

    ``strategy.experimental_distribute_dataset`` gives replica r its own rows
    of each global batch; a plain tensor passed to ``strategy.run`` reaches
    every replica whole. This takes replica r's rows of it: the first
    N mod R replicas get one row more, in replica order.

    Args:
        batch: a tensor or a nested structure of tensors with the same first dimension.

    Returns:
        The same structure, sliced; unchanged with one replica.
    """
    context = _replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return batch
    replica_id = tf.cast(context.replica_id_in_sync_group, tf.int32)
    size = tf.shape(tf.nest.flatten(batch)[0])[0]
    start, stop = replica_rows(size, context.num_replicas_in_sync, replica_id)
    return tf.nest.map_structure(lambda tensor: tensor[start:stop], batch)


def replica_rows(size, replicas, replica_id):
    """The rows [start, stop) of a global batch of ``size`` rows that replica ``replica_id`` of ``replicas`` takes.

    The first ``size mod replicas`` replicas take one row more, in replica
    order, as ``tf.data`` splits a batch across replicas.

    Args:
        size: rows in the global batch (an int or an int32 scalar tensor).
        replicas: number of replicas in sync, > 0.
        replica_id: this replica's index in [0, replicas) (int or int32 tensor).

    Returns:
        (start, stop), int32 scalar tensors.

    Example:
    >>> [tuple(int(row) for row in replica_rows(10, 3, r)) for r in range(3)]
    [(0, 4), (4, 7), (7, 10)]
    """
    size, replica_id = tf.cast(size, tf.int32), tf.cast(replica_id, tf.int32)
    base, extra = size // replicas, size % replicas
    start = replica_id * base + tf.minimum(replica_id, extra)
    stop = start + base + tf.cast(replica_id < extra, tf.int32)
    return start, stop


def check_created_in_scope(strategy, objects):
    """Raise ValueError unless the variables of each object were created inside ``strategy.scope()``.

    Args:
        strategy: a ``tf.distribute.Strategy``.
        objects: dict {name: Keras model, layer or optimizer}.
    """
    for name, obj in objects.items():
        variables = list(getattr(obj, "variables", []))
        if variables and not strategy.extended.variable_created_in_scope(getattr(variables[0], "value", variables[0])):
            raise ValueError(
                f"{name} was created outside strategy.scope(), so its variables are not mirrored. "
                "Create the networks and their optimizers inside `with strategy.scope():`. "
                f"Received: {name}={type(obj).__name__} with variable {variables[0].path!r}"
            )


def make_distributed_step(replica_step, strategy):
    """Wrap a per-replica update in one ``tf.function`` running it on every replica of ``strategy``.

    ``replica_step(batch)`` must return a dict of values that are already the
    same on every replica (means over the global batch, :meth:`GlobalBatch.mean`);
    the step returns the first replica's copy.

    Args:
        replica_step: callable taking the replica's batch, returning {name: scalar tensor}.
        strategy: a ``tf.distribute.Strategy``.

    Returns:
        ``train_step(batch)``. ``batch`` is either a global batch (a tensor or
        a tuple of tensors, e.g. from the plain ``tf.data`` iterator of
        :class:`genai_tf.training.Trainer`), which is split across the
        replicas inside the step, or an element of
        ``strategy.experimental_distribute_dataset(dataset)``, which is split
        already.
    """

    @tf.function
    def train_step(batch):
        if any(isinstance(part, tf.distribute.DistributedValues) for part in tf.nest.flatten(batch)):
            logs = strategy.run(replica_step, args=(batch,))
        else:
            logs = strategy.run(lambda whole: replica_step(split_global_batch(whole)), args=(batch,))
        return {key: strategy.experimental_local_results(value)[0] for key, value in logs.items()}

    return train_step
