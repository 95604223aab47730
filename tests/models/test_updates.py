"""The per-batch updates of genai_tf.models.updates: training mode, seeds, labels, defaults, one written-out replay.

``gan_update`` and ``wgan_gp_update`` are checked against the updates written
out here. The networks hold a layer that adds 1 in training mode and nothing
in inference mode, so a call made in the wrong mode moves a logged loss. With
SGD at a learning rate of 0 every logged value is a function of the initial
weights and the seeded draws alone; with a learning rate of 0.05 the replay
also gives the weights after the update.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf.losses import minimax_discriminator_loss, minimax_generator_loss, modified_generator_loss
from genai_tf.models import DCGAN, GAN, VAE, WGANGP, ConditionalGAN
from genai_tf.models import updates

LATENT_DIM, SEED = 2, 3
REAL = np.random.default_rng(0).uniform(-1, 1, (6, 2, 2, 1)).astype("float32")
LABELS = np.array([0, 1, 2, 0, 1, 2], "int32")


class TrainingShift(keras.layers.Layer):
    """x + 1 in training mode, x in inference mode: the training flag of a call shows in its output."""

    def call(self, inputs, training=None):
        return inputs + (1.0 if training else 0.0)


def flagged_networks(conditional=False, init_seed=0):
    """A linear generator and a tanh critic / discriminator, each with a TrainingShift; optionally with labels."""
    keras.utils.set_random_seed(init_seed)
    if not conditional:
        generator = keras.Sequential([
            keras.Input((LATENT_DIM,)), keras.layers.Dense(4), TrainingShift(), keras.layers.Reshape((2, 2, 1))
        ])
        critic = keras.Sequential([
            keras.Input((2, 2, 1)), keras.layers.Flatten(), TrainingShift(),
            keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(1),
        ])
        return generator, critic
    z, z_label = keras.Input((LATENT_DIM,)), keras.Input((), dtype="int32")
    hidden = keras.layers.Concatenate()([z, keras.layers.Embedding(3, 2)(z_label)])
    fake = keras.layers.Reshape((2, 2, 1))(TrainingShift()(keras.layers.Dense(4)(hidden)))
    generator = keras.Model([z, z_label], fake)
    x, x_label = keras.Input((2, 2, 1)), keras.Input((), dtype="int32")
    hidden = keras.layers.Concatenate()([keras.layers.Flatten()(x), keras.layers.Embedding(3, 2)(x_label)])
    score = keras.layers.Dense(1)(keras.layers.Dense(3, activation="tanh")(TrainingShift()(hidden)))
    return generator, keras.Model([x, x_label], score)


def frozen_optimizers():
    return keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0)


def bound(network, labels, training):
    """The network as a function of its images (or noise) alone: the labels and the mode fixed."""
    if labels is None:
        return lambda x: network(x, training=training)
    label_tensor = tf.constant(labels)
    return lambda x: network([x, label_tensor], training=training)


def reference_gan(generator, discriminator, seed=SEED, labels=None, training=True, loss=modified_generator_loss):
    """gan_update's logged values by hand (weights unchanged by the frozen optimizers)."""
    seed_generator = keras.random.SeedGenerator(seed)
    g, d = bound(generator, labels, training), bound(discriminator, labels, training)
    real_logits = d(tf.constant(REAL))
    fake_logits = d(g(keras.random.normal((6, LATENT_DIM), seed=seed_generator)))
    g_loss = loss(d(g(keras.random.normal((6, LATENT_DIM), seed=seed_generator))))
    return {
        "d_loss": float(minimax_discriminator_loss(real_logits, fake_logits)),
        "g_loss": float(g_loss),
        "real_prob": float(tf.reduce_mean(tf.sigmoid(real_logits))),
        "fake_prob": float(tf.reduce_mean(tf.sigmoid(fake_logits))),
    }


def _sgd(variables, gradients, learning_rate):
    for variable, gradient in zip(variables, gradients):
        variable.assign_sub(learning_rate * tf.convert_to_tensor(gradient))   # an Embedding's gradient is sparse


