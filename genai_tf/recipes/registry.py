"""The registry of recipes: one name, one :class:`genai_tf.recipes.base.Recipe`.

The command line, notebook 11 and the benchmarks ask the registry which
models exist, which datasets each trains on and which flags each takes.
Registration order is listing order (help texts, argparse choices).

Example:
>>> from genai_tf import recipes
>>> recipes.names("image")
('mlp_gan', 'dcgan', 'conditional_gan', 'wgan_gp', 'mlp_vae', 'conv_vae', 'pixelcnn', 'realnvp')
>>> recipes.get("dcgan").notebook, recipes.get("dcgan").unit, recipes.get("dcgan").full_amount
('04_dcgan', 'steps', 7600)
"""

from genai_tf.recipes.base import Recipe

_RECIPES = {}


def register(recipe):
    """Add ``recipe`` under ``recipe.name``; returns it. A name already taken is refused."""
    if not isinstance(recipe, Recipe):
        raise ValueError(f"recipe must be a genai_tf.recipes.base.Recipe. Received: recipe={recipe!r}")
    if not recipe.name or recipe.name in _RECIPES:
        raise ValueError(f"recipe.name must be new and non-empty. Received: recipe.name={recipe.name!r}")
    _RECIPES[recipe.name] = recipe
    return recipe


def unregister(name):
    """Remove the recipe ``name`` (tests register toy recipes); returns it."""
    return _RECIPES.pop(get(name).name)


def get(name):
    """The recipe ``name``, with an error that lists the known names."""
    if name not in _RECIPES:
        raise ValueError(f"Unknown model {name!r}. Known models: {', '.join(_RECIPES)}. Received: name={name!r}")
    return _RECIPES[name]


def names(family=None, offered=None):
    """The registered names in order; only those of ``family`` and, with ``offered``, the command line's."""
    return tuple(
        name for name, recipe in _RECIPES.items()
        if (family is None or recipe.family == family) and (offered is None or recipe.offered == offered)
    )


def recipes(offered=None):
    """The registered recipes in order (only the command line's with ``offered=True``)."""
    return tuple(get(name) for name in names(offered=offered))


def families(offered=None):
    """The families of the registered recipes, in order of first appearance."""
    return tuple(dict.fromkeys(recipe.family for recipe in recipes(offered)))


def datasets(name=None, offered=None):
    """The datasets ``name`` trains on (the first is its default); without a name, all of them in order."""
    if name is not None:
        return tuple(get(name).datasets)
    return tuple(dict.fromkeys(dataset for recipe in recipes(offered) for dataset in recipe.datasets))


def options(command=None, offered=None):
    """The family-specific :class:`~genai_tf.recipes.base.Option` flags, once each, in order of first appearance."""
    found = {}
    for recipe in recipes(offered):
        for option in recipe.options:
            if command is None or command in option.commands:
                found.setdefault(option.name, option)
    return tuple(found.values())


def takers(option_name, offered=None):
    """The names of the recipes that take the option ``option_name``."""
    return tuple(
        recipe.name for recipe in recipes(offered) if any(option.name == option_name for option in recipe.options)
    )
