"""Tests of genai_tf.datasets.text: the pydoc-topics corpus, its topic split and the ASCII normalisation."""

import math

import pytest

from genai_tf.datasets import text


def test_corpus_split_is_fixed_disjoint_and_ascii():
    train_names, test_names = text.split_topics()
    assert not set(train_names) & set(test_names)
    assert sorted(train_names + test_names) == text.corpus_topics()
    assert len(test_names) == math.ceil(0.1 * len(text.corpus_topics()))
    assert train_names == sorted(train_names) and test_names == sorted(test_names)
    assert text.split_topics() == (train_names, test_names)
    train, test = text.load_text("train"), text.load_text("test")
    assert all(ch == "\n" or " " <= ch <= "~" for ch in set(train) | set(test))
    assert len(train) > 300_000 and len(test) > 20_000


def test_all_is_every_topic_joined_by_a_blank_line():
    train, test, every = (text.load_text(split) for split in ("train", "test", "all"))
    # 79 topics joined by 78 blank lines; train has 70 of them, test 7: two separators of "\n\n" more.
    assert len(every) == len(train) + len(test) + 2
    assert every.count("\n\n") >= 78
    first_test_topic = text.split_topics()[1][0]
    assert "assignment" == first_test_topic and "Assignment statements" in test


def test_normalise_ascii_replaces_typography_and_drops_the_rest():
    assert text.normalise_ascii("\u201cquoted\u201d \u2018it\u2019s\u2019") == "\"quoted\" 'it's'"
    assert text.normalise_ascii("a\u2014b\u2013c\u2026\u00a0d") == "a--b-c... d"
    assert text.normalise_ascii("caf\u00e9 \u2192 x\ty\n") == "caf  xy\n"   # accents, arrows and tabs dropped
    assert set(text.ASCII_REPLACEMENTS) == {"\u201c", "\u201d", "\u2018", "\u2019", "\u2014", "\u2013", "\u2026", "\u00a0"}


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match=r"split must be one of 'train', 'test', 'all'\. Received: split='validation'"):
        text.load_text("validation")
