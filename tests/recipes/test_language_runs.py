"""Tests of the language recipes' command-line runs: too few windows for a batch, --top-k beyond the vocabulary."""

import re

import numpy as np
import pytest

from genai_tf import cli, recipes, tokens
from genai_tf.datasets import chorales as chorales_api
from genai_tf.music import Chorale
from genai_tf.recipes import RunError

# A synthetic split: training melody i is pitch 60 + i then 29 notes of pitch 60 (32 tokens with START and END),
# so n chorales give 32 n tokens, (32 n - 65) // 8 + 1 = 4 n - 8 windows for n >= 3 and none before; the
# held-out melody, 70 notes of pitch 63 (72 tokens), has a vocabulary only from the fourth chorale on.
TRAIN = [Chorale(f"train{i}", "C major", 0, [(60 + i, 1.0)] + [(60, 1.0)] * 29) for i in range(20)]
HELD_OUT = [Chorale("test0", "C major", 0, [(63, 1.0)] * 70)]
NO_HELD_OUT_WINDOW = (", and 0 held-out tokens (held-out melodies with a note outside its vocabulary are left "
                      "out)")


@pytest.fixture
def split(monkeypatch):
    """Replace the chorales with the synthetic split; returns the training-split limits asked for."""
    limits = []

    def load_chorales(split="train", *, limit=None, **kwargs):
        if split == "test":
            return list(HELD_OUT)
        limits.append(limit)
        return TRAIN[:limit]

    monkeypatch.setattr(chorales_api, "load_chorales", load_chorales)
    return limits


def run_data(model, batch_size, chorales=None):
    return recipes.get(model).run_data({"batch_size": batch_size, "seed": 0, "chorales": chorales})


def test_count_windows_is_the_number_make_windows_cuts():
    for length in range(1, 40):
        for context, stride in ((3, None), (3, 2), (5, 1), (4, 7)):
            expected = len(tokens.make_windows(np.arange(length), context, stride)[0]) if length > context else 0
            assert tokens.count_windows(length, context, stride) == expected, (length, context, stride)
    with pytest.raises(ValueError, match="num_tokens must be a non-negative integer"):
        tokens.count_windows(-1, 3)


@pytest.mark.parametrize("chorales, batch_size, needs, fix", [
    (2, 16, "one batch of --batch-size 16 needs 16 windows and one held-out window needs 65",
     "--chorales 6 or more"),
    (3, 2, "one held-out window needs 65", "--chorales 4 or more"),
    (4, 10, "one batch of --batch-size 10 needs 10 windows", "--chorales 5 or more, or --batch-size 8 or less"),
    (2, 100, "one batch of --batch-size 100 needs 100 windows and one held-out window needs 65",
     "--batch-size 72 or less without --chorales"),
])
def test_too_few_chorales_say_what_they_give_and_what_to_pass(split, chorales, batch_size, needs, fix):
    tokens_given = 32 * chorales
    windows = max(4 * chorales - 8, 0)
    held_out = NO_HELD_OUT_WINDOW if chorales < 4 else ""
    expected = (f"--chorales {chorales} gives {tokens_given} training tokens: {windows} windows of 64 tokens, one "
                f"every 8{held_out}; {needs}. Pass {fix}.")
    with pytest.raises(RunError, match=f"^{re.escape(expected)}$"):
        run_data("melody_gru", batch_size, chorales)


def test_the_fewest_chorales_are_found_by_parsing_few(split):
    with pytest.raises(RunError, match=r"Pass --chorales 6 or more\.$"):
        run_data("melody_gru", 16, chorales=2)
    assert split == [2, 4, 8]          # the run's 2, then doubling until 8 chorales fill a batch
    # The fix it names works, and one chorale fewer does not.
    assert run_data("melody_gru", 16, chorales=6).steps_per_epoch == 1
    with pytest.raises(RunError, match="--chorales 5 gives 160 training tokens: 12 windows"):
        run_data("melody_gru", 16, chorales=5)
    assert run_data("melody_gru", 8, chorales=4).steps_per_epoch == 1


