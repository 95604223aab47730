"""The image recipes of notebooks 03-08: four GANs and two VAEs, as their notebooks train them.

Each recipe is its notebook's: the same architecture, optimizer, batch size,
data and seed. Only the training length is a parameter, in the notebook's
own unit: steps (generator updates) for the GANs, epochs for the VAEs.
:meth:`~genai_tf.recipes.base.Recipe.load_or_train` loads the model a
notebook saved (``outputs/<notebook>/<mode>/<key>.keras`` and a JSON record)
or trains it here, as notebook 11 needs every image model trained.

Every image recipe samples images in [0, 1] (:data:`SAMPLE_RANGE`): a GAN's
``generate`` mapped from [-1, 1], a VAE's Bernoulli means as they are. The
evaluation classifier reads [-1, 1]: :func:`to_classifier_range` maps them.

Example:
>>> from genai_tf import recipes
>>> [recipes.get(name).unit for name in ("dcgan", "conv_vae")]
['steps', 'epochs']
>>> recipes.get("wgan_gp").full_amount, recipes.get("conv_vae").batch_size
(1500, 128)
"""

import abc
import math
import time
from pathlib import Path

import numpy as np

from genai_tf import validation
from genai_tf.recipes.base import Option, Recipe, RunData, RunError

SAMPLE_RANGE = (0.0, 1.0)
IMAGE_DATASETS = ("mnist_sample", "mnist", "fashion_mnist")  # 28x28; the 8x8 "digits" fits no network here
GRID_COLUMNS = 10
EVALUATION_SAMPLES = 2000
MIN_EVALUATION_SAMPLES = 10  # KID needs pairs, precision and recall more points than k = 3

LATENT_DIM = Option(
    "latent_dim", "--latent-dim", ("train",), validation.positive_int_arg,
    "image models: size of z (default: the recipe's, 100 or 16)",
)


def to_classifier_range(images):
    """Images in [0, 1] as the evaluation classifier reads them: float32 in [-1, 1]."""
    return (2.0 * np.asarray(images, np.float32) - 1.0).astype(np.float32)


def save_grid(images, path):
    """Save images in [-1, 1] as one grayscale PNG grid of GRID_COLUMNS columns, one pixel per pixel."""
    import matplotlib.image

    from genai_tf.plotting import image_grid

    matplotlib.image.imsave(path, image_grid(images, ncols=GRID_COLUMNS), cmap="gray", vmin=0.0, vmax=1.0)
    return Path(path)


def with_optimizer_slots(model, optimizers):
    """Build a compiled model's optimizer slots now, not at its first step, so a checkpoint restores into them."""
    for optimizer in optimizers.values():
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
    return model


