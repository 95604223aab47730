"""Helpers shared by the benchmark scripts: the matmul roofline, FLOP counts, step timing.

Imported by ``train_step.py`` and ``throughput.py`` (run as scripts from the
repository root, so this folder is on ``sys.path``).
"""

import time

import keras
import tensorflow as tf

from genai_tf.machine import matmul_gflops  # noqa: F401  (the roofline every benchmark prints)


def dense_flops(model, batch_size):
    """FLOPs of each Dense layer's forward pass, in order: 2 per multiply-add."""
    return [
        2 * batch_size * layer.kernel.shape[0] * layer.kernel.shape[1]
        for layer in model.layers
        if isinstance(layer, keras.layers.Dense)
    ]


def gan_step_flops(generator, discriminator, batch_size):
    """Dense-layer FLOPs of one fused GAN step (``genai_tf.models.updates.gan_update``), forward and backward.

    Formula (G, D: the forward FLOPs of all Dense layers of each network on
    one batch; G1, D1: those of its first Dense layer; a layer's backward pass
    costs one forward for the weight gradient and one for the input gradient):
        D update: G forward, D forward on real and on fake (2D), D weight
            gradients (2D), D input gradients except at D's first layer
            (2(D - D1)); no gradient flows into G.
        G update: G forward, D forward, D input gradients (D, no D weight
            gradients), G weight gradients (G), G input gradients except at
            G's first layer (G - G1).
        total = 4G - G1 + 8D - 2 D1

    Bias additions, activations, BatchNorm, dropout, the losses and the
    optimizer updates are not counted: they are memory-bound and small next
    to the matrix products. Dense layers wrapped in another layer (spectral
    normalisation) are not counted either.
    """
    g, d = dense_flops(generator, batch_size), dense_flops(discriminator, batch_size)
    return 4 * sum(g) - g[0] + 8 * sum(d) - 2 * d[0]


def _read_back(result):
    """Wait for a step's queued work: read one of its output tensors into NumPy."""
    if isinstance(result, dict):
        result = next(iter(result.values()))
    if hasattr(result, "numpy"):
        result.numpy()


def time_per_step(run_step, batches, steps, repeats=1, warmup=1):
    """Seconds per call of ``run_step(batch)``, one figure per repeat, after ``warmup`` untimed calls.

    The batches are used in turn. A returned tensor (or dict of tensors) is
    read back after the last call of each repeat, so work still queued is
    inside the timing.
    """
    for i in range(warmup):
        _read_back(run_step(batches[i % len(batches)]))
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(steps):
            result = run_step(batches[i % len(batches)])
        _read_back(result)
        seconds.append((time.perf_counter() - start) / steps)
    return seconds
