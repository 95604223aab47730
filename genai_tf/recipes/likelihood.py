"""The exact-likelihood image recipes of notebooks 14-15: a PixelCNN and a RealNVP flow.

Both train in epochs of Keras ``fit`` (Adam, learning rate 1e-3, batch 128)
and have no latent size. The PixelCNN models the binarised digits, as the
VAEs do, and scores the exact held-out negative log-likelihood in nats per
image; the flow models the 8-bit digits (integers in [0, 255], uniformly
dequantised in training) and scores held-out bits per dimension. Their
samples are images in [0, 1] like every image recipe's, so notebook 11 and
the command line rank them with the same classifier metrics.

Example:
>>> from genai_tf import recipes
>>> recipe = recipes.get("pixelcnn")
>>> recipe.unit, recipe.batch_size, [option.flag for option in recipe.options]
('epochs', 128, ['--temperature'])
>>> recipes.get("realnvp").notebook
'15_normalizing_flows'
"""

import numpy as np

from genai_tf import validation
from genai_tf.recipes.base import Option
from genai_tf.recipes.images import EpochRecipe

EIGHT_BIT_RANGE = (0, 255)
# One --temperature flag for every recipe that takes it: registered before the language models, so its help is shown.
TEMPERATURE = Option(
    "temperature", "--temperature", ("sample",), validation.positive_float_arg,
    "PixelCNN and language models: divide the logits by T; the flow: draw z ~ N(0, T^2 I) (default: 1.0)",
)


class LikelihoodRecipe(EpochRecipe):
    """An image model with an exact log-likelihood: no latent size, built from its constructor's arguments.

    Args:
        name, title, notebook, full_amount, quick_amount: see :class:`~genai_tf.recipes.images.ImageRecipe`.
        builder: the name of the class or function in :mod:`genai_tf.models` that builds the model.
        **model_kwargs: its arguments besides ``seed``.
    """

    options = (TEMPERATURE,)
    latent_dim = None

    def build(self, latent_dim=None, seed=0):
        """A new, compiled model with its notebook's architecture and optimizer.

        Args:
            latent_dim: must be None: these models have no latent code.
            seed: seed of the initial weights and of the model's noise.
        """
        from genai_tf import models

        if latent_dim is not None:
            raise ValueError(
                f"{self.name} has no latent code: leave latent_dim out. Received: latent_dim={latent_dim!r}"
            )
        model = getattr(models, self.model_class)(seed=validation.seed(seed), **self.model_kwargs)
        self.compile(model)
        return model

    def compile(self, model):
        """The model's own default optimizer (Adam 1e-3; the flow clips gradients to a global norm of 100)."""
        model.compile()


class PixelCNNRecipe(LikelihoodRecipe):
    """The PixelCNN of notebook 14 on binarised digits; its score is the exact held-out NLL in nats per image.

    Its samples take 784 network calls each batch, so training shows no
    sample grids as it goes (:meth:`progress_samples` is None).
    """

    def training_data(self, dataset="mnist_sample"):
        from genai_tf import datasets

        return (datasets.load(dataset, "train", pixel_range=(0, 1), binarize=True)[0],)

    def sample(self, model, n, seed=0, temperature=None):
        """``n`` binary images, float32 (n, 28, 28, 1), values 0 or 1, drawn pixel by pixel (temperature None: 1)."""
        n = validation.positive_int(n, "n")
        temperature = 1.0 if temperature is None else temperature
        return np.asarray(model.sample(n, seed=seed, temperature=temperature, batch_size=256), np.float32)

    def extra_scores(self, model, images, dataset, seed, classifier):
        """The exact held-out negative log-likelihood in nats per binarised test image."""
        from genai_tf import datasets

        binary_test = datasets.load(dataset, "test", pixel_range=(0, 1), binarize=True)[0]
        return {"held_out_nll_nats": float(-np.mean(model.log_prob(binary_test)))}

    def progress_samples(self, model, seed):
        return None


def eight_bit_images(dataset, split):
    """A split's images as 8-bit values: float32 integers in [0, 255], (N, 28, 28, 1)."""
    from genai_tf import datasets

    return np.round(datasets.load(dataset, split, pixel_range=EIGHT_BIT_RANGE)[0]).astype(np.float32)


class FlowRecipe(LikelihoodRecipe):
    """The RealNVP image flow of notebook 15 on 8-bit digits; its score is held-out bits per dimension.

    Samples are the dequantised scale y in [0, 1] at temperature 1.
    """

    def training_data(self, dataset="mnist_sample"):
        return (eight_bit_images(dataset, "train"),)

    def sample(self, model, n, seed=0, temperature=None):
        """``n`` images, float32 (n, 28, 28, 1) in [0, 1], z drawn at ``temperature`` (None: 1)."""
        n = validation.positive_int(n, "n")
        temperature = 1.0 if temperature is None else temperature
        return np.asarray(model.sample(n, seed=seed, temperature=temperature), np.float32)

    def extra_scores(self, model, images, dataset, seed, classifier):
        """Held-out bits per dimension of the 8-bit test images (one dequantisation draw, seeded)."""
        bits = model.bits_per_dim(eight_bit_images(dataset, "test"), seed=seed)
        return {"held_out_bits_per_dim": float(np.mean(bits))}


RECIPES = (
    PixelCNNRecipe("pixelcnn", "PixelCNN", "14_autoregressive_images", 20, "PixelCNN", quick_amount=1),
    FlowRecipe("realnvp", "RealNVP flow", "15_normalizing_flows", 12, "build_image_flow", quick_amount=1),
)
