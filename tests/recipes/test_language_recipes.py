"""Tests of genai_tf.recipes.language: the recipes of notebooks 09 and 10, the learning-rate schedule, scores by hand."""

import math

import keras
import numpy as np
import pytest

import genai_tf
from genai_tf import recipes, tokens
from genai_tf.datasets import text
from genai_tf.models import CausalTransformer, CharGRU
from genai_tf.recipes import language


def schedule_of(optimizer):
    """The optimizer's learning-rate schedule, rebuilt from its public config."""
    return keras.optimizers.schedules.deserialize(optimizer.get_config()["learning_rate"])


def test_the_recipes_are_the_notebooks():
    genai_tf.set_seed(0)
    gru = recipes.get("char_gru").build(94)
    transformer = recipes.get("char_transformer").build(94)
    melody = recipes.get("melody_gru").build(70)
    assert isinstance(gru, CharGRU) and (gru.embedding_dim, gru.units) == (64, 256)
    assert isinstance(transformer, CausalTransformer) and transformer.context_length == 64
    assert isinstance(melody, CharGRU) and (melody.embedding_dim, melody.units) == (64, 128)
    # Parameter counts by hand: embedding, GRU (3 gates, reset_after: two bias rows), dense head.
    def gru_params(vocab, embedding, units):
        return vocab * embedding + 3 * (embedding * units + units * units + 2 * units) + units * vocab + vocab

    assert gru.count_params() == gru_params(94, 64, 256)
    assert melody.count_params() == gru_params(70, 64, 128)
    # The Transformer: token and position embeddings; per block two LayerNorms (2 d each), attention's
    # query, key, value and output projections (d x d + d each), the MLP d -> 4d -> d; a final LayerNorm; the head.
    def transformer_params(vocab, context, d, layers):
        block = 2 * (2 * d) + 4 * (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d)
        return vocab * d + context * d + layers * block + 2 * d + d * vocab + vocab

    assert transformer_params(94, 64, 128, 2) == 429_150
    assert transformer.count_params() == transformer_params(94, 64, 128, 2)
    with pytest.raises(ValueError, match="Unknown model 'lstm'. Known models: .*char_gru, char_transformer, melody_gru"):
        recipes.get("lstm")
    assert [recipes.get(key).full_amount for key in ("char_gru", "char_transformer", "melody_gru")] == [4, 4, 12]
    assert recipes.get("char_gru").unit == "epochs" and recipes.get("melody_gru").datasets == ("bach_chorales",)


def test_the_text_schedule_warms_up_then_decays_to_a_tenth():
    peak = recipes.get("char_gru").peak_learning_rate
    rate = schedule_of(recipes.get("char_gru").make_optimizer(1000))
    warmup = 100
    for step, expected in (
        (0, 0.0),
        (50, peak * 50 / warmup),
        (warmup, peak),
        (550, peak * (0.1 + 0.9 * (1 + math.cos(math.pi * 450 / 900)) / 2)),
        (1000, 0.1 * peak),
        (5000, 0.1 * peak),              # a run extended past its schedule stays at the final rate
    ):
        assert float(rate(step)) == pytest.approx(expected, rel=1e-5, abs=1e-9), step
    # A short run warms up for half of its steps.
    short = schedule_of(recipes.get("char_transformer").make_optimizer(40))
    assert float(short(20)) == pytest.approx(5e-3) and float(short(10)) == pytest.approx(2.5e-3)
    optimizer = recipes.get("char_gru").make_optimizer(10)
    assert optimizer.beta_2 == 0.99 and optimizer.clipnorm == 1.0
    constant = recipes.get("melody_gru").make_optimizer(10)
    assert float(constant.learning_rate) == pytest.approx(2e-3) and constant.clipnorm is None


def test_a_run_state_vocabulary_record_builds_the_run_model():
    # The record format vocabulary.json files of existing run folders hold.
    record = {"kind": "characters", "tokens": list("\n abc")}
    settings = {"schedule_steps": 10}
    model = recipes.get("char_gru").run_model(settings, {"vocabulary": record})
    assert model.vocab_size == 5 and model.optimizer.built   # slots exist, so a checkpoint restores into them
    notes = {"kind": "notes", "tokens": [[60, 1.0], [-1, 0.5]]}
    melody = recipes.get("melody_gru").run_model(settings, {"vocabulary": notes})
    assert melody.vocab_size == 3 + 2 and float(melody.optimizer.learning_rate) == pytest.approx(2e-3)


