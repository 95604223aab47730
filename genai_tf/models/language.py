"""Autoregressive character language models: a bigram table, a GRU and a causal Transformer.

Each maps token ids (batch, T) to next-token logits at *every* position,
(batch, T, vocab_size): the logits at t score token t + 1 given tokens
<= t. Training is teacher forcing on windows shifted by one
(:func:`genai_tf.tokens.make_windows`) with the cross-entropy from logits, and
the mean of that loss in nats is the model's negative log-likelihood per
character: log p(x) = sum_t log p(x_t | x_<t).
"""

import math

import keras
import numpy as np
import tensorflow as tf

from genai_tf import sampling
from genai_tf.layers import CausalSelfAttentionBlock
from genai_tf.models.base import OptimizerStateMixin
from genai_tf.validation import float_in, positive_int


class LanguageModel(OptimizerStateMixin, keras.Model):
    """Base class: input checks, the cross-entropy loss, held-out NLL, and generation.

    Args:
        vocab_size: number of tokens, > 0.
        context_length: the longest input the model accepts, or None for no limit.
    """

    def __init__(self, vocab_size, context_length=None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = positive_int(vocab_size, "vocab_size")
        self.context_length = positive_int(context_length, "context_length", allow_none=True)

    def get_config(self):
        return {"vocab_size": self.vocab_size, "context_length": self.context_length, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def compile(self, optimizer=None, **kwargs):
        """Cross-entropy from logits at every position; Adam(1e-3) unless an optimizer is given."""
        kwargs.setdefault("loss", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        super().compile(optimizer=optimizer or keras.optimizers.Adam(1e-3), **kwargs)

    def check_ids(self, ids, name="ids"):
        """Raise ValueError unless ids is an int array (batch, T) with 0 <= id < vocab_size and T <= context_length."""
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.shape[1] < 1:
            raise ValueError(f"{name} must have shape (batch_size, sequence_length). Received: {name}.shape={ids.shape}")
        if not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"{name} must be integer token ids. Received: dtype={ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"{name} must be in [0, {self.vocab_size}). Received: ids in [{ids.min()}, {ids.max()}]")
        if self.context_length is not None and ids.shape[1] > self.context_length:
            raise ValueError(
                f"{name} has {ids.shape[1]} tokens, more than the model's context_length={self.context_length}. "
                "Split the text into windows (genai_tf.tokens.make_windows) or keep the last tokens."
            )
        return ids.astype(np.int32)

    def fit(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.fit`` with array inputs and targets checked first."""
        if isinstance(x, np.ndarray):
            x = self.check_ids(x, "inputs")
            if y is not None:
                y = np.asarray(y)
                if y.shape != x.shape:
                    raise ValueError(
                        "targets must have the shape of inputs (the same windows shifted by one). "
                        f"Received: inputs.shape={x.shape}, targets.shape={y.shape}"
                    )
                y = self.check_ids(y, "targets")
        return super().fit(x, y, *args, **kwargs)

    def mean_nll(self, inputs, targets, batch_size=64):
        """Mean negative log-likelihood per predicted token, in nats, over all windows and positions."""
        inputs, targets = self.check_ids(inputs, "inputs"), self.check_ids(targets, "targets")
        if inputs.shape != targets.shape:
            raise ValueError(f"inputs and targets must have one shape. Received: {inputs.shape} and {targets.shape}")
        if getattr(self, "_nll_sum", None) is None:
            # One traced forward pass, reused for every batch (eager calls would be several times slower).
            @tf.function(reduce_retracing=True)
            def nll_sum(batch_inputs, batch_targets):
                logits = self(batch_inputs, training=False)
                return tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(batch_targets, logits, from_logits=True))

            self._nll_sum = nll_sum
        total = 0.0
        for start in range(0, len(inputs), batch_size):
            total += float(self._nll_sum(inputs[start : start + batch_size], targets[start : start + batch_size]))
        return total / targets.size

    def _next_logits(self, ids, state):
        """Logits of the next token after ``ids`` (batch, T) and the state to carry (None here)."""
        window = ids if self.context_length is None else ids[:, -self.context_length :]
        if getattr(self, "_last_logits", None) is None:
            # Traced once for any (batch, T): an eager Keras call per generated token is several times slower.
            self._last_logits = tf.function(lambda x: self(x, training=False)[:, -1], reduce_retracing=True)
        return np.asarray(self._last_logits(tf.constant(window))), None

    def generate(self, prompt_ids, num_tokens, temperature=1.0, top_k=None, top_p=None, seed=0):
        """Continue ``prompt_ids`` (batch, T) by ``num_tokens`` sampled tokens; returns (batch, num_tokens) int32.

        The same seed gives the same tokens. Beyond ``context_length`` the model
        sees the last ``context_length`` tokens.
        """
        ids = np.asarray(prompt_ids)
        if ids.ndim == 2 and self.context_length is not None and ids.shape[1] > self.context_length:
            ids = ids[:, -self.context_length :]
        ids = self.check_ids(ids, "prompt_ids")
        num_tokens = positive_int(num_tokens, "num_tokens")
        rng = np.random.default_rng(seed)
        sampling.filter_logits(np.zeros((1, self.vocab_size)), top_k, top_p)   # validates top_k and top_p
        generated, state, last = [], None, ids
        for _ in range(num_tokens):
            logits, state = self._next_logits(last, state)
            token = sampling.sample_next(logits, temperature, top_k, top_p, rng)
            generated.append(token)
            last = token[:, None] if state is not None else np.concatenate([last, token[:, None]], axis=1)
        return np.stack(generated, axis=1).astype(np.int32)


@keras.saving.register_keras_serializable(package="genai_tf")
class BigramLM(LanguageModel):
    """The bigram baseline: p(x_t | x_<t) = p(x_t | x_{t-1}), a table of V x V logits.

    :meth:`fit_counts` sets it to the smoothed maximum-likelihood estimate
    p(b | a) = (count(a b) + alpha) / (count(a) + alpha V), the best any
    model that sees one previous character can do on the training text.

    Example:
    >>> model = BigramLM(3)
    >>> model.fit_counts([0, 1, 0, 1, 0, 2], alpha=0.0)
    >>> [round(float(p), 3) for p in np.exp(np.asarray(model(np.array([[0]])))[0, 0])]   # after 0: 1 twice, 2 once
    [0.0, 0.667, 0.333]
    """

    def __init__(self, vocab_size, context_length=None, **kwargs):
        super().__init__(vocab_size, context_length, **kwargs)
        self.table = keras.layers.Embedding(self.vocab_size, self.vocab_size, embeddings_initializer="zeros", name="table")
        self(np.zeros((1, 1), np.int32))

    def call(self, ids, training=False):
        return self.table(ids)

    def fit_counts(self, ids, alpha=1.0):
        """Set the table to log of the add-alpha smoothed bigram frequencies of ``ids`` (1-D)."""
        ids = self.check_ids(np.asarray(ids).reshape(1, -1))[0]
        alpha = float_in(alpha, 0.0, math.inf, "alpha", include_low=True, include_high=False)
        counts = np.zeros((self.vocab_size, self.vocab_size))
        np.add.at(counts, (ids[:-1], ids[1:]), 1.0)
        counts += alpha
        rows = counts.sum(axis=1, keepdims=True)
        # A character never followed by anything (with alpha = 0) gets a uniform row.
        probabilities = np.where(rows > 0, counts / np.where(rows > 0, rows, 1.0), 1.0 / self.vocab_size)
        with np.errstate(divide="ignore"):
            log_probabilities = np.maximum(np.log(probabilities), -1e4)
        self.table.embeddings.assign(log_probabilities.astype(np.float32))


@keras.saving.register_keras_serializable(package="genai_tf")
class CharGRU(LanguageModel):
    """Character GRU language model: Embedding -> GRU (all steps) -> Dense logits at every step.

    Sampling is stateful: :meth:`generate` feeds one token at a time and
    carries the GRU state, so each new token costs one step, not a re-read
    of the whole text.

    Args:
        vocab_size: number of tokens.
        embedding_dim: size of the character embedding.
        units: GRU state size.
        context_length: optional longest input (None: any length).
    """

    def __init__(self, vocab_size, embedding_dim=64, units=256, context_length=None, **kwargs):
        super().__init__(vocab_size, context_length, **kwargs)
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim")
        self.units = positive_int(units, "units")
        self.embedding = keras.layers.Embedding(self.vocab_size, self.embedding_dim)
        self.gru = keras.layers.GRU(self.units, return_sequences=True, return_state=True)
        self.head = keras.layers.Dense(self.vocab_size)
        self(np.zeros((1, 1), np.int32))

    def get_config(self):
        return {**super().get_config(), "embedding_dim": self.embedding_dim, "units": self.units}

    def call(self, ids, initial_state=None, return_state=False, training=False):
        outputs, state = self.gru(self.embedding(ids), initial_state=initial_state, training=training)
        logits = self.head(outputs)
        return (logits, state) if return_state else logits

    def _next_logits(self, ids, state):
        if state is None:
            state = tf.zeros((ids.shape[0], self.units))    # the GRU's own default initial state
        if getattr(self, "_step", None) is None:
            self._step = tf.function(
                lambda x, s: self(x, initial_state=s, return_state=True, training=False), reduce_retracing=True
            )
        logits, state = self._step(tf.constant(ids), state)
        return np.asarray(logits[:, -1]), state


@keras.saving.register_keras_serializable(package="genai_tf")
class CausalTransformer(LanguageModel):
    """A small decoder-only Transformer: token + position embeddings, pre-norm causal blocks, logits.

    Args:
        vocab_size: number of tokens.
        context_length: the longest input (positions have learned embeddings up to it).
        model_dim: width of the residual stream.
        num_heads: attention heads per block.
        num_layers: number of blocks.
        dropout: dropout rate inside the blocks.

    See Radford et al., "Language Models are Unsupervised Multitask Learners"
    (GPT-2), 2019, for the pre-norm decoder-only layout.
    """

    def __init__(self, vocab_size, context_length=128, model_dim=128, num_heads=4, num_layers=2, dropout=0.0, **kwargs):
        super().__init__(vocab_size, positive_int(context_length, "context_length"), **kwargs)
        self.model_dim = positive_int(model_dim, "model_dim")
        self.num_heads = positive_int(num_heads, "num_heads")
        self.num_layers = positive_int(num_layers, "num_layers")
        self.dropout = float_in(dropout, 0.0, 1.0, "dropout", include_low=True, include_high=False)
        self.token_embedding = keras.layers.Embedding(self.vocab_size, self.model_dim)
        self.position_embedding = keras.layers.Embedding(self.context_length, self.model_dim)
        self.blocks = [
            CausalSelfAttentionBlock(self.model_dim, self.num_heads, dropout=self.dropout, name=f"block_{i}")
            for i in range(self.num_layers)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5)
        self.head = keras.layers.Dense(self.vocab_size)
        self(np.zeros((1, 1), np.int32))

    def get_config(self):
        return {
            **super().get_config(),
            "model_dim": self.model_dim,
            "num_heads": self.num_heads,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
        }

    def call(self, ids, training=False):
        length = ids.shape[1]
        if length is not None and length > self.context_length:
            raise ValueError(
                f"The input has {length} tokens, more than context_length={self.context_length}."
            )
        positions = tf.range(tf.shape(ids)[1])
        x = self.token_embedding(ids) + self.position_embedding(positions)[None]
        for block in self.blocks:
            x = block(x, training=training)
        return self.head(self.final_norm(x))


def uniform_nll(vocab_size):
    """The per-token NLL of the uniform model, log V nats: its perplexity is exactly V."""
    return math.log(positive_int(vocab_size, "vocab_size"))
