"""Melodies: the format, music21 conversion, export to MIDI and MusicXML, and statistics.

- **What a melody is.** A list of notes ``(pitch, duration)``: ``pitch`` is a
  MIDI number (60 = middle C) or :data:`REST` (-1); ``duration`` is a length in
  quarter notes, a positive multiple of :data:`GRID` (0.25, a sixteenth note).
- **Which voice.** :func:`melody_from_stream` takes the part whose name (or
  id) starts with "Soprano"; where no part is so named (three Humdrum files)
  the first part, which is then the top voice. (Sixteen chorales with
  obbligato instruments list trumpets, horns or violins before the soprano,
  so "the first part" alone is wrong.)
- **Which key.** :func:`transposition_to_c` is the smallest shift, -6 to +5
  semitones, that takes a major key to **C major** and a minor key to **A minor**.

What the conversion drops or changes, on purpose:

- ties are merged into one note (``stripTies``), so a note tied over a barline
  is one long note;
- grace notes are dropped (three in the corpus); a chord, if any, becomes its
  top note; where a second voice overlaps the first, the overlapping note is
  dropped;
- onsets and ends are rounded to the 0.25 grid, and a note that rounds to zero
  length is dropped (nine thirty-second notes in two chorales), so the total
  length is kept;
- consecutive rests are merged into one, and corpus melodies lose their
  leading and trailing rests (the bars where an obbligato instrument plays
  alone);
- repeat signs are not expanded (the written order is kept), and fermatas,
  dynamics, lyrics and the time signature are not kept.

The Bach chorales themselves (which ones, the split, the cache) are in
:mod:`genai_tf.datasets.chorales`; their vocabulary and windows in
:mod:`genai_tf.tokens`.
"""

import math
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from genai_tf.metrics import nats_to_bits
from genai_tf.theory import js_divergence
from genai_tf.validation import int_at_least, one_of, positive_float, positive_int

REST = -1
GRID = 0.25
MAX_INTERVAL = 12
HISTOGRAM_METRICS = ("total_variation", "jensen_shannon")
_TARGET_TONIC = {"major": 0, "minor": 9}  # C major, A minor


class Chorale(NamedTuple):
    """One chorale's soprano melody, transposed to C major or A minor.

    Attributes:
        name: the corpus name, e.g. ``"bach/bwv269"`` (``music21.corpus.parse(name)``).
        key: the analysed key of the original, e.g. ``"G major"``, ``"F minor"``.
        transposition: the semitones added to every pitch, in [-6, 5].
        melody: list of ``(pitch, duration)`` notes.
    """

    name: str
    key: str
    transposition: int
    melody: list


# --- melodies ---------------------------------------------------------------------------------


def validate_melody(melody, argument="melody"):
    """Check a melody and return it as a list of ``(int pitch, float duration)`` tuples.

    Args:
        melody: non-empty sequence of ``(pitch, duration)`` pairs; ``pitch`` an
            integer MIDI number in [0, 127] or :data:`REST` (-1); ``duration``
            a positive multiple of :data:`GRID` quarter notes.
        argument: the name used in the error message.

    Returns:
        The melody as a new list of tuples.

    Raises:
        ValueError: naming the first bad note, or if the melody is empty.

    Example:
    >>> validate_melody([(60, 1), (REST, 0.5)])
    [(60, 1.0), (-1, 0.5)]
    """
    if isinstance(melody, (str, bytes)) or not hasattr(melody, "__len__"):
        raise ValueError(
            f"{argument} must be a sequence of (pitch, duration) pairs. Received: {argument}={melody!r}"
        )
    if len(melody) == 0:
        raise ValueError(f"{argument} must contain at least one note. Received: {argument}={melody!r}")
    notes = []
    for index, item in enumerate(melody):
        try:
            pitch, duration = item
        except (TypeError, ValueError):
            raise ValueError(
                f"{argument}[{index}] must be a (pitch, duration) pair. Received: {argument}[{index}]={item!r}"
            ) from None
        if isinstance(pitch, (bool, np.bool_)) or not isinstance(pitch, (int, np.integer)):
            raise ValueError(
                f"{argument}[{index}] has a pitch that is not an integer MIDI number or REST (-1). "
                f"Received: {argument}[{index}]={item!r}"
            )
        if not (pitch == REST or 0 <= pitch <= 127):
            raise ValueError(
                f"{argument}[{index}] has a pitch outside [0, 127] that is not REST (-1). "
                f"Received: {argument}[{index}]={item!r}"
            )
        try:
            duration = float(duration)
        except (TypeError, ValueError):
            duration = float("nan")
        steps = duration / GRID
        if not (math.isfinite(duration) and duration > 0 and abs(steps - round(steps)) < 1e-6):
            raise ValueError(
                f"{argument}[{index}] needs a duration that is a positive multiple of {GRID} quarter notes. "
                f"Received: {argument}[{index}]={item!r}"
            )
        notes.append((int(pitch), round(steps) * GRID))
    return notes


