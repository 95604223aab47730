"""Tests of genai_tf.recipes.registry and the Recipe interface: names, lookups, registering and removing a recipe."""

import subprocess
import sys

import pytest

from genai_tf import recipes
from genai_tf.recipes.base import Option, Recipe, RunData, StateMismatchError

OFFERED = ("mlp_gan", "dcgan", "conditional_gan", "wgan_gp", "mlp_vae", "conv_vae", "pixelcnn", "realnvp", "char_gru",
           "char_transformer", "melody_gru")


class Minimal(Recipe):
    """The fewest methods a recipe implements (the abstract ones), each a stub."""

    name, family, datasets, options = "minimal", "toy", ("points",), (Option("width", "--width", ("train",)),)

    def build(self, **options):
        return None

    def train(self, amount, dataset=None, model=None):
        return None, 0.0

    def sample(self, model, n, seed=0):
        return list(range(n))

    def evaluate(self, model, dataset=None, num_samples=None, seed=0):
        return {}

    def run_data(self, settings):
        return RunData(None, 1, {})

    def run_model(self, settings, state):
        return None

    def write_samples(self, model, state, folder, stem, num_samples, seed=0, **options):
        return ()

    def evaluate_run(self, model, settings, state, num_samples=None, seed=0, dataset=None):
        return {}


def test_the_registry_lists_every_family_in_order():
    assert recipes.names(offered=True) == OFFERED
    assert recipes.names() == (*OFFERED, "evaluation_classifier")
    assert recipes.families(offered=True) == ("image", "text", "music")
    assert recipes.names("image") == OFFERED[:8]   # notebook 11 ranks them all
    assert recipes.names("text") == ("char_gru", "char_transformer")
    assert recipes.datasets("char_gru") == ("pydoc_topics",)
    assert recipes.datasets(offered=True) == ("mnist_sample", "mnist", "fashion_mnist", "pydoc_topics", "bach_chorales")
    assert [option.name for option in recipes.options("train", offered=True)] == ["latent_dim", "chorales"]
    assert recipes.takers("top_k", offered=True) == ("char_gru", "char_transformer", "melody_gru")
    assert recipes.takers("latent_dim") == OFFERED[:6]


def test_get_names_the_known_models():
    with pytest.raises(ValueError, match=r"Unknown model 'vqvae'\. Known models: mlp_gan, dcgan, .*melody_gru, "
                                         r"evaluation_classifier\. Received: name='vqvae'"):
        recipes.get("vqvae")


def test_register_and_unregister_a_recipe():
    recipe = recipes.register(Minimal())
    try:
        assert recipes.get("minimal") is recipe and recipes.names()[-1] == "minimal"
        assert recipes.families()[-1] == "toy" and recipes.takers("width") == ("minimal",)
        with pytest.raises(ValueError, match="recipe.name must be new and non-empty. Received: recipe.name='minimal'"):
            recipes.register(Minimal())
    finally:
        assert recipes.unregister("minimal") is recipe
    assert "minimal" not in recipes.names()
    with pytest.raises(ValueError, match="must be a genai_tf.recipes.base.Recipe"):
        recipes.register(object())


def test_the_interfaces_defaults():
    recipe = Minimal()
    assert recipe.run_defaults() == {"dataset": "points", "batch_size": 32, "seed": 0, "width": None}
    assert recipe.finish_settings({"seed": 1}, 10) == {"seed": 1}
    assert recipe.check_evaluation_samples(5) == "minimal draws no samples to evaluate; leave the flag out."
    recipe.check_state({"vocabulary": {"tokens": [1]}}, {"vocabulary": {"tokens": [1]}})
    with pytest.raises(StateMismatchError, match="a vocabulary that differs from the run's vocabulary.json"):
        recipe.check_state({"vocabulary": {"tokens": [1]}}, {"vocabulary": {"tokens": [2]}})
    with pytest.raises(TypeError, match="abstract"):
        Recipe()


def test_importing_the_registry_imports_no_tensorflow():
    code = "import sys\nfrom genai_tf import recipes\nprint('tensorflow' in sys.modules, 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False False", result.stderr
