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
"""

import argparse
import math

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
positive_float_arg = argparse_type(positive_float, float)
probability_arg = argparse_type(float_in, float, 0.0, 1.0)
