"""Character-level text for the language models: an offline corpus, a vocabulary, shifted windows.

The corpus is CPython's pydoc topics text (``pydoc_data.topics``): the
reference-manual sections that ``help("if")`` prints, about 465,000
characters of English prose and code in 79 topics. It ships with every
Python installation, so nothing downloads.
"""

import hashlib
import math

import numpy as np

# Typographic characters replaced by ASCII, so the vocabulary is printable ASCII plus newline.
ASCII_REPLACEMENTS = {
    "\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'",
    "\u2014": "--", "\u2013": "-", "\u2026": "...", "\u00a0": " ",
}
HELD_OUT_FRACTION = 0.1
SPLIT_SEED = "genai-tf"


def _normalise(text):
    for old, new in ASCII_REPLACEMENTS.items():
        text = text.replace(old, new)
    # Anything else outside printable ASCII (a few accented letters and symbols) is dropped.
    return "".join(ch for ch in text if ch == "\n" or " " <= ch <= "~")


def corpus_topics():
    """The names of the pydoc topics, sorted."""
    from pydoc_data.topics import topics

    return sorted(topics)


def split_topics(held_out_fraction=HELD_OUT_FRACTION):
    """A fixed split of the topics: (train_names, test_names).

    Topics are ordered by the SHA-256 of ``SPLIT_SEED:name`` (stable across
    Python and NumPy versions) and the first ``ceil(fraction * 79)`` are held out.
    """
    if not 0.0 < held_out_fraction < 1.0:
        raise ValueError(f"held_out_fraction must be in (0, 1). Received: held_out_fraction={held_out_fraction!r}")
    names = corpus_topics()
    ranked = sorted(names, key=lambda n: hashlib.sha256(f"{SPLIT_SEED}:{n}".encode()).hexdigest())
    n_test = math.ceil(held_out_fraction * len(names))
    test = set(ranked[:n_test])
    return [n for n in names if n not in test], [n for n in names if n in test]


def load_text(split="train"):
    """The pydoc-topics corpus as one string per split, normalised to printable ASCII and newlines.

    Args:
        split: "train" (about 90% of the topics), "test" (the held-out 10%,
            whole topics, so no sentence is shared) or "all".

    Returns:
        str.

    Example:
    >>> train, test = load_text("train"), load_text("test")
    >>> len(train) > 5 * len(test) > 0, "help" in train.lower()
    (True, True)
    """
    from pydoc_data.topics import topics

    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all'. Received: split={split!r}")
    train_names, test_names = split_topics()
    names = {"train": train_names, "test": test_names, "all": corpus_topics()}[split]
    return "\n\n".join(_normalise(topics[name]).strip("\n") for name in names)


class CharVocabulary:
    """A character vocabulary: characters <-> integer ids, sorted by character.

    Args:
        text: the characters to include (typically the training text).

    Example:
    >>> vocabulary = CharVocabulary("hello")
    >>> vocabulary.size, vocabulary.encode("hole").tolist(), vocabulary.decode([3, 0])
    (4, [1, 3, 2, 0], 'oe')
    """

    def __init__(self, text):
        chars = sorted(set(text))
        if not chars:
            raise ValueError("CharVocabulary needs a non-empty text.")
        self.chars = chars
        self.index = {ch: i for i, ch in enumerate(chars)}

    @property
    def size(self):
        return len(self.chars)

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        """int32 ids of the characters; an unknown character raises ValueError naming it."""
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(
                f"Characters not in the vocabulary of {self.size}: {unknown[:10]!r}. "
                "Build the vocabulary from text that contains them, or remove them "
                "(genai_tf.text.load_text normalises typographic quotes and dashes to ASCII)."
            )
        return np.fromiter((self.index[ch] for ch in text), dtype=np.int32, count=len(text))

    def decode(self, ids):
        """The string of a sequence of ids; an id outside [0, size) raises ValueError."""
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(f"ids must be in [0, {self.size}). Received: ids in [{ids.min()}, {ids.max()}]")
        return "".join(self.chars[i] for i in ids)


