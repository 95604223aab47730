"""The tensorflow-addons replacements (notebook 13) and genai_tf.layers.WeightNormalization.

Each Keras 3 replacement is checked against its formula, worked out by hand or
written in NumPy, including the arguments whose meaning changed on the way
from tensorflow-addons (AdamW's weight_decay, gelu's approximate, the focal
loss's alpha and reduction).
"""

import io
import math
import tomllib
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import genai_tf
from genai_tf.layers import WeightNormalization

ROOT = Path(__file__).resolve().parent.parent


def _rng(seed=0):
    return np.random.default_rng(seed)


# --- spectral normalisation ------------------------------------------------------------------


def test_spectral_normalization_step_is_numpy_power_iteration_and_converges_to_unit_norm():
    rng = _rng()
    dense = keras.layers.Dense(12)
    wrapped = keras.layers.SpectralNormalization(dense, power_iterations=1)
    x = rng.standard_normal((4, 20)).astype("float32")
    wrapped(x)
    # A kernel with singular values 3, 1.5, 1, ...: a gap of 2 makes 40 power iterations converge from any
    # start. (Keras's random kernel depends on the global random state, so on the test order; with 2 of 30
    # global seeds its gap was too small for 40 iterations to reach 1e-3.)
    left, _ = np.linalg.qr(rng.standard_normal((20, 12)))
    right, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    singular_values = np.concatenate([[3.0, 1.5], np.linspace(1.0, 0.1, 10)])
    dense.kernel.assign((left * singular_values) @ right.T)
    kernel, u = dense.kernel.numpy().astype(np.float64), wrapped.vector_u.numpy().astype(np.float64)
    v = u @ kernel.T
    v /= np.linalg.norm(v)
    u = v @ kernel
    u /= np.linalg.norm(u)
    sigma = (v @ kernel @ u.T).item()
    wrapped(x, training=True)
    np.testing.assert_allclose(dense.kernel.numpy(), kernel / sigma, atol=1e-5)
    for _ in range(40):
        wrapped(x, training=True)
    assert np.linalg.svd(dense.kernel.numpy(), compute_uv=False)[0] == pytest.approx(1.0, abs=1e-3)


def test_spectral_normalization_leaves_the_kernel_alone_in_inference_calls():
    dense = keras.layers.Dense(3)
    wrapped = keras.layers.SpectralNormalization(dense)
    x = np.ones((2, 5), "float32")
    wrapped(x)
    before = dense.kernel.numpy().copy()
    wrapped(x, training=False)
    np.testing.assert_array_equal(dense.kernel.numpy(), before)


# --- instance and group normalisation ----------------------------------------------------------


def test_instance_normalization_by_hand():
    # One example, two positions, two channels: channel 0 holds (1, 3), channel 1 holds (10, 10).
    x = np.array([[[[1.0, 10.0]], [[3.0, 10.0]]]], "float32")          # shape (1, 2, 1, 2)
    layer = keras.layers.GroupNormalization(groups=-1)
    y = layer(x).numpy()
    expected_channel_0 = np.array([-1.0, 1.0]) / math.sqrt(1.0 + 1e-3)   # mean 2, variance 1, epsilon 1e-3
    np.testing.assert_allclose(y[0, :, 0, 0], expected_channel_0, atol=1e-6)
    np.testing.assert_allclose(y[0, :, 0, 1], [0.0, 0.0], atol=1e-6)      # constant channel -> 0
    assert layer.groups == 2


