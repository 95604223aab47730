"""Text data and the autoregressive language models (the samplers themselves: tests/test_sampling.py)."""

import math

import keras
import numpy as np
import pytest

import genai_tf
from genai_tf import text
from genai_tf.models import BigramLM, CausalTransformer, CharGRU
from genai_tf.models.language import uniform_nll

VOCAB = 11


# --- text --------------------------------------------------------------------------------------


def test_corpus_split_is_fixed_disjoint_and_ascii():
    train_names, test_names = text.split_topics()
    assert not set(train_names) & set(test_names)
    assert len(test_names) == math.ceil(0.1 * len(text.corpus_topics()))
    assert text.split_topics() == (train_names, test_names)
    train, test = text.load_text("train"), text.load_text("test")
    assert all(ch == "\n" or " " <= ch <= "~" for ch in set(train) | set(test))
    assert len(train) > 300_000 and len(test) > 20_000
    with pytest.raises(ValueError, match="split"):
        text.load_text("validation")


def test_vocabulary_round_trips_and_rejects_unknown_characters():
    vocabulary = text.CharVocabulary("abc\n")
    ids = vocabulary.encode("cab\n")
    assert ids.tolist() == [3, 1, 2, 0] and vocabulary.decode(ids) == "cab\n"
    with pytest.raises(ValueError, match=r"not in the vocabulary.*'z'"):
        vocabulary.encode("abz")
    with pytest.raises(ValueError, match="ids must be in"):
        vocabulary.decode([4])


def test_windows_are_shifted_by_one():
    inputs, targets = text.make_windows(np.arange(10), 4, stride=2)
    assert inputs.tolist() == [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7]]
    np.testing.assert_array_equal(targets, inputs + 1)
    with pytest.raises(ValueError, match="context_length"):
        text.make_windows(np.arange(10), 0)
    with pytest.raises(ValueError, match="needs at least"):
        text.make_windows(np.arange(3), 3)


def test_random_windows_are_shifted_contiguous_and_reshuffled_each_epoch():
    genai_tf.set_seed(0)
    data = text.random_windows(np.arange(1000), context_length=10, batch_size=8, seed=3)
    assert len(data) == 999 // 10 // 8
    epochs = []
    for _ in range(3):
        inputs, targets = (np.concatenate(part) for part in zip(*[(x.numpy(), y.numpy()) for x, y in data]))
        np.testing.assert_array_equal(targets, inputs + 1)                   # shifted by one
        np.testing.assert_array_equal(inputs, inputs[:, :1] + np.arange(10))  # contiguous text
        assert len(np.unique(inputs[:, 0])) == len(inputs) and inputs.max() < 1000
        epochs.append(inputs[:, 0])
    assert not np.array_equal(epochs[0], epochs[1])                          # a new draw every epoch
    genai_tf.set_seed(0)
    again = text.random_windows(np.arange(1000), context_length=10, batch_size=8, seed=3)
    np.testing.assert_array_equal(next(iter(again))[0].numpy()[:, 0], epochs[0][:8])   # seeded
    assert len(text.random_windows(np.arange(1000), 10, 8, num_windows=20)) == 2
    with pytest.raises(ValueError, match="batch_size"):
        text.random_windows(np.arange(1000), 10, 0)
    with pytest.raises(ValueError, match="fewer than batch_size"):
        text.random_windows(np.arange(50), 10, 8)
    with pytest.raises(ValueError, match="more than"):
        text.random_windows(np.arange(50), 10, 2, num_windows=100)


