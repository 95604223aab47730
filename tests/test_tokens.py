"""Tests of genai_tf.tokens: the vocabulary interface (characters, notes), its JSON records, the windows."""

import json

import numpy as np
import pytest

import genai_tf
from genai_tf import tokens
from genai_tf.datasets.chorales import parse_chorale
from genai_tf.music import REST

# Rests (leading, inside), a 1.25 and a sixteenth note.
HAND_MELODY = [
    (REST, 1.0), (60, 1.0), (60, 0.5), (62, 1.25), (REST, 2.0), (64, 3.0), (65, 0.25), (67, 4.0),
]
SCALE = [(60, 1.0), (62, 1.0), (64, 1.0), (65, 1.0), (67, 1.0), (69, 1.0), (71, 1.0), (72, 1.0)]


@pytest.fixture(scope="module")
def chorale_melodies():
    return [parse_chorale(name).melody for name in ("bach/bwv269", "bach/bwv40.8")]


# --- characters -------------------------------------------------------------------------------


def test_char_vocabulary_round_trips_and_rejects_unknown_characters():
    vocabulary = tokens.CharVocabulary("abc\n")
    ids = vocabulary.encode("cab\n")
    assert ids.tolist() == [3, 1, 2, 0] and ids.dtype == np.int32 and vocabulary.decode(ids) == "cab\n"
    assert vocabulary.size == len(vocabulary) == 4
    with pytest.raises(ValueError, match=r"not in the vocabulary.*'z'"):
        vocabulary.encode("abz")
    with pytest.raises(ValueError, match="ids must be in"):
        vocabulary.decode([4])
    with pytest.raises(ValueError, match="non-empty text"):
        tokens.CharVocabulary("")


# --- notes ------------------------------------------------------------------------------------


def test_melody_tokenisation_round_trips(chorale_melodies):
    melodies = chorale_melodies + [HAND_MELODY]
    vocabulary = tokens.MelodyVocabulary(melodies)
    assert len(vocabulary) == vocabulary.size == 3 + len({note for melody in melodies for note in melody})
    for melody in melodies:
        ids = vocabulary.encode(melody)
        assert ids.dtype == np.int32 and ids[0] == vocabulary.START and ids[-1] == vocabulary.END
        assert vocabulary.decode(ids) == melody
        assert vocabulary.decode(vocabulary.encode(melody, add_start_end=False)) == melody
    # Padding and a second START are skipped; END stops decoding.
    ids = vocabulary.encode(HAND_MELODY[:2]).tolist()
    assert vocabulary.decode([0, *ids, 0, *ids]) == HAND_MELODY[:2]


def test_melody_vocabulary_ids_by_hand():
    vocabulary = tokens.MelodyVocabulary([[(62, 0.5), (REST, 1.0), (60, 1.0), (60, 1.0)]])
    # 0, 1, 2 are PAD, START, END; then the notes sorted, the rest (-1) first.
    assert vocabulary.notes == [(REST, 1.0), (60, 1.0), (62, 0.5)]
    assert vocabulary.encode([(60, 1.0), (REST, 1.0)]).tolist() == [1, 4, 3, 2]
    assert vocabulary.token_to_note(5) == (62, 0.5)
    assert vocabulary.contains([(60, 1.0)]) and not vocabulary.contains([(61, 1.0)])


def test_melody_vocabulary_bad_arguments():
    vocabulary = tokens.MelodyVocabulary([SCALE])
    with pytest.raises(ValueError, match=r"melody\[0\] = \(61, 1.0\) is not in the vocabulary"):
        vocabulary.encode([(61, 1.0)])
    with pytest.raises(ValueError, match="at least one note"):
        vocabulary.encode([])
    with pytest.raises(ValueError, match="not a token id"):
        vocabulary.decode([1, len(vocabulary)])
    with pytest.raises(ValueError, match="melodies must be a non-empty list"):
        tokens.MelodyVocabulary([])
    with pytest.raises(ValueError, match=r"token must be a note id in \[3, 11\)\. Received: token=2"):
        vocabulary.token_to_note(2)


