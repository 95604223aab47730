"""Character-level text for the language models: an offline corpus, split by topic.

The corpus is CPython's pydoc topics text (``pydoc_data.topics``): the
reference-manual sections that ``help("if")`` prints, about 465,000
characters of English prose and code in 79 topics. It ships with every
Python installation, so nothing downloads. Its vocabulary and windows are in
:mod:`genai_tf.tokens`.
"""

from genai_tf.datasets.splits import HELD_OUT_FRACTION, TOPIC_SPLIT_SEED, hashed_split
from genai_tf.validation import one_of

SPLITS = ("train", "test", "all")
# Typographic characters replaced by ASCII, so the vocabulary is printable ASCII plus newline.
ASCII_REPLACEMENTS = {
    "\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'",
    "\u2014": "--", "\u2013": "-", "\u2026": "...", "\u00a0": " ",
}


def normalise_ascii(text):
    """The text in printable ASCII plus newline: typographic quotes and dashes replaced, anything else dropped.

    Args:
        text: str.

    Returns:
        str whose characters are newline or in ``" "`` ... ``"~"``.

    Example:
    >>> normalise_ascii("\u201cna\u00efve\u201d \u2014 ok\\n")
    '"nave" -- ok\\n'
    """
    for old, new in ASCII_REPLACEMENTS.items():
        text = text.replace(old, new)
    # Anything else outside printable ASCII (a few accented letters and symbols) is dropped.
    return "".join(ch for ch in text if ch == "\n" or " " <= ch <= "~")


def corpus_topics():
    """The names of the pydoc topics, sorted."""
    from pydoc_data.topics import topics

    return sorted(topics)


def split_topics(held_out_fraction=HELD_OUT_FRACTION):
    """A fixed split of the topics: (train_names, test_names), each sorted by name.

    The split is :func:`genai_tf.datasets.splits.hashed_split` with the
    topics' own seed (``TOPIC_SPLIT_SEED``): ``ceil(held_out_fraction * 79)``
    topics, 8 by default, are held out.

    Args:
        held_out_fraction: in (0, 1).

    Returns:
        (train_names, test_names), two disjoint sorted lists.
    """
    train, test = hashed_split(corpus_topics(), held_out_fraction, seed=TOPIC_SPLIT_SEED)
    return sorted(train), sorted(test)


def load_text(split="train"):
    """The pydoc-topics corpus as one string per split, normalised to printable ASCII and newlines.

    The topics are joined in the order of their names, a blank line between two.

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

    one_of(split, SPLITS, "split")
    train_names, test_names = split_topics()
    names = {"train": train_names, "test": test_names, "all": corpus_topics()}[split]
    return "\n\n".join(normalise_ascii(topics[name]).strip("\n") for name in names)
