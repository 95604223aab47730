"""The language models of notebooks 09 and 10 in one place: recipes, corpora, samples and scores.

The image models have :mod:`genai_tf.zoo`; this is its counterpart for the
autoregressive models, used by notebooks 09 and 10, by
``benchmarks/language_models.py`` and by the command line
(``python -m genai_tf train char_gru``):

- ``char_gru``: notebook 09's character GRU (embedding 64, 256 units);
- ``char_transformer``: notebook 09's causal Transformer (context 64,
  d = 128, 4 heads, 2 blocks);
- ``melody_gru``: notebook 10's GRU (embedding 64, 128 units) on Bach
  chorale soprano melodies.

A recipe is the architecture, the optimizer (:func:`make_optimizer`), the
batch size and the training length in epochs of its notebook's full mode.
The two text models use Adam with beta_2 = 0.99, gradients clipped at norm
1, 100 warm-up steps (at most half the run) and then a cosine decay to a
tenth of the peak learning rate over the rest of the run; the melody model
uses Adam at a constant 2e-3.

Example:
>>> sorted(ENTRIES)
['char_gru', 'char_transformer', 'melody_gru']
>>> ENTRIES["char_transformer"].batch_size, ENTRIES["char_transformer"].peak_learning_rate
(32, 0.005)
"""

import dataclasses
import math
from typing import NamedTuple

import keras
import numpy as np

from genai_tf.models.base import check_positive_int

# Corpora, by the name the command line's --dataset uses.
PYDOC_TOPICS = "pydoc_topics"
BACH_CHORALES = "bach_chorales"
MELODY_STRIDE = 8          # notebook 10 cuts a training window every 8 tokens
MAX_WARMUP_STEPS = 100
FINAL_LEARNING_RATE_FRACTION = 0.1
BIGRAM_ALPHA = {PYDOC_TOPICS: 1.0, BACH_CHORALES: 0.1}   # the add-alpha smoothing of each notebook's bigram


@dataclasses.dataclass(frozen=True)
class LanguageEntry:
    """One language model of the curriculum.

    Attributes:
        key: short name (the command line's MODEL).
        title: name in tables.
        notebook: the notebook that teaches it.
        corpus: :data:`PYDOC_TOPICS` (characters) or :data:`BACH_CHORALES` (notes).
        architecture: "gru" or "transformer".
        layer_sizes: the model's size arguments, as (name, value) pairs.
        context_length: T, the window length of training and held-out windows.
        batch_size: windows per step.
        epochs: the notebook's full-mode training length.
        peak_learning_rate: Adam's learning rate (the peak of the warm-up and
            cosine schedule when ``warmup_cosine``).
        warmup_cosine: whether the learning rate follows :func:`make_optimizer`'s schedule.
    """

    key: str
    title: str
    notebook: str
    corpus: str
    architecture: str
    layer_sizes: tuple
    context_length: int
    batch_size: int
    epochs: int
    peak_learning_rate: float
    warmup_cosine: bool


ENTRIES = {
    entry.key: entry
    for entry in (
        LanguageEntry(
            "char_gru", "character GRU", "09_autoregressive_text", PYDOC_TOPICS, "gru",
            (("embedding_dim", 64), ("units", 256)), 64, 64, 8, 4e-3, True,
        ),
        LanguageEntry(
            "char_transformer", "causal Transformer", "09_autoregressive_text", PYDOC_TOPICS, "transformer",
            (("model_dim", 128), ("num_heads", 4), ("num_layers", 2)), 64, 32, 8, 5e-3, True,
        ),
        LanguageEntry(
            "melody_gru", "melody GRU", "10_music_generation", BACH_CHORALES, "gru",
            (("embedding_dim", 64), ("units", 128)), 64, 64, 12, 2e-3, False,
        ),
    )
}


def entry(key):
    """The :class:`LanguageEntry` of ``key``, with an error that lists the keys."""
    if key not in ENTRIES:
        raise ValueError(f"Unknown language model {key!r}. Known models: {', '.join(sorted(ENTRIES))}")
    return ENTRIES[key]