def make_windows(ids, context_length, stride=None):
    """(inputs, targets) windows of a token sequence, the targets shifted by one (teacher forcing).

    Formula:
        inputs[i]  = ids[s_i     : s_i + T]
        targets[i] = ids[s_i + 1 : s_i + T + 1],   s_i = i * stride

    so at every position t the model sees tokens up to t and is scored on
    token t + 1: one training signal per position, T per window.

    Args:
        ids: 1-D int array of token ids.
        context_length: T, the window length, > 0.
        stride: step between window starts, > 0; defaults to T (no overlap).

    Returns:
        (inputs, targets): int32 arrays (num_windows, T).

    Example:
    >>> inputs, targets = make_windows(np.arange(7), 3)
    >>> inputs.tolist(), targets.tolist()
    ([[0, 1, 2], [3, 4, 5]], [[1, 2, 3], [4, 5, 6]])
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be a 1-D sequence of token ids. Received: ids.shape={ids.shape}")
    if isinstance(context_length, bool) or not isinstance(context_length, (int, np.integer)) or context_length < 1:
        raise ValueError(f"context_length must be a positive integer. Received: context_length={context_length!r}")
    stride = context_length if stride is None else stride
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be a positive integer. Received: stride={stride!r}")
    if len(ids) < context_length + 1:
        raise ValueError(
            f"ids has {len(ids)} tokens, too few: a window of context_length={context_length} needs at least {context_length + 1}."
        )
    starts = np.arange(0, len(ids) - context_length, stride)
    offsets = np.arange(context_length)
    inputs = ids[starts[:, None] + offsets]
    targets = ids[starts[:, None] + offsets + 1]
    return inputs.astype(np.int32), targets.astype(np.int32)


def random_windows(ids, context_length, batch_size, num_windows=None, seed=0):
    """A ``tf.data`` pipeline of (input, target shifted by one) windows starting anywhere in the text.

    :func:`make_windows` cuts a text at multiples of T, so every epoch would
    show the model the same windows, each character always at the same
    position. Here every epoch draws ``num_windows`` window starts at random
    (without replacement) from all ``len(ids) - T`` possible ones: over the
    epochs the model sees every character at every position of the window,
    which acts as data augmentation and delays overfitting on a small
    corpus. Held-out windows stay fixed (use :func:`make_windows`).

    The windows are gathered inside the pipeline, so only the start indices
    are held in memory, and iterating a new epoch reshuffles them: pass the
    dataset straight to ``fit(dataset, epochs=...)``. With the same global
    seed (:func:`genai_tf.set_seed`) and ``seed``, the same batches come out
    in the same order.

    Args:
        ids: 1-D int array, the training text as token ids.
        context_length: T, the window length.
        batch_size: windows per batch; a last, smaller batch is dropped.
        num_windows: windows per epoch; defaults to ``(len(ids) - 1) // T``,
            one pass over the text's characters.
        seed: seed of the shuffle.

    Returns:
        ``tf.data.Dataset`` of (inputs, targets), each int32 (batch_size, T).

    Example:
    >>> data = random_windows(np.arange(100), context_length=8, batch_size=4, seed=0)
    >>> inputs, targets = next(iter(data))
    >>> tuple(inputs.shape), bool(np.all(targets.numpy() == inputs.numpy() + 1)), len(data)
    ((4, 8), True, 3)
    """
    import tensorflow as tf

    ids, num_starts, num_windows = _check_window_arguments(ids, context_length, batch_size, num_windows)
    return (
        tf.data.Dataset.range(num_starts)
        .shuffle(num_starts, seed=seed, reshuffle_each_iteration=True)
        .take(num_windows)
        .batch(batch_size, drop_remainder=True)
        .map(_window_gather(ids, context_length))
        .prefetch(2)
    )


def _window_gather(ids, context_length):
    """A function from window starts (batch,) to (inputs, targets), each int32 (batch, T)."""
    import tensorflow as tf

    text = tf.constant(np.asarray(ids).astype(np.int32))
    offsets = tf.range(context_length + 1, dtype=tf.int64)

    def gather(starts):
        chunk = tf.gather(text, starts[:, None] + offsets)   # (batch, T + 1)
        return chunk[:, :-1], chunk[:, 1:]

    return gather


def _check_window_arguments(ids, context_length, batch_size, num_windows):
    """Validate the arguments of the window pipelines; returns (ids, number of window starts, num_windows)."""
    ids = np.asarray(ids)
    make_windows(ids, context_length)                     # validates ids and context_length
    for name, value in (("batch_size", batch_size), ("num_windows", num_windows)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
    num_starts = len(ids) - context_length
    num_windows = (len(ids) - 1) // context_length if num_windows is None else num_windows
    if num_windows > num_starts:
        raise ValueError(f"num_windows={num_windows} is more than the {num_starts} windows the text has.")
    if num_windows < batch_size:
        raise ValueError(f"num_windows={num_windows} is fewer than batch_size={batch_size}: no full batch.")
    return ids, num_starts, num_windows


def window_batches(ids, context_length, batch_size, num_windows=None, seed=0):
    """An endless, stateless stream of random window batches, for a resumable training loop.

    The windows of :func:`random_windows`, drawn so that batch ``k`` of the
    stream is a pure function of ``(seed, k)``: epoch ``e = k // steps_per_epoch``
    is a permutation of all ``len(ids) - T`` window starts keyed by
    ``(seed, e)`` (``tf.random.experimental.index_shuffle``, so no permutation
    is ever stored), and the epoch's batches are its first ``num_windows``
    starts in order. Windows are therefore drawn without replacement within
    an epoch and afresh in the next one.

    Nothing depends on a random state or a shuffle buffer: the position in
    the stream is one integer, so a checkpointed iterator
    (:class:`genai_tf.training.Trainer`) is a few bytes and resumes exactly,
    and the same arguments give the same batches on any machine.
    :func:`random_windows` instead suits ``fit(data, epochs=...)``, which
    starts every epoch with a new iteration over a finite dataset.

    Args:
        ids: 1-D int array, the training text as token ids.
        context_length: T, the window length.
        batch_size: windows per batch.
        num_windows: windows per epoch; defaults to ``(len(ids) - 1) // T``,
            one pass over the text's characters. Rounded down to whole batches.
        seed: non-negative int, the key of the permutations.

    Returns:
        An infinite ``tf.data.Dataset`` of (inputs, targets), each int32
        (batch_size, T), targets shifted by one.

    Example:
    >>> data = window_batches(np.arange(100), context_length=8, batch_size=4, seed=0)
    >>> batches = [inputs.numpy() for inputs, _ in data.take(6)]
    >>> epoch_1, epoch_2 = np.concatenate(batches[:3])[:, 0], np.concatenate(batches[3:])[:, 0]
    >>> len(set(epoch_1)), bool(np.all(epoch_1 < 92)), epoch_1.tolist() == epoch_2.tolist()
    (12, True, False)
    """
    import tensorflow as tf

    ids, num_starts, num_windows = _check_window_arguments(ids, context_length, batch_size, num_windows)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer. Received: seed={seed!r}")
    steps_per_epoch = num_windows // batch_size
    gather = _window_gather(ids, context_length)
    positions = tf.range(batch_size, dtype=tf.int64)
    max_index = tf.constant(num_starts - 1, tf.int64)

    def batch(step):
        epoch = step // steps_per_epoch
        index = (step % steps_per_epoch) * batch_size + positions
        starts = tf.random.experimental.index_shuffle(
            index, seed=tf.stack([tf.constant(int(seed), tf.int64), epoch]), max_index=max_index
        )
        return gather(starts)

    return tf.data.Dataset.counter(dtype=tf.int64).map(batch).prefetch(2)


def bits_per_character(mean_nll_nats):
    """Mean negative log-likelihood per character in nats -> bits per character (divide by ln 2)."""
    return mean_nll_nats / math.log(2.0)


def perplexity(mean_nll_nats):
    """exp(mean negative log-likelihood per token): the effective number of equally likely choices.

    A uniform model over V tokens has perplexity exactly V.

    Example:
    >>> round(perplexity(math.log(97.0)), 6)
    97.0
    """
    return math.exp(mean_nll_nats)
