"""Training throughput on this machine: the MLP GAN three ways, the matmul roofline, bfloat16, other models.

Usage: python benchmarks/throughput.py [--steps 100] [--repeats 3] [--warmup 3]
           [--batch-sizes 64 256] [--skip concat bf16 models] [--notebooks [NOTEBOOK ...]] [--output PATH]
A smoke run (about 35 s here, nearly all of it importing TensorFlow and tracing the models):
    python benchmarks/throughput.py --steps 4 --repeats 1 --warmup 1 --batch-sizes 64 --skip concat bf16 models

All on the embedded MNIST sample (the 4,500 training images), cut once into
fixed batches so that no input pipeline is timed:

(a) the MLP GAN of notebook 03 (``genai_tf.models.GAN``'s networks: generator
    100-128-256-512-1024-784 with BatchNorm, discriminator 784-512-256-1 with
    dropout), images in [-1, 1], Adam(2e-4, beta_1=0.5), trained three ways:
    - the seed-style Keras 2 loop of the source texts, corrected so that the
      generator trains: per batch ``generator.predict(noise)``,
      ``discriminator.train_on_batch(real, ones)``,
      ``discriminator.train_on_batch(fake, zeros)``, then
      ``combined.train_on_batch(noise, ones)`` with combined =
      discriminator(generator(z)) and the discriminator frozen inside it.
      Keras 3 reads ``trainable`` when a model's train function is traced (at
      its first ``train_on_batch``), not at ``compile()``: the combined model
      is traced while the discriminator is frozen, and the run checks that its
      step changes the generator and leaves the discriminator alone. Also
      notebook 03's variant, one discriminator call on real and fakes
      concatenated;
    - ``keras.Model.fit`` with ``GAN.train_step``, timed per epoch of --steps steps;
    - the fused ``tf.function`` step of ``genai_tf.training.make_gan_train_step``;
    as images per second and as ratios to the slowest;
(b) the fused step's GFLOP/s of Dense-layer arithmetic (forward and backward,
    counted by ``_common.gan_step_flops``) as a fraction of a float32
    1024x1024 matmul measured in the same run;
(c) the fused step under the ``keras.mixed_precision`` policy "mixed_bfloat16"
    against float32, and whether the CPU has native bf16 instructions
    (avx512_bf16 or amx_bf16 among the /proc/cpuinfo flags); the float32
    policy is restored afterwards;
(d) the DCGAN of notebook 04 (batch 64; fit() and the fused step) and the VAEs
    of notebooks 07 (MLP) and 08 (convolutional) through fit() (batch 128,
    images in [0, 1]);
(e) each notebook's full-mode wall time stored in its metadata and, with
    --notebooks, its quick-mode time measured now (budgets.py's machinery).

Every figure is the median of --repeats timed runs of --steps steps (--steps
// 4 for the slow variants: the seed-style loops, bfloat16, DCGAN, the
convolutional VAE), each after --warmup untimed steps. Seeded with
``genai_tf.set_seed(0, deterministic=False)``: op determinism stays off, so
TensorFlow may pick its fastest kernels. Prints tables and the targets below
(not asserted: nothing fails on a slow machine) and writes every figure, with
the machine, the date and the arguments, to outputs/benchmarks/throughput.json.

Targets: the fused step >= 5x the seed-style loop's images/s; the fused step
>= 60% of the float32 matmul roofline at batch 256.
"""

import argparse
import datetime
import json
import platform
import statistics
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import budgets
import genai_tf
import genai_tf.config
import genai_tf.machine
from _common import gan_step_flops, matmul_gflops, time_per_step
from genai_tf import datasets
from genai_tf.models import DCGAN, GAN, VAE
from genai_tf.training import make_gan_train_step

