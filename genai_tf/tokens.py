"""Tokens for the language models: one vocabulary interface, one window pipeline.

A :class:`Vocabulary` maps items (a text, a melody) to int32 token ids and
back, and saves itself as a small JSON record (``{"kind": ..., "tokens":
[...]}``, the ``vocabulary.json`` of a run folder) that
:func:`vocabulary_from_json` turns back into the same vocabulary, with the
same ids. :class:`CharVocabulary` (characters) and :class:`MelodyVocabulary`
(notes) implement it.

The windows are the same for every vocabulary: a token stream is cut into
(input, target) pairs, the target shifted by one token (teacher forcing),
either at fixed starts (:func:`make_windows`, :func:`make_window_dataset`)
or at random ones (:func:`random_windows`, :func:`window_batches`).
"""

import abc

import numpy as np

from genai_tf.music import validate_melody
from genai_tf.validation import non_negative_int, positive_int

# --- vocabularies -----------------------------------------------------------------------------


class Vocabulary(abc.ABC):
    """The interface of a vocabulary: encode, decode, size, to_json, from_json.

    A subclass sets ``KIND`` (the record's ``"kind"``, which registers it for
    :func:`vocabulary_from_json`) and implements ``size``, ``encode``,
    ``decode``, ``json_tokens`` (its tokens as JSON values, in id order) and
    the classmethod ``from_tokens`` (the inverse of ``json_tokens``).
    """

    KIND = None
    _KINDS = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.KIND is not None:
            Vocabulary._KINDS[cls.KIND] = cls

    @property
    @abc.abstractmethod
    def size(self):
        """Number of token ids, the model's output width."""

    def __len__(self):
        return self.size

    @abc.abstractmethod
    def encode(self, item):
        """int32 token ids of an item (a text, a melody)."""

    @abc.abstractmethod
    def decode(self, ids):
        """The item of a sequence of token ids."""

    @abc.abstractmethod
    def json_tokens(self):
        """The tokens as a JSON-ready list, in id order."""

    @classmethod
    @abc.abstractmethod
    def from_tokens(cls, tokens):
        """The vocabulary whose :meth:`json_tokens` are ``tokens``."""

    def to_json(self):
        """A JSON-ready record of the vocabulary: ``{"kind": KIND, "tokens": [...]}``."""
        return {"kind": self.KIND, "tokens": self.json_tokens()}

    @classmethod
    def from_json(cls, record):
        """The vocabulary a :meth:`to_json` record describes, with the same token ids.

        Called on :class:`Vocabulary` itself, the record's ``"kind"`` chooses
        the subclass; called on a subclass, the kind must be that subclass's.

        Raises:
            ValueError: a record that is not a dict with a known ``"kind"``
                (of this class) and a list of ``"tokens"``.
        """
        kinds = cls._KINDS if cls is Vocabulary else {cls.KIND: cls}
        kind = record.get("kind") if isinstance(record, dict) else None
        if kind not in kinds or not isinstance(record.get("tokens"), list):
            expected = " or ".join(repr(k) for k in kinds)
            raise ValueError(f"A vocabulary record has kind {expected} and a list of tokens. Received: {record!r}"[:300])
        return kinds[kind].from_tokens(record["tokens"])


def vocabulary_from_json(record):
    """The vocabulary of a :meth:`Vocabulary.to_json` record, of the kind the record names.

    Example:
    >>> vocabulary_from_json({"kind": "characters", "tokens": ["a", "b"]}).encode("ba").tolist()
    [1, 0]
    """
    return Vocabulary.from_json(record)


class CharVocabulary(Vocabulary):
    """A character vocabulary: characters <-> integer ids, sorted by character.

    Args:
        text: the characters to include (typically the training text).

    Example:
    >>> vocabulary = CharVocabulary("hello")
    >>> vocabulary.size, vocabulary.encode("hole").tolist(), vocabulary.decode([3, 0])
    (4, [1, 3, 2, 0], 'oe')
    >>> CharVocabulary.from_json(vocabulary.to_json()).chars == vocabulary.chars
    True
    """

    KIND = "characters"

    def __init__(self, text):
        chars = sorted(set(text))
        if not chars:
            raise ValueError(f"CharVocabulary needs a non-empty text. Received: text={text!r}")
        self.chars = chars
        self.index = {ch: i for i, ch in enumerate(chars)}

    @property
    def size(self):
        """Number of distinct characters."""
        return len(self.chars)

    def __repr__(self):
        return f"CharVocabulary(size={self.size})"

    def encode(self, text):
        """int32 ids of the characters; an unknown character raises ValueError naming it."""
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(
                f"Characters not in the vocabulary of {self.size}: {unknown[:10]!r}. "
                "Build the vocabulary from text that contains them, or remove them "
                "(genai_tf.datasets.text.load_text normalises typographic quotes and dashes to ASCII)."
            )
        return np.fromiter((self.index[ch] for ch in text), dtype=np.int32, count=len(text))

    def decode(self, ids):
        """The string of a sequence of ids; an id outside [0, size) raises ValueError."""
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(f"ids must be in [0, {self.size}). Received: ids in [{ids.min()}, {ids.max()}]")
        return "".join(self.chars[i] for i in ids)

    def json_tokens(self):
        """The characters, in id order."""
        return list(self.chars)

    @classmethod
    def from_tokens(cls, tokens):
        """The vocabulary of a list of single characters."""
        if not all(isinstance(token, str) and len(token) == 1 for token in tokens):
            raise ValueError(f"Character tokens must be single characters. Received: tokens={tokens!r}"[:300])
        return cls("".join(tokens))