def test_window_batches_are_a_pure_function_of_seed_and_step():
    ids = np.arange(1000)
    data = text.window_batches(ids, context_length=10, batch_size=8, num_windows=40, seed=3)   # 5 batches an epoch
    batches = [(x.numpy(), y.numpy()) for x, y in data.take(15)]
    inputs = np.stack([x for x, _ in batches])                               # (15, 8, 10)
    np.testing.assert_array_equal(np.stack([y for _, y in batches]), inputs + 1)   # shifted by one
    np.testing.assert_array_equal(inputs, inputs[..., :1] + np.arange(10))         # contiguous text
    starts = inputs[..., 0].reshape(3, 40)                                   # three epochs of 40 windows
    for epoch in starts:
        assert len(np.unique(epoch)) == 40 and epoch.min() >= 0 and epoch.max() <= 1000 - 10 - 1
    assert not np.array_equal(np.sort(starts[0]), np.sort(starts[1]))        # a new draw every epoch
    # No random state: a new dataset, another global seed, gives the same stream; another seed does not.
    genai_tf.set_seed(123)
    again = [x.numpy() for x, _ in text.window_batches(ids, 10, 8, num_windows=40, seed=3).take(15)]
    np.testing.assert_array_equal(np.stack(again), inputs)
    other = next(iter(text.window_batches(ids, 10, 8, num_windows=40, seed=4)))[0].numpy()
    assert not np.array_equal(other, inputs[0])
    # One pass over the text by default: (len - 1) // T windows an epoch, drawn from all len - T starts.
    full = np.concatenate([x.numpy()[:, 0] for x, _ in text.window_batches(ids, 10, 9, seed=0).take(11)])
    assert len(np.unique(full)) == 99 and full.max() <= 989


def test_window_batches_resume_exactly_from_a_small_iterator_checkpoint(tmp_path):
    import tensorflow as tf

    ids = np.random.default_rng(0).integers(0, 90, 100_000)
    data = text.window_batches(ids, 64, 32, seed=1)
    iterator = iter(data)
    for _ in range(7):
        next(iterator)
    path = tf.train.Checkpoint(iterator=iterator).write(str(tmp_path / "ckpt"))
    expected = [next(iterator)[0].numpy() for _ in range(3)]
    resumed = iter(data)
    tf.train.Checkpoint(iterator=resumed).read(path).assert_consumed()
    for want in expected:
        np.testing.assert_array_equal(next(resumed)[0].numpy(), want)
    # The position is one integer plus the prefetched batches: no permutation or shuffle buffer is saved.
    size = sum(f.stat().st_size for f in tmp_path.iterdir())
    assert size < 4 * (2 * 32 * 64 * 4) + 20_000, size
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        text.window_batches(ids, 64, 32, seed=-1)
    with pytest.raises(ValueError, match="fewer than batch_size"):
        text.window_batches(np.arange(50), 10, 8)


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    assert text.perplexity(uniform_nll(97)) == pytest.approx(97.0)
    assert text.bits_per_character(uniform_nll(256)) == pytest.approx(8.0)
    # A model with all-zero logits is uniform: its measured NLL is log V, perplexity V.
    model = BigramLM(VOCAB)
    inputs, targets = text.make_windows(np.random.default_rng(0).integers(0, VOCAB, 200), 8)
    assert text.perplexity(model.mean_nll(inputs, targets)) == pytest.approx(VOCAB, rel=1e-5)


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
    inputs, targets = text.make_windows(ids, 7)
    assert model.mean_nll(inputs, targets) < uniform_nll(3)


@pytest.mark.parametrize("name", ["gru", "transformer"])
def test_training_lowers_the_loss_and_sampling_is_seeded(name):
    model = _models()[name]
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    # A periodic sequence is easy to predict: the loss must fall well below log V.
    inputs, targets = text.make_windows(np.tile(np.arange(VOCAB), 40), 12, stride=3)
    history = model.fit(inputs, targets, batch_size=16, epochs=8, verbose=0).history
    assert history["loss"][-1] < 0.5 * uniform_nll(VOCAB)
    prompt = np.array([[0, 1, 2]])
    a = model.generate(prompt, 15, temperature=0.8, top_k=5, seed=3)
    b = model.generate(prompt, 15, temperature=0.8, top_k=5, seed=3)
    assert a.shape == (1, 15) and np.array_equal(a, b)
    greedy = model.generate(prompt, 8, temperature=1e-3, seed=0)[0]
    assert greedy.tolist() == [(3 + i) % VOCAB for i in range(8)]


def test_stateful_gru_sampling_matches_reading_the_whole_sequence():
    model = _models()["gru"]
    ids = np.random.default_rng(2).integers(0, VOCAB, (1, 9))
    full = np.asarray(model(ids))[:, -1]
    logits, state = model._next_logits(ids[:, :5], None)
    for t in range(5, 9):
        logits, state = model._next_logits(ids[:, t : t + 1], state)
    np.testing.assert_allclose(logits, full, atol=1e-5)


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
