"""The registry of model recipes: every model family of the curriculum, as its notebook trains it.

The command line (:mod:`genai_tf.cli`), notebook 11's ranking and the
benchmarks ask the registry: ``recipes.get("dcgan")`` is the DCGAN of
notebook 04 (build, data, train in its unit, sample in [0, 1], evaluate,
save and load with its training record). A new family is one module with a
:class:`~genai_tf.recipes.base.Recipe` subclass whose instances are passed to
:func:`register`. Importing the package imports no TensorFlow.

Example:
>>> from genai_tf import recipes
>>> recipes.names(offered=True)[:3], recipes.get("melody_gru").datasets
(('mlp_gan', 'dcgan', 'conditional_gan'), ('bach_chorales',))
"""

from genai_tf.recipes import classifier, images, language, likelihood
from genai_tf.recipes.base import Option, Recipe, RunData, RunError, StateMismatchError
from genai_tf.recipes.registry import datasets, families, get, names, options, recipes, register, takers, unregister

for _recipe in (*images.RECIPES, *likelihood.RECIPES, *language.RECIPES, classifier.ClassifierRecipe()):
    register(_recipe)

__all__ = [
    "Option", "Recipe", "RunData", "RunError", "StateMismatchError",
    "datasets", "families", "get", "names", "options", "recipes", "register", "takers", "unregister",
]
