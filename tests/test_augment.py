"""Tests of genai_tf.augment (DiffAugment): shapes, ranges, seeds, identities, the fill values, gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf import augment
from genai_tf.models import DCGAN


def square_images(n=4, size=16, top=6, side=4):
    x = np.full((n, size, size, 1), -1.0, "float32")
    x[:, top : top + side, top : top + side] = 1.0
    return x


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_gradients_flow_through_diff_augment(policy):
    x = tf.Variable(square_images())
    with tf.GradientTape() as tape:
        y = augment.diff_augment(x, policy, seed=keras.random.SeedGenerator(0))
        loss = tf.reduce_sum(y * tf.range(16, dtype=tf.float32)[None, :, None, None])
    gradient = tape.gradient(loss, x).numpy()
    assert y.shape == x.shape and np.any(gradient != 0)
    # For fixed draws every operation is affine in the images, y = A x + b, and the loss is <w, y>; so the
    # gradient A^T w gives <gradient, x> = <w, y(x) - y(0)>, with y(0) = b from the same seed.
    weights = np.broadcast_to(np.arange(16, dtype=np.float32)[None, :, None, None], x.shape)
    offset = augment.diff_augment(tf.zeros_like(x), policy, seed=keras.random.SeedGenerator(0)).numpy()
    assert np.sum(gradient * x.numpy()) == pytest.approx(np.sum(weights * (y.numpy() - offset)), rel=1e-5, abs=1e-3)


def test_translation_moves_the_square_without_changing_it():
    x = square_images()
    y = augment.diff_augment(x, "translation", seed=keras.random.SeedGenerator(1)).numpy()
    for image in y:
        rows, cols = np.nonzero(image[..., 0] > 0)
        assert len(rows) == 16 and np.ptp(rows) == 3 and np.ptp(cols) == 3   # the 4x4 square, whole
        assert abs(rows.min() - 6) <= 2 and abs(cols.min() - 6) <= 2          # shifted by at most 16 / 8
    assert np.all(np.isin(y, [-1.0, 1.0]))                                   # background fill is -1


def test_cutout_fills_one_square_of_half_the_side_with_the_background():
    x = np.full((64, 16, 16, 1), 0.5, "float32")
    y = augment.diff_augment(x, "cutout", seed=keras.random.SeedGenerator(2)).numpy()
    background = (y == -1.0).sum(axis=(1, 2, 3))
    assert background.max() == 64 and background.min() > 0   # an 8x8 square, cut by the border at times
    assert np.all(np.isin(y, [-1.0, 0.5]))                    # -1, the low end of [-1, 1], not 0 (mid-grey)


def test_cutout_of_a_digit_on_a_black_background_adds_no_grey():
    # A white 4x4 square on the -1 background: cutout can only remove white pixels, never add a new value.
    x = square_images(n=32)
    y = augment.cutout(x, seed=keras.random.SeedGenerator(4)).numpy()
    assert np.all(np.isin(y, [-1.0, 1.0]))
    assert np.all((y == 1.0) <= (x == 1.0)) and (y == 1.0).sum() < (x == 1.0).sum()
    # By hand: y = x (1 - M) + fill M, so the square is the set where y differs from x, or where x == fill.
    z = augment.cutout(x, seed=keras.random.SeedGenerator(4), fill=0.25).numpy()
    mask = z == 0.25
    np.testing.assert_array_equal(z, np.where(mask, 0.25, x))
    np.testing.assert_array_equal(y, np.where(mask, -1.0, x))   # the same draws: the same square
    assert mask.sum(axis=(1, 2, 3)).max() == 64


@pytest.mark.parametrize("fill", [float("nan"), float("inf"), "black", None])
def test_cutout_rejects_a_bad_fill(fill):
    with pytest.raises(ValueError, match=r"^fill must be in \(-inf, inf\)\. Received: fill="):
        augment.cutout(square_images(), seed=0, fill=fill)


def test_color_on_one_channel_is_brightness_and_contrast_only():
    x = square_images(n=2)
    y = augment.color(x, seed=keras.random.SeedGenerator(3)).numpy()
    for before, after in zip(x, y):   # an affine map of the pixel values, one per image
        slope, intercept = np.polyfit(before.ravel(), after.ravel(), 1)
        np.testing.assert_allclose(after, slope * before + intercept, atol=1e-5)
        assert 0.5 <= slope <= 1.5


def test_diff_augment_is_seeded_and_checks_its_arguments():
    x = square_images()
    a = augment.diff_augment(x, seed=keras.random.SeedGenerator(5)).numpy()
    b = augment.diff_augment(x, seed=keras.random.SeedGenerator(5)).numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="policy must name"):
        augment.diff_augment(x, "rotation")
    with pytest.raises(ValueError, match="policy must be a string"):
        augment.diff_augment(x, None)
    with pytest.raises(ValueError, match="images must be"):
        augment.diff_augment(x[0], "color")
    with pytest.raises(ValueError, match=r"^images must be \(batch, height, width, channels\)\. Received: images\.shape=\(16, 16, 1\)$"):
        augment.diff_augment(x[0], "color")


def test_dcgan_keeps_its_diff_augment_policy(tmp_path):
    # That train_step applies the policy is checked in test_models.py.
    model = DCGAN(latent_dim=8, width=8, diff_augment="translation, cutout", seed=0)
    assert model.diff_augment == "translation,cutout"
    model.save(tmp_path / "dcgan.keras")
    assert keras.models.load_model(tmp_path / "dcgan.keras").diff_augment == "translation,cutout"
    assert DCGAN(latent_dim=8, width=8).diff_augment is None
    with pytest.raises(ValueError, match="policy must name"):
        DCGAN(diff_augment="flip")



def test_gan_update_shows_the_discriminator_only_augmented_images():
    # An "augmentation" that blanks every image: D then sees identical real and fake inputs.
    from genai_tf.models.updates import gan_update

    model = DCGAN(latent_dim=4, width=8, dropout=0.0, seed=0)
    real = tf.constant(np.random.default_rng(0).uniform(-1, 1, (6, 28, 28, 1)).astype("float32"))
    logs = gan_update(model.generator, model.discriminator, keras.optimizers.Adam(), keras.optimizers.Adam(),
                      real, 4, keras.random.SeedGenerator(0), augment=lambda images: 0.0 * images)
    assert float(logs["real_prob"]) == pytest.approx(float(logs["fake_prob"]), abs=1e-6)
    logs = gan_update(model.generator, model.discriminator, keras.optimizers.Adam(), keras.optimizers.Adam(),
                      real, 4, keras.random.SeedGenerator(0))
    assert abs(float(logs["real_prob"]) - float(logs["fake_prob"])) > 1e-4


# --- the policy string ---------------------------------------------------------------------------


def test_parse_policy_keeps_the_order_given_and_drops_spaces_and_empty_names():
    assert augment.POLICIES == ("color", "translation", "cutout")
    assert augment.parse_policy("cutout,color") == ("cutout", "color")
    assert augment.parse_policy(" translation ,, cutout, ") == ("translation", "cutout")
    assert augment.parse_policy(",".join(augment.POLICIES)) == augment.POLICIES


@pytest.mark.parametrize("policy", ["", " , ", "color,flip", "Color"])
def test_parse_policy_rejects_unknown_or_missing_names_quoting_the_policy(policy):
    with pytest.raises(ValueError, match=rf"^policy must name some of color, translation, cutout, separated by commas\. Received: policy={policy!r}$"):
        augment.parse_policy(policy)


# --- seeds and the order of the operations -----------------------------------------------------------


def test_the_policy_applies_its_operations_in_order_from_one_seed_generator():
    x = square_images()
    combined = augment.diff_augment(x, "translation,cutout", seed=keras.random.SeedGenerator(7)).numpy()
    generator = keras.random.SeedGenerator(7)
    by_hand = augment.cutout(augment.translation(tf.constant(x), generator), generator).numpy()
    np.testing.assert_array_equal(combined, by_hand)
    # Another order is another function of the same draws: cutout's zeros are now shifted in with the square.
    other = augment.diff_augment(x, "cutout,translation", seed=keras.random.SeedGenerator(7)).numpy()
    assert not np.array_equal(combined, other)


def test_an_int_seed_repeats_and_another_seed_differs():
    x = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    first = augment.diff_augment(x, seed=3).numpy()
    np.testing.assert_array_equal(augment.diff_augment(x, seed=3).numpy(), first)
    assert not np.array_equal(augment.diff_augment(x, seed=4).numpy(), first)
    assert first.shape == x.shape and first.dtype == np.float32


# --- translation -------------------------------------------------------------------------------------


def shifted(image, dy, dx, fill=-1.0):
    """image moved by (dy, dx) whole pixels: output[i, j] = image[i + dy, j + dx], ``fill`` outside."""
    height, width = image.shape[:2]
    out = np.full_like(image, fill)
    for i in range(height):
        for j in range(width):
            if 0 <= i + dy < height and 0 <= j + dx < width:
                out[i, j] = image[i + dy, j + dx]
    return out


def test_translation_is_an_exact_whole_pixel_shift_within_the_ratio_filled_with_minus_one():
    # Distinct pixel values, so each output identifies its shift; 16 * 0.125 = 2 pixels at most each way.
    x = np.linspace(-0.9, 0.9, 64 * 16 * 16, dtype="float32").reshape(64, 16, 16, 1)
    y = augment.translation(tf.constant(x), keras.random.SeedGenerator(4)).numpy()
    seen = set()
    for before, after in zip(x, y):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if np.array_equal(after, shifted(before, dy, dx))]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) >= 20   # 64 draws of 25 equally likely shifts reach most of them
    # A larger ratio allows larger shifts: 16 * 0.25 = 4 pixels.
    wide = augment.translation(tf.constant(x), keras.random.SeedGenerator(4), ratio=0.25).numpy()
    assert max(np.sum(np.all(image == -1.0, axis=(1, 2))) for image in wide) > 2   # more than 2 whole rows shifted in


def test_zero_translation_and_zero_cutout_are_the_identity():
    x = np.random.default_rng(5).uniform(-1, 1, (6, 12, 12, 2)).astype("float32")
    np.testing.assert_array_equal(augment.translation(tf.constant(x), keras.random.SeedGenerator(0), ratio=0.0), x)
    np.testing.assert_array_equal(augment.cutout(tf.constant(x), keras.random.SeedGenerator(0), ratio=0.0), x)


@pytest.mark.parametrize("operation", [augment.translation, augment.cutout])
@pytest.mark.parametrize("ratio", [-0.1, 1.5, float("nan"), "0.5"])
def test_ratios_outside_the_unit_interval_are_refused_naming_them(operation, ratio):
    with pytest.raises(ValueError, match=rf"^ratio must be in \[0\.0, 1\.0\]\. Received: ratio={ratio!r}$"):
        operation(tf.constant(square_images()), keras.random.SeedGenerator(0), ratio=ratio)


# --- cutout --------------------------------------------------------------------------------------------


def test_cutout_fills_with_the_background_and_with_zero_only_when_asked():
    # Issue 19: the paper's mask fills with 0, mid-grey on the [-1, 1] scale. The default fill is now the
    # background's -1, so a blank image stays blank; fill=0.0 gives the paper's square, drawn the same way.
    x = np.full((64, 16, 16, 1), -1.0, "float32")
    np.testing.assert_array_equal(augment.cutout(tf.constant(x), keras.random.SeedGenerator(6)).numpy(), x)
    y = augment.cutout(tf.constant(x), keras.random.SeedGenerator(6), fill=0.0).numpy()
    assert set(np.unique(y).tolist()) == {-1.0, 0.0}
    for image in y[..., 0]:
        rows, cols = np.nonzero(image == 0.0)
        assert len(rows) > 0
        # One axis-aligned rectangle, at most 16 * 0.5 = 8 pixels a side (less where the border cuts it).
        assert len(rows) == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
        assert np.ptp(rows) + 1 <= 8 and np.ptp(cols) + 1 <= 8
        whole = np.ptp(rows) + 1 == 8 and np.ptp(cols) + 1 == 8
        assert whole or rows.min() == 0 or cols.min() == 0 or rows.max() == 15 or cols.max() == 15


def test_cutout_cuts_the_same_square_in_every_channel():
    x = np.random.default_rng(7).uniform(0.1, 1.0, (8, 10, 10, 3)).astype("float32")   # no -1 before the cut
    y = augment.cutout(tf.constant(x), keras.random.SeedGenerator(8), ratio=0.3).numpy()
    cut = y == -1.0
    np.testing.assert_array_equal(cut, np.repeat(cut[..., :1], 3, axis=-1))
    np.testing.assert_array_equal(y[~cut], x[~cut])
    assert cut[..., 0].sum(axis=(1, 2)).max() == 9   # 10 * 0.3 = 3: a 3x3 square when inside the image


# --- color ---------------------------------------------------------------------------------------------


def test_color_on_a_constant_image_is_a_brightness_shift_of_at_most_one_half():
    # Saturation and contrast scale deviations from a mean, and a constant image has none: y = x + (r - 1/2).
    x = np.full((256, 4, 4, 3), 0.2, "float32")
    y = augment.color(tf.constant(x), keras.random.SeedGenerator(9)).numpy()
    shifts = (y - x).reshape(256, -1)
    np.testing.assert_allclose(shifts, shifts[:, :1].repeat(shifts.shape[1], axis=1), atol=1e-6)
    assert np.all(np.abs(shifts) <= 0.5 + 1e-6)
    assert shifts.min() < -0.4 and shifts.max() > 0.4   # r ~ U[0, 1]: 256 draws reach both ends


def test_color_keeps_a_grey_image_grey_and_is_not_clipped():
    # Equal channels have no deviation from their channel mean, so saturation leaves them equal.
    grey = np.random.default_rng(10).uniform(-1, 1, (16, 6, 6, 1)).astype("float32").repeat(3, axis=-1)
    y = augment.color(tf.constant(grey), keras.random.SeedGenerator(11)).numpy()
    np.testing.assert_allclose(y, y[..., :1].repeat(3, axis=-1), atol=1e-6)
    assert y.min() < -1.0 or y.max() > 1.0   # brightness and contrast move pixels past [-1, 1]; nothing clips them