# --- one interface, one record ----------------------------------------------------------------


def test_both_vocabularies_implement_the_interface():
    for vocabulary in (tokens.CharVocabulary("ab"), tokens.MelodyVocabulary([SCALE])):
        assert isinstance(vocabulary, tokens.Vocabulary)
        assert len(vocabulary) == vocabulary.size
    with pytest.raises(TypeError, match="abstract"):   # the interface itself cannot be instantiated
        tokens.Vocabulary()

    class Partial(tokens.Vocabulary):
        def encode(self, item):
            return []

    with pytest.raises(TypeError, match="decode"):      # nor a vocabulary missing part of it
        Partial()


def test_records_have_the_format_of_the_run_folders():
    # vocabulary.json as the command line has written it: {"kind", "tokens"}, tokens in id order.
    assert tokens.CharVocabulary("hello world\n").to_json() == {
        "kind": "characters", "tokens": ["\n", " ", "d", "e", "h", "l", "o", "r", "w"],
    }
    melodies = [[(60, 1.0), (-1, 0.5), (62, 0.25)], [(-1, 2.0), (72, 1.5)]]
    assert tokens.MelodyVocabulary(melodies).to_json() == {
        "kind": "notes", "tokens": [[-1, 0.5], [-1, 2.0], [60, 1.0], [62, 0.25], [72, 1.5]],
    }


def test_records_already_written_are_read_back_with_the_same_ids():
    characters = json.loads('{"kind": "characters", "tokens": ["\\n", " ", "a", "b"]}')
    vocabulary = tokens.vocabulary_from_json(characters)
    assert type(vocabulary) is tokens.CharVocabulary and vocabulary.encode("ab \n").tolist() == [2, 3, 1, 0]
    notes = json.loads('{"kind": "notes", "tokens": [[-1, 0.5], [60, 1.0], [62, 0.25]]}')
    vocabulary = tokens.vocabulary_from_json(notes)
    assert type(vocabulary) is tokens.MelodyVocabulary and len(vocabulary) == 6
    assert vocabulary.encode([(62, 0.25), (REST, 0.5), (60, 1)]).tolist() == [1, 5, 3, 4, 2]
    # Round trips through JSON text, by the base class or by the subclass.
    for original in (tokens.CharVocabulary("hello world\n"), tokens.MelodyVocabulary([HAND_MELODY, SCALE])):
        record = json.loads(json.dumps(original.to_json()))
        for again in (tokens.vocabulary_from_json(record), type(original).from_json(record)):
            assert type(again) is type(original) and again.to_json() == original.to_json()


@pytest.mark.parametrize(
    "record",
    [{"kind": "words", "tokens": []}, {"tokens": ["a"]}, ["characters"], {"kind": "characters"}, None],
)
def test_bad_records_are_refused(record):
    with pytest.raises(ValueError, match="kind 'characters' or 'notes'"):
        tokens.vocabulary_from_json(record)


def test_a_subclass_reads_only_its_own_kind():
    with pytest.raises(ValueError, match=r"has kind 'notes' and a list of tokens\. Received: \{'kind': 'characters'"):
        tokens.MelodyVocabulary.from_json({"kind": "characters", "tokens": ["a"]})
    with pytest.raises(ValueError, match="single characters"):
        tokens.CharVocabulary.from_json({"kind": "characters", "tokens": ["ab"]})
    with pytest.raises(ValueError, match=r"\[pitch, duration\] pairs"):
        tokens.MelodyVocabulary.from_json({"kind": "notes", "tokens": [[60]]})


# --- fixed windows ----------------------------------------------------------------------------


def test_windows_of_one_sequence_are_shifted_by_one():
    inputs, targets = tokens.make_windows(np.arange(10), 4, stride=2)
    assert inputs.tolist() == [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7]]
    np.testing.assert_array_equal(targets, inputs + 1)
    # The default stride is the context length: no overlap, (10 - 3 - 1) // 3 + 1 = 3 windows.
    inputs, _ = tokens.make_windows(np.arange(10), 3)
    np.testing.assert_array_equal(inputs[:, 0], [0, 3, 6])


