"""The per-sample gradient estimators of notebook 07, against their distributions worked out by hand.

f(z) = (z - 2)^2, z = mu + sigma * eps, mu = 0.5, sigma = 0.8:
- reparameterised d/dmu = 2 (z - 2) ~ N(2 (mu - 2), (2 sigma)^2) = N(-3, 2.56): symmetric;
- reparameterised d/dsigma = 2 (z - 2) eps = 2 (mu - 2) eps + 2 sigma eps^2: mean 2 sigma = 1.6,
  variance 4 (mu - 2)^2 + 8 sigma^2 = 9 + 5.12 = 14.12, skewed right by its chi-square part.
"""

import numpy as np
import pytest

MU, SIGMA = 0.5, 0.8
EPS = np.random.default_rng(0).standard_normal(400_000)
Z = MU + SIGMA * EPS


def skewness(values):
    centred = values - values.mean()
    return float(np.mean(centred**3) / np.mean(centred**2) ** 1.5)


def test_reparameterised_mu_is_gaussian():
    grad = 2 * (Z - 2)
    assert grad.mean() == pytest.approx(-3.0, abs=0.02)
    assert grad.var() == pytest.approx(2.56, rel=0.01)
    assert abs(skewness(grad)) < 0.02


def test_reparameterised_sigma_moments_and_skew():
    grad = 2 * (Z - 2) * EPS
    assert grad.mean() == pytest.approx(1.6, abs=0.03)
    assert grad.var() == pytest.approx(14.12, rel=0.02)
    assert skewness(grad) > 1
    assert np.median(grad) < grad.mean() - 1   # the typical estimate is far from the mean


def test_score_function_mu_is_unbiased_but_skewed():
    grad = (Z - 2) ** 2 * (Z - MU) / SIGMA**2   # f(z) * d/dmu log q(z)
    assert grad.mean() == pytest.approx(-3.0, abs=0.1)
    assert skewness(grad) < -1
