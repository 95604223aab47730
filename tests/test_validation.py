"""Tests of genai_tf.validation: each check's boundaries and its exact error, and the argparse types."""

import argparse
import math

import numpy as np
import pytest

from genai_tf import validation
from genai_tf.validation import (
    float_in,
    image_batch,
    image_shape_28x28,
    int_at_least,
    non_negative_int,
    one_of,
    positive_float,
    positive_float_arg,
    positive_int,
    positive_int_arg,
    probability_arg,
)


def error_of(check, *args, **kwargs):
    """The message of the ValueError that ``check(*args, **kwargs)`` raises."""
    with pytest.raises(ValueError) as info:
        check(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("value", [1, 7, np.int64(1), np.int32(3)])
def test_positive_int_accepts_integers_from_one_as_python_ints(value):
    result = positive_int(value, "steps")
    assert result == int(value) and type(result) is int


@pytest.mark.parametrize("value", [0, -1, True, False, 1.0, "1", None, np.float64(1.0), np.bool_(True)])
def test_positive_int_refuses_names_the_argument_and_the_value(value):
    assert error_of(positive_int, value, "steps") == f"steps must be a positive integer. Received: steps={value!r}"


def test_positive_int_allow_none():
    assert positive_int(None, "limit", allow_none=True) is None
    assert positive_int(2, "limit", allow_none=True) == 2
    assert error_of(positive_int, 0, "limit", allow_none=True) == (
        "limit must be a positive integer or None. Received: limit=0"
    )


def test_non_negative_int_boundary():
    assert non_negative_int(0, "seed") == 0
    assert non_negative_int(np.int64(0), "seed") == 0
    assert error_of(non_negative_int, -1, "seed") == "seed must be a non-negative integer. Received: seed=-1"
    assert error_of(non_negative_int, None, "seed") == "seed must be a non-negative integer. Received: seed=None"


def test_int_at_least_other_minimum():
    assert int_at_least(5, 5, "width") == 5
    assert error_of(int_at_least, 4, 5, "width") == "width must be an integer >= 5. Received: width=4"
    assert int_at_least(-2, -2, "offset") == -2
    assert error_of(int_at_least, -3, -2, "offset") == "offset must be an integer >= -2. Received: offset=-3"


@pytest.mark.parametrize(
    ("include_low", "include_high", "low_ok", "high_ok", "brackets"),
    [(False, True, False, True, "(]"), (True, True, True, True, "[]"),
     (False, False, False, False, "()"), (True, False, True, False, "[)")],
)
def test_float_in_each_combination_of_ends(include_low, include_high, low_ok, high_ok, brackets):
    flags = {"include_low": include_low, "include_high": include_high}
    def message(value):
        return f"p must be in {brackets[0]}0.0, 1.0{brackets[1]}. Received: p={value!r}"

    for end, ok in ((0.0, low_ok), (1.0, high_ok)):
        if ok:
            assert float_in(end, 0.0, 1.0, "p", **flags) == end
        else:
            assert error_of(float_in, end, 0.0, 1.0, "p", **flags) == message(end)
    assert float_in(0.5, 0.0, 1.0, "p", **flags) == 0.5
    for outside in (-1e-9, 1.0 + 1e-9, math.nan, math.inf, -math.inf):
        assert error_of(float_in, outside, 0.0, 1.0, "p", **flags) == message(outside)


@pytest.mark.parametrize("value", [1, np.int64(1), np.float32(0.25), np.float64(1.0)])
def test_float_in_accepts_numpy_and_ints_as_python_floats(value):
    result = float_in(value, 0.0, 1.0, "p")
    assert result == float(value) and type(result) is float


@pytest.mark.parametrize("value", [True, False, "0.5", None, [0.5]])
def test_float_in_refuses_non_numbers(value):
    assert error_of(float_in, value, 0.0, 1.0, "p") == f"p must be in (0.0, 1.0]. Received: p={value!r}"


def test_positive_float():
    assert positive_float(1e-300, "lr") == 1e-300
    assert positive_float(1e300, "lr") == 1e300
    for value in (0.0, -1.0, math.inf, math.nan, True):
        assert error_of(positive_float, value, "lr") == f"lr must be in (0.0, inf). Received: lr={value!r}"


def test_one_of_returns_the_value_or_lists_the_choices():
    assert one_of("test", ("train", "test"), "split") == "test"
    assert error_of(one_of, "val", ("train", "test"), "split") == (
        "split must be one of 'train', 'test'. Received: split='val'"
    )
    assert error_of(one_of, 1, [0, 2], "n") == "n must be one of 0, 2. Received: n=1"


@pytest.mark.parametrize("shape", [(28, 28, 1), [28, 28, 3], (28, 28, np.int64(1)), np.array([28, 28, 1])])
def test_image_shape_28x28_accepts(shape):
    assert image_shape_28x28(shape) == (28, 28, int(shape[2]))
    assert isinstance(image_shape_28x28(shape), tuple)


@pytest.mark.parametrize("shape", [(28, 28), (28, 28, 1, 1), (32, 32, 1), (28, 27, 1), (28, 28, 0), (28, 28, 1.0)])
def test_image_shape_28x28_refuses(shape):
    assert error_of(image_shape_28x28, shape, name="shape") == (
        f"The convolutional models are built for 28x28 images. Received: shape={tuple(shape)}"
    )


def test_image_shape_28x28_refuses_a_bool_channel():
    with pytest.raises(ValueError):
        image_shape_28x28((28, 28, True))


def test_float_in_refuses_an_int_too_large_for_a_float():
    with pytest.raises(ValueError):
        float_in(10**400, 0.0, 1.0, "p")


def test_image_batch_accepts_exact_shapes_and_returns_the_same_object():
    images = np.zeros((5, 28, 28, 1))
    assert image_batch(images, (28, 28, 1)) is images
    assert image_batch(np.zeros((0, 28, 28, 1)), [28, 28, 1]).shape == (0, 28, 28, 1)


@pytest.mark.parametrize("shape", [(28, 28, 1), (5, 28, 28, 3), (5, 28, 28), (5, 1, 28, 28), (5, 28, 28, 1, 1)])
def test_image_batch_refuses_other_shapes(shape):
    images = np.zeros(shape)
    assert error_of(image_batch, images, (28, 28, 1)) == (
        f"images must have images of shape (batch_size, 28, 28, 1). Received: images.shape={shape}"
    )
    assert error_of(image_batch, images, (28, 28, 1), name="x", owner="GAN.fit") == (
        f"GAN.fit expects x of shape (batch_size, 28, 28, 1). Received: x.shape={shape}"
    )


# --- argparse types -----------------------------------------------------------------------


def test_argparse_types_convert_valid_text():
    assert positive_int_arg("4") == 4 and type(positive_int_arg("4")) is int
    assert positive_int_arg("1") == 1
    assert validation.non_negative_int_arg("0") == 0
    assert positive_float_arg("0.5") == 0.5
    assert probability_arg("1") == 1.0
    assert probability_arg("1e-9") == 1e-9


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        ("positive_int_arg", "0", "must be a positive integer. Received: 0"),
        ("positive_int_arg", "-3", "must be a positive integer. Received: -3"),
        ("positive_int_arg", "x", "must be a positive integer. Received: 'x'"),
        ("positive_int_arg", "1.5", "must be a positive integer. Received: '1.5'"),
        ("positive_int_arg", "", "must be a positive integer. Received: ''"),
        ("non_negative_int_arg", "-1", "must be a non-negative integer. Received: -1"),
        ("positive_float_arg", "0", "must be in (0.0, inf). Received: 0.0"),
        ("positive_float_arg", "inf", "must be in (0.0, inf). Received: inf"),
        ("positive_float_arg", "nan", "must be in (0.0, inf). Received: nan"),
        ("positive_float_arg", "x", "must be in (0.0, inf). Received: 'x'"),
        ("probability_arg", "0", "must be in (0.0, 1.0]. Received: 0.0"),
        ("probability_arg", "1.5", "must be in (0.0, 1.0]. Received: 1.5"),
        ("probability_arg", "half", "must be in (0.0, 1.0]. Received: 'half'"),
    ],
)
def test_argparse_types_refuse_with_the_rule_and_the_text(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError) as info:
        getattr(validation, parse)(text)
    assert str(info.value) == message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_argparse_type_in_a_real_parser(capsys):
    parser = argparse.ArgumentParser(prog="train")
    parser.add_argument("--steps", type=positive_int_arg, default=1)
    parser.add_argument("--top-p", type=probability_arg, default=1.0)
    assert parser.parse_args(["--steps", "12", "--top-p", "0.9"]) == argparse.Namespace(steps=12, top_p=0.9)
    for argv, expected in (
        (["--steps", "0"], "train: error: argument --steps: must be a positive integer. Received: 0"),
        (["--top-p", "2"], "train: error: argument --top-p: must be in (0.0, 1.0]. Received: 2.0"),
    ):
        with pytest.raises(SystemExit) as info:
            parser.parse_args(argv)
        assert info.value.code == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.splitlines()[-1] == expected