ROOT = Path(__file__).resolve().parent.parent
LATENT_DIM = 100                 # notebooks 03 and 04
VAE_LATENT_DIM = 16              # notebooks 07 and 08
VAE_BATCH_SIZE = 128             # notebooks 07 and 08
DCGAN_BATCH_SIZE = 64            # notebook 04
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
SPEED_UP_TARGET = 5.0            # fused step / seed-style loop, images per second
ROOFLINE_TARGET = 0.60           # fused step / float32 matmul, at ROOFLINE_BATCH_SIZE
ROOFLINE_BATCH_SIZE = 256
GAN_LOOPS = {
    "seed_style": "seed-style loop: predict, D on real, D on fake, combined (source texts, corrected)",
    "seed_style_concat": "seed-style loop, one D call on real + fake (notebook 03)",
    "fit": "keras fit() with GAN.train_step",
    "fused": "fused tf.function step (make_gan_train_step)",
}


def adam():
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


def cut_batches(images, batch_size, seed=0):
    """Shuffle once with ``seed`` and cut into full batches of ``batch_size`` (NumPy arrays)."""
    order = np.random.default_rng(seed).permutation(len(images))
    return [images[order[i : i + batch_size]] for i in range(0, len(images) - batch_size + 1, batch_size)]


def summarise(seconds, batch_size):
    """A timing's record: median ms/step and images/s, and every repeat's ms/step."""
    median = statistics.median(seconds)
    return {
        "batch_size": batch_size,
        "ms_per_step": 1000 * median,
        "images_per_second": batch_size / median,
        "ms_per_step_repeats": [1000 * s for s in seconds],
    }


class EpochTimer(keras.callbacks.Callback):
    """Wall seconds of every epoch of a fit() call (no per-batch hooks, so no extra per-step sync)."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def time_fit(model, batches, steps, repeats, warmup):
    """Seconds per step of ``model.fit`` on the batches: ``repeats`` epochs of ``steps`` steps after ``warmup`` steps."""
    dataset = tf.data.Dataset.from_tensor_slices(np.stack(batches)).repeat().prefetch(tf.data.AUTOTUNE)
    model.fit(dataset, epochs=1, steps_per_epoch=max(1, warmup), shuffle=False, verbose=0)
    timer = EpochTimer()
    model.fit(dataset, epochs=repeats, steps_per_epoch=steps, shuffle=False, verbose=0, callbacks=[timer])
    return [seconds / steps for seconds in timer.seconds]


def seed_style_loop(batch_size, first_batch, concatenate=False, seed=0):
    """The source texts' Keras 2 loop with a frozen combined model, on fresh MLP GAN networks.

    Returns:
        (step, checks): ``step(real_images)`` runs one batch; ``checks`` says
        whether the combined model's step, once both train functions are
        traced, changed the generator's and the discriminator's weights.
    """
    networks = GAN(latent_dim=LATENT_DIM, seed=seed)
    generator, discriminator = networks.generator, networks.discriminator
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    discriminator.compile(optimizer=adam(), loss=loss)
    rng = np.random.default_rng(seed)
    ones, zeros = np.ones((batch_size, 1), "float32"), np.zeros((batch_size, 1), "float32")

    def noise():
        return rng.standard_normal((batch_size, LATENT_DIM)).astype("float32")

    # Keras 3 fixes a model's trainable variables when its train function is traced,
    # at the first train_on_batch: trace the combined model while D is frozen.
    discriminator.trainable = False
    combined = keras.Sequential([generator, discriminator])
    combined.compile(optimizer=adam(), loss=loss)
    combined.train_on_batch(noise(), ones)
    discriminator.trainable = True
    discriminator.train_on_batch(first_batch, ones)
    d_before = discriminator.get_weights()
    g_before = [v.numpy() for v in generator.trainable_variables]
    combined.train_on_batch(noise(), ones)
    checks = {
        "combined_step_changes_generator": any(
            not np.array_equal(a, v.numpy()) for a, v in zip(g_before, generator.trainable_variables)
        ),
        "combined_step_changes_discriminator": any(
            not np.array_equal(a, b) for a, b in zip(d_before, discriminator.get_weights())
        ),
    }

    def step(real_images):
        z = noise()
        fake_images = generator.predict(z, verbose=0)
        if concatenate:
            discriminator.train_on_batch(np.concatenate([real_images, fake_images]), np.concatenate([ones, zeros]))
        else:
            discriminator.train_on_batch(real_images, ones)
            discriminator.train_on_batch(fake_images, zeros)
        combined.train_on_batch(z, ones)

    return step, checks


def fused_step(networks, seed=0):
    return make_gan_train_step(networks.generator, networks.discriminator, adam(), adam(), networks.latent_dim, seed=seed)


def mlp_gan(images, batch_size, args):
    """(a), (b) and (c) at one batch size: the four loops, the fused step's FLOP count, bfloat16."""
    batches = cut_batches(images, batch_size)
    tensors = [tf.constant(b) for b in batches]
    timing = dict(repeats=args.repeats, warmup=args.warmup)
    loops, checks = {}, {}
    for name, concatenate in (("seed_style", False), ("seed_style_concat", True)):
        if concatenate and "concat" in args.skip:
            continue
        step, checks[name] = seed_style_loop(batch_size, batches[0], concatenate)
        loops[name] = summarise(time_per_step(step, batches, args.slow_steps, **timing), batch_size)
    model = GAN(latent_dim=LATENT_DIM, seed=0)
    model.compile()   # Adam(2e-4, beta_1=0.5) for both networks
    loops["fit"] = summarise(time_fit(model, batches, args.steps, **timing), batch_size)
    networks = GAN(latent_dim=LATENT_DIM, seed=0)
    loops["fused"] = summarise(time_per_step(fused_step(networks), tensors, args.steps, **timing), batch_size)
    slowest = min(loop["images_per_second"] for loop in loops.values())
    for loop in loops.values():
        loop["ratio_to_slowest"] = loop["images_per_second"] / slowest
    result = {
        "loops": loops,
        "seed_style_checks": checks,
        "fused_flops_per_step": gan_step_flops(networks.generator, networks.discriminator, batch_size),
    }
    if "bf16" not in args.skip:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        try:
            bf16_networks = GAN(latent_dim=LATENT_DIM, seed=0)
            seconds = time_per_step(fused_step(bf16_networks), tensors, args.slow_steps, **timing)
        finally:
            keras.mixed_precision.set_global_policy("float32")
        result["fused_mixed_bfloat16"] = summarise(seconds, batch_size)
    return result


