"""Variational autoencoder: MLP or convolutional networks, Bernoulli or Gaussian decoder.

The encoder predicts the mean and the *log*-variance of q(z|x) (a variance
head could go negative, E-001-3); z is drawn with the reparameterisation trick
and never clamped; the loss is the negative ELBO with the closed-form KL,
computed inside a gradient tape from tensors, not from ``predict`` outputs
(E-004-4).
"""

import math

import keras
import numpy as np
import tensorflow as tf

from genai_tf import losses
from genai_tf.distribute import GlobalBatch
from genai_tf.models.base import CheckedFitMixin, ImageGenerativeModel, OptimizerStateMixin
from genai_tf.validation import (
    float_in,
    graph_checked,
    image_shape_28x28,
    one_of,
    positive_int,
)

ARCHITECTURES = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian")
DEFAULT_HIDDEN_UNITS = {"mlp": (512, 256), "conv": (256,)}


def _hidden_units(architecture, hidden_units):
    one_of(architecture, ARCHITECTURES, "architecture")
    units = DEFAULT_HIDDEN_UNITS[architecture] if hidden_units is None else tuple(hidden_units)
    return tuple(positive_int(u, "hidden_units[i]") for u in units)


def build_encoder(latent_dim, image_shape=(28, 28, 1), architecture="mlp", hidden_units=None, width=32, name="encoder"):
    """x -> (z_mean, z_log_var): two Dense heads on an MLP or a two-layer stride-2 CNN.

    MLP: Flatten -> Dense(u, relu) for u in hidden_units -> heads.
    conv: Conv(w, 3, stride 2), ReLU -> Conv(2w, 3, stride 2), ReLU -> Flatten
    -> Dense(u, relu) for u in hidden_units -> heads.

    Args:
        latent_dim: size of z, > 0.
        image_shape: shape of one image; (28, 28, channels) for "conv".
        architecture: "mlp" or "conv".
        hidden_units: sizes of the Dense layers; None gives (512, 256) for
            "mlp" and (256,) for "conv".
        width: channels of the first convolution ("conv" only).
        name: model name.

    Returns:
        A functional ``keras.Model`` with outputs [z_mean, z_log_var], each
        (batch, latent_dim). The log-variance head is linear: any real value is
        a valid log sigma^2.
    """
    latent_dim = positive_int(latent_dim, "latent_dim")
    units = _hidden_units(architecture, hidden_units)
    images = keras.Input(tuple(image_shape), name="images")
    x = images
    if architecture == "conv":
        image_shape_28x28(image_shape)
        width = positive_int(width, "width")
        x = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(x)
        x = keras.layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    for u in units:
        x = keras.layers.Dense(u, activation="relu")(x)
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(x)
    return keras.Model(images, [z_mean, z_log_var], name=name)


def build_decoder(latent_dim, image_shape=(28, 28, 1), architecture="mlp", hidden_units=None, width=32, name="decoder"):
    """z -> per-pixel logits (Bernoulli) or means (Gaussian), the mirror of :func:`build_encoder`.

    MLP: Dense(u, relu) for u in reversed(hidden_units) -> Dense(prod(image_shape)) -> Reshape.
    conv: Dense(u, relu) -> Dense(7*7*2w, relu) -> ConvT(2w, 3, stride 2), ReLU
    -> ConvT(w, 3, stride 2), ReLU -> Conv(channels, 3).

    Args: as :func:`build_encoder`.

    Returns:
        A functional ``keras.Model``, output (batch, *image_shape), unbounded:
        logits, not probabilities (apply a sigmoid to get pixel means).
    """
    latent_dim = positive_int(latent_dim, "latent_dim")
    units = _hidden_units(architecture, hidden_units)
    z = keras.Input((latent_dim,), name="z")
    x = z
    for u in reversed(units):
        x = keras.layers.Dense(u, activation="relu")(x)
    if architecture == "conv":
        image_shape_28x28(image_shape)
        width = positive_int(width, "width")
        x = keras.layers.Dense(7 * 7 * 2 * width, activation="relu")(x)
        x = keras.layers.Reshape((7, 7, 2 * width))(x)
        x = keras.layers.Conv2DTranspose(2 * width, 3, strides=2, padding="same", activation="relu")(x)
        x = keras.layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu")(x)
        outputs = keras.layers.Conv2D(image_shape[-1], 3, padding="same", name="logits")(x)
    else:
        x = keras.layers.Dense(int(np.prod(image_shape)), name="logits")(x)
        outputs = keras.layers.Reshape(tuple(image_shape))(x)
    return keras.Model(z, outputs, name=name)


