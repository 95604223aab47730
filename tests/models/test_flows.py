"""genai_tf.models.flows: log-determinants against autodiff Jacobians, invertibility, densities that integrate to 1,
bits/dim by hand, training, sampling, save/load and bad input."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf.models.flows import (
    AffineCoupling,
    RealNVP,
    build_image_flow,
    coupling_mask,
    dequantized_bits_per_dim,
    inverse_logit_transform,
    logit_transform,
    standard_normal_log_prob,
)

RNG = np.random.default_rng(0)
IMAGES_4x4 = RNG.integers(0, 256, (16, 4, 4, 1)).astype("float32")
IMAGES_4x4[0, 0, 0, 0], IMAGES_4x4[1, 0, 0, 0] = 0.0, 255.0   # both ends of the 8-bit range


def randomize(layers, seed, spread=0.5):
    """Random nonzero weights (so s != 0 and t != 0); the per-dimension scales in [0.5, 1]."""
    rng = np.random.default_rng(seed)
    for layer in layers:
        for weight in layer.weights:
            shape = tuple(weight.shape)
            values = rng.uniform(0.5, 1.0, shape) if weight.name == "scale" else rng.normal(0.0, spread, shape)
            weight.assign(values.astype("float32"))


def random_flow(dim, seed=1, coupling_layers=4, mask="half", spread=0.5):
    flow = RealNVP(dim, coupling_layers=coupling_layers, hidden_units=(8,), mask=mask, seed=seed)
    randomize(flow.couplings, seed, spread)
    return flow


def autodiff_log_det(function, x):
    """log|det J| per example of ``function`` at ``x`` (batch, D), from ``batch_jacobian``, in float64; and J."""
    x = tf.constant(x, "float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = function(x)
    jacobian = tape.batch_jacobian(y, x).numpy().astype(np.float64)
    sign, log_abs_det = np.linalg.slogdet(jacobian)
    assert np.all(sign != 0)
    return log_abs_det, jacobian


def test_coupling_masks_by_hand():
    np.testing.assert_array_equal(coupling_mask(4, "half", 0), [1, 1, 0, 0])
    np.testing.assert_array_equal(coupling_mask(4, "half", 1), [0, 0, 1, 1])
    np.testing.assert_array_equal(coupling_mask(5, "checkerboard", 0), [1, 0, 1, 0, 1])
    np.testing.assert_array_equal(coupling_mask(5, "checkerboard", 1), [0, 1, 0, 1, 0])


# --- log-determinants against the autodiff Jacobian ----------------------------------------------


@pytest.mark.parametrize(
    "dim, mask, parity", [(4, "half", 0), (4, "checkerboard", 1), (6, "half", 1), (6, "checkerboard", 0)]
)
def test_coupling_log_det_equals_log_abs_det_of_the_jacobian(dim, mask, parity):
    layer = AffineCoupling(dim, mask=mask, parity=parity, hidden_units=(8, 8))
    layer.build((None, dim))
    randomize([layer], seed=dim + parity)
    x = np.random.default_rng(1).normal(size=(5, dim)).astype("float32")
    _, log_det = layer.forward(x)
    expected, jacobian = autodiff_log_det(lambda v: layer.forward(v)[0], x)
    assert np.abs(log_det.numpy()).max() > 0.1   # s != 0: the check is not 0 == 0
    np.testing.assert_allclose(log_det.numpy(), expected, atol=1e-5)
    # The kept entries (m = 1) pass unchanged: their rows of J are rows of the identity.
    kept = coupling_mask(dim, mask, parity) == 1
    np.testing.assert_array_equal(jacobian[:, kept], np.broadcast_to(np.eye(dim)[kept], (5, kept.sum(), dim)))
    # And J restricted to the transformed entries is diagonal, exp(s): triangular overall.
    changed = ~kept
    block = jacobian[:, changed][:, :, changed]
    np.testing.assert_allclose(block, np.eye(changed.sum()) * np.diagonal(block, axis1=1, axis2=2)[:, None], atol=0)


@pytest.mark.parametrize("dim, mask", [(2, "half"), (4, "half"), (4, "checkerboard")])
def test_flow_log_det_equals_log_abs_det_of_the_jacobian(dim, mask):
    flow = random_flow(dim, seed=dim, mask=mask)
    x = np.random.default_rng(2).normal(size=(6, dim)).astype("float32")
    _, log_det = flow.forward(x)
    expected, _ = autodiff_log_det(lambda v: flow.forward(v)[0], x)
    assert np.abs(log_det.numpy()).max() > 0.5
    np.testing.assert_allclose(log_det.numpy(), expected, atol=1e-5)


# --- invertibility -------------------------------------------------------------------------------------


def test_coupling_and_flow_are_invertible():
    layer = AffineCoupling(6, mask="checkerboard", hidden_units=(8,))
    layer.build((None, 6))
    randomize([layer], seed=3)
    x = np.random.default_rng(3).normal(size=(10, 6)).astype("float32")
    y, log_det = layer.forward(x)
    x_back, log_det_inverse = layer.inverse(y)
    assert np.abs(y.numpy() - x).max() > 0.1   # the layer moves x
    np.testing.assert_allclose(x_back.numpy(), x, atol=1e-5)
    np.testing.assert_allclose(log_det_inverse.numpy(), -log_det.numpy(), atol=1e-6)
    for dim in (2, 4):
        flow = random_flow(dim, seed=dim)
        x = np.random.default_rng(dim).normal(size=(10, dim)).astype("float32")
        np.testing.assert_allclose(flow.inverse(flow.forward(x)[0]).numpy(), x, atol=1e-5)
        np.testing.assert_allclose(flow.forward(flow.inverse(x))[0].numpy(), x, atol=1e-5)


# --- densities --------------------------------------------------------------------------------------------


def test_a_flow_with_zero_s_and_t_has_the_standard_normal_density():
    flow = random_flow(3, seed=4, mask="checkerboard")
    for layer in flow.couplings:   # zero the last layer: s = scale * tanh(0) = 0 and t = 0
        for weight in layer.output_layer.weights:
            weight.assign(np.zeros(weight.shape, "float32"))
    x = np.random.default_rng(4).normal(size=(7, 3)).astype("float32") * 2
    np.testing.assert_array_equal(flow.forward(x)[0].numpy(), x)
    by_hand = -0.5 * (3 * math.log(2 * math.pi) + np.sum(x.astype(np.float64) ** 2, axis=1))
    np.testing.assert_allclose(flow.log_prob(x).numpy(), by_hand, rtol=1e-6)
    np.testing.assert_allclose(standard_normal_log_prob(x).numpy(), by_hand, rtol=1e-6)


def test_the_density_of_a_random_2d_flow_integrates_to_one():
    flow = random_flow(2, seed=5, coupling_layers=4)
    axis = np.linspace(-12.0, 12.0, 481, dtype=np.float32)   # spacing 0.05
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    cell = float(axis[1] - axis[0]) ** 2
    log_prob = flow.log_prob(grid).numpy().astype(np.float64)
    mass = np.exp(log_prob).sum() * cell
    assert abs(mass - 1.0) < 0.01
    # The flow is far from the identity, and without its log-determinant the "density" does not integrate to 1.
    z, log_det = flow.forward(grid)
    assert np.abs(log_det.numpy()).max() > 1.0
    assert abs(np.exp(standard_normal_log_prob(z).numpy().astype(np.float64)).sum() * cell - 1.0) > 0.1


def test_dequantized_bits_per_dim_by_hand():
    for dim in (1, 784, 3072):
        assert dequantized_bits_per_dim(0.0, dim) == 8.0   # a uniform density on [0, 1)^D
    # log p(y) = -D ln 2 (a density of 2^-D): one more bit per dimension.
    assert dequantized_bits_per_dim(-784 * math.log(2.0), 784) == pytest.approx(9.0, abs=1e-12)
    assert dequantized_bits_per_dim(-100.0, 784) == pytest.approx(8.0 + 100.0 / (784 * math.log(2.0)), abs=1e-12)
    np.testing.assert_allclose(dequantized_bits_per_dim(np.array([0.0, 2 * math.log(2.0)]), 2), [8.0, 7.0])
    with pytest.raises(ValueError, match="dim=0"):
        dequantized_bits_per_dim(0.0, 0)


def test_logit_transform_by_hand_and_against_autodiff():
    # y = 0.5 -> p = 0.5, v = 0 and log|dv/dy| = log(0.9) - 2 log(0.5) per entry.
    v, log_det = logit_transform(np.full((1, 3), 0.5, "float32"), alpha=0.05)
    np.testing.assert_allclose(v.numpy(), 0.0, atol=1e-7)
    assert float(log_det[0]) == pytest.approx(3 * (math.log(0.9) + math.log(4.0)), rel=1e-6)
    y = np.random.default_rng(6).uniform(0, 1, (5, 4)).astype("float32")
    y[0, 0], y[0, 1] = 0.0, 1.0
    v, log_det = logit_transform(y)
    expected, _ = autodiff_log_det(lambda u: logit_transform(u)[0], y)
    np.testing.assert_allclose(log_det.numpy(), expected, atol=1e-5)
    assert np.abs(v.numpy()).max() == pytest.approx(math.log(0.95 / 0.05), rel=1e-6)
    np.testing.assert_allclose(inverse_logit_transform(v).numpy(), y, atol=1e-6)


def small_image_flow(**kwargs):
    return build_image_flow(image_shape=(4, 4, 1), coupling_layers=2, hidden_units=(8,), **kwargs)


def test_image_flow_with_identity_couplings_gives_the_hand_computed_bits_per_dim():
    flow = small_image_flow(seed=2)   # a new flow's couplings are the identity (zero last layers)
    randomize([layer.hidden_layers[0] for layer in flow.couplings], seed=7)
    v = np.random.default_rng(7).normal(size=(3, 16)).astype("float32")
    np.testing.assert_array_equal(flow.forward(v)[0].numpy(), v)
    # The dequantised values lie in the pixel's cell: floor(256 y) = x.
    y = flow.dequantize_images(IMAGES_4x4, seed=9).numpy().astype(np.float64)
    np.testing.assert_array_equal(np.floor(256 * y), IMAGES_4x4.reshape(16, 16))
    # By hand: log p(y) = sum_i [log N(v_i) + log(1 - 2a) - log p_i - log(1 - p_i)], p = a + (1 - 2a) y.
    def by_hand(y, alpha=0.05):
        p = alpha + (1 - 2 * alpha) * y
        v = np.log(p) - np.log1p(-p)
        log_normal = -0.5 * (v**2 + math.log(2 * math.pi))
        log_density = np.sum(log_normal + math.log(1 - 2 * alpha) - np.log(p) - np.log1p(-p), axis=1)
        return (-log_density + 16 * math.log(256)) / (16 * math.log(2))
    np.testing.assert_allclose(dequantized_bits_per_dim(flow.log_prob(y).numpy(), 16), by_hand(y), rtol=1e-5)
    # bits_per_dim draws u from a generator seeded with ``seed``; replay it, three draws averaged.
    replay = keras.random.SeedGenerator(5)
    draws = [flow.dequantize_images(IMAGES_4x4, seed=replay).numpy().astype(np.float64) for _ in range(3)]
    expected = np.mean([by_hand(d) for d in draws], axis=0)
    np.testing.assert_allclose(flow.bits_per_dim(IMAGES_4x4, seed=5, draws=3), expected, rtol=1e-5)
    np.testing.assert_allclose(flow.bits_per_dim(IMAGES_4x4.reshape(16, 16).astype("uint8"), seed=5, draws=3),
                               expected, rtol=1e-5)


def test_the_notebook_scale_image_flow_is_built_with_the_documented_size():
    flow = build_image_flow()
    per_coupling = (392 * 256 + 256) + (256 * 784 + 784) + 392   # hidden Dense, output Dense (s, t), scale
    assert flow.count_params() == 6 * per_coupling == 1_814_928
    assert flow.flops_per_example() == 6 * 2 * (392 * 256 + 256 * 784) == 3_612_672
    assert flow.sample(2, seed=0).shape == (2, 28, 28, 1)


# --- training -------------------------------------------------------------------------------------------------


def test_one_train_step_returns_finite_values_and_the_loss_drops_on_a_fixed_batch():
    x = (np.random.default_rng(8).normal(size=(8, 2)) * [3.0, 0.2] + [1.0, -2.0]).astype("float32")
    flow = RealNVP(2, coupling_layers=4, hidden_units=(16,))
    flow.compile(keras.optimizers.Adam(1e-2))
    before = float(-flow.log_prob(x).numpy().mean())
    logs = flow.train_on_batch(x, return_dict=True)
    assert set(logs) == {"loss"} and np.isfinite(logs["loss"])
    assert logs["loss"] == pytest.approx(before, rel=1e-5)   # the loss is -mean log p(x) before the update
    for _ in range(9):
        flow.train_on_batch(x)
    after = float(-flow.log_prob(x).numpy().mean())
    assert after < before - 0.5
    evaluated = flow.evaluate(x, batch_size=8, verbose=0, return_dict=True)
    assert evaluated["loss"] == pytest.approx(after, rel=1e-5)


def test_image_flow_train_step_logs_loss_and_bits_per_dim():
    flow = small_image_flow(seed=4)
    flow.compile()
    randomize(flow.couplings, seed=4, spread=0.1)
    before = [w.copy() for w in flow.get_weights()]
    # By hand, before the update: the step's noise u replayed from the generator's state, y = (x + u) / 256.
    replay = keras.random.SeedGenerator(4)
    replay.state.assign(np.asarray(flow.seed_generator.state))
    u = keras.random.uniform((8, 16), seed=replay).numpy()
    expected_loss = -flow.log_prob((IMAGES_4x4[:8].reshape(8, 16) + u) / 256.0).numpy().mean()
    logs = flow.train_on_batch(IMAGES_4x4[:8], return_dict=True)
    assert set(logs) == {"loss", "bits_per_dim"}
    assert np.isfinite(logs["loss"]) and np.isfinite(logs["bits_per_dim"])
    assert logs["loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert logs["bits_per_dim"] == pytest.approx(8.0 + logs["loss"] / (16 * math.log(2.0)), rel=1e-6)
    assert any(not np.array_equal(a, b) for a, b in zip(before, flow.get_weights()))


# --- sampling -------------------------------------------------------------------------------------------------


def test_sample_shapes_seeds_and_temperature():
    flow = random_flow(2, seed=9, spread=0.3)
    samples = flow.sample(2000, seed=1)
    assert samples.shape == (2000, 2) and samples.dtype == np.float32
    np.testing.assert_array_equal(samples, flow.sample(2000, seed=1))
    assert np.abs(samples - flow.sample(2000, seed=2)).max(axis=1).min() > 1e-4
    np.testing.assert_allclose(samples, flow.inverse(keras.random.normal((2000, 2), seed=1)).numpy(), atol=1e-6)
    # Pushed back through f, a sample at temperature T is T * eps: its spread in z is T.
    spreads = {t: flow.forward(flow.sample(2000, seed=1, temperature=t))[0].numpy().std() for t in (0.5, 1.0)}
    assert spreads[0.5] == pytest.approx(0.5, rel=0.05) and spreads[1.0] == pytest.approx(1.0, rel=0.05)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="temperature"):
            flow.sample(3, temperature=bad)
    images = small_image_flow().sample(5, seed=0, temperature=0.7)
    assert images.shape == (5, 4, 4, 1) and images.min() >= 0.0 and images.max() <= 1.0


# --- save and load ----------------------------------------------------------------------------------------------


def test_image_flow_save_and_load_round_trip(tmp_path):
    flow = small_image_flow(seed=3)
    flow.compile()
    flow.fit(IMAGES_4x4, batch_size=8, epochs=1, verbose=0)
    flow.save(tmp_path / "flow.keras")
    loaded = keras.models.load_model(tmp_path / "flow.keras")
    assert type(loaded) is RealNVP and loaded.get_config() == flow.get_config()
    y = flow.dequantize_images(IMAGES_4x4, seed=0)
    np.testing.assert_array_equal(loaded.log_prob(y).numpy(), flow.log_prob(y).numpy())
    np.testing.assert_array_equal(loaded.sample(4, seed=2), flow.sample(4, seed=2))
    np.testing.assert_array_equal(loaded.seed_generator.state.numpy(), flow.seed_generator.state.numpy())
    assert int(loaded.optimizer.iterations) == int(flow.optimizer.iterations) == 2
    # Training resumes: the next epoch of both (same data order, same dequantisation noise) gives the same weights.
    flow.fit(IMAGES_4x4, batch_size=8, epochs=1, verbose=0, shuffle=False)
    loaded.fit(IMAGES_4x4, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(flow.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert any(np.abs(a).max() > 0 for a in [layer.output_layer.kernel.numpy() for layer in loaded.couplings])


# --- bad input --------------------------------------------------------------------------------------------------


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="Received: dim=5"):
        AffineCoupling(5, mask="half")
    with pytest.raises(ValueError, match="Received: dim=5"):
        RealNVP(5)
    assert RealNVP(5, coupling_layers=2, hidden_units=(4,), mask="checkerboard").sample(2).shape == (2, 5)
    with pytest.raises(ValueError, match="parity"):
        AffineCoupling(4, parity=2)
    with pytest.raises(ValueError, match="mask"):
        RealNVP(4, mask="random")
    with pytest.raises(ValueError, match="coupling_layers"):
        RealNVP(4, coupling_layers=0)
    with pytest.raises(ValueError, match="image_shape"):
        RealNVP(4, image_shape=(3, 1))
    with pytest.raises(ValueError, match="dequantize=True"):
        RealNVP(4, coupling_layers=1).bits_per_dim(np.zeros((1, 4)))


def test_wrong_dimensions_and_non_finite_values_are_rejected():
    flow = RealNVP(4, coupling_layers=2, hidden_units=(4,))
    flow.compile()
    with pytest.raises(ValueError, match=r"shape \(batch, 4\). Received: x.shape=\(2, 3\)"):
        flow.log_prob(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="x.shape=\\(4,\\)"):
        flow.forward(np.zeros(4, "float32"))
    bad = np.zeros((8, 4), "float32")
    bad[3, 1], bad[5, 0] = np.nan, np.inf
    with pytest.raises(ValueError, match="finite inputs. Received: 2 non-finite values"):
        flow.log_prob(bad)
    with pytest.raises(ValueError, match="non-finite"):
        flow.fit(bad, batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="Received: 2 non-finite values"):   # checked inside the traced step
        flow.fit(tf.data.Dataset.from_tensor_slices(bad).batch(8), verbose=0, shuffle=False)
    assert int(flow.optimizer.iterations) == 0


def test_8bit_images_out_of_range_or_fractional_are_rejected():
    flow = small_image_flow()
    flow.compile()
    for value in (256.0, -1.0, np.nan):
        images = IMAGES_4x4.copy()
        images[2, 1, 1, 0] = value
        with pytest.raises(ValueError, match=r"8-bit images, values in \[0, 255\]"):
            flow.bits_per_dim(images)
    images = IMAGES_4x4.copy()
    images[2, 1, 1, 0] = 3.5
    with pytest.raises(ValueError, match="integer-valued 8-bit images. Received: a fractional part of up to 0.5"):
        flow.bits_per_dim(images)
    with pytest.raises(ValueError, match="integer-valued"):
        flow.fit(images, batch_size=8, verbose=0)
    with pytest.raises(ValueError, match=r"Received: values in \[0, 510\]"):   # pixels in [0, 2] * 255
        flow.fit(tf.data.Dataset.from_tensor_slices(IMAGES_4x4 * 2).batch(8), verbose=0, shuffle=False)
    assert int(flow.optimizer.iterations) == 0
    with pytest.raises(ValueError, match="dequantised values in \\[0, 1\\]"):
        flow.log_prob(IMAGES_4x4)   # 8-bit values where the unit cube is expected
    with pytest.raises(ValueError, match=r"Received: x.shape=\(16, 4, 4\)"):
        flow.bits_per_dim(IMAGES_4x4[..., 0])