def test_windows_of_several_sequences_join_them_end_to_end():
    sequences = [np.array([1, 10, 11, 2]), np.array([1, 12, 2])]
    inputs, targets = tokens.make_windows(sequences, context_length=4, stride=1)
    np.testing.assert_array_equal(inputs, [[1, 10, 11, 2], [10, 11, 2, 1], [11, 2, 1, 12]])
    np.testing.assert_array_equal(targets, [[10, 11, 2, 1], [11, 2, 1, 12], [2, 1, 12, 2]])
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    assert inputs.dtype == np.int32 and targets.dtype == np.int32
    # A list of plain lists is a list of sequences too; a list of ints is one sequence.
    assert tokens.token_stream([[1, 2], [3]]).tolist() == [1, 2, 3]
    assert tokens.token_stream([4, 5, 6]).tolist() == [4, 5, 6]


def test_window_dataset_batches():
    inputs, targets = tokens.make_windows(np.arange(40), context_length=5, stride=1)
    batches = list(tokens.make_window_dataset(inputs, targets, batch_size=8, shuffle=False))
    assert len(batches) == 35 // 8
    batch_inputs, batch_targets = batches[0]
    assert batch_inputs.shape == (8, 5)
    np.testing.assert_array_equal(batch_inputs.numpy()[:, 1:], batch_targets.numpy()[:, :-1])
    np.testing.assert_array_equal(batch_inputs.numpy()[:, 0], np.arange(8))
    with pytest.raises(ValueError, match="one shape"):
        tokens.make_window_dataset(inputs, targets[:, :4])


def test_window_arguments_are_checked():
    for context_length in (0, -3, 2.5):
        with pytest.raises(ValueError, match=f"context_length must be a positive integer. Received: context_length={context_length}"):
            tokens.make_windows([np.arange(10)], context_length=context_length)
    with pytest.raises(ValueError, match="too few"):
        tokens.make_windows([np.arange(4)], context_length=4)
    with pytest.raises(ValueError, match="needs at least 4"):
        tokens.make_windows(np.arange(3), 3)
    with pytest.raises(ValueError, match="stride must be a positive integer. Received: stride=0"):
        tokens.make_windows([np.arange(10)], context_length=3, stride=0)
    with pytest.raises(ValueError, match=r"shape \(2, 5\)"):
        tokens.make_windows(np.zeros((2, 5), int), 3)
    with pytest.raises(ValueError, match="dtype float64"):
        tokens.make_windows(np.arange(10.0), 3)


# --- random windows ---------------------------------------------------------------------------


def test_random_windows_are_shifted_contiguous_and_reshuffled_each_epoch():
    genai_tf.set_seed(0)
    data = tokens.random_windows(np.arange(1000), context_length=10, batch_size=8, seed=3)
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
    again = tokens.random_windows(np.arange(1000), context_length=10, batch_size=8, seed=3)
    np.testing.assert_array_equal(next(iter(again))[0].numpy()[:, 0], epochs[0][:8])   # seeded
    assert len(tokens.random_windows(np.arange(1000), 10, 8, num_windows=20)) == 2
    with pytest.raises(ValueError, match="batch_size must be a positive integer. Received: batch_size=0"):
        tokens.random_windows(np.arange(1000), 10, 0)
    with pytest.raises(ValueError, match="num_windows must be a positive integer or None. Received: num_windows=0"):
        tokens.random_windows(np.arange(1000), 10, 8, num_windows=0)
    with pytest.raises(ValueError, match="fewer than batch_size"):
        tokens.random_windows(np.arange(50), 10, 8)
    with pytest.raises(ValueError, match="more than"):
        tokens.random_windows(np.arange(50), 10, 2, num_windows=100)