def replay_wgan_gp(generator, critic, n_critic, gp_weight, seed=SEED, labels=None, training=True, learning_rate=0.0):
    """The WGAN-GP update written out: SGD by hand on the paper's losses, the draws in the update's order.

    Each critic step draws z ~ N(0, I) (batch, latent_dim), then epsilon ~
    U[0, 1] (batch, 1, 1, 1), from one SeedGenerator(seed); the penalty is
    (||grad f(x_hat)|| - 1)^2 with the gradient taken here, not by
    ``genai_tf.losses``. The generator step draws its own z. The networks'
    weights move by ``learning_rate`` times their gradients.

    Returns:
        The logged values of the update, as floats.
    """
    seed_generator = keras.random.SeedGenerator(seed)
    g, f = bound(generator, labels, training), bound(critic, labels, training)
    real = tf.constant(REAL)
    for _ in range(n_critic):
        fake = g(keras.random.normal((len(REAL), LATENT_DIM), seed=seed_generator))
        epsilon = keras.random.uniform((len(REAL), 1, 1, 1), seed=seed_generator)
        x_hat = epsilon * real + (1.0 - epsilon) * fake
        with tf.GradientTape() as tape:
            with tf.GradientTape() as inner:
                inner.watch(x_hat)
                scores = f(x_hat)
            norms = tf.norm(tf.reshape(inner.gradient(scores, x_hat), (len(REAL), -1)), axis=1)
            penalty = tf.reduce_mean(tf.square(norms - 1.0))
            critic_loss = tf.reduce_mean(f(fake)) - tf.reduce_mean(f(real))
            d_loss = critic_loss + gp_weight * penalty
        _sgd(critic.trainable_variables, tape.gradient(d_loss, critic.trainable_variables), learning_rate)
    with tf.GradientTape() as tape:
        g_loss = -tf.reduce_mean(f(g(keras.random.normal((len(REAL), LATENT_DIM), seed=seed_generator))))
    _sgd(generator.trainable_variables, tape.gradient(g_loss, generator.trainable_variables), learning_rate)
    logs = {"d_loss": d_loss, "g_loss": g_loss, "gradient_penalty": penalty, "wasserstein": -critic_loss}
    return {key: float(value) for key, value in logs.items()}


def assert_logs(logs, expected):
    assert set(logs) == set(expected)
    for key, value in expected.items():
        assert float(logs[key]) == pytest.approx(value, rel=1e-5, abs=1e-6), key


def run_gan_update(networks, conditional, seed=SEED, **kwargs):
    return updates.gan_update(
        *networks, *frozen_optimizers(), tf.constant(REAL), LATENT_DIM, keras.random.SeedGenerator(seed),
        labels=tf.constant(LABELS) if conditional else None, **kwargs,
    )


@pytest.mark.parametrize("conditional", [False, True])
def test_gan_update_calls_every_network_in_training_mode_with_its_labels(conditional):
    networks = flagged_networks(conditional)
    labels = LABELS if conditional else None
    expected = reference_gan(*networks, labels=labels)
    assert_logs(run_gan_update(networks, conditional), expected)
    # In inference mode every value moves: the check above can tell the modes apart.
    inference = reference_gan(*networks, labels=labels, training=False)
    assert all(abs(inference[key] - expected[key]) > 1e-3 for key in ("d_loss", "g_loss"))


@pytest.mark.parametrize("conditional", [False, True])
def test_wgan_gp_update_calls_every_network_in_training_mode_with_its_labels(conditional):
    generator, critic = flagged_networks(conditional)
    labels = LABELS if conditional else None
    logs = updates.wgan_gp_update(
        generator, critic, *frozen_optimizers(), tf.constant(REAL), LATENT_DIM, keras.random.SeedGenerator(SEED),
        n_critic=2, gp_weight=5.0, labels=tf.constant(LABELS) if conditional else None,
    )
    expected = replay_wgan_gp(generator, critic, n_critic=2, gp_weight=5.0, labels=labels)
    assert_logs(logs, expected)
    inference = replay_wgan_gp(generator, critic, n_critic=2, gp_weight=5.0, labels=labels, training=False)
    assert all(abs(inference[key] - expected[key]) > 1e-3 for key in ("wasserstein", "g_loss"))


def test_defaults_of_the_updates():
    # wgan_gp_update: n_critic = 5 and lambda = 10.
    generator, critic = flagged_networks()
    logs = updates.wgan_gp_update(
        generator, critic, *frozen_optimizers(), tf.constant(REAL), LATENT_DIM, keras.random.SeedGenerator(SEED)
    )
    assert_logs(logs, replay_wgan_gp(generator, critic, n_critic=5, gp_weight=10.0))
    other = replay_wgan_gp(generator, critic, n_critic=6, gp_weight=10.0)
    assert abs(other["d_loss"] - float(logs["d_loss"])) > 1e-4   # the step count shows in the last critic loss
    # gan_update: the non-saturating generator loss, and the saturating one when asked.
    networks = flagged_networks()
    assert_logs(run_gan_update(networks, False), reference_gan(*networks))
    saturating = run_gan_update(networks, False, generator_loss_fn=minimax_generator_loss)
    assert_logs(saturating, reference_gan(*networks, loss=minimax_generator_loss))
    assert abs(float(saturating["g_loss"]) - reference_gan(*networks)["g_loss"]) > 1e-2


def test_the_generator_losses_by_name():
    assert updates.GENERATOR_LOSSES == {"non_saturating": modified_generator_loss, "saturating": minimax_generator_loss}
    assert updates.get_generator_loss("non_saturating") is modified_generator_loss
    assert updates.get_generator_loss("saturating") is minimax_generator_loss
    with pytest.raises(ValueError, match=r"^generator_loss must be one of 'non_saturating', 'saturating'\. "
                                         r"Received: generator_loss='hinge'$"):
        updates.get_generator_loss("hinge")


