"""Tests of genai_tf.music: chorale melodies, tokens, windows, export, statistics.

Parses four chorales from music21's bundled corpus (about a second) and never
the whole corpus: the cache is tested on a temporary file.
"""

import json

import numpy as np
import pytest

from genai_tf import music
from genai_tf.music import REST

# Rests (leading, inside, crossing a 3/4 barline), a tie-making 1.25 and a sixteenth note.
HAND_MELODY = [
    (REST, 1.0), (60, 1.0), (60, 0.5), (62, 1.25), (REST, 2.0), (64, 3.0), (65, 0.25), (67, 4.0),
]
SCALE = [(60, 1.0), (62, 1.0), (64, 1.0), (65, 1.0), (67, 1.0), (69, 1.0), (71, 1.0), (72, 1.0)]


@pytest.fixture(scope="module")
def chorales():
    """G major, F minor, a chorale whose first part is a recorder, and a Humdrum file."""
    names = ("bach/bwv269", "bach/bwv40.8", "bach/bwv161.6", "bach/bwv281")
    return {name: music.parse_chorale(name) for name in names}


# --- melodies from the corpus -----------------------------------------------------------------


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
    assert music.transposition_to_c("F# major") == -6 and music.transposition_to_c("b- minor") == -1


def test_the_soprano_is_taken_even_when_an_instrument_comes_first(chorales):
    from music21 import corpus

    score = corpus.parse("bach/bwv161.6")
    assert score.parts[0].partName == "Recorders"
    soprano = music._soprano_part(score)
    assert soprano.partName == "Soprano"
    assert chorales["bach/bwv161.6"].melody == music.melody_from_stream(soprano, trim_rests=True)
    # A Humdrum file has no part names: its first part is the top voice, and the one taken.
    score, humdrum = corpus.parse("bach/bwv281"), chorales["bach/bwv281"]
    assert [part.partName for part in score.parts] == [None] * 4
    mean_pitches = [np.mean([n.pitch.midi for n in part.recurse().notes]) for part in score.parts]
    assert np.argmax(mean_pitches) == 0
    first_part = music.melody_from_stream(score.parts[0], trim_rests=True)
    assert humdrum.melody == music.transpose(first_part, humdrum.transposition)


def test_corpus_melodies_are_on_the_grid_without_leading_or_trailing_rests(chorales):
    for chorale in chorales.values():
        assert music.validate_melody(chorale.melody) == chorale.melody
        assert chorale.melody[0][0] != REST and chorale.melody[-1][0] != REST
        pairs = zip(chorale.melody[:-1], chorale.melody[1:])
        assert not any(a[0] == REST and b[0] == REST for a, b in pairs)


def test_split_is_fixed_and_disjoint():
    names = music.chorale_names()
    train, test = music.split_names()
    assert (len(names), len(train), len(test)) == (350, 315, 35)
    assert not set(train) & set(test)
    assert sorted(train + test) == names
    # The same split from names in another order, and pinned first held-out chorales.
    assert music.split_names(names[::-1]) == (train, test)
    assert test[:3] == ["bach/bwv29.8", "bach/bwv293", "bach/bwv399"]


def test_load_chorales_parses_once_then_reads_the_cache(tmp_path, monkeypatch):
    cache = tmp_path / "music" / "chorales.json"
    first = music.load_chorales("test", limit=2, cache_path=cache)
    assert [c.name for c in first] == music.split_names()[1][:2]
    assert set(json.loads(cache.read_text())["chorales"]) == {c.name for c in first}

    def no_parsing(name):
        raise AssertionError(f"parsed {name} although it is cached")

    monkeypatch.setattr(music, "parse_chorale", no_parsing)
    assert music.load_chorales("test", limit=2, cache_path=cache) == first
    # A cache written by another format version is ignored and rebuilt.
    content = json.loads(cache.read_text())
    cache.write_text(json.dumps({**content, "format": -1}))
    with pytest.raises(AssertionError, match="parsed"):
        music.load_chorales("test", limit=1, cache_path=cache)


# --- tokens and windows -----------------------------------------------------------------------


