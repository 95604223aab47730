"""PixelCNN: an autoregressive model of binary images, one Bernoulli logit per pixel from masked convolutions.

The pixels are ordered in raster order (row by row, left to right) and the
model factorises the image's probability exactly:

    log p(x) = sum_i log p(x_i | x_<i),   p(x_i = 1 | x_<i) = sigmoid(l_i(x_<i))

A mask-"A" first convolution and mask-"B" convolutions after it keep every
logit l_i a function of the pixels before i only, so one forward pass gives
all 784 conditionals of a 28x28 image (training and ``log_prob`` are
parallel) while sampling needs one pass per pixel.

See "Pixel Recurrent Neural Networks", van den Oord, Kalchbrenner and
Kavukcuoglu, 2016 (https://arxiv.org/abs/1601.06759), and "Conditional Image
Generation with PixelCNN Decoders", van den Oord et al., 2016
(https://arxiv.org/abs/1606.05328).

Example:
>>> model = PixelCNN(image_shape=(4, 4, 1), filters=4, residual_blocks=1, kernel_size=3)
>>> causal_mask(3, "A")[:, :, 0, 0].tolist()
[[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
>>> model.log_prob(np.zeros((2, 4, 4, 1), "float32")).shape
(2,)
>>> images = model.sample(2, seed=0)
>>> images.shape, sorted(np.unique(images).tolist()) in ([0.0], [1.0], [0.0, 1.0])
((2, 4, 4, 1), True)
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from genai_tf import losses
from genai_tf.distribute import GlobalBatch
from genai_tf.models.base import CheckedFitMixin, OptimizerStateMixin, SeedStateMixin
from genai_tf.validation import (
    graph_checked,
    image_batch,
    int_at_least,
    non_negative_int,
    one_of,
    positive_float,
    positive_int,
    seed as checked_seed,
)

MASK_TYPES = ("A", "B")


def _odd_kernel_size(kernel_size, name="kernel_size"):
    """``kernel_size`` (an int or a pair) as a pair of positive odd ints; else ValueError."""
    pair = (kernel_size, kernel_size) if isinstance(kernel_size, (int, np.integer)) else kernel_size
    try:
        pair = tuple(pair)
    except TypeError:
        pair = ()
    valid = len(pair) == 2 and all(
        isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k > 0 and k % 2 == 1 for k in pair
    )
    if isinstance(kernel_size, bool) or not valid:
        raise ValueError(
            f"{name} must be a positive odd integer or a pair of them (a masked kernel needs a centre pixel). "
            f"Received: {name}={kernel_size!r}"
        )
    return int(pair[0]), int(pair[1])


def causal_mask(kernel_size, mask_type, in_channels=1, out_channels=1):
    """The 0/1 mask of a PixelCNN kernel: taps on pixels before the centre in raster order (and the centre for "B").

    Formula (kernel of kh x kw, centre (a, b) = (kh // 2, kw // 2)):
        mask[i, j] = 1  if i < a, or i == a and j < b
        mask[a, b] = 0 for "A" (the first layer: the output at pixel t must not see x_t)
                     1 for "B" (later layers: the centre holds features of pixels before t)
        mask[i, j] = 0  otherwise (the rest of the centre row and every row below)

    The images here have one channel, so there is no masking between colour
    channels (the R/G/B groups of the paper); the same spatial mask is
    repeated over every (input, output) channel pair.

    See "Pixel Recurrent Neural Networks" (https://arxiv.org/abs/1601.06759), sec. 3.4.

    Args:
        kernel_size: a positive odd int, or a pair (kh, kw) of them.
        mask_type: "A" or "B".
        in_channels: input channels of the convolution, > 0.
        out_channels: output channels (filters), > 0.

    Returns:
        NumPy float32 array of shape (kh, kw, in_channels, out_channels), values in {0, 1}.

    Example:
    >>> causal_mask(3, "B")[:, :, 0, 0].astype(int).tolist()
    [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    """
    height, width = _odd_kernel_size(kernel_size)
    one_of(mask_type, MASK_TYPES, "mask_type")
    in_channels = positive_int(in_channels, "in_channels")
    out_channels = positive_int(out_channels, "out_channels")
    spatial = np.zeros((height, width), np.float32)
    centre_row, centre_column = height // 2, width // 2
    spatial[:centre_row, :] = 1.0
    spatial[centre_row, :centre_column] = 1.0
    if mask_type == "B":
        spatial[centre_row, centre_column] = 1.0
    return np.tile(spatial[:, :, None, None], (1, 1, in_channels, out_channels))


@keras.saving.register_keras_serializable(package="genai_tf")
class MaskedConv2D(keras.layers.Layer):
    """A 2-D convolution, stride 1 and "same" padding, whose kernel is multiplied by a fixed causal mask.

    Formula:
        y[t] = activation(sum_{taps k} (W * M)[k] x[t + k] + bias),   M = causal_mask(kernel_size, mask_type)

    The mask is applied in ``call`` (not once to the weights), so the masked
    taps stay zero in the output whatever the optimizer does to ``W``.

    See "Pixel Recurrent Neural Networks" (https://arxiv.org/abs/1601.06759), sec. 3.4.

    Args:
        filters: output channels, > 0.
        kernel_size: a positive odd int or a pair of them.
        mask_type: "A" (excludes the centre pixel: the first layer) or "B" (includes it).
        activation: a Keras activation name or None (linear).
        kernel_initializer: initializer of W (the masked taps are initialised too, then ignored).
        bias_initializer: initializer of the bias.
        **kwargs: passed to ``keras.layers.Layer`` (e.g. ``name``).
    """

    def __init__(
        self,
        filters,
        kernel_size,
        mask_type="B",
        activation=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = positive_int(filters, "filters")
        self.kernel_size = _odd_kernel_size(kernel_size)
        self.mask_type = one_of(mask_type, MASK_TYPES, "mask_type")
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        in_channels = input_shape[-1]
        if in_channels is None:
            raise ValueError(f"MaskedConv2D needs a known number of input channels. Received: input_shape={input_shape}")
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, in_channels, self.filters), initializer=self.kernel_initializer, name="kernel"
        )
        self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer, name="bias")
        # A constant, not a weight: nothing trains or saves it, the constructor arguments rebuild it.
        self.mask = causal_mask(self.kernel_size, self.mask_type, in_channels, self.filters)

    def call(self, inputs):
        kernel = self.kernel * ops.convert_to_tensor(self.mask, dtype=self.kernel.dtype)
        outputs = ops.conv(inputs, kernel, strides=1, padding="same") + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "mask_type": self.mask_type,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


def _pixelcnn_image_shape(image_shape):
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = ()
    valid = all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in shape)
    if len(shape) != 3 or not valid or shape[2] != 1:
        raise ValueError(
            "image_shape must be (height, width, 1): this PixelCNN models single-channel binary images. "
            f"Received: image_shape={image_shape!r}"
        )
    return tuple(int(s) for s in shape)


def build_pixelcnn_network(filters=32, residual_blocks=5, kernel_size=7, seed=0, name="pixelcnn_network"):
    """Binary images (batch, H, W, 1), any H and W -> one logit per pixel, (batch, H, W, 1).

    Layers (F = filters, F/2 = filters // 2; ReLU written r):
        h = MaskedConv2D(F, kernel_size, "A")(x)
        residual_blocks times:
            h = h + Conv1x1(F)(r(MaskedConv2D(F/2, 3, "B")(r(Conv1x1(F/2)(r(h))))))
        logits = Conv1x1(1)(r(Conv1x1(F)(r(h))))

    The residual block is the one of "Pixel Recurrent Neural Networks"
    (https://arxiv.org/abs/1601.06759), fig. 5 (there with 2h = F). A 1x1
    convolution mixes channels of one pixel only, so it is causal as a mask-B
    convolution is. Every kernel initializer is seeded (``seed``, ``seed + 1``,
    ...), so the same arguments give the same weights whatever the global seed.

    Args:
        filters: channels F of the residual stream, >= 2.
        residual_blocks: number of residual blocks, >= 0.
        kernel_size: the first (mask-A) convolution's size, odd, >= 3.
        seed: int seed of the initial weights.
        name: model name.

    Returns:
        A functional ``keras.Model``; its last layer is named "logits".
        Outputs are logits, not probabilities.
    """
    filters = int_at_least(filters, 2, "filters")
    residual_blocks = non_negative_int(residual_blocks, "residual_blocks")
    kernel_size = int_at_least(kernel_size, 3, "kernel_size")
    _odd_kernel_size(kernel_size)
    seeds = iter(range(int(seed), int(seed) + 3 * residual_blocks + 3))

    def initializer():
        return keras.initializers.GlorotUniform(seed=next(seeds))

    images = keras.Input((None, None, 1), name="images")
    h = MaskedConv2D(filters, kernel_size, "A", kernel_initializer=initializer(), name="masked_conv_a")(images)
    for block in range(residual_blocks):
        y = keras.layers.ReLU()(h)
        y = keras.layers.Conv2D(filters // 2, 1, activation="relu", kernel_initializer=initializer(),
                                name=f"block{block}_down")(y)
        y = MaskedConv2D(filters // 2, 3, "B", activation="relu", kernel_initializer=initializer(),
                         name=f"block{block}_masked_conv_b")(y)
        y = keras.layers.Conv2D(filters, 1, kernel_initializer=initializer(), name=f"block{block}_up")(y)
        h = keras.layers.Add(name=f"block{block}_add")([h, y])
    h = keras.layers.ReLU()(h)
    h = keras.layers.Conv2D(filters, 1, activation="relu", kernel_initializer=initializer(), name="head")(h)
    logits = keras.layers.Conv2D(1, 1, kernel_initializer=initializer(), name="logits")(h)
    return keras.Model(images, logits, name=name)


@keras.saving.register_keras_serializable(package="genai_tf")
class PixelCNN(CheckedFitMixin, SeedStateMixin, OptimizerStateMixin, keras.Model):
    """PixelCNN for binary images (default 28x28x1), trained on the exact negative log-likelihood in nats.

    Formula (per image, D = H * W pixels in raster order, l_i = logit of pixel i):
        log p(x) = sum_i [x_i * l_i - softplus(l_i)],   l_i = f(x_<i)
        loss     = mean over the batch of -log p(x)     (nats per image)
        bits/dim = loss / (D ln 2)
        sampling: x_i = 1 if u_i < sigmoid(l_i / temperature), u_i ~ U[0, 1), for i = 1, ..., D

    Cost of one forward pass, counted from the layer shapes (2 FLOPs per
    multiply-add, every tap of every kernel, masked ones included; biases
    and ReLUs not counted): per pixel, 49 F (mask-A 7x7) + residual_blocks *
    3.25 F^2 (1x1 F -> F/2, 3x3 F/2 -> F/2, 1x1 F/2 -> F) + F^2 + F (head)
    multiply-adds. With the defaults (F = 32, 5 blocks, 28x28): 19,264
    multiply-adds per pixel, 15,102,976 per image, about 30.2 MFLOPs
    (:meth:`forward_flops`); only 24 of the 49 first-layer taps and 5 of the
    9 taps of a 3x3 mask-B kernel are live. A training step costs about
    three forward passes, 10 epochs on 4,500 images about 4.1 TFLOPs.

    Sampling takes D network calls (in one compiled ``tf.while_loop``); each
    call convolves only the rows that pixel's logit can see (the
    ``context_rows`` rows above it and its own row: 3 + residual_blocks for a
    7x7 first layer), which gives the logit of the full image (causality) at
    a third of the cost for 28x28 images.

    ``seed`` seeds the initial weights (the same seed, the same untrained
    model) and ``self.seed_generator``, which draws the noise of
    ``sample``/``complete`` when they are called with ``seed=None``; its
    state is saved with the model. Training itself uses no noise.

    See "Pixel Recurrent Neural Networks" (https://arxiv.org/abs/1601.06759)
    and "Conditional Image Generation with PixelCNN Decoders"
    (https://arxiv.org/abs/1606.05328).

    Args:
        image_shape: (height, width, 1); pixels must be 0 or 1.
        filters: channels of the residual stream, >= 2.
        residual_blocks: residual blocks of mask-B convolutions, >= 0.
        kernel_size: the mask-A first convolution's size, odd, >= 3.
        seed: int seed of the initial weights and of ``seed_generator``.
        **kwargs: passed to ``keras.Model`` (e.g. ``name``).
    """

    loss_keys = ("loss", "bits_per_dim")

    BINARY_ERROR = (
        "PixelCNN models binary pixels: every value must be 0 or 1 (binarise grey levels with "
        "(images > 0.5).astype('float32'); map [-1, 1] images to [0, 1] with (images + 1) / 2 first). "
        "Received: {}"
    )

    def __init__(self, image_shape=(28, 28, 1), filters=32, residual_blocks=5, kernel_size=7, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = _pixelcnn_image_shape(image_shape)
        self.filters = int_at_least(filters, 2, "filters")
        self.residual_blocks = non_negative_int(residual_blocks, "residual_blocks")
        self.kernel_size = int_at_least(kernel_size, 3, "kernel_size")
        _odd_kernel_size(self.kernel_size)
        self.seed = checked_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.network = build_pixelcnn_network(self.filters, self.residual_blocks, self.kernel_size, seed=self.seed)
        self.trackers = {key: keras.metrics.Mean(name=key) for key in self.loss_keys}
        self.built = True

    @property
    def num_pixels(self):
        """D = height * width * channels."""
        return int(np.prod(self.image_shape))

    @property
    def context_rows(self):
        """Rows above a pixel that its logit can depend on: kernel_size // 2 + residual_blocks."""
        return self.kernel_size // 2 + self.residual_blocks

    @property
    def metrics(self):
        return list(self.trackers.values())

    # -- configuration and saving ------------------------------------------------------------

    def get_config(self):
        return {
            "image_shape": list(self.image_shape),
            "filters": self.filters,
            "residual_blocks": self.residual_blocks,
            "kernel_size": self.kernel_size,
            "seed": self.seed,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def compile(self, optimizer=None, **kwargs):
        """Set the optimizer (default: Adam, learning rate 1e-3, created in the model's strategy scope)."""
        with self.distribute_strategy.scope():
            super().compile(optimizer=optimizer or keras.optimizers.Adam(1e-3), **kwargs)

    def forward_flops(self):
        """FLOPs of one forward pass on one image: 2 * multiply-adds of every convolution, masked taps included.

        Returns:
            Python int (30,205,952 for the default model on 28x28 images).
        """
        height, width, _ = self.image_shape
        multiply_adds = 0
        for layer in self.network.layers:
            if isinstance(layer, (MaskedConv2D, keras.layers.Conv2D)):
                multiply_adds += int(np.prod(layer.kernel.shape)) * height * width
        return 2 * multiply_adds

    # -- input checks ------------------------------------------------------------------------

    def check_images(self, images, check_values=True):
        """Raise ValueError unless ``images`` is (batch, *image_shape) with every value 0 or 1.

        The values are checked for NumPy arrays and eager tensors; inside a
        traced step only the shape is checked here (``train_step`` and
        ``test_step`` add an in-graph check).
        """
        if isinstance(images, (list, tuple)):
            images = np.asarray(images, "float32")
        if not hasattr(images, "shape"):
            raise ValueError(
                f"PixelCNN expects images as an array of shape (batch_size, {', '.join(map(str, self.image_shape))}). "
                f"Received: images of type {type(images).__name__}"
            )
        image_batch(images, self.image_shape, "images", owner="PixelCNN")
        concrete = isinstance(images, np.ndarray) or (isinstance(images, tf.Tensor) and tf.executing_eagerly())
        if check_values and concrete:
            values = np.asarray(images, np.float64)
            binary = (values == 0.0) | (values == 1.0)
            if not np.all(binary):
                finite = values[np.isfinite(values)]
                span = f"values in [{finite.min():.3g}, {finite.max():.3g}]" if finite.size else "no finite values"
                nan = f" ({int(np.sum(~np.isfinite(values)))} not finite)" if finite.size < values.size else ""
                raise ValueError(self.BINARY_ERROR.format(
                    f"{int(np.sum(~binary))} of {values.size} values not in {{0, 1}}{nan}, {span}"
                ))
        return images

    def _as_images(self, images):
        """Checked images as a float32 NumPy array."""
        return np.asarray(self.check_images(images), np.float32)

    def _graph_checked(self, data):
        """The images of a fit()/evaluate() batch, cast to float32, their values checked in the graph."""
        images = data[0] if isinstance(data, (tuple, list)) else data
        self.check_images(images, check_values=False)
        images = tf.cast(images, self.compute_dtype)
        binary = tf.reduce_all(tf.logical_or(tf.equal(images, 0.0), tf.equal(images, 1.0)))  # False for NaN
        wrong = tf.reduce_sum(tf.cast(tf.logical_not(tf.logical_or(tf.equal(images, 0.0), tf.equal(images, 1.0))),
                                      tf.int32))
        message = self.BINARY_ERROR.format("a batch with {} values not in {{0, 1}}, values in [{}, {}]")
        return graph_checked(images, binary, message, wrong, tf.reduce_min(images), tf.reduce_max(images))

    def checked_input(self, x):
        if isinstance(x, list):
            x = np.asarray(x, "float32")
        if isinstance(x, (np.ndarray, tf.Tensor)):
            self.check_images(x)
        return x

    # -- the model ---------------------------------------------------------------------------

    def __call__(self, images, *args, **kwargs):
        # Checked before Keras's call wrapper, so a bad input's ValueError keeps its own message.
        self.check_images(images)
        return super().__call__(images, *args, **kwargs)

    def call(self, images, training=False):
        """Logits l_i of p(x_i = 1 | x_<i) for every pixel, (batch, *image_shape). Logits, not probabilities."""
        self.check_images(images)
        return self.network(images, training=training)

    def _log_likelihood(self, images, training=False):
        logits = self.network(images, training=training)
        return losses.bernoulli_log_likelihood(images, logits)

    def _update(self, images, training):
        batch = GlobalBatch(images)
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(self._log_likelihood(images, training=training))
            scaled_loss = batch.scale(loss)
        if training:
            gradients = tape.gradient(scaled_loss, self.trainable_variables)
            self.optimizer.apply(gradients, self.trainable_variables)
        values = batch.mean({"loss": loss, "bits_per_dim": loss / (self.num_pixels * math.log(2.0))})
        for key, tracker in self.trackers.items():
            tracker.update_state(values[key])
        return {key: tracker.result() for key, tracker in self.trackers.items()}

    def train_step(self, data):
        images = self._graph_checked(data)
        # After the value check: a bad batch stops the step before any update.
        with tf.control_dependencies([images]):
            return self._update(images, training=True)

    def test_step(self, data):
        return self._update(self._graph_checked(data), training=False)

    def log_prob(self, images, batch_size=256):
        """log p(x) of each image in nats, exact: the sum of the D Bernoulli log-likelihoods.

        Formula:
            log p(x) = sum_i [x_i * l_i - softplus(l_i)]   (summed in float64 from the float32 logits)

        Args:
            images: binary images (N, *image_shape), values 0 or 1.
            batch_size: images per forward pass, > 0.

        Returns:
            NumPy float64 array (N,), values <= 0.
        """
        images = self._as_images(images)
        batch_size = positive_int(batch_size, "batch_size")
        if getattr(self, "_log_prob_fn", None) is None:
            self._log_prob_fn = tf.function(
                lambda x: losses.bernoulli_log_likelihood(
                    tf.cast(x, tf.float64), tf.cast(self.network(x, training=False), tf.float64)
                ),
                reduce_retracing=True,
            )
        values = [np.asarray(self._log_prob_fn(tf.constant(images[s : s + batch_size])))
                  for s in range(0, len(images), batch_size)]
        return np.concatenate(values) if values else np.zeros((0,), np.float64)

    # -- sampling ----------------------------------------------------------------------------

    def _window_start(self, row):
        """First row of the window of rows convolved for a pixel of ``row``."""
        return max(0, row - self.context_rows)

    @property
    def _window_rows(self):
        return min(self.image_shape[0], self.context_rows + 1)

    def pixel_logit(self, images, row, column):
        """Logit of pixel (row, column) of each image, (batch,), from the rows the pixel can see.

        Equal to ``self(images)[:, row, column, 0]``: the window's top rows
        hold the pixel's whole receptive field, and "same" padding at the
        window's bottom only meets masked (zero) taps.
        """
        start = tf.maximum(0, row - self.context_rows)
        window = tf.slice(images, tf.stack([0, start, 0, 0]), [-1, self._window_rows, -1, -1])
        logits = self.network(window, training=False)
        return logits[:, row - start, column, 0]

    def _sample_step(self, images, noise, row, column, temperature):
        """Draw pixel (row, column) of every image from p(x_i | x_<i) and write it in; returns the images."""
        logit = self.pixel_logit(images, row, column)
        pixel = tf.cast(noise[:, row, column, 0] < tf.sigmoid(logit / temperature), images.dtype)
        height, width, _ = self.image_shape
        where = tf.reshape(tf.one_hot(row * width + column, height * width, dtype=images.dtype), (1, height, width, 1))
        return images + where * (pixel[:, None, None, None] - images)

    def _fill_graph(self, images, noise, first_pixel, temperature):
        """Pixels first_pixel, ..., D - 1 (raster index) drawn in turn by a ``tf.while_loop``; returns the images."""
        width = self.image_shape[1]

        def body(index, current):
            return index + 1, self._sample_step(current, noise, index // width, index % width, temperature)

        _, images = tf.while_loop(
            lambda index, current: index < self.num_pixels, body, [first_pixel, images], parallel_iterations=1
        )
        return images

    def _noise(self, n, seed):
        """U[0, 1) draws u, (n, *image_shape): NumPy's ``default_rng(seed)`` for an int seed, else seed_generator."""
        shape = (n, *self.image_shape)
        if seed is None:
            return np.asarray(keras.random.uniform(shape, seed=self.seed_generator), np.float32)
        return np.random.default_rng(checked_seed(seed)).random(shape, dtype=np.float32)

    def _fill(self, images, first_row, seed, temperature, batch_size):
        """Re-sample rows >= first_row pixel by pixel in raster order; the rows above are kept."""
        temperature = positive_float(temperature, "temperature")
        batch_size = positive_int(batch_size, "batch_size")
        noise = self._noise(len(images), seed)
        if getattr(self, "_fill_fn", None) is None:
            # One compiled loop over the pixels: about 2.5 times faster than a Python loop of compiled steps.
            self._fill_fn = tf.function(self._fill_graph, reduce_retracing=True)
        first_pixel = tf.constant(first_row * self.image_shape[1], tf.int32)
        temperature = tf.constant(temperature, tf.float32)
        outputs = []
        for start in range(0, len(images), batch_size):
            chunk = tf.constant(images[start : start + batch_size])
            chunk_noise = tf.constant(noise[start : start + batch_size])
            outputs.append(self._fill_fn(chunk, chunk_noise, first_pixel, temperature).numpy())
        return np.concatenate(outputs) if outputs else images

    def sample(self, n, seed=0, temperature=1.0, batch_size=64):
        """Draw ``n`` binary images pixel by pixel in raster order: D network calls per batch.

        Formula:
            x_i = 1 if u_i < sigmoid(l_i(x_<i) / temperature) else 0,   i = 1, ..., D in raster order
            u = np.random.default_rng(seed).random((n, *image_shape), dtype=float32)

        Temperature 1 samples p(x) itself; below 1 it sharpens each
        conditional toward its more likely value. The noise u is drawn for all
        n images at once, so the images do not depend on ``batch_size``.

        Args:
            n: number of images, > 0.
            seed: int seed of u (the same seed gives the same images), or None
                to draw u from ``self.seed_generator`` (new images each call).
            temperature: divides the logits, > 0.
            batch_size: images sampled together, > 0.

        Returns:
            NumPy float32 array (n, *image_shape), values 0 or 1.
        """
        n = positive_int(n, "n")
        positive_float(temperature, "temperature")
        return self._fill(np.zeros((n, *self.image_shape), np.float32), 0, seed, temperature, batch_size)

    def complete(self, images, known_rows, seed=0, temperature=1.0, batch_size=64):
        """Keep the top ``known_rows`` rows of each image and sample the rest from p(x_unknown | x_known).

        Raster order puts every known pixel before every unknown one, so
        sampling the unknown pixels one by one from p(x_i | x_<i) draws
        exactly from the conditional distribution of the bottom rows given the
        top ones. The loop starts at row ``known_rows``; the values of the
        input's unknown rows are never read. The noise u is the one of
        :meth:`sample` (so ``complete(x, 0, seed=s)`` equals ``sample(len(x), seed=s)``).

        Args:
            images: binary images (N, *image_shape), values 0 or 1.
            known_rows: rows kept, an int in [0, height].
            seed: int seed of u, or None for ``self.seed_generator``.
            temperature: divides the logits, > 0.
            batch_size: images sampled together, > 0.

        Returns:
            NumPy float32 array (N, *image_shape), values 0 or 1, equal to
            ``images`` in rows < known_rows.
        """
        images = self._as_images(images)
        height = self.image_shape[0]
        if isinstance(known_rows, bool) or not isinstance(known_rows, (int, np.integer)) or not 0 <= known_rows <= height:
            raise ValueError(f"known_rows must be an integer in [0, {height}]. Received: known_rows={known_rows!r}")
        positive_float(temperature, "temperature")
        if len(images) == 0:
            return images.copy()
        return self._fill(images.copy(), int(known_rows), seed, temperature, batch_size)
