"""Tests of Recipe.load and Recipe.load_or_train on damaged saves: a reason naming the file, then a retrain with a warning."""

import json
import re
import warnings
import zipfile

import keras
import numpy as np
import pytest

from genai_tf import recipes

MODE = "quick"
SHOWN = "outputs/00_tiny/quick/tiny_line.keras"


class TinyRecipe(recipes.Recipe):
    """A 1 -> 1 Dense layer (2 weights) whose "training" sets both weights to the amount: a model in milliseconds."""

    name, title, notebook, family = "tiny_line", "tiny line", "00_tiny", "toy"
    unit, full_amount, datasets = "steps", 1, ("points", "other_points")

    def build(self):
        return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])

    def train(self, amount, dataset=None, model=None):
        model = self.build()
        model.set_weights([np.full((1, 1), amount, np.float32), np.full((1,), amount, np.float32)])
        return model, 0.25

    def sample(self, model, n, seed=0):
        raise NotImplementedError

    def evaluate(self, model, dataset=None, num_samples=None, seed=0):
        raise NotImplementedError

    def run_data(self, settings):
        raise NotImplementedError

    def run_model(self, settings, state):
        raise NotImplementedError

    def write_samples(self, model, state, folder, stem, num_samples, seed=0, **options):
        raise NotImplementedError

    def evaluate_run(self, model, settings, state, num_samples=None, seed=0, dataset=None):
        raise NotImplementedError


@pytest.fixture
def recipe(tmp_path, monkeypatch):
    """The tiny recipe, with the outputs folder pointed at a temporary one."""
    monkeypatch.setenv("GENAI_TF_OUTPUTS", str(tmp_path))
    return TinyRecipe()


def weights_of(model):
    return [float(np.ravel(weight)[0]) for weight in model.get_weights()]


def recipe_warnings(call):
    """Call ``call()``; return its result and the messages of the warnings this module's recipe gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in caught if "tiny_line" in str(w.message)]


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garble(path):
    path.write_bytes(b"not a keras file " * 40)


def garble_the_weights(path):
    """Overwrite bytes inside the zip's weights entry: still a zip, but its checksum fails."""
    offset = zipfile.ZipFile(path).getinfo("model.weights.h5").header_offset
    data = bytearray(path.read_bytes())
    data[offset + 100: offset + 400] = b"\x55" * 300
    path.write_bytes(bytes(data))


def drop_the_weights(path):
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist() if name != "model.weights.h5"}
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)


NOT_A_ZIP = f"{SHOWN} cannot be loaded (not a zip archive, as a .keras file is: truncated or damaged)"
DAMAGES = [
    (truncate, NOT_A_ZIP),
    (garble, NOT_A_ZIP),
    (garble_the_weights, f"{SHOWN} cannot be loaded (BadZipFile: Bad CRC-32 for file 'model.weights.h5')"),
    (drop_the_weights, f"{SHOWN} cannot be loaded (ValueError: Expected a model.weights.h5 or model.weights.npz file.)"),
]


@pytest.mark.parametrize("damage, reason", DAMAGES, ids=[damage.__name__ for damage, _ in DAMAGES])
def test_load_names_the_damaged_file_and_the_error(recipe, damage, reason):
    model, _ = recipe.train(3)
    path = recipe.save(model, MODE, 3, 0.25, dataset="points")
    loaded, record = recipe.load(MODE)
    assert weights_of(loaded) == [3.0, 3.0] and record["amount"] == 3   # intact, it loads
    damage(path)
    assert recipe.load(MODE) == (None, reason)


@pytest.mark.parametrize("damage", [truncate, garble], ids=["truncated", "garbled"])
def test_load_or_train_retrains_over_a_damaged_file_with_a_warning(recipe, damage, capsys):
    recipe.save(recipe.train(3)[0], MODE, 3, 0.25, dataset="points")
    path = recipe.saved_path(MODE)
    damage(path)
    expected = f"{NOT_A_ZIP}. Retrained tiny_line here for 5 steps and saved it to {SHOWN}."
    with pytest.warns(UserWarning, match=f"^{re.escape(expected)}$"):
        model, record = recipe.load_or_train(5, MODE)
    assert record == dict(key="tiny_line", notebook="00_tiny", mode=MODE, dataset="points", amount=5, unit="steps",
                          seconds=0.2, source="trained")
    assert weights_of(model) == [5.0, 5.0]
    assert f"tiny line: trained here for 5 steps in 0 s ({NOT_A_ZIP})" in capsys.readouterr().out
    # The retrained model was saved over the damaged file, with its record: it loads, and a re-run trains nothing.
    assert json.loads(path.with_suffix(".json").read_text())["amount"] == 5
    loaded, saved = recipe.load(MODE)
    assert weights_of(loaded) == [5.0, 5.0] and saved["amount"] == 5
    (again, again_record), given = recipe_warnings(lambda: recipe.load_or_train(5, MODE, verbose=False))
    assert given == []
    assert again_record["source"] == "loaded" and weights_of(again) == [5.0, 5.0]


def test_a_damaged_record_is_retrained_over_too(recipe):
    path = recipe.save(recipe.train(3)[0], MODE, 3, 0.25, dataset="points")
    path.with_suffix(".json").write_text("{\"key\": \"tiny_l", encoding="utf-8")
    model, reason = recipe.load(MODE)
    assert model is None and reason.startswith(f"{SHOWN} cannot be loaded (The training record file ")
    assert "tiny_line.json cannot be read as JSON" in reason
    with pytest.warns(UserWarning, match="tiny_line.json cannot be read as JSON .*Retrained tiny_line here for 2 steps"):
        _, record = recipe.load_or_train(2, MODE, verbose=False)
    assert record["source"] == "trained" and recipe.load(MODE)[1]["amount"] == 2


def test_a_damaged_own_save_gives_way_to_the_cache_with_a_warning(recipe):
    own = recipe.save(recipe.train(3)[0], MODE, 3, 0.25, dataset="points")
    truncate(own)
    cache = "11_cache"
    cached = f"outputs/{cache}/{MODE}/tiny_line.keras"
    with pytest.warns(UserWarning, match=re.escape(f"{NOT_A_ZIP}. Retrained tiny_line here for 4 steps and saved "
                                                   f"it to {cached}.")):
        _, record = recipe.load_or_train(4, MODE, cache_notebook=cache, verbose=False)
    assert record["notebook"] == cache and record["source"] == "trained"
    # The next call loads the cache and still says the notebook's own save is damaged.
    with pytest.warns(UserWarning, match=f"^{re.escape(f'{NOT_A_ZIP}. Loaded the tiny_line saved by {cache} instead.')}$"):
        model, again = recipe.load_or_train(4, MODE, cache_notebook=cache, verbose=False)
    assert again["source"] == "loaded" and again["notebook"] == cache and weights_of(model) == [4.0, 4.0]


def test_a_model_of_another_dataset_is_retrained_without_a_warning(recipe):
    recipe.save(recipe.train(3)[0], MODE, 3, 0.25, dataset="other_points")
    assert recipe.load(MODE) == (None, "the saved tiny_line was trained on 'other_points', not 'points'")
    (model, record), given = recipe_warnings(lambda: recipe.load_or_train(6, MODE, verbose=False))
    assert given == []
    assert record["source"] == "trained" and weights_of(model) == [6.0, 6.0]
    assert recipe.load(MODE, dataset="other_points") == (None, "the saved tiny_line was trained on 'points', not "
                                                               "'other_points'")
