"""Tests of genai_tf.sampling: the filtered sets and the sampled distributions by hand, seeds, bad arguments."""

import math
import re

import numpy as np
import pytest

from genai_tf.sampling import filter_logits, sample_next

# 32 tokens: the even ones tie at logit 0, the odd ones are all but impossible (logit -100).
# 16 or more tied values are what NumPy's default (unstable) sort reorders.
TIED = np.where(np.arange(32) % 2 == 0, 0.0, -100.0)[None, :]


def kept(logits):
    """The indices of the tokens a filter kept, per row."""
    return [np.flatnonzero(np.isfinite(row)).tolist() for row in logits]


def frequencies(tokens, vocab_size):
    return np.bincount(tokens, minlength=vocab_size) / len(tokens)


def assert_distribution(tokens, expected):
    """Sample frequencies within 4 standard errors sqrt(p (1 - p) / n) of the expected probabilities."""
    expected = np.asarray(expected, np.float64)
    observed = frequencies(tokens, len(expected))
    tolerance = 4 * np.sqrt(expected * (1 - expected) / len(tokens)) + 1e-12
    np.testing.assert_array_less(np.abs(observed - expected), tolerance)


# --- filter_logits: the sets by hand ----------------------------------------------------------


def test_top_k_keeps_the_k_largest_logits_unchanged():
    logits = np.array([[1.0, 3.0, 2.0, 0.0], [0.5, -1.0, 4.0, 2.5]])
    filtered = filter_logits(logits, top_k=2)
    assert filtered.tolist() == [[-np.inf, 3.0, 2.0, -np.inf], [-np.inf, -np.inf, 4.0, 2.5]]
    assert kept(filter_logits(logits, top_k=1)) == [[1], [2]]
    # k = vocab_size keeps every token.
    np.testing.assert_array_equal(filter_logits(logits, top_k=4), logits)


def test_filters_return_a_float64_copy_and_leave_the_input_alone():
    logits = np.array([[1.0, 3.0, 2.0]])
    filter_logits(logits, top_k=1)
    filter_logits(logits, top_p=0.1)
    assert logits.tolist() == [[1.0, 3.0, 2.0]]
    # Integer and float32 logits come back as float64 (an int array cannot hold -inf).
    for dtype in (np.int64, np.float32):
        filtered = filter_logits(np.array([[1, 3, 2]], dtype), top_k=2)
        assert filtered.dtype == np.float64
        assert filtered.tolist() == [[-np.inf, 3.0, 2.0]]


def test_top_k_ties_keep_the_first_tokens_in_order():
    # Three of the 16 tied tokens: the first three, 0, 2 and 4, as documented.
    assert kept(filter_logits(TIED, top_k=3)) == [[0, 2, 4]]


def test_top_p_keeps_the_smallest_set_that_reaches_p():
    # Two equal tokens, p(0) = p(1) = 1/2 exactly: the first alone reaches p = 0.5.
    assert kept(filter_logits([[0.0, 0.0]], top_p=0.5)) == [[0]]
    assert kept(filter_logits([[0.0, 0.0]], top_p=0.51)) == [[0, 1]]
    # p = 1 keeps every token, here one of probability 0.0018 too.
    assert kept(filter_logits([[0.0, -5.0, 1.0]], top_p=1.0)) == [[0, 1, 2]]
    # 16 tied tokens of 1/16 each: masses before them 0, 1/16, 2/16 < 0.15 <= 3/16 keep three,
    # the first three in order.
    assert kept(filter_logits(TIED, top_p=0.15)) == [[0, 2, 4]]


def test_top_p_on_large_logits():
    # softmax(1000, 999, 0) = (e / (e + 1), 1 / (e + 1), ~0) = (0.731, 0.269, 0); e^1000 overflows.
    assert kept(filter_logits([[1000.0, 999.0, 0.0]], top_p=0.5)) == [[0]]
    assert kept(filter_logits([[1000.0, 999.0, 0.0]], top_p=0.8)) == [[0, 1]]


