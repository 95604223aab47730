"""The facts notebook 15 builds on, against values worked out by hand.

- A uniform density on the unit cube scores 8 bits/dim on the 8-bit scale; a density of e^{D ln 2} there, 7.
- Dequantisation: for a 1-D Gaussian p = N(3.2, 0.7^2) and the integer 3, the discrete mass is
  P(3) = Phi((4 - 3.2) / 0.7) - Phi((3 - 3.2) / 0.7) = Phi(8/7) - Phi(-2/7) = 0.87345 - 0.38755 = 0.48590;
  E_u log p(3 + u) <= log (1/k) sum_i p(3 + u_i) (in expectation, rising with k) <= log P(3).
- The ring's true density at a centre: (1/8) / (2 pi sigma^2) (1 + the other modes' terms, each below e^-468
  for sigma = 0.05 and centres at least 1.53 apart), so 1 / (16 pi 0.0025) = 7.957747.
- An untrained RealNVP is the identity: log p(x) = log N(x; 0, I) = -(D log(2 pi) + |x|^2) / 2.
"""

import math

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import norm

from genai_tf import datasets
from genai_tf.models import RealNVP, flows


def test_uniform_density_on_the_unit_cube_is_eight_bits_per_dim():
    assert float(flows.dequantized_bits_per_dim(0.0, 784)) == 8.0
    assert float(flows.dequantized_bits_per_dim(784 * math.log(2.0), 784)) == pytest.approx(7.0)


def test_the_discrete_mass_of_the_cell_by_hand():
    mass = norm.cdf(4.0, 3.2, 0.7) - norm.cdf(3.0, 3.2, 0.7)
    assert mass == pytest.approx(0.48590, abs=1e-4)


def test_importance_weighted_dequantisation_bound_rises_with_k_towards_log_mass():
    rng = np.random.default_rng(0)
    log_mass = math.log(norm.cdf(4.0, 3.2, 0.7) - norm.cdf(3.0, 3.2, 0.7))
    bounds = []
    for k in (1, 10, 100):
        log_p = norm.logpdf(3.0 + rng.random((20_000, k)), 3.2, 0.7)
        bounds.append(float(np.mean(logsumexp(log_p, axis=1) - math.log(k))))
    assert bounds[0] < bounds[1] < bounds[2] < log_mass
    assert log_mass - bounds[2] < 1e-3              # k = 100 is almost exact for a density this smooth
    assert log_mass - bounds[0] > 0.01              # one draw is not: Jensen's gap


def test_a_density_constant_on_the_cell_has_no_gap():
    # p = 0.3 on [3, 4): E_u log p = log 0.3 = log P(3).
    log_p = np.log(np.full(1000, 0.3))
    assert float(np.mean(log_p)) == pytest.approx(math.log(0.3))


def test_the_ring_density_at_a_centre_by_hand():
    std = 0.05
    _, centres = datasets.ring_of_gaussians(1, n_modes=8, radius=2.0, std=std, seed=0)
    squared = np.sum((centres[:1, None, :].astype(np.float64) - centres[None].astype(np.float64)) ** 2, axis=-1)
    log_density = logsumexp(-squared / (2 * std**2), axis=1) - math.log(8) - math.log(2 * math.pi * std**2)
    assert math.exp(float(log_density[0])) == pytest.approx(1.0 / (16 * math.pi * 0.0025), rel=1e-9)
    assert math.exp(float(log_density[0])) == pytest.approx(7.957747, abs=1e-6)


def test_an_untrained_flow_is_the_identity_with_the_standard_normal_density():
    flow = RealNVP(2, coupling_layers=2, hidden_units=(4,), seed=0)
    x = np.array([[0.0, 0.0], [1.0, -2.0]], "float32")
    expected = [-math.log(2 * math.pi), -math.log(2 * math.pi) - 2.5]
    assert np.allclose(flow.log_prob(x), expected, atol=1e-6)
    assert np.allclose(flow.forward(x)[0], x)
