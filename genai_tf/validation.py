"""Argument checks used across the package: one home for each, each error naming the argument.

Every check raises ``ValueError`` that names the argument and the value
received (``"... Received: steps=0"``), never a bare ``assert``. The
``argparse`` types at the end turn the same rules into command-line errors.

Example:
>>> positive_int(3, "steps")
3
>>> positive_int(None, "limit", allow_none=True) is None
True
>>> positive_int(0, "steps")
Traceback (most recent call last):
...
ValueError: steps must be a positive integer. Received: steps=0
>>> one_of("train", ("train", "test"), "split")
'train'
>>> seed(2**32 - 1)
4294967295
"""

import argparse
import contextlib
import math
import re

import numpy as np


def int_at_least(value, minimum, name, allow_none=False):
    """``value`` as a Python int when it is an integer (not a bool) >= ``minimum``; else ValueError.

    Args:
        value: the argument to check; NumPy integers are accepted.
        minimum: the smallest value allowed.
        name: the argument's name, used in the error.
        allow_none: return None for None instead of refusing it.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        if minimum == 1:
            what = "a positive integer"
        elif minimum == 0:
            what = "a non-negative integer"
        else:
            what = f"an integer >= {minimum}"
        if allow_none:
            what += " or None"
        raise ValueError(f"{name} must be {what}. Received: {name}={value!r}")
    return int(value)


def positive_int(value, name, allow_none=False):
    """``value`` as an int when it is an integer > 0 (None allowed with ``allow_none``); else ValueError."""
    return int_at_least(value, 1, name, allow_none=allow_none)


def non_negative_int(value, name):
    """``value`` as an int when it is an integer >= 0; else ValueError."""
    return int_at_least(value, 0, name)


SEED_LIMIT = 2**32
"""Seeds are integers in [0, SEED_LIMIT): what NumPy's generators and ``keras.utils.set_random_seed`` accept."""


def seed(value, name="seed"):
    """``value`` as a Python int when it is an integer (not a bool) with 0 <= value < 2**32; else ValueError.

    Example:
    >>> seed(2**32, "seed")
    Traceback (most recent call last):
    ...
    ValueError: seed must be an integer in [0, 4294967295] (seeds are below 2**32). Received: seed=4294967296
    """
    integer = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not integer or not 0 <= value < SEED_LIMIT:
        raise ValueError(
            f"{name} must be an integer in [0, {SEED_LIMIT - 1}] (seeds are below 2**32). Received: {name}={value!r}"
        )
    return int(value)


def float_in(value, low, high, name, include_low=False, include_high=True):
    """``value`` as a float in (low, high] (ends set by the flags); NaN, bools and non-numbers refused.

    Example:
    >>> float_in(0.5, 0.0, 1.0, "top_p")
    0.5
    >>> float_in(0.0, 0.0, 1.0, "top_p")
    Traceback (most recent call last):
    ...
    ValueError: top_p must be in (0.0, 1.0]. Received: top_p=0.0
    """
    opening, closing = "[" if include_low else "(", "]" if include_high else ")"
    message = f"{name} must be in {opening}{low}, {high}{closing}. Received: {name}={value!r}"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(message)
    try:
        value = float(value)
    except OverflowError:  # an int too large for a float
        raise ValueError(message) from None
    above = value > low or (include_low and value == low)
    below = value < high or (include_high and value == high)
    if math.isnan(value) or not (above and below):
        raise ValueError(message)
    return value


def positive_float(value, name):
    """``value`` as a finite float > 0; else ValueError."""
    return float_in(value, 0.0, math.inf, name, include_high=False)


def one_of(value, choices, name):
    """``value`` when it is one of ``choices``; else a ValueError that lists them."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {listed}. Received: {name}={value!r}")
    return value


def image_shape_28x28(image_shape, name="image_shape"):
    """``image_shape`` as a tuple when it is (28, 28, channels); else ValueError (the convolutional models' size)."""
    try:
        shape = tuple(image_shape)
    except TypeError:
        raise ValueError(f"{name} must be a tuple (28, 28, channels). Received: {name}={image_shape!r}") from None
    valid = all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in shape)
    if len(shape) != 3 or shape[:2] != (28, 28) or not valid:
        raise ValueError(f"The convolutional models are built for 28x28 images. Received: {name}={shape}")
    return shape