def test_tokenisation_round_trips(chorales):
    melodies = [c.melody for c in chorales.values()] + [HAND_MELODY]
    vocabulary = music.MelodyVocabulary(melodies)
    assert len(vocabulary) == 3 + len({note for melody in melodies for note in melody})
    for melody in melodies:
        tokens = vocabulary.encode(melody)
        assert tokens.dtype == np.int32 and tokens[0] == vocabulary.START and tokens[-1] == vocabulary.END
        assert vocabulary.decode(tokens) == melody
        assert vocabulary.decode(vocabulary.encode(melody, add_start_end=False)) == melody
    # Padding and a second START are skipped; END stops decoding.
    ids = vocabulary.encode(HAND_MELODY[:2]).tolist()
    assert vocabulary.decode([0, *ids, 0, *ids]) == HAND_MELODY[:2]


def test_windows_are_shifted_by_one():
    inputs, targets = music.make_windows([np.array([1, 10, 11, 2]), np.array([1, 12, 2])], context_length=4)
    np.testing.assert_array_equal(inputs, [[1, 10, 11, 2], [10, 11, 2, 1], [11, 2, 1, 12]])
    np.testing.assert_array_equal(targets, [[10, 11, 2, 1], [11, 2, 1, 12], [2, 1, 12, 2]])
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    assert inputs.dtype == np.int32 and targets.dtype == np.int32
    inputs, _ = music.make_windows(np.arange(10), context_length=3, stride=3)
    np.testing.assert_array_equal(inputs[:, 0], [0, 3, 6])


def test_window_dataset_batches():
    inputs, targets = music.make_windows(np.arange(40), context_length=5)
    batches = list(music.make_window_dataset(inputs, targets, batch_size=8, shuffle=False))
    assert len(batches) == 35 // 8
    batch_inputs, batch_targets = batches[0]
    assert batch_inputs.shape == (8, 5)
    np.testing.assert_array_equal(batch_inputs.numpy()[:, 1:], batch_targets.numpy()[:, :-1])


# --- export -----------------------------------------------------------------------------------


def test_stream_round_trip_keeps_rests_and_durations(chorales):
    assert music.melody_from_stream(music.melody_to_stream(HAND_MELODY, time_signature="3/4")) == HAND_MELODY
    melody = chorales["bach/bwv40.8"].melody
    assert music.melody_from_stream(music.melody_to_stream(melody)) == melody
    # Consecutive rests come back merged.
    assert music.melody_from_stream(music.melody_to_stream([(60, 1.0), (REST, 1.0), (REST, 0.5), (62, 1)])) == [
        (60, 1.0), (REST, 1.5), (62, 1.0)
    ]


def test_midi_and_musicxml_files_read_back_to_the_same_notes(tmp_path, chorales):
    for name, melody in (("hand", HAND_MELODY), ("bwv269", chorales["bach/bwv269"].melody)):
        midi_path, musicxml_path = music.write_melody(melody, tmp_path / "out", name, time_signature="3/4")
        assert midi_path == tmp_path / "out" / f"{name}.mid" and midi_path.stat().st_size > 0
        assert musicxml_path == tmp_path / "out" / f"{name}.musicxml" and musicxml_path.stat().st_size > 0
        assert music.read_melody(midi_path) == melody
        assert music.read_melody(musicxml_path) == melody


def test_piano_roll_draws_one_bar_per_note():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genai_tf.plotting import show_piano_roll

    ax = show_piano_roll(HAND_MELODY, title="hand")
    assert len(ax.collections) == sum(pitch != REST for pitch, _ in HAND_MELODY)
    assert ax.get_xlim() == (0.0, sum(duration for _, duration in HAND_MELODY))
    plt.close(ax.figure)


# --- statistics -------------------------------------------------------------------------------


