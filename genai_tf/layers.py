"""Small custom layers: the pre-norm causal Transformer block and weight normalisation."""

import keras
from keras import ops

from genai_tf.validation import positive_int


@keras.saving.register_keras_serializable(package="genai_tf")
class CausalSelfAttentionBlock(keras.layers.Layer):
    """One pre-norm Transformer decoder block with causal self-attention.

    Formula:
        h = x + MultiHeadAttention(LN(x), LN(x), use_causal_mask=True)
        y = h + W_2 gelu(W_1 LN(h))

    Pre-norm (LayerNorm before each sub-layer, as in GPT-2) keeps the
    residual path an identity, which trains stably without learning-rate
    warm-up at this size. The causal mask lets position t attend to
    positions <= t only, so the output at t does not depend on later tokens.

    See Vaswani et al., "Attention Is All You Need", 2017
    (https://arxiv.org/abs/1706.03762); Xiong et al., "On Layer Normalization
    in the Transformer Architecture", 2020 (https://arxiv.org/abs/2002.04745).

    Args:
        model_dim: width d of the residual stream, a positive integer.
        num_heads: attention heads, a positive integer dividing model_dim.
        mlp_ratio: hidden width of the MLP as a multiple of model_dim.
        dropout: dropout rate on attention weights and sub-layer outputs.
        causal: mask attention to later positions (False gives the
            bidirectional encoder block of a masked language model).
    """

    def __init__(self, model_dim, num_heads, mlp_ratio=4, dropout=0.0, causal=True, **kwargs):
        super().__init__(**kwargs)
        self.causal = bool(causal)
        model_dim, num_heads = positive_int(model_dim, "model_dim"), positive_int(num_heads, "num_heads")
        if model_dim % num_heads:
            raise ValueError(
                f"model_dim must be divisible by num_heads. Received: model_dim={model_dim}, num_heads={num_heads}"
            )
        self.model_dim, self.num_heads, self.mlp_ratio, self.dropout = model_dim, num_heads, mlp_ratio, dropout
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-5)
        self.attention = keras.layers.MultiHeadAttention(num_heads, model_dim // num_heads, dropout=dropout)
        self.mlp_norm = keras.layers.LayerNormalization(epsilon=1e-5)
        self.mlp_in = keras.layers.Dense(mlp_ratio * model_dim, activation="gelu")
        self.mlp_out = keras.layers.Dense(model_dim)
        self.output_dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape):
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.mlp_norm.build(input_shape)
        self.mlp_in.build(input_shape)
        self.mlp_out.build((*input_shape[:-1], self.mlp_ratio * self.model_dim))
        self.built = True

    def call(self, x, training=False):
        normed = self.attention_norm(x)
        x = x + self.output_dropout(self.attention(normed, normed, use_causal_mask=self.causal, training=training), training=training)
        return x + self.output_dropout(self.mlp_out(self.mlp_in(self.mlp_norm(x))), training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "model_dim": self.model_dim,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_ratio,
            "dropout": self.dropout,
            "causal": self.causal,
        }


# Convolution layers whose kernel keeps the output channels on axis -2, not -1.
_TRANSPOSED_CONVOLUTIONS = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)


