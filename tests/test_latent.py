"""Latent-space tools: interpolation, the quantile grid, per-dimension KL, image repair."""

import math

import numpy as np
import pytest
from scipy.stats import norm

import genai_tf
from genai_tf import latent
from genai_tf.losses import gaussian_kl_divergence
from genai_tf.models import VAE

RNG = np.random.default_rng(0)
BINARY = RNG.integers(0, 2, (16, 28, 28, 1)).astype("float32")


def test_lerp_and_slerp_end_points_and_midpoints():
    z0, z1 = np.array([3.0, 0.0, 0.0]), np.array([0.0, 3.0, 0.0])
    for path in (latent.lerp(z0, z1, 5), latent.slerp(z0, z1, 5)):
        assert path.shape == (5, 3)
        np.testing.assert_allclose(path[0], z0, atol=1e-6)
        np.testing.assert_allclose(path[-1], z1, atol=1e-6)
    # Orthogonal ends of norm 3: the straight midpoint has norm 3 / sqrt(2), the spherical one 3.
    assert np.linalg.norm(latent.lerp(z0, z1, 3)[1]) == pytest.approx(3 / math.sqrt(2), rel=1e-6)
    np.testing.assert_allclose(latent.slerp(z0, z1, 3)[1], [3 / math.sqrt(2), 3 / math.sqrt(2), 0.0], rtol=1e-6)


def test_slerp_keeps_the_norm_of_equal_norm_ends_and_the_angle_steps_evenly():
    z0 = RNG.normal(size=16)
    z1 = RNG.normal(size=16)
    z1 *= np.linalg.norm(z0) / np.linalg.norm(z1)
    path = latent.slerp(z0, z1, 9).astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(z0), rtol=1e-5)
    angles = [math.acos(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))) for a, b in zip(path[:-1], path[1:])]
    np.testing.assert_allclose(angles, angles[0], rtol=1e-3)


def test_slerp_of_parallel_vectors_falls_back_to_lerp_and_bad_input_is_rejected():
    np.testing.assert_allclose(latent.slerp([1.0, 1.0], [2.0, 2.0], 3), latent.lerp([1.0, 1.0], [2.0, 2.0], 3))
    with pytest.raises(ValueError, match="steps"):
        latent.lerp([0.0], [1.0], 1)
    with pytest.raises(ValueError, match="shape"):
        latent.slerp([0.0, 1.0], [1.0], 3)
    with pytest.raises(ValueError, match="non-zero"):
        latent.slerp([0.0, 0.0], [1.0, 0.0], 3)


def test_gaussian_grid_is_at_equal_prior_mass():
    grid = latent.gaussian_grid(4, quantile=0.1)
    assert grid.shape == (16, 2)
    values = norm.ppf([0.1, 0.3666667, 0.6333333, 0.9])
    np.testing.assert_allclose(grid[:4, 0], values, rtol=1e-5)   # first row: x increasing
    np.testing.assert_allclose(grid[::4, 1], values[::-1], rtol=1e-5)   # first column: y decreasing
    with pytest.raises(ValueError, match="quantile"):
        latent.gaussian_grid(4, quantile=0.6)


@pytest.fixture(scope="module")
def vae():
    genai_tf.set_seed(0)
    model = VAE(latent_dim=4, hidden_units=(32,))
    model.compile()
    model.fit(BINARY, batch_size=8, epochs=2, verbose=0)
    return model


def test_per_dimension_kl_adds_up_to_the_total_kl(vae):
    per_dim = latent.per_dimension_kl(vae, BINARY, batch_size=5)
    assert per_dim.shape == (4,) and np.all(per_dim >= 0)
    z_mean, z_log_var = vae.encode(BINARY)
    assert per_dim.sum() == pytest.approx(float(np.mean(gaussian_kl_divergence(z_mean, z_log_var))), rel=1e-5)
    # A dimension counts when its KL is strictly above the threshold: at each of the four values in turn, 3, 2, 1, 0.
    assert len(set(per_dim.tolist())) == 4
    assert [latent.active_dimensions(per_dim, threshold=t) for t in np.sort(per_dim)] == [3, 2, 1, 0]
    assert latent.active_dimensions([0.5, 0.05, 0.2], threshold=0.1) == 2
    assert latent.active_dimensions([0.1, 0.11, 0.05]) == 1   # the default threshold is 0.1 nats


def masked_map_objective(vae, images, mask, z):
    """sum over observed pixels of log p(x_i | z) + log N(z; 0, I) (up to a constant), per image, in float64."""
    logits = np.asarray(vae.decode_logits(z), np.float64)
    # log sigmoid(l) = -softplus(-l), log(1 - sigmoid(l)) = -softplus(l): finite for any logit.
    pixel_log_likelihood = -(images * np.logaddexp(0.0, -logits) + (1 - images) * np.logaddexp(0.0, logits))
    return np.sum(mask * pixel_log_likelihood, axis=(1, 2, 3)) - 0.5 * np.sum(np.asarray(z, np.float64) ** 2, axis=1)


