"""Tests of genai_tf.zoo: the recipes of notebooks 03-08, saving with a training record, load-or-train."""

import json
import types
from pathlib import Path

import numpy as np
import pytest

from genai_tf import zoo
from genai_tf.models import DCGAN, GAN, VAE, WGANGP, ConditionalGAN

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    """Point the outputs folder at a temporary one."""
    monkeypatch.setenv("GENAI_TF_OUTPUTS", str(tmp_path))
    return tmp_path


def test_every_entry_names_a_notebook_and_its_unit():
    assert sorted(zoo.ENTRIES) == ["conditional_gan", "conv_vae", "dcgan", "mlp_gan", "mlp_vae", "wgan_gp"]
    for key, entry in zoo.ENTRIES.items():
        assert entry.key == key
        assert (NOTEBOOKS / f"{entry.notebook}.ipynb").exists(), entry.notebook
        assert (entry.kind, entry.unit) in {("gan", "steps"), ("vae", "epochs")}


@pytest.mark.parametrize(
    "key, cls, attributes",
    [
        ("mlp_gan", GAN, {"latent_dim": 100}),
        ("dcgan", DCGAN, {"latent_dim": 100}),
        ("conditional_gan", ConditionalGAN, {"latent_dim": 100, "num_classes": 10}),
        ("wgan_gp", WGANGP, {"latent_dim": 100, "n_critic": 5, "gp_weight": 10.0}),
        ("mlp_vae", VAE, {"latent_dim": 16, "architecture": "mlp", "hidden_units": (512, 256)}),
        ("conv_vae", VAE, {"latent_dim": 16, "architecture": "conv"}),
    ],
)
def test_build_follows_the_notebook_recipe(key, cls, attributes):
    model = zoo.build(key)
    assert type(model) is cls and model.compiled
    for name, value in attributes.items():
        got = getattr(model, name)
        assert (tuple(got) if isinstance(value, tuple) else got) == value, name


def test_unknown_key_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown model 'vqvae'.*conditional_gan, conv_vae, dcgan"):
        zoo.build("vqvae")


@pytest.mark.parametrize("amount", [0, -1, 1.5, True])
def test_train_rejects_bad_amounts(amount):
    with pytest.raises(ValueError, match="amount"):
        zoo.train("mlp_gan", amount)


def test_train_takes_the_asked_number_of_steps_and_epochs_and_times_the_fit(monkeypatch):
    # A clock that only fit() moves, by 7 s: the seconds returned are those of the fit.
    clock = [100.0]
    monkeypatch.setattr(zoo, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    model = zoo.build("mlp_gan")
    fit = model.fit

    def timed_fit(*args, **kwargs):
        clock[0] += 7.0
        return fit(*args, **kwargs)

    monkeypatch.setattr(model, "fit", timed_fit)
    gan, seconds = zoo.train("mlp_gan", 3, model=model)
    assert gan is model and seconds == 7.0
    assert int(gan.g_optimizer.iterations) == 3 and int(gan.d_optimizer.iterations) == 3
    vae, _ = zoo.train("mlp_vae", 1)
    assert int(vae.optimizer.iterations) == -(-4500 // 128)   # one epoch of the 4,500 training images


def test_sample_ranges_and_conditional_balance():
    vae = zoo.build("mlp_vae")
    images = zoo.sample(vae, "mlp_vae", 7, seed=1)
    assert images.shape == (7, 28, 28, 1) and images.min() >= -1.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, zoo.sample(vae, "mlp_vae", 7, seed=1))
    # The Bernoulli means p in [0, 1] rescaled to 2p - 1: the negative half is used.
    np.testing.assert_allclose(images, 2.0 * vae.sample(7, seed=1) - 1.0, atol=1e-6)
    assert np.mean(images < 0) > 0.2
    assert np.abs(images - zoo.sample(vae, "mlp_vae", 7, seed=2)).max() > 1e-3
    cgan = zoo.build("conditional_gan")
    np.testing.assert_array_equal(
        zoo.sample(cgan, "conditional_gan", 20, seed=2), cgan.generate(20, labels=np.arange(20) % 10, seed=2)
    )
    with pytest.raises(ValueError, match="n must be"):
        zoo.sample(vae, "mlp_vae", 0)


def test_save_and_load_round_trip_with_its_record(outputs):
    model = zoo.build("mlp_gan")
    path = zoo.save(model, "mlp_gan", "quick", 123, 4.56, dataset="mnist_sample")
    assert path == outputs / "03_gan_mnist" / "quick" / "mlp_gan.keras"
    record = json.loads(path.with_suffix(".json").read_text())
    assert record == dict(key="mlp_gan", notebook="03_gan_mnist", mode="quick", dataset="mnist_sample",
                          amount=123, unit="steps", seconds=4.6)
    loaded, loaded_record = zoo.load("mlp_gan", "quick")
    assert loaded_record == record
    np.testing.assert_array_equal(loaded.generate(4, seed=3), model.generate(4, seed=3))


def test_load_says_why_it_cannot(outputs):
    assert zoo.load("dcgan", "full") == (None, "no saved model at outputs/04_dcgan/full/dcgan.keras")
    assert not (outputs / "04_dcgan").exists()                # looking creates nothing
    path = zoo.save(zoo.build("mlp_vae"), "mlp_vae", "full", 1, 1.0)
    assert zoo.load("mlp_vae", "full", dataset="mnist")[1] == "the saved mlp_vae was trained on 'mnist_sample', not 'mnist'"
    path.with_suffix(".json").unlink()
    assert zoo.load("mlp_vae", "full")[1] == "outputs/07_vae_elbo/full/mlp_vae.keras has no training record"


def test_load_or_train_trains_once_then_loads(outputs, capsys):
    model, record = zoo.load_or_train("mlp_gan", 2, "quick", cache_notebook="11_test")
    assert record["source"] == "trained" and record["amount"] == 2 and record["notebook"] == "11_test"
    assert (outputs / "11_test" / "quick" / "mlp_gan.keras").exists()
    again, record_again = zoo.load_or_train("mlp_gan", 2, "quick", cache_notebook="11_test")
    assert record_again["source"] == "loaded" and record_again["amount"] == 2
    np.testing.assert_array_equal(again.generate(3, seed=0), model.generate(3, seed=0))
    # The notebook's own save wins over the cache.
    zoo.save(zoo.build("mlp_gan"), "mlp_gan", "quick", 8000, 100.0)
    _, own = zoo.load_or_train("mlp_gan", 2, "quick", cache_notebook="11_test")
    assert own["notebook"] == "03_gan_mnist" and own["amount"] == 8000
    printed = capsys.readouterr().out
    assert "trained here for 2 steps" in printed and "loaded (saved by 03_gan_mnist, 8000 steps)" in printed
