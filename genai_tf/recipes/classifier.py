"""The evaluation classifier as a recipe: the MNIST CNN whose features score every image model.

It is trained once and cached by :func:`genai_tf.classifier.load_classifier`
(``outputs/classifier/mnist_sample_cnn.keras`` and its JSON record);
:meth:`ClassifierRecipe.load_or_train` is that cache. It generates nothing,
so the command line does not offer it (``offered = False``) and
:meth:`~ClassifierRecipe.sample` refuses.

Example:
>>> from genai_tf import recipes
>>> recipe = recipes.get("evaluation_classifier")
>>> recipe.unit, recipe.full_amount, recipe.batch_size, recipe.offered
('epochs', 20, 64, False)
"""

import math

from genai_tf import validation
from genai_tf.recipes.base import Recipe, RunData

TRAINING_IMAGES = 4500  # the "train" split of mnist_sample


class ClassifierRecipe(Recipe):
    """The evaluation classifier of :mod:`genai_tf.classifier` (a CNN with augmentation, Adam, cosine decay)."""

    name = "evaluation_classifier"
    title = "evaluation classifier"
    notebook = "11_evaluating_generative_models"
    family = "classifier"
    unit = "epochs"
    full_amount = 20
    batch_size = 64
    datasets = ("mnist_sample",)
    examples = "images"
    offered = False

    def build(self, augment=True, seed=0, epochs=None):
        """A new classifier compiled as :func:`genai_tf.classifier.train_classifier` compiles it for ``epochs``."""
        import genai_tf.classifier as evaluation

        steps = (epochs or self.full_amount) * math.ceil(TRAINING_IMAGES / self.batch_size)
        return evaluation.compile_classifier(evaluation.build_classifier(augment=augment, seed=seed), steps)

    def train(self, amount, dataset="mnist_sample", model=None):
        """Train a new classifier for ``amount`` epochs (no caching): (model, seconds)."""
        validation.one_of(dataset, self.datasets, "dataset")
        import genai_tf.classifier as evaluation

        classifier, record = evaluation.train_classifier(epochs=validation.positive_int(amount, "amount"))
        return classifier, record["training_seconds"]

    def load_or_train(self, amount=None, mode=None, dataset="mnist_sample", cache_notebook=None, verbose=True):
        """The cached classifier (trained now if the cache is missing or stale): (model, record)."""
        from genai_tf import records

        import genai_tf.classifier as evaluation

        model = evaluation.load_classifier(epochs=amount or self.full_amount, verbose=int(bool(verbose)))
        path = evaluation.default_classifier_path()
        return model, records.read_json(path.with_suffix(".json"), what="classifier record")

    def sample(self, model, n, seed=0):
        raise ValueError(f"The {self.title} classifies images and draws no samples. Received: n={n!r}")

    def evaluate(self, model, dataset="mnist_sample", num_samples=None, seed=0):
        """{"held_out_accuracy": accuracy on the 500 held-out images of mnist_sample}."""
        import genai_tf.classifier as evaluation

        return {"held_out_accuracy": evaluation.held_out_accuracy(model)}

    def run_data(self, settings):
        from genai_tf import datasets

        images, labels = datasets.load(settings["dataset"], "train", pixel_range=(-1, 1))
        batches = datasets.make_dataset(images, labels, batch_size=settings["batch_size"],
                                                seed=settings["seed"], repeat=True)
        return RunData(batches, len(images) // settings["batch_size"], {})

    def run_model(self, settings, state):
        from genai_tf.recipes.images import with_optimizer_slots

        model = self.build(seed=settings["seed"])
        return with_optimizer_slots(model, self.optimizers(model))

    def write_samples(self, model, state, folder, stem, num_samples, seed=0, **options):
        return ()

    def evaluate_run(self, model, settings, state, num_samples=None, seed=0, dataset=None):
        return {"dataset": settings["dataset"], **self.evaluate(model)}

