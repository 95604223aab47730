"""The per-batch updates: training mode in every network call, the seeds, the labels, the defaults and the checks.

``gan_update`` and ``wgan_gp_update`` (through the step factories of
``genai_tf.training`` and the models' ``train_step``) are checked against the
losses written out here. The networks hold a layer that adds 1 in training
mode and nothing in inference mode, so a call made in the wrong mode moves a
logged loss. The optimizers are SGD with a learning rate of 0, so every logged
value is a function of the initial weights and the seeded draws alone.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from genai_tf import training
from genai_tf.losses import (
    minimax_discriminator_loss,
    modified_generator_loss,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
    wasserstein_gradient_penalty,
)
from genai_tf.models import DCGAN, GAN, VAE, WGANGP, ConditionalGAN

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


def _inputs(x, labels):
    return x if labels is None else [x, tf.constant(labels)]


def reference_gan(generator, discriminator, seed=SEED, labels=None, training=True):
    """gan_update's logged values by hand (weights unchanged by the frozen optimizers)."""
    seed_generator = keras.random.SeedGenerator(seed)
    real = tf.constant(REAL)
    fake = generator(_inputs(keras.random.normal((6, LATENT_DIM), seed=seed_generator), labels), training=training)
    real_logits = discriminator(_inputs(real, labels), training=training)
    fake_logits = discriminator(_inputs(fake, labels), training=training)
    fake = generator(_inputs(keras.random.normal((6, LATENT_DIM), seed=seed_generator), labels), training=training)
    return {
        "d_loss": float(minimax_discriminator_loss(real_logits, fake_logits)),
        "g_loss": float(modified_generator_loss(discriminator(_inputs(fake, labels), training=training))),
        "real_prob": float(tf.reduce_mean(tf.sigmoid(real_logits))),
        "fake_prob": float(tf.reduce_mean(tf.sigmoid(fake_logits))),
    }


def reference_wgan_gp(generator, critic, n_critic, gp_weight, seed=SEED, labels=None, training=True):
    """wgan_gp_update's logged values by hand: per critic step z, then epsilon, from one generator."""
    seed_generator = keras.random.SeedGenerator(seed)
    real = tf.constant(REAL)
    label_tensor = None if labels is None else tf.constant(labels)
    for _ in range(n_critic):
        fake = generator(_inputs(keras.random.normal((6, LATENT_DIM), seed=seed_generator), labels), training=training)
        critic_loss = wasserstein_critic_loss(
            critic(_inputs(real, labels), training=training), critic(_inputs(fake, labels), training=training)
        )
        penalty = wasserstein_gradient_penalty(critic, real, fake, labels=label_tensor, seed=seed_generator)
    fake = generator(_inputs(keras.random.normal((6, LATENT_DIM), seed=seed_generator), labels), training=training)
    g_loss = wasserstein_generator_loss(critic(_inputs(fake, labels), training=training))
    return {
        "d_loss": float(critic_loss + gp_weight * penalty),
        "g_loss": float(g_loss),
        "gradient_penalty": float(penalty),
        "wasserstein": float(-critic_loss),
    }


def assert_logs(logs, expected):
    assert set(logs) == set(expected)
    for key, value in expected.items():
        assert float(logs[key]) == pytest.approx(value, rel=1e-5, abs=1e-6), key


@pytest.mark.parametrize("conditional", [False, True])
def test_gan_step_calls_every_network_in_training_mode_with_its_labels(conditional):
    generator, discriminator = flagged_networks(conditional)
    labels = LABELS if conditional else None
    step = training.make_gan_train_step(
        generator, discriminator, *frozen_optimizers(), LATENT_DIM, seed=SEED, conditional=conditional
    )
    logs = step((tf.constant(REAL), tf.constant(LABELS)) if conditional else tf.constant(REAL))
    expected = reference_gan(generator, discriminator, labels=labels)
    assert_logs(logs, expected)
    # In inference mode every value moves: the check above can tell the modes apart.
    inference = reference_gan(generator, discriminator, labels=labels, training=False)
    assert all(abs(inference[key] - expected[key]) > 1e-3 for key in ("d_loss", "g_loss"))


@pytest.mark.parametrize("conditional", [False, True])
def test_wgan_gp_step_calls_every_network_in_training_mode_with_its_labels(conditional):
    generator, critic = flagged_networks(conditional)
    labels = LABELS if conditional else None
    step = training.make_wgan_gp_train_step(
        generator, critic, *frozen_optimizers(), LATENT_DIM, n_critic=2, gp_weight=5.0, seed=SEED,
        conditional=conditional,
    )
    logs = step((tf.constant(REAL), tf.constant(LABELS)) if conditional else tf.constant(REAL))
    expected = reference_wgan_gp(generator, critic, n_critic=2, gp_weight=5.0, labels=labels)
    assert_logs(logs, expected)
    inference = reference_wgan_gp(generator, critic, n_critic=2, gp_weight=5.0, labels=labels, training=False)
    assert all(abs(inference[key] - expected[key]) > 1e-3 for key in ("wasserstein", "g_loss"))


def test_defaults_of_the_updates_and_the_step_factories():
    # wgan_gp_update itself: n_critic = 5 and lambda = 10.
    generator, critic = flagged_networks()
    logs = training.wgan_gp_update(
        generator, critic, *frozen_optimizers(), tf.constant(REAL), LATENT_DIM, keras.random.SeedGenerator(SEED)
    )
    assert_logs(logs, reference_wgan_gp(generator, critic, n_critic=5, gp_weight=10.0))
    other = reference_wgan_gp(generator, critic, n_critic=6, gp_weight=10.0)
    assert abs(other["d_loss"] - float(logs["d_loss"])) > 1e-4   # the step count shows in the last critic loss
    # The factories: seed 0, and for the WGAN-GP n_critic = 5, lambda = 10.
    step = training.make_wgan_gp_train_step(generator, critic, *frozen_optimizers(), LATENT_DIM)
    assert_logs(step(tf.constant(REAL)), reference_wgan_gp(generator, critic, n_critic=5, gp_weight=10.0, seed=0))
    generator, discriminator = flagged_networks()
    step = training.make_gan_train_step(generator, discriminator, *frozen_optimizers(), LATENT_DIM)
    logs = step(tf.constant(REAL))
    assert_logs(logs, reference_gan(generator, discriminator, seed=0))
    assert abs(reference_gan(generator, discriminator, seed=1)["d_loss"] - float(logs["d_loss"])) > 1e-4


def test_batches_the_steps_accept_and_refuse():
    generator, critic = flagged_networks()
    # An unconditional step takes a tensor or a 1-tuple (images,), the same batch either way.
    for factory in (training.make_gan_train_step, training.make_wgan_gp_train_step):
        plain = factory(generator, critic, *frozen_optimizers(), LATENT_DIM, seed=SEED)(tf.constant(REAL))
        wrapped = factory(generator, critic, *frozen_optimizers(), LATENT_DIM, seed=SEED)((tf.constant(REAL),))
        assert {k: float(v) for k, v in plain.items()} == {k: float(v) for k, v in wrapped.items()}
    generator, critic = flagged_networks(conditional=True)
    for factory in (training.make_gan_train_step, training.make_wgan_gp_train_step):
        step = factory(generator, critic, *frozen_optimizers(), LATENT_DIM, conditional=True)
        for bad in (tf.constant(REAL), (tf.constant(REAL),), (tf.constant(REAL), tf.constant(LABELS), tf.constant(LABELS))):
            with pytest.raises(ValueError, match=r"A conditional step needs batches of \(images, labels\)\."):
                step(bad)
    # The message itself (tf.function adds its trace around it).
    with pytest.raises(ValueError, match=r"^A conditional step needs batches of \(images, labels\)\.$"):
        training._split_batch(REAL, conditional=True)


def test_step_factories_name_bad_arguments_and_accept_their_smallest_values():
    generator, critic = flagged_networks()
    optimizer = keras.optimizers.SGD(0.0)
    with pytest.raises(ValueError, match=r"^generator_optimizer and critic_optimizer must be separate instances\.$"):
        training.make_wgan_gp_train_step(generator, critic, optimizer, optimizer, LATENT_DIM)
    with pytest.raises(ValueError, match=r"^generator_optimizer and discriminator_optimizer must be separate instances\.$"):
        training.make_gan_train_step(generator, critic, optimizer, optimizer, LATENT_DIM)
    with pytest.raises(ValueError, match=r"^generator_loss must be one of \['non_saturating', 'saturating'\]\. "):
        training.make_gan_train_step(generator, critic, *frozen_optimizers(), LATENT_DIM, generator_loss="hinge")
    for bad in (0, True, 1.5):
        with pytest.raises(ValueError, match=r"^n_critic must be a positive integer\. Received: n_critic="):
            training.make_wgan_gp_train_step(generator, critic, *frozen_optimizers(), LATENT_DIM, n_critic=bad)
    with pytest.raises(ValueError, match=r"^gp_weight must be >= 0\. Received: gp_weight=-0\.1"):
        training.make_wgan_gp_train_step(generator, critic, *frozen_optimizers(), LATENT_DIM, gp_weight=-0.1)
    # n_critic = 1 and lambda = 0 or 0.5 are valid, and lambda = 0 drops the penalty from the critic's loss.
    for gp_weight in (0.0, 0.5):
        step = training.make_wgan_gp_train_step(
            generator, critic, *frozen_optimizers(), LATENT_DIM, n_critic=1, gp_weight=gp_weight, seed=SEED
        )
        assert_logs(step(tf.constant(REAL)), reference_wgan_gp(generator, critic, n_critic=1, gp_weight=gp_weight))


@pytest.mark.parametrize("kind", ["gan", "wgan_gp"])
@pytest.mark.parametrize("outside", ["generator", "critic"])
def test_steps_refuse_each_network_created_outside_the_strategy_scope(kind, outside):
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        inside = flagged_networks()
        optimizers = frozen_optimizers()
    generator, critic = flagged_networks(init_seed=1)   # outside the scope
    networks = (generator, inside[1]) if outside == "generator" else (inside[0], critic)
    factory = training.make_gan_train_step if kind == "gan" else training.make_wgan_gp_train_step
    name = outside if outside == "generator" or kind == "wgan_gp" else "discriminator"
    with pytest.raises(ValueError, match=f"{name} was created outside strategy.scope"):
        factory(*networks, *optimizers, LATENT_DIM, strategy=strategy)


@pytest.mark.parametrize("kind", ["gan", "wgan_gp"])
def test_steps_under_a_one_device_strategy_are_the_plain_steps(kind):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        networks = flagged_networks()
        optimizers = frozen_optimizers()
    if kind == "gan":
        step = training.make_gan_train_step(*networks, *optimizers, LATENT_DIM, seed=SEED, strategy=strategy)
        expected = reference_gan(*flagged_networks())
    else:
        step = training.make_wgan_gp_train_step(
            *networks, *optimizers, LATENT_DIM, n_critic=2, gp_weight=5.0, seed=SEED, strategy=strategy
        )
        expected = reference_wgan_gp(*flagged_networks(), n_critic=2, gp_weight=5.0)
    assert step.strategy is strategy
    # The optimizers and the noise's seed generator were built in the strategy's scope.
    for variable in [v for optimizer in optimizers for v in optimizer.variables] + [step.seed_generator.state]:
        assert strategy.extended.variable_created_in_scope(variable.value), variable.path
    assert_logs(step(tf.constant(REAL)), expected)


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


def _flagged_vae(beta, kl_warmup_steps=0):
    """A VAE whose encoder and decoder each hold a TrainingShift."""
    keras.utils.set_random_seed(0)
    images = keras.Input((4, 4, 1))
    hidden = TrainingShift()(keras.layers.Dense(4)(keras.layers.Flatten()(images)))
    z_mean, z_log_var = keras.ops.split(hidden, 2, axis=-1)
    encoder = keras.Model(images, [z_mean, z_log_var])
    code = keras.Input((2,))
    decoder = keras.Model(code, keras.layers.Reshape((4, 4, 1))(TrainingShift()(keras.layers.Dense(16)(code))))
    vae = VAE(latent_dim=2, image_shape=(4, 4, 1), encoder=encoder, decoder=decoder, beta=beta,
              kl_warmup_steps=kl_warmup_steps, seed=SEED)
    vae.compile(keras.optimizers.SGD(0.0))
    return vae


def _vae_terms(vae, images, state, training):
    """The Bernoulli log-likelihood and the KL of one reparameterised draw from the generator state ``state``."""
    from genai_tf.losses import gaussian_kl_divergence, reparameterize

    replay = keras.random.SeedGenerator(SEED)
    replay.state.assign(state)
    z_mean, z_log_var = vae.encoder(images, training=training)
    z = reparameterize(z_mean, z_log_var, seed=replay)
    log_likelihood = np.asarray(vae.log_likelihood(images, vae.decoder(z, training=training)), np.float64)
    return log_likelihood, np.asarray(gaussian_kl_divergence(z_mean, z_log_var), np.float64)


def test_vae_train_step_runs_the_networks_in_training_mode_and_weighs_the_kl_by_beta():
    images = np.random.default_rng(2).integers(0, 2, (8, 4, 4, 1)).astype("float32")
    vae = _flagged_vae(beta=2.0)
    state = np.asarray(vae.seed_generator.state).copy()
    logs = vae.train_on_batch(images, return_dict=True)
    log_likelihood, kl = _vae_terms(vae, images, state, training=True)
    assert logs["kl_weight"] == 2.0
    assert logs["reconstruction_loss"] == pytest.approx(-log_likelihood.mean(), rel=1e-5)
    assert logs["kl_loss"] == pytest.approx(kl.mean(), rel=1e-5)
    assert logs["loss"] == pytest.approx(-log_likelihood.mean() + 2.0 * kl.mean(), rel=1e-5)
    # Evaluation: the same terms in inference mode, which differ here.
    state = np.asarray(vae.seed_generator.state).copy()
    evaluated = vae.evaluate(images, batch_size=8, verbose=0, return_dict=True)
    log_likelihood_eval, kl_eval = _vae_terms(vae, images, state, training=False)
    assert evaluated["loss"] == pytest.approx(-log_likelihood_eval.mean() + 2.0 * kl_eval.mean(), rel=1e-5)
    assert abs(kl_eval.mean() - kl.mean()) > 1e-3