def test_top_p_applies_to_the_tokens_top_k_kept():
    """Top-k first, then the nucleus of the renormalised rest.

    p = (0.4, 0.3, 0.2, 0.1). Top-2 leaves (4/7, 3/7): 4/7 = 0.571 alone reaches p = 0.5.
    Over the original distribution 0.4 < 0.5 would need a second token.
    """
    logits = np.log([[0.4, 0.3, 0.2, 0.1]])
    assert kept(filter_logits(logits, top_p=0.5)) == [[0, 1]]
    assert kept(filter_logits(logits, top_k=2, top_p=0.5)) == [[0]]


def test_a_vocabulary_of_one_token():
    assert filter_logits([[3.0]], top_k=1, top_p=0.5).tolist() == [[3.0]]
    assert sample_next([[3.0], [-2.0]], rng=0).tolist() == [0, 0]


# --- sample_next: distributions ---------------------------------------------------------------


def test_samples_follow_the_softmax_of_the_logits():
    # Batch rows are drawn independently: 10,000 copies of one row.
    tokens = sample_next(np.log(np.tile([[0.5, 0.3, 0.2]], (10_000, 1))), rng=0)
    assert tokens.shape == (10_000,) and tokens.dtype == np.int32
    assert_distribution(tokens, [0.5, 0.3, 0.2])


def test_temperature_divides_the_logits():
    # tau = 2 on p = (0.7, 0.2, 0.1): p_i^(1/2) / sum_j p_j^(1/2) = (0.83666, 0.44721, 0.31623) / 1.60010.
    root = np.sqrt([0.7, 0.2, 0.1])
    expected = root / root.sum()
    np.testing.assert_allclose(expected, [0.52288, 0.27949, 0.19763], atol=1e-5)
    tokens = sample_next(np.log(np.tile([[0.7, 0.2, 0.1]], (10_000, 1))), temperature=2.0, rng=1)
    assert_distribution(tokens, expected)
    # tau -> 0 is greedy decoding.
    logits = np.random.default_rng(0).normal(size=(50, 6))
    np.testing.assert_array_equal(sample_next(logits, temperature=1e-3, rng=2), logits.argmax(axis=1))


def test_top_k_and_top_p_samples_follow_the_renormalised_distribution():
    logits = np.log(np.tile([[0.4, 0.3, 0.2, 0.1]], (10_000, 1)))
    # Top-2: (0.4, 0.3) / 0.7.
    assert_distribution(sample_next(logits, top_k=2, rng=3), [4 / 7, 3 / 7, 0.0, 0.0])
    # Top-p 0.75: masses before the tokens 0, 0.4, 0.7 < 0.75, 0.9: (0.4, 0.3, 0.2) / 0.9.
    assert_distribution(sample_next(logits, top_p=0.75, rng=4), [4 / 9, 3 / 9, 2 / 9, 0.0])


def test_temperature_is_applied_before_the_nucleus():
    """tau = 1/2 squares p = (0.4, 0.3, 0.2, 0.1): (16, 9, 4, 1) / 30.

    Masses before the tokens: 0, 16/30 = 0.533 < 0.75, then 25/30 = 0.833: two tokens,
    (16, 9) / 25. The nucleus of the untempered distribution would hold three.
    """
    logits = np.log(np.tile([[0.4, 0.3, 0.2, 0.1]], (10_000, 1)))
    tokens = sample_next(logits, temperature=0.5, top_p=0.75, rng=5)
    assert_distribution(tokens, [16 / 25, 9 / 25, 0.0, 0.0])


def test_large_logits_and_rows_of_different_scales():
    # softmax(400, 0, 399) = (0.731, 0, 0.269) and softmax(0, 1) = (0.269, 0.731): each row
    # is shifted by its own maximum, so neither overflows nor underflows to 0 / 0.
    e = math.e
    tokens = sample_next(np.tile([[400.0, 0.0, 399.0]], (4_000, 1)), rng=6)
    assert_distribution(tokens, [e / (e + 1), 0.0, 1 / (e + 1)])
    tokens = sample_next(np.tile([[1000.0, 999.0], [0.0, 1.0]], (4_000, 1)), rng=7)
    assert_distribution(tokens[0::2], [e / (e + 1), 1 / (e + 1)])
    assert_distribution(tokens[1::2], [1 / (e + 1), e / (e + 1)])