@keras.saving.register_keras_serializable(package="genai_tf")
class WeightNormalization(keras.layers.Wrapper):
    """Weight normalisation of a layer's kernel, the Keras 3 stand-in for ``tfa.layers.WeightNormalization``.

    Formula:
        w = g * v / ||v||        (one norm, and one scale g, per output unit)

    The wrapped layer's own kernel becomes the direction ``v``; the wrapper
    adds one trainable scale ``g`` per output unit (the last kernel axis of
    ``Dense`` and ``Conv1D/2D/3D``, axis -2 of the transposed convolutions),
    initialised to ``||v||`` so that a freshly built wrapper computes exactly
    what the bare layer computes. Every call evaluates the layer with ``w`` in
    place of its kernel, so gradients reach both ``g`` and ``v``; the length
    and the direction of each weight vector are learned separately.

    Unlike tensorflow-addons' version there is no data-dependent
    initialisation (``data_init``): initialise ``g`` from a batch yourself if
    you want it. A slice of ``v`` that is all zeros is guarded by a norm
    floor of 1e-12 instead of dividing by zero.

    See Salimans & Kingma, "Weight Normalization: A Simple Reparameterization
    to Accelerate Training of Deep Neural Networks", 2016
    (https://arxiv.org/abs/1602.07868).

    Args:
        layer: a Keras layer with a ``kernel`` weight, e.g. ``Dense`` or
            ``Conv2D``. Layers without one (``Dropout``, ``Embedding``,
            ``LayerNormalization``) are rejected when the wrapper is built.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Raises:
        ValueError: if ``layer`` is not a Keras layer, or (at build time) has
            no ``kernel``.

    Example:
    >>> import numpy as np
    >>> layer = WeightNormalization(keras.layers.Dense(3))
    >>> x = np.ones((2, 4), "float32")
    >>> tuple(layer(x).shape)
    (2, 3)
    >>> bool(np.allclose(layer(x), layer.layer(x), atol=1e-6))   # g = ||v|| at first
    True
    >>> _ = layer.g.assign(np.ones(3, "float32"))
    >>> np.round(np.linalg.norm(layer.normalized_kernel(), axis=0), 4).tolist()
    [1.0, 1.0, 1.0]
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, keras.layers.Layer):
            raise ValueError(
                f"WeightNormalization wraps a Keras layer with a kernel (Dense, Conv2D, ...). "
                f"Received: layer={layer!r} of type {type(layer).__name__}"
            )
        super().__init__(layer, **kwargs)

    @property
    def _unit_axis(self):
        return -2 if isinstance(self.layer, _TRANSPOSED_CONVOLUTIONS) else -1

    def _norm_axes(self):
        rank = len(self.layer.kernel.shape)
        unit_axis = self._unit_axis % rank
        return tuple(axis for axis in range(rank) if axis != unit_axis)

    def build(self, input_shape=None):
        super().build(input_shape)
        kernel = getattr(self.layer, "kernel", None)
        if not isinstance(kernel, keras.Variable):
            raise ValueError(
                f"WeightNormalization needs a layer with a `kernel` weight (Dense, Conv1D/2D/3D, "
                f"their transposes). Received: layer={self.layer.name!r} of type "
                f"{type(self.layer).__name__}, which has no kernel"
            )
        units = kernel.shape[self._unit_axis]
        self.g = self.add_weight(
            shape=(units,),
            # g starts at ||v||, so the wrapper first computes what the bare layer computes.
            initializer=lambda shape, dtype=None: ops.cast(ops.reshape(self._kernel_norm(kernel.value), shape), dtype),
            trainable=True,
            name="g",
            dtype=kernel.dtype,
        )
        self.built = True

    def _kernel_norm(self, kernel):
        squared = ops.sum(ops.square(kernel), axis=self._norm_axes(), keepdims=True)
        return ops.sqrt(ops.maximum(squared, 1e-24))

    def normalized_kernel(self):
        """Return the effective kernel ``w = g * v / ||v||``, shaped like the wrapped layer's kernel."""
        v = self.layer.kernel.value
        shape = [1] * len(v.shape)
        shape[self._unit_axis] = -1
        return ops.reshape(self.g, shape) * v / self._kernel_norm(v)

    def call(self, inputs, training=None):
        # Evaluate the wrapped layer with w read wherever it reads its kernel. The kernel
        # variable itself (v) is not overwritten, so the gradient flows through w to g and v.
        with keras.StatelessScope(state_mapping=[(self.layer.kernel, self.normalized_kernel())]):
            return self.layer(inputs, training=training)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)
