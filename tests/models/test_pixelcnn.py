"""genai_tf.models.pixelcnn: masks, causality, exact log-likelihoods, sampling and completion, save/load, bad input."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf.models.pixelcnn import MaskedConv2D, PixelCNN, build_pixelcnn_network, causal_mask

RNG = np.random.default_rng(0)
BINARY = (RNG.random((8, 28, 28, 1)) < 0.3).astype("float32")
SMALL_SHAPE = (10, 10, 1)
SMALL = (RNG.random((6, *SMALL_SHAPE)) < 0.5).astype("float32")
LOG_2 = math.log(2.0)


def _tiny(image_shape=(28, 28, 1), seed=3, **kwargs):
    """A small untrained model: 8 filters, 2 residual blocks, the 7x7 mask-A first layer."""
    return PixelCNN(image_shape=image_shape, filters=8, residual_blocks=2, seed=seed, **kwargs)


def _set_output(model, kernel=0.0, bias=0.0):
    """Give the last 1x1 convolution a constant kernel and bias (kernel 0: every logit equals the bias)."""
    layer = model.network.get_layer("logits")
    layer.kernel.assign(np.full(layer.kernel.shape, kernel, np.float32))
    layer.bias.assign(np.full(layer.bias.shape, bias, np.float32))


@pytest.fixture(scope="module")
def small_model():
    return _tiny(SMALL_SHAPE)


# --- the masks ------------------------------------------------------------------------------------


def test_masks_by_hand_on_a_3x3_kernel():
    np.testing.assert_array_equal(causal_mask(3, "A")[:, :, 0, 0], [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(causal_mask(3, "B")[:, :, 0, 0], [[1, 1, 1], [1, 1, 0], [0, 0, 0]])
    mask = causal_mask(3, "A", in_channels=2, out_channels=4)
    assert mask.shape == (3, 3, 2, 4) and mask.dtype == np.float32
    assert np.all(mask == causal_mask(3, "A")[:, :, :1, :1])      # one spatial mask for every channel pair
    np.testing.assert_array_equal(causal_mask((3, 5), "B")[:, :, 0, 0],
                                  [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0]])
    assert causal_mask(1, "A").item() == 0.0 and causal_mask(1, "B").item() == 1.0
    # A 7x7 mask A keeps the 3 rows above the centre and the 3 pixels left of it: 24 of 49 taps.
    assert causal_mask(7, "A").sum() == 24 and causal_mask(3, "B").sum() == 5


@pytest.mark.parametrize("kernel_size", [4, 0, -3, True, 2.0, (3, 4), (3, 3, 3)])
def test_even_or_non_integer_kernel_sizes_are_rejected(kernel_size):
    with pytest.raises(ValueError, match=r"kernel_size must be a positive odd integer.*Received: kernel_size="):
        causal_mask(kernel_size, "A")


def test_an_unknown_mask_type_is_rejected_naming_a_and_b():
    with pytest.raises(ValueError, match=r"mask_type must be one of 'A', 'B'. Received: mask_type='C'"):
        causal_mask(3, "C")
    with pytest.raises(ValueError, match="mask_type"):
        MaskedConv2D(4, 3, mask_type="a")


def test_masked_conv_equals_a_hand_convolution_and_ignores_the_masked_taps():
    layer = MaskedConv2D(1, 3, mask_type="B", name="conv")
    image = RNG.normal(size=(1, 5, 5, 1)).astype("float32")
    layer.build(image.shape)
    kernel = np.arange(1.0, 10.0, dtype=np.float32).reshape(3, 3, 1, 1)
    layer.kernel.assign(kernel)
    layer.bias.assign([0.5])
    # By hand: zero padding, cross-correlation with the masked kernel, plus the bias.
    padded = np.pad(image[0, :, :, 0], 1)
    masked = kernel[:, :, 0, 0] * causal_mask(3, "B")[:, :, 0, 0]
    expected = np.array([[np.sum(padded[r : r + 3, c : c + 3] * masked) + 0.5 for c in range(5)] for r in range(5)])
    np.testing.assert_allclose(layer(image).numpy()[0, :, :, 0], expected, atol=1e-5)
    # The taps under the mask's zeros (weights 6, 7, 8, 9) do not reach the output.
    layer.kernel.assign(np.where(causal_mask(3, "B") > 0, kernel, 100.0))
    np.testing.assert_allclose(layer(image).numpy()[0, :, :, 0], expected, atol=1e-5)
    config = MaskedConv2D.from_config(layer.get_config()).get_config()
    assert config == layer.get_config()
    assert (config["filters"], config["kernel_size"], config["mask_type"], config["activation"]) == (1, [3, 3], "B", "linear")


# --- the causal property --------------------------------------------------------------------------


def test_each_logit_depends_only_on_earlier_pixels():
    model = _tiny()
    image = BINARY[:1]
    logits = model(image).numpy().reshape(-1)
    rows = model.context_rows
    assert rows == 3 + 2
    for j in (0, 1, 27, 28, 405, 700, 782, 783):
        flipped = image.copy().reshape(-1)
        flipped[j] = 1.0 - flipped[j]
        changed = np.abs(model(flipped.reshape(image.shape)).numpy().reshape(-1) - logits)
        assert changed[: j + 1].max() <= 1e-6, f"pixel {j} changed the logit of an earlier pixel or its own"
        if j < 783:
            assert changed[j + 1 :].max() > 1e-4, f"pixel {j} changed no later logit"
        # Nor does it reach further down than context_rows rows (what the sampler's window relies on).
        assert changed[(j // 28 + rows + 1) * 28 :].max(initial=0.0) <= 1e-6
    # The first pixel's logit is the same whatever the image.
    images = np.concatenate([BINARY, np.zeros_like(BINARY[:1]), np.ones_like(BINARY[:1])])
    first = model(images).numpy()[:, 0, 0, 0]
    assert np.abs(first - first[0]).max() <= 1e-6


def test_the_sampler_window_gives_the_full_image_logits():
    model = _tiny()
    logits = model(BINARY).numpy()
    for row, column in [(0, 0), (2, 9), (5, 27), (6, 0), (14, 14), (27, 27)]:
        window = model.pixel_logit(tf.constant(BINARY), tf.constant(row), tf.constant(column)).numpy()
        np.testing.assert_allclose(window, logits[:, row, column, 0], atol=1e-6)


# --- exact log-likelihoods -----------------------------------------------------------------------


def test_a_uniform_pixelcnn_gives_784_log_2_nats_per_image():
    model = _tiny()
    _set_output(model, kernel=0.0, bias=0.0)
    images = np.concatenate([BINARY, np.zeros_like(BINARY[:1]), np.ones_like(BINARY[:1])])
    np.testing.assert_allclose(model.log_prob(images), -784 * LOG_2, atol=1e-4)
    model.compile()
    logs = model.train_on_batch(BINARY, return_dict=True)
    assert logs["loss"] == pytest.approx(784 * LOG_2, rel=1e-6)
    assert logs["bits_per_dim"] == pytest.approx(1.0, rel=1e-6)


def test_log_prob_is_the_hand_sum_of_bernoulli_log_likelihoods():
    model = _tiny()
    logits = model(BINARY).numpy().astype(np.float64).reshape(8, -1)
    pixels = BINARY.reshape(8, -1).astype(np.float64)
    expected = np.sum(pixels * logits - np.logaddexp(0.0, logits), axis=1)
    log_prob = model.log_prob(BINARY, batch_size=3)
    assert log_prob.shape == (8,) and log_prob.dtype == np.float64
    np.testing.assert_allclose(log_prob, expected, rtol=1e-9, atol=1e-9)
    assert np.all(log_prob < 0)
    assert abs(log_prob.mean() + 784 * LOG_2) > 1.0   # not the uniform model's value: the test can fail


# --- training ---------------------------------------------------------------------------------------


def test_one_train_step_returns_finite_values_and_the_loss_drops_on_a_fixed_batch():
    model = _tiny()
    model.compile(keras.optimizers.Adam(3e-3))
    before = model.evaluate(BINARY, batch_size=8, verbose=0, return_dict=True)
    # evaluate() is the test step: the mean of -log p(x) over the batch.
    assert before["loss"] == pytest.approx(-model.log_prob(BINARY).mean(), rel=1e-5)
    weights = [w.copy() for w in model.get_weights()]
    history = model.fit(BINARY, batch_size=8, epochs=3, verbose=0, shuffle=False).history
    assert set(history) == {"loss", "bits_per_dim"}
    assert all(np.isfinite(v) for values in history.values() for v in values)
    assert history["loss"][0] == pytest.approx(before["loss"], rel=1e-5)   # the first step's loss is before its update
    for loss, bits in zip(history["loss"], history["bits_per_dim"]):
        assert bits == pytest.approx(loss / (784 * LOG_2), rel=1e-5)
    assert history["loss"][2] < history["loss"][1] < history["loss"][0]
    assert int(model.optimizer.iterations) == 3
    assert any(not np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))


# --- sampling --------------------------------------------------------------------------------------


def test_samples_are_binary_seeded_and_follow_the_sampling_rule(small_model):
    samples = small_model.sample(5, seed=1, batch_size=2)
    assert samples.shape == (5, *SMALL_SHAPE) and samples.dtype == np.float32
    assert set(np.unique(samples)) <= {0.0, 1.0} and 0.0 < samples.mean() < 1.0
    np.testing.assert_array_equal(samples, small_model.sample(5, seed=1, batch_size=5))   # batch_size changes nothing
    other = small_model.sample(5, seed=2)
    assert np.abs(samples - other).reshape(5, -1).max(axis=1).min() == 1.0   # every image differs
    # Each pixel is 1 exactly when u_i < sigmoid(l_i(x_<i) / T), with l_i from the full image (causality).
    for temperature, sampled in ((1.0, samples), (0.5, small_model.sample(5, seed=1, temperature=0.5))):
        u = np.random.default_rng(1).random((5, *SMALL_SHAPE), dtype=np.float32)
        p = 1.0 / (1.0 + np.exp(-small_model(sampled).numpy().astype(np.float64) / temperature))
        disagree = sampled != (u < p)
        assert np.all(np.abs(u - p)[disagree] < 1e-5), f"{disagree.sum()} pixels break the sampling rule"
    assert not np.array_equal(samples, small_model.sample(5, seed=1, temperature=0.5))


def test_seed_none_draws_from_the_model_generator(small_model):
    state = small_model.seed_generator.state.numpy().copy()
    first, second = small_model.sample(2, seed=None), small_model.sample(2, seed=None)
    assert not np.array_equal(first, second)
    assert not np.array_equal(small_model.seed_generator.state.numpy(), state)


@pytest.mark.parametrize("temperature", [0.0, -1.0, math.nan])
def test_a_temperature_that_is_not_positive_is_rejected(small_model, temperature):
    with pytest.raises(ValueError, match="temperature must be in"):
        small_model.sample(2, temperature=temperature)
    with pytest.raises(ValueError, match="temperature must be in"):
        small_model.complete(SMALL[:1], 3, temperature=temperature)


def test_sample_rejects_bad_counts_and_seeds(small_model):
    with pytest.raises(ValueError, match="n must be a positive integer. Received: n=0"):
        small_model.sample(0)
    with pytest.raises(ValueError, match="seed must be an integer"):
        small_model.sample(1, seed=-1)


def test_sampling_the_notebook_scale_image_size():
    samples = PixelCNN(filters=4, residual_blocks=1).sample(2, seed=0)
    assert samples.shape == (2, 28, 28, 1) and set(np.unique(samples)) == {0.0, 1.0}


# --- completion ----------------------------------------------------------------------------------


def test_complete_keeps_the_known_rows_and_samples_the_rest_from_the_conditional(small_model):
    completed = small_model.complete(SMALL, 4, seed=5)
    np.testing.assert_array_equal(completed[:, :4], SMALL[:, :4])
    assert set(np.unique(completed)) <= {0.0, 1.0}
    assert not np.array_equal(completed[:, 4:], SMALL[:, 4:])
    # The unknown rows' input values are never read.
    scrambled = SMALL.copy()
    scrambled[:, 4:] = 1.0 - scrambled[:, 4:]
    np.testing.assert_array_equal(small_model.complete(scrambled, 4, seed=5), completed)
    # The same noise as sample(): with nothing known, completing is sampling.
    np.testing.assert_array_equal(small_model.complete(SMALL, 0, seed=5), small_model.sample(len(SMALL), seed=5))
    np.testing.assert_array_equal(small_model.complete(SMALL, SMALL_SHAPE[0], seed=5), SMALL)


def test_a_model_sure_of_ones_or_zeros_fills_the_unknown_rows_with_them():
    model = _tiny(SMALL_SHAPE)
    for bias, value in ((50.0, 1.0), (-50.0, 0.0)):
        _set_output(model, kernel=0.0, bias=bias)
        completed = model.complete(SMALL, 3, seed=0)
        np.testing.assert_array_equal(completed[:, :3], SMALL[:, :3])
        assert np.all(completed[:, 3:] == value)


@pytest.mark.parametrize("known_rows", [-1, 11, 2.5, True, None])
def test_bad_known_rows_are_rejected(small_model, known_rows):
    with pytest.raises(ValueError, match=r"known_rows must be an integer in \[0, 10\]. Received: known_rows="):
        small_model.complete(SMALL, known_rows)


# --- the model as built and saved ---------------------------------------------------------------------


def test_the_notebook_scale_model_size_and_flops_by_hand():
    model = PixelCNN()
    # Parameters: mask-A 7x7 1->32, 5 blocks of (1x1 32->16, 3x3 16->16, 1x1 16->32), 1x1 32->32, 1x1 32->1.
    assert model.count_params() == (49 * 32 + 32) + 5 * ((32 * 16 + 16) + (9 * 16 * 16 + 16) + (16 * 32 + 32)) \
        + (32 * 32 + 32) + (32 + 1) == 19_649
    assert model.forward_flops() == 2 * 784 * (49 * 32 + 5 * (32 * 16 + 9 * 16 * 16 + 16 * 32) + 32 * 32 + 32) \
        == 30_205_952
    assert model(BINARY[:2]).shape == (2, 28, 28, 1)
    # The seed fixes the initial weights.
    same, other = PixelCNN(seed=0), PixelCNN(seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), same.get_weights()))
    assert not np.array_equal(model.get_weights()[0], other.get_weights()[0])


def test_save_and_load_round_trip(tmp_path):
    model = _tiny(SMALL_SHAPE, seed=4)
    model.compile()
    model.fit(SMALL, batch_size=3, epochs=1, verbose=0, shuffle=False)
    model.sample(1, seed=None)                   # moves the seed generator away from its initial state
    path = tmp_path / "pixelcnn.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is PixelCNN and loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded(SMALL).numpy(), model(SMALL).numpy())
    np.testing.assert_array_equal(loaded.log_prob(SMALL), model.log_prob(SMALL))
    np.testing.assert_array_equal(loaded.seed_generator.state.numpy(), model.seed_generator.state.numpy())
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 2
    # Training resumes where it stopped: the optimizer's moments came back, so the next steps agree.
    model.fit(SMALL, batch_size=3, epochs=1, verbose=0, shuffle=False)
    loaded.fit(SMALL, batch_size=3, epochs=1, verbose=0, shuffle=False)
    assert int(loaded.optimizer.iterations) == 4
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_the_network_builder_takes_any_image_size():
    network = build_pixelcnn_network(filters=4, residual_blocks=0, kernel_size=3)
    assert network(np.zeros((2, 5, 7, 1), "float32")).shape == (2, 5, 7, 1)
    assert network.layers[-1].name == "logits"


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(image_shape=(28, 28, 3)), r"\(height, width, 1\).*Received: image_shape=\(28, 28, 3\)"),
        (dict(image_shape=(28, 28)), "image_shape"),
        (dict(kernel_size=4), "kernel_size must be a positive odd integer"),
        (dict(kernel_size=1), "kernel_size must be an integer >= 3"),
        (dict(filters=1), "filters must be an integer >= 2"),
        (dict(residual_blocks=-1), "residual_blocks must be a non-negative integer"),
        (dict(seed=-1), "seed must be an integer"),
    ],
)
def test_bad_constructor_arguments_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PixelCNN(**kwargs)


BINARY_ERROR = r"PixelCNN models binary pixels: every value must be 0 or 1"


def test_wrong_shapes_are_rejected(small_model):
    for images in (SMALL[..., 0], np.zeros((2, 28, 28, 1), "float32")):
        for method in (small_model, small_model.log_prob, lambda x: small_model.complete(x, 2)):
            with pytest.raises(ValueError, match=r"PixelCNN expects images of shape \(batch_size, 10, 10, 1\). "
                                                 r"Received: images.shape="):
                method(images)


def test_non_binary_values_are_rejected_with_the_fix_named(small_model):
    grey = SMALL.copy()
    grey[0, 0, 0, 0] = 0.5
    signed = 2 * SMALL - 1
    with_nan = SMALL.copy()
    with_nan[1, 2, 3, 0] = np.nan
    cases = [
        (grey, r"Received: 1 of 600 values not in \{0, 1\}, values in \[0, 1\]$"),
        (signed, r"\(images \+ 1\) / 2 first\). Received: \d+ of 600 values not in \{0, 1\}, values in \[-1, 1\]$"),
        (with_nan, r"Received: 1 of 600 values not in \{0, 1\} \(1 not finite\), values in \[0, 1\]$"),
    ]
    for images, match in cases:
        for method in (small_model, small_model.log_prob, lambda x: small_model.complete(x, 2),
                       lambda x: small_model.evaluate(x, verbose=0)):
            with pytest.raises(ValueError, match=BINARY_ERROR + ".*" + match):
                method(images)


def test_a_dataset_of_non_binary_images_stops_fit_before_any_update():
    model = _tiny(SMALL_SHAPE)
    model.compile()
    weights = [w.copy() for w in model.get_weights()]
    dataset = tf.data.Dataset.from_tensor_slices(2 * SMALL - 1).batch(3)
    with pytest.raises(ValueError, match=BINARY_ERROR + r".*Received: a batch with \d+ values not in \{0, 1\}, "
                                                        r"values in \[-1, 1\]$"):
        model.fit(dataset, epochs=1, verbose=0, shuffle=False)
    assert int(model.optimizer.iterations) == 0
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    with pytest.raises(ValueError, match=BINARY_ERROR):
        model.fit(2 * SMALL - 1, batch_size=3, verbose=0)
