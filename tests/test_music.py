"""Tests of genai_tf.music: the melody format, music21 conversion, export, statistics.

Parses four chorales from music21's bundled corpus (about a second). The
corpus, its split and cache are tested in tests/datasets/test_chorales.py, the
melody vocabulary and windows in tests/test_tokens.py.
"""

import math

import numpy as np
import pytest

from genai_tf import music, theory
from genai_tf.datasets.chorales import parse_chorale
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
    return {name: parse_chorale(name) for name in names}


# --- melodies from the corpus -----------------------------------------------------------------


def test_transposition_to_c_by_hand():
    # G major -> C major: up a fourth (5); d minor -> a minor: down a fourth (-5); F# -> C: down a tritone.
    assert music.transposition_to_c("G major") == 5 and music.transposition_to_c("d minor") == -5
    assert music.transposition_to_c("F# major") == -6 and music.transposition_to_c("b- minor") == -1
    assert music.transposition_to_c("C major") == 0 and music.transposition_to_c("a minor") == 0
    assert music.transpose([(67, 1.0), (REST, 0.5)], -7) == [(60, 1.0), (REST, 0.5)]


def test_the_soprano_is_taken_even_when_an_instrument_comes_first(chorales):
    from music21 import corpus

    score = corpus.parse("bach/bwv161.6")
    assert score.parts[0].partName == "Recorders"
    soprano = next(part for part in score.parts if part.partName == "Soprano")
    # melody_from_stream of the whole score reads the Soprano part, not the first one.
    taken = music.melody_from_stream(score, trim_rests=True)
    assert taken == music.melody_from_stream(soprano, trim_rests=True)
    assert taken != music.melody_from_stream(score.parts[0], trim_rests=True)
    assert chorales["bach/bwv161.6"].melody == taken
    # A Humdrum file has no part names: its first part is the top voice, and the one taken.
    score, humdrum = corpus.parse("bach/bwv281"), chorales["bach/bwv281"]
    assert [part.partName for part in score.parts] == [None] * 4
    mean_pitches = [np.mean([n.pitch.midi for n in part.recurse().notes]) for part in score.parts]
    assert np.argmax(mean_pitches) == 0
    first_part = music.melody_from_stream(score.parts[0], trim_rests=True)
    assert humdrum.melody == music.transpose(first_part, humdrum.transposition)


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


def test_jensen_shannon_is_the_package_one_in_bits():
    # Disjoint supports: exactly one bit.
    assert music.histogram_distance([1, 0], [0, 1], "jensen_shannon") == 1.0
    # p = (1/2, 1/2), q = (1, 0): m = (3/4, 1/4),
    # KL(p || m) = 1/2 log2(2/3) + 1/2 log2(2) = 0.2075187..., KL(q || m) = log2(4/3) = 0.4150375...
    by_hand = 0.5 * (0.5 * math.log2(2 / 3) + 0.5) + 0.5 * math.log2(4 / 3)
    assert music.histogram_distance([0.5, 0.5], [1.0, 0.0], "jensen_shannon") == pytest.approx(by_hand, abs=1e-15)
    assert by_hand == pytest.approx(0.3112781244591328, abs=1e-15)
    # Counts are normalised first, and the value is theory.js_divergence (nats) / ln 2.
    rng = np.random.default_rng(0)
    p, q = rng.random(12) * (rng.random(12) > 0.3), rng.random(12)
    expected = theory.js_divergence(p / p.sum(), q / q.sum()) / math.log(2.0)
    assert music.histogram_distance(3 * p, q, "jensen_shannon") == pytest.approx(expected, rel=1e-12)
    assert 0.0 < expected < 1.0


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
    with pytest.raises(ValueError, match="no interval"):
        music.interval_histogram([(60, 1.0), (REST, 1.0)])
    with pytest.raises(ValueError, match="no pitched note"):
        music.pitch_class_histogram([(REST, 1.0)])
    with pytest.raises(ValueError, match="shape"):
        music.histogram_distance([0.5, 0.5], [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"metric must be one of 'total_variation', 'jensen_shannon'\. Received: metric='kl'"):
        music.histogram_distance([1.0], [1.0], metric="kl")
    with pytest.raises(ValueError, match=r"weight must be one of 'count', 'duration'\. Received: weight='length'"):
        music.pitch_class_histogram(SCALE, weight="length")
    with pytest.raises(ValueError, match="max_interval must be a positive integer. Received: max_interval=0"):
        music.interval_histogram(SCALE, max_interval=0)
    with pytest.raises(ValueError, match=r"bpm must be in \(0.0, inf\)\. Received: bpm=0"):
        music.melody_to_stream(SCALE, bpm=0)
    with pytest.raises(ValueError, match="semitones must be an integer >= -127. Received: semitones=1.5"):
        music.transpose(SCALE, 1.5)
    with pytest.raises(ValueError, match="leaves the MIDI range"):
        music.transpose(SCALE, 100)
    with pytest.raises(ValueError, match="key_name"):
        music.transposition_to_c("H major")
    with pytest.raises(ValueError, match="name must be a file stem"):
        music.write_melody(SCALE, tmp_path, "sub/dir")
    with pytest.raises(ValueError, match="time_signature"):
        music.melody_to_stream(SCALE, time_signature="four")
    with pytest.raises(ValueError, match="path is not a file"):
        music.read_melody(tmp_path / "missing.mid")
