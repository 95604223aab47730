"""Plots: image grids and training curves."""

import numpy as np


def image_grid(images, ncols=10, pixel_range=(-1.0, 1.0)):
    """Tile images (N, H, W, 1) into one 2-D array in [0, 1], ready for ``imshow``.

    Images from a tanh generator live in [-1, 1]; this rescales them from
    ``pixel_range`` to [0, 1] and drops the channel axis, which
    ``matplotlib.pyplot.imshow`` does not accept for one channel (E-002-3).

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
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    grid = np.ones((nrows * h, ncols * w), dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, ncols)
        grid[r * h : (r + 1) * h, c * w : (c + 1) * w] = image
    return grid


def show_images(images, ncols=10, pixel_range=(-1.0, 1.0), title=None, ax=None):
    """Show images as one grid; returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        rows = -(-len(images) // ncols)
        _, ax = plt.subplots(figsize=(ncols * 0.6, rows * 0.6 + 0.4))
    ax.imshow(image_grid(images, ncols, pixel_range), cmap="gray", vmin=0.0, vmax=1.0)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax
