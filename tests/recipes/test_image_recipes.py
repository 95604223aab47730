"""Tests of genai_tf.recipes.images: the recipes of notebooks 03-08, samples in [0, 1], saving with a record, load-or-train."""

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from genai_tf import recipes
from genai_tf.models import DCGAN, GAN, VAE, WGANGP, ConditionalGAN
from genai_tf.recipes import images

NOTEBOOKS = Path(__file__).resolve().parent.parent.parent / "notebooks"
IMAGE_MODELS = ("mlp_gan", "dcgan", "conditional_gan", "wgan_gp", "mlp_vae", "conv_vae")


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    """Point the outputs folder at a temporary one."""
    monkeypatch.setenv("GENAI_TF_OUTPUTS", str(tmp_path))
    return tmp_path


def test_every_image_recipe_names_its_notebook_and_unit():
    assert recipes.names("image") == (*IMAGE_MODELS, "pixelcnn", "realnvp")   # those two: test_likelihood_recipes.py
    for key in IMAGE_MODELS:
        recipe = recipes.get(key)
        assert recipe.name == key and recipe.datasets == ("mnist_sample", "mnist", "fashion_mnist")
        assert (NOTEBOOKS / f"{recipe.notebook}.ipynb").exists(), recipe.notebook
        gan = isinstance(recipe, images.GANRecipe)
        assert (recipe.unit, recipe.batch_size, recipe.latent_dim) == (("steps", 64, 100) if gan else ("epochs", 128, 16))
    assert [recipes.get(key).full_amount for key in IMAGE_MODELS] == [8000, 7600, 5000, 1500, 30, 10]
    assert [recipes.get(key).amount("quick") for key in IMAGE_MODELS] == [150, 40, 150, 10, 2, 1]
    assert all(recipes.get(key).amount("full") == recipes.get(key).full_amount for key in IMAGE_MODELS)


@pytest.mark.parametrize(
    "key, cls, attributes",
    [
        ("mlp_gan", GAN, {"latent_dim": 100}),
        ("dcgan", DCGAN, {"latent_dim": 100, "width": 32, "dropout": 0.0}),
        ("conditional_gan", ConditionalGAN, {"latent_dim": 100, "num_classes": 10, "width": 32, "projection": True}),
        ("wgan_gp", WGANGP, {"latent_dim": 100, "n_critic": 5, "gp_weight": 10.0}),
        ("mlp_vae", VAE, {"latent_dim": 16, "architecture": "mlp", "hidden_units": (512, 256)}),
        ("conv_vae", VAE, {"latent_dim": 16, "architecture": "conv"}),
    ],
)
def test_build_follows_the_notebook_recipe(key, cls, attributes):
    model = recipes.get(key).build()
    assert type(model) is cls and model.compiled
    for name, value in attributes.items():
        got = getattr(model, name)
        assert (tuple(got) if isinstance(value, tuple) else got) == value, name
    assert recipes.get(key).build(latent_dim=7).latent_dim == 7
    with pytest.raises(ValueError, match="latent_dim must be a positive integer or None. Received: latent_dim=0"):
        recipes.get(key).build(latent_dim=0)