def other_models(args):
    """(d): DCGAN (fit and fused step) and the MLP and convolutional VAEs (fit), images per second."""
    timing = dict(repeats=args.repeats, warmup=args.warmup)
    gan_images, _ = datasets.load("mnist_sample", "train", pixel_range=(-1, 1))
    vae_images, _ = datasets.load("mnist_sample", "train", pixel_range=(0, 1))   # a Bernoulli decoder needs [0, 1]
    gan_batches = cut_batches(gan_images, DCGAN_BATCH_SIZE)
    vae_batches = cut_batches(vae_images, VAE_BATCH_SIZE)
    results = {}

    dcgan = DCGAN(latent_dim=LATENT_DIM, seed=0)
    dcgan.compile()
    results["dcgan_fit"] = summarise(time_fit(dcgan, gan_batches, args.slow_steps, **timing), DCGAN_BATCH_SIZE)
    step = fused_step(DCGAN(latent_dim=LATENT_DIM, seed=0))
    seconds = time_per_step(step, [tf.constant(b) for b in gan_batches], args.slow_steps, **timing)
    results["dcgan_fused"] = summarise(seconds, DCGAN_BATCH_SIZE)
    for name, architecture, steps in (("vae_mlp_fit", "mlp", args.steps), ("vae_conv_fit", "conv", args.slow_steps)):
        vae = VAE(latent_dim=VAE_LATENT_DIM, architecture=architecture, seed=0)
        vae.compile(optimizer=keras.optimizers.Adam(1e-3))
        results[name] = summarise(time_fit(vae, vae_batches, steps, **timing), VAE_BATCH_SIZE)
    return results


MODEL_ROWS = {
    "dcgan_fit": ("DCGAN", "04", "fit() with DCGAN.train_step"),
    "dcgan_fused": ("DCGAN", "04", "fused tf.function step"),
    "vae_mlp_fit": ("VAE, MLP 784-512-256-16", "07", "fit() with VAE.train_step"),
    "vae_conv_fit": ("VAE, convolutional", "08", "fit() with VAE.train_step"),
}


