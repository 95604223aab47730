"""Plots: image grids, training curves and piano rolls."""

import numpy as np

from genai_tf.validation import positive_int


def image_grid(images, ncols=10, pixel_range=(-1.0, 1.0)):
    """Tile images (N, H, W, 1) into one 2-D array in [0, 1], ready for ``imshow``.

    Images from a tanh generator live in [-1, 1]; this rescales them from
    ``pixel_range`` to [0, 1] and drops the channel axis, which
    ``matplotlib.pyplot.imshow`` does not accept for one channel (E-002-3).

    Args:
        images: (N, H, W) or (N, H, W, 1) pixel values in ``pixel_range``;
            values outside it are clipped.
        ncols: images per row, a positive integer (at most N are used).
        pixel_range: (low, high), mapped to 0 (black) and 1 (white).

    Returns:
        float32 array (rows * H, columns * W) in [0, 1], row by row from the
        top-left; the slots after the last image are white (1).

    Example:
    >>> image_grid(np.zeros((3, 2, 2, 1)), ncols=2).shape
    (4, 4)
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(f"images must be (N, H, W) or (N, H, W, 1). Received: shape={images.shape}")
    low, high = pixel_range
    images = np.clip((images - low) / (high - low), 0.0, 1.0)
    n, h, w = images.shape
    ncols = max(1, min(positive_int(ncols, "ncols"), n))
    nrows = -(-n // ncols)
    grid = np.ones((nrows * h, ncols * w), dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, ncols)
        grid[r * h : (r + 1) * h, c * w : (c + 1) * w] = image
    return grid


def show_images(images, ncols=10, pixel_range=(-1.0, 1.0), title=None, ax=None):
    """Show images as one grid (see :func:`image_grid`), grey from black (0) to white (1), axes hidden.

    Args:
        images, ncols, pixel_range: as in :func:`image_grid`.
        title: optional title.
        ax: matplotlib Axes to draw on; a new figure about 0.6 inch per image when ``None``.

    Returns:
        The matplotlib Axes (its figure is ``ax.figure``).
    """
    import matplotlib.pyplot as plt

    ncols = positive_int(ncols, "ncols")
    if ax is None:
        rows = -(-len(images) // ncols)
        _, ax = plt.subplots(figsize=(ncols * 0.6, rows * 0.6 + 0.4))
    ax.imshow(image_grid(images, ncols, pixel_range), cmap="gray", vmin=0.0, vmax=1.0)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def show_piano_roll(melody, ax=None, title=None, color="tab:blue"):
    """Draw a melody as a piano roll: one bar per note, time in quarter notes, MIDI pitch upward.

    Rests leave gaps; every C is labelled on the pitch axis (C4 = middle C = 60).

    Args:
        melody: list of ``(pitch, duration)`` notes as in :mod:`genai_tf.music`.
        ax: matplotlib Axes to draw on; a new figure when ``None``.
        title: optional title.
        color: the notes' colour.

    Returns:
        The matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    from genai_tf.music import REST, pitch_name, validate_melody

    notes = validate_melody(melody)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 2.5))
    onset, pitches = 0.0, []
    for pitch, duration in notes:
        if pitch != REST:
            ax.broken_barh([(onset, duration)], (pitch - 0.4, 0.8), facecolors=color, edgecolors="black", linewidth=0.5)
            pitches.append(pitch)
        onset += duration
    low, high = (min(pitches), max(pitches)) if pitches else (60, 72)
    ax.set_xlim(0, onset)
    ax.set_ylim(low - 1.5, high + 1.5)
    c_pitches = [p for p in range(low - 1, high + 2) if p % 12 == 0] or [low]
    ax.set_yticks(c_pitches, [pitch_name(p) for p in c_pitches])
    ax.set_yticks(range(low - 1, high + 2), minor=True)
    ax.grid(axis="y", which="minor", alpha=0.2)
    ax.set_xlabel("time (quarter notes)")
    ax.set_ylabel("pitch")
    if title:
        ax.set_title(title)
    return ax