def test_split_batch_takes_images_or_pairs_and_names_the_conditional_form():
    images, labels = tf.constant(REAL), tf.constant(LABELS)
    assert updates.split_batch(images, conditional=False) == (images, None)
    assert updates.split_batch((images,), conditional=False) == (images, None)
    assert updates.split_batch([images, labels], conditional=False) == (images, None)
    assert updates.split_batch((images, labels), conditional=True) == (images, labels)
    for bad in (images, (images,), (images, labels, labels)):
        with pytest.raises(ValueError, match=r"^A conditional step needs batches of \(images, labels\)\.$"):
            updates.split_batch(bad, conditional=True)


class _FlaggedWGANGP(WGANGP):
    def build_networks(self):
        return flagged_networks()


@pytest.mark.parametrize("path", ["update", "model"])
@pytest.mark.parametrize("n_critic", [1, 3])
def test_wgan_gp_update_moves_the_weights_as_the_update_written_out(path, n_critic):
    # lambda = 5, not the default 10, so that a lambda which does not reach the update shows.
    learning_rate = 0.05
    if path == "model":
        model = _FlaggedWGANGP(latent_dim=LATENT_DIM, image_shape=(2, 2, 1), n_critic=n_critic, gp_weight=5.0, seed=SEED)
        model.compile(keras.optimizers.SGD(learning_rate), keras.optimizers.SGD(learning_rate))
        logs = model.train_step((tf.constant(REAL),))
        networks, optimizers = (model.generator, model.critic), (model.g_optimizer, model.d_optimizer)
    else:
        networks = flagged_networks()
        optimizers = keras.optimizers.SGD(learning_rate), keras.optimizers.SGD(learning_rate)
        logs = updates.wgan_gp_update(
            *networks, *optimizers, tf.constant(REAL), LATENT_DIM, keras.random.SeedGenerator(SEED),
            n_critic=n_critic, gp_weight=5.0,
        )
    replayed = flagged_networks()
    initial = [network.get_weights() for network in replayed]
    expected = replay_wgan_gp(*replayed, n_critic=n_critic, gp_weight=5.0, learning_rate=learning_rate)
    assert_logs(logs, expected)
    # n_critic critic steps (SGD counts each) for one generator step.
    assert tuple(int(optimizer.iterations) for optimizer in optimizers) == (1, n_critic)
    for network, want, start in zip(networks, replayed, initial):
        moved = max(np.abs(w - s).max() for w, s in zip(want.get_weights(), start))
        assert moved > 1e-2, f"the replay did not move {network.name}: nothing was compared"
        for got, wanted in zip(network.get_weights(), want.get_weights()):
            np.testing.assert_allclose(got, wanted, rtol=1e-5, atol=1e-6, err_msg=network.name)
    # The penalty was a real part of the critic's loss.
    assert 5.0 * expected["gradient_penalty"] > 0.1 * abs(expected["d_loss"])


# --- the models' train_step: the model's seed drives every draw ----------------------------------------------


MODELS = {
    "GAN": lambda seed: GAN(latent_dim=4, image_shape=(4, 4, 1), seed=seed),
    "DCGAN": lambda seed: DCGAN(latent_dim=4, width=4, dropout=0.0, seed=seed),
    "DCGAN+DiffAugment": lambda seed: DCGAN(latent_dim=4, width=4, dropout=0.0, diff_augment="translation,cutout", seed=seed),
    "ConditionalGAN": lambda seed: ConditionalGAN(latent_dim=4, width=4, dropout=0.0, seed=seed),
    "WGANGP": lambda seed: WGANGP(latent_dim=4, width=4, n_critic=2, seed=seed),
    "VAE": lambda seed: VAE(latent_dim=2, hidden_units=(8,), seed=seed),
}


def _one_step(name, seed, weights=None, stir=False):
    keras.utils.set_random_seed(0)   # the same initial weights and Dropout layers' seeds for every model
    model = MODELS[name](seed)
    if stir:
        keras.random.normal((1,))   # moves Keras's global generator: a draw from it would differ now
    if name == "VAE":
        model.compile(keras.optimizers.SGD(0.1))
        images = np.random.default_rng(1).integers(0, 2, (8, 28, 28, 1)).astype("float32")
    else:
        model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
        shape = (8, 4, 4, 1) if name == "GAN" else (8, 28, 28, 1)
        images = np.random.default_rng(1).uniform(-1, 1, shape).astype("float32")
    if weights is not None:
        model.set_weights(weights)
    initial = [w.copy() for w in model.get_weights()]
    labels = np.arange(8) % 10 if name == "ConditionalGAN" else None
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0, shuffle=False)
    return initial, model.get_weights()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_train_step_draws_from_the_models_seed(name):
    # Three models with the same initial weights: seeds 5, 5 and 6. Only the model's seed tells the last apart,
    # and the global generator moved before the second: every draw comes from the model's own seed.
    initial, first = _one_step(name, 5)
    _, again = _one_step(name, 5, weights=initial, stir=True)
    _, other = _one_step(name, 6, weights=initial)
    assert max(np.abs(a - b).max() for a, b in zip(first, initial)) > 1e-4   # the step moved the weights
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert max(np.abs(a - b).max() for a, b in zip(first, other)) > 1e-6