def _tiny_text_corpus():
    vocabulary = tokens.CharVocabulary("ab")
    train = vocabulary.encode("abab")
    test_inputs, test_targets = tokens.make_windows(vocabulary.encode("ab"), 1)
    return language.Corpus(language.PYDOC_TOPICS, vocabulary, [train], test_inputs, test_targets,
                               "abab", "ab", 0)


def test_held_out_scores_by_hand():
    corpus = _tiny_text_corpus()
    genai_tf.set_seed(0)
    model = CharGRU(2, embedding_dim=4, units=4)
    scores = recipes.get("char_gru").held_out_scores(model, corpus)
    # Bigram of "abab" with add-one smoothing: p(b | a) = (2 + 1) / (2 + 2); the held-out pair is "ab".
    assert scores["bigram"]["nll_nats"] == pytest.approx(-math.log(0.75), rel=1e-5)
    assert scores["uniform"]["nll_nats"] == pytest.approx(math.log(2))
    assert scores["uniform"]["perplexity"] == pytest.approx(2.0) and scores["uniform"]["bits_per_token"] == 1.0
    logits = np.asarray(model(corpus.test_inputs))[0, 0]
    by_hand = -(logits[1] - np.log(np.exp(logits).sum()))
    assert scores["model"]["nll_nats"] == pytest.approx(by_hand, rel=1e-5)
    for row in (scores["model"], scores["bigram"]):
        assert row["bits_per_token"] == pytest.approx(row["nll_nats"] / math.log(2))
        assert row["perplexity"] == pytest.approx(math.exp(row["nll_nats"]))
    assert scores["held_out_tokens"] == 1


def test_generated_text_continues_the_prompt_and_is_seeded():
    corpus = _tiny_text_corpus()
    genai_tf.set_seed(0)
    model = CharGRU(2, embedding_dim=4, units=4)
    gru = recipes.get("char_gru")
    samples = gru.generate(model, corpus.vocabulary, 3, 12, seed=5, prompt="ab")
    assert len(samples) == 3 and all(s.startswith("ab") and len(s) == 14 and set(s) <= {"a", "b"} for s in samples)
    assert samples == gru.generate(model, corpus.vocabulary, 3, 12, seed=5, prompt="ab")
    assert samples != gru.generate(model, corpus.vocabulary, 3, 12, seed=6, prompt="ab")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        gru.generate(model, corpus.vocabulary, 1, 5, prompt="abc")
    with pytest.raises(ValueError, match="takes no text prompt"):
        recipes.get("melody_gru").generate(model, corpus.vocabulary, 1, 5, prompt="ab")


def test_melody_statistics_of_the_corpus_itself_are_zero():
    melodies = [[(60, 1.0), (62, 1.0), (64, 2.0)], [(67, 1.0), (65, 0.5), (64, 0.5), (60, 1.0)]]
    vocabulary = tokens.MelodyVocabulary(melodies)
    ids = [vocabulary.encode(m) for m in melodies]
    inputs, targets = tokens.make_windows(ids, 2, stride=2)
    corpus = language.Corpus(language.BACH_CHORALES, vocabulary, ids, inputs, targets, melodies, melodies[:1], 0)
    stats = recipes.get("melody_gru").melody_statistics(melodies + [[(60, 1.0)], []], corpus)
    assert stats["generated"] == {"pitch_classes": 0.0, "intervals": 0.0}
    assert stats["melodies_scored"] == 2 and stats["median_notes"] == 3.5     # shorter ones are left out
    assert stats["shuffled_corpus"]["pitch_classes"] == pytest.approx(0.0)   # the same notes, reordered
    with pytest.raises(ValueError, match="No generated melody has 2 notes"):
        language.melody_statistics([[(60, 1.0)]], corpus)


def test_text_training_batches_cover_one_pass_per_epoch():
    recipe = recipes.get("char_gru")
    corpus = recipe.load_corpus()
    ids = corpus.train_tokens[0]
    batches, steps_per_epoch = recipe.training_batches(corpus, 64, seed=0)
    assert steps_per_epoch == (len(ids) - 1) // 64 // 64
    inputs, targets = (t.numpy() for t in next(iter(batches)))
    assert inputs.shape == targets.shape == (64, 64)
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    assert corpus.vocabulary.decode(inputs[0]) in text.load_text("train")
    assert corpus.test_inputs.shape == ((len(text.load_text("test")) - 1) // 64, 64)
    with pytest.raises(ValueError, match="chorales applies to the melody models only"):
        recipe.load_corpus(chorales=3)
    with pytest.raises(ValueError, match="batch_size=100000 is more than the"):
        recipe.training_batches(corpus, 100_000)