def test_all_the_chorales_name_the_largest_batch_size(split):
    expected = ("The 20 training chorales give 640 training tokens: 72 windows of 64 tokens, one every 8; one batch "
                "of --batch-size 100 needs 100 windows. Pass --batch-size 72 or less.")
    with pytest.raises(RunError, match=f"^{re.escape(expected)}$"):
        run_data("melody_gru", 100)
    assert run_data("melody_gru", 72).steps_per_epoch == 1


def test_a_text_batch_larger_than_the_text_names_the_largest_batch_size():
    recipe = recipes.get("char_gru")
    characters = len(recipe.load_corpus().train_tokens[0])
    windows = (characters - 1) // 64
    expected = (f"The training text gives {windows:,} windows of 64 characters ({characters:,} characters); one batch "
                f"of --batch-size 100000 needs 100,000 windows. Pass --batch-size {windows} or less.")
    with pytest.raises(RunError, match=f"^{re.escape(expected)}$"):
        run_data("char_transformer", 100_000)
    assert run_data("char_gru", windows).steps_per_epoch == 1


def test_train_melody_gru_on_two_chorales_exits_1_naming_the_fewest_that_train(tmp_path, capsys):
    argv = ["train", "melody_gru", "--chorales", "2", "--steps", "1", "--outdir", str(tmp_path / "two")]
    assert cli.main(argv) == 1
    error = capsys.readouterr().err
    assert "python -m genai_tf train: error: --chorales 2 gives " in error
    fewest = int(re.search(r"Pass --chorales (\d+) or more\.$", error.strip()).group(1))
    # The fewest, found here by cutting the windows themselves: a batch of 64 training windows and a held-out window.
    held_out = [chorale.melody for chorale in chorales_api.load_chorales("test")]

    def trains(n):
        melodies = [chorale.melody for chorale in chorales_api.load_chorales("train", limit=n)]
        vocabulary = tokens.MelodyVocabulary(melodies)
        ids = [vocabulary.encode(melody) for melody in melodies]
        known = [vocabulary.encode(melody) for melody in held_out if vocabulary.contains(melody)]
        return sum(map(len, known)) > 64 and len(tokens.make_windows(ids, 64, stride=8)[0]) >= 64

    assert not trains(fewest - 1) and trains(fewest)
    argv = ["train", "melody_gru", "--chorales", str(fewest), "--steps", "1", "--outdir", str(tmp_path / "fewest")]
    assert cli.main(argv) == 0


def test_top_k_beyond_the_vocabulary_is_refused_before_sampling(tmp_path):
    recipe = recipes.get("char_gru")
    state = {"vocabulary": recipe.load_corpus().vocabulary.to_json()}
    model = recipe.run_model({"schedule_steps": 10}, state)   # built, untrained
    expected = "--top-k 100000 is larger than the run's vocabulary (94 tokens); pass at most 94."
    with pytest.raises(RunError, match=f"^{re.escape(expected)}$"):
        recipe.write_samples(model, state, tmp_path, "samples", 2, top_k=100_000)
    with pytest.raises(RunError, match=re.escape("--top-k 95 is larger than the run's vocabulary (94 tokens)")):
        recipe.write_samples(model, state, tmp_path, "samples", 2, top_k=95)
    assert list(tmp_path.iterdir()) == []
    (path,) = recipe.write_samples(model, state, tmp_path, "samples", 2, length=5, top_k=94)
    assert "top_k=94" in path.read_text(encoding="utf-8")
    melody = recipes.get("melody_gru")
    notes = {"vocabulary": {"kind": "notes", "tokens": [[60, 1.0], [62, 0.5]]}}
    with pytest.raises(RunError, match=r"^--top-k 6 is larger than the run's vocabulary \(5 tokens\); pass at most 5\.$"):
        melody.write_samples(melody.run_model({"schedule_steps": 10}, notes), notes, tmp_path, "melodies", 1, top_k=6)
