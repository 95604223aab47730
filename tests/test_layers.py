"""Tests of genai_tf.layers: the pre-norm causal Transformer block against NumPy, and weight normalisation.

WeightNormalization's formula, gradients, save/load and the layers it refuses
are tested in test_migration.py, beside the other tensorflow-addons
replacements that notebook 13 teaches; here are the cases that file leaves
out (other kernel layouts, a zero direction, shapes).
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf.layers import CausalSelfAttentionBlock, WeightNormalization

MODEL_DIM, NUM_HEADS, LENGTH = 8, 2, 5


def _randomize(layer, seed=0):
    """Give every weight of ``layer`` random values, so no zero or unit initialisation hides a missing term."""
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        weight.assign(rng.normal(scale=0.5, size=weight.shape).astype("float32"))


def _attention_weight(block, suffix):
    """One of the attention layer's weights, by the end of its path ("query/kernel", "attention_output/bias")."""
    (weight,) = [w for w in block.attention.weights if w.path.endswith(suffix)]
    return weight.numpy().astype(np.float64)


def _layer_norm(x, norm):
    mean = x.mean(-1, keepdims=True)
    variance = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + 1e-5) * norm.gamma.numpy() + norm.beta.numpy()


def _numpy_block(block, x, causal=True):
    """The block's formula in float64 NumPy: h = x + MHA(LN(x)); y = h + W_2 gelu(W_1 LN(h)) (exact gelu)."""
    x = x.astype(np.float64)
    normed = _layer_norm(x, block.attention_norm)
    q, k, v = (
        np.einsum("btd,dhe->bhte", normed, _attention_weight(block, f"{name}/kernel"))
        + _attention_weight(block, f"{name}/bias")[None, :, None, :]
        for name in ("query", "key", "value")
    )
    scores = np.einsum("bhte,bhse->bhts", q, k) / math.sqrt(q.shape[-1])
    if causal:
        length = x.shape[1]
        scores = np.where(np.tril(np.ones((length, length), bool)), scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    heads = np.einsum("bhts,bhse->bhte", weights, v)
    attended = np.einsum("bhte,hed->btd", heads, _attention_weight(block, "attention_output/kernel"))
    h = x + attended + _attention_weight(block, "attention_output/bias")
    hidden = _layer_norm(h, block.mlp_norm) @ block.mlp_in.kernel.numpy() + block.mlp_in.bias.numpy()
    hidden = 0.5 * hidden * (1.0 + np.vectorize(math.erf)(hidden / math.sqrt(2.0)))
    return h + hidden @ block.mlp_out.kernel.numpy() + block.mlp_out.bias.numpy()


@pytest.fixture
def inputs():
    return np.random.default_rng(1).normal(size=(3, LENGTH, MODEL_DIM)).astype("float32")


# --- CausalSelfAttentionBlock -----------------------------------------------------------------


@pytest.mark.parametrize("causal", [True, False])
def test_block_is_its_formula_written_in_numpy(inputs, causal):
    block = CausalSelfAttentionBlock(MODEL_DIM, NUM_HEADS, causal=causal)
    block(inputs)
    _randomize(block)
    output = np.asarray(block(inputs))
    assert output.shape == inputs.shape and output.dtype == np.float32
    np.testing.assert_allclose(output, _numpy_block(block, inputs, causal), atol=1e-4)
    # The mask matters: the other setting's formula is far from this output.
    assert np.abs(output - _numpy_block(block, inputs, not causal)).max() > 1e-2


def test_block_with_zero_sublayer_outputs_is_the_identity(inputs):
    # Pre-norm keeps the residual path an identity: with both sub-layers' last projections at zero, y = x exactly.
    block = CausalSelfAttentionBlock(MODEL_DIM, NUM_HEADS)
    block(inputs)
    _randomize(block)
    for weight in block.attention.weights:
        if "attention_output" in weight.path:
            weight.assign(np.zeros(weight.shape, "float32"))
    block.mlp_out.kernel.assign(np.zeros(block.mlp_out.kernel.shape, "float32"))
    block.mlp_out.bias.assign(np.zeros(block.mlp_out.bias.shape, "float32"))
    np.testing.assert_array_equal(np.asarray(block(inputs)), inputs)


def test_causal_outputs_on_a_prefix_are_the_first_outputs_on_the_whole_sequence(inputs):
    block = CausalSelfAttentionBlock(MODEL_DIM, NUM_HEADS)
    block(inputs)
    _randomize(block, seed=2)
    whole = np.asarray(block(inputs))
    for length in (1, 3):
        np.testing.assert_allclose(np.asarray(block(inputs[:, :length])), whole[:, :length], atol=1e-5)


def test_block_dropout_acts_only_in_training(inputs):
    block = CausalSelfAttentionBlock(MODEL_DIM, NUM_HEADS, dropout=0.5)
    block(inputs)
    _randomize(block, seed=3)
    inference = np.asarray(block(inputs))
    np.testing.assert_allclose(inference, _numpy_block(block, inputs), atol=1e-4)   # no dropout by default
    np.testing.assert_array_equal(np.asarray(block(inputs, training=False)), inference)
    assert np.abs(np.asarray(block(inputs, training=True)) - inference).max() > 1e-2


def test_block_config_and_saved_model_round_trip(inputs, tmp_path):
    block = CausalSelfAttentionBlock(MODEL_DIM, NUM_HEADS, mlp_ratio=2, dropout=0.1, causal=False, name="block")
    config = block.get_config()
    assert {k: config[k] for k in ("model_dim", "num_heads", "mlp_ratio", "dropout", "causal")} == {
        "model_dim": 8, "num_heads": 2, "mlp_ratio": 2, "dropout": 0.1, "causal": False}
    clone = CausalSelfAttentionBlock.from_config(config)
    assert clone.name == "block" and clone.mlp_in.units == 16 and clone.causal is False
    model = keras.Sequential([keras.Input((LENGTH, MODEL_DIM)), CausalSelfAttentionBlock(MODEL_DIM, NUM_HEADS)])
    _randomize(model.layers[0], seed=4)
    model.save(tmp_path / "block.keras")
    loaded = keras.models.load_model(tmp_path / "block.keras")
    assert isinstance(loaded.layers[0], CausalSelfAttentionBlock) and loaded.layers[0].causal is True
    np.testing.assert_array_equal(np.asarray(loaded(inputs)), np.asarray(model(inputs)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model_dim": 10, "num_heads": 4}, r"^model_dim must be divisible by num_heads\. Received: model_dim=10, num_heads=4$"),
        ({"model_dim": 8, "num_heads": 0}, r"^num_heads must be a positive integer\. Received: num_heads=0$"),
        ({"model_dim": 0, "num_heads": 2}, r"^model_dim must be a positive integer\. Received: model_dim=0$"),
        ({"model_dim": 8.0, "num_heads": 2}, r"^model_dim must be a positive integer\. Received: model_dim=8\.0$"),
    ],
)
def test_block_rejects_bad_sizes_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CausalSelfAttentionBlock(**kwargs)


# --- WeightNormalization: the cases test_migration.py leaves out ------------------------------------


@pytest.mark.parametrize(
    ("make_layer", "input_shape", "unit_axis", "units"),
    [
        (lambda: keras.layers.Conv1D(3, 2), (2, 7, 4), -1, 3),
        (lambda: keras.layers.Conv3DTranspose(2, 2), (1, 3, 3, 3, 4), -2, 2),
        (lambda: keras.layers.Dense(5), (2, 3, 4), -1, 5),   # Dense on a sequence: one g per output unit still
    ],
)
def test_weight_normalization_scales_each_output_unit_of_other_kernel_layouts(make_layer, input_shape, unit_axis, units):
    x = np.random.default_rng(8).normal(size=input_shape).astype("float32")
    layer = WeightNormalization(make_layer())
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(layer.layer(x)), atol=1e-5)
    assert layer.g.shape == (units,)
    assert tuple(layer.compute_output_shape(input_shape)) == tuple(layer(x).shape)
    scales = np.arange(1.0, units + 1.0, dtype="float32")
    layer.g.assign(scales)
    kernel = np.moveaxis(np.asarray(layer.normalized_kernel()), unit_axis, -1).reshape(-1, units)
    np.testing.assert_allclose(np.linalg.norm(kernel, axis=0), scales, rtol=1e-5)
    # The direction is the wrapped layer's own kernel, unchanged by the call.
    direction = np.moveaxis(layer.layer.kernel.numpy(), unit_axis, -1).reshape(-1, units)
    np.testing.assert_allclose(kernel, scales * direction / np.linalg.norm(direction, axis=0), rtol=1e-5)


def test_weight_normalization_of_an_all_zero_direction_is_zero_not_nan():
    # The norm floor of 1e-12: w = g * 0 / 1e-12 = 0 for the zero column; the other column is g v / ||v||.
    layer = WeightNormalization(keras.layers.Dense(2, use_bias=False))
    layer.build((None, 2))
    layer.layer.kernel.assign(np.array([[0.0, 3.0], [0.0, 4.0]], "float32"))
    layer.g.assign(np.array([2.0, 10.0], "float32"))
    np.testing.assert_array_equal(np.asarray(layer.normalized_kernel()), [[0.0, 6.0], [0.0, 8.0]])
    variable = tf.Variable(np.ones((1, 2), "float32"))
    with tf.GradientTape() as tape:
        output = layer(variable)
    np.testing.assert_allclose(np.asarray(output), [[0.0, 14.0]], atol=1e-5)
    assert np.all(np.isfinite(tape.gradient(output, [layer.g, layer.layer.kernel])[1].numpy()))