@pytest.mark.parametrize("groups", [-1, 1, 2, 4])
def test_group_normalization_matches_numpy_with_scale_and_shift(groups):
    rng = _rng(groups + 10)
    x = (2.0 * rng.standard_normal((3, 5, 4, 8)) + 1.0).astype("float32")
    gamma, beta = rng.uniform(0.5, 2.0, 8), rng.standard_normal(8)
    layer = keras.layers.GroupNormalization(groups=groups)
    layer.build(x.shape)
    layer.set_weights([gamma.astype("float32"), beta.astype("float32")])
    n_groups = 8 if groups == -1 else groups
    grouped = x.astype(np.float64).reshape(3, 5, 4, n_groups, 8 // n_groups)
    mean = grouped.mean(axis=(1, 2, 4), keepdims=True)
    variance = grouped.var(axis=(1, 2, 4), keepdims=True)
    expected = gamma * ((grouped - mean) / np.sqrt(variance + 1e-3)).reshape(x.shape) + beta
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=1e-4)


# --- AdamW ----------------------------------------------------------------------------------------


def test_adamw_weight_decay_is_multiplied_by_the_learning_rate():
    # A zero gradient makes Adam's step 0, leaving the decay alone: w <- w (1 - lr * wd).
    variable = keras.Variable(np.array([2.0], "float32"))
    keras.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5).apply_gradients([(tf.zeros(1), variable)])
    assert float(variable.numpy()[0]) == pytest.approx(2.0 * (1 - 0.1 * 0.5), abs=1e-6)   # 1.9, not tfa's 1.0


def test_adamw_first_step_by_hand():
    # Step 1: m = 0.1 g, v = 0.001 g^2, bias correction makes the Adam step lr * sign(g) (up to epsilon).
    variable = keras.Variable(np.array([2.0, -1.0], "float32"))
    optimizer = keras.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    optimizer.apply_gradients([(tf.constant([3.0, -0.5]), variable)])
    np.testing.assert_allclose(variable.numpy(), [2.0 * 0.95 - 0.1, -1.0 * 0.95 + 0.1], atol=1e-5)


def _numpy_adamw(w, gradients, learning_rate, decay_factor, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """AdamW with an absolute per-step decay factor (tfa's weight_decay; Keras's lr * weight_decay)."""
    w, m, v = w.astype(np.float64).copy(), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(gradients, start=1):
        w -= decay_factor * w
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        w -= learning_rate * math.sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (np.sqrt(v) + epsilon)
    return w


def test_adamw_matches_numpy_over_several_steps_and_the_tfa_conversion():
    rng = _rng(1)
    initial = rng.standard_normal((3, 4))
    gradients = [rng.standard_normal((3, 4)) for _ in range(4)]
    learning_rate, weight_decay = 0.05, 0.2
    variable = keras.Variable(initial.astype("float32"))
    optimizer = keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay)
    for g in gradients:
        optimizer.apply_gradients([(tf.constant(g, tf.float32), variable)])
    # tfa.optimizers.AdamW(weight_decay=lr * wd) is the same optimizer as keras AdamW(weight_decay=wd).
    expected = _numpy_adamw(initial, gradients, learning_rate, learning_rate * weight_decay)
    np.testing.assert_allclose(variable.numpy(), expected, atol=1e-5)
    unconverted = _numpy_adamw(initial, gradients, learning_rate, weight_decay)
    assert np.max(np.abs(unconverted - variable.numpy())) > 0.1


def test_adamw_default_weight_decay():
    assert keras.optimizers.AdamW().weight_decay == pytest.approx(0.004)


# --- GELU ---------------------------------------------------------------------------------------------


def test_gelu_default_is_exact_and_approximate_is_the_tanh_form():
    x = np.array([-3.0, -1.0, 0.0, 1.0, 3.0])
    exact = np.array([0.5 * t * (1 + math.erf(t / math.sqrt(2))) for t in x])
    tanh_form = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    assert exact[3] == pytest.approx(0.8413447, abs=1e-7)                  # Phi(1)
    np.testing.assert_allclose(keras.activations.gelu(x.astype("float32")).numpy(), exact, atol=1e-6)
    approximate = keras.activations.gelu(x.astype("float32"), approximate=True).numpy()
    np.testing.assert_allclose(approximate, tanh_form, atol=1e-6)
    assert abs(exact[1] - tanh_form[1]) > 1e-4                               # tfa's default is not Keras's