def build(key, vocabulary_size, context_length=None):
    """A new, built (not compiled) model with its notebook's architecture for a vocabulary of this size.

    The weights are drawn from the global random state: call
    ``genai_tf.set_seed`` first for repeatable ones.

    Args:
        key: a key of :data:`ENTRIES`.
        vocabulary_size: number of tokens, > 0.
        context_length: the Transformer's longest input; None is the
            recipe's (64). The GRUs take any length and ignore it.
    """
    from genai_tf.models import CausalTransformer, CharGRU

    spec = entry(key)
    sizes = dict(spec.layer_sizes)
    if spec.architecture == "transformer":
        return CausalTransformer(vocabulary_size, context_length=context_length or spec.context_length, **sizes)
    return CharGRU(vocabulary_size, **sizes)


def make_optimizer(key, total_steps):
    """The recipe's Adam for a run of ``total_steps`` steps (the schedule spans them).

    Formula (text models): with w = min(100, total_steps // 2) warm-up steps
    and peak learning rate p,
        lr(s) = p * s / w                                          for s < w
        lr(s) = p * (0.1 + 0.9 * (1 + cos(pi * (s - w) / (total_steps - w))) / 2)   after,
    and lr = 0.1 p once s >= total_steps (a run extended past its schedule
    continues at the final rate). The melody model uses a constant rate.
    """
    spec = entry(key)
    total_steps = check_positive_int(total_steps, "total_steps")
    if not spec.warmup_cosine:
        return keras.optimizers.Adam(spec.peak_learning_rate)
    warmup_steps = min(MAX_WARMUP_STEPS, total_steps // 2)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, max(total_steps - warmup_steps, 1), alpha=FINAL_LEARNING_RATE_FRACTION,
        warmup_target=spec.peak_learning_rate, warmup_steps=warmup_steps,
    )
    return keras.optimizers.Adam(schedule, beta_2=0.99, clipnorm=1.0)


# --- corpora -------------------------------------------------------------------------------


class Corpus(NamedTuple):
    """A model's data: the vocabulary, the training token sequences and the fixed held-out windows.

    Attributes:
        name: :data:`PYDOC_TOPICS` or :data:`BACH_CHORALES`.
        vocabulary: a :class:`genai_tf.text.CharVocabulary` or :class:`genai_tf.music.MelodyVocabulary`.
        train_tokens: list of 1-D int32 arrays (one for the text, one per chorale).
        test_inputs, test_targets: int32 (windows, T), cut every T tokens.
        train_items: the training text (str) or melodies (list of note lists).
        test_items: the held-out text or the held-out melodies whose notes all have tokens.
        held_out_dropped: held-out melodies left out because a note has no token (0 for text).
    """

    name: str
    vocabulary: object
    train_tokens: list
    test_inputs: np.ndarray
    test_targets: np.ndarray
    train_items: object
    test_items: object
    held_out_dropped: int


def load_corpus(key, chorales=None):
    """The corpus of ``key``'s recipe, split as its notebook splits it.

    Args:
        key: a key of :data:`ENTRIES`.
        chorales: melody models only: train on the first ``chorales``
            training chorales (None: all 315). Parsing a chorale takes about
            0.2 s the first time (see :func:`genai_tf.music.load_chorales`).

    Returns:
        A :class:`Corpus`.
    """
    from genai_tf import music, text

    spec = entry(key)
    context = spec.context_length
    if spec.corpus == PYDOC_TOPICS:
        if chorales is not None:
            raise ValueError(f"chorales applies to the melody models only. Received: chorales={chorales!r} for {key}")
        train_text, test_text = text.load_text("train"), text.load_text("test")
        vocabulary = text.CharVocabulary(train_text)
        test_inputs, test_targets = text.make_windows(vocabulary.encode(test_text), context)
        return Corpus(spec.corpus, vocabulary, [vocabulary.encode(train_text)], test_inputs, test_targets,
                      train_text, test_text, 0)
    train_melodies = [chorale.melody for chorale in music.load_chorales("train", limit=chorales)]
    vocabulary = music.MelodyVocabulary(train_melodies)
    held_out = [chorale.melody for chorale in music.load_chorales("test")]
    test_melodies = [melody for melody in held_out if vocabulary.contains(melody)]
    test_tokens = [vocabulary.encode(melody) for melody in test_melodies]
    test_inputs, test_targets = music.make_windows(test_tokens, context, stride=context)
    return Corpus(spec.corpus, vocabulary, [vocabulary.encode(m) for m in train_melodies], test_inputs, test_targets,
                  train_melodies, test_melodies, len(held_out) - len(test_melodies))


