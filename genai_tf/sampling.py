"""Sampling the next token from logits: temperature, top-k and nucleus (top-p), seeded."""

import numpy as np

from genai_tf.validation import float_in, positive_float, positive_int


def _check_logits(logits):
    logits = np.asarray(logits, np.float64)
    if logits.ndim != 2 or logits.shape[1] < 1:
        raise ValueError(f"logits must have shape (batch_size, vocab_size). Received: logits.shape={logits.shape}")
    if not np.all(np.isfinite(logits)):
        raise ValueError("logits must be finite.")
    return logits


def filter_logits(logits, top_k=None, top_p=None):
    """Set the logits of tokens outside the allowed set to -inf (top-k, then nucleus).

    Formula:
        top-k: keep the k largest logits of each row.
        top-p: keep the smallest set of most likely tokens whose probabilities
               sum to at least p (always at least the most likely one).

    See Holtzman et al., "The Curious Case of Neural Text Degeneration", 2019
    (https://arxiv.org/abs/1904.09751), for nucleus sampling.

    Args:
        logits: (batch_size, vocab_size) floats.
        top_k: None or an int in [1, vocab_size].
        top_p: None or a float in (0, 1].

    Returns:
        float64 array of the same shape; removed entries are -inf.

    Example:
    >>> filter_logits([[1.0, 3.0, 2.0, 0.0]], top_k=2).tolist()
    [[-inf, 3.0, 2.0, -inf]]
    >>> filter_logits(np.log([[0.5, 0.3, 0.15, 0.05]]), top_p=0.75).round(3).tolist()
    [[-0.693, -1.204, -inf, -inf]]
    """
    logits = _check_logits(logits).copy()
    vocab_size = logits.shape[1]
    if top_k is not None:
        top_k = positive_int(top_k, "top_k")
        if top_k > vocab_size:
            raise ValueError(f"top_k must be at most vocab_size={vocab_size}. Received: top_k={top_k!r}")
        # Ties at the k-th value are broken by keeping the first k in order of decreasing logit.
        order = np.argsort(-logits, axis=1, kind="stable")
        keep = np.zeros_like(logits, dtype=bool)
        np.put_along_axis(keep, order[:, :top_k], True, axis=1)
        logits[~keep] = -np.inf
    if top_p is not None:
        top_p = float_in(top_p, 0.0, 1.0, "top_p")
        order = np.argsort(-logits, axis=1, kind="stable")
        sorted_logits = np.take_along_axis(logits, order, axis=1)
        probabilities = np.exp(sorted_logits - sorted_logits[:, :1])
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        cumulative = np.cumsum(probabilities, axis=1)
        # Keep a token if the mass before it is still below p: this keeps the smallest sufficient set.
        keep_sorted = (cumulative - probabilities) < top_p
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=1)
        logits[~keep] = -np.inf
    return logits


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, rng=None):
    """Draw one token per row from softmax(logits / temperature), restricted by top-k and top-p.

    Formula:
        p_i = exp(l_i / tau) / sum_j exp(l_j / tau) over the allowed tokens

    tau -> 0 approaches greedy decoding; tau = 1 samples the model's own
    distribution; tau > 1 flattens it.

    Args:
        logits: (batch_size, vocab_size).
        temperature: tau, a finite number > 0.
        top_k, top_p: see :func:`filter_logits`.
        rng: a ``numpy.random.Generator`` or an int seed (the same seed gives the same tokens).

    Returns:
        int32 array (batch_size,).

    Example:
    >>> sample_next([[0.0, 0.0, 50.0]], rng=0).tolist()
    [2]
    """
    # Near-greedy decoding is a small temperature; 0 is refused (it would divide by zero).
    temperature = positive_float(temperature, "temperature")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    logits = _check_logits(logits)
    with np.errstate(over="ignore"):
        scaled = logits / temperature
    if not np.all(np.isfinite(scaled)):
        # A tiny temperature overflows the logits to inf, and inf - inf would give NaN probabilities.
        raise ValueError(
            f"temperature={temperature!r} is too small for these logits: logits / temperature overflows "
            f"(largest |logit| {np.abs(logits).max():g}). Use a larger temperature, or greedy decoding "
            "(argmax), the limit as the temperature goes to 0."
        )
    logits = filter_logits(scaled, top_k, top_p)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return np.array([rng.choice(logits.shape[1], p=row) for row in probabilities], dtype=np.int32)
