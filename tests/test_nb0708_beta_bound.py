"""The beta-objective facts notebook 08 states, with values worked out by hand.

J_beta = E_q[log p(x|z)] - beta * KL(q || p(z)) = ELBO - (beta - 1) * KL: for
beta >= 1 it is below the ELBO (a lower bound on log p(x)); for beta < 1 its
maximum over q can exceed log p(x). On z ~ N(0, 1), x | z ~ N(z, 1) the best
Gaussian q is N(x / (1 + beta), beta / (1 + beta)).
"""

import numpy as np
import pytest
from scipy.optimize import minimize

from genai_tf.models import VAE

X = 1.5
LOG_PX = -0.5 * (np.log(2 * np.pi * 2.0) + X**2 / 2.0)   # log N(1.5; 0, 2) = -0.5 (log 4 pi + 1.125) = -1.828012


def beta_objective(m, v, beta, x=X):
    expected_log_likelihood = -0.5 * (np.log(2 * np.pi) + (x - m) ** 2 + v)
    return expected_log_likelihood - beta * 0.5 * (v + m**2 - 1.0 - np.log(v))


def test_log_evidence_by_hand():
    assert LOG_PX == pytest.approx(-1.828012, abs=1e-6)


def test_beta_half_exceeds_the_log_likelihood():
    # By hand: m = 1, v = 1/3; E log lik = -0.5 (log 2 pi + 0.25 + 1/3) = -1.210605;
    # KL = 0.5 (1/3 - log(1/3)) = 0.715973; J = -1.210605 - 0.5 * 0.715973 = -1.568592.
    assert beta_objective(1.0, 1.0 / 3.0, 0.5) == pytest.approx(-1.568592, abs=1e-6)
    assert beta_objective(1.0, 1.0 / 3.0, 0.5) > LOG_PX


def test_beta_one_is_tight_at_the_posterior():
    assert beta_objective(0.75, 0.5, 1.0) == pytest.approx(LOG_PX, abs=1e-12)


@pytest.mark.parametrize("beta", [0.5, 1.0, 4.0])
def test_closed_form_optimum_matches_a_numerical_search(beta):
    result = minimize(lambda p: -beta_objective(p[0], np.exp(p[1]), beta), x0=[0.0, 0.0], method="Nelder-Mead",
                      options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 5000})
    best = beta_objective(X / (1 + beta), beta / (1 + beta), beta)
    assert -result.fun == pytest.approx(best, abs=1e-7)
    if beta >= 1:
        assert best <= LOG_PX + 1e-12


def test_vae_loss_is_minus_the_beta_objective():
    # The notebook reads J_beta as -loss of VAE.evaluate: loss = -(ELBO - (beta - 1) KL) on the same z sample.
    images = np.random.default_rng(0).integers(0, 2, (32, 8, 8, 1)).astype("float32")
    vae = VAE(latent_dim=2, image_shape=(8, 8, 1), hidden_units=(16,), beta=4.0, seed=0)
    vae.compile()
    scores = vae.evaluate(images, batch_size=32, verbose=0, return_dict=True)
    assert -scores["loss"] == pytest.approx(scores["elbo"] - 3.0 * scores["kl_loss"], rel=1e-5)
    assert -scores["loss"] <= scores["elbo"]
