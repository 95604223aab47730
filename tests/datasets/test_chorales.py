"""Tests of genai_tf.datasets.chorales: which chorales, their key and split, and the JSON cache.

Parses four chorales from music21's bundled corpus (about a second) and never
the whole corpus: the cache is tested on a temporary file.
"""

import json

import pytest

from genai_tf import music
from genai_tf.datasets import chorales as corpus_chorales
from genai_tf.music import REST


@pytest.fixture(scope="module")
def chorales():
    """G major, F minor, a chorale whose first part is a recorder, and a Humdrum file."""
    names = ("bach/bwv269", "bach/bwv40.8", "bach/bwv161.6", "bach/bwv281")
    return {name: corpus_chorales.parse_chorale(name) for name in names}


def test_transposition_puts_chorales_in_c_major_or_a_minor(chorales):
    from music21 import corpus

    g_major, f_minor = chorales["bach/bwv269"], chorales["bach/bwv40.8"]
    assert (g_major.key, g_major.transposition) == ("G major", 5)
    assert (f_minor.key, f_minor.transposition) == ("F minor", 4)
    # The whole chorale, moved by the same shift, is analysed in C major / A minor ...
    for chorale, expected in ((g_major, "C major"), (f_minor, "a minor")):
        assert str(corpus.parse(chorale.name).transpose(chorale.transposition).analyze("key")) == expected
        # ... and so is the soprano melody alone.
        assert str(music.melody_to_stream(chorale.melody).analyze("key")) == expected
    # bwv269's soprano ends on the tonic: G4 moved up a fourth is C5.
    assert g_major.melody[-1] == (72, 2.0)


def test_corpus_melodies_are_on_the_grid_without_leading_or_trailing_rests(chorales):
    for chorale in chorales.values():
        assert music.validate_melody(chorale.melody) == chorale.melody
        assert chorale.melody[0][0] != REST and chorale.melody[-1][0] != REST
        pairs = zip(chorale.melody[:-1], chorale.melody[1:])
        assert not any(a[0] == REST and b[0] == REST for a, b in pairs)


def test_split_is_fixed_and_disjoint():
    names = corpus_chorales.chorale_names()
    train, test = corpus_chorales.split_names()
    assert (len(names), len(train), len(test)) == (350, 315, 35)
    assert not set(train) & set(test)
    assert sorted(train + test) == names
    # The same split from names in another order, and pinned first held-out chorales.
    assert corpus_chorales.split_names(names[::-1]) == (train, test)
    assert test[:3] == ["bach/bwv29.8", "bach/bwv293", "bach/bwv399"]


def test_load_chorales_parses_once_then_reads_the_cache(tmp_path, monkeypatch):
    cache = tmp_path / "music" / "chorales.json"
    first = corpus_chorales.load_chorales("test", limit=2, cache_path=cache)
    assert [c.name for c in first] == corpus_chorales.split_names()[1][:2]
    assert set(json.loads(cache.read_text())["chorales"]) == {c.name for c in first}

    def no_parsing(name):
        raise AssertionError(f"parsed {name} although it is cached")

    monkeypatch.setattr(corpus_chorales, "parse_chorale", no_parsing)
    assert corpus_chorales.load_chorales("test", limit=2, cache_path=cache) == first
    # A cache written by another format version is ignored and rebuilt.
    content = json.loads(cache.read_text())
    cache.write_text(json.dumps({**content, "format": -1}))
    with pytest.raises(AssertionError, match="parsed"):
        corpus_chorales.load_chorales("test", limit=1, cache_path=cache)


def test_the_cache_format_is_unchanged(tmp_path, monkeypatch):
    """A cache file written before the move (compact JSON, this header) is read as it is, and rewritten alike."""
    import music21

    name = corpus_chorales.split_names()[1][0]
    record = {"key": "G major", "transposition": 5, "melody": [[72, 1.0], [-1, 0.5], [74, 2.0]]}
    content = {"format": 1, "music21": music21.__version__, "grid": 0.25, "chorales": {name: record}}
    cache = tmp_path / "chorales.json"
    cache.write_text(json.dumps(content, separators=(",", ":")), encoding="utf-8")
    monkeypatch.setattr(corpus_chorales, "parse_chorale", lambda name: pytest.fail(f"parsed {name}"))
    (chorale,) = corpus_chorales.load_chorales("test", limit=1, cache_path=cache)
    assert chorale == music.Chorale(name, "G major", 5, [(72, 1.0), (-1, 0.5), (74, 2.0)])
    # Written again (a second chorale is parsed and added): the same compact form, one object, no newline.
    second = corpus_chorales.split_names()[1][1]
    monkeypatch.setattr(corpus_chorales, "parse_chorale", lambda name: music.Chorale(name, "C major", 0, [(60, 4.0)]))
    corpus_chorales.load_chorales("test", limit=2, cache_path=cache)
    written = cache.read_text(encoding="utf-8")
    expected = {**content, "chorales": {name: record, second: {"key": "C major", "transposition": 0,
                                                                "melody": [[60, 4.0]]}}}
    assert written == json.dumps(expected, separators=(",", ":"))
    assert corpus_chorales.default_cache_path().name == "chorales.json"
    assert corpus_chorales.default_cache_path().parent.name == "music"


def test_a_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    cache = tmp_path / "chorales.json"
    cache.write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(corpus_chorales, "parse_chorale", lambda name: music.Chorale(name, "C major", 0, [(60, 1.0)]))
    (chorale,) = corpus_chorales.load_chorales("train", limit=1, cache_path=cache)
    assert chorale.melody == [(60, 1.0)]
    assert list(json.loads(cache.read_text())["chorales"]) == [chorale.name]


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match=r"split must be one of 'train', 'test', 'all'\. Received: split='validation'"):
        corpus_chorales.load_chorales("validation")
    with pytest.raises(ValueError, match="limit must be a positive integer or None. Received: limit=0"):
        corpus_chorales.load_chorales("train", limit=0)
    with pytest.raises(ValueError, match="name must be a corpus name"):
        corpus_chorales.parse_chorale("")
