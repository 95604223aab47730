"""Two replicas against one device: the distributed steps and fit() make the same update and log the same losses.

TensorFlow fixes its devices when it first runs an op, and pytest has run
TensorFlow already, so the logical CPU devices of a MirroredStrategy (two for
the comparisons, three for an uneven split of a batch) are set up in one
subprocess, which runs every comparison and prints the results as JSON.
Each comparison starts the single-device and the distributed run
from the same weights and feeds them the same global batches. Randomness is
controlled by design rather than by feeding noise: each replica takes its
rows of the global batch's latent noise and reparameterisation noise (so it
draws what one device draws), and the WGAN-GP critic is linear in its input,
so the gradient penalty does not depend on the interpolation weights, which
each replica draws for itself. The optimizers are SGD: Adam's first steps are
nearly invariant to a constant factor on the gradients and would hide one.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf import distribute
from genai_tf.distribute import GlobalBatch, num_replicas, replica_seed
from genai_tf.models.gan import build_mlp_discriminator, build_mlp_generator
from genai_tf.training import make_gan_train_step

REPO = Path(__file__).resolve().parent.parent
WEIGHT_TOLERANCE = 1e-6  # max abs difference of any weight (the weights are of order 1)
LOG_RTOL, LOG_ATOL = 2e-6, 1e-6

SCRIPT = textwrap.dedent(
    """
    import json, sys, tempfile
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    # Three logical CPUs: the comparisons use two, the uneven split of a batch all three.
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 3)

    import keras
    import numpy as np
    import genai_tf
    from genai_tf import distribute
    from genai_tf.models import VAE
    from genai_tf.models.gan import build_mlp_discriminator, build_mlp_generator
    from genai_tf.training import Trainer, make_gan_train_step, make_wgan_gp_train_step

    # Op determinism and Grappler's dependency optimizer off: without them even the
    # single-device WGAN-GP step gives different numbers from run to run on this CPU.
    genai_tf.set_seed(0)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {"num_replicas": strategy.num_replicas_in_sync}
    rng = np.random.default_rng(0)
    points = rng.normal(size=(16, 2)).astype("float32")
    checkpoints = tempfile.mkdtemp()


    def arrays(variables):
        return [np.asarray(v).copy() for v in variables]


    def unscaled(self, loss):
        # The naive version: each replica's mean loss as it is, summed by the optimizer.
        return loss


    correct_scale = distribute.GlobalBatch.scale


    def networks(kind, init_seed):
        keras.utils.set_random_seed(init_seed)
        generator = build_mlp_generator(4, (2,), (16,))
        if kind == "gan":
            critic = build_mlp_discriminator((2,), (16,))
        else:
            # Linear in its input: the penalty's input gradient is the same at
            # every interpolate, whatever epsilon each replica draws.
            critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8), keras.layers.Dense(1)])
        return {"generator": generator, "critic": critic,
                "g_optimizer": keras.optimizers.SGD(0.01), "d_optimizer": keras.optimizers.SGD(0.01)}


    def make_step(kind, objects, strategy):
        args = (objects["generator"], objects["critic"], objects["g_optimizer"], objects["d_optimizer"])
        if kind == "gan":
            return make_gan_train_step(*args, latent_dim=4, seed=3, strategy=strategy)
        return make_wgan_gp_train_step(*args, latent_dim=4, n_critic=2, seed=3, strategy=strategy)


    def run(kind, strategy=None, distributed_input=False, checkpoint_dir=None, steps=2, init_seed=1):
        if strategy is None:
            objects = networks(kind, init_seed)
        else:
            with strategy.scope():
                objects = networks(kind, init_seed)
        step = make_step(kind, objects, strategy)
        weights = objects["generator"].weights + objects["critic"].weights
        initial = arrays(weights)
        dataset = tf.data.Dataset.from_tensor_slices(points).batch(8).repeat()
        if checkpoint_dir is not None:
            # The Trainer feeds global batches from a plain, checkpointed iterator.
            trainer = Trainer(step, checkpoint_dir, objects, checkpoint_every=steps, log_every=1, verbose=False)
            history = trainer.fit(dataset, steps)
            logs = [{key: history[key][i] for key in history if key != "step"} for i in range(steps)]
        else:
            if distributed_input:
                dataset = strategy.experimental_distribute_dataset(dataset)
            iterator = iter(dataset)
            logs = [{key: float(value) for key, value in step(next(iterator)).items()} for _ in range(steps)]
        return {"initial": initial, "final": arrays(weights), "logs": logs}


    def compare(single, other):
        return {
            "weight_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(single["final"], other["final"])),
            "update": max(float(np.max(np.abs(a - b))) for a, b in zip(single["final"], single["initial"])),
            "single_logs": single["logs"],
            "distributed_logs": other["logs"],
        }


    for kind in ("gan", "wgan_gp"):
        single = run(kind)
        folder = f"{checkpoints}/{kind}"
        distributed = run(kind, strategy, checkpoint_dir=folder)
        results[kind] = compare(single, distributed)
        if kind == "gan":
            results["gan_distributed_dataset"] = compare(single, run(kind, strategy, distributed_input=True))
        distribute.GlobalBatch.scale = unscaled
        results[kind + "_unscaled"] = compare(single, run(kind, strategy))
        distribute.GlobalBatch.scale = correct_scale
        # The distributed run's checkpoint restores into single-device networks
        # built with other initial weights.
        objects = networks(kind, init_seed=99)
        trainer = Trainer(make_step(kind, objects, None), folder, objects, verbose=False)
        restored = arrays(objects["generator"].weights + objects["critic"].weights)
        results[kind + "_restored"] = {
            "step": trainer.restored_step,
            "equal": all(np.array_equal(a, b) for a, b in zip(restored, distributed["final"])),
        }

    # fit() of a VAE: 21 images in batches of 16, so the second global batch
    # of 5 rows splits unevenly (3 + 2) across the replicas.
    images = rng.integers(0, 2, (21, 8, 8, 1)).astype("float32")


    def fit_vae(strategy=None):
        def build():
            keras.utils.set_random_seed(2)
            model = VAE(latent_dim=2, image_shape=(8, 8, 1), hidden_units=(16,), seed=5)
            model.compile(keras.optimizers.SGD(0.05))
            return model

        if strategy is None:
            model = build()
        else:
            with strategy.scope():
                model = build()
        initial = arrays(model.weights)
        history = model.fit(images, batch_size=16, epochs=1, shuffle=False, verbose=0).history
        return {"initial": initial, "final": arrays(model.weights), "logs": [{k: v[0] for k, v in history.items()}]}


    single = fit_vae()
    results["vae_fit"] = compare(single, fit_vae(strategy))
    distribute.GlobalBatch.scale = unscaled
    results["vae_fit_unscaled"] = compare(single, fit_vae(strategy))
    distribute.GlobalBatch.scale = correct_scale

    # Noise: replica r's rows of the global draw, with uneven shares (2 + 3 rows).
    with strategy.scope():
        seed_generator = keras.random.SeedGenerator(7)
    shares = strategy.experimental_distribute_values_from_function(
        lambda context: tf.zeros((2 + context.replica_id_in_sync_group, 1))
    )


    @tf.function
    def draw(batch):
        def replica(rows):
            noise = distribute.GlobalBatch(rows).normal((3,), seed_generator)
            epsilon = keras.random.uniform((3,), seed=distribute.replica_seed(seed_generator))
            return noise, epsilon

        return strategy.run(replica, args=(batch,))


    noise, epsilon = (strategy.experimental_local_results(value) for value in draw(shares))
    expected = keras.random.normal((5, 3), seed=keras.random.SeedGenerator(7))
    results["noise_rows"] = {
        "shapes": [list(n.shape) for n in noise],
        "max_diff": float(np.max(np.abs(np.concatenate(noise) - np.asarray(expected)))),
        "epsilon_differs": not np.allclose(epsilon[0], epsilon[1]),
        "state": np.asarray(seed_generator.state).tolist(),
    }

    # A global batch of 10 rows (and its labels) split over 3 replicas inside strategy.run.
    three = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1", "/cpu:2"])
    rows = tf.reshape(tf.range(20, dtype=tf.float32), (10, 2))


    @tf.function
    def split(batch):
        return three.run(distribute.split_global_batch, args=(batch,))


    pieces = split((rows, tf.range(10)))
    results["split_3"] = {
        "rows": [np.asarray(part).tolist() for part in three.experimental_local_results(pieces[0])],
        "labels": [np.asarray(part).tolist() for part in three.experimental_local_results(pieces[1])],
    }
    print(json.dumps(results))
    """
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    script = tmp_path_factory.mktemp("distribute") / "compare_replicas.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "GENAI_TF_MODE": "quick", "PYTHONPATH": str(REPO)}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _assert_same_update(result):
    assert result["update"] > 1e-3, "the step changed no weight: nothing was compared"
    assert result["weight_diff"] < WEIGHT_TOLERANCE, result["weight_diff"]
    assert len(result["single_logs"]) == len(result["distributed_logs"]) >= 1
    for single, distributed in zip(result["single_logs"], result["distributed_logs"]):
        assert single.keys() == distributed.keys()
        for key in single:
            np.testing.assert_allclose(distributed[key], single[key], rtol=LOG_RTOL, atol=LOG_ATOL, err_msg=key)


def test_the_check_ran_on_two_replicas(results):
    assert results["num_replicas"] == 2


def test_fused_gan_step_on_two_replicas_makes_the_single_device_update(results):
    _assert_same_update(results["gan"])
    # The same with the batches from strategy.experimental_distribute_dataset.
    _assert_same_update(results["gan_distributed_dataset"])


def test_wgan_gp_step_on_two_replicas_makes_the_single_device_update(results):
    _assert_same_update(results["wgan_gp"])
    # The penalty (weight 10) is a sizeable part of the first critic loss, so
    # its scaling is part of what matched.
    first = results["wgan_gp"]["single_logs"][0]
    assert 10 * first["gradient_penalty"] > 0.1 * abs(first["d_loss"]) > 0


def test_vae_fit_on_two_replicas_makes_the_single_device_update_and_logs(results):
    # Two steps, the second on 5 rows split 3 + 2: the history is the epoch's means.
    _assert_same_update(results["vae_fit"])
    assert set(results["vae_fit"]["single_logs"][0]) == {"loss", "reconstruction_loss", "kl_loss", "elbo", "kl_weight"}


@pytest.mark.parametrize("name", ["gan", "wgan_gp", "vae_fit"])
def test_the_comparison_would_catch_unscaled_losses(results, name):
    # Without the scaling the summed gradients are twice the global-batch
    # gradient: the weights land more than 1,000 tolerances away (with SGD the
    # first update simply doubles).
    wrong = results[f"{name}_unscaled"]["weight_diff"]
    assert wrong > 1000 * WEIGHT_TOLERANCE, wrong


@pytest.mark.parametrize("kind", ["gan", "wgan_gp"])
def test_a_checkpoint_of_the_distributed_trainer_restores_on_one_device(results, kind):
    assert results[f"{kind}_restored"] == {"step": 2, "equal": True}


def test_each_replica_takes_its_rows_of_the_noise_and_draws_its_own_epsilon(results):
    noise = results["noise_rows"]
    assert noise["shapes"] == [[2, 3], [3, 3]]
    assert noise["max_diff"] == 0.0
    assert noise["epsilon_differs"]
    # Both draws advanced the shared seed state once per replica, in step.
    assert noise["state"] == [7, 2]


def test_an_uneven_global_batch_splits_as_tf_data_would_on_three_replicas(results):
    # 10 rows over 3 replicas: 4, 3, 3, in order, the labels with their rows.
    split = results["split_3"]
    assert [len(part) for part in split["rows"]] == [4, 3, 3]
    assert sum(split["rows"], []) == [[2.0 * i, 2.0 * i + 1] for i in range(10)]
    assert split["labels"] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]


@pytest.mark.parametrize(
    "size, replicas, expected",
    [(10, 3, [4, 3, 3]), (11, 3, [4, 4, 3]), (9, 3, [3, 3, 3]), (2, 3, [1, 1, 0]), (7, 2, [4, 3]), (5, 1, [5])],
)
def test_replica_rows_give_the_first_replicas_one_row_more(size, replicas, expected):
    rows = [tuple(int(row) for row in distribute.replica_rows(size, replicas, r)) for r in range(replicas)]
    assert [stop - start for start, stop in rows] == expected
    # In replica order, contiguous, covering the batch once.
    assert rows[0][0] == 0 and rows[-1][1] == size
    assert all(rows[r][1] == rows[r + 1][0] for r in range(replicas - 1))


def test_with_one_replica_the_helpers_change_nothing():
    seed_generator = keras.random.SeedGenerator(0)
    batch = GlobalBatch(tf.zeros((3, 2)))
    loss = tf.constant(2.5)
    assert num_replicas() == 1 and batch.num_replicas == 1
    assert batch.scale(loss) is loss
    assert replica_seed(seed_generator) is seed_generator
    assert int(batch.offset) == 0 and int(batch.global_size) == 3
    rows = tf.zeros((3, 2))
    assert distribute.split_global_batch(rows) is rows


def test_networks_created_outside_the_strategy_scope_are_rejected():
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    generator, discriminator = build_mlp_generator(2, (2,), (8,)), build_mlp_discriminator((2,), (8,))
    optimizers = keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1)
    with pytest.raises(ValueError, match="generator was created outside strategy.scope"):
        make_gan_train_step(generator, discriminator, *optimizers, latent_dim=2, strategy=strategy)
    with pytest.raises(ValueError, match="strategy must be a tf.distribute.Strategy"):
        make_gan_train_step(generator, discriminator, *optimizers, latent_dim=2, strategy="mirrored")