# --- seeds --------------------------------------------------------------------------------

SEED_RULE = "an integer in [0, 4294967295] (seeds are below 2**32)"


@pytest.mark.parametrize("value", [0, 1, 2**32 - 1, np.uint32(2**32 - 1), np.int64(7)])
def test_seed_accepts_integers_below_2_to_the_32_as_python_ints(value):
    assert validation.seed(value) == int(value) and type(validation.seed(value)) is int


@pytest.mark.parametrize("value", [-1, 2**32, 10**23, True, 1.0, "1", None, np.int64(-5)])
def test_seed_refuses_with_the_limit_named(value):
    assert error_of(validation.seed, value) == f"seed must be {SEED_RULE}. Received: seed={value!r}"
    assert error_of(validation.seed, value, "shuffle_seed").startswith(f"shuffle_seed must be {SEED_RULE}.")


def test_the_seed_limit_is_what_numpy_and_keras_accept():
    # The largest seed accepted works in both; the first one refused is refused by Keras too.
    import keras

    np.random.default_rng(validation.SEED_LIMIT - 1)
    keras.utils.set_random_seed(validation.SEED_LIMIT - 1)
    with pytest.raises(ValueError):
        keras.utils.set_random_seed(validation.SEED_LIMIT)


def test_seed_arg_converts_and_refuses_with_the_limit_named():
    assert validation.seed_arg("0") == 0
    assert validation.seed_arg("4294967295") == 4294967295
    for text, received in (("4294967296", "4294967296"), ("1e23", "'1e23'"), ("-1", "-1"), ("1.5", "'1.5'")):
        with pytest.raises(argparse.ArgumentTypeError) as info:
            validation.seed_arg(text)
        assert str(info.value) == f"must be {SEED_RULE}. Received: {received}"


