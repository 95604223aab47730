"""The throughput benchmark's pieces: the FLOP count by hand, the timer, the targets, the JSON it writes.

A real run, even a tiny one, traces a dozen Keras models (about 20 s): these
tests replace the measurements with stand-ins and check everything around them.
"""

import importlib
import json
import types
from pathlib import Path

import numpy as np
import pytest

from genai_tf.models import build_mlp_discriminator, build_mlp_generator

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def throughput(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("throughput")


def test_gan_step_flops_matches_a_hand_count(throughput):
    # G: Dense 2->4, 4->3; D: Dense 3->5, 5->1; batch 10. Forward FLOPs 2 * batch * in * out:
    # G = 160 + 240 = 400 (first layer 160), D = 300 + 100 = 400 (first layer 300).
    # 4G - G1 + 8D - 2 D1 = 1600 - 160 + 3200 - 600.
    generator = build_mlp_generator(2, (3,), (4,))
    discriminator = build_mlp_discriminator((3,), (5,))
    assert throughput.gan_step_flops(generator, discriminator, 10) == 4040


def test_time_per_step_warms_up_then_times_every_repeat(throughput, monkeypatch):
    # A fake clock: each step takes 0.5 s; reading its result back (queued work finishing) takes 1 s.
    clock = [0.0]
    calls = []

    class Result:
        def numpy(self):
            clock[0] += 1.0

    def run_step(batch):
        calls.append(batch)
        clock[0] += 0.5
        return Result()

    common = importlib.import_module("_common")
    monkeypatch.setattr(common, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    seconds = throughput.time_per_step(run_step, ["a", "b", "c"], steps=4, repeats=2, warmup=3)
    # Per repeat: 4 steps of 0.5 s and one read-back of 1 s, divided by 4 steps; the warm-up is not timed.
    assert seconds == [0.75, 0.75]
    assert calls == ["a", "b", "c"] + ["a", "b", "c", "a"] * 2
    assert clock[0] == 3 * 1.5 + 2 * 3.0   # every warm-up call was read back too


def fake_mlp_gan(throughput):
    def mlp_gan(images, batch_size, args):
        loops = {
            name: throughput.summarise([seconds], batch_size)
            for name, seconds in (("seed_style", 0.06), ("seed_style_concat", 0.05), ("fit", 0.012), ("fused", 0.01))
        }
        for loop in loops.values():
            loop["ratio_to_slowest"] = loop["images_per_second"] / loops["seed_style"]["images_per_second"]
        checks = {"combined_step_changes_generator": True, "combined_step_changes_discriminator": False}
        return {
            "loops": loops,
            "seed_style_checks": {"seed_style": checks, "seed_style_concat": checks},
            "fused_flops_per_step": 1e9,
            "fused_mixed_bfloat16": throughput.summarise([0.02], batch_size),
        }

    return mlp_gan


def test_main_prints_the_targets_and_writes_the_json(throughput, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(throughput, "matmul_gflops", lambda: 200.0)
    monkeypatch.setattr(throughput, "mlp_gan", fake_mlp_gan(throughput))
    monkeypatch.setattr(throughput.datasets, "load", lambda *args, **kwargs: (np.zeros((8, 28, 28, 1), "float32"), None))
    # Leave the other tests' global state alone: no reseeding, no change to the warning filters.
    monkeypatch.setattr(throughput.genai_tf, "set_seed", lambda *args, **kwargs: None)
    monkeypatch.setattr(throughput.genai_tf.config, "quiet_tensorflow", lambda: None)
    path = tmp_path / "throughput.json"
    throughput.main(["--batch-sizes", "64", "256", "--repeats", "1", "--skip", "models", "--output", str(path)])
    printed = capsys.readouterr().out
    results = json.loads(path.read_text())

    assert {"machine", "date", "arguments", "matmul_gflops", "mlp_gan", "models", "notebook_seconds", "targets"} <= set(results)
    assert {"cpu", "cores", "native_bf16", "tensorflow", "keras", "python"} <= set(results["machine"])
    assert results["arguments"]["output"] == str(path) and results["arguments"]["slow_steps"] == 25
    measured, at_reference = results["notebook_seconds"]["03_gan_mnist.ipynb"]["full"]   # stored, and scaled to the reference
    assert measured > 0 and at_reference > 0
    # 1 GFLOP in 10 ms is 100 GFLOP/s, half of the 200 GFLOP/s matmul; 6x the seed-style loop.
    fused_256 = results["mlp_gan"]["256"]
    assert fused_256["fused_gflops"] == pytest.approx(100.0)
    assert fused_256["bf16_over_float32"] == pytest.approx(0.5)
    targets = results["targets"]
    assert targets["fused_over_seed_style"]["measured"]["64"] == pytest.approx(6.0)
    assert targets["fused_over_seed_style"]["met"] == {"64": True, "256": True}
    assert targets["fused_fraction_of_roofline"]["measured"] == pytest.approx(0.5)
    assert targets["fused_fraction_of_roofline"]["met"] is False
    assert "at batch 64: 6.0x -> met" in printed
    assert "roofline at batch 256: 50% -> missed" in printed


@pytest.fixture
def diffaugment(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("diffaugment")


def test_diffaugment_benchmark_checks_its_arguments(diffaugment, capsys):
    args = diffaugment.parse_args(["--images", "100", "--steps", "2000", "--policy", "translation"])
    assert (args.images, args.steps, args.eval_every, args.policy, args.resume) == (100, 2000, 1000, "translation", False)
    with pytest.raises(ValueError, match="rotation"):
        diffaugment.parse_args(["--policy", "translation,rotation"])
    with pytest.raises(SystemExit):
        diffaugment.parse_args(["--steps", "0"])
    assert "must be a positive integer" in capsys.readouterr().err


def test_diffaugment_benchmark_refuses_to_resume_nothing(diffaugment, monkeypatch, tmp_path):
    monkeypatch.setenv("GENAI_TF_OUTPUTS", str(tmp_path))
    with pytest.raises(SystemExit, match="no saved run"):
        diffaugment.main(["--images", "100", "--steps", "2", "--eval-every", "1", "--resume"])


def test_diffaugment_benchmark_never_overwrites_a_saved_run(diffaugment, monkeypatch, tmp_path):
    monkeypatch.setenv("GENAI_TF_OUTPUTS", str(tmp_path))
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "diffaugment_100_translation+cutout.json").write_text("{}")
    with pytest.raises(SystemExit, match="pass --resume"):
        diffaugment.main(["--images", "100", "--steps", "2", "--eval-every", "1"])