# --- focal loss -----------------------------------------------------------------------------------------


def test_binary_focal_crossentropy_by_hand():
    y_true = np.array([[1.0], [0.0]], "float32")
    y_pred = np.array([[0.9], [0.9]], "float32")
    balanced = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0, reduction=None)
    plain = keras.losses.BinaryFocalCrossentropy(alpha=0.25, gamma=2.0, reduction=None)
    # y = 1: p_t = 0.9, alpha_t = 0.25, (1 - p_t)^2 = 0.01. y = 0: p_t = 0.1, alpha_t = 0.75, (1 - p_t)^2 = 0.81.
    expected_balanced = [0.25 * 0.01 * -math.log(0.9), 0.75 * 0.81 * -math.log(0.1)]
    expected_plain = [0.01 * -math.log(0.9), 0.81 * -math.log(0.1)]
    np.testing.assert_allclose(balanced(y_true, y_pred).numpy(), expected_balanced, rtol=1e-5)
    np.testing.assert_allclose(plain(y_true, y_pred).numpy(), expected_plain, rtol=1e-5)   # no alpha without balancing


def test_binary_focal_crossentropy_times_labels_is_the_tfa_sum():
    rng = _rng(2)
    y = rng.integers(0, 2, (8, 5)).astype("float32")
    logits = (2 * rng.standard_normal((8, 5))).astype("float32")
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    p_t = np.where(y == 1, p, 1 - p)
    alpha_t = np.where(y == 1, 0.25, 0.75)
    tfa_loss = (-alpha_t * (1 - p_t) ** 2 * np.log(p_t)).sum(axis=-1)       # tfa summed over the labels
    loss = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, from_logits=True, reduction=None)
    np.testing.assert_allclose(5 * loss(y, logits).numpy(), tfa_loss, rtol=1e-4, atol=1e-6)


# --- rotation and projective transforms ------------------------------------------------------------------


def _tfa_rotation_vector(angle, height, width):
    cos, sin = math.cos(angle), math.sin(angle)
    x_offset = ((width - 1) - (cos * (width - 1) - sin * (height - 1))) / 2
    y_offset = ((height - 1) - (sin * (width - 1) + cos * (height - 1))) / 2
    return np.array([cos, -sin, x_offset, sin, cos, y_offset, 0.0, 0.0], "float32")


@pytest.mark.parametrize("size", [4, 5])
@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_affine_transform_with_the_tfa_rotation_vector_is_rot90(size, quarter_turns):
    image = np.arange(size * size, dtype="float32").reshape(size, size)
    vector = _tfa_rotation_vector(quarter_turns * math.pi / 2, size, size)
    rotated = keras.ops.image.affine_transform(image[None, :, :, None], vector, interpolation="nearest")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(rotated)[0, :, :, 0], np.rot90(image, quarter_turns))


def test_affine_transform_maps_output_to_input_coordinates():
    image = np.arange(16, dtype="float32").reshape(4, 4)
    # Output pixel (x, y) reads input (x - 1, y): the content moves one column to the right.
    shifted = keras.ops.image.affine_transform(image[None, :, :, None], np.array([1, 0, -1, 0, 1, 0, 0, 0], "float32"),
                                               interpolation="nearest", fill_mode="constant")
    expected = np.concatenate([np.zeros((4, 1), "float32"), image[:, :3]], axis=1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(shifted)[0, :, :, 0], expected)


@pytest.mark.parametrize("factor, turns", [(0.25, 1), (-0.25, -1), (0.5, 2)])
def test_random_rotation_factor_is_a_fraction_of_a_turn_counter_clockwise(factor, turns):
    image = np.arange(25, dtype="float32").reshape(5, 5)
    layer = keras.layers.RandomRotation((factor, factor), fill_mode="constant", interpolation="nearest", seed=0)
    rotated = keras.ops.convert_to_numpy(layer(image[None, :, :, None], training=True))[0, :, :, 0]
    np.testing.assert_array_equal(rotated, np.rot90(image, turns))