def training_batches(key, corpus, batch_size, seed=0):
    """An endless ``tf.data`` stream of training batches and the number of steps in one epoch.

    Text: :func:`genai_tf.text.window_batches` (random windows, a stateless
    permutation per epoch, one pass over the characters per epoch). Melodies:
    notebook 10's windows (64 tokens every 8) shuffled by
    :func:`genai_tf.data.make_dataset` with ``repeat=True``. Both resume
    exactly from a checkpointed iterator.

    Returns:
        (dataset, steps_per_epoch).
    """
    from genai_tf import data, music, text

    spec = entry(key)
    batch_size = check_positive_int(batch_size, "batch_size")
    if spec.corpus == PYDOC_TOPICS:
        ids = corpus.train_tokens[0]
        windows = (len(ids) - 1) // spec.context_length
        if batch_size > windows:
            raise ValueError(f"batch_size={batch_size} is more than the {windows} windows of one epoch.")
        return text.window_batches(ids, spec.context_length, batch_size, seed=seed), windows // batch_size
    inputs, targets = music.make_windows(corpus.train_tokens, spec.context_length, stride=MELODY_STRIDE)
    if batch_size > len(inputs):
        raise ValueError(f"batch_size={batch_size} is more than the {len(inputs)} training windows.")
    return data.make_dataset(inputs, targets, batch_size=batch_size, seed=seed, repeat=True), len(inputs) // batch_size


# --- vocabularies on disk ----------------------------------------------------------------------


def vocabulary_to_json(vocabulary):
    """A JSON-ready dict of a character or melody vocabulary (:func:`vocabulary_from_json` inverts it)."""
    from genai_tf import music, text

    if isinstance(vocabulary, text.CharVocabulary):
        return {"kind": "characters", "tokens": list(vocabulary.chars)}
    if isinstance(vocabulary, music.MelodyVocabulary):
        return {"kind": "notes", "tokens": [[pitch, duration] for pitch, duration in vocabulary.notes]}
    raise ValueError(f"Not a vocabulary of genai_tf.text or genai_tf.music. Received: {type(vocabulary).__name__}")


def vocabulary_from_json(record):
    """The vocabulary a :func:`vocabulary_to_json` dict describes, with the same token ids."""
    from genai_tf import music, text

    kind = record.get("kind") if isinstance(record, dict) else None
    if kind == "characters":
        return text.CharVocabulary("".join(record["tokens"]))
    if kind == "notes":
        return music.MelodyVocabulary([[(int(pitch), float(duration)) for pitch, duration in record["tokens"]]])
    raise ValueError(f"A vocabulary record has kind 'characters' or 'notes'. Received: {record!r}"[:300])


# --- samples and scores ------------------------------------------------------------------------


