"""Throughput of the fused GAN step, measured against this machine's own matmul speed.

Usage: python benchmarks/train_step.py [--steps 2000] [--batch-size 256]

Prints:
- float32 matmul throughput (GFLOP/s) of a 1024x1024 product: the machine's peak
  for dense work, as TensorFlow sees it;
- the toy GAN step of notebook 02 (MLPs 2-128-128-2 and 2-128-128-1), fused
  in one tf.function, and the same step run eagerly: ms per step, the
  speed-up, and the fused step's useful GFLOP/s as a fraction of the matmul peak
  (Dense-layer FLOPs of the forward and backward passes the step needs, counted
  by _common.gan_step_flops).
"""

import argparse

import genai_tf
import keras

from _common import gan_step_flops, matmul_gflops, time_per_step
from genai_tf.datasets import make_dataset, ring_of_gaussians
from genai_tf.models import build_mlp_discriminator, build_mlp_generator
from genai_tf.training import make_gan_train_step


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
    fused_seconds = time_per_step(fused, batches, args.steps)[0]
    generator, discriminator, (g_opt, d_opt) = build()
    eager = make_gan_train_step(generator, discriminator, g_opt, d_opt, latent_dim=2).python_function
    eager_seconds = time_per_step(eager, batches, max(50, args.steps // 20))[0]

    # Forward and backward FLOPs of the Dense layers; the count is documented in _common.gan_step_flops.
    step_flops = gan_step_flops(generator, discriminator, args.batch_size)
    peak = matmul_gflops()
    achieved = step_flops / fused_seconds / 1e9
    print(f"matmul 1024x1024 float32: {peak:.1f} GFLOP/s")
    print(f"toy GAN step, batch {args.batch_size}: fused {1000 * fused_seconds:.2f} ms, "
          f"eager {1000 * eager_seconds:.2f} ms, speed-up {eager_seconds / fused_seconds:.1f}x")
    print(f"fused step: {achieved:.2f} GFLOP/s of dense-layer arithmetic = {achieved / peak:.1%} of the matmul figure")


if __name__ == "__main__":
    main()