# --- F1 score ---------------------------------------------------------------------------------------------------


def test_f1_score_by_hand():
    y_true = np.eye(2)[[0, 0, 1, 1]]
    y_pred = np.eye(2)[[0, 1, 1, 1]] * 0.8 + 0.1                            # argmax: 0, 1, 1, 1
    # Class 0: TP 1, FP 0, FN 1 -> P 1, R 1/2, F1 2/3. Class 1: TP 2, FP 1, FN 0 -> P 2/3, R 1, F1 4/5.
    per_class = keras.metrics.F1Score()
    per_class.update_state(y_true, y_pred)
    np.testing.assert_allclose(per_class.result().numpy(), [2 / 3, 4 / 5], atol=1e-5)
    macro = keras.metrics.F1Score(average="macro")
    macro.update_state(y_true, y_pred)
    assert float(macro.result()) == pytest.approx((2 / 3 + 4 / 5) / 2, abs=1e-5)
    micro = keras.metrics.F1Score(average="micro")
    micro.update_state(y_true, y_pred)
    assert float(micro.result()) == pytest.approx(0.75, abs=1e-5)           # TP 3, FP 1, FN 1


def test_f1_score_threshold_is_multi_label_and_must_be_a_float():
    metric = keras.metrics.F1Score(threshold=0.5)
    metric.update_state(np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([[0.9, 0.6], [0.2, 0.4]]))
    # Class 0: TP 1 -> F1 1. Class 1: TP 1, FN 1 -> P 1, R 1/2, F1 2/3.
    np.testing.assert_allclose(metric.result().numpy(), [1.0, 2 / 3], atol=1e-5)
    with pytest.raises(ValueError, match="threshold"):
        keras.metrics.F1Score(threshold=1)


# --- tqdm progress bar ------------------------------------------------------------------------------------------


def test_tqdm_is_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(requirement.startswith("tqdm") for requirement in project["dependencies"])


def test_tqdm_callback_does_not_change_the_history():
    from tqdm import tqdm
    from tqdm.keras import TqdmCallback

    rng = _rng(3)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = (x @ rng.standard_normal((4, 1))).astype("float32")

    def fit(callbacks):
        genai_tf.set_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
        return model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=callbacks).history["loss"]

    bar_text = io.StringIO()
    progress = TqdmCallback(epochs=2, verbose=0, tqdm_class=tqdm, file=bar_text)
    assert fit([progress]) == fit([])
    assert progress.epoch_bar.n == 2 and "2/2" in bar_text.getvalue()


# --- WeightNormalization --------------------------------------------------------------------------------------


def test_weight_normalization_by_hand():
    layer = WeightNormalization(keras.layers.Dense(1, use_bias=False))
    layer.build((None, 2))
    layer.layer.kernel.assign(np.array([[3.0], [4.0]], "float32"))      # ||v|| = 5
    layer.g.assign(np.array([10.0], "float32"))                          # w = 10 * (3, 4) / 5 = (6, 8)
    np.testing.assert_allclose(layer.normalized_kernel().numpy(), [[6.0], [8.0]], atol=1e-6)
    assert float(layer(np.array([[1.0, 1.0]], "float32"))[0, 0]) == pytest.approx(14.0, abs=1e-5)


def test_weight_normalization_starts_as_the_bare_layer_and_matches_numpy():
    rng = _rng(4)
    x = rng.standard_normal((5, 6)).astype("float32")
    layer = WeightNormalization(keras.layers.Dense(3, activation="tanh"))
    np.testing.assert_allclose(layer(x).numpy(), layer.layer(x).numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.g.numpy(), np.linalg.norm(layer.layer.kernel.numpy(), axis=0), rtol=1e-6)
    layer.g.assign(rng.uniform(0.5, 2.0, 3).astype("float32"))
    v, b, g = layer.layer.kernel.numpy(), layer.layer.bias.numpy(), layer.g.numpy()
    np.testing.assert_allclose(layer(x).numpy(), np.tanh(x @ (g * v / np.linalg.norm(v, axis=0)) + b), atol=1e-5)


