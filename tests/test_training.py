"""genai_tf.training: the step factories, fit_steps, the history, and the resumable Trainer.

The factories are checked against the updates they wrap (called directly, on
copies of the networks, with the same seed); the updates themselves are
checked against updates written out by hand in tests/models/test_updates.py.
The Trainer: kill-and-resume equivalence, NaN guard, TensorBoard, extend, bad
arguments.
"""

import math
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
from genai_tf import training
from genai_tf.datasets import make_dataset, ring_of_gaussians
from genai_tf.losses import minimax_discriminator_loss, minimax_generator_loss, modified_generator_loss
from genai_tf.models import updates
from genai_tf.models.gan import build_mlp_discriminator, build_mlp_generator
from genai_tf.training import Trainer, append_history, default_verbose, make_gan_train_step

REPO = Path(__file__).resolve().parent.parent


# --- the step factories: one tf.function around the update ------------------------------------------

LATENT_DIM, SEED = 3, 4
REAL = ring_of_gaussians(8, seed=0)[0]
LABELS = np.array([0, 1, 2, 0, 1, 2, 0, 1], "int32")


def gan_parts(conditional=False, init_seed=0):
    """A small MLP generator and discriminator on 2-D points (the same weights for the same init_seed), optionally with labels."""
    genai_tf.set_seed(init_seed)
    if not conditional:
        return build_mlp_generator(LATENT_DIM, (2,), (16, 16)), build_mlp_discriminator((2,), (16, 16))
    z, z_label = keras.Input((LATENT_DIM,)), keras.Input((), dtype="int32")
    hidden = keras.layers.Concatenate()([z, keras.layers.Embedding(3, 2)(z_label)])
    generator = keras.Model([z, z_label], keras.layers.Dense(2)(keras.layers.Dense(16, activation="relu")(hidden)))
    x, x_label = keras.Input((2,)), keras.Input((), dtype="int32")
    hidden = keras.layers.Concatenate()([x, keras.layers.Embedding(3, 2)(x_label)])
    score = keras.layers.Dense(1)(keras.layers.Dense(16, activation="tanh")(hidden))
    return generator, keras.Model([x, x_label], score)


def sgd_pair(learning_rate=0.05):
    return keras.optimizers.SGD(learning_rate), keras.optimizers.SGD(learning_rate)


FACTORIES = {"gan": (make_gan_train_step, updates.gan_update), "wgan_gp": (training.make_wgan_gp_train_step, updates.wgan_gp_update)}


def direct_update(kind, networks, optimizers, seed_generator, conditional=False, **options):
    """The update itself, called eagerly on the same batch (and labels)."""
    labels = tf.constant(LABELS) if conditional else None
    return FACTORIES[kind][1](
        *networks, *optimizers, tf.constant(REAL), LATENT_DIM, seed_generator, labels=labels, **options
    )


def assert_same_logs(logs, expected):
    assert set(logs) == set(expected)
    for key in expected:
        assert float(logs[key]) == pytest.approx(float(expected[key]), rel=1e-5, abs=1e-6), key


def weights(networks):
    return [w for network in networks for w in network.get_weights()]


