"""The shared machinery of the image models: one base with one ``sample``, and the adversarial models' base.

:class:`ImageGenerativeModel` is the base of every image model (the GANs and
the VAE): its latent size, image shape, seeded training noise, loss trackers,
input check and ``sample(n, seed=0)``, which gives images in
``SAMPLE_RANGE = (0.0, 1.0)`` whatever the family.

:class:`AdversarialModel` adds the two networks and optimizers of a GAN. A
subclass builds its networks in ``build_networks`` and runs one update from
:mod:`genai_tf.models.updates` in ``train_step``, so ``fit()`` and the
standalone ``tf.function`` steps of :mod:`genai_tf.training` execute the same
code.
"""

import keras
import numpy as np
import tensorflow as tf

from genai_tf.validation import image_batch, positive_int, value_errors_from_graph_checks


class SeedStateMixin:
    """Save and load the state of ``self.seed_generator`` with the model's weights.

    Keras does not save a ``SeedGenerator``'s state in a ``.keras`` file; keeping
    it lets a reloaded model resume the training-noise sequence where it stopped.
    """

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["seed_generator_state"] = np.asarray(self.seed_generator.state)

    def load_own_variables(self, store):
        state = store["seed_generator_state"] if "seed_generator_state" in store else None
        own = {key: store[key] for key in store.keys() if key != "seed_generator_state"}
        super().load_own_variables(own)
        if state is not None:
            self.seed_generator.state.assign(np.asarray(state))


class OptimizerStateMixin:
    """Save a model's one optimizer with it, and rebuild its slots on loading so their state loads.

    For models whose ``compile`` is overridden (Keras then skips its own
    compile-on-load) and that train with a single ``self.optimizer``.
    """

    def get_compile_config(self):
        if not getattr(self, "compiled", False):
            return None
        return {"optimizer": keras.optimizers.serialize(self.optimizer)}

    def compile_from_config(self, config):
        self.compile(optimizer=keras.optimizers.deserialize(config["optimizer"]))
        self.optimizer.build(self.trainable_variables)


