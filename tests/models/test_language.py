"""The autoregressive language models (their text data and windows: tests/datasets/test_text.py and
tests/test_tokens.py; the samplers themselves: tests/test_sampling.py)."""

import keras
import numpy as np
import pytest

import genai_tf
from genai_tf import metrics, sampling, tokens
from genai_tf.models import BigramLM, CausalTransformer, CharGRU
from genai_tf.models.language import uniform_nll

VOCAB = 11


# --- perplexity ----------------------------------------------------------------------------------


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    assert metrics.perplexity(uniform_nll(97)) == pytest.approx(97.0)
    assert metrics.nats_to_bits(uniform_nll(256)) == pytest.approx(8.0)
    # A model with all-zero logits is uniform: its measured NLL is log V, perplexity V.
    model = BigramLM(VOCAB)
    inputs, targets = tokens.make_windows(np.random.default_rng(0).integers(0, VOCAB, 200), 8)
    assert metrics.perplexity(model.mean_nll(inputs, targets)) == pytest.approx(VOCAB, rel=1e-5)


# --- models ---------------------------------------------------------------------------------------


def _models():
    genai_tf.set_seed(0)
    return {
        "bigram": BigramLM(VOCAB),
        "gru": CharGRU(VOCAB, embedding_dim=8, units=16),
        "transformer": CausalTransformer(VOCAB, context_length=12, model_dim=16, num_heads=2, num_layers=2),
    }


def test_logits_at_every_position():
    ids = np.random.default_rng(0).integers(0, VOCAB, (3, 12))
    for name, model in _models().items():
        assert model(ids).shape == (3, 12, VOCAB), name


@pytest.mark.parametrize("name", ["gru", "transformer"])
def test_changing_a_future_token_leaves_earlier_logits_unchanged(name):
    model = _models()[name]
    ids = np.random.default_rng(1).integers(0, VOCAB, (2, 12))
    changed = ids.copy()
    changed[:, 7] = (changed[:, 7] + 1) % VOCAB
    before, after = np.asarray(model(ids)), np.asarray(model(changed))
    np.testing.assert_allclose(before[:, :7], after[:, :7], atol=1e-5)
    assert np.abs(before[:, 7:] - after[:, 7:]).max() > 1e-4   # and the change is seen from position 7 on


def test_the_bigram_fit_is_the_count_estimate_and_beats_uniform():
    ids = np.array([0, 1, 0, 1, 0, 2, 0, 1])
    model = BigramLM(3)
    model.fit_counts(ids, alpha=0.0)
    table = np.exp(np.asarray(model.table.embeddings))
    np.testing.assert_allclose(table[0], [0.0, 0.75, 0.25], atol=1e-6)   # 0 is followed by 1, 1, 2, 1
    np.testing.assert_allclose(table[1], [1.0, 0.0, 0.0], atol=1e-6)
    inputs, targets = tokens.make_windows(ids, 7)
    assert model.mean_nll(inputs, targets) < uniform_nll(3)


@pytest.mark.parametrize("name", ["gru", "transformer"])
def test_training_lowers_the_loss_and_sampling_is_seeded(name):
    model = _models()[name]
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    # A periodic sequence is easy to predict: the loss must fall well below log V.
    inputs, targets = tokens.make_windows(np.tile(np.arange(VOCAB), 40), 12, stride=3)
    history = model.fit(inputs, targets, batch_size=16, epochs=8, verbose=0).history
    assert history["loss"][-1] < 0.5 * uniform_nll(VOCAB)
    prompt = np.array([[0, 1, 2]])
    a = model.generate(prompt, 15, temperature=0.8, top_k=5, seed=3)
    b = model.generate(prompt, 15, temperature=0.8, top_k=5, seed=3)
    assert a.shape == (1, 15) and np.array_equal(a, b)
    greedy = model.generate(prompt, 8, temperature=1e-3, seed=0)[0]
    assert greedy.tolist() == [(3 + i) % VOCAB for i in range(8)]


def test_stateful_gru_sampling_matches_reading_the_whole_sequence(monkeypatch):
    model = _models()["gru"]
    ids = np.random.default_rng(2).integers(0, VOCAB, (1, 10))
    full = np.asarray(model(ids[:, :9]))
    # generate() feeds the GRU one token at a time with its carried state. The sampler it calls is
    # replaced by one that records the logits it receives and answers with the sequence's own next token.
    seen = []

    def next_token(logits, *args, **kwargs):
        seen.append(np.asarray(logits))
        return ids[:, 4 + len(seen)].astype(np.int32)

    monkeypatch.setattr(sampling, "sample_next", next_token)
    assert model.generate(ids[:, :5], 5).tolist() == ids[:, 5:].tolist()
    # The logits after 5, 6, ..., 9 tokens, the last one after the whole sequence.
    np.testing.assert_allclose(np.concatenate(seen), full[0, 4:9], atol=1e-5)


@pytest.mark.parametrize("name", ["bigram", "gru", "transformer"])
def test_save_and_load_round_trip(name, tmp_path):
    model = _models()[name]
    model.compile()
    ids = np.random.default_rng(0).integers(0, VOCAB, (4, 12))
    model.fit(ids, np.roll(ids, -1, axis=1), batch_size=4, epochs=1, verbose=0)
    model.save(tmp_path / "lm.keras")
    loaded = keras.models.load_model(tmp_path / "lm.keras")
    assert type(loaded) is type(model) and loaded.get_config() == model.get_config()
    np.testing.assert_allclose(np.asarray(loaded(ids)), np.asarray(model(ids)), atol=1e-6)


def test_bad_inputs_are_rejected():
    models = _models()
    transformer = models["transformer"]
    with pytest.raises(ValueError, match="context_length=12"):
        transformer.check_ids(np.zeros((1, 13), np.int32))
    with pytest.raises(ValueError, match="more than context_length"):
        transformer(np.zeros((1, 13), np.int32))
    with pytest.raises(ValueError, match=r"in \[0, 11\)"):
        models["gru"].fit(np.full((2, 5), 11), np.zeros((2, 5), int), verbose=0)
    with pytest.raises(ValueError, match="shape of inputs"):
        models["gru"].fit(np.zeros((2, 5), int), np.zeros((2, 4), int), verbose=0)
    with pytest.raises(ValueError, match="temperature"):
        models["gru"].generate(np.zeros((1, 3), int), 5, temperature=0)
    with pytest.raises(ValueError, match="integer token ids"):
        models["bigram"].check_ids(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="num_heads"):
        CausalTransformer(VOCAB, model_dim=10, num_heads=4)


def test_a_block_without_the_causal_mask_sees_the_future():
    from genai_tf.layers import CausalSelfAttentionBlock

    x = np.random.default_rng(0).normal(size=(1, 6, 8)).astype("float32")
    changed = x.copy()
    changed[0, 4] += np.random.default_rng(1).normal(size=8).astype("float32")   # not a constant: LayerNorm removes a shift
    for causal, early_changes in ((True, False), (False, True)):
        block = CausalSelfAttentionBlock(8, 2, causal=causal)
        difference = np.abs(np.asarray(block(x)) - np.asarray(block(changed)))[0, :4].max()
        assert (difference > 1e-5) == early_changes