def image_batch(images, image_shape, name="images", owner=None):
    """Refuse ``images`` unless its shape is (batch_size, *image_shape); returns ``images`` unchanged."""
    shape = tuple(images.shape)
    if len(shape) != 1 + len(image_shape) or tuple(shape[1:]) != tuple(image_shape):
        who = f"{owner} expects" if owner else f"{name} must have"
        dims = ", ".join(map(str, image_shape))
        raise ValueError(f"{who} {name} of shape (batch_size, {dims}). Received: {name}.shape={shape}")
    return images


# --- checks inside a traced step (tf.function) --------------------------------------------

_CHECK_START, _CHECK_END = "<<genai_tf check: ", " :end check>>"


def graph_checked(tensor, condition, message, *values):
    """``tensor`` once ``condition`` (a scalar bool tensor) holds; else ``message.format(*values)`` is raised.

    Run eagerly, a false condition raises the ``ValueError`` at once. Inside
    a ``tf.function`` (e.g. Keras's ``train_step``) the check is an
    ``Assert`` op that the returned tensor depends on, so it runs before
    anything computed from it; the step then fails with
    ``tf.errors.InvalidArgumentError``, which
    :func:`value_errors_from_graph_checks` turns back into the ``ValueError``.
    XLA (``jit_compile=True``, Keras's default on a GPU) drops ``Assert``
    ops, so there the check is skipped.

    Args:
        tensor: the tensor to return.
        condition: scalar bool tensor, True when ``tensor`` is valid.
        message: the error, with one ``{}`` per value (formatted like ``%g``).
        *values: scalar tensors shown in the message (e.g. the batch's min and max).

    Returns:
        ``tensor`` (an identity of it in a traced function).
    """
    import tensorflow as tf

    if tf.executing_eagerly():
        if not bool(condition):
            raise ValueError(message.format(*(f"{np.asarray(v).item():g}" for v in values)))
        return tensor
    check = tf.debugging.Assert(condition, [_CHECK_START + message + _CHECK_END, *values])
    with tf.control_dependencies([check]):
        return tf.identity(tensor)


@contextlib.contextmanager
def value_errors_from_graph_checks():
    """Re-raise a failed :func:`graph_checked` check inside the block as the ``ValueError`` it describes.

    Other errors pass through unchanged; the original error is kept as ``__cause__``.
    """
    import tensorflow as tf

    try:
        yield
    except tf.errors.InvalidArgumentError as error:
        pattern = re.escape(_CHECK_START) + r"(.*?)" + re.escape(_CHECK_END) + r"\]((?: \[[^\]]*\])*)"
        found = re.search(pattern, error.message, re.DOTALL)
        if found is None:
            raise
        values = [_as_g(text) for text in re.findall(r"\[([^\]]*)\]", found.group(2))]
        raise ValueError(found.group(1).format(*values)) from error


def _as_g(text):
    """A value printed by TensorFlow, reformatted like ``%g`` (the eager message's format) when it is a number."""
    try:
        return f"{float(text):g}"
    except ValueError:
        return text


# --- argparse types: the same rules as command-line errors ------------------------------


def argparse_type(check, convert, *args):
    """An ``argparse`` type that converts the text with ``convert`` and applies ``check(value, *args, name)``.

    The error says what was wrong with the text received; argparse prefixes the flag's name.
    """

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(_rule(check, args, text)) from None
        try:
            return check(value, *args, "value")
        except ValueError:
            raise argparse.ArgumentTypeError(_rule(check, args, value)) from None

    return parse


def _rule(check, args, received):
    try:
        check(None, *args, "value")
    except ValueError as error:
        rule = str(error).split(". Received:")[0].replace("value must be ", "")
    return f"must be {rule}. Received: {received!r}"


positive_int_arg = argparse_type(positive_int, int)
non_negative_int_arg = argparse_type(non_negative_int, int)
seed_arg = argparse_type(seed, int)
positive_float_arg = argparse_type(positive_float, float)
probability_arg = argparse_type(float_in, float, 0.0, 1.0)