@pytest.mark.parametrize("conditional", [False, True])
@pytest.mark.parametrize("kind", ["gan", "wgan_gp"])
def test_a_factory_step_makes_its_update_with_its_seed(kind, conditional):
    options = {} if kind == "gan" else {"n_critic": 2, "gp_weight": 5.0}
    stepped, optimizers = gan_parts(conditional), sgd_pair()
    step = FACTORIES[kind][0](*stepped, *optimizers, LATENT_DIM, seed=SEED, conditional=conditional, **options)
    logs = step((tf.constant(REAL), tf.constant(LABELS)) if conditional else tf.constant(REAL))
    direct, seed_generator = gan_parts(conditional), keras.random.SeedGenerator(SEED)
    initial = weights(direct)
    expected = direct_update(kind, direct, sgd_pair(), seed_generator, conditional, **options)
    assert_same_logs(logs, expected)
    assert max(np.abs(a - b).max() for a, b in zip(weights(direct), initial)) > 1e-3   # the update moved the weights
    for got, want in zip(weights(stepped), weights(direct)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # The step's noise generator is exposed (the Trainer checkpoints it) and advanced as the update's.
    np.testing.assert_array_equal(step.seed_generator.state.numpy(), seed_generator.state.numpy())
    assert step.strategy is None
    assert int(optimizers[0].iterations) == 1 and int(optimizers[1].iterations) == options.get("n_critic", 1)


def test_defaults_of_the_step_factories():
    # make_gan_train_step: the non-saturating loss, seed 0; "saturating" selects the other loss.
    networks = gan_parts()
    logs = make_gan_train_step(*networks, *sgd_pair(0.0), LATENT_DIM)(tf.constant(REAL))
    assert_same_logs(logs, direct_update("gan", networks, sgd_pair(0.0), keras.random.SeedGenerator(0)))
    other_seed = direct_update("gan", networks, sgd_pair(0.0), keras.random.SeedGenerator(1))
    assert abs(float(other_seed["d_loss"]) - float(logs["d_loss"])) > 1e-4
    saturating = make_gan_train_step(*networks, *sgd_pair(0.0), LATENT_DIM, generator_loss="saturating")
    expected = direct_update(
        "gan", networks, sgd_pair(0.0), keras.random.SeedGenerator(0), generator_loss_fn=minimax_generator_loss
    )
    assert_same_logs(saturating(tf.constant(REAL)), expected)
    assert abs(float(expected["g_loss"]) - float(logs["g_loss"])) > 1e-2
    # make_wgan_gp_train_step: seed 0, n_critic = 5, lambda = 10.
    logs = training.make_wgan_gp_train_step(*networks, *sgd_pair(0.0), LATENT_DIM)(tf.constant(REAL))
    options = {"n_critic": 5, "gp_weight": 10.0}
    assert_same_logs(logs, direct_update("wgan_gp", networks, sgd_pair(0.0), keras.random.SeedGenerator(0), **options))
    six = direct_update("wgan_gp", networks, sgd_pair(0.0), keras.random.SeedGenerator(0), n_critic=6, gp_weight=10.0)
    assert abs(float(six["d_loss"]) - float(logs["d_loss"])) > 1e-4


@pytest.mark.parametrize("kind", ["gan", "wgan_gp"])
def test_batches_the_steps_accept_and_refuse(kind):
    factory = FACTORIES[kind][0]
    networks = gan_parts()
    # An unconditional step takes a tensor or a 1-tuple (images,), the same batch either way.
    plain = factory(*networks, *sgd_pair(0.0), LATENT_DIM, seed=SEED)(tf.constant(REAL))
    wrapped = factory(*networks, *sgd_pair(0.0), LATENT_DIM, seed=SEED)((tf.constant(REAL),))
    assert {k: float(v) for k, v in plain.items()} == {k: float(v) for k, v in wrapped.items()}
    step = factory(*gan_parts(conditional=True), *sgd_pair(0.0), LATENT_DIM, conditional=True)
    for bad in (tf.constant(REAL), (tf.constant(REAL),), (tf.constant(REAL), tf.constant(LABELS), tf.constant(LABELS))):
        with pytest.raises(ValueError, match=r"A conditional step needs batches of \(images, labels\)\."):
            step(bad)


def test_step_factories_name_bad_arguments_and_accept_their_smallest_values():
    generator, critic = gan_parts()
    optimizer = keras.optimizers.SGD(0.0)
    wgan_gp = training.make_wgan_gp_train_step
    with pytest.raises(ValueError, match=r"^generator_optimizer and critic_optimizer must be separate instances\.$"):
        wgan_gp(generator, critic, optimizer, optimizer, LATENT_DIM)
    with pytest.raises(ValueError, match=r"^generator_optimizer and discriminator_optimizer must be separate instances\.$"):
        make_gan_train_step(generator, critic, optimizer, optimizer, LATENT_DIM)
    with pytest.raises(ValueError, match=r"^generator_loss must be one of 'non_saturating', 'saturating'\. "
                                         r"Received: generator_loss='hinge'$"):
        make_gan_train_step(generator, critic, *sgd_pair(0.0), LATENT_DIM, generator_loss="hinge")
    for factory in (make_gan_train_step, wgan_gp):
        with pytest.raises(ValueError, match=r"^latent_dim must be a positive integer\. Received: latent_dim=0$"):
            factory(generator, critic, *sgd_pair(0.0), 0)
    for bad in (0, True, 1.5):
        with pytest.raises(ValueError, match=rf"^n_critic must be a positive integer\. Received: n_critic={bad}$"):
            wgan_gp(generator, critic, *sgd_pair(0.0), LATENT_DIM, n_critic=bad)
    for bad in (-0.1, float("nan")):
        with pytest.raises(ValueError, match=rf"^gp_weight must be in \[0\.0, inf\)\. Received: gp_weight={bad}$"):
            wgan_gp(generator, critic, *sgd_pair(0.0), LATENT_DIM, gp_weight=bad)
    # n_critic = 1 and lambda = 0 are valid; lambda = 0 drops the penalty from the critic's loss.
    logs = wgan_gp(generator, critic, *sgd_pair(0.0), LATENT_DIM, n_critic=1, gp_weight=0.0)(tf.constant(REAL))
    assert float(logs["gradient_penalty"]) > 1e-3
    assert float(logs["d_loss"]) == pytest.approx(-float(logs["wasserstein"]), abs=1e-6)


@pytest.mark.parametrize("kind", ["gan", "wgan_gp"])
@pytest.mark.parametrize("outside", ["generator", "critic"])
def test_steps_refuse_each_network_created_outside_the_strategy_scope(kind, outside):
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        inside = gan_parts()
        optimizers = sgd_pair(0.0)
    generator, critic = gan_parts(init_seed=1)   # outside the scope
    networks = (generator, inside[1]) if outside == "generator" else (inside[0], critic)
    name = outside if outside == "generator" or kind == "wgan_gp" else "discriminator"
    with pytest.raises(ValueError, match=f"{name} was created outside strategy.scope"):
        FACTORIES[kind][0](*networks, *optimizers, LATENT_DIM, strategy=strategy)
    with pytest.raises(ValueError, match=r"strategy must be a tf\.distribute\.Strategy or None\. Received: strategy='mirrored'"):
        FACTORIES[kind][0](*inside, *optimizers, LATENT_DIM, strategy="mirrored")


@pytest.mark.parametrize("kind", ["gan", "wgan_gp"])
def test_steps_under_a_one_device_strategy_are_the_plain_steps(kind):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    options = {} if kind == "gan" else {"n_critic": 2, "gp_weight": 5.0}
    with strategy.scope():
        networks = gan_parts()
        optimizers = sgd_pair()
    step = FACTORIES[kind][0](*networks, *optimizers, LATENT_DIM, seed=SEED, strategy=strategy, **options)
    plain = FACTORIES[kind][0](*gan_parts(), *sgd_pair(), LATENT_DIM, seed=SEED, **options)
    assert step.strategy is strategy
    # The optimizers and the noise's seed generator were built in the strategy's scope.
    for variable in [v for optimizer in optimizers for v in optimizer.variables] + [step.seed_generator.state]:
        assert strategy.extended.variable_created_in_scope(variable.value), variable.path
    assert_same_logs(step(tf.constant(REAL)), plain(tf.constant(REAL)))


@pytest.mark.parametrize(
    ("generator_loss", "loss_fn"),
    [("non_saturating", modified_generator_loss), ("saturating", minimax_generator_loss)],
)
def test_gan_step_lowers_each_networks_loss_and_updates_both(generator_loss, loss_fn):
    """A small SGD step: each update goes down its own loss, on the batch and noise it used."""
    generator, discriminator = gan_parts()
    g_before = [v.numpy().copy() for v in generator.trainable_variables]
    d_before = [v.numpy().copy() for v in discriminator.trainable_variables]
    step = make_gan_train_step(generator, discriminator, *sgd_pair(), LATENT_DIM, generator_loss=generator_loss, seed=7)
    # The step's two noise draws, and the fakes the D update saw, before G moved.
    seed = keras.random.SeedGenerator(7)
    d_noise = keras.random.normal((8, LATENT_DIM), seed=seed)
    g_noise = keras.random.normal((8, LATENT_DIM), seed=seed)
    fake_for_d = generator(d_noise)
    logs = {key: float(value) for key, value in step(REAL).items()}
    # D: its loss on the same real batch and fakes is lower after its update.
    assert float(minimax_discriminator_loss(discriminator(REAL), discriminator(fake_for_d))) < logs["d_loss"] - 1e-4
    # G: g_loss is taken against the updated D; with G updated too, the same noise gives a lower loss.
    assert float(loss_fn(discriminator(generator(g_noise)))) < logs["g_loss"] - 1e-4
    # Non-saturating -log D >= 0; saturating log(1 - D) <= 0.
    assert logs["g_loss"] > 0.0 if generator_loss == "non_saturating" else logs["g_loss"] < 0.0
    for model, before in ((generator, g_before), (discriminator, d_before)):
        after = [v.numpy() for v in model.trainable_variables]
        # The output layer's kernel always receives a gradient.
        assert not np.array_equal(after[-2], before[-2]), model.name


def test_gan_step_noise_follows_the_real_batch_size():
    """E-000-5: a hard-coded noise batch breaks on a smaller last batch; here it follows the data."""
    generator, discriminator = gan_parts()
    step = make_gan_train_step(generator, discriminator, *sgd_pair(0.0), LATENT_DIM, seed=3)
    seed = keras.random.SeedGenerator(3)
    for batch in (REAL, REAL[:5]):
        logs = {key: float(value) for key, value in step(batch).items()}
        # With learning rate 0 the values are those of noise with one row per real row, drawn in turn.
        d_noise = keras.random.normal((len(batch), LATENT_DIM), seed=seed)
        g_noise = keras.random.normal((len(batch), LATENT_DIM), seed=seed)
        d_loss = minimax_discriminator_loss(discriminator(batch), discriminator(generator(d_noise)))
        assert logs["d_loss"] == pytest.approx(float(d_loss), rel=1e-5)
        assert logs["g_loss"] == pytest.approx(float(modified_generator_loss(discriminator(generator(g_noise)))), rel=1e-5)


# --- fit_steps and the history ----------------------------------------------------------------------


def test_append_history_adds_the_step_and_each_value_in_place():
    history = {"step": [2], "loss": [1.5]}
    assert append_history(history, 4, {"loss": 0.5, "accuracy": 0.75}) is history
    # A key first seen at step 4 starts its own list there.
    assert history == {"step": [2, 4], "loss": [1.5, 0.5], "accuracy": [0.75]}


def counting_step(nan_from=None, bad=math.nan):
    """A fake train step whose loss is the step number, or `bad` from step `nan_from` on."""
    batches = []

    def train_step(batch):
        batches.append(int(batch))
        value = bad if nan_from is not None and len(batches) >= nan_from else float(len(batches))
        return {"loss": tf.constant(value)}

    return train_step, batches


@pytest.mark.parametrize(
    ("steps", "log_every", "logged"),
    [
        (10, 3, [3, 6, 9, 10]),  # every third step, and the last
        (9, 3, [3, 6, 9]),  # the last step is a logging step: no duplicate
        (2, 100, [2]),  # only the last
        (4, 1, [1, 2, 3, 4]),
    ],
)
def test_fit_steps_history(steps, log_every, logged):
    train_step, batches = counting_step()
    calls = []
    history = training.fit_steps(
        train_step, tf.data.Dataset.range(3), steps, log_every=log_every,
        callback=lambda step, logs: calls.append((step, logs)),
    )
    assert history == {"step": logged, "loss": [float(s) for s in logged]}
    assert calls == [(s, {"loss": float(s)}) for s in logged]
    # The dataset of 3 elements is repeated: batches 0, 1, 2, 0, 1, ...
    assert batches == [i % 3 for i in range(steps)]


@pytest.mark.parametrize(("nan_from", "log_every", "reported"), [(4, 1, 4), (1, 1, 1), (4, 3, 6), (8, 3, 9), (10, 3, 10)])
def test_fit_steps_raises_on_nan_naming_the_step(nan_from, log_every, reported):
    # A NaN is seen at the first logging step >= nan_from (losses are read back only then).
    train_step, batches = counting_step(nan_from=nan_from)
    with pytest.raises(FloatingPointError, match=rf"step {reported}\b"):
        training.fit_steps(train_step, tf.data.Dataset.range(3), 10, log_every=log_every)
    assert len(batches) == reported


def test_fit_steps_raises_on_inf():
    train_step, _ = counting_step(nan_from=2, bad=math.inf)
    with pytest.raises(FloatingPointError, match=r"step 2\b.*loss"):
        training.fit_steps(train_step, tf.data.Dataset.range(3), 5, log_every=1)


@pytest.mark.parametrize(("steps", "log_every", "name", "value"), [(0, 1, "steps", 0), (5, 0, "log_every", 0), (-1, 1, "steps", -1)])
def test_fit_steps_rejects_non_positive_counts(steps, log_every, name, value):
    train_step, batches = counting_step()
    with pytest.raises(ValueError, match=rf"^{name} must be a positive integer\. Received: {name}={value}$"):
        training.fit_steps(train_step, tf.data.Dataset.range(3), steps, log_every=log_every)
    assert batches == []


def test_fit_steps_runs_a_gan_step_and_logs_its_values():
    generator, discriminator = gan_parts()
    samples, _ = ring_of_gaussians(64, seed=1)
    step = make_gan_train_step(generator, discriminator, keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), LATENT_DIM)
    returned = []

    def recorded_step(batch):
        logs = step(batch)
        returned.append({key: float(value) for key, value in logs.items()})
        return logs

    start = [v.numpy().copy() for v in generator.trainable_variables]
    history = training.fit_steps(recorded_step, make_dataset(samples, batch_size=8), 6, log_every=3)
    assert len(returned) == 6 and returned[2] != returned[5]
    # The history holds the GAN step's own values at steps 3 and 6, under its keys.
    assert history == {"step": [3, 6], **{key: [returned[2][key], returned[5][key]] for key in returned[0]}}
    assert set(returned[0]) == {"d_loss", "g_loss", "real_prob", "fake_prob"}
    assert any(not np.array_equal(v.numpy(), w) for v, w in zip(generator.trainable_variables, start))


# --- the resumable Trainer --------------------------------------------------------------------------

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
    from genai_tf.datasets import make_dataset, ring_of_gaussians
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
