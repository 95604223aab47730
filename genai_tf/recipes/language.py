"""The language recipes of notebooks 09 and 10: two character models and a melody model.

- ``char_gru``: notebook 09's character GRU (embedding 64, 256 units);
- ``char_transformer``: notebook 09's causal Transformer (context 64,
  d = 128, 4 heads, 2 blocks);
- ``melody_gru``: notebook 10's GRU (embedding 64, 128 units) on Bach
  chorale soprano melodies.

A recipe is the architecture, the optimizer (:meth:`LanguageRecipe.make_optimizer`),
the batch size and the training length in epochs of its notebook's full
mode. The two text models use Adam with beta_2 = 0.99, gradients clipped at
norm 1, 100 warm-up steps (at most half the run) and then a cosine decay to a
tenth of the peak learning rate over the rest of the run; the melody model
uses Adam at a constant 2e-3. What differs between text and melodies (the
corpus, its windows, prompts, what a sample is, the melody statistics) is a
method of :class:`TextRecipe` or :class:`MelodyRecipe`.

Example:
>>> from genai_tf import recipes
>>> recipes.names("text"), recipes.names("music")
(('char_gru', 'char_transformer'), ('melody_gru',))
>>> recipes.get("char_transformer").batch_size, recipes.get("char_transformer").peak_learning_rate
(32, 0.005)
"""

import abc
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from genai_tf import records, validation
from genai_tf.recipes.base import Option, Recipe, RunData, RunError

PYDOC_TOPICS = "pydoc_topics"
BACH_CHORALES = "bach_chorales"
MELODY_STRIDE = 8          # notebook 10 cuts a training window every 8 tokens
MAX_WARMUP_STEPS = 100
FINAL_LEARNING_RATE_FRACTION = 0.1
TEXT_SAMPLE_LENGTH = 300   # characters
MELODY_SAMPLE_LENGTH = 120  # notes before END (notebook 10's MAX_NOTES)


class PromptError(RunError):
    """A text prompt has a character the run's vocabulary lacks."""


LENGTH = Option("length", "--length", ("sample",), validation.positive_int_arg,
                f"language models: tokens to generate (default: {TEXT_SAMPLE_LENGTH} characters, "
                f"at most {MELODY_SAMPLE_LENGTH} notes)")
TEMPERATURE = Option("temperature", "--temperature", ("sample",), validation.positive_float_arg,
                     "language models: divide the logits by T before sampling (default: 1.0)")
TOP_K = Option("top_k", "--top-k", ("sample",), validation.positive_int_arg,
               "language models: sample among the K likeliest tokens")
TOP_P = Option("top_p", "--top-p", ("sample",), validation.probability_arg,
               "language models: sample among the likeliest tokens whose probabilities reach P (nucleus)")
PROMPT = Option("prompt", "--prompt", ("sample",), None,
                "text models: the text to continue (default: none; starts as a topic does)")
CHORALES = Option("chorales", "--chorales", ("train",), validation.positive_int_arg,
                  "melody_gru: train on the first N of the 315 training chorales (default: all; parsing takes "
                  "about 0.2 s a chorale the first time, then they are cached)")