def test_inpaint_keeps_observed_pixels_and_raises_their_posterior(vae):
    images = BINARY[:4]
    mask = np.zeros((28, 28, 1), np.float32)
    mask[:14] = 1.0   # the top half is observed
    repaired = latent.inpaint(vae, images, mask, steps=30)
    assert repaired.shape == (4, 28, 28, 1)
    np.testing.assert_array_equal(repaired[:, :14], images[:, :14])
    assert repaired.min() >= 0 and repaired.max() <= 1
    # The completion is the decoder's mean at the code the search found.
    found = latent.map_latent_search(vae, images, mask, steps=30)
    np.testing.assert_allclose(repaired[:, 14:], np.asarray(vae.decode(found))[:, 14:], atol=1e-6)
    # No steps: the completion is the decoder's mean at the encoder's mean of the masked image.
    start_code = latent.map_latent_search(vae, images, mask, steps=0)
    np.testing.assert_allclose(start_code, np.asarray(vae.encode(images * mask)[0]), atol=1e-6)
    start = latent.inpaint(vae, images, mask, steps=0)
    np.testing.assert_allclose(start[:, 14:], np.asarray(vae.decode(start_code))[:, 14:], atol=1e-6)
    # The search raises the posterior of the observed pixels, image by image.
    assert np.all(masked_map_objective(vae, images, mask, found) > masked_map_objective(vae, images, mask, start_code))
    # It maximises that posterior, not the one of the whole image with the hidden pixels read as zeros:
    # the search that counts them (same start, same steps) ends lower on the observed pixels' posterior.
    counting_hidden = latent.map_latent_search(vae, images * mask, None, steps=30)
    assert np.all(masked_map_objective(vae, images, mask, found) > masked_map_objective(vae, images, mask, counting_hidden))


def test_inpaint_ignores_the_hidden_pixels_and_reads_the_observed_ones(vae):
    images = BINARY[4:8]
    mask = np.zeros((28, 28, 1), np.float32)
    mask[:, :14] = 1.0   # the left half is observed
    repaired = latent.inpaint(vae, images, mask, steps=10)
    # Other hidden pixels (all of them flipped): the same result.
    hidden_flipped = images.copy()
    hidden_flipped[:, :, 14:] = 1.0 - hidden_flipped[:, :, 14:]
    np.testing.assert_allclose(latent.inpaint(vae, hidden_flipped, mask, steps=10), repaired, atol=1e-6)
    # Other observed pixels: another completion, and the new observed pixels kept as given.
    observed_flipped = images.copy()
    observed_flipped[:, :, :14] = 1.0 - observed_flipped[:, :, :14]
    other = latent.inpaint(vae, observed_flipped, mask, steps=10)
    np.testing.assert_array_equal(other[:, :, :14], observed_flipped[:, :, :14])
    assert np.all(np.max(np.abs(other[:, :, 14:] - repaired[:, :, 14:]), axis=(1, 2, 3)) > 1e-3)


def test_inpaint_rejects_bad_masks_and_gaussian_models(vae):
    with pytest.raises(ValueError, match="mask must have the shape"):
        latent.inpaint(vae, BINARY[:2], np.ones((28, 28)), steps=1)
    with pytest.raises(ValueError, match="observed"):
        latent.inpaint(vae, BINARY[:2], np.full((28, 28, 1), 0.5), steps=1)
    gaussian = VAE(latent_dim=2, hidden_units=(8,), likelihood="gaussian")
    with pytest.raises(ValueError, match="Bernoulli"):
        latent.inpaint(gaussian, BINARY[:2], np.ones((28, 28, 1)), steps=1)


def test_denoise_without_search_is_the_reconstruction(vae):
    np.testing.assert_allclose(latent.denoise(vae, BINARY[:3]), vae.reconstruct(BINARY[:3]), atol=1e-6)


def test_the_search_raises_the_map_objective(vae):
    images = BINARY[:4]

    def objective(z, rho):
        p = np.asarray(vae.decode(z), np.float64)
        p_one = (1 - rho) * p + rho * (1 - p)
        log_likelihood = np.sum(images * np.log(p_one) + (1 - images) * np.log(1 - p_one), axis=(1, 2, 3))
        return log_likelihood - 0.5 * np.sum(np.asarray(z, np.float64) ** 2, axis=1)

    for rho in (0.0, 0.2):
        start = latent.map_latent_search(vae, images, flip_probability=rho, steps=0)
        found = latent.map_latent_search(vae, images, flip_probability=rho, steps=50)
        np.testing.assert_allclose(start, np.asarray(vae.encode(images)[0]), atol=1e-6)
        assert np.all(objective(found, rho) > objective(start, rho))
    with pytest.raises(ValueError, match="flip_probability"):
        latent.denoise(vae, images, flip_probability=0.5)
    with pytest.raises(ValueError, match="steps"):
        latent.denoise(vae, images, steps=-1)


