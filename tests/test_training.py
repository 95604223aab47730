"""The resumable Trainer: kill-and-resume equivalence, NaN guard, TensorBoard, extend, bad arguments."""

import os
import queue
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import genai_tf
from genai_tf.data import make_dataset, ring_of_gaussians
from genai_tf.models.gan import build_mlp_discriminator, build_mlp_generator
from genai_tf.training import Trainer, default_verbose, make_gan_train_step

REPO = Path(__file__).resolve().parent.parent

# A seeded run of a tiny GAN on the 2-D ring, to N steps with a checkpoint
# every 10. With PAUSE_AFTER_CHECKPOINT=k in its environment the run reports
# "checkpointed k" once its step-k checkpoint is recorded and then waits on
# its stdin, mid-run, for the parent to kill it. The discriminator has
# dropout, so the layers' own seed state must be restored too.
RESUME_SCRIPT = textwrap.dedent(
    """
    import os, sys
    import keras
    import numpy as np
    import genai_tf
    from genai_tf.data import make_dataset, ring_of_gaussians
    from genai_tf.models.gan import build_mlp_discriminator, build_mlp_generator
    from genai_tf.training import Trainer, make_gan_train_step

    checkpoint_dir, output, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pause_after = int(os.environ.get("PAUSE_AFTER_CHECKPOINT", "0"))
    genai_tf.set_seed(0)
    generator = build_mlp_generator(2, (2,), (16,))
    discriminator = build_mlp_discriminator((2,), (16,), dropout=0.3)
    g_optimizer = keras.optimizers.Adam(1e-3, beta_1=0.5)
    d_optimizer = keras.optimizers.Adam(1e-3, beta_1=0.5)
    gan_step = make_gan_train_step(generator, discriminator, g_optimizer, d_optimizer, latent_dim=2)
    trainer = Trainer(
        gan_step, checkpoint_dir,
        {"generator": generator, "discriminator": discriminator,
         "g_optimizer": g_optimizer, "d_optimizer": d_optimizer},
        checkpoint_every=10, log_every=5, verbose=False,
    )
    save = trainer.manager.save

    def save_and_report(checkpoint_number=None, **kwargs):
        path = save(checkpoint_number=checkpoint_number, **kwargs)
        if checkpoint_number == pause_after:
            print(f"checkpointed {checkpoint_number}", flush=True)
            sys.stdin.readline()  # blocks: the parent kills the run here
        return path

    trainer.manager.save = save_and_report
    print(f"restored_step={trainer.restored_step}", flush=True)
    # 256 examples in batches of 32: 8 batches an epoch, so the run crosses
    # several reshuffles.
    dataset = make_dataset(ring_of_gaussians(256, seed=1)[0], batch_size=32, seed=2, repeat=True)
    trainer.fit(dataset, steps)
    state = (generator.variables + discriminator.variables + g_optimizer.variables
             + d_optimizer.variables + [gan_step.seed_generator.state])
    np.savez(output, *[np.asarray(v) for v in state])
    print(f"iterations={int(g_optimizer.iterations)},{int(d_optimizer.iterations)}", flush=True)
    """
)


def _checkpoint_steps(folder):
    """Steps of the checkpoints whose files are on disk, complete or not."""
    return sorted(int(p.name[len("ckpt-") : -len(".index")]) for p in Path(folder).glob("ckpt-*.index"))


def _latest_checkpoint_step(folder):
    """Step of the latest checkpoint recorded by the CheckpointManager (0 when none)."""
    path = tf.train.latest_checkpoint(str(folder))
    return 0 if path is None else int(path.rsplit("-", 1)[1])


def _script_env(**extra):
    env = {**os.environ, "GENAI_TF_MODE": "quick", "PYTHONPATH": str(REPO), **extra}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _read_lines(stream, lines):
    """Put each line the child prints on the queue ``lines``, then None at its end."""
    for line in stream:
        lines.put(line.strip())
    lines.put(None)


