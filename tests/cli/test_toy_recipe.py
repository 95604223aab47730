"""A new family is one recipe: a toy 2-D Gaussian registered in the test runs train, sample and evaluate.

The toy is defined here and registered with :func:`genai_tf.recipes.register`;
nothing else in the package changes, and :mod:`genai_tf.cli` trains it,
samples it and scores it like any model of the curriculum. Gradient descent
on its loss has a closed form, so the values it must give are known exactly.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf import cli, recipes
from genai_tf.validation import positive_float_arg


def _json(path):
    return json.loads(path.read_text(encoding="utf-8"))


TOY_POINTS = np.array([[1.0, 2.0], [3.0, 0.0], [-1.0, 4.0], [5.0, 2.0], [2.0, -2.0], [0.0, 1.0], [4.0, 3.0], [2.0, 6.0]],
                      np.float32)
TOY_LEARNING_RATE = 0.5


class ToyGaussian(keras.Model):
    """A 2-D Gaussian N(mu, I) with a learnable mean: the loss 0.5 E||x - mu||^2 has gradient mu - mean(x)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.mu = self.add_weight(shape=(2,), initializer="zeros", name="mu")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, batch):
        with tf.GradientTape() as tape:
            loss = 0.5 * tf.reduce_mean(tf.reduce_sum(tf.square(batch - self.mu), axis=1))
        self.optimizer.apply_gradients(zip(tape.gradient(loss, [self.mu]), [self.mu]))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


SPREAD = recipes.Option("spread", "--spread", ("sample",), positive_float_arg, "toy: standard deviation of samples")


class ToyRecipe(recipes.Recipe):
    name, title, notebook, family = "toy_gaussian", "toy Gaussian", "none", "toy"
    unit, full_amount, batch_size, datasets = "steps", 3, 8, ("toy_points",)
    options, state_names, examples = (SPREAD,), ("toy",), "points"
    sample_count, evaluation_samples = 4, 50

    def build(self):
        model = ToyGaussian()
        model.compile(optimizer=keras.optimizers.SGD(TOY_LEARNING_RATE))
        return model

    def train(self, amount, dataset=None, model=None):
        raise NotImplementedError

    def sample(self, model, n, seed=0, spread=1.0):
        return np.asarray(model.mu) + spread * np.random.default_rng(seed).normal(size=(n, 2))

    def evaluate(self, model, dataset=None, num_samples=None, seed=0):
        return {"mean_error": float(np.linalg.norm(np.asarray(model.mu) - TOY_POINTS.mean(axis=0)))}

    def run_data(self, settings):
        batches = tf.data.Dataset.from_tensor_slices(TOY_POINTS).repeat().batch(settings["batch_size"])
        return recipes.RunData(batches, len(TOY_POINTS) // settings["batch_size"], {"toy": {"points": 8}})

    def run_model(self, settings, state):
        model = self.build()
        model.optimizer.build(model.trainable_variables)
        return model

    def write_samples(self, model, state, folder, stem, num_samples, seed=0, spread=None, **options):
        path = folder / f"{stem}.npy"
        np.save(path, self.sample(model, num_samples, seed, spread or 1.0))
        return (path,)

    def evaluate_run(self, model, settings, state, num_samples=None, seed=0, dataset=None):
        return {"dataset": settings["dataset"], "scores": self.evaluate(model)}


@pytest.fixture
def toy_recipe():
    recipe = recipes.register(ToyRecipe())
    yield recipe
    recipes.unregister(recipe.name)
    assert "toy_gaussian" not in recipes.names()


def _toy_mu(steps):
    # Full-batch gradient descent on 0.5 E||x - mu||^2 from mu = 0: mu_t = mean * (1 - (1 - lr)^t).
    return TOY_POINTS.mean(axis=0) * (1.0 - (1.0 - TOY_LEARNING_RATE) ** steps)


def test_a_registered_toy_recipe_trains_samples_and_evaluates_through_the_command_line(toy_recipe, tmp_path, capsys):
    outdir = tmp_path / "toy"
    assert cli.main(["train", "toy_gaussian", "--steps", "4", "--checkpoint-every", "2", "--outdir", str(outdir)]) == 0
    assert {p.name for p in outdir.iterdir()} == {
        ".lock", "settings.json", "toy.json", "checkpoints", "logs", "train_metrics.json", "samples.npy"
    }
    assert _json(outdir / "toy.json") == {"points": 8}
    record = _json(outdir / "train_metrics.json")
    assert record["status"] == "completed" and record["step"] == 4 and record["history"]["step"] == [2, 4]
    assert record["settings"]["model"] == "toy_gaussian" and record["settings"]["steps_per_epoch"] == 1
    # The loss logged at step t is that of mu_{t-1}: 0.5 * mean ||x - mu||^2.
    expected = [0.5 * np.mean(np.sum((TOY_POINTS - _toy_mu(t - 1)) ** 2, axis=1)) for t in (2, 4)]
    assert record["history"]["loss"] == pytest.approx(expected, rel=1e-5)
    assert np.load(outdir / "samples.npy").shape == (4, 2)   # the recipe's sample_count, written after training

    assert cli.main(["sample", "toy_gaussian", "--outdir", str(outdir), "--num-samples", "5", "--seed", "3",
                     "--spread", "2"]) == 0
    expected_samples = _toy_mu(4) + 2.0 * np.random.default_rng(3).normal(size=(5, 2))
    np.testing.assert_allclose(np.load(outdir / "samples_seed3.npy"), expected_samples, rtol=1e-5)

    assert cli.main(["evaluate", "toy_gaussian", "--outdir", str(outdir)]) == 0
    result = _json(outdir / "eval_metrics.json")
    assert result["model"] == "toy_gaussian" and result["step"] == 4 and result["dataset"] == "toy_points"
    # |mu_4 - mean| = |mean| / 16.
    assert result["scores"]["mean_error"] == pytest.approx(np.linalg.norm(TOY_POINTS.mean(axis=0)) / 16, rel=1e-5)

    # Resuming extends the run: two more steps leave |mean| / 64; a second fresh train is refused.
    assert cli.main(["train", "toy_gaussian", "--resume", "--steps", "6", "--outdir", str(outdir)]) == 0
    assert cli.main(["evaluate", "toy_gaussian", "--outdir", str(outdir)]) == 0
    assert _json(outdir / "eval_metrics.json")["scores"]["mean_error"] == pytest.approx(
        np.linalg.norm(TOY_POINTS.mean(axis=0)) / 64, rel=1e-5
    )
    assert cli.main(["train", "toy_gaussian", "--outdir", str(outdir)]) == 1
    assert "already holds a run (last checkpoint: step 6)" in capsys.readouterr().err

    # Its flag is the registry's: offered for the toy, refused for the others.
    with pytest.raises(SystemExit):
        cli.main(["sample", "dcgan", "--spread", "2"])
    assert "argument --spread: applies to toy_gaussian only, not to dcgan" in capsys.readouterr().err