@keras.saving.register_keras_serializable(package="genai_tf")
class VAE(CheckedFitMixin, OptimizerStateMixin, ImageGenerativeModel):
    """Variational autoencoder trained on the negative ELBO, with beta and KL annealing.

    Formula (per example, in nats):
        ELBO(x) = E_{q(z|x)}[log p(x|z)] - KL(q(z|x) || N(0, I))   <= log p(x)
        loss    = mean over the batch of [-log p(x|z) + w_t * KL],  z = mu + sigma * eps
        w_t     = beta * min(1, t / kl_warmup_steps)   (t = optimizer steps so far)

    beta = 1 with no warm-up is the VAE of Kingma & Welling; beta > 1 is the
    beta-VAE. The reconstruction term is a one-sample estimate; the KL is in
    closed form (:func:`genai_tf.losses.gaussian_kl_divergence`).

    ``fit()`` under a ``tf.distribute`` strategy (create and compile the model
    inside ``strategy.scope()``) makes the single-device update on the same
    global batch and logs the same values: the loss is scaled to the global
    batch, the logged means are all-reduced, and each replica takes its rows
    of the global batch's noise eps (:class:`genai_tf.distribute.GlobalBatch`).

    See "Auto-Encoding Variational Bayes", Kingma & Welling, 2013
    (https://arxiv.org/abs/1312.6114); "beta-VAE", Higgins et al., ICLR 2017.

    Args:
        latent_dim: size of z, > 0.
        image_shape: shape of one image, (height, width, channels).
        architecture: "mlp" or "conv" (the latter for 28x28 images).
        likelihood: "bernoulli" (default; pixels in [0, 1], the decoder gives
            logits) or "gaussian" (the decoder gives means, with one learned
            log-variance shared by all pixels).
        hidden_units: Dense layer sizes, see :func:`build_encoder`.
        width: first convolution's channels ("conv").
        beta: final weight of the KL term, >= 0.
        kl_warmup_steps: steps of the linear KL warm-up from 0 to beta, >= 0.
        encoder, decoder: optional prebuilt networks (e.g. another paper's
            architecture) replacing the builders; the encoder must output
            [z_mean, z_log_var] and the decoder logits of the image's shape.
        seed: int seed of the training noise.

    Example:
    >>> vae = VAE(latent_dim=2, image_shape=(8, 8, 1), hidden_units=(16,))
    >>> vae.compile()
    >>> images = np.random.default_rng(0).integers(0, 2, (32, 8, 8, 1)).astype("float32")
    >>> history = vae.fit(images, batch_size=16, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['elbo', 'kl_loss', 'kl_weight', 'loss', 'reconstruction_loss']
    >>> vae.sample(3, seed=0).shape
    (3, 8, 8, 1)
    """

    loss_keys = ("loss", "reconstruction_loss", "kl_loss", "elbo", "kl_weight")

    def __init__(
        self,
        latent_dim=2,
        image_shape=(28, 28, 1),
        architecture="mlp",
        likelihood="bernoulli",
        hidden_units=None,
        width=32,
        beta=1.0,
        kl_warmup_steps=0,
        encoder=None,
        decoder=None,
        seed=0,
        **kwargs,
    ):
        super().__init__(latent_dim, image_shape, seed=seed, **kwargs)
        self.likelihood = one_of(likelihood, LIKELIHOODS, "likelihood")
        self.beta = float_in(beta, 0.0, math.inf, "beta", include_low=True, include_high=False)
        losses.kl_annealing_weight(0, beta, kl_warmup_steps)  # validates kl_warmup_steps
        self.architecture = architecture
        self.hidden_units = _hidden_units(architecture, hidden_units)
        self.width = positive_int(width, "width")
        self.kl_warmup_steps = int(kl_warmup_steps)
        self.custom_networks = encoder is not None or decoder is not None
        if (encoder is None) != (decoder is None):
            raise ValueError("Give both encoder and decoder, or neither.")
        networks = dict(
            latent_dim=latent_dim, image_shape=self.image_shape, architecture=architecture,
            hidden_units=self.hidden_units, width=self.width,
        )
        self.encoder = encoder if encoder is not None else build_encoder(**networks)
        self.decoder = decoder if decoder is not None else build_decoder(**networks)
        self._check_networks()
        if likelihood == "gaussian":
            self.decoder_log_var = self.add_weight(shape=(), initializer="zeros", name="decoder_log_var")
        self.trackers = self.make_trackers()
        self.built = True

    def _check_networks(self):
        probe = np.zeros((1, *self.image_shape), "float32")
        outputs = self.encoder(probe)
        if not isinstance(outputs, (list, tuple)) or len(outputs) != 2:
            received = (
                f"{len(outputs)} outputs" if isinstance(outputs, (list, tuple)) else f"one output of shape {tuple(outputs.shape)}"
            )
            raise ValueError(
                "The encoder must output [z_mean, z_log_var], two tensors of shape (batch, latent_dim). "
                f"Received: {received} for one image"
            )
        for name, tensor in zip(("z_mean", "z_log_var"), outputs):
            if tuple(tensor.shape) != (1, self.latent_dim):
                raise ValueError(
                    f"The encoder's {name} must have shape (batch, {self.latent_dim}). "
                    f"Received: {name}.shape={tuple(tensor.shape)} for one image"
                )
        shape = tuple(self.decoder(np.zeros((1, self.latent_dim), "float32")).shape)
        if shape != (1, *self.image_shape):
            raise ValueError(
                f"The decoder must map z of shape (batch, {self.latent_dim}) to images of shape "
                f"(batch, {', '.join(map(str, self.image_shape))}). Received: output shape {shape} for one z"
            )

    # -- configuration and saving ------------------------------------------------------------

    def get_config(self):
        config = {
            "latent_dim": self.latent_dim,
            "image_shape": list(self.image_shape),
            "architecture": self.architecture,
            "likelihood": self.likelihood,
            "hidden_units": list(self.hidden_units),
            "width": self.width,
            "beta": self.beta,
            "kl_warmup_steps": self.kl_warmup_steps,
            "seed": self.seed,
            "name": self.name,
        }
        if self.custom_networks:
            config["encoder"] = keras.saving.serialize_keras_object(self.encoder)
            config["decoder"] = keras.saving.serialize_keras_object(self.decoder)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "decoder"):
            if key in config:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    def compile(self, optimizer=None, **kwargs):
        """Set the optimizer (default: Adam, learning rate 1e-3, created in the model's strategy scope)."""
        with self.distribute_strategy.scope():
            super().compile(optimizer=optimizer or keras.optimizers.Adam(1e-3), **kwargs)

    # -- input checks ------------------------------------------------------------------------

    PIXEL_RANGE_ERROR = (
        "A Bernoulli decoder needs pixels in [0, 1]: load the data with "
        "genai_tf.datasets.load(..., pixel_range=(0, 1)) (not (-1, 1), which suits a tanh generator). "
        "Received: {}"
    )

    def check_images(self, images, check_range=True):
        """Raise ValueError unless ``images`` is (batch, *image_shape), in [0, 1] for a Bernoulli decoder.

        The range is checked for NumPy arrays and eager tensors (inside a
        traced step only the shape is checked; ``train_step`` adds an
        in-graph range check).
        """
        super().check_images(images)
        eager = not isinstance(images, tf.Tensor) or tf.executing_eagerly()
        if check_range and self.likelihood == "bernoulli" and eager:
            values = np.asarray(images)
            if values.size and (not np.all(np.isfinite(values)) or values.min() < 0.0 or values.max() > 1.0):
                raise ValueError(
                    self.PIXEL_RANGE_ERROR.format(f"pixels in [{values.min():.3g}, {values.max():.3g}]")
                )

    def _images(self, data):
        """The images of a fit()/evaluate() batch, cast, with their range checked in the graph (Bernoulli).

        The check costs two reductions over the batch per step; a failure
        stops the step before any update, and :meth:`fit` and
        :meth:`evaluate` report it as a ValueError.
        """
        images = data[0] if isinstance(data, (tuple, list)) else data
        self.check_images(images, check_range=False)
        images = tf.cast(images, self.compute_dtype)
        if self.likelihood != "bernoulli":
            return images
        in_range = tf.reduce_all(tf.logical_and(images >= 0.0, images <= 1.0))  # False for NaN too
        message = self.PIXEL_RANGE_ERROR.format("a batch with pixels in [{}, {}]")
        return graph_checked(images, in_range, message, tf.reduce_min(images), tf.reduce_max(images))

    def checked_input(self, x):
        """``x`` as an array when it is a list; arrays and eager tensors checked up front (shape, range)."""
        if isinstance(x, list):
            try:
                x = np.asarray(x, "float32")
            except (TypeError, ValueError):
                raise ValueError(
                    "VAE.fit(x) takes images as a NumPy array, a tensor, a tf.data.Dataset or a list of "
                    "equally shaped images. Received: a list that is not an array of numbers"
                ) from None
        if isinstance(x, (np.ndarray, tf.Tensor)):
            self.check_images(x)
        return x

    # -- the model ---------------------------------------------------------------------------

    def encode(self, images, training=False):
        """(z_mean, z_log_var) of q(z|x), each (batch, latent_dim)."""
        z_mean, z_log_var = self.encoder(images, training=training)
        return z_mean, z_log_var

    def decode_logits(self, z, training=False):
        """The decoder's raw output: Bernoulli logits, or Gaussian means."""
        return self.decoder(z, training=training)

    def decode(self, z, training=False):
        """Mean of p(x|z): sigmoid of the logits (Bernoulli) or the predicted means (Gaussian)."""
        outputs = self.decode_logits(z, training=training)
        return tf.sigmoid(outputs) if self.likelihood == "bernoulli" else outputs

    def log_likelihood(self, images, decoder_outputs):
        """log p(x|z) per example, in nats, from the decoder's raw output."""
        if self.likelihood == "bernoulli":
            return losses.bernoulli_log_likelihood(images, decoder_outputs)
        return losses.gaussian_log_likelihood(images, decoder_outputs, self.decoder_log_var)

    def call(self, inputs, training=False):
        """Reconstruct images through the posterior mean: decode(z_mean)."""
        z_mean, _ = self.encode(inputs, training=training)
        return self.decode(z_mean, training=training)

    def _terms(self, images, batch, training):
        z_mean, z_log_var = self.encode(images, training=training)
        # Under a tf.distribute strategy each replica takes its rows of the global batch's eps.
        z = batch.apply(lambda mean, log_var: losses.reparameterize(mean, log_var, seed=self.seed_generator),
                        z_mean, z_log_var)
        log_likelihood = self.log_likelihood(images, self.decode_logits(z, training=training))
        kl = losses.gaussian_kl_divergence(z_mean, z_log_var)
        return log_likelihood, kl

    def _record(self, log_likelihood, kl, weight, loss, batch):
        values = batch.mean({
            "loss": loss,
            "reconstruction_loss": -tf.reduce_mean(log_likelihood),
            "kl_loss": tf.reduce_mean(kl),
            "elbo": tf.reduce_mean(log_likelihood - kl),
            "kl_weight": tf.cast(weight, loss.dtype),
        })
        return self.record(values)

    def train_step(self, data):
        images = self._images(data)
        # After the range check of _images: a batch that fails it changes nothing (weights, step counter, noise).
        with tf.control_dependencies([images]):
            batch = GlobalBatch(images)
            weight = losses.kl_annealing_weight(self.optimizer.iterations, self.beta, self.kl_warmup_steps)
            with tf.GradientTape() as tape:
                log_likelihood, kl = self._terms(images, batch, training=True)
                loss = -tf.reduce_mean(losses.elbo(log_likelihood, kl, beta=weight))
                scaled_loss = batch.scale(loss)
            gradients = tape.gradient(scaled_loss, self.trainable_variables)
            self.optimizer.apply(gradients, self.trainable_variables)
            return self._record(log_likelihood, kl, weight, loss, batch)

    def test_step(self, data):
        images = self._images(data)
        batch = GlobalBatch(images)
        weight = tf.constant(self.beta, tf.float32)
        log_likelihood, kl = self._terms(images, batch, training=False)
        loss = -tf.reduce_mean(losses.elbo(log_likelihood, kl, beta=weight))
        return self._record(log_likelihood, kl, weight, loss, batch)

    # -- evaluation --------------------------------------------------------------------------

    def _batches(self, images, batch_size):
        self.check_images(images)
        batch_size = positive_int(batch_size, "batch_size")
        images = np.asarray(images, "float32")
        for start in range(0, len(images), batch_size):
            yield images[start : start + batch_size]

    def elbo(self, images, seed=0, batch_size=500):
        """Per-example ELBO in nats (one z sample, closed-form KL), as a NumPy array (N,)."""
        generator = keras.random.SeedGenerator(seed)
        values = []
        for batch in self._batches(images, batch_size):
            z_mean, z_log_var = self.encode(batch)
            z = losses.reparameterize(z_mean, z_log_var, seed=generator)
            log_likelihood = self.log_likelihood(batch, self.decode_logits(z))
            values.append(np.asarray(log_likelihood - losses.gaussian_kl_divergence(z_mean, z_log_var)))
        return np.concatenate(values)

    def log_importance_weights(self, images, k, seed=0):
        """log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x) for k samples z_i ~ q(z|x): (batch, k)."""
        k = positive_int(k, "k")
        images = tf.convert_to_tensor(images, self.compute_dtype)
        batch = tf.shape(images)[0]
        z_mean, z_log_var = self.encode(images)
        # Tile each example k times: row b * k + i holds sample i of example b.
        z_mean = tf.repeat(z_mean, k, axis=0)
        z_log_var = tf.repeat(z_log_var, k, axis=0)
        z = losses.reparameterize(z_mean, z_log_var, seed=seed)
        log_q = losses.gaussian_log_likelihood(z, z_mean, z_log_var)
        log_prior = losses.gaussian_log_likelihood(z, tf.zeros_like(z), 0.0)
        log_likelihood = self.log_likelihood(tf.repeat(images, k, axis=0), self.decode_logits(z))
        return tf.reshape(log_likelihood + log_prior - log_q, tf.stack([batch, k]))

    def importance_weighted_bound(self, images, k, seed=0, batch_size=None):
        """Per-example L_k in nats (Burda et al.), a NumPy array (N,); k = 1 is a one-sample ELBO.

        Args:
            images: (N, *image_shape).
            k: importance samples per example, > 0.
            seed: seed of the samples (a generator is drawn from it per batch).
            batch_size: examples per pass; default keeps about 5,000 decoder
                passes per batch.
        """
        k = positive_int(k, "k")
        batch_size = batch_size or max(1, 5000 // k)
        generator = keras.random.SeedGenerator(seed)
        values = [
            np.asarray(losses.importance_weighted_bound(self.log_importance_weights(batch, k, seed=generator)))
            for batch in self._batches(images, batch_size)
        ]
        return np.concatenate(values)

    def reconstruct(self, images, batch_size=500):
        """decode(z_mean) for each image, a NumPy array in the data's range."""
        return np.concatenate([np.asarray(self(batch)) for batch in self._batches(images, batch_size)])

    def sample(self, n, seed=0, batch_size=500):
        """Decode ``n`` draws z ~ N(0, I): the mean of p(x|z), a NumPy array (n, *image_shape).

        With the Bernoulli decoder the means are pixel probabilities, in
        ``SAMPLE_RANGE`` = [0, 1]; a Gaussian decoder's means are unbounded
        (they follow the data's range).

        Args:
            n: number of images, > 0.
            seed: seed of z (the same seed gives the same images).
            batch_size: images per decoder pass.

        Returns:
            NumPy float32 array (n, *image_shape).
        """
        n = positive_int(n, "n")
        z = keras.random.normal((n, self.latent_dim), seed=seed)
        return np.concatenate([np.asarray(self.decode(z[s : s + batch_size])) for s in range(0, n, batch_size)])
