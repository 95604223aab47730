"""Tests of genai_tf.metrics, genai_tf.plotting, the MLP GAN builders and genai_tf.training."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.figure import Figure

import genai_tf
from genai_tf import data, training
from genai_tf.losses import minimax_discriminator_loss, minimax_generator_loss, modified_generator_loss
from genai_tf.metrics import mode_coverage
from genai_tf.models import build_mlp_discriminator, build_mlp_generator
from genai_tf.plotting import image_grid, show_images

# --- mode_coverage ---------------------------------------------------------------------------

CENTERS = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
# Four samples at mode 0 (one exactly 3 std away), two at mode 1, one at mode 2, none at
# mode 3, and one at (5, 5), 7.07 from every centre: not within 3 std of any mode.
SAMPLES = np.array(
    [[0.0, 0.0], [0.5, 0.0], [0.0, -1.0], [3.0, 0.0], [10.0, 1.0], [9.0, 0.0], [0.0, 10.0], [5.0, 5.0]]
)


def test_mode_coverage_counts_and_quality():
    result = mode_coverage(SAMPLES, CENTERS, std=1.0)
    assert result["counts"].tolist() == [4, 2, 1, 0]
    assert result["high_quality"] == pytest.approx(7 / 8)
    # Fair share 8 / 4 = 2; min_share 0.25 needs 0.5 samples: modes 0, 1, 2.
    assert result["modes_covered"] == 3
    assert isinstance(result["modes_covered"], int)


@pytest.mark.parametrize(
    ("min_share", "covered"),
    [
        (0.5, 3),  # needs 1.0 sample: mode 2 has exactly 1, on the edge, and counts
        (0.51, 2),  # needs 1.02: mode 2 drops out
        (1.0, 2),  # needs 2.0: mode 1 has exactly 2
        (1.5, 1),  # needs 3.0: only mode 0
        (2.5, 0),  # needs 5.0: none
    ],
)
def test_mode_coverage_min_share_edge(min_share, covered):
    assert mode_coverage(SAMPLES, CENTERS, std=1.0, min_share=min_share)["modes_covered"] == covered


def test_mode_coverage_radius_is_inclusive():
    # (3, 0) is exactly n_std * std = 3 from mode 0; with n_std = 2.9 it is out.
    result = mode_coverage(SAMPLES, CENTERS, std=1.0, n_std=2.9)
    assert result["counts"].tolist() == [3, 2, 1, 0]
    assert result["high_quality"] == pytest.approx(6 / 8)
    # The radius scales with std: std = 2, n_std = 1.5 is the same 3.
    result = mode_coverage(SAMPLES, CENTERS, std=2.0, n_std=1.5)
    assert result["counts"].tolist() == [4, 2, 1, 0]


def test_mode_coverage_of_the_ring_data():
    samples, centers = data.ring_of_gaussians(4000, n_modes=8, std=0.02, seed=0)
    result = mode_coverage(samples, centers, std=0.02)
    assert result["modes_covered"] == 8
    # Within 3 std in 2-D: P(chi2_2 <= 9) = 1 - exp(-4.5) = 0.9889.
    assert result["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert result["counts"].sum() == round(result["high_quality"] * 4000)
    # A collapsed generator: every sample on mode 0.
    collapsed = mode_coverage(np.repeat(centers[:1], 100, axis=0), centers, std=0.02)
    assert collapsed["modes_covered"] == 1
    assert collapsed["counts"].tolist() == [100] + [0] * 7


def test_mode_coverage_rejects_no_samples():
    # With no samples the fair-share threshold would be 0 and every mode would count as covered.
    with pytest.raises(ValueError, match="empty"):
        mode_coverage(np.zeros((0, 2)), CENTERS, std=1.0)


@pytest.mark.parametrize(
    ("samples", "centers"),
    [
        (np.zeros((8, 3)), CENTERS),
        (np.zeros(8), CENTERS),
        (SAMPLES, np.zeros(2)),
        (np.zeros((2, 8, 2)), CENTERS),
    ],
)
def test_mode_coverage_rejects_bad_shapes(samples, centers):
    with pytest.raises(ValueError, match="samples.shape"):
        mode_coverage(samples, centers, std=1.0)


@pytest.mark.parametrize("std", [0.0, -1.0])
def test_mode_coverage_rejects_bad_std(std):
    with pytest.raises(ValueError, match=f"std={std}"):
        mode_coverage(SAMPLES, CENTERS, std=std)


# --- image_grid ------------------------------------------------------------------------------


def test_image_grid_layout_and_rescaling():
    images = np.stack(
        [
            np.full((2, 2), -1.0),
            np.full((2, 2), 0.0),
            np.array([[1.0, 0.5], [-0.5, 3.0]]),
        ]
    )[..., None]
    grid = image_grid(images, ncols=2)
    # 3 images in 2 columns: 2 rows of 2 x 2 tiles.
    assert grid.shape == (4, 4)
    assert grid.dtype == np.float32
    # (v + 1) / 2: -1 -> 0, 0 -> 0.5, 1 -> 1, 0.5 -> 0.75, -0.5 -> 0.25, 3 -> 2 clipped to 1.
    np.testing.assert_allclose(grid[0:2, 0:2], 0.0)
    np.testing.assert_allclose(grid[0:2, 2:4], 0.5)
    np.testing.assert_allclose(grid[2:4, 0:2], [[1.0, 0.75], [0.25, 1.0]])
    # The empty last tile is white.
    np.testing.assert_allclose(grid[2:4, 2:4], 1.0)


def test_image_grid_options():
    images = np.linspace(0, 1, 3 * 2 * 3).reshape(3, 2, 3)
    # (N, H, W) is accepted; ncols larger than N shrinks to N: one row of three 2 x 3 tiles.
    grid = image_grid(images, ncols=10, pixel_range=(0.0, 1.0))
    assert grid.shape == (2, 9)
    np.testing.assert_allclose(grid[:, 3:6], images[1], rtol=1e-6)
    assert image_grid(images, ncols=1, pixel_range=(0, 1)).shape == (6, 3)
    # Pixels in (0, 255) rescale by / 255.
    np.testing.assert_allclose(image_grid(np.full((1, 1, 1, 1), 51.0), pixel_range=(0, 255)), [[0.2]])


@pytest.mark.parametrize("shape", [(3, 2, 2, 3), (2, 2), (5,)])
def test_image_grid_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="images must be"):
        image_grid(np.zeros(shape))


def test_show_images_draws_the_grid():
    images = np.linspace(-1, 1, 4 * 3 * 3).reshape(4, 3, 3, 1)
    ax = Figure().subplots()
    assert show_images(images, ncols=2, title="four", ax=ax) is ax
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), image_grid(images, ncols=2))
    assert ax.get_title() == "four"


# --- MLP builders ----------------------------------------------------------------------------


def test_generator_output_shapes():
    noise = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    assert build_mlp_generator(4, (2,), (8,))(noise).shape == (3, 2)
    images = build_mlp_generator(4, (28, 28, 1), (16,), output_activation="tanh")(noise * 100)
    assert images.shape == (3, 28, 28, 1)
    assert float(tf.reduce_max(tf.abs(images))) <= 1.0


def test_discriminator_outputs_one_logit():
    images = np.ones((5, 28, 28, 1), np.float32)
    discriminator = build_mlp_discriminator((28, 28, 1), (16, 8))
    assert discriminator(images).shape == (5, 1)
    assert build_mlp_discriminator((2,), (8,))(np.ones((5, 2), np.float32)).shape == (5, 1)
    # Logits, not probabilities: the last layer is linear, so the output is unbounded.
    last = discriminator.layers[-1]
    assert last.activation is keras.activations.linear
    last.set_weights([np.full_like(w, 10.0) for w in last.get_weights()])
    assert float(tf.reduce_max(tf.abs(discriminator(images)))) > 1.0


@pytest.mark.parametrize("latent_dim", [0, -1, 2.5, True, "4"])
def test_generator_rejects_bad_latent_dim(latent_dim):
    with pytest.raises(ValueError, match=f"latent_dim={latent_dim!r}"):
        build_mlp_generator(latent_dim, (2,))


@pytest.mark.parametrize("hidden_units", [(), (16, 0), [-4]])
def test_builders_reject_bad_hidden_units(hidden_units):
    with pytest.raises(ValueError, match="hidden_units"):
        build_mlp_generator(2, (2,), hidden_units)
    with pytest.raises(ValueError, match="hidden_units"):
        build_mlp_discriminator((2,), hidden_units)


# --- make_gan_train_step ---------------------------------------------------------------------

LATENT_DIM = 3


def gan_parts():
    genai_tf.set_seed(0)
    generator = build_mlp_generator(LATENT_DIM, (2,), (16, 16))
    discriminator = build_mlp_discriminator((2,), (16, 16))
    real, _ = data.ring_of_gaussians(8, seed=0)
    return generator, discriminator, real


@pytest.mark.parametrize("generator_loss", ["non_saturating", "saturating"])
def test_gan_step_returns_finite_values_and_updates_both_networks(generator_loss):
    generator, discriminator, real = gan_parts()
    g_before = [v.numpy().copy() for v in generator.trainable_variables]
    d_before = [v.numpy().copy() for v in discriminator.trainable_variables]
    step = training.make_gan_train_step(
        generator, discriminator, keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3),
        LATENT_DIM, generator_loss=generator_loss,
    )
    logs = step(real)
    assert set(logs) == {"d_loss", "g_loss", "real_prob", "fake_prob"}
    values = {key: float(value) for key, value in logs.items()}
    assert all(math.isfinite(v) for v in values.values())
    assert 0.0 < values["real_prob"] < 1.0 and 0.0 < values["fake_prob"] < 1.0
    assert values["d_loss"] > 0.0
    # Non-saturating -log D >= 0; saturating log(1 - D) <= 0.
    assert values["g_loss"] > 0.0 if generator_loss == "non_saturating" else values["g_loss"] < 0.0
    for model, before in ((generator, g_before), (discriminator, d_before)):
        after = [v.numpy() for v in model.trainable_variables]
        assert any(not np.array_equal(a, b) for a, b in zip(after, before)), model.name
        # The output layer's kernel always receives a gradient.
        assert not np.array_equal(after[-2], before[-2]), model.name


@pytest.mark.parametrize(
    ("generator_loss", "loss_fn"),
    [("non_saturating", modified_generator_loss), ("saturating", minimax_generator_loss)],
)
def test_gan_step_values_match_the_losses_on_the_same_noise(generator_loss, loss_fn):
    """With learning rate 0 nothing moves, so every returned value can be recomputed.

    The step draws noise twice from SeedGenerator(seed): once for the D update, once for the G update.
    """
    generator, discriminator, real = gan_parts()
    step = training.make_gan_train_step(
        generator, discriminator, keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0),
        LATENT_DIM, generator_loss=generator_loss, seed=7,
    )
    logs = {key: float(value) for key, value in step(real).items()}
    seed = keras.random.SeedGenerator(7)
    d_noise = keras.random.normal((8, LATENT_DIM), seed=seed)
    g_noise = keras.random.normal((8, LATENT_DIM), seed=seed)
    real_logits = discriminator(real)
    fake_logits = discriminator(generator(d_noise))
    d_loss = minimax_discriminator_loss(real_logits, fake_logits)
    assert logs["d_loss"] == pytest.approx(float(d_loss), rel=1e-5)
    assert logs["g_loss"] == pytest.approx(float(loss_fn(discriminator(generator(g_noise)))), rel=1e-5)
    assert logs["real_prob"] == pytest.approx(float(tf.reduce_mean(tf.sigmoid(real_logits))), rel=1e-5)
    assert logs["fake_prob"] == pytest.approx(float(tf.reduce_mean(tf.sigmoid(fake_logits))), rel=1e-5)


def test_gan_step_noise_follows_the_real_batch_size():
    """E-000-5: a hard-coded noise batch breaks on a smaller last batch; here it follows the data."""
    generator, discriminator, real = gan_parts()
    step = training.make_gan_train_step(
        generator, discriminator, keras.optimizers.Adam(), keras.optimizers.Adam(), LATENT_DIM
    )
    for batch in (real, real[:5]):
        assert all(math.isfinite(float(v)) for v in step(batch).values())


def test_gan_step_rejects_a_shared_optimizer():
    generator, discriminator, _ = gan_parts()
    optimizer = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="separate"):
        training.make_gan_train_step(generator, discriminator, optimizer, optimizer, LATENT_DIM)


def test_gan_step_rejects_bad_arguments():
    generator, discriminator, _ = gan_parts()
    with pytest.raises(ValueError) as info:
        training.make_gan_train_step(
            generator, discriminator, keras.optimizers.Adam(), keras.optimizers.Adam(), LATENT_DIM,
            generator_loss="wasserstein",
        )
    message = str(info.value)
    assert "'wasserstein'" in message and "non_saturating" in message and "saturating" in message
    with pytest.raises(ValueError, match="latent_dim=0"):
        training.make_gan_train_step(
            generator, discriminator, keras.optimizers.Adam(), keras.optimizers.Adam(), 0
        )


# --- fit_steps -------------------------------------------------------------------------------


def counting_step(nan_from=None, bad=math.nan):
    """A fake train step whose loss is the step number, or `bad` from step `nan_from` on."""
    batches = []

    def train_step(batch):
        batches.append(int(batch))
        k = len(batches)
        value = bad if nan_from is not None and k >= nan_from else float(k)
        return {"loss": tf.constant(value)}

    return train_step, batches


@pytest.mark.parametrize(
    ("steps", "log_every", "logged"),
    [
        (10, 3, [3, 6, 9, 10]),  # every third step, and the last
        (9, 3, [3, 6, 9]),  # the last step is a logging step: no duplicate
        (2, 100, [2]),  # only the last
        (4, 1, [1, 2, 3, 4]),
    ],
)
def test_fit_steps_history(steps, log_every, logged):
    train_step, batches = counting_step()
    calls = []
    history = training.fit_steps(
        train_step, tf.data.Dataset.range(3), steps, log_every=log_every,
        callback=lambda step, logs: calls.append((step, logs)),
    )
    assert history == {"step": logged, "loss": [float(s) for s in logged]}
    assert calls == [(s, {"loss": float(s)}) for s in logged]
    # The dataset of 3 elements is repeated: batches 0, 1, 2, 0, 1, ...
    assert batches == [i % 3 for i in range(steps)]


@pytest.mark.parametrize(
    ("nan_from", "log_every", "reported"),
    [(4, 1, 4), (1, 1, 1), (4, 3, 6), (8, 3, 9), (10, 3, 10)],
)
def test_fit_steps_raises_on_nan_naming_the_step(nan_from, log_every, reported):
    # A NaN is seen at the first logging step >= nan_from (losses are read back only then).
    train_step, batches = counting_step(nan_from=nan_from)
    with pytest.raises(FloatingPointError, match=rf"step {reported}\b"):
        training.fit_steps(train_step, tf.data.Dataset.range(3), 10, log_every=log_every)
    assert len(batches) == reported


def test_fit_steps_raises_on_inf():
    train_step, _ = counting_step(nan_from=2, bad=math.inf)
    with pytest.raises(FloatingPointError, match=r"step 2\b.*loss"):
        training.fit_steps(train_step, tf.data.Dataset.range(3), 5, log_every=1)


@pytest.mark.parametrize(("steps", "log_every"), [(0, 1), (5, 0), (-1, 1)])
def test_fit_steps_rejects_non_positive_counts(steps, log_every):
    train_step, _ = counting_step()
    with pytest.raises(ValueError, match="steps"):
        training.fit_steps(train_step, tf.data.Dataset.range(3), steps, log_every=log_every)


def test_fit_steps_trains_a_gan_on_the_ring():
    generator, discriminator, _ = gan_parts()
    samples, _ = data.ring_of_gaussians(256, seed=1)
    step = training.make_gan_train_step(
        generator, discriminator, keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), LATENT_DIM
    )
    history = training.fit_steps(step, data.make_dataset(samples, batch_size=8), 20, log_every=10)
    assert history["step"] == [10, 20]
    assert set(history) == {"step", "d_loss", "g_loss", "real_prob", "fake_prob"}
    assert all(math.isfinite(v) for key in history for v in history[key])


# --- Fréchet distance ---------------------------------------------------------------------------


def test_frechet_distance_of_identical_sets_is_zero():
    from genai_tf.metrics import frechet_distance

    features = np.random.default_rng(0).standard_normal((500, 4))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    # For diagonal covariances FD = sum (mu_a - mu_b)^2 + sum (sigma_a - sigma_b)^2.
    from genai_tf.metrics import frechet_distance

    rng = np.random.default_rng(1)
    a = rng.standard_normal((200_000, 2)) * [1.0, 2.0] + [0.0, 1.0]
    b = rng.standard_normal((200_000, 2)) * [3.0, 2.0] + [1.0, -1.0]
    expected = (1.0 + 4.0) + (2.0**2 + 0.0)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.02)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)


def test_frechet_distance_rejects_mismatched_features():
    from genai_tf.metrics import frechet_distance

    with pytest.raises(ValueError, match="same d"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="N >= 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


def test_classifier_features_have_the_penultimate_width():
    from genai_tf.metrics import build_classifier, classifier_features

    classifier = build_classifier()
    features = classifier_features(-np.ones((3, 28, 28, 1), "float32"), classifier)
    assert features.shape == (3, 128) and np.all(features >= 0)   # ReLU activations
