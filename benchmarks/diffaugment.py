"""Fréchet distance against training steps: the DCGAN without and with DiffAugment, long runs.

Usage: python benchmarks/diffaugment.py [--images 4500] [--steps 16000] [--eval-every 1000]
                                        [--width 32] [--policy translation,cutout] [--seed 0]

Notebook 12 compares the two on a 10-minute budget, where DiffAugment loses;
its gains in the paper (Zhao et al. 2020, https://arxiv.org/abs/2006.10738)
come from long runs in which the plain discriminator overfits its training
images and stops teaching the generator. This script trains both DCGANs of
notebook 12 (no dropout in the discriminator, the same seed, the same batches)
for many more steps, alternating between them every ``--eval-every`` steps so
that an interrupted run still compares them at equal steps. At each checkpoint
it prints and records:

- the Fréchet distance of ``--samples`` generated images to the 500 held-out
  images, on the evaluation classifier's features (notebook 11);
- the discriminator's overfitting gap: its mean D(x) on its own training
  images minus on the held-out images.

The record goes to outputs/benchmarks/diffaugment_<images>_<policy>.json after
every checkpoint, with the machine's matmul throughput, and both models to
.keras files beside it. ``--resume`` loads them and continues to ``--steps``
(e.g. to extend a 16,000-step run to 30,000). Prints figures; asserts
nothing. An uninterrupted run is deterministic for a seed on one machine (op
determinism); a resumed one is not identical to it, because the batches after
the resume come from a new shuffle (seeded by the step).
"""

import argparse
import json
import platform
import time

import keras
import numpy as np
import tensorflow as tf

import genai_tf
import genai_tf.config
from genai_tf import augment, classifier, datasets, metrics
from genai_tf.validation import positive_int_arg as positive_int
from genai_tf.models import DCGAN

from _common import matmul_gflops


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=positive_int, default=4500,
                        help="training images drawn from the sample's training split (4,500 = all of it)")
    parser.add_argument("--steps", type=positive_int, default=16000, help="generator steps per run")
    parser.add_argument("--eval-every", type=positive_int, default=1000, help="steps between checkpoints")
    parser.add_argument("--width", type=positive_int, default=32, help="DCGAN channel width (notebook 04 uses 64)")
    parser.add_argument("--policy", default="translation,cutout", help="DiffAugment operations, comma-separated")
    parser.add_argument("--samples", type=positive_int, default=2000, help="generated images per Fréchet distance")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue the saved run of these settings")
    args = parser.parse_args(argv)
    augment.parse_policy(args.policy)   # raises a ValueError naming the valid operations
    return args


def discriminator_gap(gan, train_images, test_images):
    """Mean sigmoid(D(x)) on the GAN's training images minus on held-out images."""
    mean_d = lambda images: float(np.mean(tf.sigmoid(gan.discriminator.predict(images, batch_size=500, verbose=0))))
    return mean_d(train_images) - mean_d(test_images)


def main(argv=None):
    args = parse_args(argv)
    out = genai_tf.config.outputs_dir("benchmarks") / f"diffaugment_{args.images}_{args.policy.replace(',', '+')}.json"
    model_path = lambda name: out.with_name(f"{out.stem}_{name}.keras")
    first_step = 0
    if args.resume:
        if not out.exists():
            raise SystemExit(f"--resume: no saved run at {out}")
        saved = json.loads(out.read_text())
        for key in ("images", "width", "policy", "seed", "eval_every", "samples"):
            if saved["settings"][key] != getattr(args, key):
                raise SystemExit(f"--resume: the saved run has {key}={saved['settings'][key]!r}, not {getattr(args, key)!r}")
        first_step = saved["runs"]["plain"]["steps"][-1]
    elif out.exists():
        raise SystemExit(f"{out} holds a run of these settings: pass --resume to extend it, or delete it first")
    genai_tf.config.quiet_tensorflow()
    genai_tf.set_seed(args.seed)
    train_images, _ = datasets.load("mnist_sample", "train", pixel_range=(-1, 1))
    test_images, _ = datasets.load("mnist_sample", "test", pixel_range=(-1, 1))
    if args.images > len(train_images):
        raise SystemExit(f"--images must be at most {len(train_images)}. Received: {args.images}")
    rng = np.random.default_rng(args.seed)
    gan_images = train_images[np.sort(rng.choice(len(train_images), args.images, replace=False))]
    evaluation_classifier = classifier.load_classifier()
    test_features = classifier.classifier_features(test_images, evaluation_classifier)
    record = {
        "settings": vars(args),
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "tensorflow": tf.__version__, "matmul_gflops": round(matmul_gflops(), 1)},
        "runs": {},
    }
    if args.resume:
        record["runs"] = saved["runs"]
        record["resumed_at"] = saved.get("resumed_at", []) + [first_step]
    print(f"{args.images} training images, width {args.width}, {args.steps} steps, policy {args.policy}; "
          f"matmul {record['machine']['matmul_gflops']} GFLOP/s; record: {out}")

    runs = {}
    for name, policy in (("plain", None), ("diffaugment", args.policy)):
        if args.resume:
            gan = keras.models.load_model(model_path(name))
        else:
            gan = DCGAN(latent_dim=100, width=args.width, dropout=0.0, diff_augment=policy, seed=args.seed)
            gan.compile()
            record["runs"][name] = {"policy": policy, "steps": [], "fd": [], "d_gap": [], "seconds": 0.0}
        batches = iter(datasets.make_dataset(gan_images, batch_size=64, seed=args.seed + first_step, repeat=True))
        runs[name] = (gan, batches)

    for step in range(first_step + args.eval_every, args.steps + 1, args.eval_every):
        for name, (gan, batches) in runs.items():
            start = time.perf_counter()
            for _ in range(args.eval_every):
                gan.train_on_batch(next(batches))
            run = record["runs"][name]
            run["seconds"] += time.perf_counter() - start
            fake_features = classifier.classifier_features(gan.generate(args.samples, seed=7), evaluation_classifier)
            run["steps"].append(step)
            run["fd"].append(round(metrics.frechet_distance(fake_features, test_features), 2))
            run["d_gap"].append(round(discriminator_gap(gan, gan_images, test_images), 4))
            print(f"step {step:6d}  {name:11s}  FD {run['fd'][-1]:7.1f}  D gap {run['d_gap'][-1]:+.4f}  "
                  f"({run['seconds'] / step * 1000:.0f} ms/step)", flush=True)
            gan.save(model_path(name))
        out.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