def test_window_batches_are_a_pure_function_of_seed_and_step():
    ids = np.arange(1000)
    data = tokens.window_batches(ids, context_length=10, batch_size=8, num_windows=40, seed=3)   # 5 batches an epoch
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
    again = [x.numpy() for x, _ in tokens.window_batches(ids, 10, 8, num_windows=40, seed=3).take(15)]
    np.testing.assert_array_equal(np.stack(again), inputs)
    other = next(iter(tokens.window_batches(ids, 10, 8, num_windows=40, seed=4)))[0].numpy()
    assert not np.array_equal(other, inputs[0])
    # One pass over the text by default: (len - 1) // T windows an epoch, drawn from all len - T starts.
    full = np.concatenate([x.numpy()[:, 0] for x, _ in tokens.window_batches(ids, 10, 9, seed=0).take(11)])
    assert len(np.unique(full)) == 99 and full.max() <= 989


def test_window_batches_resume_exactly_from_a_small_iterator_checkpoint(tmp_path):
    import tensorflow as tf

    ids = np.random.default_rng(0).integers(0, 90, 100_000)
    data = tokens.window_batches(ids, 64, 32, seed=1)
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
        tokens.window_batches(ids, 64, 32, seed=-1)
    with pytest.raises(ValueError, match="fewer than batch_size"):
        tokens.window_batches(np.arange(50), 10, 8)


# --- repetition and copying -------------------------------------------------------------------


def test_longest_run_finds_the_longest_repeat_and_its_token():
    assert tokens.longest_run([4, 4, 1, 1, 1, 4]) == (3, 1)
    assert tokens.longest_run([2, 2, 2]) == (3, 2)             # a run that reaches the end
    assert tokens.longest_run([5, 6, 7]) == (1, 5)             # ties: the first run wins
    assert tokens.longest_run(np.array([], np.int32)) == (0, None)
    text = "ab" + " " * 70 + "c"
    vocabulary = tokens.CharVocabulary(text)
    length, token = tokens.longest_run(vocabulary.encode(text))
    assert (length, vocabulary.decode([token])) == (70, " ")


def test_longest_shared_ngram_by_hand():
    corpus = [[1, 2, 3, 4, 5], [9, 8, 7]]
    assert tokens.longest_shared_ngram([0, 2, 3, 4, 0], corpus) == 3          # 2 3 4
    assert tokens.longest_shared_ngram([5, 9, 8], corpus) == 2                # 9 8; "5 9" crosses two sequences
    assert tokens.longest_shared_ngram([1, 2, 3, 4, 5], corpus) == 5          # a verbatim copy
    assert tokens.longest_shared_ngram([6, 6], corpus) == 0
    assert tokens.longest_shared_ngram([10, 11], [[10, 11]]) == 2             # ids 10 and beyond are ordinary tokens
    assert tokens.longest_shared_ngram([0, 1], np.array([0, 1, 2])) == 2      # one corpus sequence
    assert tokens.longest_shared_ngram([], corpus) == 0
    # Two matches: the longer one counts, wherever it starts.
    assert tokens.longest_shared_ngram([1, 2, 0, 7, 9, 8, 7], corpus + [[7, 9, 8, 7, 1]]) == 4


def test_longest_shared_ngram_matches_brute_force():
    rng = np.random.default_rng(0)
    corpus = [rng.integers(0, 4, size=int(n)) for n in rng.integers(5, 30, size=6)]
    for _ in range(20):
        query = rng.integers(0, 4, size=int(rng.integers(1, 25)))
        grams = {tuple(part[i : i + n]) for part in corpus for n in range(1, len(part) + 1) for i in range(len(part) - n + 1)}
        expected = max([n for n in range(1, len(query) + 1) for i in range(len(query) - n + 1)
                        if tuple(query[i : i + n]) in grams], default=0)
        assert tokens.longest_shared_ngram(query, corpus) == expected


def test_longest_shared_ngram_and_longest_run_reject_bad_ids():
    with pytest.raises(ValueError, match="ids must be non-negative"):
        tokens.longest_shared_ngram([-1, 2], [[1, 2]])
    with pytest.raises(ValueError, match="corpus must be non-negative"):
        tokens.longest_shared_ngram([1, 2], [[1, -2]])
    with pytest.raises(ValueError, match="integer token ids"):
        tokens.longest_run(np.array([[1, 2]]))
