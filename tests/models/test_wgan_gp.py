"""genai_tf.models.wgan_gp: the arguments, the paper's defaults, and the gradient penalty it trains with.

The update itself is checked against one written out by hand in
tests/models/test_updates.py (through ``WGANGP.train_step`` too).
"""

import keras
import numpy as np
import pytest

from genai_tf.losses import random_interpolates, wasserstein_gradient_penalty
from genai_tf.models import WGANGP

RNG = np.random.default_rng(0)


def test_wgan_gp_arguments_are_validated():
    with pytest.raises(ValueError, match="n_critic"):
        WGANGP(n_critic=0)
    with pytest.raises(ValueError, match="gp_weight"):
        WGANGP(gp_weight=-1.0)
    assert WGANGP().get_config()["gp_weight"] == 10.0   # the paper's lambda


def test_wgan_gp_default_optimizers_are_the_papers():
    model = WGANGP(latent_dim=4, width=4)
    model.compile()
    for optimizer in (model.d_optimizer, model.g_optimizer):
        config = optimizer.get_config()
        assert (config["learning_rate"], config["beta_1"], config["beta_2"]) == pytest.approx((1e-4, 0.0, 0.9))
    assert model.critic is model.discriminator


# --- the gradient penalty ----------------------------------------------------------------------


def _linear_critic(scale):
    critic = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    weights = np.random.default_rng(1).standard_normal((36, 1))
    weights *= scale / np.linalg.norm(weights)
    critic.layers[-1].set_weights([weights.astype("float32"), np.array([0.7], "float32")])
    return critic


def test_gradient_penalty_is_zero_for_a_linear_critic_with_unit_norm_weights():
    # f(x) = w.x + b has gradient w everywhere: ||w|| = 1 gives (1 - 1)^2 = 0.
    real = RNG.uniform(-1, 1, (16, 6, 6, 1)).astype("float32")
    fake = RNG.uniform(-1, 1, (16, 6, 6, 1)).astype("float32")
    penalty = float(wasserstein_gradient_penalty(_linear_critic(1.0), real, fake, seed=0))
    assert penalty == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize("scale", [0.5, 2.0, 3.0])
def test_gradient_penalty_is_positive_for_other_slopes(scale):
    # ||grad f|| = scale everywhere, so GP = (scale - 1)^2 exactly.
    real = RNG.uniform(-1, 1, (16, 6, 6, 1)).astype("float32")
    fake = RNG.uniform(-1, 1, (16, 6, 6, 1)).astype("float32")
    penalty = float(wasserstein_gradient_penalty(_linear_critic(scale), real, fake, seed=0))
    assert penalty == pytest.approx((scale - 1.0) ** 2, rel=1e-4)


def test_epsilon_is_uniform_and_drawn_once_per_example():
    real = np.ones((4000, 3, 3, 1), "float32")
    fake = np.zeros((4000, 3, 3, 1), "float32")
    interpolates, epsilon = random_interpolates(real, fake, seed=keras.random.SeedGenerator(0))
    epsilon = epsilon.numpy()
    assert epsilon.shape == (4000, 1, 1, 1)
    # With real = 1 and fake = 0 the interpolate is epsilon itself, constant within an example.
    values = interpolates.numpy().reshape(4000, -1)
    np.testing.assert_allclose(values, np.repeat(epsilon.reshape(4000, 1), 9, axis=1), atol=1e-7)
    # U[0, 1]: mean 1/2, variance 1/12, every decile about 10%, all inside [0, 1].
    assert epsilon.min() >= 0 and epsilon.max() <= 1
    assert abs(epsilon.mean() - 0.5) < 4 * np.sqrt(1 / 12 / 4000)
    assert abs(epsilon.var() - 1 / 12) < 0.005
    deciles = np.histogram(epsilon, bins=10, range=(0, 1))[0] / 4000
    assert np.all(np.abs(deciles - 0.1) < 0.025)
    # Different examples get different draws.
    assert len(np.unique(epsilon)) > 3990
