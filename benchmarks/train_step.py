"""Throughput of the fused GAN step, measured against this machine's own matmul speed.

Usage: python benchmarks/train_step.py [--steps 2000] [--batch-size 256]

Prints:
- float32 matmul throughput (GFLOP/s) of a 1024x1024 product: the machine's peak
  for dense work, as TensorFlow sees it;
- the toy GAN step of notebook 02 (MLPs 2-128-128-2 and 2-128-128-1), fused
  in one tf.function, and the same step run eagerly: ms per step, the
  speed-up, and the fused step's useful GFLOP/s as a fraction of the matmul peak.
"""

import argparse
import time

import genai_tf
import keras
import tensorflow as tf

from genai_tf.data import make_dataset, ring_of_gaussians
from genai_tf.models import build_mlp_discriminator, build_mlp_generator
from genai_tf.training import make_gan_train_step


def matmul_gflops(n=1024, repeats=30):
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    product = tf.function(lambda a, b: tf.matmul(a, b))
    product(a, b).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        result = product(a, b)
    result.numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def dense_flops(model, batch_size):
    """Multiply-adds of the Dense layers, forward only, counted as 2 FLOPs each."""
    return sum(2 * batch_size * layer.kernel.shape[0] * layer.kernel.shape[1]
               for layer in model.layers if isinstance(layer, keras.layers.Dense))


def time_step(step, batches, steps):
    step(batches[0])
    start = time.perf_counter()
    for i in range(steps):
        logs = step(batches[i % len(batches)])
    float(logs["d_loss"])
    return (time.perf_counter() - start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    genai_tf.set_seed(0, deterministic=False)
    samples, _ = ring_of_gaussians(20_000, std=0.05)
    batches = list(make_dataset(samples, batch_size=args.batch_size).take(50))

    def build():
        generator = build_mlp_generator(2, (2,), (128, 128))
        discriminator = build_mlp_discriminator((2,), (128, 128))
        optimizers = keras.optimizers.Adam(3e-4), keras.optimizers.Adam(3e-4)
        return generator, discriminator, optimizers

    generator, discriminator, (g_opt, d_opt) = build()
    fused = make_gan_train_step(generator, discriminator, g_opt, d_opt, latent_dim=2)
    fused_seconds = time_step(fused, batches, args.steps)
    generator, discriminator, (g_opt, d_opt) = build()
    eager = make_gan_train_step(generator, discriminator, g_opt, d_opt, latent_dim=2).python_function
    eager_seconds = time_step(eager, batches, max(50, args.steps // 20))

    # One step: D forward on real and fake, G forward twice, D forward on fake again;
    # backward passes cost about twice their forward pass.
    g_flops, d_flops = dense_flops(generator, args.batch_size), dense_flops(discriminator, args.batch_size)
    step_flops = 3 * (2 * d_flops + g_flops) + 3 * (g_flops + d_flops)
    peak = matmul_gflops()
    achieved = step_flops / fused_seconds / 1e9
    print(f"matmul 1024x1024 float32: {peak:.1f} GFLOP/s")
    print(f"toy GAN step, batch {args.batch_size}: fused {1000 * fused_seconds:.2f} ms, "
          f"eager {1000 * eager_seconds:.2f} ms, speed-up {eager_seconds / fused_seconds:.1f}x")
    print(f"fused step: {achieved:.2f} GFLOP/s of dense-layer arithmetic = {achieved / peak:.1%} of the matmul figure")


if __name__ == "__main__":
    main()
