"""Tests of genai_tf.cli.commands: train -> sample -> evaluate for every family, an exact --resume after Ctrl-C.

Image, text and melody models each get a short train -> sample -> evaluate
run, and a GAN and the causal Transformer an exact resume after Ctrl-C.
The DCGAN, the conditional GAN, WGAN-GP and the convolutional VAE each get
one still smaller run, shared by the tests of its settings, optimizer steps,
samples and scores. Every run is tiny (20 steps of batch 16 or less) and lives
in a temporary folder; ``cli.main`` is called in-process. ``evaluate`` uses
the session's evaluation classifier (the ``evaluation_classifier`` fixture,
trained once into the session's temporary outputs folder), never a new one.
"""

import json
import math
import shutil
import signal

import matplotlib.image
import numpy as np
import pytest
import tensorflow as tf

from genai_tf import classifier, cli, config, datasets, music, recipes, tokens, training
from genai_tf.cli import run_folder
from genai_tf.models import DCGAN, VAE, WGANGP, ConditionalGAN

TINY = ["--steps", "20", "--batch-size", "16", "--checkpoint-every", "10"]
# The scores evaluate gives every image model, for its samples and for real training images.
SCORE_KEYS = {"fd", "kid", "kid_std", "inception_score", "precision", "recall", "classes_covered", "min_fraction"}


def _json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _all_finite(values):
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def _checkpoint_tensors(outdir):
    """The numeric tensors of the latest checkpoint: weights, optimizer slots, noise state, step counter.

    The data iterator's state (a variant tensor) is left out; TensorFlow's own
    counter of saves differs between runs that saved at other steps.
    """
    reader = tf.train.load_checkpoint(str(outdir / "checkpoints"))
    dtypes = reader.get_variable_to_dtype_map()
    assert "iterator/.ATTRIBUTES/ITERATOR_STATE" in dtypes  # the data position is saved too
    return {
        name: reader.get_tensor(name)
        for name, dtype in dtypes.items()
        if dtype not in (tf.variant, tf.string) and not name.startswith("save_counter")
    }


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    """An uninterrupted 20-step MLP GAN run: checkpoints at 10 and 20."""
    outdir = tmp_path_factory.mktemp("gan") / "run"
    assert cli.main(["train", "mlp_gan", *TINY, "--outdir", str(outdir)]) == 0
    return outdir


def _train_with_ctrl_c_at(step, argv, monkeypatch):
    """Run ``cli.main(argv)`` with Ctrl-C pressed after the logging step ``step``; returns the exit status."""
    fit = training.Trainer.fit

    def fit_with_ctrl_c(self, dataset, steps, callback=None, before_save=None):
        def press_ctrl_c(logged_step, logs):
            callback(logged_step, logs)
            if logged_step == step:
                signal.raise_signal(signal.SIGINT)

        return fit(self, dataset, steps, press_ctrl_c, before_save)

    monkeypatch.setattr(training.Trainer, "fit", fit_with_ctrl_c)
    # Python's own Ctrl-C handler, also where the test runner was started with SIGINT ignored.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        status = cli.main(argv)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the CLI put it back
    finally:
        signal.signal(signal.SIGINT, previous)
        monkeypatch.undo()
    return status


def _assert_same_checkpoints(resumed_dir, uninterrupted_dir):
    expected = _checkpoint_tensors(uninterrupted_dir)
    resumed = _checkpoint_tensors(resumed_dir)
    assert set(resumed) == set(expected)
    unequal = [name for name in expected if not np.array_equal(resumed[name], expected[name])]
    assert unequal == []


def _train_must_not_run(*args, **kwargs):
    raise AssertionError("evaluate trained an evaluation classifier instead of using the session's cached one")