class ImageRecipe(Recipe):
    """An image model of notebooks 03-08 (a GAN or a VAE; see :class:`GANRecipe`, :class:`VAERecipe`).

    Args:
        name, title, notebook: see :class:`~genai_tf.recipes.base.Recipe`.
        full_amount: the notebook's full-mode length, in :attr:`unit`.
        quick_amount: its quick-mode length, in :attr:`unit`.
        model_class: the name of the class in :mod:`genai_tf.models`.
        learning_rate: the Adam learning rate of a GAN's two optimizers (beta_1 = 0.5);
            None keeps the model's own ``compile`` defaults.
        model_kwargs: its constructor's arguments besides ``latent_dim`` and ``seed``.
    """

    family = "image"
    datasets = IMAGE_DATASETS
    options = (LATENT_DIM,)
    examples = "images"
    sample_count = 100
    evaluation_samples = EVALUATION_SAMPLES
    min_evaluation_samples = MIN_EVALUATION_SAMPLES
    latent_dim = 100

    def __init__(self, name, title, notebook, full_amount, model_class, quick_amount=1, learning_rate=None,
                 **model_kwargs):
        self.name, self.title, self.notebook = name, title, notebook
        self.learning_rate = learning_rate
        self.full_amount, self.quick_amount = full_amount, quick_amount
        self.model_class, self.model_kwargs = model_class, model_kwargs

    # --- the notebook's recipe ------------------------------------------------------------

    def build(self, latent_dim=None, seed=0):
        """A new, compiled model with its notebook's architecture and optimizer.

        Args:
            latent_dim: size of z, > 0; None is the notebook's (100 for the GANs, 16 for the VAEs).
            seed: seed of the model's training noise (the notebooks use 0).
        """
        from genai_tf import models

        latent_dim = validation.positive_int(latent_dim, "latent_dim", allow_none=True) or self.latent_dim
        model = getattr(models, self.model_class)(latent_dim=latent_dim, seed=int(seed), **self.model_kwargs)
        self.compile(model)
        return model

    def compile(self, model):
        """Compile ``model`` with its notebook's optimizer(s)."""
        model.compile()

    @abc.abstractmethod
    def training_data(self, dataset="mnist_sample"):
        """The training split in the range and form the model trains on: (images,) or (images, labels)."""

    def train(self, amount, dataset="mnist_sample", model=None, seed=0):
        """Train with the notebook's recipe for ``amount`` steps (GANs) or epochs (VAEs).

        Args:
            amount: positive int, in :attr:`unit`.
            dataset: a name :func:`genai_tf.datasets.load` knows.
            model: continue training this model instead of a new :meth:`build`.
            seed: seed of a new model's initial weights and training noise and of the
                batch order (the notebooks use 0).

        Returns:
            (model, seconds of training).
        """
        from genai_tf import config

        amount = validation.positive_int(amount, "amount")
        seed = validation.seed(seed)
        if model is None:
            config.set_seed(seed)   # the initial weights come from the global seed
            model = self.build(seed=seed)
        arrays = self.training_data(dataset)
        config.set_seed(seed)
        start = time.perf_counter()
        self.fit(model, arrays, amount, seed=seed)
        return model, time.perf_counter() - start

    @abc.abstractmethod
    def fit(self, model, arrays, amount, seed=0):
        """Run Keras ``fit`` for ``amount`` in :attr:`unit`, the batches in an order set by ``seed``."""

    def sample(self, model, n, seed=0):
        """``n`` images of a trained model, float32 (n, 28, 28, 1) in [0, 1] (:data:`SAMPLE_RANGE`)."""
        n = validation.positive_int(n, "n")
        return np.asarray(model.sample(n, seed=seed), np.float32)

    def evaluate(self, model, dataset="mnist_sample", num_samples=EVALUATION_SAMPLES, seed=0, classifier=None):
        """Score ``num_samples`` samples and as many real training images against the held-out images.

        Both are scored by :func:`genai_tf.classifier.score_samples` against the
        classifier features of the dataset's test split, as in notebook 11,
        plus the family's own scores (:meth:`extra_scores`).

        Returns:
            {"held_out_images": n, "scores": {"model": {...}, "real_train_images": {...}}}.
        """
        import genai_tf.classifier as evaluation
        from genai_tf import datasets

        num_samples = validation.int_at_least(num_samples, MIN_EVALUATION_SAMPLES, "num_samples")
        test_images = datasets.load(dataset, "test", pixel_range=(-1, 1))[0]
        train_images = datasets.load(dataset, "train", pixel_range=(-1, 1))[0]
        classifier = evaluation.load_classifier() if classifier is None else classifier
        real_features = evaluation.classifier_features(test_images, classifier)
        options = dict(classifier=classifier, subset_size=min(1000, len(test_images)), seed=seed)
        images = to_classifier_range(self.sample(model, num_samples, seed=seed))
        scores = {"model": evaluation.score_samples(images, real_features, **options)}
        draw = np.random.default_rng(seed).choice(len(train_images), num_samples, replace=num_samples > len(train_images))
        scores["real_train_images"] = evaluation.score_samples(train_images[draw], real_features, **options)
        scores["model"].update(self.extra_scores(model, images, dataset, seed, classifier))
        return {"held_out_images": len(test_images), "scores": scores}

    def extra_scores(self, model, images, dataset, seed, classifier):
        """The family's scores besides the classifier's (none here)."""
        return {}

    # --- the command line's run --------------------------------------------------------------

    def run_data(self, settings):
        from genai_tf import datasets

        arrays = self.training_data(settings["dataset"])
        if settings["batch_size"] > len(arrays[0]):
            raise RunError(
                f"--batch-size {settings['batch_size']} is larger than the {len(arrays[0])} training images of "
                f"{settings['dataset']}."
            )
        batches = datasets.make_dataset(*arrays, batch_size=settings["batch_size"], seed=settings["seed"], repeat=True)
        return RunData(batches, len(arrays[0]) // settings["batch_size"], {})

    def finish_settings(self, settings, target_steps):
        return {**settings, "latent_dim": settings.get("latent_dim") or self.latent_dim, "schedule_steps": None}

    def run_model(self, settings, state):
        model = self.build(settings["latent_dim"], settings["seed"])
        return with_optimizer_slots(model, self.optimizers(model))

    def progress_samples(self, model, seed):
        return lambda: to_classifier_range(self.sample(model, 2 * GRID_COLUMNS, seed=seed))

    def write_samples(self, model, state, folder, stem, num_samples, seed=0, **options):
        """A grid ``stem.png`` and ``stem.npy``: float32 (num_samples, 28, 28, 1) in [-1, 1], the classifier's range."""
        images = to_classifier_range(self.sample(model, num_samples, seed=seed, **options))
        png = save_grid(images, Path(folder) / f"{stem}.png")
        npy = Path(folder) / f"{stem}.npy"
        np.save(npy, images)
        return png, npy

    def evaluate_run(self, model, settings, state, num_samples=None, seed=0, dataset=None):
        dataset = dataset or settings["dataset"]
        num_samples = self.evaluation_samples if num_samples is None else num_samples
        result = self.evaluate(model, dataset, num_samples, seed)
        record = {"dataset": dataset, "num_samples": num_samples, "seed": seed, **result}
        if dataset == "fashion_mnist":
            record["note"] = (
                f"The evaluation classifier reads MNIST digits; on {dataset} its features still rank runs "
                "against each other, but class coverage and the Inception Score mean little."
            )
        return record

    def score_table(self, record):
        """One row per metric, the model against real training images."""
        scores = record["scores"]
        lines = [
            f"{record['model']} at step {record['step']}: {record['num_samples']} samples (seed {record['seed']}) "
            f"against the {record['held_out_images']} held-out images of {record['dataset']}",
            f"{'metric':38s}{'model':>10s}{'real train':>12s}",
        ]
        for key, label, fmt in SCORE_ROWS:
            if key not in scores["model"]:
                continue
            real = scores["real_train_images"].get(key)
            model_value = fmt.format(scores["model"][key])
            lines.append(f"{label:38s}{model_value:>10s}{'-' if real is None else fmt.format(real):>12s}")
        if "note" in record:
            lines.append(record["note"])
        return "\n".join(lines)


SCORE_ROWS = (
    ("fd", "Frechet distance (lower is better)", "{:.2f}"),
    ("kid", "KID, not x1000 (lower is better)", "{:.4f}"),
    ("inception_score", "classifier Inception Score (max 10)", "{:.2f}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("classes_covered", "classes covered (of 10)", "{:d}"),
    ("min_fraction", "smallest class share", "{:.3f}"),
    ("label_agreement", "label agreement", "{:.3f}"),
    ("held_out_elbo_nats", "held-out ELBO (nats)", "{:.1f}"),
    ("held_out_nll_nats", "held-out NLL, exact (nats)", "{:.1f}"),
    ("held_out_bits_per_dim", "held-out bits/dim (8-bit, dequantised)", "{:.3f}"),
)


class GANRecipe(ImageRecipe):
    """A GAN of notebooks 03-06: trained in generator steps, images from ``generate`` in [-1, 1] mapped to [0, 1]."""

    unit = "steps"
    batch_size = 64
    latent_dim = 100

    def training_data(self, dataset="mnist_sample"):
        from genai_tf import datasets

        return (datasets.load(dataset, "train", pixel_range=(-1, 1))[0],)

    def fit(self, model, arrays, amount, seed=0):
        from genai_tf import datasets, progress

        batches = datasets.make_dataset(*arrays, batch_size=self.batch_size, seed=seed, repeat=True)
        model.fit(batches, epochs=1, steps_per_epoch=amount, shuffle=False, verbose=0,   # batches are shuffled
                  callbacks=[progress.bar(amount, self.title)])

    def compile(self, model):
        """Compile ``model``: Adam(learning_rate, beta_1 = 0.5) for both networks, or the model's defaults."""
        import keras

        if self.learning_rate is None:
            model.compile()
        else:
            model.compile(d_optimizer=keras.optimizers.Adam(self.learning_rate, beta_1=0.5),
                          g_optimizer=keras.optimizers.Adam(self.learning_rate, beta_1=0.5))

    def optimizers(self, model):
        return {"g_optimizer": model.g_optimizer, "d_optimizer": model.d_optimizer}


class ConditionalGANRecipe(GANRecipe):
    """A conditional GAN (notebook 05): trained on (images, labels); its samples cycle through the labels 0-9."""

    def training_data(self, dataset="mnist_sample"):
        from genai_tf import datasets

        return datasets.load(dataset, "train", pixel_range=(-1, 1))

    def extra_scores(self, model, images, dataset, seed, classifier):
        """The label agreement: the share of samples the classifier reads as the label they were drawn for."""
        import genai_tf.classifier as evaluation
        from genai_tf import metrics

        requested = np.arange(len(images)) % model.num_classes
        return {"label_agreement": metrics.label_agreement(requested, evaluation.predict_classes(images, classifier))}


class EpochRecipe(ImageRecipe):
    """An image model trained in epochs of Keras ``fit`` on one array of images, shuffled with the seed.

    The VAEs (:class:`VAERecipe`) and the exact-likelihood models of notebooks
    14-15 (:mod:`genai_tf.recipes.likelihood`) train this way.
    """

    unit = "epochs"
    batch_size = 128

    def compile(self, model):
        import keras

        model.compile(optimizer=keras.optimizers.Adam(1e-3))

    def fit(self, model, arrays, amount, seed=0):
        from genai_tf import config, progress

        config.set_seed(seed)   # Keras shuffles the arrays with the global seed
        batches = amount * math.ceil(len(arrays[0]) / self.batch_size)
        model.fit(arrays[0], batch_size=self.batch_size, epochs=amount, shuffle=True, verbose=0,
                  callbacks=[progress.bar(batches, f"{self.title}, {amount} epochs", unit="batch")])


class VAERecipe(EpochRecipe):
    """A VAE of notebooks 07-08: trained in epochs on binarised images; samples are its Bernoulli means."""

    latent_dim = 16

    def training_data(self, dataset="mnist_sample"):
        from genai_tf import datasets

        return (datasets.load(dataset, "train", pixel_range=(0, 1), binarize=True)[0],)

    def extra_scores(self, model, images, dataset, seed, classifier):
        """The held-out ELBO in nats: binarised test images, one z sample."""
        from genai_tf import datasets

        binary_test = datasets.load(dataset, "test", pixel_range=(0, 1), binarize=True)[0]
        return {"held_out_elbo_nats": float(np.mean(model.elbo(binary_test, seed=seed)))}


RECIPES = (
    GANRecipe("mlp_gan", "MLP GAN", "03_gan_mnist", 8000, "GAN", quick_amount=150),
    GANRecipe("dcgan", "DCGAN", "04_dcgan", 7600, "DCGAN", quick_amount=40, learning_rate=5e-4, width=32,
              dropout=0.0),
    ConditionalGANRecipe("conditional_gan", "conditional DCGAN", "05_conditional_gan", 5000, "ConditionalGAN",
                         quick_amount=150, num_classes=10, width=32, dropout=0.0, projection=True),
    GANRecipe("wgan_gp", "WGAN-GP", "06_wgan_gp", 1500, "WGANGP", quick_amount=10, n_critic=5, gp_weight=10.0),
    VAERecipe("mlp_vae", "MLP VAE", "07_vae_elbo", 30, "VAE", quick_amount=2, architecture="mlp",
              likelihood="bernoulli", hidden_units=(512, 256)),
    VAERecipe("conv_vae", "convolutional VAE", "08_vae_latent_space", 10, "VAE", quick_amount=1, architecture="conv"),
)
