"""Bach chorale melodies from music21's bundled corpus: which chorales, the split and the cache.

The data layer of notebook 10. Nothing here downloads: the chorales are the
MusicXML and Humdrum files that ship inside the ``music21`` package.

- **Which chorales.** The Riemenschneider collection as music21 lists it
  (``music21.corpus.chorales.Iterator``, numbers 1-371). Some numbers share
  one corpus file; each file is kept once, which leaves 350 chorales.
- **Which voice.** The part whose name (or id) starts with "Soprano"; where
  no part is so named (three Humdrum files) the first part, which is then the
  top voice (:func:`genai_tf.music.melody_from_stream`).
- **Which key.** music21's default key finder (the Krumhansl-Schmuckler
  algorithm with Aarden-Essen key profiles, ``Score.analyze("key")``) runs on
  all the voices of the chorale; the melody is then moved by the smallest
  shift, -6 to +5 semitones, that takes a major key to **C major** and a minor
  key to **A minor** (:func:`genai_tf.music.transposition_to_c`).
- **Which split.** 35 of the 350 chorales are held out, by
  :func:`genai_tf.datasets.splits.hashed_split`.

What a melody is, and what the conversion drops, is described in
:mod:`genai_tf.music`.

Parsing all 350 chorales takes about a minute on a 2-core CPU, so the melodies
are cached as JSON in the git-ignored ``outputs/music/`` folder
(:func:`genai_tf.config.outputs_dir`); the cache grows chorale by chorale and
is rebuilt when missing or written by another music21 or format version.
"""

from pathlib import Path

from genai_tf.datasets.splits import HELD_OUT_FRACTION, SPLIT_SEED, hashed_order, hashed_split
from genai_tf.music import GRID, Chorale, melody_from_stream, transpose, transposition_to_c
from genai_tf.records import RecordError, read_json, write_json
from genai_tf.validation import one_of, positive_int

SPLITS = ("train", "test", "all")
CACHE_FORMAT = 1
CACHE_NAME = "chorales.json"


def chorale_names():
    """Corpus names of the 350 chorales (Riemenschneider 1-371, each file once), sorted.

    Reads music21's list of chorales; parses nothing.
    """
    from music21 import corpus

    return sorted(set(corpus.chorales.Iterator(returnType="filename")))


def parse_chorale(name):
    """Parse one chorale from music21's bundled corpus into a transposed soprano melody.

    Uses ``corpus.parse(name, forceSource=True)``: the file inside the
    installed package, read from source, so music21 neither downloads nor
    writes its own pickle cache. Takes about 0.2 s.

    Args:
        name: corpus name, e.g. ``"bach/bwv269"``.

    Returns:
        A :class:`genai_tf.music.Chorale` whose melody is in C major or A
        minor, leading and trailing rests removed.
    """
    from music21 import corpus

    if not isinstance(name, str) or not name:
        raise ValueError(f'name must be a corpus name such as "bach/bwv269". Received: name={name!r}')
    score = corpus.parse(name, forceSource=True)
    key = score.analyze("key")
    key_name = f"{key.tonic.name} {key.mode}"
    shift = transposition_to_c(key_name)
    melody = transpose(melody_from_stream(score, trim_rests=True), shift)
    return Chorale(name=name, key=key_name, transposition=shift, melody=melody)


def split_names(names=None, held_out_fraction=HELD_OUT_FRACTION, seed=SPLIT_SEED):
    """The fixed train / held-out split by chorale, :func:`genai_tf.datasets.splits.hashed_split`.

    The first ``ceil(held_out_fraction * len(names))`` names in the order of
    their SHA-256 hash are held out; a prefix of either part is a random sample.

    Args:
        names: corpus names; default :func:`chorale_names` (350 names, 315 / 35).
        held_out_fraction, seed: as for ``hashed_split``.

    Returns:
        (train_names, test_names), two disjoint lists in the split's order.
    """
    return hashed_split(chorale_names() if names is None else names, held_out_fraction, seed)


def default_cache_path():
    """``outputs/music/chorales.json`` (or under ``GENAI_TF_OUTPUTS``)."""
    from genai_tf.config import outputs_dir

    return outputs_dir("music") / CACHE_NAME


def _read_cache(path):
    """The cached records by name; {} when the file is missing, damaged or of another version."""
    import music21

    try:
        content = read_json(path, what="chorale cache")
    except RecordError:
        return {}
    header = (content.get("format"), content.get("music21"), content.get("grid"))
    if header != (CACHE_FORMAT, music21.__version__, GRID):
        return {}
    return content.get("chorales", {})


def _write_cache(path, records):
    import music21

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"format": CACHE_FORMAT, "music21": music21.__version__, "grid": GRID, "chorales": records}
    write_json(path, content, compact=True)


def load_chorales(split="train", *, limit=None, cache_path=None, verbose=False):
    """Chorale melodies of one split, parsed once and then read from the JSON cache.

    Chorales missing from the cache are parsed (:func:`parse_chorale`, about
    0.2 s each, a minute for all) and added to it; everything else is read
    from the file (well under a second).

    Args:
        split: ``"train"`` (315 chorales), ``"test"`` (35, held out) or ``"all"``.
        limit: keep only the first ``limit`` chorales of the split, in the
            split's fixed pseudo-random order (a smaller random sample, for
            quick mode); ``None`` keeps all.
        cache_path: the JSON file; default :func:`default_cache_path`.
        verbose: print how many chorales were parsed.

    Returns:
        List of :class:`genai_tf.music.Chorale`, in the split's fixed order.
    """
    one_of(split, SPLITS, "split")
    limit = positive_int(limit, "limit", allow_none=True)
    train, test = split_names()
    names = {"train": train, "test": test, "all": hashed_order(train + test, SPLIT_SEED)}[split]
    names = names[:limit] if limit is not None else names
    path = Path(cache_path) if cache_path is not None else default_cache_path()
    records = _read_cache(path)
    missing = [name for name in names if name not in records]
    for name in missing:
        chorale = parse_chorale(name)
        records[name] = {"key": chorale.key, "transposition": chorale.transposition, "melody": chorale.melody}
    if missing:
        # Re-read before writing, so chorales another process added meanwhile are kept.
        records = {**_read_cache(path), **records}
        _write_cache(path, records)
    if verbose:
        print(f"{len(names)} chorales ({split}): {len(missing)} parsed, {len(names) - len(missing)} from {path}")
    return [
        Chorale(
            name=name,
            key=records[name]["key"],
            transposition=int(records[name]["transposition"]),
            melody=[(int(pitch), float(duration)) for pitch, duration in records[name]["melody"]],
        )
        for name in names
    ]