def _quantise(offset):
    return round(float(offset) / GRID) * GRID


def _merge_rests(notes):
    merged = []
    for pitch, duration in notes:
        if pitch == REST and merged and merged[-1][0] == REST:
            merged[-1] = (REST, merged[-1][1] + duration)
        else:
            merged.append((pitch, duration))
    return merged


def _soprano_part(score):
    """The part named Soprano, else the first part; a stream without parts is its own part."""
    parts = list(score.parts) if hasattr(score, "parts") else []
    if not parts:
        return score
    for part in parts:
        for label in (part.partName, part.id):
            if isinstance(label, str) and label.strip().lower().startswith("soprano"):
                return part
    return parts[0]


def melody_from_stream(music, trim_rests=False):
    """Turn a music21 stream into a melody: the soprano (or first) part, on the 0.25 grid.

    Ties are merged, grace notes dropped, a chord becomes its top note, a note
    overlapping the one before (a second voice) is dropped, onsets and ends
    are rounded to :data:`GRID` and zero-length notes dropped, gaps and rests
    become :data:`REST` notes and consecutive rests are merged. Pitches are
    not transposed.

    Args:
        music: a ``music21`` Score, Part or Stream, e.g. from
            ``music21.converter.parse`` or :func:`melody_to_stream`.
        trim_rests: drop leading and trailing rests.

    Returns:
        A melody, list of ``(pitch, duration)`` tuples.

    Raises:
        ValueError: if the stream holds no note.
    """
    from music21 import chord, note

    part = _soprano_part(music)
    events = part.stripTies().flatten().notesAndRests
    notes, cursor = [], 0.0
    for element in events:
        if element.duration.isGrace or element.quarterLength == 0:
            continue
        if isinstance(element, note.Rest):
            pitch = REST
        elif isinstance(element, chord.Chord):
            pitch = max(p.midi for p in element.pitches)
        elif isinstance(element, note.Note):
            pitch = element.pitch.midi
        else:  # unpitched percussion
            continue
        start = _quantise(element.offset)
        end = _quantise(element.offset + element.quarterLength)
        if start < cursor or end <= start:
            continue
        if start > cursor:
            notes.append((REST, start - cursor))
        notes.append((pitch, end - start))
        cursor = end
    notes = _merge_rests(notes)
    if trim_rests:
        while notes and notes[0][0] == REST:
            notes.pop(0)
        while notes and notes[-1][0] == REST:
            notes.pop()
    if not any(pitch != REST for pitch, _ in notes):
        raise ValueError(f"The stream holds no note. Received: music={music!r}")
    return notes


def transposition_to_c(key_name):
    """Semitones that move a key's tonic to C (major) or A (minor), in [-6, 5].

    Args:
        key_name: ``"<tonic> major"`` or ``"<tonic> minor"`` as music21 prints
            a ``Key``, e.g. ``"G major"``, ``"f# minor"``, ``"B- major"`` (``-`` is flat).

    Returns:
        int, the shift to add to every MIDI pitch.

    Example:
    >>> transposition_to_c("G major"), transposition_to_c("d minor"), transposition_to_c("F# major")
    (5, -5, -6)
    """
    from_name = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
    parts = key_name.split() if isinstance(key_name, str) else []
    if len(parts) != 2 or parts[1] not in _TARGET_TONIC or not parts[0] or parts[0][0].lower() not in from_name:
        raise ValueError(
            f'key_name must look like "G major" or "f# minor". Received: key_name={key_name!r}'
        )
    tonic, mode = parts
    accidentals = tonic[1:]
    if set(accidentals) - {"#", "-"} or ("#" in accidentals and "-" in accidentals):
        raise ValueError(f'key_name must look like "G major" or "f# minor". Received: key_name={key_name!r}')
    tonic_class = (from_name[tonic[0].lower()] + accidentals.count("#") - accidentals.count("-")) % 12
    return (_TARGET_TONIC[mode] - tonic_class + 6) % 12 - 6


def transpose(melody, semitones):
    """Add ``semitones`` to every pitch of a melody; rests stay rests.

    Example:
    >>> transpose([(67, 1.0), (REST, 1.0)], 5)
    [(72, 1.0), (-1, 1.0)]
    """
    notes = validate_melody(melody)
    semitones = int_at_least(semitones, -127, "semitones")
    shifted = [(pitch if pitch == REST else pitch + semitones, duration) for pitch, duration in notes]
    if any(not (pitch == REST or 0 <= pitch <= 127) for pitch, _ in shifted):
        raise ValueError(f"Transposing by {semitones} leaves the MIDI range [0, 127]. Received: semitones={semitones}")
    return shifted