class MelodyVocabulary(Vocabulary):
    """One token per (pitch, duration) note seen in the training melodies, plus special tokens.

    Token ids: 0 = ``PAD`` (padding), 1 = ``START``, 2 = ``END``, then the
    notes sorted by (pitch, duration), rests (pitch -1) first. There is no
    unknown token: encoding a note that is not in the vocabulary raises a
    ``ValueError`` naming it (use :meth:`contains` to filter first).

    Args:
        melodies: the training melodies (see :mod:`genai_tf.music`); every
            distinct note becomes a token.

    Example:
    >>> vocabulary = MelodyVocabulary([[(60, 1.0), (62, 0.5), (60, 1.0)]])
    >>> len(vocabulary), vocabulary.encode([(62, 0.5), (60, 1.0)]).tolist()
    (5, [1, 4, 3, 2])
    >>> vocabulary.decode([1, 4, 3, 2])
    [(62, 0.5), (60, 1.0)]
    """

    KIND = "notes"
    PAD = 0
    START = 1
    END = 2
    SPECIAL_TOKENS = ("<pad>", "<start>", "<end>")

    def __init__(self, melodies):
        if isinstance(melodies, (str, bytes)) or not hasattr(melodies, "__len__") or len(melodies) == 0:
            raise ValueError(f"melodies must be a non-empty list of melodies. Received: melodies={melodies!r}")
        seen = set()
        for index, melody in enumerate(melodies):
            seen.update(validate_melody(melody, argument=f"melodies[{index}]"))
        self.notes = sorted(seen)
        self._ids = {note: index + len(self.SPECIAL_TOKENS) for index, note in enumerate(self.notes)}

    @property
    def size(self):
        """Number of tokens, special tokens included (the model's output width)."""
        return len(self.SPECIAL_TOKENS) + len(self.notes)

    def __repr__(self):
        return f"MelodyVocabulary(size={len(self)}, notes={len(self.notes)})"

    def contains(self, melody):
        """Whether every note of a melody has a token."""
        return all(note in self._ids for note in validate_melody(melody))

    def token_to_note(self, token):
        """The ``(pitch, duration)`` of a note token; a ``ValueError`` for special or unknown ids."""
        if isinstance(token, bool) or not isinstance(token, (int, np.integer)) or not (
            len(self.SPECIAL_TOKENS) <= token < len(self)
        ):
            raise ValueError(
                f"token must be a note id in [{len(self.SPECIAL_TOKENS)}, {len(self)}). Received: token={token!r}"
            )
        return self.notes[int(token) - len(self.SPECIAL_TOKENS)]

    def encode(self, melody, add_start_end=True):
        """Token ids of a melody, ``START`` first and ``END`` last by default.

        Args:
            melody: list of ``(pitch, duration)`` notes.
            add_start_end: wrap the notes in ``START`` ... ``END``.

        Returns:
            int32 array of shape (len(melody) + 2,), or (len(melody),).

        Raises:
            ValueError: for an empty melody, a malformed note, or a note with
                no token (not seen in the training melodies).
        """
        notes = validate_melody(melody)
        ids = []
        for index, note in enumerate(notes):
            if note not in self._ids:
                raise ValueError(
                    f"melody[{index}] = {note} is not in the vocabulary (no training melody has this "
                    f"pitch and duration). Received: melody[{index}]={melody[index]!r}"
                )
            ids.append(self._ids[note])
        if add_start_end:
            ids = [self.START, *ids, self.END]
        return np.asarray(ids, dtype=np.int32)

    def decode(self, tokens):
        """The melody of a token sequence: ``PAD`` and ``START`` are skipped, ``END`` stops it.

        Args:
            tokens: 1-D sequence of ids in [0, len(vocabulary)).

        Returns:
            List of ``(pitch, duration)`` notes, possibly empty.

        Raises:
            ValueError: for an id outside the vocabulary.
        """
        tokens = np.asarray(tokens)
        if tokens.ndim != 1 or not np.issubdtype(tokens.dtype, np.integer) and tokens.size:
            raise ValueError(f"tokens must be a 1-D sequence of integer ids. Received: tokens={tokens!r}")
        melody = []
        for index, token in enumerate(tokens.tolist()):
            if not 0 <= token < len(self):
                raise ValueError(
                    f"tokens[{index}] is not a token id in [0, {len(self)}). Received: tokens[{index}]={token}"
                )
            if token == self.END:
                break
            if token in (self.PAD, self.START):
                continue
            melody.append(self.notes[token - len(self.SPECIAL_TOKENS)])
        return melody

    def json_tokens(self):
        """The notes as ``[pitch, duration]`` pairs, in id order (special tokens left out)."""
        return [[pitch, duration] for pitch, duration in self.notes]

    @classmethod
    def from_tokens(cls, tokens):
        """The vocabulary of a list of ``[pitch, duration]`` pairs."""
        try:
            notes = [(int(pitch), float(duration)) for pitch, duration in tokens]
        except (TypeError, ValueError):
            raise ValueError(f"Note tokens must be [pitch, duration] pairs. Received: tokens={tokens!r}"[:300]) from None
        return cls([notes])