# --- Seeds ------------------------------------------------------------------------------------


def test_a_seed_is_honoured_and_two_seeds_differ():
    logits = np.zeros((200, 10))  # uniform: two seeds agree on all 200 rows with chance 10^-200
    first = sample_next(logits, rng=11)
    np.testing.assert_array_equal(sample_next(logits, rng=11), first)
    assert not np.array_equal(sample_next(logits, rng=12), first)
    # An int seed and a Generator built from it give the same tokens; a Generator advances.
    generator = np.random.default_rng(11)
    np.testing.assert_array_equal(sample_next(logits, rng=generator), first)
    assert not np.array_equal(sample_next(logits, rng=generator), first)


# --- Bad arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize("logits", [[1.0, 2.0], [[[1.0, 2.0]]], np.zeros((2, 0))])
def test_logits_must_be_a_batch_of_rows(logits):
    for call in (lambda: filter_logits(logits, top_k=1), lambda: sample_next(logits)):
        with pytest.raises(ValueError, match=r"^logits must have shape \(batch_size, vocab_size\)\. Received"):
            call()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_logits_must_be_finite(bad):
    with pytest.raises(ValueError, match=r"^logits must be finite\.$"):
        sample_next([[0.0, bad]])


@pytest.mark.parametrize("top_k", [0, -1, True, 2.0, "2"])
def test_top_k_must_be_a_positive_integer(top_k):
    with pytest.raises(ValueError, match=rf"^top_k must be a positive integer\. Received: top_k={re.escape(repr(top_k))}$"):
        filter_logits([[0.0, 1.0, 2.0]], top_k=top_k)


@pytest.mark.parametrize("top_k", [4, 10])
def test_top_k_must_not_exceed_the_vocabulary(top_k):
    with pytest.raises(ValueError, match=rf"^top_k must be at most vocab_size=3\. Received: top_k={top_k}$"):
        filter_logits([[0.0, 1.0, 2.0]], top_k=top_k)
    # The whole vocabulary is the largest top_k allowed, and it keeps every token.
    np.testing.assert_array_equal(filter_logits([[0.0, 1.0, 2.0]], top_k=3), [[0.0, 1.0, 2.0]])


@pytest.mark.parametrize("top_p", [0.0, -0.1, 1.5, 1.0 + 1e-9, np.nan, "0.5"])
def test_top_p_must_be_in_the_unit_interval(top_p):
    with pytest.raises(ValueError, match=rf"^top_p must be in \(0\.0, 1\.0\]\. Received: top_p={re.escape(repr(top_p))}$"):
        filter_logits([[0.0, 1.0]], top_p=top_p)


@pytest.mark.parametrize("temperature", [0.0, -1.0, True, "1", None, np.inf, np.nan])
def test_temperature_must_be_a_positive_number(temperature):
    expected = rf"^temperature must be in \(0\.0, inf\)\. Received: temperature={re.escape(repr(temperature))}$"
    with pytest.raises(ValueError, match=expected):
        sample_next([[0.0, 1.0]], temperature=temperature)


@pytest.mark.parametrize(("temperature", "logits"), [(1e-310, [[0.0, 1.0]]), (1e-300, [[0.0, -1e10, 3.0]])])
def test_a_temperature_too_small_for_the_logits_is_named(temperature, logits):
    largest = f"{np.abs(logits).max():g}"
    expected = (
        f"temperature={temperature!r} is too small for these logits: logits / temperature overflows "
        f"(largest |logit| {largest}). Use a larger temperature, or greedy decoding (argmax), "
        "the limit as the temperature goes to 0."
    )
    with pytest.raises(ValueError) as info:
        sample_next(logits, temperature=temperature)
    assert str(info.value) == expected


def test_a_small_temperature_that_does_not_overflow_is_greedy():
    assert sample_next([[0.0, 1.0, 0.5]], temperature=1e-300, rng=0).tolist() == [1]