# --- export -----------------------------------------------------------------------------------


def melody_to_stream(melody, time_signature="4/4", bpm=80):
    """A music21 Score with one part (the melody), key signature without sharps or flats.

    Args:
        melody: list of ``(pitch, duration)`` notes.
        time_signature: e.g. ``"4/4"``, ``"3/4"``; notes crossing a barline
            are written as tied notes.
        bpm: quarter notes per minute, positive.

    Returns:
        ``music21.stream.Score``; :func:`melody_from_stream` gives the melody
        back (with consecutive rests merged).
    """
    from music21 import key, meter, note, stream, tempo

    notes = validate_melody(melody)
    positive_float(bpm, "bpm")
    try:
        signature = meter.TimeSignature(time_signature)
    except Exception:  # music21 raises its own exception types for a malformed signature
        raise ValueError(f'time_signature must look like "4/4". Received: time_signature={time_signature!r}') from None
    part = stream.Part(id="Soprano")
    part.partName = "Soprano"
    part.append(tempo.MetronomeMark(number=bpm))
    part.append(signature)
    part.append(key.KeySignature(0))
    for pitch, duration in notes:
        part.append(note.Rest(quarterLength=duration) if pitch == REST else note.Note(pitch, quarterLength=duration))
    score = stream.Score(id="melody")
    score.insert(0, part)
    return score


def write_melody(melody, folder, name, time_signature="4/4", bpm=80):
    """Write a melody as a MIDI file and a MusicXML file.

    A trailing rest has no MIDI event and is lost in the ``.mid`` file; the
    MusicXML file keeps it.

    Args:
        melody: list of ``(pitch, duration)`` notes.
        folder: output folder, created if missing (e.g. ``outputs_dir("10_music_generation")``).
        name: file stem, without folder or suffix.
        time_signature, bpm: as for :func:`melody_to_stream`.

    Returns:
        (midi_path, musicxml_path): ``Path`` objects of ``name.mid`` and ``name.musicxml``.
    """
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or os.sep in name:
        raise ValueError(f"name must be a file stem without a folder. Received: name={name!r}")
    score = melody_to_stream(melody, time_signature=time_signature, bpm=bpm)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    midi_path, musicxml_path = folder / f"{name}.mid", folder / f"{name}.musicxml"
    score.write("midi", fp=midi_path)
    score.write("musicxml", fp=musicxml_path)
    return midi_path, musicxml_path


def read_melody(path):
    """Read a MIDI or MusicXML file back into a melody (:func:`melody_from_stream`).

    From a MIDI file the trailing rests are dropped: MIDI has no event for
    them, and music21 pads the last bar with a rest of its own.

    Args:
        path: a ``.mid``/``.midi`` or ``.musicxml``/``.xml``/``.mxl`` file.

    Returns:
        A melody, list of ``(pitch, duration)`` tuples.
    """
    from music21 import converter

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path is not a file. Received: path={str(path)!r}")
    # forceSource: music21 would otherwise pickle every file it reads into its scratch folder.
    notes = melody_from_stream(converter.parse(path, forceSource=True))
    if path.suffix.lower() in (".mid", ".midi"):
        while notes[-1][0] == REST:
            notes.pop()
    return notes


# --- statistics -------------------------------------------------------------------------------


def _as_melody_list(melodies):
    """Accept one melody or a list of melodies; return a list of validated melodies."""
    if isinstance(melodies, (str, bytes)) or not hasattr(melodies, "__len__") or len(melodies) == 0:
        raise ValueError(f"melodies must be a melody or a non-empty list of melodies. Received: melodies={melodies!r}")
    first = melodies[0]
    one_melody = hasattr(first, "__len__") and len(first) == 2 and not hasattr(first[0], "__len__")
    if one_melody:
        return [validate_melody(melodies)]
    return [validate_melody(melody, argument=f"melodies[{index}]") for index, melody in enumerate(melodies)]


def _normalised(counts, what):
    total = counts.sum()
    if total <= 0:
        raise ValueError(f"The melodies hold no {what}, so the histogram is undefined.")
    return counts / total


def pitch_class_histogram(melodies, weight="count"):
    """Distribution of the 12 pitch classes (C, C#, ..., B) over the notes; rests are ignored.

    Args:
        melodies: one melody or a list of melodies.
        weight: ``"count"`` (each note counts 1, the default) or ``"duration"``
            (each note counts its length in quarter notes).

    Returns:
        float64 array of shape (12,), summing to 1; index = MIDI pitch mod 12.

    Example:
    >>> pitch_class_histogram([(60, 1.0), (62, 1.0), (REST, 1.0), (72, 2.0)]).round(3).tolist()[:3]
    [0.667, 0.0, 0.333]
    """
    one_of(weight, ("count", "duration"), "weight")
    counts = np.zeros(12)
    for melody in _as_melody_list(melodies):
        for pitch, duration in melody:
            if pitch != REST:
                counts[pitch % 12] += 1.0 if weight == "count" else duration
    return _normalised(counts, "pitched note")