# --- windows ----------------------------------------------------------------------------------


def token_stream(ids):
    """One 1-D integer array from a token sequence or a list of sequences (joined end to end).

    Args:
        ids: a 1-D sequence of integer ids, or a list (or tuple) of such
            sequences, e.g. one per melody, each ``START`` ... ``END``.

    Returns:
        1-D integer array.

    Example:
    >>> token_stream([np.array([1, 5, 2]), [1, 7, 2]]).tolist(), token_stream(np.arange(3)).tolist()
    ([1, 5, 2, 1, 7, 2], [0, 1, 2])
    """
    nested = isinstance(ids, (list, tuple)) and len(ids) > 0 and all(np.ndim(part) == 1 for part in ids)
    arrays = [np.asarray(part) for part in ids] if nested else [np.asarray(ids)]
    for array in arrays:
        if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
            raise ValueError(
                "ids must be a 1-D sequence of integer token ids or a list of them. "
                f"Received: an array of shape {array.shape} and dtype {array.dtype}"
            )
    return np.concatenate(arrays) if nested else arrays[0]


def make_windows(ids, context_length, stride=None):
    """(inputs, targets) windows of a token stream, the targets shifted by one (teacher forcing).

    A list of sequences (one per melody, say) is first joined end to end
    into one stream (:func:`token_stream`).

    Formula:
        inputs[i]  = ids[s_i     : s_i + T]
        targets[i] = ids[s_i + 1 : s_i + T + 1],   s_i = i * stride

    so at every position t the model sees tokens up to t and is scored on
    token t + 1: one training signal per position, T per window.

    Args:
        ids: 1-D int array of token ids, or a list of them.
        context_length: T, the window length, > 0.
        stride: step between window starts, > 0; defaults to T (no overlap).

    Returns:
        (inputs, targets): int32 arrays (num_windows, T),
        ``num_windows = (len(stream) - T - 1) // stride + 1``.

    Example:
    >>> inputs, targets = make_windows(np.arange(7), 3)
    >>> inputs.tolist(), targets.tolist()
    ([[0, 1, 2], [3, 4, 5]], [[1, 2, 3], [4, 5, 6]])
    >>> inputs, targets = make_windows([np.array([1, 5, 6, 2]), np.array([1, 7, 2])], context_length=3, stride=2)
    >>> inputs.tolist(), targets.tolist()
    ([[1, 5, 6], [6, 2, 1]], [[5, 6, 2], [2, 1, 7]])
    """
    ids = token_stream(ids)
    context_length = positive_int(context_length, "context_length")
    stride = positive_int(context_length if stride is None else stride, "stride")
    if len(ids) < context_length + 1:
        raise ValueError(
            f"ids has {len(ids)} tokens, too few: a window of context_length={context_length} needs at least {context_length + 1}."
        )
    starts = np.arange(0, len(ids) - context_length, stride)
    offsets = np.arange(context_length)
    inputs = ids[starts[:, None] + offsets]
    targets = ids[starts[:, None] + offsets + 1]
    return inputs.astype(np.int32), targets.astype(np.int32)


def count_windows(num_tokens, context_length, stride=None):
    """How many windows :func:`make_windows` cuts from a stream of ``num_tokens`` tokens (0 when too short).

    Formula:
        num_windows = (num_tokens - T - 1) // stride + 1   if num_tokens > T, else 0

    Args:
        num_tokens: the stream's length, >= 0.
        context_length: T, the window length, > 0.
        stride: step between window starts, > 0; defaults to T (no overlap).

    Example:
    >>> count_windows(7, 3), count_windows(111, 64, stride=8), count_windows(64, 64)
    (2, 6, 0)
    """
    num_tokens = non_negative_int(num_tokens, "num_tokens")
    context_length = positive_int(context_length, "context_length")
    stride = positive_int(context_length if stride is None else stride, "stride")
    return (num_tokens - context_length - 1) // stride + 1 if num_tokens > context_length else 0


