"""Small custom layers: the pre-norm causal Transformer block."""

import keras


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
        model_dim: width d of the residual stream.
        num_heads: attention heads; model_dim must be divisible by it.
        mlp_ratio: hidden width of the MLP as a multiple of model_dim.
        dropout: dropout rate on attention weights and sub-layer outputs.
        causal: mask attention to later positions (False gives the
            bidirectional encoder block of a masked language model).
    """

    def __init__(self, model_dim, num_heads, mlp_ratio=4, dropout=0.0, causal=True, **kwargs):
        super().__init__(**kwargs)
        self.causal = bool(causal)
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