def test_killed_and_resumed_run_ends_with_exactly_the_weights_of_an_uninterrupted_run(tmp_path):
    steps, kill_after = 60, 20
    script = tmp_path / "train_ring.py"
    script.write_text(RESUME_SCRIPT)

    def start(name, log, report=False, **env):
        arguments = [tmp_path / f"ckpt_{name}", tmp_path / f"{name}.npz", steps]
        command = [sys.executable, str(script), *map(str, arguments)]
        # Output goes to files, except the reports the parent waits for: an
        # unread pipe could fill up and block the child.
        with open(tmp_path / f"{log}.out", "w") as out, open(tmp_path / f"{log}.err", "w") as err:
            return subprocess.Popen(
                command, env=_script_env(**env), stdout=subprocess.PIPE if report else out, stderr=err,
                stdin=subprocess.PIPE, text=True,
            )

    def output(log):
        return (tmp_path / f"{log}.out").read_text(), (tmp_path / f"{log}.err").read_text()[-3000:]

    # Run A (uninterrupted) and the first part of run B share the two cores.
    started = [start("a", "a"), start("b", "b_killed", report=True, PAUSE_AFTER_CHECKPOINT=str(kill_after))]
    run_a, run_b = started
    try:
        lines = queue.Queue()
        threading.Thread(target=_read_lines, args=(run_b.stdout, lines), daemon=True).start()
        reported = []
        while not reported or reported[-1] not in (None, f"checkpointed {kill_after}"):
            try:
                reported.append(lines.get(timeout=180))
            except queue.Empty:
                pytest.fail(f"run B reported nothing for 180 s after {reported}: {output('b_killed')[1]}")
        assert reported[-1] is not None, f"run B ended before its step-{kill_after} checkpoint: {output('b_killed')[1]}"
        # Run B is paused inside fit(), right after recording that checkpoint.
        assert run_b.poll() is None
        run_b.kill()  # SIGKILL: no clean-up, no final checkpoint.
        assert run_b.wait() == -9
        assert reported == ["restored_step=None", f"checkpointed {kill_after}"]
        killed_at = _latest_checkpoint_step(tmp_path / "ckpt_b")
        assert killed_at == kill_after and _checkpoint_steps(tmp_path / "ckpt_b") == [10, 20]
        assert not (tmp_path / "b.npz").exists()

        assert run_a.wait(timeout=180) == 0, output("a")[1]
        started.append(start("b", "b_resumed"))
        assert started[-1].wait(timeout=180) == 0, output("b_resumed")[1]
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()

    assert "restored_step=None" in output("a")[0]
    assert f"restored_step={killed_at}" in output("b_resumed")[0]
    assert f"iterations={steps},{steps}" in output("a")[0]
    assert f"iterations={steps},{steps}" in output("b_resumed")[0]
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert a.files == b.files and len(a.files) > 10
        different = [name for name in a.files if not np.array_equal(a[name], b[name])]
    assert not different, f"state arrays differ after resuming: {different}"


def _tiny_gan(latent_dim=2, image_shape=(2,), output_activation=None):
    generator = build_mlp_generator(latent_dim, image_shape, (8,), output_activation=output_activation)
    discriminator = build_mlp_discriminator(image_shape, (8,))
    g_optimizer, d_optimizer = keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)
    step = make_gan_train_step(generator, discriminator, g_optimizer, d_optimizer, latent_dim)
    trackables = {
        "generator": generator,
        "discriminator": discriminator,
        "g_optimizer": g_optimizer,
        "d_optimizer": d_optimizer,
    }
    return step, trackables


def _ring_dataset(repeat=True):
    return make_dataset(ring_of_gaussians(64, seed=1)[0], batch_size=16, seed=2, repeat=repeat)


def test_nan_guard_names_the_first_bad_step_and_keeps_the_last_good_checkpoint(tmp_path):
    bad_from = 13
    weight = tf.Variable([1.0, 2.0])
    calls = tf.Variable(0)

    def poisoned_step(batch):
        calls.assign_add(1)
        weight.assign_add(tf.fill([2], tf.reduce_mean(batch) * 0.0 + 1.0))
        if int(calls) >= bad_from:
            weight.assign(weight * float("nan"))
        return {"loss": tf.reduce_sum(weight), "calls": tf.cast(calls, tf.float32)}

    trainer = Trainer(
        poisoned_step, tmp_path, {"weight": weight, "calls": calls}, checkpoint_every=5, log_every=100, verbose=False
    )
    with pytest.raises(FloatingPointError, match=rf"Non-finite loss at step {bad_from}\b"):
        trainer.fit(_ring_dataset(), 30)
    assert _checkpoint_steps(tmp_path) == [5, 10]  # nothing written at or after the bad step
    assert not np.all(np.isfinite(weight.numpy()))

    restored = Trainer(
        poisoned_step, tmp_path, {"weight": tf.Variable([0.0, 0.0]), "calls": tf.Variable(0)}, verbose=False
    )
    assert restored.restored_step == 10 and restored.global_step == 10
    restored_weight = restored.checkpoint.objects["weight"].numpy()
    np.testing.assert_array_equal(restored_weight, [11.0, 12.0])
    # restore() rolls the trainer's own objects back as well.
    assert trainer.restore() == 10
    np.testing.assert_array_equal(weight.numpy(), [11.0, 12.0])