class CheckedFitMixin:
    """``fit`` and ``evaluate`` with the inputs checked: up front for arrays, in each step for a dataset.

    A model implements ``checked_input(x)`` (``x`` as it is or as an array,
    ``ValueError`` when an array is wrong) and checks each batch in its
    ``train_step``/``test_step``; a failed in-step check comes back as the
    same ``ValueError`` (:func:`genai_tf.validation.value_errors_from_graph_checks`).
    A dataset is not read ahead (peeking at a shuffled dataset would change
    its order); under XLA (``jit_compile=True``) the in-step check is skipped.
    """

    def fit(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.fit`` with the inputs checked (up front for arrays, in each step for a dataset)."""
        x = self.checked_input(x)
        with value_errors_from_graph_checks():
            return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.evaluate``, with the inputs checked as in :meth:`fit`."""
        x = self.checked_input(x)
        with value_errors_from_graph_checks():
            return super().evaluate(x, y, *args, **kwargs)


class ImageGenerativeModel(SeedStateMixin, keras.Model):
    """Base class of the image models (GANs and the VAE; not used directly): one ``sample`` for all.

    ``sample(n, seed=0)`` returns ``n`` images as a NumPy array of shape
    (n, *image_shape) with values in :attr:`SAMPLE_RANGE`, the same seed
    giving the same images: a GAN's generated images mapped from [-1, 1],
    a VAE's Bernoulli pixel means (a Gaussian decoder's means follow the
    range of the data it was trained on instead).

    A subclass sets ``loss_keys`` (the names its ``train_step`` logs),
    creates ``self.trackers = self.make_trackers()`` once its networks
    exist, and implements ``sample``.

    Args:
        latent_dim: size of the latent vector z, > 0.
        image_shape: shape of one image, (height, width, channels).
        seed: int seed of the training noise (``self.seed_generator``).
        **kwargs: passed to ``keras.Model`` (e.g. ``name``).
    """

    SAMPLE_RANGE = (0.0, 1.0)
    loss_keys = ()

    def __init__(self, latent_dim, image_shape, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = positive_int(latent_dim, "latent_dim")
        self.image_shape = tuple(int(d) for d in image_shape)
        if len(self.image_shape) != 3 or min(self.image_shape) < 1:
            raise ValueError(
                f"image_shape must be (height, width, channels). Received: image_shape={image_shape!r}"
            )
        self.seed = int(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def make_trackers(self):
        """One ``keras.metrics.Mean`` per name in ``loss_keys``, as a dict."""
        return {key: keras.metrics.Mean(name=key) for key in self.loss_keys}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def record(self, logs):
        """Add one step's values to the trackers; return their running means, as ``train_step`` does."""
        for key, tracker in self.trackers.items():
            tracker.update_state(logs[key])
        return {key: tracker.result() for key, tracker in self.trackers.items()}

    def check_images(self, images):
        """Raise ValueError unless ``images`` has shape (batch, *image_shape)."""
        image_batch(images, self.image_shape, "images", owner=type(self).__name__)

    def sample(self, n, seed=0):
        """Draw ``n`` images, a NumPy array (n, *image_shape) with values in ``SAMPLE_RANGE``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement sample(n, seed).")


class AdversarialModel(ImageGenerativeModel):
    """Base class of GAN, DCGAN, ConditionalGAN and WGANGP (not used directly).

    The generator's images are in [-1, 1] (a tanh output): :meth:`generate`
    returns them so, and :meth:`sample` maps them to [0, 1], the
    ``SAMPLE_RANGE`` of every image model.

    Args:
        latent_dim: size of the noise vector z, > 0.
        image_shape: shape of one image, (height, width, channels).
        num_classes: number of labels for a conditional model, else None.
        spectral_norm: wrap the discriminator's weight layers in
            ``keras.layers.SpectralNormalization`` (a Lipschitz constraint).
        seed: int seed of the training noise.
    """

    loss_keys = ("d_loss", "g_loss")

    def __init__(
        self, latent_dim=100, image_shape=(28, 28, 1), num_classes=None, spectral_norm=False, seed=0, **kwargs
    ):
        super().__init__(latent_dim, image_shape, seed=seed, **kwargs)
        self.num_classes = None if num_classes is None else positive_int(num_classes, "num_classes")
        self.spectral_norm = bool(spectral_norm)
        self.generator, self.discriminator = self.build_networks()
        self.trackers = self.make_trackers()
        self.built = True

    @property
    def conditional(self):
        return self.num_classes is not None

    def build_networks(self):
        raise TypeError(f"{type(self).__name__} is a base class: use GAN, DCGAN, ConditionalGAN or WGANGP.")

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Set the two optimizers (default: Adam, learning rate 2e-4, beta_1 = 0.5, as in DCGAN).

        The optimizers are built here, in the scope of the model's
        ``tf.distribute`` strategy when it was created under one: Keras builds
        only ``self.optimizer`` before a distributed ``fit()``, and an
        optimizer cannot create its slots inside the replicated step.
        """
        with self.distribute_strategy.scope():
            super().compile(**kwargs)
            self.d_optimizer = d_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
            self.g_optimizer = g_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
            if self.d_optimizer is self.g_optimizer:
                raise ValueError("d_optimizer and g_optimizer must be separate instances.")
            for optimizer, network in ((self.d_optimizer, self.discriminator), (self.g_optimizer, self.generator)):
                if not optimizer.built:
                    optimizer.build(network.trainable_variables)

    def get_compile_config(self):
        if not getattr(self, "compiled", False):
            return None
        return {
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
        }

    def compile_from_config(self, config):
        self.compile(
            d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
            g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]),
        )
        # compile() built the optimizers' slots, so the saved optimizer state loads into them.

    def get_config(self):
        return {
            "latent_dim": self.latent_dim,
            "image_shape": list(self.image_shape),
            "num_classes": self.num_classes,
            "spectral_norm": self.spectral_norm,
            "seed": self.seed,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def check_labels(self, labels, size=None):
        """Raise ValueError unless ``labels`` are ints in [0, num_classes) (NumPy check)."""
        labels = np.asarray(labels)
        if labels.ndim != 1 or (size is not None and len(labels) != size):
            raise ValueError(f"labels must have shape ({size or 'batch_size'},). Received: labels.shape={labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes or not np.all(labels == np.round(labels))):
            raise ValueError(
                f"labels must be integers in [0, {self.num_classes}). "
                f"Received: labels in [{labels.min()}, {labels.max()}]"
            )
        return labels.astype("int32")

    def unpack(self, data):
        """Split a fit() batch into (images, labels or None), validating shapes and labels."""
        if isinstance(data, (tuple, list)):
            images = data[0]
            labels = data[1] if len(data) > 1 else None
        else:
            images, labels = data, None
        self.check_images(images)
        if self.conditional:
            if labels is None:
                raise ValueError(f"{type(self).__name__} needs labels: call fit(images, labels).")
            labels = tf.cast(tf.reshape(labels, [-1]), "int32")
            tf.debugging.assert_non_negative(labels, message="labels must be >= 0")
            tf.debugging.assert_less(labels, self.num_classes, message=f"labels must be < num_classes={self.num_classes}")
        else:
            labels = None
        return images, labels

    def fit(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.fit`` with the input checked first when it is given as arrays."""
        if isinstance(x, np.ndarray):
            self.check_images(x)
            if self.conditional:
                if y is None:
                    raise ValueError(f"{type(self).__name__} needs labels: call fit(images, labels).")
                self.check_labels(y, size=len(x))
        return super().fit(x, y, *args, **kwargs)

    def call(self, inputs, training=False):
        """Generate images from noise (and labels): ``model(noise)`` or ``model([noise, labels])``."""
        return self.generator(inputs, training=training)

    def generate(self, n, labels=None, seed=0, batch_size=500):
        """Draw ``n`` images from the generator in inference mode, as a NumPy array in [-1, 1].

        Args:
            n: number of images.
            labels: for a conditional model, int labels of shape (n,); default
                cycles through the classes 0, 1, ..., num_classes - 1.
            seed: seed of the noise (the same seed gives the same images).
            batch_size: images per forward pass.

        Returns:
            NumPy float32 array (n, *image_shape), values in [-1, 1].
        """
        n = positive_int(n, "n")
        noise = keras.random.normal((n, self.latent_dim), seed=seed)
        if self.conditional:
            labels = np.arange(n) % self.num_classes if labels is None else labels
            labels = self.check_labels(labels, size=n)
        outputs = []
        for start in range(0, n, batch_size):
            z = noise[start : start + batch_size]
            inputs = z if labels is None else [z, tf.constant(labels[start : start + batch_size])]
            outputs.append(np.asarray(self.generator(inputs, training=False)))
        return np.concatenate(outputs)

    def sample(self, n, seed=0, batch_size=500):
        """Draw ``n`` images in [0, 1]: ``(generate(n, seed=seed) + 1) / 2``.

        A conditional model cycles through the labels 0, 1, ...,
        num_classes - 1, as :meth:`generate` does without labels.

        Args:
            n: number of images, > 0.
            seed: seed of the noise (the same seed gives the same images).
            batch_size: images per forward pass.

        Returns:
            NumPy float32 array (n, *image_shape), values in ``SAMPLE_RANGE`` = [0, 1].
        """
        return (self.generate(n, seed=seed, batch_size=batch_size) + 1.0) / 2.0