class Corpus(NamedTuple):
    """A model's data: the vocabulary, the training token sequences and the fixed held-out windows.

    Attributes:
        name: :data:`PYDOC_TOPICS` or :data:`BACH_CHORALES`.
        vocabulary: a character or melody vocabulary (:mod:`genai_tf.tokens`).
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


class LanguageRecipe(Recipe):
    """An autoregressive model of notebooks 09-10 (see :class:`TextRecipe` and :class:`MelodyRecipe`).

    Args:
        name, title, notebook: see :class:`~genai_tf.recipes.base.Recipe`.
        architecture: "gru" or "transformer".
        layer_sizes: the model's size arguments, as (name, value) pairs.
        context_length: T, the window length of training and held-out windows.
        batch_size: windows per step.
        epochs: the notebook's full-mode training length.
        peak_learning_rate: Adam's learning rate (the peak of the schedule when ``warmup_cosine``).
        warmup_cosine: whether the learning rate follows :meth:`make_optimizer`'s schedule.
    """

    unit = "epochs"
    examples = "windows"
    state_names = ("vocabulary",)
    corpus = ""
    bigram_alpha = 1.0
    sample_length = TEXT_SAMPLE_LENGTH

    def __init__(self, name, title, notebook, architecture, layer_sizes, context_length, batch_size, epochs,
                 peak_learning_rate, warmup_cosine):
        self.name, self.title, self.notebook = name, title, notebook
        self.architecture, self.layer_sizes, self.context_length = architecture, tuple(layer_sizes), context_length
        self.batch_size, self.epochs, self.full_amount = batch_size, epochs, epochs
        self.peak_learning_rate, self.warmup_cosine = peak_learning_rate, warmup_cosine
        self.datasets = (self.corpus,)

    # --- the notebook's recipe ------------------------------------------------------------

    def build(self, vocabulary_size, context_length=None):
        """A new, built (not compiled) model with its notebook's architecture for a vocabulary of this size.

        The weights are drawn from the global random state: call
        ``genai_tf.set_seed`` first for repeatable ones.

        Args:
            vocabulary_size: number of tokens, > 0.
            context_length: the Transformer's longest input; None is the
                recipe's (64). The GRUs take any length and ignore it.
        """
        from genai_tf.models import CausalTransformer, CharGRU

        sizes = dict(self.layer_sizes)
        if self.architecture == "transformer":
            return CausalTransformer(vocabulary_size, context_length=context_length or self.context_length, **sizes)
        return CharGRU(vocabulary_size, **sizes)

    def make_optimizer(self, total_steps):
        """The recipe's Adam for a run of ``total_steps`` steps (the schedule spans them).

        Formula (text models): with w = min(100, total_steps // 2) warm-up steps
        and peak learning rate p,
            lr(s) = p * s / w                                          for s < w
            lr(s) = p * (0.1 + 0.9 * (1 + cos(pi * (s - w) / (total_steps - w))) / 2)   after,
        and lr = 0.1 p once s >= total_steps (a run extended past its schedule
        continues at the final rate). The melody model uses a constant rate.
        """
        import keras

        total_steps = validation.positive_int(total_steps, "total_steps")
        if not self.warmup_cosine:
            return keras.optimizers.Adam(self.peak_learning_rate)
        warmup_steps = min(MAX_WARMUP_STEPS, total_steps // 2)
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0, max(total_steps - warmup_steps, 1), alpha=FINAL_LEARNING_RATE_FRACTION,
            warmup_target=self.peak_learning_rate, warmup_steps=warmup_steps,
        )
        return keras.optimizers.Adam(schedule, beta_2=0.99, clipnorm=1.0)

    @abc.abstractmethod
    def load_corpus(self, chorales=None):
        """The corpus of the recipe, split as its notebook splits it: a :class:`Corpus`."""

    @abc.abstractmethod
    def training_batches(self, corpus, batch_size, seed=0):
        """An endless ``tf.data`` stream of training batches and the number of steps in one epoch."""

    def train(self, amount, dataset=None, model=None, corpus=None):
        """Train with the notebook's recipe for ``amount`` epochs of :meth:`training_batches`: (model, seconds).

        A new model's learning-rate schedule spans the run.
        """
        from genai_tf import config

        amount = validation.positive_int(amount, "amount")
        corpus = self.load_corpus() if corpus is None else corpus
        config.set_seed(0)
        batches, steps_per_epoch = self.training_batches(corpus, self.batch_size, seed=0)
        if model is None:
            model = self.build(corpus.vocabulary.size)
            model.compile(optimizer=self.make_optimizer(amount * steps_per_epoch))
        start = time.perf_counter()
        model.fit(batches, epochs=amount, steps_per_epoch=steps_per_epoch, verbose=0)
        return model, time.perf_counter() - start

    def generate(self, model, vocabulary, num_samples, length, seed=0, prompt="", temperature=1.0, top_k=None,
                 top_p=None):
        """Sample ``num_samples`` texts (prompt + continuation) or melodies from a trained model.

        Args:
            model: a trained model of this recipe.
            vocabulary: the vocabulary the model was trained with.
            num_samples: positive int.
            length: tokens to generate (characters, or notes before ``END``).
            seed: the same seed gives the same samples.
            prompt: text models only: the text to continue ("" starts from a
                newline, the character between two topics).
            temperature, top_k, top_p: as for :func:`genai_tf.sampling.sample_next`.

        Returns:
            A list of strings, or of melodies (lists of ``(pitch, duration)``;
            a melody ends at the first ``END`` token and may be empty).
        """
        num_samples = validation.positive_int(num_samples, "num_samples")
        length = validation.positive_int(length, "length")
        options = dict(temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
        return self.decode_samples(model, vocabulary, num_samples, length, prompt, options)

    def sample(self, model, n, seed=0, vocabulary=None, **options):
        """``n`` samples of ``sample_length`` tokens (see :meth:`generate`)."""
        return self.generate(model, vocabulary, n, self.sample_length, seed=seed, **options)

    def bigram_baseline(self, corpus):
        """The smoothed bigram table of the training tokens (its notebook's smoothing): a fitted BigramLM."""
        from genai_tf.models import BigramLM

        bigram = BigramLM(corpus.vocabulary.size)
        bigram.fit_counts(np.concatenate(corpus.train_tokens), alpha=self.bigram_alpha)
        return bigram

    def held_out_scores(self, model, corpus):
        """Held-out negative log-likelihood per token of the model, the bigram table and the uniform model.

        Returns:
            {"model": {...}, "bigram": {...}, "uniform": {...}}, each with
            "nll_nats", "bits_per_token" (= nats / ln 2) and "perplexity"
            (= exp(nats)); plus "held_out_tokens".
        """
        from genai_tf import metrics
        from genai_tf.models.language import uniform_nll

        nats = {
            "model": model.mean_nll(corpus.test_inputs, corpus.test_targets),
            "bigram": self.bigram_baseline(corpus).mean_nll(corpus.test_inputs, corpus.test_targets),
            "uniform": uniform_nll(corpus.vocabulary.size),
        }
        scores = {
            name: {"nll_nats": value, "bits_per_token": metrics.nats_to_bits(value),
                   "perplexity": metrics.perplexity(value)}
            for name, value in nats.items()
        }
        return {**scores, "held_out_tokens": int(corpus.test_targets.size)}

    def evaluate(self, model, dataset=None, num_samples=None, seed=0, corpus=None):
        """The held-out scores of :meth:`held_out_scores` on the recipe's corpus."""
        return self.held_out_scores(model, self.load_corpus() if corpus is None else corpus)

    # --- the command line's run --------------------------------------------------------------

    def run_data(self, settings):
        corpus = self.run_corpus(settings)
        batches, steps_per_epoch = self.training_batches(corpus, settings["batch_size"], seed=settings["seed"])
        return RunData(batches, steps_per_epoch, {"vocabulary": corpus.vocabulary.to_json()})

    @abc.abstractmethod
    def run_corpus(self, settings):
        """The corpus of a run with these settings (see :meth:`load_corpus`).

        Raises:
            RunError: the data give too few windows for one batch of the
                run's batch size, saying how many they give and what to pass.
        """

    def finish_settings(self, settings, target_steps):
        # The schedule spans the first target; an extended run continues at its final rate.
        return {**settings, "schedule_steps": settings.get("schedule_steps") or target_steps}

    def run_model(self, settings, state):
        from genai_tf.recipes.images import with_optimizer_slots
        from genai_tf.tokens import vocabulary_from_json

        vocabulary = vocabulary_from_json(state["vocabulary"])
        model = self.build(vocabulary.size)
        model.compile(optimizer=self.make_optimizer(settings["schedule_steps"]))
        return with_optimizer_slots(model, self.optimizers(model))

    def write_samples(self, model, state, folder, stem, num_samples, seed=0, length=None, prompt=None, **options):
        from genai_tf.tokens import vocabulary_from_json

        vocabulary = vocabulary_from_json(state["vocabulary"])
        top_k = options.get("top_k")
        if top_k is not None and top_k > vocabulary.size:
            raise RunError(f"--top-k {top_k} is larger than the run's vocabulary ({vocabulary.size} tokens); "
                           f"pass at most {vocabulary.size}.")
        options = {"temperature": options.get("temperature") or 1.0, "top_k": top_k, "top_p": options.get("top_p")}
        try:
            samples = self.generate(model, vocabulary, num_samples, length or self.sample_length, seed=seed,
                                    prompt=prompt or "", **options)
        except ValueError as err:
            if prompt and "not in the vocabulary" in str(err):
                raise PromptError(f"--prompt {prompt!r}: {err}") from None
            raise
        return self.write(samples, Path(folder), stem, {"seed": seed, **options})

    def evaluate_run(self, model, settings, state, num_samples=None, seed=0, dataset=None):
        corpus = self.load_corpus(settings.get("chorales"))
        self.check_state(state, {"vocabulary": corpus.vocabulary.to_json()})
        scores = self.held_out_scores(model, corpus)
        record = {"dataset": settings["dataset"], "seed": seed, "held_out_tokens": scores.pop("held_out_tokens"),
                  "scores": scores}
        return {**record, **self.sample_scores(model, corpus, state, num_samples, seed)}

    def sample_scores(self, model, corpus, state, num_samples, seed):
        """Scores of generated samples besides the held-out likelihood (none here)."""
        return {}

    def score_table(self, record):
        """The held-out NLL per token of the model, the bigram table and the uniform model."""
        scores = record["scores"]
        lines = [
            f"{record['model']} at step {record['step']}: {record['held_out_tokens']:,} held-out tokens of "
            f"{record['dataset']}",
            f"{'':26s}{'model':>10s}{'bigram':>10s}{'uniform':>10s}",
        ]
        for key, label, fmt in (("nll_nats", "NLL per token (nats)", "{:.3f}"),
                                ("bits_per_token", "bits per token", "{:.3f}"),
                                ("perplexity", "perplexity", "{:.2f}")):
            row = "".join(f"{fmt.format(scores[name][key]):>10s}" for name in ("model", "bigram", "uniform"))
            lines.append(f"{label:26s}{row}")
        return "\n".join(lines)


class TextRecipe(LanguageRecipe):
    """A character model of notebook 09 on CPython's pydoc topics."""

    family = "text"
    corpus = PYDOC_TOPICS
    options = (LENGTH, PROMPT, TEMPERATURE, TOP_K, TOP_P)
    sample_count = 5

    def check_evaluation_samples(self, num_samples):
        return f"{self.name} is scored on held-out text and draws no samples; leave the flag out."

    def load_corpus(self, chorales=None):
        """The pydoc topics, split by topic: the training text and the held-out windows (every T characters)."""
        from genai_tf.datasets import text as text_api
        from genai_tf.tokens import CharVocabulary, make_windows

        if chorales is not None:
            raise ValueError(f"chorales applies to the melody models only. Received: chorales={chorales!r} for "
                             f"{self.name}")
        train_text, test_text = text_api.load_text("train"), text_api.load_text("test")
        vocabulary = CharVocabulary(train_text)
        test_inputs, test_targets = make_windows(vocabulary.encode(test_text), self.context_length)
        return Corpus(self.corpus, vocabulary, [vocabulary.encode(train_text)], test_inputs, test_targets,
                      train_text, test_text, 0)

    def run_corpus(self, settings):
        corpus = self.load_corpus(settings.get("chorales"))
        batch_size, characters = settings["batch_size"], len(corpus.train_tokens[0])
        windows = (characters - 1) // self.context_length   # as training_batches counts them
        if batch_size > windows:
            raise RunError(
                f"The training text gives {windows:,} windows of {self.context_length} characters "
                f"({characters:,} characters); one batch of --batch-size {batch_size} needs {batch_size:,} windows. "
                f"Pass --batch-size {windows} or less."
            )
        return corpus

    def training_batches(self, corpus, batch_size, seed=0):
        """Random windows, a stateless permutation per epoch, one pass over the characters per epoch.

        Returns:
            (dataset, steps_per_epoch); the stream resumes exactly from a checkpointed iterator.
        """
        from genai_tf.tokens import window_batches

        batch_size = validation.positive_int(batch_size, "batch_size")
        ids = corpus.train_tokens[0]
        windows = (len(ids) - 1) // self.context_length
        if batch_size > windows:
            raise ValueError(f"batch_size={batch_size} is more than the {windows} windows of one epoch.")
        return window_batches(ids, self.context_length, batch_size, seed=seed), windows // batch_size

    def decode_samples(self, model, vocabulary, num_samples, length, prompt, options):
        start = prompt or "\n"
        prompt_ids = np.tile(vocabulary.encode(start)[None], (num_samples, 1))
        tokens = model.generate(prompt_ids, length, **options)
        return [prompt + vocabulary.decode(row) for row in tokens]

    def write(self, samples, folder, stem, settings):
        """The texts as ``stem.txt``, each under a header with the sampling settings."""
        path = folder / f"{stem}.txt"
        shown = ", ".join(f"{k}={v}" for k, v in settings.items() if v is not None)
        blocks = [f"=== sample {i + 1} of {len(samples)} ({shown}) ===\n{text}\n" for i, text in enumerate(samples)]
        path.write_text("\n".join(blocks), encoding="utf-8")
        return (path,)


class MelodyRecipe(LanguageRecipe):
    """A melody model of notebook 10 on the soprano lines of Bach's chorales."""

    family = "music"
    corpus = BACH_CHORALES
    options = (CHORALES, LENGTH, TEMPERATURE, TOP_K, TOP_P)
    bigram_alpha = 0.1
    sample_length = MELODY_SAMPLE_LENGTH
    sample_count = 10
    evaluation_samples = 100

    def load_corpus(self, chorales=None):
        """The chorales' soprano melodies; ``chorales`` limits training to the first N training chorales.

        Held-out melodies with a note the training vocabulary lacks are left
        out (counted in ``held_out_dropped``); held-out windows are cut every T tokens.
        """
        from genai_tf.datasets.chorales import load_chorales

        train_melodies = [chorale.melody for chorale in load_chorales("train", limit=chorales)]
        return self.corpus_of(train_melodies, [chorale.melody for chorale in load_chorales("test")])

    def corpus_of(self, train_melodies, held_out):
        """The :class:`Corpus` of these training and held-out melodies (see :meth:`load_corpus`)."""
        from genai_tf.tokens import MelodyVocabulary, make_windows

        vocabulary = MelodyVocabulary(train_melodies)
        test_melodies = [melody for melody in held_out if vocabulary.contains(melody)]
        test_inputs, test_targets = make_windows([vocabulary.encode(m) for m in test_melodies], self.context_length)
        return Corpus(self.corpus, vocabulary, [vocabulary.encode(m) for m in train_melodies], test_inputs,
                      test_targets, train_melodies, test_melodies, len(held_out) - len(test_melodies))

    def run_corpus(self, settings):
        from genai_tf.datasets.chorales import load_chorales

        chorales, batch_size = settings.get("chorales"), settings["batch_size"]
        train_melodies = [chorale.melody for chorale in load_chorales("train", limit=chorales)]
        held_out = [chorale.melody for chorale in load_chorales("test")]
        if not self.fills_a_batch(train_melodies, held_out, batch_size):
            raise RunError(self.too_few_windows(chorales, train_melodies, held_out, batch_size))
        return self.corpus_of(train_melodies, held_out)

    def window_counts(self, train_melodies, held_out):
        """(training tokens, training windows, held-out tokens) of these melodies.

        The windows are :meth:`training_batches`' (T tokens, one every 8); the
        held-out tokens are those of the held-out melodies whose notes all have
        tokens in the training melodies' vocabulary.
        """
        from genai_tf.tokens import MelodyVocabulary, count_windows

        vocabulary = MelodyVocabulary(train_melodies)
        tokens = sum(len(vocabulary.encode(melody)) for melody in train_melodies)
        held_out_tokens = sum(len(vocabulary.encode(melody)) for melody in held_out if vocabulary.contains(melody))
        return tokens, count_windows(tokens, self.context_length, MELODY_STRIDE), held_out_tokens

    def fills_a_batch(self, train_melodies, held_out, batch_size):
        """Whether the melodies give one batch of ``batch_size`` windows and one held-out window."""
        _, windows, held_out_tokens = self.window_counts(train_melodies, held_out)
        return windows >= batch_size and held_out_tokens > self.context_length

    def fewest_chorales(self, start, held_out, batch_size):
        """The fewest training chorales, more than ``start``, that fill one batch and one held-out window.

        Loads doubling prefixes of the training split (so few chorales are
        parsed), then bisects: windows and held-out tokens only grow with the chorales.

        Returns:
            (fewest, None), or (None, the windows of all the training chorales) when none fill a batch.
        """
        from genai_tf.datasets.chorales import load_chorales

        low = size = start
        while True:
            melodies = [chorale.melody for chorale in load_chorales("train", limit=2 * size)]
            if len(melodies) == size:   # the split has no more chorales
                return None, self.window_counts(melodies, held_out)[1]
            low, size = size, len(melodies)
            if self.fills_a_batch(melodies, held_out, batch_size):
                break
        while size - low > 1:
            middle = (low + size) // 2
            low, size = (low, middle) if self.fills_a_batch(melodies[:middle], held_out, batch_size) else (middle, size)
        return size, None

    def too_few_windows(self, chorales, train_melodies, held_out, batch_size):
        """The message of a run whose chorales give too few windows: what they give, what it needs, what to pass."""
        context = self.context_length
        tokens, windows, held_out_tokens = self.window_counts(train_melodies, held_out)
        given = f"--chorales {chorales} gives" if chorales else f"The {len(train_melodies)} training chorales give"
        facts = f"{given} {tokens:,} training tokens: {windows:,} windows of {context} tokens, one every "
        facts += str(MELODY_STRIDE)
        needs = [f"one batch of --batch-size {batch_size} needs {batch_size:,} windows"] if windows < batch_size else []
        if held_out_tokens <= context:
            facts += (f", and {held_out_tokens:,} held-out tokens (held-out melodies with a note outside its "
                      "vocabulary are left out)")
            needs.append(f"one held-out window needs {context + 1}")
        fewest, all_windows = self.fewest_chorales(len(train_melodies), held_out, batch_size) if chorales else (
            None, windows)
        fixes = [f"--chorales {fewest} or more"] if fewest else []
        if held_out_tokens > context and windows > 0:
            fixes.append(f"--batch-size {windows} or less")
        if not fixes:
            fixes.append(f"--batch-size {all_windows} or less without --chorales")
        return f"{facts}; {' and '.join(needs)}. Pass {', or '.join(fixes)}."

    def training_batches(self, corpus, batch_size, seed=0):
        """Notebook 10's windows (64 tokens every 8), shuffled by ``make_dataset(..., repeat=True)``."""
        from genai_tf import datasets
        from genai_tf.tokens import make_windows

        batch_size = validation.positive_int(batch_size, "batch_size")
        inputs, targets = make_windows(corpus.train_tokens, self.context_length, stride=MELODY_STRIDE)
        if batch_size > len(inputs):
            raise ValueError(f"batch_size={batch_size} is more than the {len(inputs)} training windows.")
        batches = datasets.make_dataset(inputs, targets, batch_size=batch_size, seed=seed, repeat=True)
        return batches, len(inputs) // batch_size

    def decode_samples(self, model, vocabulary, num_samples, length, prompt, options):
        if prompt:
            raise ValueError(f"A melody model starts from its START token and takes no text prompt. Received: {prompt!r}")
        prompts = np.full((num_samples, 1), vocabulary.START, np.int32)
        return [vocabulary.decode(row) for row in model.generate(prompts, length, **options)]

    def write(self, samples, folder, stem, settings):
        """One MIDI and one MusicXML file per melody in ``stem/``, and ``stem/melodies.json``."""
        from genai_tf import music

        folder = folder / stem
        folder.mkdir(parents=True, exist_ok=True)
        for stale in [*folder.glob("melody_*.mid"), *folder.glob("melody_*.musicxml")]:
            stale.unlink()   # files of an earlier call with other settings; melodies.json is rewritten below
        for index, melody in enumerate(samples):
            if melody:   # a melody that ended at once has nothing to write
                music.write_melody(melody, folder, f"melody_{index:03d}")
        record = {**settings, "melodies": [[list(note) for note in melody] for melody in samples]}
        records.write_json(folder / "melodies.json", record)
        return folder, folder / "melodies.json"

    def melody_statistics(self, generated, corpus, seed=0):
        """Notebook 10's check: histogram distances of generated melodies to the training corpus (see below)."""
        return melody_statistics(generated, corpus, seed=seed)

    def sample_scores(self, model, corpus, state, num_samples, seed):
        """The histogram distances of ``num_samples`` generated melodies (default 100, at most 120 notes)."""
        num_samples = num_samples or self.evaluation_samples
        from genai_tf.tokens import vocabulary_from_json

        vocabulary = vocabulary_from_json(state["vocabulary"])
        generated = self.generate(model, vocabulary, num_samples, self.sample_length, seed)
        try:
            melodies = melody_statistics(generated, corpus, seed=seed)
        except ValueError as err:   # a barely trained model may end every melody at once
            melodies = {"melodies_scored": 0, "note": f"{err} Train longer or draw more with --num-samples."}
        return {"num_samples": num_samples, "held_out_melodies_dropped": corpus.held_out_dropped, "melodies": melodies}

    def score_table(self, record):
        lines = [super().score_table(record)]
        melodies = record["melodies"]
        if "note" in melodies:
            lines.append(melodies["note"])
            return "\n".join(lines)
        lines.append(
            f"{melodies['melodies_scored']} of {record['num_samples']} generated melodies have 2 notes or more "
            f"(median {melodies['median_notes']:.0f}); total-variation distance to the training corpus:"
        )
        lines.append(f"{'':26s}{'pitch classes':>15s}{'intervals':>11s}")
        for name in ("generated", "shuffled_corpus", "held_out_chorales"):
            row = melodies[name]
            lines.append(f"{name.replace('_', ' '):26s}{row['pitch_classes']:15.3f}{row['intervals']:11.3f}")
        return "\n".join(lines)


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


RECIPES = (
    TextRecipe("char_gru", "character GRU", "09_autoregressive_text", "gru",
               (("embedding_dim", 64), ("units", 256)), 64, 64, 4, 4e-3, True),
    TextRecipe("char_transformer", "causal Transformer", "09_autoregressive_text", "transformer",
               (("model_dim", 128), ("num_heads", 4), ("num_layers", 2)), 64, 32, 4, 5e-3, True),
    MelodyRecipe("melody_gru", "melody GRU", "10_music_generation", "gru",
                 (("embedding_dim", 64), ("units", 128)), 64, 64, 12, 2e-3, False),
)