def test_infinite_loss_is_caught_at_the_next_check_too(tmp_path):
    def infinite_step(batch):
        return {"loss": tf.constant(float("inf"))}

    trainer = Trainer(infinite_step, tmp_path, {"counter": tf.Variable(0)}, checkpoint_every=4, verbose=False)
    with pytest.raises(FloatingPointError, match=r"Non-finite loss at step 1 \(found when checking at step 4"):
        trainer.fit(_ring_dataset(), 10)
    assert _checkpoint_steps(tmp_path) == []


def _read_events(log_dir):
    scalars, images = {}, {}
    for path in sorted(Path(log_dir).glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                plugin = value.metadata.plugin_data.plugin_name
                if plugin == "scalars":
                    scalars.setdefault(value.tag, []).append((event.step, float(tf.make_ndarray(value.tensor))))
                elif plugin == "images":
                    images.setdefault(value.tag, []).append((event.step, list(value.tensor.string_val[:2])))
    return scalars, images


def test_tensorboard_gets_every_loss_and_a_sample_grid(tmp_path):
    genai_tf.set_seed(0)
    step, trackables = _tiny_gan(latent_dim=4, image_shape=(8, 8, 1), output_activation="tanh")
    generator = trackables["generator"]
    noise = keras.random.normal((4, 4), seed=1)
    images = np.random.default_rng(0).uniform(-1, 1, (64, 8, 8, 1)).astype("float32")
    trainer = Trainer(
        step, tmp_path / "ckpt", trackables, checkpoint_every=3, log_every=2, log_dir=tmp_path / "logs",
        sample_fn=lambda: generator(noise, training=False), verbose=False,
    )
    history = trainer.fit(make_dataset(images, batch_size=16, repeat=True), 6)
    assert history["step"] == [2, 4, 6]
    scalars, samples = _read_events(tmp_path / "logs")
    assert set(scalars) == {"d_loss", "g_loss", "real_prob", "fake_prob"}
    assert [s for s, _ in scalars["d_loss"]] == [2, 4, 6]
    np.testing.assert_allclose([v for _, v in scalars["g_loss"]], history["g_loss"], rtol=1e-6)
    # sample_every defaults to checkpoint_every; 4 images of 8x8 in one row: width 32, height 8.
    assert samples == {"samples": [(3, [b"32", b"8"]), (6, [b"32", b"8"])]}


def test_fit_extends_to_a_larger_step_count_and_does_nothing_when_it_is_reached(tmp_path):
    genai_tf.set_seed(0)
    step, trackables = _tiny_gan()
    trainer = Trainer(step, tmp_path, trackables, checkpoint_every=3, log_every=2, verbose=False)
    assert trainer.restored_step is None
    dataset = _ring_dataset()
    assert trainer.fit(dataset, 4)["step"] == [2, 4]
    weights = [w.copy() for w in trackables["generator"].get_weights()]
    seed_state = step.seed_generator.state.numpy().copy()

    assert trainer.fit(dataset, 4) == {"step": []}
    assert trainer.fit(dataset, 0) == {"step": []}
    assert trainer.global_step == 4 and _checkpoint_steps(tmp_path) == [3, 4]
    assert all(np.array_equal(a, b) for a, b in zip(weights, trackables["generator"].get_weights()))

    assert trainer.fit(dataset, 7)["step"] == [6, 7]
    assert trainer.global_step == 7 and int(trackables["g_optimizer"].iterations) == 7
    assert _checkpoint_steps(tmp_path) == [6, 7]  # max_to_keep=2

    # A new trainer on the same folder, with fresh objects, picks up step 7
    # with the weights, the optimizer state and the step's seed generator (added
    # to the checkpoint although not listed in trackables).
    genai_tf.set_seed(1)
    fresh_step, fresh = _tiny_gan()
    resumed = Trainer(fresh_step, tmp_path, fresh, checkpoint_every=3, verbose=False)
    assert resumed.restored_step == 7 and int(fresh["g_optimizer"].iterations) == 7
    assert all(
        np.array_equal(a, b) for a, b in zip(trackables["generator"].get_weights(), fresh["generator"].get_weights())
    )
    np.testing.assert_array_equal(fresh_step.seed_generator.state.numpy(), step.seed_generator.state.numpy())
    assert not np.array_equal(fresh_step.seed_generator.state.numpy(), seed_state)
    assert resumed.fit(_ring_dataset(), 7) == {"step": []}


def test_a_finite_dataset_is_repeated_with_a_warning(tmp_path):
    step, trackables = _tiny_gan()
    trainer = Trainer(step, tmp_path, trackables, verbose=False)
    with pytest.warns(UserWarning, match=r"finite \(4 batches\).*make_dataset\(\.\.\., repeat=True\)"):
        history = trainer.fit(_ring_dataset(repeat=False), 6)  # 4 batches an epoch
    assert history["step"] == [6] and trainer.global_step == 6


def test_progress_bar_when_verbose_and_the_automatic_rule(tmp_path, capsys, monkeypatch):
    step, trackables = _tiny_gan()
    Trainer(step, tmp_path, trackables, log_every=2, verbose=True).fit(_ring_dataset(), 4)
    assert "4/4" in capsys.readouterr().out

    assert default_verbose({"GENAI_TF_MODE": "quick"}) is False
    assert default_verbose({"GENAI_TF_MODE": "full", "CI": "1"}) is False

    class Terminal:
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    assert default_verbose({"GENAI_TF_MODE": "full"}) is True


# Each case: a function returning the keyword arguments to change, and the expected message.
BAD_ARGUMENTS = {
    "checkpoint_every=0": (
        lambda: dict(checkpoint_every=0), r"checkpoint_every must be a positive integer\. Received: checkpoint_every=0"
    ),
    "checkpoint_every=-5": (lambda: dict(checkpoint_every=-5), r"Received: checkpoint_every=-5"),
    "checkpoint_every=2.5": (lambda: dict(checkpoint_every=2.5), r"Received: checkpoint_every=2\.5"),
    "log_every=0": (lambda: dict(log_every=0), r"Received: log_every=0"),
    "max_to_keep=0": (lambda: dict(max_to_keep=0), r"Received: max_to_keep=0"),
    "sample_every=0": (lambda: dict(sample_every=0), r"Received: sample_every=0"),
    "sample_fn without log_dir": (lambda: dict(sample_fn=lambda: None), r"needs a log_dir"),
    "empty trackables": (lambda: dict(trackables={}), r"trackables must be a non-empty dict"),
    "reserved name": (lambda: dict(trackables={"step": tf.Variable(0)}), r"Received: name='step'"),
    "not checkpointable": (
        lambda: dict(trackables={"lr": 1e-3}), r"trackables\['lr'\] cannot be checkpointed.*Received: float"
    ),
    "unbuilt model": (lambda: dict(trackables={"net": keras.Sequential([keras.layers.Dense(2)])}), r"not built"),
    "another seed generator under the name": (
        lambda: dict(trackables={"seed_generator": keras.random.SeedGenerator(3)}),
        r"not the train step's seed_generator",
    ),
}


@pytest.mark.parametrize("case", BAD_ARGUMENTS)
def test_bad_arguments_raise_value_error_naming_them(case, tmp_path):
    step, trackables = _tiny_gan()
    make_kwargs, message = BAD_ARGUMENTS[case]
    kwargs = {"trackables": trackables, **make_kwargs()}
    with pytest.raises(ValueError, match=message):
        Trainer(step, tmp_path, **kwargs)


def test_bad_fit_arguments(tmp_path):
    step, trackables = _tiny_gan()
    trainer = Trainer(step, tmp_path, trackables, verbose=False)
    with pytest.raises(ValueError, match=r"steps must be a non-negative integer.*Received: steps=-1"):
        trainer.fit(_ring_dataset(), -1)
    with pytest.raises(ValueError, match=r"dataset must be a tf\.data\.Dataset\. Received: ndarray"):
        trainer.fit(np.zeros((4, 2)), 1)
    with pytest.raises(ValueError, match=r"train_step must be callable"):
        Trainer(None, tmp_path, trackables)
