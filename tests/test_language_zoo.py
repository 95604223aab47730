"""genai_tf.language_zoo: the recipes of notebooks 09 and 10, the learning-rate schedule, scores by hand."""

import json
import math

import numpy as np
import pytest

import genai_tf
from genai_tf import language_zoo, music, text
from genai_tf.models import CausalTransformer, CharGRU


def test_the_recipes_are_the_notebooks():
    genai_tf.set_seed(0)
    gru = language_zoo.build("char_gru", 94)
    transformer = language_zoo.build("char_transformer", 94)
    melody = language_zoo.build("melody_gru", 70)
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
    with pytest.raises(ValueError, match="Known models: char_gru, char_transformer, melody_gru"):
        language_zoo.entry("lstm")


def test_the_text_schedule_warms_up_then_decays_to_a_tenth():
    peak = language_zoo.entry("char_gru").peak_learning_rate
    rate = language_zoo.make_optimizer("char_gru", 1000)._learning_rate
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
    short = language_zoo.make_optimizer("char_transformer", 40)._learning_rate
    assert float(short(20)) == pytest.approx(5e-3) and float(short(10)) == pytest.approx(2.5e-3)
    optimizer = language_zoo.make_optimizer("char_gru", 10)
    assert optimizer.beta_2 == 0.99 and optimizer.clipnorm == 1.0
    constant = language_zoo.make_optimizer("melody_gru", 10)
    assert float(constant.learning_rate) == pytest.approx(2e-3) and constant.clipnorm is None


def test_vocabularies_round_trip_through_json():
    characters = text.CharVocabulary("hello world\n")
    again = language_zoo.vocabulary_from_json(json.loads(json.dumps(language_zoo.vocabulary_to_json(characters))))
    assert again.chars == characters.chars and again.encode("hold").tolist() == characters.encode("hold").tolist()
    melodies = [[(60, 1.0), (-1, 0.5), (62, 0.25)], [(-1, 2.0), (72, 1.5)]]
    notes = music.MelodyVocabulary(melodies)
    again = language_zoo.vocabulary_from_json(json.loads(json.dumps(language_zoo.vocabulary_to_json(notes))))
    assert again.notes == notes.notes and len(again) == len(notes) == 3 + 5
    for melody in melodies:
        assert again.encode(melody).tolist() == notes.encode(melody).tolist()
    with pytest.raises(ValueError, match="kind 'characters' or 'notes'"):
        language_zoo.vocabulary_from_json({"kind": "words", "tokens": []})


def _tiny_text_corpus():
    vocabulary = text.CharVocabulary("ab")
    train = vocabulary.encode("abab")
    test_inputs, test_targets = text.make_windows(vocabulary.encode("ab"), 1)
    return language_zoo.Corpus(language_zoo.PYDOC_TOPICS, vocabulary, [train], test_inputs, test_targets,
                               "abab", "ab", 0)


def test_held_out_scores_by_hand():
    corpus = _tiny_text_corpus()
    genai_tf.set_seed(0)
    model = CharGRU(2, embedding_dim=4, units=4)
    scores = language_zoo.held_out_scores(model, corpus)
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
    samples = language_zoo.generate(model, "char_gru", corpus.vocabulary, 3, 12, seed=5, prompt="ab")
    assert len(samples) == 3 and all(s.startswith("ab") and len(s) == 14 and set(s) <= {"a", "b"} for s in samples)
    assert samples == language_zoo.generate(model, "char_gru", corpus.vocabulary, 3, 12, seed=5, prompt="ab")
    assert samples != language_zoo.generate(model, "char_gru", corpus.vocabulary, 3, 12, seed=6, prompt="ab")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        language_zoo.generate(model, "char_gru", corpus.vocabulary, 1, 5, prompt="abc")
    with pytest.raises(ValueError, match="takes no text prompt"):
        language_zoo.generate(model, "melody_gru", corpus.vocabulary, 1, 5, prompt="ab")


def test_melody_statistics_of_the_corpus_itself_are_zero():
    melodies = [[(60, 1.0), (62, 1.0), (64, 2.0)], [(67, 1.0), (65, 0.5), (64, 0.5), (60, 1.0)]]
    vocabulary = music.MelodyVocabulary(melodies)
    tokens = [vocabulary.encode(m) for m in melodies]
    inputs, targets = music.make_windows(tokens, 2, stride=2)
    corpus = language_zoo.Corpus(language_zoo.BACH_CHORALES, vocabulary, tokens, inputs, targets,
                                 melodies, melodies[:1], 0)
    stats = language_zoo.melody_statistics(melodies + [[(60, 1.0)], []], corpus)
    assert stats["generated"] == {"pitch_classes": 0.0, "intervals": 0.0}
    assert stats["melodies_scored"] == 2 and stats["median_notes"] == 3.5     # shorter ones are left out
    assert stats["shuffled_corpus"]["pitch_classes"] == pytest.approx(0.0)   # the same notes, reordered
    with pytest.raises(ValueError, match="No generated melody has 2 notes"):
        language_zoo.melody_statistics([[(60, 1.0)]], corpus)


def test_text_training_batches_cover_one_pass_per_epoch():
    corpus = language_zoo.load_corpus("char_gru")
    ids = corpus.train_tokens[0]
    batches, steps_per_epoch = language_zoo.training_batches("char_gru", corpus, 64, seed=0)
    assert steps_per_epoch == (len(ids) - 1) // 64 // 64
    inputs, targets = (t.numpy() for t in next(iter(batches)))
    assert inputs.shape == targets.shape == (64, 64)
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    assert corpus.vocabulary.decode(inputs[0]) in text.load_text("train")
    assert corpus.test_inputs.shape == ((len(text.load_text("test")) - 1) // 64, 64)
    with pytest.raises(ValueError, match="chorales applies to the melody models only"):
        language_zoo.load_corpus("char_gru", chorales=3)