def _evaluate(argv):
    """``cli.main(argv)`` for ``evaluate``, failing if it trains a classifier instead of loading the cached one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(classifier, "train_classifier", _train_must_not_run)
        return cli.main(argv)


def _scores_of(images, dataset, network, seed=0):
    """What ``evaluate`` should report for ``images``: :func:`genai_tf.classifier.score_samples` against the test split."""
    test_images = datasets.load(dataset, "test", pixel_range=(-1, 1))[0]
    real_features = classifier.classifier_features(test_images, network)
    return classifier.score_samples(images, real_features, classifier=network, subset_size=len(test_images), seed=seed)


def _assert_held_out_elbo(outdir, model, reported):
    """The ELBO ``evaluate`` reported is the VAE's own on the binarised test images, and above an untrained VAE's."""
    network, settings, _, _ = cli.restore(model, outdir)
    binary_test = datasets.load(settings["dataset"], "test", pixel_range=(0, 1), binarize=True)[0]
    # Keras's evaluate runs the model's test_step: its ELBO metric, with other draws of z.
    own = network.evaluate(binary_test, batch_size=len(binary_test), verbose=0, return_dict=True)["elbo"]
    assert reported == pytest.approx(own, rel=0.02)
    config.set_seed(settings["seed"])
    untrained = recipes.get(model).build(settings["latent_dim"], settings["seed"])
    # An untrained decoder gives every pixel about one half: about -784 log 2 = -543 nats an image.
    assert reported > float(np.mean(untrained.elbo(binary_test))) + 20


def test_train_sample_evaluate(tmp_path, capsys, evaluation_classifier):
    network, _ = evaluation_classifier
    outdir = tmp_path / "vae"
    assert cli.main(["train", "mlp_vae", *TINY, "--outdir", str(outdir)]) == 0
    record = _json(outdir / "train_metrics.json")
    assert record["status"] == "completed" and record["step"] == 20 and record["history"]["step"] == [10, 20]
    assert record["settings"] == {
        "model": "mlp_vae", "dataset": "mnist_sample", "batch_size": 16, "latent_dim": 16, "seed": 0,
        "chorales": None, "steps_per_epoch": 4500 // 16, "schedule_steps": None, "checkpoint_every": 10,
        "state_checksums": {},
    }
    for key in ("loss", "reconstruction_loss", "kl_loss", "elbo"):
        assert len(record["history"][key]) == 2 and _all_finite(record["history"][key]), key
    assert record["history"]["loss"][-1] < record["history"]["loss"][0]  # it learns
    assert record["seconds"] > 0 and {"tensorflow", "keras", "python", "numpy"} <= set(record["versions"])
    assert matplotlib.image.imread(outdir / "samples.png").shape[:2] == (280, 280)  # 100 digits, 10 x 10

    assert cli.main(["sample", "mlp_vae", "--outdir", str(outdir), "--num-samples", "12", "--seed", "3"]) == 0
    images = np.load(outdir / "samples_seed3.npy")
    assert images.shape == (12, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0 and images.std() > 0.01
    assert np.mean(images < 0) > 0.5  # Bernoulli means rescaled from [0, 1]: the background is near -1
    assert matplotlib.image.imread(outdir / "samples_seed3.png").shape[:2] == (56, 280)  # 2 rows of 10
    assert cli.main(["sample", "mlp_vae", "--outdir", str(outdir), "--num-samples", "100"]) == 0  # seed 0

    capsys.readouterr()
    assert _evaluate(["evaluate", "mlp_vae", "--outdir", str(outdir), "--num-samples", "100"]) == 0
    table = capsys.readouterr().out
    assert "Frechet distance" in table and "held-out ELBO" in table
    result = _json(outdir / "eval_metrics.json")
    assert result["step"] == 20 and result["num_samples"] == 100 and result["held_out_images"] == 500
    model, real = result["scores"]["model"], result["scores"]["real_train_images"]
    assert set(model) == SCORE_KEYS | {"held_out_elbo_nats"} and set(real) == SCORE_KEYS
    assert _all_finite(model.values()) and _all_finite(real.values())
    # The model's row scores the images `sample` writes for the same seed and number, against the test split.
    expected = _scores_of(np.load(outdir / "samples_seed0.npy"), "mnist_sample", network)
    assert {key: model[key] for key in SCORE_KEYS} == pytest.approx(expected, rel=1e-4, abs=1e-6)
    _assert_held_out_elbo(outdir, "mlp_vae", model["held_out_elbo_nats"])
    # Real training images against held-out ones: far closer than a 20-step VAE, every class covered.
    assert real["fd"] < model["fd"] / 2 and real["classes_covered"] == 10 and real["precision"] > 0.6


# The other image models: a few steps of small batches each, and a small latent space to show --latent-dim is used.
SMALL_RUNS = {
    "dcgan": ["--steps", "6", "--batch-size", "8", "--checkpoint-every", "3", "--latent-dim", "8"],
    "conditional_gan": ["--steps", "6", "--batch-size", "8", "--checkpoint-every", "3", "--latent-dim", "8"],
    "wgan_gp": ["--steps", "4", "--batch-size", "8", "--checkpoint-every", "2", "--latent-dim", "8"],
    "conv_vae": ["--steps", "10", "--batch-size", "16", "--checkpoint-every", "5", "--latent-dim", "4"],
}
SMALL_RUN_SAMPLES = 20
LOSS_KEYS = {
    "dcgan": {"d_loss", "g_loss"},
    "conditional_gan": {"d_loss", "g_loss"},
    "wgan_gp": {"d_loss", "g_loss", "gradient_penalty", "wasserstein"},
    "conv_vae": {"loss", "reconstruction_loss", "kl_loss", "elbo", "kl_weight"},
}


def _flag(argv, name):
    return int(argv[argv.index(name) + 1])


def _runs_on_first_use(tmp_path_factory, arguments):
    """``run(model)``: the folder of a ``train model *arguments[model]``, sampled (seeds 0 and 1) and evaluated, run once."""
    runs = {}

    def run(model):
        if model not in runs:
            outdir = tmp_path_factory.mktemp(model) / "run"
            assert cli.main(["train", model, *arguments[model], "--outdir", str(outdir)]) == 0
            count = ["--num-samples", str(SMALL_RUN_SAMPLES)]
            for seed in ("0", "1"):
                assert cli.main(["sample", model, "--outdir", str(outdir), *count, "--seed", seed]) == 0
            assert _evaluate(["evaluate", model, "--outdir", str(outdir), *count]) == 0
            runs[model] = outdir
        return runs[model]

    return run


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, evaluation_classifier):
    """``small_run(model)``: the folder of a SMALL_RUNS train, sample (seeds 0 and 1) and evaluate, run on first use."""
    return _runs_on_first_use(tmp_path_factory, SMALL_RUNS)


@pytest.mark.parametrize("model", SMALL_RUNS)
def test_small_image_run_records_its_settings_and_losses(model, small_run):
    argv = SMALL_RUNS[model]
    steps, batch_size, every = (_flag(argv, name) for name in ("--steps", "--batch-size", "--checkpoint-every"))
    record = _json(small_run(model) / "train_metrics.json")
    assert record["status"] == "completed" and record["step"] == steps and record["target_steps"] == steps
    assert record["settings"] == {
        "model": model, "dataset": "mnist_sample", "batch_size": batch_size, "latent_dim": _flag(argv, "--latent-dim"),
        "seed": 0, "chorales": None, "steps_per_epoch": 4500 // batch_size, "schedule_steps": None,
        "checkpoint_every": every, "state_checksums": {},
    }
    history = record["history"]
    assert history["step"] == [every, 2 * every] and set(history) == {"step"} | LOSS_KEYS[model]
    for key in LOSS_KEYS[model]:
        assert len(history[key]) == 2 and _all_finite(history[key]), key
    if model == "wgan_gp":  # the critic's loss is -W + lambda * GP with the recipe's lambda = 10
        for d_loss, wasserstein, penalty in zip(history["d_loss"], history["wasserstein"], history["gradient_penalty"]):
            assert d_loss == pytest.approx(-wasserstein + 10.0 * penalty, rel=1e-4)
    if model == "conv_vae":  # beta = 1 from the start: the loss is the negative ELBO, the reconstruction term plus KL
        assert history["kl_weight"] == [1.0, 1.0]
        assert history["loss"] == pytest.approx([-elbo for elbo in history["elbo"]], rel=1e-5)
        expected = [r + k for r, k in zip(history["reconstruction_loss"], history["kl_loss"])]
        assert history["loss"] == pytest.approx(expected, rel=1e-5)
        assert history["loss"][1] < history["loss"][0]  # it learns


@pytest.mark.parametrize("model", SMALL_RUNS)
def test_small_image_run_restores_the_notebooks_model(model, small_run):
    network, settings, _, _ = cli.restore(model, small_run(model))
    expected = {"dcgan": DCGAN, "conditional_gan": ConditionalGAN, "wgan_gp": WGANGP, "conv_vae": VAE}[model]
    assert type(network) is expected
    assert network.latent_dim == settings["latent_dim"] == _flag(SMALL_RUNS[model], "--latent-dim")
    if model == "wgan_gp":
        assert (network.n_critic, network.gp_weight) == (5, 10.0)
    if model == "conv_vae":
        assert network.architecture == "conv" and network.likelihood == "bernoulli"
    if model == "conditional_gan":
        assert network.num_classes == 10


@pytest.mark.parametrize("model", SMALL_RUNS)
def test_small_image_run_took_the_optimizer_steps_it_reports(model, small_run):
    steps = _flag(SMALL_RUNS[model], "--steps")
    tensors = _checkpoint_tensors(small_run(model))
    assert int(tensors["step/.ATTRIBUTES/VARIABLE_VALUE"]) == steps

    def iterations(name):
        return int(tensors[f"objects/{name}/_iterations/.ATTRIBUTES/VARIABLE_VALUE"])

    if model == "conv_vae":
        assert iterations("optimizer") == steps
    else:  # WGAN-GP: n_critic = 5 critic updates per generator update
        assert iterations("g_optimizer") == steps
        assert iterations("d_optimizer") == (5 if model == "wgan_gp" else 1) * steps


@pytest.mark.parametrize("model", SMALL_RUNS)
def test_small_image_run_samples_are_seeded_images_in_minus_one_to_one(model, small_run):
    outdir = small_run(model)
    images = np.load(outdir / "samples_seed0.npy")
    assert images.shape == (SMALL_RUN_SAMPLES, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
    # A few steps leave a GAN's pixels near 0 (within 0.07): differences are measured against that scale.
    scale = np.abs(images).max()
    assert scale > 0 and np.abs(images - images[:1]).max() > 0.1 * scale  # not one image repeated
    assert np.abs(images - np.load(outdir / "samples_seed1.npy")).max() > 0.1 * scale  # another seed, other images
    assert matplotlib.image.imread(outdir / "samples_seed0.png").shape[:2] == (56, 280)  # 2 rows of 10
    assert matplotlib.image.imread(outdir / "samples.png").shape[:2] == (280, 280)  # written by train: 100 images
    if model == "conv_vae":  # Bernoulli means rescaled from [0, 1]: the background is near -1
        assert np.mean(images < 0) > 0.5


@pytest.mark.parametrize("model", SMALL_RUNS)
def test_small_image_run_evaluation_scores_the_samples_sample_writes(model, small_run, evaluation_classifier):
    network, _ = evaluation_classifier
    outdir = small_run(model)
    result = _json(outdir / "eval_metrics.json")
    assert result["model"] == model and result["step"] == _flag(SMALL_RUNS[model], "--steps")
    assert result["num_samples"] == SMALL_RUN_SAMPLES and result["held_out_images"] == 500
    scores = result["scores"]
    extra = {"conditional_gan": {"label_agreement"}, "conv_vae": {"held_out_elbo_nats"}}.get(model, set())
    assert set(scores["model"]) == SCORE_KEYS | extra and set(scores["real_train_images"]) == SCORE_KEYS
    # evaluate draws with seed 0 what `sample --seed 0` wrote, and scores it against the test split.
    expected = _scores_of(np.load(outdir / "samples_seed0.npy"), "mnist_sample", network)
    assert {key: scores["model"][key] for key in SCORE_KEYS} == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_conditional_gan_label_agreement_is_that_of_its_samples(small_run, evaluation_classifier):
    network, _ = evaluation_classifier
    outdir = small_run("conditional_gan")
    agreement = _json(outdir / "eval_metrics.json")["scores"]["model"]["label_agreement"]
    predicted = classifier.predict_classes(np.load(outdir / "samples_seed0.npy"), network)
    requested = np.arange(SMALL_RUN_SAMPLES) % 10  # the samples cycle through the labels 0-9
    assert 0.0 <= agreement <= 1.0
    assert agreement == pytest.approx(np.mean(predicted == requested))


def test_conditional_gan_label_agreement_compares_with_the_labels_asked_for(small_run, tmp_path, monkeypatch):
    # A 6-step generator ignores its labels, so any relabelling would score alike: known predictions instead.
    outdir = tmp_path / "run"
    shutil.copytree(small_run("conditional_gan"), outdir)  # evaluate rewrites eval_metrics.json
    predicted = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9] + [3] * 10)
    seen = []

    def predict_classes(images, classifier=None, batch_size=500):
        if len(images) > 1:  # classifier_features checks its input on one image
            seen.append(np.array(images))
        return predicted[: len(images)]

    monkeypatch.setattr(classifier, "predict_classes", predict_classes)
    monkeypatch.setattr(classifier, "train_classifier", _train_must_not_run)
    record = cli.evaluate("conditional_gan", outdir=outdir, num_samples=SMALL_RUN_SAMPLES)
    # The labels asked for cycle through 0-9: the first ten agree, and of the last ten only label 3.
    assert record["scores"]["model"]["label_agreement"] == pytest.approx(11 / 20)
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], np.load(outdir / "samples_seed0.npy"), atol=1e-6)


def test_conv_vae_held_out_elbo_is_its_own_and_above_an_untrained_one(small_run):
    outdir = small_run("conv_vae")
    reported = _json(outdir / "eval_metrics.json")["scores"]["model"]["held_out_elbo_nats"]
    _assert_held_out_elbo(outdir, "conv_vae", reported)


def test_ctrl_c_saves_and_resume_ends_with_the_weights_of_an_uninterrupted_run(gan_run, tmp_path, monkeypatch):
    outdir = tmp_path / "gan"
    tiny = ["--batch-size", "16", "--checkpoint-every", "5", "--outdir", str(outdir)]
    assert cli.main(["train", "mlp_gan", "--steps", "10", *tiny]) == 0
    assert _json(outdir / "train_metrics.json")["step"] == 10

    # Resume towards 20 and press Ctrl-C at step 15: step 16 completes, is saved, and the run stops.
    argv = ["train", "mlp_gan", "--resume", "--steps", "20", "--outdir", str(outdir)]
    assert _train_with_ctrl_c_at(15, argv, monkeypatch) == 130
    record = _json(outdir / "train_metrics.json")
    assert record["status"] == "interrupted" and record["step"] == 16 and record["history"]["step"] == [5, 10, 15]
    tensors = _checkpoint_tensors(outdir)
    # The saved step is a whole step, counted: the trainer and both optimizers stand at 16.
    assert int(tensors["step/.ATTRIBUTES/VARIABLE_VALUE"]) == 16
    assert int(tensors["objects/g_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"]) == 16
    assert int(tensors["objects/d_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"]) == 16

    # --resume with no length goes on to the run's own target, 20, from step 16.
    assert cli.main(["train", "mlp_gan", "--resume", "--outdir", str(outdir)]) == 0
    record = _json(outdir / "train_metrics.json")
    assert record["status"] == "completed" and record["step"] == 20
    assert [(s["from_step"], s["to_step"], s["status"]) for s in record["sessions"]] == [
        (0, 10, "completed"), (10, 16, "interrupted"), (16, 20, "completed")
    ]
    assert record["history"]["step"] == [5, 10, 15, 20] and _all_finite(record["history"]["g_loss"])

    uninterrupted = _json(gan_run / "train_metrics.json")
    for key in ("d_loss", "g_loss"):  # the losses logged at steps 10 and 20 by both runs
        assert record["history"][key][1::2] == uninterrupted["history"][key]
    _assert_same_checkpoints(outdir, gan_run)


def test_text_model_train_sample_evaluate(tmp_path, capsys):
    outdir = tmp_path / "gru"
    assert cli.main(["train", "char_gru", *TINY, "--outdir", str(outdir)]) == 0
    record = _json(outdir / "train_metrics.json")
    corpus = recipes.get("char_gru").load_corpus()
    assert record["status"] == "completed" and record["step"] == 20 and record["title"] == "character GRU"
    assert record["settings"] == {
        "model": "char_gru", "dataset": "pydoc_topics", "batch_size": 16, "latent_dim": None, "seed": 0,
        "chorales": None, "steps_per_epoch": (len(corpus.train_tokens[0]) - 1) // 64 // 16,
        "schedule_steps": 20, "checkpoint_every": 10,
        "state_checksums": {"vocabulary": run_folder.checksum(_json(outdir / "vocabulary.json"))},
    }
    loss = record["history"]["loss"]
    assert len(loss) == 2 and loss[1] < loss[0] < math.log(corpus.vocabulary.size) + 0.1   # it learns
    assert _json(outdir / "vocabulary.json") == corpus.vocabulary.to_json()
    assert (outdir / "samples.txt").read_text().count("=== sample") == 5

    argv = ["sample", "char_gru", "--outdir", str(outdir), "--num-samples", "3", "--length", "40",
            "--prompt", "def f(x):", "--top-k", "4", "--seed", "2"]
    assert cli.main(argv) == 0
    written = (outdir / "samples_seed2.txt").read_text()
    bodies = [block.split("\n", 1)[1].rstrip("\n") for block in written.split("=== sample")[1:]]
    assert len(bodies) == 3 and all(b.startswith("def f(x):") and len(b) == 9 + 40 for b in bodies)
    assert "top_k=4" in written
    assert cli.main(argv) == 0 and (outdir / "samples_seed2.txt").read_text() == written   # seeded
    capsys.readouterr()
    assert cli.main(["sample", "char_gru", "--outdir", str(outdir), "--prompt", "caf\u00e9"]) == 1
    assert "--prompt 'caf\u00e9'" in capsys.readouterr().err

    assert cli.main(["evaluate", "char_gru", "--outdir", str(outdir)]) == 0
    assert "bits per token" in capsys.readouterr().out
    result = _json(outdir / "eval_metrics.json")
    scores = result["scores"]
    assert result["step"] == 20 and result["held_out_tokens"] == corpus.test_targets.size
    assert scores["uniform"]["nll_nats"] == pytest.approx(math.log(corpus.vocabulary.size))
    for row in scores.values():
        assert row["bits_per_token"] == pytest.approx(row["nll_nats"] / math.log(2))
        assert row["perplexity"] == pytest.approx(math.exp(row["nll_nats"]))
    # 20 steps: better than guessing uniformly, not yet as good as the bigram table (notebook 09: 3.511 bits).
    assert scores["bigram"]["bits_per_token"] == pytest.approx(3.511, abs=5e-4)
    assert scores["bigram"]["nll_nats"] < scores["model"]["nll_nats"] < scores["uniform"]["nll_nats"]


def test_transformer_resume_after_ctrl_c_is_exact_and_checkpoints_stay_small(tmp_path, monkeypatch):
    tiny = ["--steps", "20", "--batch-size", "8", "--checkpoint-every", "5"]
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert cli.main(["train", "char_transformer", *tiny, "--outdir", str(straight)]) == 0
    argv = ["train", "char_transformer", *tiny, "--outdir", str(stopped)]
    assert _train_with_ctrl_c_at(10, argv, monkeypatch) == 130
    assert _json(stopped / "train_metrics.json")["step"] == 11
    assert cli.main(["train", "char_transformer", "--resume", "--outdir", str(stopped)]) == 0
    record = _json(stopped / "train_metrics.json")
    assert record["step"] == 20 and record["settings"]["schedule_steps"] == 20
    assert record["history"]["loss"] == _json(straight / "train_metrics.json")["history"]["loss"]
    _assert_same_checkpoints(stopped, straight)
    # The data position is a counter (genai_tf.tokens.window_batches), not a shuffle buffer of 400k starts.
    weights = sum(np.asarray(w).nbytes for w in recipes.get("char_transformer").build(94).weights)
    checkpoint = sum(f.stat().st_size for f in (stopped / "checkpoints").glob("ckpt-20.*"))
    assert checkpoint < 3 * weights + 200_000, (checkpoint, weights)   # weights, two Adam slots, a little else


def test_melody_model_train_sample_evaluate(tmp_path, capsys, monkeypatch):
    outdir = tmp_path / "melody"
    argv = ["train", "melody_gru", "--chorales", "12", "--steps", "6", "--batch-size", "16", "--outdir", str(outdir)]
    assert cli.main(argv) == 0
    record = _json(outdir / "train_metrics.json")
    corpus = recipes.get("melody_gru").load_corpus(chorales=12)
    windows = len(tokens.make_windows(corpus.train_tokens, 64, stride=8)[0])
    assert record["settings"]["chorales"] == 12 and record["settings"]["steps_per_epoch"] == windows // 16
    assert record["settings"]["schedule_steps"] == 6

    assert cli.main(["sample", "melody_gru", "--outdir", str(outdir), "--num-samples", "4", "--length", "30"]) == 0
    folder = outdir / "samples_seed0"
    melodies = _json(folder / "melodies.json")["melodies"]
    assert len(melodies) == 4 and all(len(m) <= 30 for m in melodies)
    for index, melody in enumerate(melodies):
        if melody:   # each written file reads back as the generated notes
            assert music.read_melody(folder / f"melody_{index:03d}.mid") == [tuple(note) for note in melody]
            assert (folder / f"melody_{index:03d}.musicxml").exists()

    # Sampling again into the same folder replaces the earlier files instead of leaving some of them behind.
    assert cli.main(["sample", "melody_gru", "--outdir", str(outdir), "--num-samples", "1", "--length", "30"]) == 0
    assert len(_json(folder / "melodies.json")["melodies"]) == 1
    assert {p.name for p in folder.glob("melody_*")} <= {"melody_000.mid", "melody_000.musicxml"}

    capsys.readouterr()
    assert cli.main(["evaluate", "melody_gru", "--outdir", str(outdir), "--num-samples", "12"]) == 0
    assert "pitch classes" in capsys.readouterr().out
    result = _json(outdir / "eval_metrics.json")
    assert result["num_samples"] == 12 and result["held_out_tokens"] == corpus.test_targets.size
    assert result["held_out_melodies_dropped"] == 35 - len(corpus.test_items)
    stats = result["melodies"]
    assert stats["shuffled_corpus"]["pitch_classes"] == pytest.approx(0.0, abs=1e-12)   # same notes, reordered
    for row in ("generated", "shuffled_corpus", "held_out_chorales"):
        assert all(0.0 <= d <= 1.0 for d in stats[row].values())
    assert result["scores"]["uniform"]["nll_nats"] == pytest.approx(math.log(len(corpus.vocabulary)))

    # A model whose melodies all end at once gets a note instead of histogram distances, not a crash.
    generate = recipes.get("melody_gru").generate
    monkeypatch.setattr(recipes.get("melody_gru"), "generate", lambda *args, **kwargs: [[] for _ in generate(*args, **kwargs)])
    assert cli.main(["evaluate", "melody_gru", "--outdir", str(outdir), "--num-samples", "3"]) == 0
    monkeypatch.undo()
    assert "No generated melody has 2 notes" in capsys.readouterr().out
    assert _json(outdir / "eval_metrics.json")["melodies"]["melodies_scored"] == 0

    # The run's tokens are fixed: an edited vocabulary.json (a token dropped) is refused by its checksum.
    saved = _json(outdir / "vocabulary.json")
    (outdir / "vocabulary.json").write_text(json.dumps({**saved, "tokens": saved["tokens"][1:]}))
    assert cli.main(["train", "melody_gru", "--resume", "--steps", "8", "--outdir", str(outdir)]) == 1
    assert "vocabulary.json is not the vocabulary the run was trained with (its checksum differs" in \
        capsys.readouterr().err




def test_a_run_is_never_overwritten_and_resume_checks_the_folder(gan_run, tmp_path, capsys):
    before = (gan_run / "train_metrics.json").read_bytes()
    assert cli.main(["train", "mlp_gan", *TINY, "--outdir", str(gan_run)]) == 1
    error = capsys.readouterr().err
    assert "already holds a run (last checkpoint: step 20)" in error and "--resume" in error
    assert (gan_run / "train_metrics.json").read_bytes() == before

    assert cli.main(["train", "mlp_gan", "--resume", "--outdir", str(gan_run)]) == 1
    assert "already at step 20, and the target is step 20: nothing to train" in capsys.readouterr().err
    mismatch = ["--batch-size", "32", "--seed", "0"]  # the seed agrees with the run's, the batch size does not
    assert cli.main(["train", "mlp_gan", "--resume", *mismatch, "--outdir", str(gan_run)]) == 1
    assert "has batch_size=16 but the flags say batch_size=32" in capsys.readouterr().err
    assert cli.main(["sample", "dcgan", "--outdir", str(gan_run)]) == 1
    assert "holds a run of 'mlp_gan', not 'dcgan'" in capsys.readouterr().err
    assert cli.main(["train", "mlp_gan", "--resume", "--outdir", str(tmp_path / "empty")]) == 1
    assert "holds no run to resume" in capsys.readouterr().err
    assert cli.main(["evaluate", "mlp_gan", "--outdir", str(tmp_path / "empty")]) == 1
    assert "holds no trained run of mlp_gan. Train one first" in capsys.readouterr().err


def test_the_default_run_folder_is_under_outputs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENAI_TF_OUTPUTS", str(tmp_path))
    assert cli.main(["sample", "conv_vae"]) == 1
    assert str(tmp_path / "cli" / "conv_vae") in capsys.readouterr().err




# The exact-likelihood models of notebooks 14-15: no latent size, their own scores, an exact resume.
LIKELIHOOD_RUN = ["--steps", "20", "--batch-size", "16", "--checkpoint-every", "5"]
D_LN2 = 784 * math.log(2.0)


@pytest.fixture(scope="module")
def likelihood_run(tmp_path_factory, evaluation_classifier):
    """``likelihood_run(model)``: an uninterrupted 20-step run, sampled (seeds 0 and 1) and evaluated, run on first use."""
    return _runs_on_first_use(tmp_path_factory, {"pixelcnn": LIKELIHOOD_RUN, "realnvp": LIKELIHOOD_RUN})


@pytest.mark.parametrize("model, offset", [("pixelcnn", 0.0), ("realnvp", 8.0)])
def test_likelihood_run_logs_its_loss_in_nats_and_bits_per_dimension(model, offset, likelihood_run):
    record = _json(likelihood_run(model) / "train_metrics.json")
    assert record["status"] == "completed" and record["step"] == 20
    assert record["settings"]["latent_dim"] is None and record["settings"]["steps_per_epoch"] == 4500 // 16
    history = record["history"]
    assert set(history) == {"step", "loss", "bits_per_dim"} and history["step"] == [5, 10, 15, 20]
    # PixelCNN: bits/dim = NLL / (D ln 2). The flow's loss is -log p(y) on [0, 1)^D: 8 more bits per dimension.
    assert history["bits_per_dim"] == pytest.approx([offset + loss / D_LN2 for loss in history["loss"]], rel=1e-5)
    assert history["loss"][-1] < history["loss"][0]  # it learns


def test_pixelcnn_run_samples_binary_images_and_scores_its_exact_held_out_nll(likelihood_run):
    outdir = likelihood_run("pixelcnn")
    images = np.load(outdir / "samples_seed0.npy")
    assert images.shape == (SMALL_RUN_SAMPLES, 28, 28, 1) and set(np.unique(images)) <= {-1.0, 1.0}
    assert np.any(images != np.load(outdir / "samples_seed1.npy"))
    network, settings, _, _ = cli.restore("pixelcnn", outdir)
    binary_test = datasets.load("mnist_sample", "test", pixel_range=(0, 1), binarize=True)[0]
    reported = _json(outdir / "eval_metrics.json")["scores"]["model"]["held_out_nll_nats"]
    assert reported == pytest.approx(-np.mean(network.log_prob(binary_test)), rel=1e-6)
    config.set_seed(settings["seed"])
    untrained = recipes.get("pixelcnn").build(seed=settings["seed"])
    assert reported < -np.mean(untrained.log_prob(binary_test)) - 50   # 20 steps learn the empty background


def test_flow_run_samples_images_and_scores_its_held_out_bits_per_dimension(likelihood_run):
    outdir = likelihood_run("realnvp")
    images = np.load(outdir / "samples_seed0.npy")
    assert images.shape == (SMALL_RUN_SAMPLES, 28, 28, 1) and images.min() >= -1.0 and images.max() <= 1.0
    assert np.abs(images - np.load(outdir / "samples_seed1.npy")).max() > 0.1
    network, _, _, _ = cli.restore("realnvp", outdir)
    test_images = np.round(datasets.load("mnist_sample", "test", pixel_range=(0, 255))[0])
    reported = _json(outdir / "eval_metrics.json")["scores"]["model"]["held_out_bits_per_dim"]
    assert reported == pytest.approx(float(np.mean(network.bits_per_dim(test_images, seed=0))), rel=1e-5)
    assert reported < 8.0   # better than a uniform density on the 256 levels


@pytest.mark.parametrize("model", ["pixelcnn", "realnvp"])
def test_likelihood_run_resumes_exactly_after_ctrl_c(model, likelihood_run, tmp_path, monkeypatch):
    straight = likelihood_run(model)
    stopped = tmp_path / "stopped"
    argv = ["train", model, *LIKELIHOOD_RUN, "--outdir", str(stopped)]
    assert _train_with_ctrl_c_at(10, argv, monkeypatch) == 130
    assert _json(stopped / "train_metrics.json")["step"] == 11
    assert cli.main(["train", model, "--resume", "--outdir", str(stopped)]) == 0
    record = _json(stopped / "train_metrics.json")
    assert record["step"] == 20 and [s["status"] for s in record["sessions"]] == ["interrupted", "completed"]
    assert record["history"]["loss"] == _json(straight / "train_metrics.json")["history"]["loss"]
    # The flow's dequantisation noise comes from its seed generator: its state is in the checkpoint too.
    _assert_same_checkpoints(stopped, straight)