def test_weight_normalization_gradients_reach_g_and_v():
    rng = _rng(5)
    x = rng.standard_normal((8, 4)).astype("float32")
    target = rng.standard_normal((8, 2)).astype("float32")
    layer = WeightNormalization(keras.layers.Dense(2))
    layer(x)
    layer.g.assign(np.array([0.7, 1.9], "float32"))
    v, b = layer.layer.kernel.numpy().astype(np.float64), layer.layer.bias.numpy()
    g = layer.g.numpy().astype(np.float64)
    norms = np.linalg.norm(v, axis=0)
    w = g * v / norms
    with tf.GradientTape() as tape:
        loss = 0.5 * tf.reduce_sum((layer(x) - target) ** 2)
    grad_g, grad_v = tape.gradient(loss, [layer.g, layer.layer.kernel])
    grad_w = x.T.astype(np.float64) @ (x @ w + b - target)
    projection = (grad_w * v).sum(axis=0)
    np.testing.assert_allclose(grad_g.numpy(), projection / norms, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(grad_v.numpy(), g / norms * (grad_w - projection / norms**2 * v), rtol=1e-4, atol=1e-5)
    assert {weight.name for weight in layer.trainable_weights} == {"g", "kernel", "bias"}


@pytest.mark.parametrize("make_layer, unit_axis", [
    (lambda: keras.layers.Conv2D(4, 3, padding="same"), -1),
    (lambda: keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same"), -2),
])
def test_weight_normalization_of_convolutions(make_layer, unit_axis):
    rng = _rng(6)
    images = rng.standard_normal((2, 5, 5, 3)).astype("float32")
    layer = WeightNormalization(make_layer())
    np.testing.assert_allclose(layer(images).numpy(), layer.layer(images).numpy(), atol=1e-5)
    assert layer.g.shape == (4,)
    layer.g.assign(np.array([0.5, 1.0, 2.0, 3.0], "float32"))
    kernel = np.moveaxis(layer.normalized_kernel().numpy(), unit_axis, -1).reshape(-1, 4)
    np.testing.assert_allclose(np.linalg.norm(kernel, axis=0), [0.5, 1.0, 2.0, 3.0], rtol=1e-5)


def test_weight_normalization_saves_and_loads(tmp_path):
    rng = _rng(7)
    x = rng.standard_normal((16, 5)).astype("float32")
    y = rng.standard_normal((16, 2)).astype("float32")
    genai_tf.set_seed(0)
    model = keras.Sequential([
        keras.Input((5,)),
        WeightNormalization(keras.layers.Dense(8, activation="relu")),
        WeightNormalization(keras.layers.Dense(2)),
    ])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)                     # g moves away from ||v||
    path = tmp_path / "weight_norm.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.layers[0], WeightNormalization)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_array_equal(loaded.layers[1].g.numpy(), model.layers[1].g.numpy())


def test_weight_normalization_config_round_trip():
    layer = WeightNormalization(keras.layers.Dense(3, activation="relu"), name="wn")
    clone = WeightNormalization.from_config(layer.get_config())
    assert clone.name == "wn" and clone.layer.units == 3 and clone.layer.activation is keras.activations.relu


@pytest.mark.parametrize("make_layer", [
    lambda: keras.layers.Dropout(0.5),
    lambda: keras.layers.Embedding(10, 4),
    lambda: keras.layers.LayerNormalization(),
])
def test_weight_normalization_rejects_layers_without_a_kernel(make_layer):
    with pytest.raises(ValueError, match="no kernel"):
        WeightNormalization(make_layer())(np.ones((2, 3), "float32"))


def test_weight_normalization_rejects_non_layers():
    with pytest.raises(ValueError, match="Received: layer="):
        WeightNormalization("dense")