# --- checks inside a traced step ----------------------------------------------------------

RANGE_MESSAGE = "x must be in [0, 1]. Received: values in [{}, {}]"


def _range_checked(x):
    import tensorflow as tf

    valid = tf.reduce_all(tf.logical_and(x >= 0.0, x <= 1.0))
    return validation.graph_checked(x, valid, RANGE_MESSAGE, tf.reduce_min(x), tf.reduce_max(x))


def test_graph_checked_eagerly_returns_the_tensor_or_raises_the_value_error():
    import tensorflow as tf

    good = tf.constant([0.0, 0.25, 1.0])
    assert _range_checked(good) is good
    with pytest.raises(ValueError) as info:
        _range_checked(tf.constant([-0.5, 0.25, 1.125]))
    assert str(info.value) == "x must be in [0, 1]. Received: values in [-0.5, 1.125]"


def test_a_failed_graph_check_stops_the_step_and_becomes_the_value_error():
    import tensorflow as tf

    counter = tf.Variable(0.0)

    @tf.function
    def step(x):
        counter.assign_add(tf.reduce_sum(_range_checked(x)))

    step(tf.constant([0.5, 0.25]))
    assert float(counter) == 0.75
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"x must be in \[0, 1\]"):
        step(tf.constant([2.0, -1.0]))
    with pytest.raises(ValueError) as info:
        with validation.value_errors_from_graph_checks():
            step(tf.constant([0.5, -0.03125, 3.0]))
    assert str(info.value) == "x must be in [0, 1]. Received: values in [-0.03125, 3]"
    assert isinstance(info.value.__cause__, tf.errors.InvalidArgumentError)
    # The failed steps updated nothing: the check runs before anything computed from x.
    assert float(counter) == 0.75
    # A NaN fails the comparisons, so it fails the check too.
    with pytest.raises(ValueError, match=r"Received: values in \[nan, nan\]"):
        with validation.value_errors_from_graph_checks():
            step(tf.constant([np.nan]))


def test_other_errors_pass_through_value_errors_from_graph_checks_unchanged():
    import tensorflow as tf

    @tf.function
    def step(x):
        tf.debugging.assert_positive(x, message="not a graph_checked check")
        return x

    with pytest.raises(tf.errors.InvalidArgumentError, match="not a graph_checked check"):
        with validation.value_errors_from_graph_checks():
            step(tf.constant([-1.0]))
    with pytest.raises(KeyError, match="other"):
        with validation.value_errors_from_graph_checks():
            raise KeyError("other")