def make_window_dataset(inputs, targets, batch_size=64, shuffle=True, seed=0, **kwargs):
    """A ``tf.data`` pipeline of (input, target) window batches (:func:`genai_tf.datasets.make_dataset`).

    Args:
        inputs, targets: int32 arrays (n_windows, context_length) from :func:`make_windows`.
        batch_size, shuffle, seed, **kwargs: as for ``make_dataset`` (which
            drops the last, smaller batch by default).

    Returns:
        A ``tf.data.Dataset`` of ``(inputs, targets)`` batches.
    """
    from genai_tf.datasets.images import make_dataset

    inputs, targets = np.asarray(inputs), np.asarray(targets)
    if inputs.ndim != 2 or inputs.shape != targets.shape:
        raise ValueError(
            "inputs and targets must be 2-D arrays of one shape (n_windows, context_length). "
            f"Received: inputs.shape={inputs.shape}, targets.shape={targets.shape}"
        )
    return make_dataset(inputs, targets, batch_size=batch_size, shuffle=shuffle, seed=seed, **kwargs)


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
        ids: 1-D int array, the training text as token ids (or a list of
            sequences, joined by :func:`token_stream`).
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
    ids = token_stream(ids)
    make_windows(ids, context_length)                     # validates ids and context_length
    batch_size = positive_int(batch_size, "batch_size")
    num_windows = positive_int(num_windows, "num_windows", allow_none=True)
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
        ids: 1-D int array, the training text as token ids (or a list of
            sequences, joined by :func:`token_stream`).
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
    seed = non_negative_int(seed, "seed")
    steps_per_epoch = num_windows // batch_size
    gather = _window_gather(ids, context_length)
    positions = tf.range(batch_size, dtype=tf.int64)
    max_index = tf.constant(num_starts - 1, tf.int64)

    def batch(step):
        epoch = step // steps_per_epoch
        index = (step % steps_per_epoch) * batch_size + positions
        starts = tf.random.experimental.index_shuffle(
            index, seed=tf.stack([tf.constant(seed, tf.int64), epoch]), max_index=max_index
        )
        return gather(starts)

    return tf.data.Dataset.counter(dtype=tf.int64).map(batch).prefetch(2)


# --- repetition and copying -------------------------------------------------------------------


def _id_string(ids, name):
    """A token sequence as a str, one character per id + 1 (so ``in`` finds whole-token n-grams; chr(0) is free)."""
    ids = token_stream(ids)
    if ids.size and ids.min() < 0:
        raise ValueError(f"{name} must be non-negative token ids. Received: min id {ids.min()}")
    return "".join(chr(i + 1) for i in ids.tolist())


def longest_run(ids):
    """(length, token) of the longest run of one repeated token in a 1-D sequence; (0, None) when empty.

    Example:
    >>> longest_run([3, 5, 5, 5, 3, 3])
    (3, 5)
    """
    ids, best = token_stream(ids), (0, None)
    start = 0
    for end in range(1, len(ids) + 1):
        if end == len(ids) or ids[end] != ids[start]:
            best = max(best, (end - start, int(ids[start])), key=lambda run: run[0])
            start = end
    return best


def longest_shared_ngram(ids, corpus):
    """The length of the longest run of consecutive tokens of ``ids`` that also occurs in ``corpus``.

    Formula: max { n : ids[i : i + n] == s[j : j + n] for some i, some sequence s of the corpus and j }.
    A copying check: a model that memorised its training melodies shares
    long n-grams with them; n-grams never cross from one corpus sequence
    into the next.

    Args:
        ids: 1-D sequence of non-negative token ids.
        corpus: a 1-D sequence of ids or a list of them.

    Example:
    >>> longest_shared_ngram([7, 1, 2, 3, 9], [[0, 1, 2, 3, 4], [9, 7]]), longest_shared_ngram([8], [[1]])
    (3, 0)
    """
    query = _id_string(ids, "ids")
    parts = corpus if isinstance(corpus, (list, tuple)) and all(np.ndim(p) == 1 for p in corpus) else [corpus]
    text = "\0".join(_id_string(part, "corpus") for part in parts)   # chr(0) stands between sequences
    best, end = 0, 0
    for start in range(len(query)):   # the match from start + 1 reaches at least as far as the one from start
        end = max(end, start)
        while end < len(query) and query[start : end + 1] in text:
            end += 1
        best = max(best, end - start)
    return best