@pytest.mark.parametrize(("key", "rate"), [("mlp_gan", 2e-4), ("dcgan", 5e-4), ("conditional_gan", 2e-4)])
def test_each_gan_trains_with_its_notebooks_learning_rate_and_beta_1(key, rate):
    gan = recipes.get(key).build()
    for optimizer in (gan.g_optimizer, gan.d_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(rate) and optimizer.beta_1 == 0.5


def test_optimizers_are_the_checkpointed_ones():
    gan, vae = recipes.get("dcgan").build(), recipes.get("mlp_vae").build()
    assert recipes.get("dcgan").optimizers(gan) == {"g_optimizer": gan.g_optimizer, "d_optimizer": gan.d_optimizer}
    assert recipes.get("mlp_vae").optimizers(vae) == {"optimizer": vae.optimizer}
    assert float(vae.optimizer.learning_rate) == pytest.approx(1e-3)


@pytest.mark.parametrize("amount", [0, -1, 1.5, True])
def test_train_rejects_bad_amounts(amount):
    with pytest.raises(ValueError, match=f"amount must be a positive integer. Received: amount={amount!r}"):
        recipes.get("mlp_gan").train(amount)


def test_train_takes_the_asked_number_of_steps_and_epochs_and_times_the_fit(monkeypatch):
    # A clock that only fit() moves, by 7 s: the seconds returned are those of the fit.
    clock = [100.0]
    monkeypatch.setattr(images, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    model = recipes.get("mlp_gan").build()
    fit = model.fit

    def timed_fit(*args, **kwargs):
        clock[0] += 7.0
        return fit(*args, **kwargs)

    monkeypatch.setattr(model, "fit", timed_fit)
    gan, seconds = recipes.get("mlp_gan").train(3, model=model)
    assert gan is model and seconds == 7.0
    assert int(gan.g_optimizer.iterations) == 3 and int(gan.d_optimizer.iterations) == 3
    vae, _ = recipes.get("mlp_vae").train(1)
    assert int(vae.optimizer.iterations) == -(-4500 // 128)   # one epoch of the 4,500 training images


def test_train_repeats_with_a_seed_and_a_seed_changes_the_weights_and_the_batch_order(monkeypatch):
    def weights(seed):
        gan, _ = recipes.get("mlp_gan").train(2, seed=seed)
        return np.concatenate([np.ravel(w) for w in gan.generator.get_weights()])

    assert np.array_equal(weights(0), weights(0))
    assert not np.allclose(weights(0), weights(1))
    orders = []   # the data order alone: the fit's batches are drawn with the seed passed
    monkeypatch.setattr(images.GANRecipe, "fit", lambda self, model, arrays, amount, seed=0: orders.append(seed))
    recipes.get("dcgan").train(1, seed=5)
    assert orders == [5]
    with pytest.raises(ValueError, match="seed"):
        recipes.get("mlp_gan").train(1, seed=-1)


def test_training_data_is_in_the_form_each_family_trains_on():
    (gan_images,) = recipes.get("dcgan").training_data()
    cgan_images, labels = recipes.get("conditional_gan").training_data()
    (vae_images,) = recipes.get("conv_vae").training_data()
    assert gan_images.shape == vae_images.shape == (4500, 28, 28, 1) and labels.shape == (4500,)
    assert gan_images.min() == -1.0 and gan_images.max() == 1.0 and np.array_equal(gan_images, cgan_images)
    assert set(np.unique(vae_images)) == {0.0, 1.0}   # binarised for the Bernoulli likelihood


def test_every_image_recipe_samples_in_zero_one():
    assert images.SAMPLE_RANGE == (0.0, 1.0)
    vae = recipes.get("mlp_vae").build()
    samples = recipes.get("mlp_vae").sample(vae, 7, seed=1)
    assert samples.shape == (7, 28, 28, 1) and samples.dtype == np.float32
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    np.testing.assert_array_equal(samples, vae.sample(7, seed=1))   # the Bernoulli means as they are
    np.testing.assert_array_equal(samples, recipes.get("mlp_vae").sample(vae, 7, seed=1))
    assert np.abs(samples - recipes.get("mlp_vae").sample(vae, 7, seed=2)).max() > 1e-3
    cgan = recipes.get("conditional_gan").build()
    # A GAN's images in [-1, 1] mapped to [0, 1]; a conditional GAN cycles through the labels 0-9.
    expected = (cgan.generate(20, labels=np.arange(20) % 10, seed=2) + 1.0) / 2.0
    np.testing.assert_allclose(recipes.get("conditional_gan").sample(cgan, 20, seed=2), expected, atol=1e-6)
    with pytest.raises(ValueError, match="n must be a positive integer. Received: n=0"):
        recipes.get("mlp_vae").sample(vae, 0)


def test_to_classifier_range_is_two_x_minus_one():
    np.testing.assert_array_equal(images.to_classifier_range(np.array([0.0, 0.25, 1.0])), [-1.0, -0.5, 1.0])


def test_save_and_load_round_trip_with_its_record(outputs):
    recipe = recipes.get("mlp_gan")
    model = recipe.build()
    path = recipe.save(model, "quick", 123, 4.56, dataset="mnist_sample")
    assert path == outputs / "03_gan_mnist" / "quick" / "mlp_gan.keras" == recipe.saved_path("quick")
    record = json.loads(path.with_suffix(".json").read_text())
    assert record == dict(key="mlp_gan", notebook="03_gan_mnist", mode="quick", dataset="mnist_sample",
                          amount=123, unit="steps", seconds=4.6)
    loaded, loaded_record = recipe.load("quick")
    assert loaded_record == record
    np.testing.assert_array_equal(loaded.generate(4, seed=3), model.generate(4, seed=3))


def test_a_saved_model_loads_in_a_fresh_interpreter_that_imported_only_the_recipes(outputs):
    """Keras finds a saved model's class only once its module has run: load() must import it (notebook 11)."""
    recipe = recipes.get("mlp_gan")
    model = recipe.build(latent_dim=4)
    model.generate(2, seed=0)
    recipe.save(model, "quick", 1, 0.0)
    script = "from genai_tf import recipes; m, r = recipes.get('mlp_gan').load('quick'); print(type(m).__name__, m.latent_dim)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "GENAI_TF_OUTPUTS": str(outputs)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["GAN", "4"]


def test_load_says_why_it_cannot(outputs):
    assert recipes.get("dcgan").load("full") == (None, "no saved model at outputs/04_dcgan/full/dcgan.keras")
    assert not (outputs / "04_dcgan").exists()                # looking creates nothing
    vae = recipes.get("mlp_vae")
    path = vae.save(vae.build(), "full", 1, 1.0)
    assert vae.load("full", dataset="mnist")[1] == "the saved mlp_vae was trained on 'mnist_sample', not 'mnist'"
    path.with_suffix(".json").unlink()
    assert vae.load("full")[1] == "outputs/07_vae_elbo/full/mlp_vae.keras has no training record"


def test_load_or_train_trains_once_then_loads(outputs, capsys):
    recipe = recipes.get("mlp_gan")
    model, record = recipe.load_or_train(2, "quick", cache_notebook="11_test")
    assert record["source"] == "trained" and record["amount"] == 2 and record["notebook"] == "11_test"
    assert (outputs / "11_test" / "quick" / "mlp_gan.keras").exists()
    again, record_again = recipe.load_or_train(2, "quick", cache_notebook="11_test")
    assert record_again["source"] == "loaded" and record_again["amount"] == 2
    np.testing.assert_array_equal(again.generate(3, seed=0), model.generate(3, seed=0))
    # The notebook's own save wins over the cache.
    recipe.save(recipe.build(), "quick", 8000, 100.0)
    _, own = recipe.load_or_train(2, "quick", cache_notebook="11_test")
    assert own["notebook"] == "03_gan_mnist" and own["amount"] == 8000
    printed = capsys.readouterr().out
    assert "trained here for 2 steps" in printed and "loaded (saved by 03_gan_mnist, 8000 steps)" in printed


def test_the_score_table_lists_the_models_rows_against_real_images():
    scores = {"fd": 12.345, "classes_covered": 9, "held_out_elbo_nats": -101.26}
    record = {"model": "mlp_vae", "step": 20, "num_samples": 100, "seed": 0, "held_out_images": 500,
              "dataset": "mnist_sample", "scores": {"model": scores, "real_train_images": {"fd": 1.5, "classes_covered": 10}}}
    lines = recipes.get("mlp_vae").score_table(record).splitlines()
    assert lines[0] == "mlp_vae at step 20: 100 samples (seed 0) against the 500 held-out images of mnist_sample"
    assert lines[2].split() == ["Frechet", "distance", "(lower", "is", "better)", "12.35", "1.50"]
    assert lines[3].split()[-2:] == ["9", "10"] and lines[4].split()[-2:] == ["-101.3", "-"]