def machine_description():
    cpu = genai_tf.machine.cpu_info()
    bf16_flags = [flag for flag in BF16_FLAGS if flag in cpu["flags"]]
    return {
        "cpu": cpu["model"],
        "cores": cpu["cores"],
        "native_bf16": bool(bf16_flags),
        "bf16_flags": bf16_flags,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def print_table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|---" * len(header) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print(flush=True)


def print_gan_sections(by_batch, peak, machine):
    print("(a) MLP GAN training step (notebook 03's networks, MNIST sample in [-1, 1])")
    print_table(
        ["batch", "training loop", "ms/step", "images/s", "x slowest"],
        [
            (batch, GAN_LOOPS[name], f"{loop['ms_per_step']:.1f}", f"{loop['images_per_second']:.0f}",
             f"{loop['ratio_to_slowest']:.1f}x")
            for batch, result in by_batch.items()
            for name, loop in result["loops"].items()
        ],
    )
    for batch, result in by_batch.items():
        checks = result["seed_style_checks"]["seed_style"]
        print(f"batch {batch}: the frozen combined model's step changed the generator: "
              f"{checks['combined_step_changes_generator']}, the discriminator: {checks['combined_step_changes_discriminator']}")
    print(f"\n(b) fused step against the float32 matmul roofline: 1024x1024 matmul {peak:.1f} GFLOP/s")
    print_table(
        ["batch", "Dense MFLOP/step (fwd + bwd)", "fused ms/step", "GFLOP/s", "% of roofline"],
        [
            (batch, f"{result['fused_flops_per_step'] / 1e6:.0f}", f"{result['loops']['fused']['ms_per_step']:.1f}",
             f"{result['fused_gflops']:.1f}", f"{result['fraction_of_roofline']:.0%}")
            for batch, result in by_batch.items()
        ],
    )
    bf16_rows = [
        (batch, f"{result['loops']['fused']['images_per_second']:.0f}",
         f"{result['fused_mixed_bfloat16']['images_per_second']:.0f}", f"{result['bf16_over_float32']:.2f}x")
        for batch, result in by_batch.items()
        if "fused_mixed_bfloat16" in result
    ]
    if bf16_rows:
        native = ("yes (" + ", ".join(machine["bf16_flags"]) + ")") if machine["native_bf16"] else (
            "no (neither avx512_bf16 nor amx_bf16 among the /proc/cpuinfo flags)"
        )
        print(f"(c) fused step under mixed_bfloat16; native bf16 on this CPU: {native}")
        print_table(["batch", "float32 images/s", "mixed_bfloat16 images/s", "bf16 / fp32"], bf16_rows)


def targets(by_batch):
    """The two targets, measured and judged ("met" is None where the batch size was not run)."""
    speed_ups = {
        str(batch): result["loops"]["fused"]["images_per_second"] / result["loops"]["seed_style"]["images_per_second"]
        for batch, result in by_batch.items()
    }
    roofline = by_batch.get(ROOFLINE_BATCH_SIZE, {}).get("fraction_of_roofline")
    return {
        "fused_over_seed_style": {
            "target": SPEED_UP_TARGET,
            "measured": speed_ups,
            "met": {batch: value >= SPEED_UP_TARGET for batch, value in speed_ups.items()},
        },
        "fused_fraction_of_roofline": {
            "target": ROOFLINE_TARGET,
            "batch_size": ROOFLINE_BATCH_SIZE,
            "measured": roofline,
            "met": None if roofline is None else roofline >= ROOFLINE_TARGET,
        },
    }


def print_targets(judged, by_batch):
    speed = judged["fused_over_seed_style"]
    for batch, result in by_batch.items():
        loops = result["loops"]
        line = (f"target: fused step >= {speed['target']:.0f}x the seed-style loop's images/s at batch {batch}: "
                f"{speed['measured'][str(batch)]:.1f}x -> {'met' if speed['met'][str(batch)] else 'missed'}")
        if "seed_style_concat" in loops:
            line += f" (against notebook 03's variant: {loops['fused']['images_per_second'] / loops['seed_style_concat']['images_per_second']:.1f}x)"
        print(line)
    roof = judged["fused_fraction_of_roofline"]
    verdict = "not measured" if roof["met"] is None else f"{roof['measured']:.0%} -> {'met' if roof['met'] else 'missed'}"
    print(f"target: fused step >= {roof['target']:.0%} of the float32 matmul roofline at batch {roof['batch_size']}: {verdict}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100, help="timed steps per repeat (fast variants)")
    parser.add_argument("--slow-steps", type=int, help="timed steps per repeat of the slow variants (default: steps // 4)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per variant; the median is reported")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed steps before each variant's timing (fit() always runs at least one)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, ROOFLINE_BATCH_SIZE],
                        help="MLP GAN batch sizes: 64 is notebook 03's, 256 the roofline target's")
    parser.add_argument("--skip", nargs="+", default=[], choices=["concat", "bf16", "models"],
                        help="leave out notebook 03's seed-style variant, (c) or (d)")
    parser.add_argument("--notebooks", nargs="*", metavar="NOTEBOOK",
                        help="also run these notebooks (none named: all) in quick mode and report their wall time")
    parser.add_argument("--output", type=Path, help="JSON file (default: outputs/benchmarks/throughput.json)")
    args = parser.parse_args(argv)
    for name in ("steps", "repeats", "slow_steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1. Received: {value}")
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0. Received: {args.warmup}")
    args.slow_steps = args.slow_steps or max(1, args.steps // 4)
    return args


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    genai_tf.config.quiet_tensorflow()
    genai_tf.set_seed(0, deterministic=False)
    machine = machine_description()
    print(f"machine: {machine['cpu']}, {machine['cores']} cores · TensorFlow {machine['tensorflow']} · "
          f"Keras {machine['keras']} · Python {machine['python']}")
    print(f"settings: {args.steps} steps ({args.slow_steps} for slow variants) x {args.repeats} repeats, "
          f"median reported, {args.warmup} warm-up steps; set_seed(0, deterministic=False)\n", flush=True)

    peaks = [matmul_gflops() for _ in range(args.repeats)]
    peak = statistics.median(peaks)
    images, _ = datasets.load("mnist_sample", "train", pixel_range=(-1, 1))
    by_batch = {batch: mlp_gan(images, batch, args) for batch in args.batch_sizes}
    for result in by_batch.values():
        fused = result["loops"]["fused"]
        result["fused_gflops"] = result["fused_flops_per_step"] / (fused["ms_per_step"] / 1000) / 1e9
        result["fraction_of_roofline"] = result["fused_gflops"] / peak
        if "fused_mixed_bfloat16" in result:
            result["bf16_over_float32"] = result["fused_mixed_bfloat16"]["images_per_second"] / fused["images_per_second"]
    print_gan_sections(by_batch, peak, machine)

    models = None if "models" in args.skip else other_models(args)
    if models:
        print("(d) other models")
        print_table(
            ["model", "notebook", "batch", "training path", "ms/step", "images/s"],
            [(*MODEL_ROWS[name][:2], r["batch_size"], MODEL_ROWS[name][2], f"{r['ms_per_step']:.1f}",
              f"{r['images_per_second']:.0f}") for name, r in models.items()],
        )

    seconds = budgets.stored_seconds(ROOT / "notebooks")
    modes = ["full"]
    if args.notebooks is not None:
        budgets.run_seconds("quick", args.notebooks, seconds)
        modes = ["quick", "full"]
    print("(e) notebook wall time" + ("" if args.notebooks is not None else " (full mode as stored; --notebooks measures quick mode)"))
    print("\n".join(budgets.table(seconds, modes)) + "\n")

    judged = targets(by_batch)
    print_targets(judged, by_batch)
    results = {
        "machine": machine,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "arguments": {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()},
        "matmul_gflops": peak,
        "matmul_gflops_repeats": peaks,
        "mlp_gan": {str(batch): result for batch, result in by_batch.items()},
        "models": models,
        "notebook_seconds": seconds,
        "targets": judged,
        "wall_seconds": time.perf_counter() - start,
    }
    path = args.output or genai_tf.config.outputs_dir("benchmarks") / "throughput.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path} ({results['wall_seconds']:.0f} s)")
    return results


if __name__ == "__main__":
    main()