def test_histograms_by_hand():
    c_d_e = [(60, 1.0), (62, 1.0), (REST, 1.0), (64, 2.0)]
    intervals = music.interval_histogram(c_d_e)
    assert intervals.shape == (25,) and intervals.sum() == pytest.approx(1.0)
    assert intervals[12 + 2] == 1.0   # +2, +2: the rest is skipped
    pitch_classes = music.pitch_class_histogram(c_d_e)
    np.testing.assert_allclose(pitch_classes[[0, 2, 4]], [1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(music.pitch_class_histogram(c_d_e, weight="duration")[[0, 2, 4]], [0.25, 0.25, 0.5])
    # Two melodies: no interval across them; a leap of two octaves is clipped to +12.
    two = music.interval_histogram([[(60, 1.0), (59, 1.0)], [(48, 1.0), (72, 1.0)]])
    assert two[12 - 1] == 0.5 and two[12 + 12] == 0.5 and two.sum() == pytest.approx(1.0)
    assert music.histogram_distance([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]) == pytest.approx(0.5)
    assert music.histogram_distance([0.5, 0.5, 0.0], [0.0, 0.5, 0.5], "jensen_shannon") == pytest.approx(0.5)
    assert music.histogram_distance(pitch_classes, pitch_classes, "jensen_shannon") == 0.0


def test_shuffled_baseline_keeps_pitch_classes_and_changes_intervals(chorales):
    melodies = [SCALE] + [c.melody for c in chorales.values()]
    shuffled = music.shuffled_baseline(melodies, seed=0)
    assert shuffled == music.shuffled_baseline(melodies, seed=0)
    assert [sorted(m) for m in shuffled] == [sorted(m) for m in melodies]
    for weight in ("count", "duration"):
        np.testing.assert_array_equal(
            music.pitch_class_histogram(shuffled, weight), music.pitch_class_histogram(melodies, weight)
        )
    corpus_intervals = music.interval_histogram(melodies)
    assert music.histogram_distance(music.interval_histogram(shuffled), corpus_intervals) > 0.2
    # Chorale melodies move mostly by step or repeat a note (|interval| <= 2 semitones);
    # shuffling spreads the intervals out.
    near = corpus_intervals[10:15].sum()
    assert near > 0.7 and music.interval_histogram(shuffled)[10:15].sum() < near - 0.2


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("melody", "message"),
    [
        ([], "at least one note"),
        ("C D E", "sequence of"),
        ([(60, 1.0), (60,)], r"melody\[1\] must be a \(pitch, duration\) pair"),
        ([(128, 1.0)], "outside"),
        ([(60.0, 1.0)], "not an integer"),
        ([(60, 0.3)], "multiple of 0.25"),
        ([(60, 0)], "multiple of 0.25"),
    ],
)
def test_bad_melodies_raise_clear_errors(melody, message):
    with pytest.raises(ValueError, match=message):
        music.validate_melody(melody)
    with pytest.raises(ValueError, match="Received"):
        music.melody_to_stream(melody)


def test_bad_arguments_raise_clear_errors(tmp_path):
    vocabulary = music.MelodyVocabulary([SCALE])
    with pytest.raises(ValueError, match=r"melody\[0\] = \(61, 1.0\) is not in the vocabulary"):
        vocabulary.encode([(61, 1.0)])
    with pytest.raises(ValueError, match="at least one note"):
        vocabulary.encode([])
    with pytest.raises(ValueError, match="not a token id"):
        vocabulary.decode([1, len(vocabulary)])
    with pytest.raises(ValueError, match="melodies must be a non-empty list"):
        music.MelodyVocabulary([])
    for context_length in (0, -3, 2.5):
        with pytest.raises(ValueError, match=f"context_length={context_length}"):
            music.make_windows([np.arange(10)], context_length=context_length)
    with pytest.raises(ValueError, match="too few"):
        music.make_windows([np.arange(4)], context_length=4)
    with pytest.raises(ValueError, match="stride"):
        music.make_windows([np.arange(10)], context_length=3, stride=0)
    with pytest.raises(ValueError, match="no interval"):
        music.interval_histogram([(60, 1.0), (REST, 1.0)])
    with pytest.raises(ValueError, match="no pitched note"):
        music.pitch_class_histogram([(REST, 1.0)])
    with pytest.raises(ValueError, match="shape"):
        music.histogram_distance([0.5, 0.5], [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="metric"):
        music.histogram_distance([1.0], [1.0], metric="kl")
    with pytest.raises(ValueError, match="key_name"):
        music.transposition_to_c("H major")
    with pytest.raises(ValueError, match="split"):
        music.load_chorales("validation")
    with pytest.raises(ValueError, match="limit"):
        music.load_chorales("train", limit=0)
    with pytest.raises(ValueError, match="name must be a file stem"):
        music.write_melody(SCALE, tmp_path, "sub/dir")
    with pytest.raises(ValueError, match="time_signature"):
        music.melody_to_stream(SCALE, time_signature="four")
    with pytest.raises(ValueError, match="path is not a file"):
        music.read_melody(tmp_path / "missing.mid")
