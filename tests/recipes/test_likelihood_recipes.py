"""Tests of genai_tf.recipes.likelihood: the PixelCNN and RealNVP recipes of notebooks 14-15."""

import math
from pathlib import Path

import numpy as np
import pytest

from genai_tf import datasets, recipes
from genai_tf.models import PixelCNN, RealNVP
from genai_tf.recipes import likelihood

NOTEBOOKS = Path(__file__).resolve().parent.parent.parent / "notebooks"


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_TF_OUTPUTS", str(tmp_path))
    return tmp_path


def test_the_likelihood_recipes_name_their_notebooks_and_train_in_epochs():
    assert recipes.names("image")[-2:] == ("pixelcnn", "realnvp")   # notebook 11 ranks their samples too
    for key, notebook, cls in (("pixelcnn", "14_autoregressive_images", PixelCNN),
                               ("realnvp", "15_normalizing_flows", RealNVP)):
        recipe = recipes.get(key)
        assert recipe.notebook == notebook and recipe.unit == "epochs" and recipe.batch_size == 128
        # The flow's held-out bits/dim is lowest near 12 epochs and rises after (notebook 15's exercise 3).
        assert (recipe.full_amount, recipe.amount("quick")) == ((20, 1) if key == "pixelcnn" else (12, 1))
        assert [option.name for option in recipe.options] == ["temperature"]
        model = recipe.build(seed=3)
        assert type(model) is cls and model.compiled and model.seed == 3
        assert model.optimizer.learning_rate.numpy() == pytest.approx(1e-3)
        with pytest.raises(ValueError, match=f"{key} has no latent code: leave latent_dim out. Received: latent_dim=4"):
            recipe.build(latent_dim=4)
    assert recipes.get("realnvp").build().optimizer.global_clipnorm == 100.0


def test_the_pixelcnn_trains_on_binary_and_the_flow_on_8_bit_digits():
    (binary,) = recipes.get("pixelcnn").training_data()
    assert binary.shape == (4500, 28, 28, 1) and set(np.unique(binary)) == {0.0, 1.0}
    (eight_bit,) = recipes.get("realnvp").training_data()
    grey = datasets.load("mnist_sample", "train", pixel_range=(0, 1))[0]
    assert eight_bit.dtype == np.float32 and eight_bit.min() == 0.0 and eight_bit.max() == 255.0
    assert np.array_equal(eight_bit, np.round(eight_bit)) and len(np.unique(eight_bit)) > 200
    np.testing.assert_allclose(eight_bit / 255.0, grey, atol=0.5 / 255 + 1e-6)   # the same images, rounded
    np.testing.assert_array_equal(binary, (grey > 0.5).astype(np.float32))


@pytest.mark.parametrize("key", ["pixelcnn", "realnvp"])
def test_a_saved_model_loads_with_its_record_and_the_same_scores(key, outputs):
    recipe = recipes.get(key)
    model, seconds = recipe.train(1)
    path = recipe.save(model, "quick", 1, seconds)
    assert path == outputs / recipe.notebook / "quick" / f"{key}.keras"
    loaded, record = recipe.load_or_train(1, "quick", verbose=False)
    assert record["source"] == "loaded" and record["amount"] == 1 and record["unit"] == "epochs"
    np.testing.assert_array_equal(recipe.sample(loaded, 4, seed=2), recipe.sample(model, 4, seed=2))
    scores = recipe.extra_scores(loaded, None, "mnist_sample", 0, None)
    assert scores == pytest.approx(recipe.extra_scores(model, None, "mnist_sample", 0, None), rel=1e-6)
    if key == "pixelcnn":   # one epoch is far better than 784 coin flips per image, far worse than a trained model
        assert 100 < scores["held_out_nll_nats"] < 784 * math.log(2)
    else:
        assert 3.0 < scores["held_out_bits_per_dim"] < 8.0


def test_sample_temperature_reaches_the_model():
    recipe = recipes.get("realnvp")
    model = recipe.build()
    cold, warm = recipe.sample(model, 64, seed=0, temperature=0.1), recipe.sample(model, 64, seed=0)
    assert np.std(cold) < 0.5 * np.std(warm)
    for temperature in (0.0, -1.0):   # refused, not read as "no temperature given"
        with pytest.raises(ValueError, match="temperature"):
            recipe.sample(model, 2, temperature=temperature)
        with pytest.raises(ValueError, match="temperature"):
            recipes.get("pixelcnn").sample(recipes.get("pixelcnn").build(), 2, temperature=temperature)
    assert likelihood.TEMPERATURE.flag == "--temperature"