def generate(model, key, vocabulary, num_samples, length, seed=0, prompt="", temperature=1.0, top_k=None, top_p=None):
    """Sample ``num_samples`` texts (prompt + continuation) or melodies from a trained model.

    Args:
        model: a trained model of ``key``.
        key: a key of :data:`ENTRIES`.
        vocabulary: the vocabulary the model was trained with.
        num_samples: positive int.
        length: tokens to generate (characters, or notes before ``END``).
        seed: the same seed gives the same samples.
        prompt: text models only: the text to continue ("" starts from a
            newline, the character between two topics); every character must
            be in the vocabulary.
        temperature, top_k, top_p: as for :func:`genai_tf.sampling.sample_next`.

    Returns:
        A list of strings, or of melodies (lists of ``(pitch, duration)``; a
        melody ends at the first ``END`` token and may be empty).
    """
    num_samples = check_positive_int(num_samples, "num_samples")
    length = check_positive_int(length, "length")
    options = dict(temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
    if entry(key).corpus == PYDOC_TOPICS:
        start = prompt or "\n"
        prompt_ids = np.tile(vocabulary.encode(start)[None], (num_samples, 1))
        tokens = model.generate(prompt_ids, length, **options)
        return [prompt + vocabulary.decode(row) for row in tokens]
    if prompt:
        raise ValueError(f"A melody model starts from its START token and takes no text prompt. Received: {prompt!r}")
    prompts = np.full((num_samples, 1), vocabulary.START, np.int32)
    return [vocabulary.decode(row) for row in model.generate(prompts, length, **options)]


def bigram_baseline(corpus):
    """The smoothed bigram table of the training tokens (its notebook's smoothing): a fitted BigramLM."""
    from genai_tf.models import BigramLM

    bigram = BigramLM(corpus.vocabulary.size)
    bigram.fit_counts(np.concatenate(corpus.train_tokens), alpha=BIGRAM_ALPHA[corpus.name])
    return bigram


def held_out_scores(model, corpus):
    """Held-out negative log-likelihood per token of the model, the bigram table and the uniform model.

    Returns:
        {"model": {...}, "bigram": {...}, "uniform": {...}}, each with
        "nll_nats", "bits_per_token" (= nats / ln 2) and "perplexity"
        (= exp(nats)); plus "held_out_tokens".
    """
    from genai_tf.models.language import uniform_nll

    nats = {
        "model": model.mean_nll(corpus.test_inputs, corpus.test_targets),
        "bigram": bigram_baseline(corpus).mean_nll(corpus.test_inputs, corpus.test_targets),
        "uniform": uniform_nll(corpus.vocabulary.size),
    }
    scores = {
        name: {"nll_nats": value, "bits_per_token": value / math.log(2.0), "perplexity": math.exp(value)}
        for name, value in nats.items()
    }
    return {**scores, "held_out_tokens": int(corpus.test_targets.size)}


def melody_statistics(generated, corpus, seed=0):
    """Notebook 10's check: histogram distances of generated melodies to the training corpus.

    Pitch-class and interval histograms (:func:`genai_tf.music.pitch_class_histogram`,
    :func:`~genai_tf.music.interval_histogram`) of the generated melodies, of
    a shuffled corpus (the notes of the training melodies in random order:
    right pitches, no melody) and of the held-out chorales, each as its
    total-variation distance to the training corpus's histogram.

    Returns:
        {"generated": {"pitch_classes": d, "intervals": d}, "shuffled_corpus": ...,
        "held_out_chorales": ..., "melodies_scored": n, "median_notes": m}.
    """
    from genai_tf import music

    melodies = [melody for melody in generated if len(melody) >= 2]
    if not melodies:
        raise ValueError("No generated melody has 2 notes or more: there are no intervals to compare.")
    corpus_pc = music.pitch_class_histogram(corpus.train_items)
    corpus_iv = music.interval_histogram(corpus.train_items)
    rows = {}
    for name, group in (("generated", melodies), ("shuffled_corpus", music.shuffled_baseline(corpus.train_items, seed)),
                        ("held_out_chorales", corpus.test_items)):
        rows[name] = {
            "pitch_classes": music.histogram_distance(music.pitch_class_histogram(group), corpus_pc),
            "intervals": music.histogram_distance(music.interval_histogram(group), corpus_iv),
        }
    return {**rows, "melodies_scored": len(melodies), "median_notes": float(np.median([len(m) for m in melodies]))}