def interval_histogram(melodies, max_interval=MAX_INTERVAL):
    """Distribution of melodic intervals, in semitones, between consecutive notes of each melody.

    Rests are skipped (the interval across a rest joins the notes either
    side); intervals are not counted across melodies. Intervals larger than
    ``max_interval`` semitones are clipped into the end bins.

    Formula:
        interval_t = clip(pitch_{t+1} - pitch_t, -max_interval, max_interval)

    Args:
        melodies: one melody or a list of melodies.
        max_interval: positive int; the default 12 clips at an octave.

    Returns:
        float64 array of shape (2 * max_interval + 1,), summing to 1; index
        ``i`` is the interval ``i - max_interval`` (so the middle bin is a repeated note).

    Example:
    >>> histogram = interval_histogram([(60, 1.0), (62, 1.0), (64, 2.0)], max_interval=2)
    >>> histogram.tolist()  # intervals -2, -1, 0, +1, +2
    [0.0, 0.0, 0.0, 0.0, 1.0]
    """
    max_interval = positive_int(max_interval, "max_interval")
    counts = np.zeros(2 * max_interval + 1)
    for melody in _as_melody_list(melodies):
        pitches = np.array([pitch for pitch, _ in melody if pitch != REST])
        intervals = np.clip(np.diff(pitches), -max_interval, max_interval)
        np.add.at(counts, intervals + max_interval, 1.0)
    return _normalised(counts, "interval (no melody has two notes)")


def histogram_distance(p, q, metric="total_variation"):
    """Distance between two histograms, by default the total variation distance.

    Formula:
        total_variation(p, q) = 0.5 * sum_i |p_i - q_i|                 (in [0, 1])
        jensen_shannon(p, q)  = 0.5 * KL(p || m) + 0.5 * KL(q || m),
                                m = (p + q) / 2, KL in bits           (in [0, 1])

    Both are symmetric and 0 only for equal histograms. Inputs are
    normalised to sum to 1 first. The Jensen-Shannon divergence is
    :func:`genai_tf.theory.js_divergence` (in nats) converted by
    :func:`genai_tf.metrics.nats_to_bits`.

    Args:
        p, q: non-negative arrays of one shape, each with a positive sum.
        metric: ``"total_variation"`` or ``"jensen_shannon"``.

    Returns:
        float.

    Example:
    >>> histogram_distance([1.0, 0.0], [0.5, 0.5]), histogram_distance([1, 0], [0, 1], "jensen_shannon")
    (0.5, 1.0)
    """
    one_of(metric, HISTOGRAM_METRICS, "metric")
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 1:
        raise ValueError(f"p and q must be 1-D arrays of one shape. Received: p.shape={p.shape}, q.shape={q.shape}")
    for argument, value in (("p", p), ("q", q)):
        if not np.all(np.isfinite(value)) or np.any(value < 0) or value.sum() <= 0:
            raise ValueError(f"{argument} must be non-negative with a positive sum. Received: {argument}={value}")
    p, q = p / p.sum(), q / q.sum()
    if metric == "total_variation":
        return float(0.5 * np.abs(p - q).sum())
    return float(nats_to_bits(js_divergence(p, q)))


def shuffled_baseline(melodies, seed=0):
    """The same notes in a random order within each melody: keeps pitch classes, destroys intervals.

    Each melody's ``(pitch, duration)`` notes (rests included) are permuted
    with ``numpy.random.default_rng(seed)``. The pitch-class histogram (by
    count or duration) is unchanged exactly; the interval histogram is that
    of random pairs of the melody's notes. A model has learnt melodic motion
    when its interval histogram is closer to the corpus than this baseline's.

    Args:
        melodies: a list of melodies.
        seed: the permutation seed.

    Returns:
        A new list of melodies, same lengths.
    """
    rng = np.random.default_rng(seed)
    shuffled = []
    for melody in _as_melody_list(melodies):
        order = rng.permutation(len(melody))
        shuffled.append([melody[i] for i in order])
    return shuffled


def pitch_name(pitch):
    """Scientific pitch name of a MIDI number (60 -> "C4"), or "rest".

    Example:
    >>> pitch_name(60), pitch_name(70), pitch_name(REST)
    ('C4', 'A#4', 'rest')
    """
    if pitch == REST:
        return "rest"
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    return f"{names[pitch % 12]}{pitch // 12 - 1}"