def test_interpolation_and_grid_arguments_at_their_boundaries_and_float32_results():
    # Two steps are the two ends; one step, a bool, a matrix or a zero vector is refused with its own message.
    np.testing.assert_array_equal(latent.lerp([0.0, 1.0], [2.0, 3.0], 2), [[0.0, 1.0], [2.0, 3.0]])
    for bad in (1, True, 2.0):
        with pytest.raises(ValueError, match=rf"^steps must be an integer >= 2\. Received: steps={bad!r}$"):
            latent.lerp([0.0], [1.0], bad)
    with pytest.raises(ValueError, match=r"^z0 and z1 must be vectors of one shape"):
        latent.lerp([[0.0, 1.0]], [[1.0, 0.0]], 3)
    with pytest.raises(ValueError, match=r"^slerp needs non-zero vectors"):
        latent.slerp([0.0, 0.0], [1.0, 0.0], 3)
    for path in (latent.lerp([0, 1], [1, 0], 3), latent.slerp([0, 1], [1, 0], 3)):
        assert path.dtype == np.float32
    # Rounding puts the cosine of these (anti)parallel pairs just outside [-1, 1]: it is clipped before arccos.
    z0 = np.array([0.1, 0.1, 0.2])
    for z1 in (1.3 * z0, -1.3 * z0):
        cosine = np.dot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1))
        assert abs(cosine) > 1.0
        np.testing.assert_allclose(latent.slerp(z0, z1, 3), latent.lerp(z0, z1, 3))
    # The grid: two points a side at the default 5% and 95% quantiles; size 1, a bool, quantile 0 or 0.5 refused.
    grid = latent.gaussian_grid(2)
    assert grid.dtype == np.float32
    low, high = norm.ppf([0.05, 0.95])
    np.testing.assert_allclose(grid, [[low, high], [high, high], [low, low], [high, low]], rtol=1e-6)
    for bad in (1, True, 2.5):
        with pytest.raises(ValueError, match=rf"^size must be an integer >= 2\. Received: size={bad!r}$"):
            latent.gaussian_grid(bad)
    for bad in (0.0, 0.5):
        with pytest.raises(ValueError, match=rf"^quantile must be in \(0\.0, 0\.5\)\. Received: quantile={bad!r}$"):
            latent.gaussian_grid(3, quantile=bad)


def test_repair_defaults_learning_rates_and_input_types(vae):
    images, mask = BINARY[:2], np.zeros((28, 28, 1), np.float32)
    mask[:14] = 1.0
    # The defaults: 200 Adam steps at learning rate 0.05 (inpaint, the search); no steps for denoise.
    default_code = latent.map_latent_search(vae, images)
    np.testing.assert_allclose(default_code, latent.map_latent_search(vae, images, steps=200, learning_rate=0.05), atol=1e-6)
    assert np.max(np.abs(default_code - latent.map_latent_search(vae, images, steps=199))) > 1e-6
    np.testing.assert_allclose(
        latent.inpaint(vae, images, mask), latent.inpaint(vae, images, mask, steps=200, learning_rate=0.05), atol=1e-6
    )
    np.testing.assert_allclose(
        latent.denoise(vae, images, steps=5),
        np.asarray(vae.decode(latent.map_latent_search(vae, images, steps=5, learning_rate=0.05))),
        atol=1e-6,
    )
    # A learning rate given is the one used.
    fast = latent.map_latent_search(vae, images, mask, steps=5, learning_rate=0.3)
    assert np.max(np.abs(fast - latent.map_latent_search(vae, images, mask, steps=5))) > 1e-3
    np.testing.assert_allclose(
        latent.inpaint(vae, images, mask, steps=5, learning_rate=0.3)[:, 14:], np.asarray(vae.decode(fast))[:, 14:], atol=1e-6
    )
    np.testing.assert_allclose(
        latent.denoise(vae, images, steps=5, learning_rate=0.3),
        np.asarray(vae.decode(latent.map_latent_search(vae, images, steps=5, learning_rate=0.3))),
        atol=1e-6,
    )
    # float64 images and an integer mask give the float32 results of float32 ones.
    as_float64, integer_mask = images.astype(np.float64), mask.astype(np.int64)
    np.testing.assert_allclose(
        latent.map_latent_search(vae, as_float64, integer_mask, steps=3),
        latent.map_latent_search(vae, images, mask, steps=3),
        atol=1e-6,
    )
    for repaired in (latent.inpaint(vae, as_float64, integer_mask, steps=3), latent.denoise(vae, as_float64)):
        assert repaired.dtype == np.float32
    # Bad arguments name themselves.
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError, match=rf"^steps must be a non-negative integer\. Received: steps={bad!r}$"):
            latent.map_latent_search(vae, images, steps=bad)
    for bad in (0.0, -0.1):
        with pytest.raises(ValueError, match=rf"^learning_rate must be in \(0\.0, inf\)\. Received: learning_rate={bad!r}$"):
            latent.map_latent_search(vae, images, learning_rate=bad)
    with pytest.raises(ValueError, match=r"^mask must have the shape of one image or of the whole batch"):
        latent.inpaint(vae, images, np.ones((28, 28)), steps=1)
    with pytest.raises(ValueError, match=r"^mask must hold 1 for observed pixels and 0 for missing ones"):
        latent.inpaint(vae, images, np.full((28, 28, 1), 0.5), steps=1)
