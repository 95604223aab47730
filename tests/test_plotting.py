"""Tests of genai_tf.plotting: image_grid's tiling by exact pixel values, and the figures the show_ functions draw.

matplotlib runs on the Agg backend (no display); every figure is closed after its test.
"""

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from genai_tf.music import REST  # noqa: E402
from genai_tf.plotting import image_grid, show_images, show_piano_roll  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def tiny_images():
    """Three 2x2 images in [-1, 1] whose pixels are all different: image k holds -1 + (4k + i) / 6, i = 0..3."""
    return (-1.0 + np.arange(12, dtype=np.float32) / 6.0).reshape(3, 2, 2, 1)


# --- image_grid -------------------------------------------------------------------------------------------


def test_image_grid_tiles_row_by_row_rescaled_to_the_unit_interval_with_white_empty_slots():
    grid = image_grid(tiny_images(), ncols=2)
    # (x + 1) / 2 maps -1 + j / 6 to j / 12; the fourth slot is white.
    expected = np.array(
        [
            [0, 1, 4, 5],
            [2, 3, 6, 7],
            [8, 9, 12, 12],
            [10, 11, 12, 12],
        ],
        np.float32,
    ) / 12.0
    assert grid.dtype == np.float32 and grid.shape == (4, 4)
    np.testing.assert_allclose(grid, expected, atol=1e-7)


def test_image_grid_with_more_columns_than_images_is_one_row_and_channel_axis_is_optional():
    images = tiny_images()
    row = image_grid(images, ncols=10)
    np.testing.assert_allclose(row, np.concatenate(list((images[..., 0] + 1.0) / 2.0), axis=1), atol=1e-7)
    np.testing.assert_array_equal(image_grid(images[..., 0], ncols=10), row)   # (N, H, W) works too
    np.testing.assert_array_equal(image_grid(images, ncols=1), np.concatenate(list((images[..., 0] + 1.0) / 2.0), axis=0))


def test_image_grid_maps_the_pixel_range_and_clips_outside_it():
    images = np.array([[[[-3.0], [0.0]], [[0.5], [2.0]]]], np.float32)   # one 2x2 image
    np.testing.assert_allclose(image_grid(images, pixel_range=(-1.0, 1.0)), [[0.0, 0.5], [0.75, 1.0]])
    np.testing.assert_allclose(image_grid(images, pixel_range=(0.0, 1.0)), [[0.0, 0.0], [0.5, 1.0]])
    np.testing.assert_allclose(image_grid(images, pixel_range=(0.0, 255.0)), [[0.0, 0.0], [0.5 / 255, 2.0 / 255]], rtol=1e-6)


@pytest.mark.parametrize("shape", [(3, 2, 2, 3), (2, 2), (1, 2, 2, 1, 1)])
def test_image_grid_refuses_other_shapes_naming_the_shape(shape):
    message = re.escape(f"images must be (N, H, W) or (N, H, W, 1). Received: shape={shape}")
    with pytest.raises(ValueError, match=f"^{message}$"):
        image_grid(np.zeros(shape))


@pytest.mark.parametrize("ncols", [0, -2, 2.0, True])
def test_image_grid_and_show_images_refuse_a_bad_column_count(ncols):
    for call in (image_grid, show_images):
        with pytest.raises(ValueError, match=rf"^ncols must be a positive integer\. Received: ncols={ncols!r}$"):
            call(tiny_images(), ncols=ncols)


# --- show_images --------------------------------------------------------------------------------------------


def test_show_images_draws_the_grid_in_grey_without_axes_on_a_figure_sized_by_the_grid():
    images = tiny_images()
    ax = show_images(images, ncols=2, title="three")
    assert len(ax.figure.axes) == 1 and ax.figure.axes[0] is ax
    (picture,) = ax.images
    np.testing.assert_allclose(np.asarray(picture.get_array()), image_grid(images, ncols=2))
    assert picture.get_clim() == (0.0, 1.0) and picture.get_cmap().name == "gray"
    assert not ax.axison and ax.get_title() == "three"
    np.testing.assert_allclose(ax.figure.get_size_inches(), [2 * 0.6, 2 * 0.6 + 0.4])   # 2 columns, 2 rows


def test_show_images_draws_on_a_given_axes_with_its_pixel_range():
    figure, (left, right) = plt.subplots(1, 2)
    images = np.linspace(0.0, 1.0, 8, dtype=np.float32).reshape(2, 2, 2, 1)
    assert show_images(images, ncols=2, pixel_range=(0.0, 1.0), ax=right) is right
    assert len(figure.axes) == 2 and not left.images and left.get_title() == "" and right.get_title() == ""
    np.testing.assert_allclose(np.asarray(right.images[0].get_array()), np.concatenate(list(images[..., 0]), axis=1))


# --- show_piano_roll ------------------------------------------------------------------------------------------


def bars(ax):
    """Each note bar as (onset, duration, bottom, height), in drawing order."""
    found = []
    for collection in ax.collections:
        for path in collection.get_paths():
            (x0, y0), (x1, y1) = path.vertices.min(axis=0), path.vertices.max(axis=0)
            found.append((x0, x1 - x0, y0, y1 - y0))
    return found


def test_show_piano_roll_draws_one_bar_per_note_and_a_gap_per_rest():
    melody = [(60, 1.0), (64, 0.5), (REST, 0.5), (67, 2.0), (72, 1.0)]
    ax = show_piano_roll(melody, title="arpeggio")
    np.testing.assert_allclose(
        bars(ax),
        [(0.0, 1.0, 59.6, 0.8), (1.0, 0.5, 63.6, 0.8), (2.0, 2.0, 66.6, 0.8), (4.0, 1.0, 71.6, 0.8)],
        atol=1e-9,
    )
    assert len(ax.figure.axes) == 1 and ax.get_title() == "arpeggio"
    assert ax.get_xlim() == (0.0, 5.0)                 # the whole melody, rest included: 5 quarter notes
    assert ax.get_ylim() == (58.5, 73.5)               # lowest and highest pitch, 1.5 semitones beyond
    assert list(ax.get_yticks()) == [60, 72]           # every C in range is labelled
    assert [label.get_text() for label in ax.get_yticklabels()] == ["C4", "C5"]
    # A grid line on every semitone: the minor ticks are the pitches the major (C) ticks leave out.
    assert sorted([*ax.get_yticks(minor=True), *ax.get_yticks()]) == list(range(59, 74))
    assert ax.get_xlabel() == "time (quarter notes)" and ax.get_ylabel() == "pitch"


def test_show_piano_roll_of_rests_only_and_of_a_range_without_a_c():
    ax = show_piano_roll([(REST, 2.0)])
    assert bars(ax) == [] and ax.get_xlim() == (0.0, 2.0) and ax.get_ylim() == (58.5, 73.5)   # the C4-C5 default
    ax = show_piano_roll([(62, 1.0), (65, 1.0)])                     # D4 to F4: no C in 61..66
    assert list(ax.get_yticks()) == [62] and [t.get_text() for t in ax.get_yticklabels()] == ["D4"]


def test_show_piano_roll_refuses_a_bad_melody_naming_it():
    with pytest.raises(ValueError, match=r"^melody must contain at least one note\. Received: melody=\[\]$"):
        show_piano_roll([])
